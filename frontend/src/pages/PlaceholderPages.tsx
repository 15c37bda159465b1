// The page for an address the app does not know.
import { Link } from 'react-router';

import { EmptyState } from '../components/ui';

export function NotFoundPage() {
  return (
    <div className="page">
      <EmptyState title="Page not found" action={<Link className="btn btn-primary" to="/journeys">Go to Journeys</Link>}>
        <p>There is nothing at this address.</p>
      </EmptyState>
    </div>
  );
}

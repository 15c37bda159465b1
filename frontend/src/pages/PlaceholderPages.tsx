// Sections whose screens come later: an honest empty state pointing at the API that already
// does the job, so nothing on screen pretends to work.
import { Link } from 'react-router';

import { EmptyState } from '../components/ui';

export function ComingWithApiPage({ title, what, endpoints }: { title: string; what: string; endpoints: string[] }) {
  return (
    <div className="page">
      <header className="page-head">
        <h1>{title}</h1>
      </header>
      <EmptyState
        title={`${what} are managed through the API`}
        action={
          <a className="btn btn-primary" href="/api/docs" target="_blank" rel="noreferrer">
            Open the API docs
          </a>
        }
      >
        <p>This screen has no editor in the browser yet. Use these endpoints with an API key from Settings:</p>
        <ul className="endpoint-list">
          {endpoints.map((e) => (
            <li key={e}>
              <code>{e}</code>
            </li>
          ))}
        </ul>
      </EmptyState>
    </div>
  );
}

export function NotFoundPage() {
  return (
    <div className="page">
      <EmptyState title="Page not found" action={<Link className="btn btn-primary" to="/journeys">Go to Journeys</Link>}>
        <p>There is nothing at this address.</p>
      </EmptyState>
    </div>
  );
}

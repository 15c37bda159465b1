// /journeys/:id — loads the journey and the node types, and hands them to the canvas editor.
import { ReactFlowProvider } from '@xyflow/react';
import { useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';

import { api, ApiError, errorMessage, type Journey, ok } from '../api/client';
import { Editor } from '../canvas/Editor';
import { loadNodeCatalog } from '../canvas/node-catalog';
import type { NodeCatalog } from '../lib/node-types';
import { EmptyState, ErrorBanner, Spinner } from '../components/ui';

export default function JourneyEditorPage() {
  const id = Number(useParams().id);
  const [journey, setJourney] = useState<Journey | null>(null);
  const [catalog, setCatalog] = useState<NodeCatalog | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);

  const load = useCallback(() => {
    setError(null);
    const failed = (e: unknown) => setError({ status: e instanceof ApiError ? e.status : 0, message: errorMessage(e) });
    ok(api.GET('/api/v1/journeys/{id}', { params: { path: { id: String(id) } } }))
      .then(setJourney)
      .catch(failed);
    loadNodeCatalog().then(setCatalog).catch(failed);
  }, [id]);
  useEffect(load, [load]);

  if (!Number.isInteger(id) || error?.status === 404) {
    return (
      <div className="page">
        <EmptyState title="Journey not found" action={<Link className="btn btn-primary" to="/journeys">Back to journeys</Link>}>
          <p>It may have been deleted, or it belongs to another workspace.</p>
        </EmptyState>
      </div>
    );
  }
  if (error) {
    return (
      <div className="page">
        <ErrorBanner message={error.message} onRetry={load} />
      </div>
    );
  }
  if (!journey || !catalog) return <Spinner label="Loading journey…" />;
  return (
    <ReactFlowProvider>
      <Editor key={journey.id} initial={journey} catalog={catalog} />
    </ReactFlowProvider>
  );
}

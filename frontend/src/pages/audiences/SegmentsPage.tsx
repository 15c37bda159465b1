// Saved segments: each with its count (a count runs the condition over every customer, so they are
// asked one after another, not all at once), a link to its customers and to the builder.
import { useEffect, useState } from 'react';
import { Link, useLocation } from 'react-router';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { Button, EmptyState, ErrorBanner, Spinner } from '../../components/ui';
import { conditionSummary, type Condition } from '../../lib/settings';
import { canEdit, useSession } from '../../session';
import { AudienceTabs } from './AudienceTabs';

export default function SegmentsPage() {
  const { workspace } = useSession();
  const notice = (useLocation().state as { notice?: string } | null)?.notice;
  const [segments, setSegments] = useState<Schemas['Segment'][] | null>(null);
  const [counts, setCounts] = useState<Record<number, number | 'loading' | 'failed'>>({});
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    ok(api.GET('/api/v1/segments', { params: { query: { limit: 200 } } }))
      .then(async (p) => {
        if (!live) return;
        setSegments(p.results);
        setCounts(Object.fromEntries(p.results.map((s) => [s.id, 'loading' as const])));
        for (const s of p.results) {
          if (!live) return;
          await count(s.id);
        }
      })
      .catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, []);

  function count(id: number): Promise<void> {
    setCounts((c) => ({ ...c, [id]: 'loading' }));
    return ok(api.GET('/api/v1/segments/{id}/count', { params: { path: { id } } }))
      .then((r) => setCounts((c) => ({ ...c, [id]: r.count })))
      .catch(() => setCounts((c) => ({ ...c, [id]: 'failed' })));
  }

  return (
    <div className="page">
      <header className="page-head">
        <h1>Audiences</h1>
        {canEdit(workspace) && (
          <Link className="btn btn-primary" to="/audiences/segments/new">
            + New segment
          </Link>
        )}
      </header>
      <AudienceTabs />
      {notice && <div className="banner banner-success" role="status"><span>{notice}</span></div>}
      {error && <ErrorBanner message={error} />}
      {segments === null && !error && <Spinner label="Loading segments…" />}
      {segments?.length === 0 && (
        <EmptyState title="No segments yet" action={canEdit(workspace) && <Link className="btn btn-primary" to="/audiences/segments/new">Build a segment</Link>}>
          <p>A segment is a saved condition — attributes, events, lists — that journeys and filters reuse.</p>
        </EmptyState>
      )}
      {segments && segments.length > 0 && (
        <table className="table" aria-label="Segments">
          <thead>
            <tr>
              <th>Segment</th>
              <th>Condition</th>
              <th className="num">Customers</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {segments.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link className="row-title" to={`/audiences/segments/${s.id}`}>
                    {s.name}
                  </Link>
                  <div className="muted small">#{s.id}</div>
                </td>
                <td className="small">{conditionSummary(s.condition as Condition)}</td>
                <td className="num">
                  {counts[s.id] === 'failed' ? (
                    <Button size="sm" variant="ghost" onClick={() => count(s.id)} title="The count did not finish">
                      Retry count
                    </Button>
                  ) : counts[s.id] === undefined || counts[s.id] === 'loading' ? (
                    <span className="muted" aria-label="Counting">…</span>
                  ) : (
                    (counts[s.id] as number).toLocaleString()
                  )}
                </td>
                <td className="cell-actions">
                  <Link className="btn btn-ghost btn-sm" to={`/audiences?segment_id=${s.id}`}>
                    Customers
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

// The cross-journey overview: one summary row per journey, newest first, each opening its
// dashboard; exportable as CSV. Above them, the messages per channel and provider.
import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { StatusBadge } from '../../components/StatusBadge';
import { Button, EmptyState, ErrorBanner, Spinner } from '../../components/ui';
import { pct } from '../../lib/chart-data';
import { useSession } from '../../session';
import { ChannelMetricsPanel } from './ChannelMetricsPanel';
import './analytics.css';

type Row = Schemas['JourneySummaryRow'];

export default function AnalyticsOverviewPage() {
  const { workspace } = useSession();
  const [rows, setRows] = useState<Row[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback((cursor?: string) => {
    setError(null);
    ok(api.GET('/api/v1/analytics/journeys', { params: { query: { limit: 50, cursor } } }))
      .then((page) => {
        setRows((prev) => (cursor && prev ? [...prev, ...page.results] : page.results));
        setNext(page.next ?? null);
      })
      .catch((e) => setError(errorMessage(e)));
  }, []);

  useEffect(() => load(), [load]);

  return (
    <div className="page">
      <header className="page-head">
        <h1>Analytics</h1>
        <a className="btn btn-secondary" href={`/api/v1/analytics/journeys.csv?workspace=${encodeURIComponent(workspace.slug)}`} download>
          Export CSV
        </a>
      </header>
      <ChannelMetricsPanel timeZone={workspace.timezone} />
      {error && <ErrorBanner message={error} onRetry={() => load()} />}
      {rows === null && !error && <Spinner label="Loading journeys…" />}
      {rows?.length === 0 && (
        <EmptyState title="No journeys yet" action={<Link className="btn btn-primary" to="/journeys">Go to Journeys</Link>}>
          <p>Numbers appear here once a journey has run.</p>
        </EmptyState>
      )}
      {rows && rows.length > 0 && (
        <table className="table" aria-label="Journeys">
          <thead>
            <tr>
              <th>Journey</th>
              <th>Status</th>
              <th className="num" title="Runs, not customers: a customer who enters again counts again">Runs started</th>
              <th className="num">Active runs</th>
              <th className="num">Completed</th>
              <th className="num">Drop-offs</th>
              <th className="num">Goal conversions</th>
              <th className="num">Conversion rate</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-journey={r.id}>
                <td>
                  <Link className="row-title" to={`/analytics/journeys/${r.id}`}>
                    {r.name}
                  </Link>
                </td>
                <td>
                  <StatusBadge status={r.status as Schemas['JourneyStatusEnum']} />
                </td>
                <td className="num">{r.started.toLocaleString()}</td>
                <td className="num">{r.active.toLocaleString()}</td>
                <td className="num">{r.completed.toLocaleString()}</td>
                <td className="num">{r.exited.toLocaleString()}</td>
                <td className="num">{r.goal_conversions.toLocaleString()}</td>
                <td className="num">{pct(r.conversion_rate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <div className="row-center">
          <Button onClick={() => load(next)}>Load more</Button>
        </div>
      )}
    </div>
  );
}

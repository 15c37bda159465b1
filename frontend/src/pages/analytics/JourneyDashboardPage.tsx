// A journey's dashboard: summary cards, the funnel by node, the daily chart, per-channel message
// metrics, holdout vs treatment, filtered by version and dates (kept in the URL so a view can be
// shared), goals with revenue, the holdout's uplift, experiments, a funnel over chosen steps,
// with CSV export and charts saved as PNG. Every number is the API's.
import { useEffect, useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';

import { api, errorMessage, type Journey, ok, type Schemas } from '../../api/client';
import { StatusBadge } from '../../components/StatusBadge';
import { EmptyState, ErrorBanner, Spinner } from '../../components/ui';
import {
  channelChartData,
  channelRows,
  type GraphIn,
  datePresets,
  holdoutView,
  MESSAGE_METRICS,
  nodeChannels,
  pct,
  type SummaryIn,
  seriesChartData,
  countsNote,
  summaryCards,
  funnelChartData,
  funnelRows,
  todayIn,
} from '../../lib/chart-data';
import { canEdit, useSession } from '../../session';
import { ChartPanel, colored } from './ChartPanel';
import { ExperimentsPanel, GoalsPanel, StepFunnel, UpliftChart } from './ResultsPanels';
import './analytics.css';

type Analytics = Schemas['JourneyAnalytics'];
type Version = Schemas['JourneyVersion'];

export default function JourneyDashboardPage() {
  const { id = '' } = useParams();
  const { workspace } = useSession();
  const [params, setParams] = useSearchParams();
  const version = params.get('version') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';

  const [journey, setJourney] = useState<Journey | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);
  const [graphs, setGraphs] = useState<GraphIn[]>([]);
  const [data, setData] = useState<Analytics | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const path = { params: { path: { id } } };
    Promise.all([ok(api.GET('/api/v1/journeys/{id}', path)), ok(api.GET('/api/v1/journeys/{id}/versions', path))])
      .then(([j, v]) => {
        setJourney(j);
        setVersions(v.results);
      })
      .catch((e) => setError(errorMessage(e)));
  }, [id]);

  useEffect(() => {
    setData(null);
    setError(null);
    const query = { version: version ? Number(version) : undefined, from: from || undefined, to: to || undefined };
    ok(api.GET('/api/v1/journeys/{id}/analytics', { params: { path: { id }, query } }))
      .then(setData)
      .catch((e) => setError(errorMessage(e)));
  }, [id, version, from, to, reload]);

  // Channels come from the message nodes' config: the draft, the live version and the one shown.
  useEffect(() => {
    if (!journey) return;
    const numbers = [...new Set([journey.version, version ? Number(version) : null].filter((n): n is number => !!n))];
    Promise.all(
      numbers.map((n) =>
        ok(api.GET('/api/v1/journeys/{id}/versions/{number}', { params: { path: { id, number: n } } })).then((v) => v.graph as unknown as GraphIn),
      ),
    )
      .then((frozen) => setGraphs([journey.graph as unknown as GraphIn, ...frozen]))
      .catch(() => setGraphs([journey.graph as unknown as GraphIn]));
  }, [journey, id, version]);

  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next, { replace: true });
  };

  const channels = useMemo(() => nodeChannels(graphs), [graphs]);
  const csvQuery = new URLSearchParams({ workspace: workspace.slug });
  if (version) csvQuery.set('version', version);
  if (from) csvQuery.set('from', from);
  if (to) csvQuery.set('to', to);
  const range = from || to ? `${from || '…'} → ${to || '…'}` : 'all time';
  // Dates are whole days in the workspace's time zone, as the API reads them.
  const presets = useMemo(() => datePresets(todayIn(workspace.timezone, new Date())), [workspace.timezone]);

  return (
    <div className="page dashboard">
      <header className="page-head">
        <div>
          <Link to="/analytics" className="back-link">
            ← All journeys
          </Link>
          <h1>
            {journey?.name ?? `Journey #${id}`} {journey && <StatusBadge status={journey.status} />}
          </h1>
          <p className="muted small">
            {version ? `Version ${version}` : 'All versions'} · {range} · days in {workspace.timezone}
          </p>
        </div>
        <div className="row-gap">
          <Link className="btn btn-secondary" to={`/journeys/${id}`}>
            Open canvas
          </Link>
          <a className="btn btn-primary" href={`/api/v1/journeys/${id}/analytics.csv?${csvQuery}`} download>
            Export CSV
          </a>
        </div>
      </header>

      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          <span>Version</span>
          <select aria-label="Version" value={version} onChange={(e) => set({ version: e.target.value })}>
            <option value="">All versions</option>
            {versions.map((v) => (
              <option key={v.number} value={String(v.number)}>
                Version {v.number} · {new Date(v.published_at).toLocaleDateString()}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>From</span>
          <input type="date" aria-label="From" value={from} onChange={(e) => set({ from: e.target.value })} />
        </label>
        <label>
          <span>To</span>
          <input type="date" aria-label="To" value={to} onChange={(e) => set({ to: e.target.value })} />
        </label>
        <div className="presets" role="group" aria-label="Date presets">
          {presets.map((p) => (
            <button
              key={p.label}
              type="button"
              className={`btn btn-sm ${p.from === from && p.to === to ? 'btn-secondary' : 'btn-ghost'}`}
              aria-pressed={p.from === from && p.to === to}
              onClick={() => set({ from: p.from, to: p.to })}
            >
              {p.label}
            </button>
          ))}
        </div>
      </form>

      {error && <ErrorBanner message={error} onRetry={() => setReload((n) => n + 1)} />}
      {!data && !error && <Spinner label="Loading analytics…" />}
      {data && <Dashboard data={data} channels={channels} journeyId={id} canDecide={canEdit(workspace)} onDecided={() => setReload((n) => n + 1)} />}
    </div>
  );
}

function Dashboard({ data, channels, journeyId, canDecide, onDecided }: { data: Analytics; channels: Map<string, string>; journeyId: string; canDecide: boolean; onDecided: () => void }) {
  // Revenue, goals and experiment fields are newer than the generated types: API.md's shapes.
  const summary = data.summary as unknown as SummaryIn;
  const cards = summaryCards(summary);
  const funnel = funnelRows(data.nodes, data.summary.started);
  const perChannel = channelRows(data.nodes, channels);
  const holdout = holdoutView(data.summary.holdout);
  const messageNodes = data.nodes.filter((n) => n.messages);

  return (
    <>
      <p className="muted small" data-testid="counts-note">
        {countsNote(summary)}
      </p>
      <section className="cards" aria-label="Summary">
        {cards.map((c) => (
          <div className="stat" key={c.key} data-stat={c.key}>
            <span className="stat-label">{c.label}</span>
            <strong className="stat-value">{c.value}</strong>
            {c.hint && <span className="muted small">{c.hint}</span>}
          </div>
        ))}
      </section>

      <GoalsPanel goals={summary.goals} />

      {data.summary.started === 0 && (
        <EmptyState title="Nobody entered in this range">
          <p>Pick another version or dates, or start the journey and send it some customers.</p>
        </EmptyState>
      )}

      <ChartPanel
        title="Funnel by node"
        type="bar"
        fileName={`journey-${journeyId}-funnel.png`}
        data={colored(funnelChartData(funnel), 'bar')}
        height={Math.max(220, funnel.length * 36)}
        options={{ indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }}
      >
        <table className="table compact" aria-label="Nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th className="num">Entered</th>
              <th className="num">Reach</th>
              <th className="num">Waiting</th>
              <th className="num">Passed</th>
              <th className="num">Completed here</th>
              <th className="num">Exited here</th>
              <th className="num">Failed</th>
              <th>Paths taken</th>
            </tr>
          </thead>
          <tbody>
            {funnel.map((r) => (
              <tr key={r.node_id} data-node={r.node_id}>
                <td>
                  <strong>{r.label}</strong>{' '}
                  <span className="muted small">{r.type === 'message' ? `message · ${channels.get(r.node_id) ?? 'unknown channel'}` : (r.type ?? 'removed')}</span>
                </td>
                <td className="num" data-col="entered">
                  {r.entered.toLocaleString()}
                  {r.movedIn > 0 && <span className="muted small" title="Moved in from an earlier version when this one was published"> +{r.movedIn.toLocaleString()} moved in</span>}
                </td>
                <td className="num">{pct(r.reach)}</td>
                <td className="num" data-col="waiting">{r.waiting.toLocaleString()}</td>
                <td className="num" data-col="passed">{r.passed.toLocaleString()}</td>
                <td className="num" data-col="completed">{r.completed.toLocaleString()}</td>
                <td className="num" data-col="exited">{r.exited.toLocaleString()}</td>
                <td className="num" data-col="failed">{r.failed.toLocaleString()}</td>
                <td className="small">
                  {r.paths.length > 1 ? r.paths.map(([name, n]) => `${name} ${n.toLocaleString()}`).join(' · ') : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ChartPanel>

      <ChartPanel
        title="Daily"
        type="bar"
        fileName={`journey-${journeyId}-daily.png`}
        data={colored(seriesChartData(data.series), 'bar')}
        options={{ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }}
      />

      <ChartPanel
        title="Messages by channel"
        type="bar"
        fileName={`journey-${journeyId}-channels.png`}
        data={colored(channelChartData(perChannel), 'bar')}
        options={{ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }}
      >
        {perChannel.length === 0 ? (
          <p className="muted">This journey sent no messages in this range.</p>
        ) : (
          <table className="table compact" aria-label="Channels">
            <thead>
              <tr>
                <th>Channel</th>
                {MESSAGE_METRICS.map((m) => (
                  <th key={m} className="num">
                    {m[0].toUpperCase() + m.slice(1)}
                  </th>
                ))}
                <th className="num">Delivery</th>
                <th className="num">Open</th>
                <th className="num">Click</th>
              </tr>
            </thead>
            <tbody>
              {perChannel.map((r) => (
                <tr key={r.channel} data-channel={r.channel}>
                  <td>
                    <strong>{r.channel}</strong> <span className="muted small">{r.nodes} node{r.nodes === 1 ? '' : 's'}</span>
                  </td>
                  {MESSAGE_METRICS.map((m) => (
                    <td key={m} className="num" data-col={m}>
                      {r[m].toLocaleString()}
                    </td>
                  ))}
                  <td className="num">{pct(r.deliveryRate)}</td>
                  <td className="num">{pct(r.openRate)}</td>
                  <td className="num">{pct(r.clickRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {messageNodes.length > 0 && (
          <details open>
            <summary>Per message node</summary>
            <table className="table compact" aria-label="Message nodes">
              <thead>
                <tr>
                  <th>Node</th>
                  <th>Channel</th>
                  {MESSAGE_METRICS.map((m) => (
                    <th key={m} className="num">
                      {m}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {messageNodes.map((n) => (
                  <tr key={n.node_id}>
                    <td>{n.name || n.node_id}</td>
                    <td>{channels.get(n.node_id) ?? 'unknown'}</td>
                    {MESSAGE_METRICS.map((m) => (
                      <td key={m} className="num">
                        {(n.messages?.[m] ?? 0).toLocaleString()}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        )}
      </ChartPanel>

      <section className="panel" aria-label="Holdout">
        <div className="panel-head">
          <h2>Holdout vs treatment</h2>
          {holdout && (
            <span className="uplift" data-stat="uplift">
              Uplift <strong>{holdout.uplift}</strong>
            </span>
          )}
        </div>
        {holdout ? (
          <>
            <UpliftChart uplift={summary.holdout?.uplift ?? null} />
            <p className="muted small">
              {holdout.percent}% of entrants were held out: they enter, get no messages, and their goals are counted. Uplift is the treated group's
              conversion rate over the holdout's.
            </p>
            <table className="table compact">
              <thead>
                <tr>
                  <th>Group</th>
                  <th className="num">Started</th>
                  <th className="num">Converted</th>
                  <th className="num">Conversion rate</th>
                </tr>
              </thead>
              <tbody>
                {holdout.rows.map((r) => (
                  <tr key={r.group} data-group={r.group}>
                    <td>{r.group}</td>
                    <td className="num">{r.started.toLocaleString()}</td>
                    <td className="num">{r.converted.toLocaleString()}</td>
                    <td className="num">{r.rate}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : (
          <p className="muted">This journey has no holdout group. Set one in the journey's settings to measure uplift.</p>
        )}
      </section>

      <ExperimentsPanel
        nodes={data.nodes as unknown as Parameters<typeof ExperimentsPanel>[0]['nodes']}
        journeyId={journeyId}
        canDecide={canDecide}
        onDecided={onDecided}
      />

      <StepFunnel journeyId={journeyId} nodes={data.nodes} />
    </>
  );
}

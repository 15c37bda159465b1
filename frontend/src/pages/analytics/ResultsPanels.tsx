// The dashboard's results: goals with revenue, the holdout's uplift with its 95 % interval, the
// experiments of split and message nodes (winner marked) and a funnel over steps the user picks.
import { useEffect, useState } from 'react';

import { api, errorMessage, ok } from '../../api/client';
import { ErrorBanner } from '../../components/ui';
import {
  armRows,
  type ArmIn,
  experimentStatus,
  type ExperimentIn,
  type FunnelStepIn,
  funnelStepRows,
  type GoalIn,
  goalRows,
  type HoldoutIn,
  money,
  pct,
  upliftView,
} from '../../lib/chart-data';

export function GoalsPanel({ goals }: { goals: Record<string, GoalIn> | undefined }) {
  const rows = goalRows(goals);
  return (
    <section className="panel" aria-label="Goals">
      <div className="panel-head">
        <h2>Goals</h2>
      </div>
      {rows.length === 0 ? (
        <p className="muted">This journey has no goals. Add one in the journey's settings to count conversions and revenue.</p>
      ) : (
        <table className="table compact" aria-label="Goals">
          <thead>
            <tr>
              <th>Goal</th>
              <th className="num">Conversions</th>
              <th className="num">Rate</th>
              <th className="num">Revenue</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((g) => (
              <tr key={g.id} data-goal={g.id}>
                <td>{g.name}</td>
                <td className="num" data-col="conversions">{g.conversions.toLocaleString()}</td>
                <td className="num" data-col="rate">{pct(g.rate)}</td>
                <td className="num" data-col="revenue">{money(g.revenue)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The uplift as a bar from zero with whiskers over its 95 % interval. */
export function UpliftChart({ uplift }: { uplift: HoldoutIn['uplift'] }) {
  const view = upliftView(uplift);
  if (!view) return <p className="muted small">Uplift shows once both the holdout and the treated group have customers.</p>;
  const W = 360;
  const x = (f: number) => 10 + f * (W - 20);
  const { zero, value, low, high } = view.axis;
  return (
    <figure className="uplift-chart" aria-label="Uplift">
      <svg width={W} height={56} role="img" aria-label={`Uplift ${view.absolute}, 95% interval ${view.interval}`}>
        <line x1={x(zero)} x2={x(zero)} y1={4} y2={44} className="uplift-zero" />
        <rect
          data-part="bar"
          x={Math.min(x(zero), x(value))}
          width={Math.max(1, Math.abs(x(value) - x(zero)))}
          y={14}
          height={20}
          className={value >= zero ? 'uplift-bar up' : 'uplift-bar down'}
        />
        <g data-part="whiskers" className="uplift-whiskers">
          <line x1={x(low)} x2={x(high)} y1={24} y2={24} />
          <line x1={x(low)} x2={x(low)} y1={16} y2={32} />
          <line x1={x(high)} x2={x(high)} y1={16} y2={32} />
        </g>
        <text x={x(zero)} y={54} textAnchor="middle" className="uplift-axis">
          0
        </text>
      </svg>
      <figcaption>
        <span data-part="interval">95% interval {view.interval}</span> · relative {view.relative} ·{' '}
        <strong data-part="verdict">{view.verdict === 'likely real' ? 'Likely real' : 'Not yet conclusive'}</strong>{' '}
        <span className="muted small">(p = {view.pValue}; below 0.05 counts as likely real)</span>
      </figcaption>
    </figure>
  );
}

interface ExperimentNode {
  node_id: string;
  name: string;
  type: string | null;
  paths?: ArmIn[];
  variants?: (ArmIn & { sent: number; opened: number; clicked: number })[];
  experiment?: ExperimentIn;
}

/** Picks an experiment's winner by hand (PUT …/nodes/{node_id}/winner), after a confirmation. */
function WinnerPicker({ journeyId, nodeId, arm, name, onDecided }: { journeyId: string; nodeId: string; arm: string; name: string; onDecided: () => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!asking) {
    return (
      <button type="button" className="btn btn-sm" onClick={() => setAsking(true)}>
        Make {name} the winner
      </button>
    );
  }
  async function decide() {
    setBusy(true);
    setError(null);
    try {
      await ok(api.PUT('/api/v1/journeys/{id}/nodes/{node_id}/winner', { params: { path: { id: journeyId, node_id: nodeId } }, body: { path_id: arm } }));
      setAsking(false);
      onDecided();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <span className="row-gap" role="group" aria-label={`Confirm ${name} as the winner`}>
      <span className="small">Everyone who arrives from now on gets {name}.</span>
      <button type="button" className="btn btn-sm btn-primary" disabled={busy} onClick={decide}>
        Confirm
      </button>
      <button type="button" className="btn btn-sm" onClick={() => setAsking(false)}>
        Cancel
      </button>
      {error && <span className="form-error">{error}</span>}
    </span>
  );
}

export function ExperimentsPanel({ nodes, journeyId, canDecide, onDecided }: { nodes: ExperimentNode[]; journeyId: string; canDecide: boolean; onDecided: () => void }) {
  const withArms = nodes.filter((n) => (n.paths && n.paths.length) || (n.variants && n.variants.length));
  if (withArms.length === 0) return null;
  return (
    <section className="panel" aria-label="Experiments">
      <div className="panel-head">
        <h2>Experiments</h2>
      </div>
      {withArms.map((n) => {
        const isSplit = !!n.paths?.length;
        const label = n.name || n.node_id;
        const rows = isSplit ? armRows(n.paths, n.experiment) : armRows(n.variants, n.experiment);
        return (
          <div key={n.node_id} className="experiment" data-experiment={n.node_id}>
            <h3>
              {label} <span className="muted small">{isSplit ? 'paths' : 'variants'}</span>{' '}
              <span className="badge" data-part="status">
                {experimentStatus(n.experiment)}
              </span>
            </h3>
            <table className="table compact" aria-label={`${isSplit ? 'Paths' : 'Variants'} of ${label}`}>
              <thead>
                <tr>
                  <th>{isSplit ? 'Path' : 'Variant'}</th>
                  {!isSplit && <th className="num">Sent</th>}
                  {!isSplit && <th className="num">Opened</th>}
                  {!isSplit && <th className="num">Clicked</th>}
                  {isSplit && <th className="num">Entered</th>}
                  <th className="num">Conversions</th>
                  <th className="num">Rate</th>
                  <th className="num">95% interval</th>
                  {canDecide && n.experiment && <th />}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const arm = r.arm as ArmIn & { entered?: number; sent?: number; opened?: number; clicked?: number };
                  return (
                    <tr key={r.id} data-arm={r.id} data-winner={r.winner ? 'true' : undefined}>
                      <td>
                        {r.name} {r.winner && <strong className="winner-mark">★ Winner</strong>}
                      </td>
                      {!isSplit && <td className="num">{(arm.sent ?? 0).toLocaleString()}</td>}
                      {!isSplit && <td className="num">{(arm.opened ?? 0).toLocaleString()}</td>}
                      {!isSplit && <td className="num">{(arm.clicked ?? 0).toLocaleString()}</td>}
                      {isSplit && <td className="num" data-col="entered">{(arm.entered ?? 0).toLocaleString()}</td>}
                      <td className="num" data-col="conversions">{r.conversions.toLocaleString()}</td>
                      <td className="num" data-col="rate">{r.rate}</td>
                      <td className="num">{r.interval}</td>
                      {canDecide && n.experiment && (
                        <td>{!r.winner && <WinnerPicker journeyId={journeyId} nodeId={n.node_id} arm={r.id} name={r.name} onDecided={onDecided} />}</td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        );
      })}
    </section>
  );
}

// The funnel endpoint is newer than the generated client types: the answer's shape is API.md's.
const untypedGet = api.GET as unknown as (
  path: string,
  init: { params: { path: { id: string }; query: { steps: string } } },
) => Promise<{ data?: { steps: FunnelStepIn[] }; error?: unknown; response: Response }>;

export function StepFunnel({ journeyId, nodes }: { journeyId: string; nodes: { node_id: string; name: string }[] }) {
  const names = new Map(nodes.map((n) => [n.node_id, n.name || n.node_id]));
  const [steps, setSteps] = useState<string[]>([]);
  const [adding, setAdding] = useState('');
  const [result, setResult] = useState<FunnelStepIn[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setResult(null);
    setError(null);
    if (steps.length === 0) return;
    let live = true;
    ok(untypedGet('/api/v1/journeys/{id}/analytics/funnel', { params: { path: { id: journeyId }, query: { steps: steps.join(',') } } }))
      .then((r) => live && setResult(r.steps))
      .catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [journeyId, steps]);

  const rows = result ? funnelStepRows(result, names) : [];
  const left = nodes.filter((n) => !steps.includes(n.node_id));
  return (
    <section className="panel" aria-label="Step funnel">
      <div className="panel-head">
        <h2>Step funnel</h2>
      </div>
      <form
        className="row-gap"
        onSubmit={(e) => {
          e.preventDefault();
          if (adding) setSteps([...steps, adding]);
          setAdding('');
        }}
      >
        <label>
          <span className="small">Add a step </span>
          <select aria-label="Funnel step" value={adding} onChange={(e) => setAdding(e.target.value)}>
            <option value="">Pick a node…</option>
            {left.map((n) => (
              <option key={n.node_id} value={n.node_id}>
                {n.name || n.node_id}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="btn btn-sm btn-secondary" disabled={!adding}>
          Add step
        </button>
        {steps.length > 0 && (
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => setSteps([])}>
            Clear steps
          </button>
        )}
      </form>
      {steps.length === 0 && <p className="muted">Pick the nodes, in order, to see how many customers went from each to the next and how long it took.</p>}
      {error && <ErrorBanner message={error} />}
      {rows.length > 0 && (
        <ol className="step-funnel" aria-label="Funnel steps">
          {rows.map((r, i) => (
            <li key={r.node_id} data-step={r.node_id}>
              <div className="step-head">
                <strong>{r.label}</strong>
                <span className="num" data-col="reached">
                  {r.reached.toLocaleString()}
                </span>
              </div>
              <div className="step-track">
                <div className="step-bar" data-part="bar" style={{ width: `${(r.share * 100).toFixed(1)}%` }} />
              </div>
              {i > 0 && (
                <span className="muted small" data-col="from-previous">
                  {r.rate} of the previous step · median {r.median || '—'} after it
                </span>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

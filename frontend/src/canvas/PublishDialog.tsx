// Editing a live journey: the dialog that shows what a publish changes before it happens.
import { useEffect, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../api/client';
import { Button, Dialog } from '../components/ui';
import type { FlowNode } from '../lib/graph';
import { handleLabel, type NodeCatalog } from '../lib/node-types';
import { problemFieldLabel } from '../lib/problem-labels';

type Change = Schemas['PublishImpactChange'];

/** A before/after value in words: "not set", a quoted text, or the value itself. */
function shown(value: unknown): string {
  if (value === null || value === undefined || value === '') return 'not set';
  if (typeof value === 'string') return `“${value}”`;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** One change in the marketer's words: the field's label, and where an output now leads. */
function ChangeLine({ change, node, catalog, nodeName }: { change: Change; node: FlowNode | undefined; catalog: NodeCatalog; nodeName: (id: string) => string }) {
  if (change.field.startsWith('outputs.')) {
    const handle = change.field.slice('outputs.'.length);
    const label = node ? handleLabel(catalog.get(node.type), node.data.config, handle, node.data.handle_labels) : handle;
    const to = (v: unknown) => (v ? String(v).split(', ').map(nodeName).join(', ') : 'not connected');
    return (
      <li>
        “{label}” output: {to(change.before)} → {to(change.after)}
      </li>
    );
  }
  const label = change.field === 'type' ? 'Step type' : problemFieldLabel({ node_id: node?.id ?? null, field: change.field, message: '' }, node, catalog);
  return (
    <li>
      {label}: <del>{shown(change.before)}</del> → <ins>{shown(change.after)}</ins>
    </li>
  );
}

/** Editing a live journey: what the publish changes per node (before → after), how many customers
 * it reaches (at the changed steps, or on their way to one), what happens to those waiting, and
 * whether they move to the new version or keep their own. */
export function PublishDialog({
  journeyId,
  beforeLoad,
  nodeName,
  nodes,
  catalog,
  onCancel,
  onPublish,
}: {
  journeyId: number;
  beforeLoad: () => Promise<void>;
  nodeName: (id: string) => string;
  /** the draft's nodes (for field and output names) */
  nodes: FlowNode[];
  catalog: NodeCatalog;
  onCancel: () => void;
  onPublish: (inFlight: 'move' | 'keep') => void;
}) {
  const [impact, setImpact] = useState<Schemas['PublishImpactList'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [inFlight, setInFlight] = useState<'move' | 'keep'>('move');
  useEffect(() => {
    beforeLoad()
      .then(() => ok(api.GET('/api/v1/journeys/{id}/publish-impact', { params: { path: { id: String(journeyId) } } })))
      .then(setImpact)
      .catch((e) => setError(errorMessage(e)));
  }, [beforeLoad, journeyId]);
  const changed = impact?.results.filter((r) => r.change !== 'same') ?? [];
  const affected = impact?.affected ?? 0;
  const waitingAt = (impact?.results ?? []).filter((r) => r.waiting > 0);
  const next = impact?.live_version != null ? impact.live_version + 1 : null;
  const nodeOf = (id: string) => nodes.find((n) => n.id === id);
  return (
    <Dialog
      title="Publish changes to the live journey"
      open
      wide
      onClose={onCancel}
      footer={
        <>
          <Button onClick={onCancel}>Cancel</Button>
          <Button variant="primary" disabled={!impact || changed.length === 0} onClick={() => onPublish(inFlight)}>
            Publish version {next ?? ''}
          </Button>
        </>
      }
    >
      {error && <p className="form-error">{error}</p>}
      {!impact && !error && <p className="muted">Comparing the draft with the live version…</p>}
      {impact && changed.length === 0 && <p>The draft is the same as the live version: nothing to publish.</p>}
      {impact && changed.length > 0 && (
        <div className="stack" data-testid="publish-impact">
          <p data-testid="publish-affected">
            {inFlight === 'move' ? (
              <>
                <strong>
                  {affected} customer{affected === 1 ? '' : 's'}
                </strong>{' '}
                already in the journey {affected === 1 ? 'meets' : 'meet'} these changes: at a changed step or on the way to one.
              </>
            ) : (
              <>Customers already in the journey keep version {impact.live_version}; only customers who enter from now on get version {next}.</>
            )}
          </p>
          <table className="table">
            <thead>
              <tr>
                <th>Step</th>
                <th>Change</th>
                <th>What changed</th>
                <th className="num">There now</th>
                <th className="num">On the way</th>
              </tr>
            </thead>
            <tbody>
              {changed.map((r) => (
                <tr key={r.node_id} data-node={r.node_id}>
                  <td>{nodeName(r.node_id)}</td>
                  <td>
                    <span className={`badge badge-${r.change === 'removed' ? 'danger' : r.change === 'added' ? 'success' : 'warning'}`}>{r.change}</span>
                  </td>
                  <td>
                    {r.change === 'removed' ? (
                      <span className="muted">Customers here exit (node removed).</span>
                    ) : r.change === 'added' ? (
                      <span className="muted">New step.</span>
                    ) : (
                      <ul className="diff">
                        {r.diff.map((c) => (
                          <ChangeLine key={c.field} change={c} node={nodeOf(r.node_id)} catalog={catalog} nodeName={nodeName} />
                        ))}
                      </ul>
                    )}
                  </td>
                  <td className="num">{r.in_flight}</td>
                  <td className="num">{r.downstream}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {waitingAt.length > 0 && (
            <div data-testid="publish-waiting">
              <strong>Customers waiting now</strong>
              <ul>
                {waitingAt.map((r) => (
                  <li key={r.node_id}>
                    {r.waiting} at “{nodeName(r.node_id)}”:{' '}
                    {inFlight === 'keep'
                      ? `stay on version ${impact.live_version} and keep their timers.`
                      : r.change === 'removed'
                        ? 'exit, and their timers are cancelled (the step is removed).'
                        : r.change === 'changed'
                          ? 'keep the timer they started with; the new settings apply to customers who arrive after you publish.'
                          : 'keep their timers, then go on through the new version.'}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <fieldset className="choices">
            <legend>Customers already in the journey</legend>
            <label className="check">
              <input type="radio" name="in_flight" checked={inFlight === 'move'} onChange={() => setInFlight('move')} />
              Move them to the new version (those at removed steps exit)
            </label>
            <label className="check">
              <input type="radio" name="in_flight" checked={inFlight === 'keep'} onChange={() => setInFlight('keep')} />
              Keep them on their current version until they finish
            </label>
          </fieldset>
        </div>
      )}
    </Dialog>
  );
}

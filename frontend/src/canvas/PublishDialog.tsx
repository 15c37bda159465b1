// Editing a live journey: the dialog that shows what a publish changes before it happens.
import { useEffect, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../api/client';
import { Button, Dialog } from '../components/ui';

/** Editing a live journey: what the publish changes per node, how many customers are at the
 * changed or removed nodes, and whether they move to the new version or keep their own. */
export function PublishDialog({
  journeyId,
  beforeLoad,
  nodeName,
  onCancel,
  onPublish,
}: {
  journeyId: number;
  beforeLoad: () => Promise<void>;
  nodeName: (id: string) => string;
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
  const affected = changed.filter((r) => r.change === 'changed' || r.change === 'removed').reduce((s, r) => s + r.in_flight, 0);
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
            Publish version {impact?.live_version != null ? impact.live_version + 1 : ''}
          </Button>
        </>
      }
    >
      {error && <p className="form-error">{error}</p>}
      {!impact && !error && <p className="muted">Comparing the draft with the live version…</p>}
      {impact && changed.length === 0 && <p>The draft is the same as the live version: nothing to publish.</p>}
      {impact && changed.length > 0 && (
        <div className="stack" data-testid="publish-impact">
          <table className="table">
            <thead>
              <tr>
                <th>Step</th>
                <th>Change</th>
                <th className="num">Customers there now</th>
              </tr>
            </thead>
            <tbody>
              {changed.map((r) => (
                <tr key={r.node_id}>
                  <td>{nodeName(r.node_id)}</td>
                  <td>
                    <span className={`badge badge-${r.change === 'removed' ? 'danger' : r.change === 'added' ? 'success' : 'warning'}`}>{r.change}</span>
                  </td>
                  <td className="num">{r.in_flight}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <strong>{affected}</strong> customer{affected === 1 ? ' is' : 's are'} at changed or removed steps.
          </p>
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

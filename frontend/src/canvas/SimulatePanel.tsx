// Simulate: the path one customer would take through the draft (POST /journeys/{id}/simulate),
// with the branch taken at each step, the waits and the rendered messages. Sends nothing.
import { type FormEvent, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../api/client';
import { JsonEditor } from '../components/inputs';
import { Button, Field } from '../components/ui';

type Result = Schemas['SimulateResult'];

export function SimulatePanel({
  journeyId,
  nodeName,
  beforeRun,
  onPath,
  onClose,
}: {
  journeyId: number;
  nodeName: (id: string) => string;
  beforeRun: () => Promise<void>;
  onPath: (ids: Set<string> | null) => void;
  onClose: () => void;
}) {
  const [who, setWho] = useState<'stored' | 'sample'>('sample');
  const [customerId, setCustomerId] = useState('');
  const [sample, setSample] = useState<Record<string, unknown>>({ external_id: 'sample', email: 'alex@example.com', attributes: { first_name: 'Alex' } });
  const [events, setEvents] = useState<unknown>([]);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await beforeRun();
      const evs = Array.isArray(events) ? (events as Record<string, unknown>[]) : [];
      const body = who === 'stored' ? { customer_id: customerId, events: evs } : { customer: sample, events: evs };
      const r = await ok(api.POST('/api/v1/journeys/{journey_id}/simulate', { params: { path: { journey_id: journeyId } }, body }));
      setResult(r);
      onPath(new Set(r.steps.map((s) => s.node_id)));
    } catch (err) {
      setError(errorMessage(err));
      setResult(null);
      onPath(null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <aside className="side-panel side-wide" aria-label="Simulate" data-testid="simulate-panel">
      <header className="side-head">
        <h2>Simulate a customer</h2>
        <button
          type="button"
          className="icon-btn"
          aria-label="Close simulate"
          onClick={() => {
            onPath(null);
            onClose();
          }}
        >
          ×
        </button>
      </header>
      <div className="side-body">
        <form className="stack" onSubmit={run}>
          <div className="segmented" role="radiogroup" aria-label="Customer">
            <label className={who === 'sample' ? 'on' : ''}>
              <input type="radio" name="who" checked={who === 'sample'} onChange={() => setWho('sample')} /> Sample profile
            </label>
            <label className={who === 'stored' ? 'on' : ''}>
              <input type="radio" name="who" checked={who === 'stored'} onChange={() => setWho('stored')} /> Existing customer
            </label>
          </div>
          {who === 'stored' ? (
            <Field label="Customer external id">
              <input required value={customerId} onChange={(e) => setCustomerId(e.target.value)} placeholder="e.g. user-42" />
            </Field>
          ) : (
            <Field label="Profile (JSON)" hint="external_id, email, phone, timezone, attributes, tags">
              <JsonEditor value={sample} onChange={(v) => setSample(v as Record<string, unknown>)} />
            </Field>
          )}
          <Field label="Events the customer does (JSON list)" hint='e.g. [{"name": "purchase", "properties": {"amount": 60}}]; the first is the trigger.'>
            <JsonEditor value={events} onChange={setEvents} />
          </Field>
          <Button type="submit" variant="primary" busy={busy}>
            Run simulation
          </Button>
        </form>
        {error && <p className="form-error">{error}</p>}
        {result && (
          <div className="sim-result">
            <p>
              Ends <strong>{result.state}</strong>
              {result.exit_reason && <span className="muted"> ({result.exit_reason})</span>} after {result.steps.length} steps.
            </p>
            <ol className="sim-steps">
              {result.steps.map((s, i) => {
                const failure = stepFailure(s);
                return (
                <li key={i} data-testid="sim-step" data-node-id={s.node_id} data-kind={s.kind} className={failure ? 'sim-failed' : undefined}>
                  <div>
                    <strong>{s.name || nodeName(s.node_id)}</strong>{' '}
                    <span className="muted small">{failure ? 'failed' : s.kind}</span>
                    {s.handle && <span className={`badge ${failure ? 'badge-danger' : 'badge-neutral'}`}>→ {s.handle}</span>}
                  </div>
                  {failure && (
                    <p className="small" role="note">
                      {failure}
                      {nextNode(result.steps, i) ? ` The customer goes on to ${nodeName(nextNode(result.steps, i)!)}.` : ' The journey ends here.'}
                    </p>
                  )}
                  <StepData data={s.data} />
                </li>
                );
              })}
            </ol>
          </div>
        )}
      </div>
    </aside>
  );
}

type Step = Result['steps'][number];

// Why a send failed, in words (channels_app's reasons).
const FAILURE_REASONS: Record<string, string> = {
  no_address: 'The customer has no address for this channel (no email or phone).',
  no_push_token: 'The customer has no push token.',
  unsubscribed: 'The customer is unsubscribed from this channel or topic.',
  frequency_capped: 'The frequency cap was reached: the message was not sent.',
  no_channel_configured: 'No channel of this kind is set up in Channels.',
};

/** What went wrong at a step that left by its failed output (a send that could not go), if it did. */
function stepFailure(s: Step): string | null {
  if (s.kind === 'failed') return `The journey failed here: ${String((s.data as Record<string, unknown>)?.reason ?? 'unknown reason')}.`;
  if (s.handle !== 'failed') return null;
  const d = (s.data ?? {}) as Record<string, unknown>;
  const reason = String(d.reason ?? (d.message as Record<string, unknown> | undefined)?.error ?? '');
  return `Not sent: ${FAILURE_REASONS[reason] ?? (reason || 'the send failed.')}`;
}

/** The node a step moved to (the next arrival after it), if any. */
function nextNode(steps: Step[], i: number): string | null {
  const after = steps[i + 1];
  return after && after.kind === 'arrived' ? after.node_id : null;
}

function StepData({ data }: { data: unknown }) {
  if (!data || typeof data !== 'object' || Object.keys(data).length === 0) return null;
  const d = data as Record<string, unknown>;
  const content = (d.content ?? d.rendered) as Record<string, unknown> | undefined;
  return (
    <div className="sim-data">
      {content && typeof content === 'object' ? (
        <div className="preview-card">
          {Object.entries(content)
            .filter(([, v]) => typeof v === 'string' && v)
            .map(([k, v]) => (
              <div key={k}>
                <span className="muted small">{k}</span>
                <div>{String(v)}</div>
              </div>
            ))}
        </div>
      ) : null}
      <details>
        <summary className="small muted">details</summary>
        <pre>{JSON.stringify(d, null, 2)}</pre>
      </details>
    </div>
  );
}

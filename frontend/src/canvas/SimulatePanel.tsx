// Simulate: the path one customer would take through the draft (POST /journeys/{id}/simulate),
// with the branch taken at each step, the waits and the rendered messages. Sends nothing.
import { type FormEvent, useEffect, useId, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../api/client';
import { KeyValueRows } from '../components/inputs';
import { Button, Field } from '../components/ui';
import { journeyEventNames, type SimEvent, simulatedEvents } from '../lib/simulate';

type Result = Schemas['SimulateResult'];
type Customer = Schemas['Customer'];

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
  const [picked, setPicked] = useState<Customer | null>(null);
  const [profile, setProfile] = useState({ email: 'alex@example.com', phone: '', timezone: '', tags: '' });
  const [attributes, setAttributes] = useState<Record<string, unknown>>({ first_name: 'Alex' });
  const [known, setKnown] = useState<string[]>([]);
  const [events, setEvents] = useState<SimEvent[]>([]);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // The events this journey reacts to, from its saved draft; the trigger comes first and is
  // offered as the first event, since without it an event-triggered journey has nothing to do.
  useEffect(() => {
    let live = true;
    beforeRun()
      .then(() => ok(api.GET('/api/v1/journeys/{id}', { params: { path: { id: String(journeyId) } } })))
      .then((j) => {
        if (!live) return;
        const names = journeyEventNames(j.graph, j.settings);
        setKnown(names);
        const trigger = (j.settings as { entry?: { type?: string; events?: { name?: string }[] } })?.entry;
        if (trigger?.type === 'event' && trigger.events?.[0]?.name) {
          setEvents((evs) => (evs.length ? evs : [{ name: trigger.events![0].name!, properties: {}, afterMinutes: 0 }]));
        }
      })
      .catch(() => live && setKnown([]));
    return () => {
      live = false;
    };
    // Once per opening: later edits are saved by `beforeRun` when the simulation runs.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [journeyId]);

  async function run(e: FormEvent) {
    e.preventDefault();
    if (who === 'stored' && !picked) {
      setError('Pick a customer first.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await beforeRun();
      const evs = simulatedEvents(events, new Date());
      const sample = {
        external_id: 'sample',
        email: profile.email.trim(),
        phone: profile.phone.trim(),
        timezone: profile.timezone.trim(),
        attributes,
        tags: profile.tags.split(',').map((t) => t.trim()).filter(Boolean),
      };
      const body = who === 'stored' ? { customer_id: picked!.external_id, events: evs } : { customer: sample, events: evs };
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
            <CustomerPicker picked={picked} onPick={setPicked} />
          ) : (
            <fieldset className="stack">
              <legend>Sample profile</legend>
              <div className="row-gap">
                <Field label="Email">
                  <input type="email" value={profile.email} onChange={(e) => setProfile({ ...profile, email: e.target.value })} placeholder="none" />
                </Field>
                <Field label="Phone">
                  <input value={profile.phone} onChange={(e) => setProfile({ ...profile, phone: e.target.value })} placeholder="+15550000000" />
                </Field>
              </div>
              <div className="row-gap">
                <Field label="Time zone">
                  <input value={profile.timezone} onChange={(e) => setProfile({ ...profile, timezone: e.target.value })} placeholder="Europe/Lisbon" />
                </Field>
                <Field label="Tags" hint="Comma-separated.">
                  <input value={profile.tags} onChange={(e) => setProfile({ ...profile, tags: e.target.value })} placeholder="vip, newsletter" />
                </Field>
              </div>
              <span className="field-label">Attributes</span>
              <KeyValueRows value={attributes} onChange={setAttributes} keyLabel="attribute" valueLabel="attribute value" />
            </fieldset>
          )}
          <EventsForm known={known} events={events} onChange={setEvents} />
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

/** Finds a stored customer by id or email prefix and picks one. */
function CustomerPicker({ picked, onPick }: { picked: Customer | null; onPick: (c: Customer | null) => void }) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<Customer[] | null>(null);
  useEffect(() => {
    if (picked) return;
    let live = true;
    const t = setTimeout(() => {
      ok(api.GET('/api/v1/customers', { params: { query: { limit: 8, ...(query.trim() ? { search: query.trim() } : {}) } } }))
        .then((page) => live && setFound(page.results))
        .catch(() => live && setFound([]));
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [query, picked]);
  if (picked) {
    return (
      <p className="row-gap" data-testid="sim-customer">
        <span>
          Simulating <strong>{picked.external_id}</strong>
          {picked.email && <span className="muted"> · {picked.email}</span>}
          {picked.phone && <span className="muted"> · {picked.phone}</span>}
        </span>
        <button type="button" className="btn btn-sm" onClick={() => onPick(null)}>
          Change
        </button>
      </p>
    );
  }
  return (
    <div className="stack">
      <Field label="Find a customer" hint="By external id or email.">
        <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="e.g. user-42 or ada@" />
      </Field>
      {found === null ? (
        <p className="muted small">Searching…</p>
      ) : found.length === 0 ? (
        <p className="muted small">No customer matches.</p>
      ) : (
        <ul className="pick-list" aria-label="Matching customers">
          {found.map((c) => (
            <li key={c.external_id}>
              <button type="button" className="link-btn" onClick={() => onPick(c)}>
                {c.external_id}
                {c.email ? ` · ${c.email}` : ''}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The events the customer does, in order: picked from the journey's own events (or typed),
 * each with its properties and when it happens. */
function EventsForm({ known, events, onChange }: { known: string[]; events: SimEvent[]; onChange: (e: SimEvent[]) => void }) {
  const listId = useId();
  const [adding, setAdding] = useState('');
  const set = (i: number, patch: Partial<SimEvent>) => onChange(events.map((e, j) => (j === i ? { ...e, ...patch } : e)));
  const lastAt = events.length ? events[events.length - 1].afterMinutes : 0;
  return (
    <fieldset className="stack">
      <legend>Events the customer does</legend>
      <datalist id={listId}>
        {known.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      {events.length === 0 && <p className="muted small">None: the customer enters and does nothing more.</p>}
      <ol className="sim-events">
        {events.map((ev, i) => (
          <li key={i} className="stack" data-testid="sim-event">
            <div className="row-gap">
              <Field label={i === 0 ? 'Event (the trigger)' : 'Event'}>
                <input list={listId} value={ev.name} onChange={(e) => set(i, { name: e.target.value })} />
              </Field>
              <Field label="Minutes after entry">
                <input type="number" min={0} value={Number.isFinite(ev.afterMinutes) ? ev.afterMinutes : ''} onChange={(e) => set(i, { afterMinutes: e.target.value === '' ? 0 : Number(e.target.value) })} />
              </Field>
              <button type="button" className="icon-btn" aria-label={`Remove event ${ev.name || i + 1}`} onClick={() => onChange(events.filter((_, j) => j !== i))}>
                ×
              </button>
            </div>
            <KeyValueRows key={`${i}-${events.length}`} value={ev.properties} onChange={(p) => set(i, { properties: p })} keyLabel="property" valueLabel="property value" />
          </li>
        ))}
      </ol>
      <div className="row-gap">
        <select aria-label="Event to add" value={adding} onChange={(e) => setAdding(e.target.value)}>
          <option value="">{known.length ? 'Pick an event…' : 'Type a name after adding'}</option>
          {known.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => {
            onChange([...events, { name: adding, properties: {}, afterMinutes: events.length ? lastAt + 60 : 0 }]);
            setAdding('');
          }}
        >
          + Add event
        </button>
      </div>
    </fieldset>
  );
}

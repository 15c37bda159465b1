// Event webhooks (owners): Waymark's own events (sends, opens, journeys, conversions, opt-outs,
// experiment decisions) POSTed, signed, to a URL of the team's. The signing secret is shown once,
// right after creation; each webhook can be tested, paused or resumed, its batching changed, and
// its delivery log read.
import { type FormEvent, useCallback, useEffect, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { Badge, Button, Dialog, EmptyState, ErrorBanner, Field, Spinner } from '../../components/ui';
import { type FieldErrors, fieldErrors } from './fieldErrors';

type Webhook = Schemas['EventWebhook'];
type Delivery = Schemas['EventDelivery'];

type EventType = Schemas['EventsEnum'];
type EventTypeInfo = Schemas['EventType'];

// webhooks_out/models.py MAX_BATCH_SIZE (the API refuses more)
const MAX_BATCH_SIZE = 100;
const BATCH_HINT = `1 sends each event in a POST of its own. Up to ${MAX_BATCH_SIZE}: events pending together go in one signed POST of type "batch" (data.events), each keeping its own id.`;

// A webhook's batch size, changed in place: Save appears once the number differs.
function BatchSizeForm({ hook, onSave }: { hook: Webhook; onSave: (size: number) => void }) {
  const [size, setSize] = useState(hook.batch_size);
  useEffect(() => setSize(hook.batch_size), [hook.batch_size]);
  const valid = Number.isInteger(size) && size >= 1 && size <= MAX_BATCH_SIZE;
  return (
    <form
      className="row-gap"
      aria-label={`Events per POST to ${hook.url}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) onSave(size);
      }}
    >
      <input
        type="number"
        style={{ width: '7ch' }}
        aria-label="Events per POST"
        min={1}
        max={MAX_BATCH_SIZE}
        value={Number.isNaN(size) ? '' : size}
        onChange={(e) => setSize(e.target.valueAsNumber)}
      />
      {size !== hook.batch_size && (
        <Button size="sm" type="submit" disabled={!valid}>
          Save
        </Button>
      )}
    </form>
  );
}

export default function EventWebhooksPanel() {
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [log, setLog] = useState<{ hook: Webhook; rows: Delivery[] | null } | null>(null);

  const load = useCallback(() => {
    setError(null);
    ok(api.GET('/api/v1/event-webhooks'))
      .then((page) => setHooks(page.results))
      .catch((e) => setError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);

  function act(work: Promise<unknown>, done: string) {
    setStatus(null);
    work
      .then(() => {
        setStatus(done);
        load();
      })
      .catch((e) => setError(errorMessage(e)));
  }

  function openLog(hook: Webhook) {
    setLog({ hook, rows: null });
    ok(api.GET('/api/v1/event-webhooks/{id}/deliveries', { params: { path: { id: hook.id } } }))
      .then((page) => setLog({ hook, rows: page.results }))
      .catch((e) => setError(errorMessage(e)));
  }

  return (
    <section className="panel" aria-label="Event webhooks">
      <h2>Event webhooks</h2>
      <p className="muted small">
        Waymark's own events, POSTed to your URL as they happen and signed with <code>Waymark-Signature</code>. Failed deliveries are
        retried for 24 hours; a webhook failing all that time is paused and owners are emailed.
      </p>
      {error && <ErrorBanner message={error} onRetry={load} />}
      {status && <p role="status">{status}</p>}
      {secret && (
        <div className="secret-note" role="alert">
          Signing secret (shown once — store it now): <code>{secret}</code>
        </div>
      )}
      {!hooks && !error && <Spinner label="Loading webhooks…" />}
      {hooks && hooks.length === 0 && (
        <EmptyState title="No event webhooks yet">
          <p>Add one to stream sends, opens and conversions into your warehouse or CRM.</p>
        </EmptyState>
      )}
      {hooks && hooks.length > 0 && (
        <table className="table" aria-label="Event webhooks">
          <thead>
            <tr>
              <th>URL</th>
              <th>Events</th>
              <th>Events per POST</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {hooks.map((h) => (
              <tr key={h.id} data-webhook={h.id}>
                <td>
                  <code>{h.url}</code>
                  {h.description && <div className="small muted">{h.description}</div>}
                </td>
                <td className="small">{(h.events as string[]).join(', ')}</td>
                <td>
                  <BatchSizeForm hook={h} onSave={(size) => act(ok(api.PATCH('/api/v1/event-webhooks/{id}', { params: { path: { id: h.id } }, body: { batch_size: size } })), `${h.url} now gets up to ${size} ${size === 1 ? 'event' : 'events'} per POST.`)} />
                </td>
                <td>
                  {h.enabled ? <Badge tone="success">on</Badge> : <Badge tone="danger">paused</Badge>}
                  {h.disabled_reason && <div className="small">{h.disabled_reason}</div>}
                </td>
                <td className="cell-actions">
                  <Button
                    size="sm"
                    onClick={() =>
                      act(ok(api.POST('/api/v1/event-webhooks/{id}/test', { params: { path: { id: h.id } } })), `Test event queued for ${h.url}.`)
                    }
                  >
                    Send test
                  </Button>
                  <Button
                    size="sm"
                    onClick={() =>
                      act(
                        ok(api.PATCH('/api/v1/event-webhooks/{id}', { params: { path: { id: h.id } }, body: { enabled: !h.enabled } })),
                        h.enabled ? `Paused ${h.url}.` : `Resumed ${h.url}.`,
                      )
                    }
                  >
                    {h.enabled ? 'Pause' : 'Resume'}
                  </Button>
                  <Button size="sm" onClick={() => openLog(h)}>
                    Deliveries
                  </Button>
                  <Button
                    size="sm"
                    variant="danger"
                    onClick={() => act(ok(api.DELETE('/api/v1/event-webhooks/{id}', { params: { path: { id: h.id } } })), `Deleted ${h.url}.`)}
                  >
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <WebhookForm
        onCreated={(created) => {
          setSecret(created);
          load();
        }}
      />
      <Dialog title={`Deliveries to ${log?.hook.url ?? ''}`} open={log !== null} onClose={() => setLog(null)} wide>
        {log && !log.rows && <Spinner label="Loading deliveries…" />}
        {log?.rows && log.rows.length === 0 && <p className="muted">Nothing delivered yet.</p>}
        {log?.rows && log.rows.length > 0 && (
          <table className="table" aria-label="Deliveries">
            <thead>
              <tr>
                <th>Event</th>
                <th>Batch</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Answer</th>
                <th>Next attempt</th>
              </tr>
            </thead>
            <tbody>
              {log.rows.map((d) => (
                <tr key={d.id}>
                  <td>
                    <code>{d.type}</code>
                  </td>
                  <td className="small">{d.batch_id ? <code>{d.batch_id}</code> : '—'}</td>
                  <td>{d.status}</td>
                  <td>{d.attempts}</td>
                  <td className="small">{d.response_code ?? '—'} {d.last_error}</td>
                  <td className="small">{d.next_attempt_at ? new Date(d.next_attempt_at).toLocaleString() : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Dialog>
    </section>
  );
}

function WebhookForm({ onCreated }: { onCreated: (secret: string) => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<EventType[]>([]);
  // The server's list (GET /event-webhooks/event-types), the one the API validates against.
  const [eventTypes, setEventTypes] = useState<EventTypeInfo[] | null>(null);
  const [typesError, setTypesError] = useState<string | null>(null);
  const [batchSize, setBatchSize] = useState(1);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});

  const loadTypes = useCallback(() => {
    setTypesError(null);
    ok(api.GET('/api/v1/event-webhooks/event-types'))
      .then(setEventTypes)
      .catch((e) => setTypesError(errorMessage(e)));
  }, []);
  useEffect(loadTypes, [loadTypes]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const created = await ok(api.POST('/api/v1/event-webhooks', { body: { url, events, description, batch_size: batchSize } }));
      setUrl('');
      setDescription('');
      setEvents([]);
      setBatchSize(1);
      onCreated(created.secret);
    } catch (err) {
      setErrors(fieldErrors(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stack" onSubmit={submit} aria-label="New event webhook">
      <h3>New event webhook</h3>
      <Field label="URL" hint="https, reachable from Waymark." error={errors.url}>
        <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} required />
      </Field>
      <Field label="Description" error={errors.description}>
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <Field label="Events per POST" hint={BATCH_HINT} error={errors.batch_size}>
        <input type="number" min={1} max={MAX_BATCH_SIZE} value={batchSize} onChange={(e) => setBatchSize(e.target.valueAsNumber)} required />
      </Field>
      <fieldset className="stack">
        <legend>Events</legend>
        {typesError && <ErrorBanner message={typesError} onRetry={loadTypes} />}
        {!eventTypes && !typesError && <Spinner label="Loading event types…" />}
        <div className="row-gap wrap">
          {eventTypes?.map(({ type, description }) => (
            <label key={type} className="small" title={description}>
              <input
                type="checkbox"
                checked={events.includes(type)}
                onChange={(e) => setEvents(e.target.checked ? [...events, type] : events.filter((t) => t !== type))}
              />{' '}
              {type}
            </label>
          ))}
        </div>
        {errors.events && <span className="field-error">{errors.events.join(' ')}</span>}
      </fieldset>
      {errors.form && <p className="form-error">{errors.form.join(' ')}</p>}
      <div className="row-end">
        <Button type="submit" variant="primary" busy={busy}>
          Add webhook
        </Button>
      </div>
    </form>
  );
}

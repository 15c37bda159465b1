// One customer: identity, attributes and tags, the journeys they are or were in (one call) with
// the node-by-node timeline of each journey's latest pass, their events (newest first, filtered
// by name, paged), the messages sent to them with their statuses, and their topic subscriptions
// (each switchable; a topic they never chose shows its default).
import { type FormEvent, type ReactNode, useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';

import { api, ApiError, errorMessage, ok, type Schemas } from '../../api/client';
import { LoadMore, type Paged, usePaged } from '../../components/paged';
import { Badge, Button, EmptyState, ErrorBanner, Spinner } from '../../components/ui';
import { AudienceTabs } from './AudienceTabs';

type Customer = Schemas['Customer'];
type Pass = Schemas['CustomerEnrollment'];
type Detail = Schemas['EnrollmentDetail'];
type CustomerEvent = Schemas['CustomerEvent'];
type Message = Schemas['Message'];
type Topic = Schemas['Topic'];

const PAGE = 25;

const STATE_TONE: Record<string, string> = { active: 'neutral', waiting: 'warning', completed: 'success', exited: 'muted', failed: 'danger' };
const MESSAGE_TONE: Record<string, string> = {
  queued: 'muted',
  sent: 'neutral',
  delivered: 'success',
  opened: 'success',
  read: 'success',
  clicked: 'success',
  replied: 'success',
  failed: 'danger',
  bounced: 'danger',
};

const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

export default function CustomerPage() {
  const { externalId = '' } = useParams();
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    setCustomer(null);
    setMissing(false);
    setError(null);
    ok(api.GET('/api/v1/customers/{external_id}', { params: { path: { external_id: externalId } } }))
      .then(setCustomer)
      .catch((e) => (e instanceof ApiError && e.status === 404 ? setMissing(true) : setError(errorMessage(e))));
  }, [externalId, attempt]);

  if (missing) {
    return (
      <div className="page">
        <EmptyState title="Customer not found" action={<Link className="btn btn-primary" to="/audiences">All customers</Link>}>
          <p>No customer has the id “{externalId}” in this workspace.</p>
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <Link to="/audiences" className="small">
            ← Customers
          </Link>
          <h1>{customer ? displayName(customer) : externalId}</h1>
        </div>
      </header>
      <AudienceTabs />
      {error && <ErrorBanner message={error} onRetry={() => setAttempt((n) => n + 1)} />}
      {!customer && !error && <Spinner label="Loading customer…" />}
      {customer && (
        <>
          <div className="grid-2">
            <Profile customer={customer} />
            <Attributes customer={customer} />
          </div>
          <Subscriptions customer={customer} onSaved={setCustomer} />
          <Journeys externalId={externalId} />
          <Events externalId={externalId} />
          <Messages externalId={externalId} />
        </>
      )}
    </div>
  );
}

function Profile({ customer }: { customer: Customer }) {
  return (
    <section className="panel" aria-label="Profile">
      <h2>Profile</h2>
      <dl className="kv">
        <dt>External id</dt>
        <dd>
          <code>{customer.external_id}</code>
        </dd>
        <dt>Email</dt>
        <dd>{customer.email || '—'}</dd>
        <dt>Phone</dt>
        <dd>{customer.phone || '—'}</dd>
        <dt>Time zone</dt>
        <dd>{customer.timezone || '—'}</dd>
        <dt>Locale</dt>
        <dd>{customer.locale || '—'}</dd>
        <dt>Tags</dt>
        <dd aria-label="Tags">
          {customer.tags.length ? (
            <span className="tag-list">
              {customer.tags.map((t) => (
                <span key={t} className="badge">
                  {t}
                </span>
              ))}
            </span>
          ) : (
            '—'
          )}
        </dd>
        <dt>Unsubscribed</dt>
        <dd>{customer.unsubscribed.length ? customer.unsubscribed.join(', ') : 'none'}</dd>
        <dt>Push tokens</dt>
        <dd>{customer.push_tokens.length ? customer.push_tokens.map((p) => p.platform).join(', ') : 'none'}</dd>
        <dt>Created</dt>
        <dd>{when(customer.created_at)}</dd>
        <dt>Updated</dt>
        <dd>{when(customer.updated_at)}</dd>
      </dl>
    </section>
  );
}

function Attributes({ customer }: { customer: Customer }) {
  const attributes = Object.entries((customer.attributes ?? {}) as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section className="panel" aria-label="Attributes">
      <h2>Attributes</h2>
      {attributes.length === 0 ? (
        <p className="muted">No attributes. They arrive with a CSV import, POST /customers or a journey's profile update.</p>
      ) : (
        <dl className="kv">
          {attributes.map(([k, v]) => (
            <FactRow key={k} name={k} value={v} />
          ))}
        </dl>
      )}
    </section>
  );
}

/** Each topic with a switch: on = subscribed. Flipping it stores the customer's own choice at
 * once; "Use default" forgets it (null) so the topic's default holds again. */
function Subscriptions({ customer, onSaved }: { customer: Customer; onSaved: (c: Customer) => void }) {
  const [topics, setTopics] = useState<Topic[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    setError(null);
    ok(api.GET('/api/v1/topics'))
      .then((page) => setTopics(page.results))
      .catch((e) => setError(errorMessage(e)));
  }, [attempt]);

  async function choose(topic: Topic, choice: boolean | null) {
    setSaving(topic.key);
    setStatus(null);
    setError(null);
    try {
      const saved = await ok(
        api.PATCH('/api/v1/customers/{external_id}', {
          params: { path: { external_id: customer.external_id } },
          body: { subscriptions: { [topic.key]: choice } },
        }),
      );
      onSaved(saved);
      const now = choice ?? topic.default === 'subscribed';
      setStatus(`${choice === null ? 'Back to the default: ' : ''}${now ? 'subscribed to' : 'unsubscribed from'} ${topic.name}`);
    } catch (e) {
      setError(`Could not save ${topic.name}: ${errorMessage(e)}`);
    } finally {
      setSaving(null);
    }
  }

  const choices = customer.subscriptions ?? {};
  return (
    <section className="panel" aria-label="Subscriptions">
      <h2>Subscriptions</h2>
      {error && <ErrorBanner message={error} onRetry={topics ? undefined : () => setAttempt((n) => n + 1)} />}
      {!topics && !error && <Spinner label="Loading topics…" />}
      {topics && topics.length === 0 && (
        <p className="muted">
          No topics in this workspace yet (<Link to="/settings">Settings</Link>).
        </p>
      )}
      {topics && topics.length > 0 && (
        <ul className="stack" aria-label="Topic subscriptions">
          {topics.map((t) => {
            const own = Object.prototype.hasOwnProperty.call(choices, t.key) ? choices[t.key] : null;
            const on = own ?? t.default === 'subscribed';
            return (
              <li key={t.key} className="row-gap" data-topic={t.key}>
                <label className="row-gap">
                  <input
                    type="checkbox"
                    role="switch"
                    checked={on}
                    aria-checked={on}
                    disabled={saving !== null}
                    onChange={(e) => choose(t, e.target.checked)}
                  />
                  <span>{t.name}</span>
                </label>
                <span className="muted small">{own === null ? `default (${t.default})` : 'their choice'}</span>
                {own !== null && (
                  <Button size="sm" variant="ghost" disabled={saving !== null} onClick={() => choose(t, null)} aria-label={`Use the default for ${t.name}`}>
                    Use default
                  </Button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {status && (
        <p role="status" className="small">
          Saved: {status}
        </p>
      )}
    </section>
  );
}

function FactRow({ name, value }: { name: string; value: unknown }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{typeof value === 'object' && value !== null ? <code>{JSON.stringify(value)}</code> : String(value)}</dd>
    </>
  );
}

/** A paged section's states: loading, error with retry, empty, or the rows. */
function PagedBody<T>({ paged, loading, empty, children }: { paged: Paged<T>; loading: string; empty: string; children: (rows: T[]) => ReactNode }) {
  if (paged.error && !paged.rows) return <ErrorBanner message={paged.error} onRetry={paged.reload} />;
  if (!paged.rows) return <Spinner label={loading} />;
  if (paged.rows.length === 0) return <p className="muted">{empty}</p>;
  return (
    <>
      {children(paged.rows)}
      {paged.error && <ErrorBanner message={paged.error} onRetry={paged.loadMore} />}
    </>
  );
}

function Journeys({ externalId }: { externalId: string }) {
  const load = useCallback(
    (cursor?: string) =>
      ok(api.GET('/api/v1/customers/{external_id}/enrollments', { params: { path: { external_id: externalId }, query: { limit: PAGE, cursor } } })),
    [externalId],
  );
  const passes = usePaged<Pass>(load);
  // The node-by-node history is served for each journey's latest pass; the list is newest first.
  const latest = new Set<number>();
  const seen = new Set<number>();
  for (const p of passes.rows ?? []) {
    if (!seen.has(p.journey_id)) latest.add(p.id);
    seen.add(p.journey_id);
  }
  return (
    <section className="panel" aria-label="Journeys">
      <h2>Journeys</h2>
      <PagedBody paged={passes} loading="Loading this customer's journeys…" empty="This customer has not entered a journey.">
        {(rows) => (
          <div className="stack passes">
            {rows.map((p, i) => (
              <JourneyPass key={p.id} pass={p} externalId={externalId} isLatest={latest.has(p.id)} openAtFirst={i === 0} />
            ))}
          </div>
        )}
      </PagedBody>
      <LoadMore paged={passes} what="journeys" />
    </section>
  );
}

function JourneyPass({ pass, externalId, isLatest, openAtFirst }: { pass: Pass; externalId: string; isLatest: boolean; openAtFirst: boolean }) {
  const [open, setOpen] = useState(openAtFirst && isLatest);
  const goalNames = (pass.goal_names ?? {}) as Record<string, string>;
  const goals = Array.isArray(pass.goals) ? (pass.goals as { id?: string }[]).map((g) => (g?.id ? (goalNames[g.id] ?? g.id) : String(g))) : [];
  const finished = pass.state === 'completed' || pass.state === 'exited' || pass.state === 'failed';
  const timelineId = `timeline-${pass.id}`;
  return (
    <div className="pass" id={`pass-${pass.id}`} data-journey={pass.journey_id} data-enrollment={pass.id}>
      <div className="row-gap pass-head">
        <Link className="row-title" to={`/analytics/journeys/${pass.journey_id}`}>
          {pass.journey_name}
        </Link>
        <Badge tone={STATE_TONE[pass.state] ?? 'muted'}>{pass.state}</Badge>
        <span className="muted small">
          v{pass.version} · {finished ? 'last at' : 'at'} <strong>{pass.node_name}</strong> · entered {when(pass.entered_at)}
          {pass.finished_at && ` · left ${when(pass.finished_at)}`}
          {pass.exit_reason && ` · exit: ${pass.exit_reason}`}
          {pass.state === 'waiting' && pass.wake_at && ` · wakes ${when(pass.wake_at)}`}
          {pass.holdout && ' · holdout'}
          {goals.length > 0 && ` · goals: ${goals.join(', ')}`}
        </span>
        {isLatest && (
          <Button size="sm" variant="ghost" aria-expanded={open} aria-controls={timelineId} onClick={() => setOpen((o) => !o)}>
            {open ? 'Hide timeline' : 'Show timeline'}
          </Button>
        )}
      </div>
      <HandOffLinks pass={pass} />
      {open && (
        <div id={timelineId}>
          <Timeline pass={pass} externalId={externalId} />
        </div>
      )}
    </div>
  );
}

/** A hand-off's two runs, linked: the run a `journey` node came from and the runs it enrolled. */
function HandOffLinks({ pass }: { pass: Pass }) {
  const from = pass.handed_off_from;
  const to = pass.handed_off_to ?? [];
  if (!from && to.length === 0) return null;
  const link = (run: { enrollment_id: number; journey_name: string; journey_id: number }) => (
    <a href={`#pass-${run.enrollment_id}`}>{run.journey_name || `Journey #${run.journey_id}`}</a>
  );
  return (
    <p className="muted small handoffs" aria-label={`Hand-offs of ${pass.journey_name}`}>
      {from && <span>Handed off from {link(from)} (run #{from.enrollment_id}, node {from.node_id}) </span>}
      {to.map((run) => (
        <span key={run.enrollment_id}>
          Handed off to {link(run)} (run #{run.enrollment_id}){' '}
        </span>
      ))}
    </p>
  );
}

function Timeline({ pass, externalId }: { pass: Pass; externalId: string }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    setError(null);
    ok(api.GET('/api/v1/journeys/{journey_id}/enrollments/{customer_id}', { params: { path: { journey_id: pass.journey_id, customer_id: externalId } } }))
      .then(setDetail)
      .catch((e) => setError(errorMessage(e)));
  }, [pass.journey_id, externalId, attempt]);
  if (error) return <ErrorBanner message={`Could not load the timeline: ${error}`} onRetry={() => setAttempt((n) => n + 1)} />;
  if (!detail) return <Spinner label="Loading timeline…" />;
  if (detail.history.length === 0) return <p className="muted small">No steps recorded yet.</p>;
  return (
    <ol className="timeline" aria-label={`Timeline of ${pass.journey_name}`}>
      {detail.history.map((h) => (
        <li key={`${h.step_seq}-${h.kind}-${h.node_id}`} data-kind={h.kind}>
          <span className="muted small">{when(h.at)}</span> · <strong>{pass.node_names[h.node_id] ?? h.node_id}</strong> · {h.kind}
          {h.handle && <span className="muted"> → {h.handle}</span>}
          {stepNote(h.data, (pass.goal_names ?? {}) as Record<string, string>)}
        </li>
      ))}
    </ol>
  );
}

/** What a step's data adds for a reader: why it exited, which goal, until when it waits. */
function stepNote(data: unknown, goalNames: Record<string, string>) {
  const d = (data ?? {}) as Record<string, unknown>;
  const note = d.reason ? `reason: ${d.reason}` : d.goal_id ? `goal: ${goalNames[String(d.goal_id)] ?? d.goal_id}` : d.wake_at ? `until ${when(String(d.wake_at))}` : '';
  return note ? <span className="muted small"> ({note})</span> : null;
}

function Events({ externalId }: { externalId: string }) {
  const [draft, setDraft] = useState('');
  const [name, setName] = useState('');
  const load = useCallback(
    (cursor?: string) =>
      ok(api.GET('/api/v1/customers/{external_id}/events', { params: { path: { external_id: externalId }, query: { limit: PAGE, cursor, name: name || undefined } } })),
    [externalId, name],
  );
  const events = usePaged<CustomerEvent>(load);
  const filter = (e: FormEvent) => {
    e.preventDefault();
    setName(draft.trim());
  };
  return (
    <section className="panel" aria-label="Events">
      <div className="panel-head">
        <h2>Events</h2>
        <form className="row-gap" role="search" aria-label="Filter events" onSubmit={filter}>
          <input className="search" aria-label="Event name" placeholder="Event name, e.g. purchase" value={draft} onChange={(e) => setDraft(e.target.value)} />
          <Button size="sm" type="submit">
            Filter
          </Button>
          {name && (
            <Button
              size="sm"
              variant="ghost"
              onClick={() => {
                setDraft('');
                setName('');
              }}
            >
              Clear
            </Button>
          )}
        </form>
      </div>
      <PagedBody paged={events} loading="Loading events…" empty={name ? `No “${name}” events for this customer.` : 'No events for this customer yet (POST /events).'}>
        {(rows) => (
          <table className="table compact" aria-label="Customer events">
            <thead>
              <tr>
                <th>Happened</th>
                <th>Event</th>
                <th>Properties</th>
                <th>Received</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((ev) => (
                <tr key={ev.id} data-event={ev.id}>
                  <td className="small">{when(ev.occurred_at)}</td>
                  <td>
                    <code>{ev.name}</code>
                  </td>
                  <td className="small">{propertiesGist(ev.properties)}</td>
                  <td className="small muted">{when(ev.received_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PagedBody>
      <LoadMore paged={events} what="events" />
    </section>
  );
}

function Messages({ externalId }: { externalId: string }) {
  const load = useCallback(
    (cursor?: string) => ok(api.GET('/api/v1/messages', { params: { query: { customer_id: externalId, limit: PAGE, cursor } } })),
    [externalId],
  );
  const messages = usePaged<Message>(load);
  return (
    <section className="panel" aria-label="Messages">
      <h2>Messages</h2>
      <PagedBody paged={messages} loading="Loading messages…" empty="No messages were sent to this customer.">
        {(rows) => (
          <table className="table compact">
            <thead>
              <tr>
                <th>When</th>
                <th>Channel</th>
                <th>To</th>
                <th>Content</th>
                <th>Journey / node</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => (
                <tr key={m.id} data-message={m.id}>
                  <td className="small">{when(m.created_at)}</td>
                  <td>{m.channel}</td>
                  <td className="small">{m.to || '—'}</td>
                  <td className="small">{messageGist(m.content)}</td>
                  <td className="small">
                    {m.journey_id ? (
                      <Link to={`/analytics/journeys/${m.journey_id}`}>
                        #{m.journey_id} · {m.node_id}
                      </Link>
                    ) : (
                      'test send'
                    )}
                  </td>
                  <td>
                    <Badge tone={MESSAGE_TONE[m.status ?? ''] ?? 'muted'}>{m.status}</Badge>
                    {m.error && <div className="field-error">{m.error}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PagedBody>
      <LoadMore paged={messages} what="messages" />
    </section>
  );
}

function displayName(c: Customer): string {
  const a = (c.attributes ?? {}) as Record<string, unknown>;
  const name = [a.first_name, a.last_name].filter((v) => typeof v === 'string' && v).join(' ');
  return name ? `${name} (${c.external_id})` : c.external_id;
}

function messageGist(content: unknown): string {
  const c = (content ?? {}) as Record<string, unknown>;
  const text = [c.subject, c.title, c.text, c.body, c.template].find((v) => typeof v === 'string' && v);
  return text ? String(text).slice(0, 80) : '—';
}

function propertiesGist(properties: unknown): string {
  const entries = Object.entries((properties ?? {}) as Record<string, unknown>);
  if (entries.length === 0) return '—';
  const text = entries.map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`).join(' · ');
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

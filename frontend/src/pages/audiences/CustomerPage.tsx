// One customer: identity, attributes and tags, the journeys they went through with each pass's
// timeline, and the messages sent to them with their statuses.
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';

import { api, ApiError, errorMessage, type Journey, ok, type Schemas } from '../../api/client';
import { Badge, EmptyState, ErrorBanner, Spinner } from '../../components/ui';
import { AudienceTabs } from './AudienceTabs';

type Customer = Schemas['Customer'];
type Enrollment = Schemas['EnrollmentDetail'];
type Message = Schemas['Message'];

// Journeys checked for this customer's passes: the newest ones that have ever been started.
const JOURNEYS_CHECKED = 100;

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

export default function CustomerPage() {
  const { externalId = '' } = useParams();
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [missing, setMissing] = useState(false);
  const [passes, setPasses] = useState<{ journey: Journey; enrollment: Enrollment }[] | null>(null);
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    ok(api.GET('/api/v1/customers/{external_id}', { params: { path: { external_id: externalId } } }))
      .then(setCustomer)
      .catch((e) => (e instanceof ApiError && e.status === 404 ? setMissing(true) : setError(errorMessage(e))));
    ok(api.GET('/api/v1/messages', { params: { query: { customer_id: externalId, limit: 100 } } }))
      .then((p) => setMessages(p.results))
      .catch(() => setMessages([]));
    // The API answers a customer's pass per journey: ask the started journeys, keep the hits.
    ok(api.GET('/api/v1/journeys', { params: { query: { limit: JOURNEYS_CHECKED } } }))
      .then((page) =>
        Promise.all(
          page.results
            .filter((j) => j.version !== null)
            .map((journey) =>
              ok(api.GET('/api/v1/journeys/{journey_id}/enrollments/{customer_id}', { params: { path: { journey_id: journey.id, customer_id: externalId } } }))
                .then((enrollment) => ({ journey, enrollment }))
                .catch(() => null),
            ),
        ),
      )
      .then((found) => setPasses(found.filter((x): x is { journey: Journey; enrollment: Enrollment } => x !== null)))
      .catch(() => setPasses([]));
  }, [externalId]);

  if (missing) {
    return (
      <div className="page">
        <EmptyState title="Customer not found" action={<Link className="btn btn-primary" to="/audiences">All customers</Link>}>
          <p>No customer has the id “{externalId}” in this workspace.</p>
        </EmptyState>
      </div>
    );
  }

  const attributes = Object.entries((customer?.attributes ?? {}) as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));

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
      {error && <ErrorBanner message={error} />}
      {!customer && !error && <Spinner label="Loading customer…" />}
      {customer && (
        <div className="grid-2">
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
              <dd>
                {customer.tags.length
                  ? customer.tags.map((t) => (
                      <span key={t} className="badge" style={{ marginRight: 4 }}>
                        {t}
                      </span>
                    ))
                  : '—'}
              </dd>
              <dt>Unsubscribed</dt>
              <dd>{customer.unsubscribed.length ? customer.unsubscribed.join(', ') : 'none'}</dd>
              <dt>Push tokens</dt>
              <dd>{customer.push_tokens.length ? customer.push_tokens.map((p) => p.platform).join(', ') : 'none'}</dd>
              <dt>Created</dt>
              <dd>{new Date(customer.created_at).toLocaleString()}</dd>
              <dt>Updated</dt>
              <dd>{new Date(customer.updated_at).toLocaleString()}</dd>
            </dl>
          </section>
          <section className="panel" aria-label="Attributes">
            <h2>Attributes</h2>
            {attributes.length === 0 ? (
              <p className="muted">No attributes.</p>
            ) : (
              <dl className="kv">
                {attributes.map(([k, v]) => (
                  <FactRow key={k} name={k} value={v} />
                ))}
              </dl>
            )}
          </section>
        </div>
      )}

      <section className="panel" aria-label="Journeys">
        <h2>Journeys</h2>
        {passes === null && <Spinner label="Looking for this customer's journeys…" />}
        {passes?.length === 0 && <p className="muted">This customer has not entered a journey.</p>}
        {passes?.map(({ journey, enrollment }) => (
          <JourneyPass key={journey.id} journey={journey} enrollment={enrollment} />
        ))}
      </section>

      <section className="panel" aria-label="Messages">
        <h2>Messages</h2>
        {messages === null && <Spinner label="Loading messages…" />}
        {messages?.length === 0 && <p className="muted">No messages were sent to this customer.</p>}
        {messages && messages.length > 0 && (
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
              {messages.map((m) => (
                <tr key={m.id} data-message={m.id}>
                  <td className="small">{m.created_at ? new Date(m.created_at).toLocaleString() : '—'}</td>
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
      </section>

      <section className="panel" aria-label="Events">
        <h2>Events</h2>
        <p className="muted">
          The API stores this customer's events (<code>POST /events</code>) but has no endpoint to read them back yet, so they are not listed here. Their
          effects show above: the journeys they triggered and the steps they moved.
        </p>
      </section>
    </div>
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

function JourneyPass({ journey, enrollment }: { journey: Journey; enrollment: Enrollment }) {
  const goals = Array.isArray(enrollment.goals) ? (enrollment.goals as unknown[]).map(String) : [];
  const names = new Map(((journey.graph as { nodes?: { id: string; name?: string; type?: string }[] }).nodes ?? []).map((n) => [n.id, n.name || n.type || n.id]));
  return (
    <div className="stack" data-journey={journey.id} style={{ gap: 6, borderTop: '1px solid var(--border)', paddingTop: 12 }}>
      <div className="row-gap" style={{ alignItems: 'center' }}>
        <Link className="row-title" to={`/analytics/journeys/${journey.id}`}>
          {journey.name}
        </Link>
        <Badge tone={STATE_TONE[enrollment.state ?? ''] ?? 'muted'}>{enrollment.state}</Badge>
        <span className="muted small">
          v{enrollment.version}
          {enrollment.entered_at && ` · entered ${new Date(enrollment.entered_at).toLocaleString()}`}
          {enrollment.finished_at && ` · finished ${new Date(enrollment.finished_at).toLocaleString()}`}
          {enrollment.exit_reason && ` · exit: ${enrollment.exit_reason}`}
          {enrollment.holdout && ' · holdout'}
          {goals.length > 0 && ` · goals: ${goals.join(', ')}`}
        </span>
      </div>
      <ol className="timeline" aria-label={`Timeline of ${journey.name}`}>
        {enrollment.history.map((h) => (
          <li key={`${h.step_seq}-${h.kind}-${h.node_id}`}>
            <span className="muted small">{new Date(h.at).toLocaleString()}</span> · <strong>{names.get(h.node_id) ?? h.node_id}</strong> · {h.kind}
            {h.handle && <span className="muted"> → {h.handle}</span>}
          </li>
        ))}
      </ol>
    </div>
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

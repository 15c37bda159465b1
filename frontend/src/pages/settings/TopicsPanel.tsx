// Subscription topics: what customers can opt in to or out of (newsletter, offers, …). Each has a
// fixed key (customers' choices are filed under it), a name, a description and a default for
// customers who never chose. Editors and owners change them; viewers read.
import { type FormEvent, useCallback, useEffect, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { Badge, Button, Dialog, EmptyState, ErrorBanner, Field, Spinner } from '../../components/ui';
import { type FieldErrors, fieldErrors } from './fieldErrors';

type Topic = Schemas['Topic'];
type Default = Schemas['DefaultEnum'];

export default function TopicsPanel({ canEdit }: { canEdit: boolean }) {
  const [topics, setTopics] = useState<Topic[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Topic | null>(null);
  const [deleting, setDeleting] = useState<Topic | null>(null);

  const load = useCallback(() => {
    setError(null);
    ok(api.GET('/api/v1/topics'))
      .then((page) => setTopics(page.results))
      .catch((e) => setError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);

  return (
    <section className="panel" aria-label="Topics">
      <h2>Topics</h2>
      <p className="muted small">
        What customers subscribe to. A marketing message with a topic goes only to customers subscribed to it: their own choice, else
        the topic's default.
      </p>
      {error && <ErrorBanner message={error} onRetry={load} />}
      {!topics && !error && <Spinner label="Loading topics…" />}
      {topics && topics.length === 0 && (
        <EmptyState title="No topics yet">
          <p>Add one such as “newsletter” to let customers choose what they receive.</p>
        </EmptyState>
      )}
      {topics && topics.length > 0 && (
        <table className="table" aria-label="Topics">
          <thead>
            <tr>
              <th>Key</th>
              <th>Name</th>
              <th>Description</th>
              <th>Default</th>
              {canEdit && <th />}
            </tr>
          </thead>
          <tbody>
            {topics.map((t) => (
              <tr key={t.key} data-topic={t.key}>
                <td>
                  <code>{t.key}</code>
                </td>
                <td>{t.name}</td>
                <td className="small">{t.description || '—'}</td>
                <td>
                  <Badge tone={t.default === 'subscribed' ? 'success' : 'neutral'}>{t.default}</Badge>
                </td>
                {canEdit && (
                  <td className="cell-actions">
                    <Button size="sm" onClick={() => setEditing(t)} aria-label={`Edit ${t.key}`}>
                      Edit
                    </Button>
                    <Button size="sm" variant="danger" onClick={() => setDeleting(t)} aria-label={`Delete ${t.key}`}>
                      Delete
                    </Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canEdit && <TopicForm key="new" onSaved={load} />}
      <Dialog title={`Edit topic ${editing?.key ?? ''}`} open={editing !== null} onClose={() => setEditing(null)}>
        {editing && (
          <TopicForm
            key={editing.key}
            topic={editing}
            onSaved={() => {
              setEditing(null);
              load();
            }}
            onCancel={() => setEditing(null)}
          />
        )}
      </Dialog>
      <Dialog
        title="Delete this topic?"
        open={deleting !== null}
        onClose={() => setDeleting(null)}
        footer={
          <>
            <Button onClick={() => setDeleting(null)}>Cancel</Button>
            <Button
              variant="danger"
              onClick={() => {
                const topic = deleting!;
                setDeleting(null);
                ok(api.DELETE('/api/v1/topics/{key}', { params: { path: { key: topic.key } } }))
                  .then(load)
                  .catch((e) => setError(errorMessage(e)));
              }}
            >
              Delete topic
            </Button>
          </>
        }
      >
        <p>
          Messages naming <code>{deleting?.key}</code> will then only honour customers' explicit opt-outs. Customers' choices are kept
          and apply again if a topic with this key is made later.
        </p>
      </Dialog>
    </section>
  );
}

/** Create (no `topic`) or edit one topic; the key is fixed once made. */
function TopicForm({ topic, onSaved, onCancel }: { topic?: Topic; onSaved: () => void; onCancel?: () => void }) {
  const [key, setKey] = useState(topic?.key ?? '');
  const [name, setName] = useState(topic?.name ?? '');
  const [description, setDescription] = useState(topic?.description ?? '');
  const [byDefault, setByDefault] = useState<Default>(topic?.default ?? 'subscribed');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setSaved(null);
    try {
      const body = { key, name, description, default: byDefault };
      if (topic) {
        await ok(api.PUT('/api/v1/topics/{key}', { params: { path: { key: topic.key } }, body }));
      } else {
        await ok(api.POST('/api/v1/topics', { body }));
        setSaved(`Topic ${key} added`);
        setKey('');
        setName('');
        setDescription('');
        setByDefault('subscribed');
      }
      onSaved();
    } catch (err) {
      setErrors(fieldErrors(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stack" onSubmit={submit} aria-label={topic ? 'Edit topic' : 'New topic'}>
      {!topic && <h3>New topic</h3>}
      <div className="row-gap">
        <Field label="Key" hint="Fixed once made: a-z, 0-9, _ . - (e.g. newsletter)." error={errors.key}>
          <input value={key} onChange={(e) => setKey(e.target.value)} disabled={Boolean(topic)} maxLength={64} required />
        </Field>
        <Field label="Name" error={errors.name}>
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required />
        </Field>
      </div>
      <Field label="Description" error={errors.description}>
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <Field label="Default" hint="What a customer who never chose gets." error={errors.default}>
        <select value={byDefault} onChange={(e) => setByDefault(e.target.value as Default)}>
          <option value="subscribed">subscribed</option>
          <option value="unsubscribed">unsubscribed</option>
        </select>
      </Field>
      {errors.form && <p className="form-error">{errors.form.join(' ')}</p>}
      <div className="row-end">
        {saved && <span role="status">{saved}</span>}
        {onCancel && <Button onClick={onCancel}>Cancel</Button>}
        <Button type="submit" variant="primary" busy={busy}>
          {topic ? 'Save topic' : 'Add topic'}
        </Button>
      </div>
    </form>
  );
}

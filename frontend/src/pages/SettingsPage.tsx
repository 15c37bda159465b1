// Workspace settings: who you are here, and the API keys (owners only). A new key's secret is
// shown exactly once, right after creation; the API never returns it again.
import { type FormEvent, useCallback, useEffect, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../api/client';
import { Badge, Button, Dialog, EmptyState, ErrorBanner, Field, Spinner } from '../components/ui';
import { useSession } from '../session';

type ApiKey = Schemas['ApiKey'];
type Role = Schemas['RoleEnum'];

export default function SettingsPage() {
  const { me, workspace } = useSession();
  return (
    <div className="page">
      <header className="page-head">
        <h1>Settings</h1>
      </header>
      <section className="panel">
        <h2>Workspace</h2>
        <dl className="facts">
          <dt>Name</dt>
          <dd>{workspace.name}</dd>
          <dt>Slug</dt>
          <dd>
            <code>{workspace.slug}</code>
          </dd>
          <dt>Time zone</dt>
          <dd>{workspace.timezone}</dd>
        </dl>
      </section>
      <section className="panel">
        <h2>Members</h2>
        <table className="table">
          <thead>
            <tr>
              <th>Member</th>
              <th>Role</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>
                {me.name || me.email} <span className="muted">({me.email}, you)</span>
              </td>
              <td>
                <Badge tone="neutral">{workspace.role}</Badge>
              </td>
            </tr>
          </tbody>
        </table>
        <p className="muted small">
          The API has no endpoint to list or invite other members yet; owners add them with{' '}
          <code>manage.py create_workspace … --owner EMAIL</code> or the admin.
        </p>
      </section>
      {workspace.role === 'owner' ? (
        <ApiKeys />
      ) : (
        <section className="panel">
          <h2>API keys</h2>
          <p className="muted">Only workspace owners can see and create API keys.</p>
        </section>
      )}
    </div>
  );
}

function ApiKeys() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Schemas['ApiKeyCreated'] | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const load = useCallback(() => {
    setError(null);
    ok(api.GET('/api/v1/api-keys', { params: { query: { limit: 200 } } }))
      .then((page) => setKeys(page.results))
      .catch((e) => setError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);

  return (
    <section className="panel">
      <div className="panel-head">
        <h2>API keys</h2>
        <Button variant="primary" onClick={() => setCreating(true)}>
          New API key
        </Button>
      </div>
      {error && <ErrorBanner message={error} onRetry={load} />}
      {!keys && !error && <Spinner />}
      {keys && keys.length === 0 && (
        <EmptyState title="No API keys yet">
          <p>Create a key to send customers and events from your backend.</p>
        </EmptyState>
      )}
      {keys && keys.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Role</th>
              <th>Created</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} className={k.revoked_at ? 'row-dim' : ''}>
                <td>{k.name || <span className="muted">unnamed</span>}</td>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.role}</td>
                <td>{new Date(k.created_at).toLocaleDateString()}</td>
                <td>{k.last_used_at ? new Date(k.last_used_at).toLocaleString() : '—'}</td>
                <td className="cell-actions">
                  {k.revoked_at ? (
                    <Badge tone="neutral">revoked</Badge>
                  ) : (
                    <Button size="sm" variant="danger" onClick={() => setRevoking(k)}>
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateKeyDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(k) => {
          setCreating(false);
          setCreated(k);
          load();
        }}
      />
      <Dialog
        title="Your new API key"
        open={created !== null}
        onClose={() => setCreated(null)}
        footer={
          <Button variant="primary" onClick={() => setCreated(null)}>
            I have stored it
          </Button>
        }
      >
        <p>Copy it now: this is the only time it is shown.</p>
        <div className="secret">
          <code data-testid="new-api-key">{created?.key}</code>
          <Button size="sm" onClick={() => created && navigator.clipboard?.writeText(created.key)}>
            Copy
          </Button>
        </div>
      </Dialog>
      <Dialog
        title="Revoke this key?"
        open={revoking !== null}
        onClose={() => setRevoking(null)}
        footer={
          <>
            <Button onClick={() => setRevoking(null)}>Cancel</Button>
            <Button
              variant="danger"
              onClick={() => {
                const key = revoking!;
                setRevoking(null);
                ok(api.DELETE('/api/v1/api-keys/{id}', { params: { path: { id: key.id } } }))
                  .then(load)
                  .catch((e) => setError(errorMessage(e)));
              }}
            >
              Revoke
            </Button>
          </>
        }
      >
        <p>
          Requests with <code>{revoking?.prefix}…</code> will be refused at once. This cannot be undone.
        </p>
      </Dialog>
    </section>
  );
}

function CreateKeyDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (k: Schemas['ApiKeyCreated']) => void;
}) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('editor');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(await ok(api.POST('/api/v1/api-keys', { body: { name, role } })));
      setName('');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="New API key" open={open} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <Field label="Name" hint="Say where it is used, e.g. “backend events”.">
          <input value={name} onChange={(e) => setName(e.target.value)} autoFocus maxLength={200} />
        </Field>
        <Field label="Role">
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="owner">owner: everything, including keys and channels</option>
            <option value="editor">editor: journeys and audiences</option>
            <option value="viewer">viewer: read only</option>
          </select>
        </Field>
        {error && <p className="form-error">{error}</p>}
        <div className="row-end">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy}>
            Create key
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

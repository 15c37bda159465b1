// Static lists: create, add members (pasted ids or a CSV with an external_id column), remove
// members, delete; each list opens the customers table filtered to it.
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { Button, Dialog, EmptyState, ErrorBanner, Field, Spinner } from '../../components/ui';
import { canEdit, useSession } from '../../session';
import { AudienceTabs } from './AudienceTabs';

type List = Schemas['CustomerList'];

export default function ListsPage() {
  const { workspace } = useSession();
  const editable = canEdit(workspace);
  const [lists, setLists] = useState<List[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [editing, setEditing] = useState<List | null>(null);

  const load = useCallback(() => {
    ok(api.GET('/api/v1/lists', { params: { query: { limit: 200 } } }))
      .then((p) => setLists(p.results))
      .catch((e) => setError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const created = await ok(api.POST('/api/v1/lists', { body: { name } }));
      setName('');
      setNotice(`Created the list “${created.name}”.`);
      load();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  async function remove(list: List) {
    if (!window.confirm(`Delete the list “${list.name}”? Its customers are kept.`)) return;
    try {
      await ok(api.DELETE('/api/v1/lists/{id}', { params: { path: { id: list.id } } }));
      load();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <div className="page">
      <header className="page-head">
        <h1>Audiences</h1>
      </header>
      <AudienceTabs />
      {editable && (
        <form className="row-gap toolbar-row" onSubmit={create}>
          <input aria-label="New list name" placeholder="New list name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
          <Button type="submit" variant="primary">
            Create list
          </Button>
        </form>
      )}
      {notice && (
        <div className="banner banner-success" role="status">
          <span>{notice}</span>
        </div>
      )}
      {error && <ErrorBanner message={error} />}
      {lists === null && !error && <Spinner label="Loading lists…" />}
      {lists?.length === 0 && (
        <EmptyState title="No lists yet">
          <p>A list is a fixed set of customers, e.g. for a one-off campaign. Create one above, then add customers by id or CSV.</p>
        </EmptyState>
      )}
      {lists && lists.length > 0 && (
        <table className="table" aria-label="Lists">
          <thead>
            <tr>
              <th>List</th>
              <th className="num">Members</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {lists.map((l) => (
              <tr key={l.id}>
                <td>
                  <Link className="row-title" to={`/audiences?list_id=${l.id}`}>
                    {l.name}
                  </Link>
                  <div className="muted small">#{l.id}</div>
                </td>
                <td className="num">{l.member_count.toLocaleString()}</td>
                <td className="muted small">{new Date(l.created_at).toLocaleString()}</td>
                <td className="cell-actions">
                  {editable && (
                    <>
                      <Button size="sm" variant="ghost" onClick={() => setEditing(l)}>
                        Members…
                      </Button>
                      <Button size="sm" variant="ghost" onClick={() => remove(l)}>
                        Delete
                      </Button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <MembersDialog
        list={editing}
        onClose={() => setEditing(null)}
        onDone={(message) => {
          setEditing(null);
          setNotice(message);
          load();
        }}
      />
    </div>
  );
}

function MembersDialog({ list, onClose, onDone }: { list: List | null; onClose: () => void; onDone: (message: string) => void }) {
  const [ids, setIds] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const parsed = ids
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);

  async function run(action: 'add' | 'remove') {
    if (!list) return;
    setBusy(true);
    setError(null);
    const path = { params: { path: { id: list.id } } };
    try {
      if (action === 'remove') {
        const r = await ok(api.DELETE('/api/v1/lists/{id}/members', { ...path, body: { customer_ids: parsed } as never }));
        onDone(`Removed ${r.removed.toLocaleString()} customer(s) from “${list.name}”.`);
      } else {
        let r: Schemas['MembersAdded'];
        if (file) {
          const form = new FormData();
          form.append('file', file);
          r = await ok(api.PUT('/api/v1/lists/{id}/members', { ...path, body: form as never, bodySerializer: (b) => b as unknown as FormData }));
        } else {
          r = await ok(api.PUT('/api/v1/lists/{id}/members', { ...path, body: { customer_ids: parsed } }));
        }
        const missing = r.not_found.length ? `; ${r.not_found.length.toLocaleString()} unknown id(s): ${r.not_found.slice(0, 5).join(', ')}${r.not_found.length > 5 ? '…' : ''}` : '';
        onDone(`Added ${r.added.toLocaleString()} to “${list.name}” (${r.already.toLocaleString()} already there${missing}).`);
      }
      setIds('');
      setFile(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Members of “${list?.name ?? ''}”`} open={list !== null} onClose={onClose} wide>
      <div className="stack">
        <Field label="Customer ids" hint="External ids separated by commas, spaces or new lines (up to 10,000).">
          <textarea rows={4} value={ids} onChange={(e) => setIds(e.target.value)} disabled={file !== null} />
        </Field>
        <Field label="…or a CSV with an external_id column">
          <input type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </Field>
        {error && <p className="form-error">{error}</p>}
        <div className="row-end">
          <Button onClick={() => run('remove')} disabled={busy || file !== null || parsed.length === 0}>
            Remove these
          </Button>
          <Button variant="primary" busy={busy} onClick={() => run('add')} disabled={!file && parsed.length === 0}>
            Add
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

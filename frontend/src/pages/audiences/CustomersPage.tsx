// The customers table: prefix search, filters by tag, segment and list, and cursor paging (the
// API's cursors keep a page cheap at millions of rows; Previous walks back the cursors seen).
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { Button, EmptyState, ErrorBanner, Spinner } from '../../components/ui';
import { AudienceTabs } from './AudienceTabs';

type Customer = Schemas['Customer'];
const PAGE = 50;

export default function CustomersPage() {
  const [params, setParams] = useSearchParams();
  const search = params.get('search') ?? '';
  const tag = params.get('tag') ?? '';
  const segmentId = params.get('segment_id') ?? '';
  const listId = params.get('list_id') ?? '';
  const [searchText, setSearchText] = useState(search);
  const [tagText, setTagText] = useState(tag);
  const [segments, setSegments] = useState<Schemas['Segment'][]>([]);
  const [lists, setLists] = useState<Schemas['CustomerList'][]>([]);
  const [rows, setRows] = useState<Customer[] | null>(null);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]); // cursor of each page seen
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const cursor = cursors[cursors.length - 1];
  // Which query the rows on screen answer: derived while rendering, so the table is marked busy
  // in the same frame the filters change.
  const queryKey = JSON.stringify([search, tag, segmentId, listId, cursor ?? null, attempt]);
  const [loadedKey, setLoadedKey] = useState<string | null>(null);
  const loading = loadedKey !== queryKey && !error;

  useEffect(() => {
    ok(api.GET('/api/v1/segments', { params: { query: { limit: 200 } } }))
      .then((p) => setSegments(p.results))
      .catch(() => setSegments([]));
    ok(api.GET('/api/v1/lists', { params: { query: { limit: 200 } } }))
      .then((p) => setLists(p.results))
      .catch(() => setLists([]));
  }, []);

  // Typing filters without a request per keystroke.
  useEffect(() => {
    const t = setTimeout(() => {
      if (searchText.trim() !== search || tagText.trim() !== tag) update({ search: searchText.trim(), tag: tagText.trim() });
    }, 300);
    return () => clearTimeout(t);
  }, [searchText, tagText]);

  useEffect(() => setCursors([undefined]), [search, tag, segmentId, listId]);

  useEffect(() => {
    // The rows shown stay until the next ones arrive (dimmed): no flash of a spinner per keystroke.
    // A slower answer to an earlier query must not overwrite a later one.
    let superseded = false;
    setError(null);
    const query = {
      limit: PAGE,
      cursor,
      search: search || undefined,
      tag: tag || undefined,
      segment_id: segmentId ? Number(segmentId) : undefined,
      list_id: listId ? Number(listId) : undefined,
    };
    ok(api.GET('/api/v1/customers', { params: { query } }))
      .then((page) => {
        if (superseded) return;
        setRows(page.results);
        setNext(page.next ?? null);
        setLoadedKey(queryKey);
      })
      .catch((e) => superseded || setError(errorMessage(e)));
    return () => {
      superseded = true;
    };
    // queryKey is these same values, serialized.
  }, [search, tag, segmentId, listId, cursor, attempt]);

  function update(changes: Record<string, string>) {
    const nextParams = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) nextParams.set(k, v);
      else nextParams.delete(k);
    }
    setParams(nextParams, { replace: true });
  }

  const filtered = Boolean(search || tag || segmentId || listId);

  return (
    <div className="page">
      <header className="page-head">
        <h1>Audiences</h1>
        <Link className="btn btn-primary" to="/audiences/import">
          Import CSV
        </Link>
      </header>
      <AudienceTabs />
      <div className="toolbar-row">
        <input
          className="search"
          type="search"
          aria-label="Search customers"
          placeholder="Search by id or email (prefix)"
          value={searchText}
          onChange={(e) => setSearchText(e.target.value)}
        />
        <input aria-label="Tag" placeholder="Tag" value={tagText} onChange={(e) => setTagText(e.target.value)} />
        <select aria-label="Segment" value={segmentId} onChange={(e) => update({ segment_id: e.target.value })}>
          <option value="">Any segment</option>
          {segments.map((s) => (
            <option key={s.id} value={String(s.id)}>
              {s.name}
            </option>
          ))}
        </select>
        <select aria-label="List" value={listId} onChange={(e) => update({ list_id: e.target.value })}>
          <option value="">Any list</option>
          {lists.map((l) => (
            <option key={l.id} value={String(l.id)}>
              {l.name}
            </option>
          ))}
        </select>
      </div>
      {error && <ErrorBanner message={error} onRetry={() => setAttempt((n) => n + 1)} />}
      {rows === null && !error && <Spinner label="Loading customers…" />}
      {rows?.length === 0 &&
        (filtered ? (
          <EmptyState title="No customers match">
            <p>Try another search or filter.</p>
          </EmptyState>
        ) : (
          <EmptyState title="No customers yet" action={<Link className="btn btn-primary" to="/audiences/import">Import a CSV</Link>}>
            <p>Upload a CSV, or send customers and events through the API.</p>
          </EmptyState>
        ))}
      {rows && rows.length > 0 && (
        <table className={loading ? 'table table-stale' : 'table'} aria-label="Customers" aria-busy={loading}>
          <thead>
            <tr>
              <th>Customer</th>
              <th>Email</th>
              <th>Phone</th>
              <th>Tags</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.external_id}>
                <td>
                  <Link className="row-title" to={`/audiences/customers/${encodeURIComponent(c.external_id)}`}>
                    {c.external_id}
                  </Link>
                  {displayName(c) && <div className="muted small">{displayName(c)}</div>}
                </td>
                <td>{c.email || <span className="muted">—</span>}</td>
                <td>{c.phone || <span className="muted">—</span>}</td>
                <td>
                  {c.tags.map((t) => (
                    <span key={t} className="badge" style={{ marginRight: 4 }}>
                      {t}
                    </span>
                  ))}
                </td>
                <td className="muted small">{new Date(c.created_at).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="row-center row-gap">
        <Button disabled={cursors.length === 1 || loading} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Previous
        </Button>
        <span className="muted small">Page {cursors.length}</span>
        <Button disabled={!next || loading} onClick={() => next && setCursors([...cursors, next])}>
          Next →
        </Button>
      </div>
    </div>
  );
}

function displayName(c: Customer): string {
  const a = (c.attributes ?? {}) as Record<string, unknown>;
  return [a.first_name, a.last_name].filter((v) => typeof v === 'string' && v).join(' ');
}

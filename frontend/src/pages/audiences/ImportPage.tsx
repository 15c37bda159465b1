// CSV upload: the file goes up once, a worker imports it, and the page polls GET /imports/{id}
// so the progress bar moves while it runs; at the end, the counts and the line-by-line errors.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { Button, ErrorBanner, Field } from '../../components/ui';
import { canEdit, useSession } from '../../session';
import { AudienceTabs } from './AudienceTabs';

type Job = Schemas['ImportJob'];
const POLL_MS = 400;
const RETRY_MS = 2000;

export default function ImportPage() {
  const { workspace } = useSession();
  const editable = canEdit(workspace);
  const [file, setFile] = useState<File | null>(null);
  const [listId, setListId] = useState('');
  const [lists, setLists] = useState<Schemas['CustomerList'][]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [recent, setRecent] = useState<Job[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const loadRecent = (): Promise<Job[]> =>
    ok(api.GET('/api/v1/imports', { params: { query: { limit: 10 } } }))
      .then((p) => p.results)
      .catch(() => [])
      .then((jobs) => {
        setRecent(jobs);
        return jobs;
      });

  useEffect(() => {
    // Back on the page while an import runs (a reload, another tab): follow it again.
    loadRecent().then((jobs) => {
      const live = jobs.find((j) => j.status === 'queued' || j.status === 'running');
      if (live) poll(live.id);
    });
    ok(api.GET('/api/v1/lists', { params: { query: { limit: 200 } } }))
      .then((p) => setLists(p.results))
      .catch(() => setLists([]));
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, []);

  function poll(id: number) {
    ok(api.GET('/api/v1/imports/{id}', { params: { path: { id } } }))
      .then((j) => {
        setError(null);
        setJob(j);
        if (j.status === 'queued' || j.status === 'running') timer.current = setTimeout(() => poll(id), POLL_MS);
        else loadRecent();
      })
      .catch((e) => {
        // The import goes on in the worker whatever the page sees: a dropped poll is retried.
        setError(`${errorMessage(e)} Still importing; checking again…`);
        timer.current = setTimeout(() => poll(id), RETRY_MS);
      });
  }

  function follow(id: number) {
    if (timer.current) clearTimeout(timer.current);
    poll(id);
  }

  async function upload(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    setJob(null);
    const form = new FormData();
    form.append('file', file);
    try {
      const created = await ok(
        api.PUT('/api/v1/customers/import', {
          params: { query: { list_id: listId ? Number(listId) : undefined } },
          body: form as never,
          bodySerializer: (body) => body as unknown as FormData,
        }),
      );
      follow(created.import_id);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="page">
      <header className="page-head">
        <h1>Audiences</h1>
      </header>
      <AudienceTabs />
      <section className="panel" aria-label="Upload">
        <h2>Import customers from a CSV</h2>
        <p className="muted small">
          One customer per line with an <code>external_id</code> (or <code>customerId</code>) column. <code>email</code>, <code>phone</code>,{' '}
          <code>timezone</code>, <code>locale</code> and <code>tags</code> (separated by <code>;</code>) are known columns; every other column becomes
          an attribute (numbers, booleans and ISO dates are typed). Existing customers are updated. Up to 100 MB.
        </p>
        {editable ? (
          <form className="row-gap" onSubmit={upload}>
            <Field label="CSV file">
              <input type="file" accept=".csv,text/csv" aria-label="CSV file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            </Field>
            <Field label="Also add to list (optional)">
              <select aria-label="Add to list" value={listId} onChange={(e) => setListId(e.target.value)}>
                <option value="">No list</option>
                {lists.map((l) => (
                  <option key={l.id} value={String(l.id)}>
                    {l.name}
                  </option>
                ))}
              </select>
            </Field>
            <Button type="submit" variant="primary" busy={busy} disabled={!file || (job !== null && (job.status === 'queued' || job.status === 'running'))}>
              Upload
            </Button>
          </form>
        ) : (
          <p className="muted">Viewers cannot import customers.</p>
        )}
        {error && <ErrorBanner message={error} />}
      </section>
      {job && <ImportProgress job={job} />}
      {recent.length > 0 && (
        <section className="panel" aria-label="Recent imports">
          <h2>Recent imports</h2>
          <table className="table compact">
            <thead>
              <tr>
                <th>#</th>
                <th>Status</th>
                <th className="num">Lines</th>
                <th className="num">Created</th>
                <th className="num">Updated</th>
                <th className="num">Failed</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {recent.map((j) => (
                <tr key={j.id}>
                  <td>
                    <button type="button" className="link-btn" aria-label={`Show import #${numberOf(j)}`} onClick={() => follow(j.id)}>
                      #{numberOf(j)}
                    </button>
                  </td>
                  <td>{j.status}</td>
                  <td className="num">{j.total.toLocaleString()}</td>
                  <td className="num">{j.created.toLocaleString()}</td>
                  <td className="num">{j.updated.toLocaleString()}</td>
                  <td className="num">{j.failed.toLocaleString()}</td>
                  <td className="muted small">{new Date(j.created_at).toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

/** The workspace's own import number (#1, #2, …); ids count across every workspace. */
function numberOf(job: Job): number {
  return (job as Job & { number?: number }).number ?? job.id;
}

function ImportProgress({ job }: { job: Job }) {
  const running = job.status === 'queued' || job.status === 'running';
  const percent = job.total > 0 ? Math.min(100, Math.round((job.processed / job.total) * 100)) : job.status === 'done' ? 100 : 0;
  return (
    <section className="panel" aria-label="Import progress" data-status={job.status}>
      <div className="panel-head">
        <h2>
          Import #{numberOf(job)}: {running ? (job.status === 'queued' ? 'waiting for a worker…' : 'importing…') : job.status === 'done' ? 'done' : 'failed'}
        </h2>
        <span className="muted small">
          {job.processed.toLocaleString()} of {job.total ? job.total.toLocaleString() : '?'} lines
        </span>
      </div>
      <div className="progress" role="progressbar" aria-label="Import progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <span style={{ width: `${percent}%` }} />
      </div>
      <dl className="kv">
        <dt>Created</dt>
        <dd data-count="created">{job.created.toLocaleString()}</dd>
        <dt>Updated</dt>
        <dd data-count="updated">{job.updated.toLocaleString()}</dd>
        <dt>Failed lines</dt>
        <dd data-count="failed">{job.failed.toLocaleString()}</dd>
      </dl>
      {job.message && <p className={job.status === 'failed' ? 'form-error' : 'muted'}>{job.message}</p>}
      {job.status === 'done' && job.list_id && (
        <p>
          <Link to={`/audiences?list_id=${job.list_id}`}>See the list's customers</Link>
        </p>
      )}
      {!running && job.errors.length > 0 && (
        <>
          <h3>Lines that were not imported</h3>
          <p className="muted small">Line numbers are the file's own; the header is line 1. The other lines were kept.</p>
          <table className="table compact" aria-label="Import errors">
            <thead>
              <tr>
                <th className="num">Line</th>
                <th>Problem</th>
              </tr>
            </thead>
            <tbody>
              {job.errors.map((e) => (
                <tr key={`${e.line}-${e.error}`}>
                  <td className="num">{e.line}</td>
                  <td>{e.error}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {job.failed > job.errors.length && (
            <p className="muted small">
              Showing the first {job.errors.length.toLocaleString()} of {job.failed.toLocaleString()} failed lines.
            </p>
          )}
        </>
      )}
    </section>
  );
}

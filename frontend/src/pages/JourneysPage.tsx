// The journeys list: search, status and tag filters, tags, per-journey numbers, and create /
// duplicate / archive.
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';

import { journeySummaries, type JourneySummaryRow } from '../api/analytics';
import { api, ApiError, errorMessage, type Journey, type JourneyStatus, ok, type Schemas } from '../api/client';
import { Button, Dialog, EmptyState, ErrorBanner, Field, Spinner } from '../components/ui';
import { StatusBadge } from '../components/StatusBadge';
import { canEdit, useSession } from '../session';

const STATUSES: JourneyStatus[] = ['draft', 'active', 'paused', 'stopped', 'archived'];

export default function JourneysPage() {
  const { workspace } = useSession();
  const editable = canEdit(workspace);
  const navigate = useNavigate();
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState<JourneyStatus | ''>('');
  const [tag, setTag] = useState('');
  // Every tag of the workspace (GET /journeys/tags), not only those of the journeys loaded here.
  const [workspaceTags, setWorkspaceTags] = useState<Schemas['JourneyTag'][]>([]);
  const [tagging, setTagging] = useState<Journey | null>(null);
  const [journeys, setJourneys] = useState<Journey[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [summaries, setSummaries] = useState<Map<number, JourneySummaryRow> | null>(null);
  const [creating, setCreating] = useState(false);
  const [archiving, setArchiving] = useState<Journey | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(
    (cursor?: string) => {
      setError(null);
      const params = { query: { search: query || undefined, status: status || undefined, tag: tag || undefined, cursor, limit: 50 } };
      ok(api.GET('/api/v1/journeys', { params }))
        .then((page) => {
          setJourneys((prev) => (cursor && prev ? [...prev, ...page.results] : page.results));
          setNext(page.next ?? null);
        })
        .catch((e) => setError(errorMessage(e)));
    },
    [query, status, tag],
  );

  useEffect(() => {
    setJourneys(null);
    load();
  }, [load]);

  const loadTags = useCallback(() => {
    // The filter still works without the list of tags (a row's tag is a filter too).
    ok(api.GET('/api/v1/journeys/tags'))
      .then((page) => setWorkspaceTags(page.results))
      .catch(() => setWorkspaceTags([]));
  }, []);
  useEffect(loadTags, [loadTags]);

  useEffect(() => {
    // Analytics is optional: the list works without it.
    journeySummaries()
      .then(setSummaries)
      .catch(() => setSummaries(null));
  }, []);

  // Search as you type, without a request per keystroke.
  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);

  async function duplicate(j: Journey) {
    try {
      const copy = await ok(api.POST('/api/v1/journeys/{id}/duplicate', { params: { path: { id: String(j.id) } }, body: { name: `${j.name} (copy)` } }));
      setNotice(`Duplicated as “${copy.name}”.`);
      loadTags();
      load();
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  async function archive(j: Journey) {
    setArchiving(null);
    try {
      await ok(api.POST('/api/v1/journeys/{id}/archive', { params: { path: { id: String(j.id) } } }));
      setNotice(`Archived “${j.name}”.`);
      load();
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  const filtered = query !== '' || status !== '' || tag !== '';

  return (
    <div className="page">
      <header className="page-head">
        <h1>Journeys</h1>
        {editable && (
          <Button variant="primary" onClick={() => setCreating(true)}>
            + Create journey
          </Button>
        )}
      </header>
      <div className="toolbar-row">
        <input
          className="search"
          type="search"
          placeholder="Search journeys by name"
          aria-label="Search journeys"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value as JourneyStatus | '')}>
          <option value="">All statuses</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s[0].toUpperCase() + s.slice(1)}
            </option>
          ))}
        </select>
        <select aria-label="Tag" value={tag} onChange={(e) => setTag(e.target.value)}>
          <option value="">All tags</option>
          {tag && !workspaceTags.some((t) => t.tag === tag) && <option value={tag}>{tag}</option>}
          {workspaceTags.map((t) => (
            <option key={t.tag} value={t.tag}>
              {t.tag} ({t.journeys})
            </option>
          ))}
        </select>
      </div>
      {notice && (
        <div className="banner banner-info" role="status">
          <span>{notice}</span>
          <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => setNotice(null)}>
            ×
          </button>
        </div>
      )}
      {error && <ErrorBanner message={error} onRetry={() => load()} />}
      {journeys === null && !error && <Spinner label="Loading journeys…" />}
      {journeys?.length === 0 &&
        (filtered ? (
          <EmptyState title="No journeys match">
            <p>Try another name, status or tag.</p>
          </EmptyState>
        ) : (
          <EmptyState
            title="No journeys yet"
            action={
              editable && (
                <Button variant="primary" onClick={() => setCreating(true)}>
                  Create your first journey
                </Button>
              )
            }
          >
            <p>A journey sends the right message at the right time: pick a trigger, add waits, branches and messages, then start it.</p>
          </EmptyState>
        ))}
      {journeys && journeys.length > 0 && (
        <table className="table journeys-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th className="num">Version</th>
              <th className="num">Started</th>
              <th className="num">Active</th>
              <th className="num">Completed</th>
              <th className="num">Conversion</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {journeys.map((j) => {
              const s = summaries?.get(j.id);
              return (
                <tr key={j.id}>
                  <td>
                    <Link to={`/journeys/${j.id}`} className="row-title">
                      {j.name}
                    </Link>
                    <div className="muted small">#{j.id}{j.description ? ` · ${j.description.slice(0, 80)}` : ''}</div>
                    {j.tags.length > 0 && (
                      <div className="row-gap journey-tags" aria-label={`Tags of ${j.name}`}>
                        {j.tags.map((t) => (
                          <button key={t} type="button" className="badge" title={`Show journeys tagged ${t}`} onClick={() => setTag(t)}>
                            {t}
                          </button>
                        ))}
                      </div>
                    )}
                  </td>
                  <td>
                    <StatusBadge status={j.status} />
                  </td>
                  <td className="num">{j.version ?? '—'}</td>
                  <td className="num">{num(s?.started)}</td>
                  <td className="num">{num(s?.active)}</td>
                  <td className="num">{num(s?.completed)}</td>
                  <td className="num">{s?.conversion_rate == null ? '—' : `${(s.conversion_rate * 100).toFixed(1)}%`}</td>
                  <td className="muted small">{new Date(j.updated_at).toLocaleString()}</td>
                  <td className="cell-actions">
                    {editable && (
                      <>
                        <Button size="sm" variant="ghost" onClick={() => setTagging(j)}>
                          Tags
                        </Button>
                        <Button size="sm" variant="ghost" onClick={() => duplicate(j)}>
                          Duplicate
                        </Button>
                        {j.status !== 'archived' && j.status !== 'active' && j.status !== 'paused' && (
                          <Button size="sm" variant="ghost" onClick={() => setArchiving(j)}>
                            Archive
                          </Button>
                        )}
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {summaries === null && journeys && journeys.length > 0 && (
        <p className="muted small">Numbers appear here once journey analytics are available.</p>
      )}
      {next && (
        <div className="row-center">
          <Button onClick={() => load(next)}>Load more</Button>
        </div>
      )}
      {tagging && (
        <TagsDialog
          journey={tagging}
          onClose={() => setTagging(null)}
          onSaved={(j) => {
            setTagging(null);
            setNotice(`Tags of “${j.name}” saved.`);
            loadTags();
            load();
          }}
        />
      )}
      <CreateJourneyDialog open={creating} onClose={() => setCreating(false)} onCreated={(j) => navigate(`/journeys/${j.id}`)} />
      <Dialog
        title="Archive this journey?"
        open={archiving !== null}
        onClose={() => setArchiving(null)}
        footer={
          <>
            <Button onClick={() => setArchiving(null)}>Cancel</Button>
            <Button variant="danger" onClick={() => archiving && archive(archiving)}>
              Archive
            </Button>
          </>
        }
      >
        <p>“{archiving?.name}” will be read-only and hidden from the default list. Its history and analytics are kept.</p>
      </Dialog>
    </div>
  );
}

function num(n: number | undefined): string {
  return n === undefined ? '—' : n.toLocaleString();
}

/** Comma-separated tags, saved with PATCH /journeys/{id}; the API's 400 (naming tags) shows here. */
function TagsDialog({ journey, onClose, onSaved }: { journey: Journey; onClose: () => void; onSaved: (j: Journey) => void }) {
  const [text, setText] = useState(journey.tags.join(', '));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const tags = text
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    try {
      onSaved(await ok(api.PATCH('/api/v1/journeys/{id}', { params: { path: { id: String(journey.id) } }, body: { tags } })));
    } catch (err) {
      const named = err instanceof ApiError ? err.details.tags : undefined;
      setError(Array.isArray(named) ? `Tags: ${named.join(' ')}` : errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Tags of “${journey.name}”`} open onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <Field label="Tags" hint="Comma-separated, e.g. onboarding, email. Up to 20 of at most 50 characters.">
          <input aria-label="Journey tags" value={text} autoFocus onChange={(e) => setText(e.target.value)} />
        </Field>
        {error && <p className="form-error">{error}</p>}
        <div className="row-end">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy}>
            Save tags
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function CreateJourneyDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (j: Journey) => void }) {
  const [name, setName] = useState('');
  const [template, setTemplate] = useState<string>('');
  const [templates, setTemplates] = useState<Schemas['JourneyTemplate'][] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!open || templates) return;
    ok(api.GET('/api/v1/journey-templates'))
      .then((list) => setTemplates(list.results))
      .catch(() => setTemplates([]));
  }, [open, templates]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = template ? { name, template: template as Schemas['TemplateEnum'] } : { name };
      onCreated(await ok(api.POST('/api/v1/journeys', { body })));
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Create a journey" open={open} onClose={onClose} wide>
      <form className="stack" onSubmit={submit}>
        <Field label="Name">
          <input required maxLength={200} value={name} autoFocus onChange={(e) => setName(e.target.value)} placeholder="e.g. Welcome series" />
        </Field>
        <fieldset className="templates">
          <legend>Start from</legend>
          <TemplateCard value="" current={template} onPick={setTemplate} title="Blank canvas" text="Drag a trigger and build it yourself." />
          {templates === null && <Spinner label="Loading templates…" />}
          {templates?.map((t) => (
            <TemplateCard key={t.key} value={t.key} current={template} onPick={setTemplate} title={t.name} text={t.description} />
          ))}
        </fieldset>
        {error && <p className="form-error">{error}</p>}
        <div className="row-end">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy}>
            Create
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function TemplateCard({ value, current, onPick, title, text }: { value: string; current: string; onPick: (v: string) => void; title: string; text: string }) {
  return (
    <label className={current === value ? 'template-card picked' : 'template-card'}>
      <input type="radio" name="template" value={value} checked={current === value} onChange={() => onPick(value)} />
      <strong>{title}</strong>
      <span className="muted small">{text}</span>
    </label>
  );
}

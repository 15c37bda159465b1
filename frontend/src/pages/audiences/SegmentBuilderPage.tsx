// Build or edit a segment: the condition as a form, with a live count and sample from
// POST /segments/preview (debounced, and only once the condition is complete).
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';

import { api, ApiError, errorMessage, ok, type Schemas } from '../../api/client';
import { Button, ErrorBanner, Field, Spinner } from '../../components/ui';
import { conditionToTree, type GroupNode, treeProblems, treeToCondition } from '../../lib/conditions';
import type { Condition } from '../../lib/settings';
import { canEdit, useSession } from '../../session';
import { AudienceTabs } from './AudienceTabs';
import { ConditionBuilder, type Named } from './ConditionBuilder';

const PREVIEW_DEBOUNCE_MS = 400;

type Preview = { status: 'idle' } | { status: 'loading' } | { status: 'ok'; data: Schemas['Preview'] } | { status: 'error'; message: string };

export default function SegmentBuilderPage() {
  const { id } = useParams();
  const navigate = useNavigate();
  const { workspace } = useSession();
  const editable = canEdit(workspace);
  const [name, setName] = useState('');
  const [tree, setTree] = useState<GroupNode | null>(id ? null : conditionToTree({ all: [] }));
  const [lists, setLists] = useState<Named[]>([]);
  const [segments, setSegments] = useState<Named[]>([]);
  const [preview, setPreview] = useState<Preview>({ status: 'idle' });
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, unknown>>({});
  const [showJson, setShowJson] = useState(false);

  useEffect(() => {
    ok(api.GET('/api/v1/lists', { params: { query: { limit: 200 } } }))
      .then((p) => setLists(p.results))
      .catch(() => setLists([]));
    ok(api.GET('/api/v1/segments', { params: { query: { limit: 200 } } }))
      .then((p) => setSegments(p.results))
      .catch(() => setSegments([]));
  }, []);

  useEffect(() => {
    if (!id) return;
    ok(api.GET('/api/v1/segments/{id}', { params: { path: { id: Number(id) } } }))
      .then((s) => {
        setName(s.name);
        setTree(conditionToTree(s.condition as Condition));
      })
      .catch((e) => setError(errorMessage(e)));
  }, [id]);

  const condition = useMemo(() => (tree ? treeToCondition(tree) : null), [tree]);
  const problems = useMemo(() => (tree ? treeProblems(tree) : []), [tree]);
  const conditionJson = JSON.stringify(condition);

  // The live count: debounced, and skipped while a rule is half filled in.
  useEffect(() => {
    if (!condition || problems.length) {
      setPreview({ status: 'idle' });
      return;
    }
    setPreview({ status: 'loading' });
    let stale = false;
    const t = setTimeout(() => {
      ok(api.POST('/api/v1/segments/preview', { body: { condition: condition as never } }))
        .then((data) => !stale && setPreview({ status: 'ok', data }))
        .catch((e) => !stale && setPreview({ status: 'error', message: describe(e) }));
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      stale = true;
      clearTimeout(t);
    };
    // conditionJson stands for condition: a new tree with the same JSON needs no new count.
  }, [conditionJson, problems.length]);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!condition) return;
    setSaving(true);
    setError(null);
    setFieldErrors({});
    try {
      const body = { name, condition: condition as never };
      const saved = id
        ? await ok(api.PUT('/api/v1/segments/{id}', { params: { path: { id: Number(id) } }, body }))
        : await ok(api.POST('/api/v1/segments', { body }));
      navigate(`/audiences/segments`, { state: { notice: `Saved segment “${saved.name}”.` } });
    } catch (err) {
      setError(describe(err));
      if (err instanceof ApiError) setFieldErrors(err.details);
      setSaving(false);
    }
  }

  async function remove() {
    if (!id || !window.confirm(`Delete the segment “${name}”? Journeys that use it stop matching it.`)) return;
    try {
      await ok(api.DELETE('/api/v1/segments/{id}', { params: { path: { id: Number(id) } } }));
      navigate('/audiences/segments');
    } catch (err) {
      setError(describe(err));
    }
  }

  return (
    <div className="page">
      <header className="page-head">
        <h1>{id ? `Segment: ${name || '…'}` : 'New segment'}</h1>
        <Link to="/audiences/segments" className="btn btn-ghost">
          ← All segments
        </Link>
      </header>
      <AudienceTabs />
      {error && <ErrorBanner message={error} />}
      {!tree && !error && <Spinner label="Loading segment…" />}
      {tree && (
        <form className="builder" onSubmit={save}>
          <div className="stack">
            <Field label="Name" error={fieldErrors.name as string[] | undefined}>
              <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Big spenders, last 30 days" />
            </Field>
            <ConditionBuilder tree={tree} onChange={setTree} lists={lists} segments={segments} selfId={id ? Number(id) : undefined} />
            {problems.length > 0 && (
              <ul className="muted small" aria-label="To complete">
                {problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            )}
            <div className="row-gap">
              {editable && (
                <Button type="submit" variant="primary" busy={saving} disabled={problems.length > 0 || !name.trim()}>
                  Save segment
                </Button>
              )}
              {editable && id && (
                <Button variant="danger" onClick={remove}>
                  Delete
                </Button>
              )}
              <button type="button" className="link-btn" onClick={() => setShowJson(!showJson)}>
                {showJson ? 'Hide JSON' : 'Show JSON'}
              </button>
            </div>
            {showJson && <pre className="panel" aria-label="Condition JSON">{JSON.stringify(condition, null, 2)}</pre>}
          </div>
          <aside className="panel" aria-label="Live count">
            <h3>Matching customers</h3>
            {preview.status === 'idle' && <p className="muted">{problems.length ? 'Complete the rules to see the count.' : 'Add a rule to see the count.'}</p>}
            {preview.status === 'loading' && <Spinner label="Counting…" />}
            {preview.status === 'error' && <p className="form-error">{preview.message}</p>}
            {preview.status === 'ok' && (
              <>
                <div className="preview-count" data-testid="segment-count">
                  {preview.data.count.toLocaleString()}
                </div>
                {preview.data.sample.length > 0 && (
                  <>
                    <h3>Sample</h3>
                    <ul className="stack" style={{ gap: 4, paddingLeft: 16, margin: 0 }} aria-label="Sample">
                      {preview.data.sample.map((c) => (
                        <li key={c.external_id}>
                          <Link to={`/audiences/customers/${encodeURIComponent(c.external_id)}`}>{c.external_id}</Link>
                          {c.email && <span className="muted small"> · {c.email}</span>}
                        </li>
                      ))}
                    </ul>
                  </>
                )}
              </>
            )}
          </aside>
        </form>
      )}
    </div>
  );
}

/** An API error with the fields it names, e.g. "condition.all.0.op: Unknown op". */
function describe(e: unknown): string {
  if (e instanceof ApiError && Object.keys(e.details).length) {
    const flat = (v: unknown, path: string): string[] =>
      Array.isArray(v) ? [`${path}: ${v.join(' ')}`] : v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => flat(x, path ? `${path}.${k}` : k)) : [`${path}: ${String(v)}`];
    return flat(e.details, '').join('; ');
  }
  return errorMessage(e);
}

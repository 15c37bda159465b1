// Workspace settings: the workspace itself (name, time zone, push limits), its members and their
// roles (settings/MembersPanel.tsx), and the API keys. Owners edit; everyone else reads. A new key's secret is shown exactly
// once, right after creation; the API never returns it again.
import { type FormEvent, useCallback, useEffect, useMemo, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../api/client';
import { Badge, Button, Dialog, EmptyState, ErrorBanner, Field, Spinner } from '../components/ui';
import { useSession } from '../session';
import { type FieldErrors, fieldErrors } from './settings/fieldErrors';
import EventWebhooksPanel from './settings/EventWebhooksPanel';
import IdentitySecretPanel from './settings/IdentitySecretPanel';
import MembersPanel from './settings/MembersPanel';
import TopicsPanel from './settings/TopicsPanel';

type ApiKey = Schemas['ApiKey'];
type Role = Schemas['RoleEnum'];
type Kind = Schemas['KindEnum'];
type Workspace = Schemas['Workspace'];
type Unit = Schemas['UnitEnum'];

const UNITS: Unit[] = ['minutes', 'hours', 'days', 'weeks'];

export default function SettingsPage() {
  const { workspace } = useSession();
  const isOwner = workspace.role === 'owner';
  return (
    <div className="page">
      <header className="page-head">
        <h1>Settings</h1>
      </header>
      <WorkspacePanel isOwner={isOwner} />
      <MembersPanel isOwner={isOwner} />
      <TopicsPanel canEdit={workspace.role !== 'viewer'} />
      {isOwner ? (
        <>
          <ApiKeys />
          <IdentitySecretPanel />
          <EventWebhooksPanel />
        </>
      ) : (
        <section className="panel">
          <h2>API keys</h2>
          <p className="muted">Only workspace owners can see and create API keys.</p>
        </section>
      )}
    </div>
  );
}

/** The browser's IANA zones as suggestions; the server is the judge (400 names the field). */
function timeZoneSuggestions(): string[] {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

function limitText(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : String(n);
}

function limitValue(text: string): number | null {
  return text.trim() === '' ? null : Number(text);
}

function WorkspacePanel({ isOwner }: { isOwner: boolean }) {
  const { refreshMe } = useSession();
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [timezone, setTimezone] = useState('');
  const [country, setCountry] = useState('');
  const [titleMax, setTitleMax] = useState('');
  const [bodyMax, setBodyMax] = useState('');
  // Marketing limits across all journeys: an empty cap or empty quiet hours means none.
  const [capMax, setCapMax] = useState('');
  const [capPer, setCapPer] = useState('1');
  const [capUnit, setCapUnit] = useState<Unit>('days');
  const [quietStart, setQuietStart] = useState('');
  const [quietEnd, setQuietEnd] = useState('');
  const [retention, setRetention] = useState('');
  const [stepRetention, setStepRetention] = useState('');
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const zones = useMemo(timeZoneSuggestions, []);

  const show = useCallback((w: Workspace) => {
    setWorkspace(w);
    setName(w.name ?? '');
    setTimezone(w.timezone ?? '');
    setCountry(w.default_country ?? '');
    setTitleMax(limitText(w.settings?.push_title_max));
    setBodyMax(limitText(w.settings?.push_body_max));
    setCapMax(limitText(w.frequency_cap?.max));
    setCapPer(limitText(w.frequency_cap?.per.value ?? 1));
    setCapUnit(w.frequency_cap?.per.unit ?? 'days');
    setQuietStart(w.quiet_hours?.start ?? '');
    setQuietEnd(w.quiet_hours?.end ?? '');
    setRetention(limitText(w.event_retention_days));
    setStepRetention(limitText(w.step_retention_days));
  }, []);
  const load = useCallback(() => {
    setLoadError(null);
    ok(api.GET('/api/v1/workspace'))
      .then(show)
      .catch((e) => setLoadError(errorMessage(e)));
  }, [show]);
  useEffect(load, [load]);

  // Any edit clears the "Saved" state so it never describes values that are not stored.
  const edit = (set: (v: string) => void) => (e: { target: { value: string } }) => {
    set(e.target.value);
    setSaved(false);
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setSaved(false);
    try {
      const body = {
        name,
        timezone,
        default_country: country.trim(),
        settings: { push_title_max: limitValue(titleMax), push_body_max: limitValue(bodyMax) },
        frequency_cap: capMax.trim() === '' ? null : { max: Number(capMax), per: { value: Number(capPer), unit: capUnit } },
        // One end alone is sent as typed, so the server names the missing one.
        quiet_hours: quietStart === '' && quietEnd === '' ? null : { start: quietStart, end: quietEnd },
        ...(retention.trim() === '' ? {} : { event_retention_days: Number(retention) }),
        ...(stepRetention.trim() === '' ? {} : { step_retention_days: Number(stepRetention) }),
      };
      show(await ok(api.PATCH('/api/v1/workspace', { body })));
      setSaved(true);
      // The switcher lists names from /auth/me: re-read it so a rename shows there at once.
      refreshMe().catch(() => undefined);
    } catch (err) {
      setErrors(fieldErrors(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel">
      <h2>Workspace</h2>
      {loadError && <ErrorBanner message={loadError} onRetry={load} />}
      {!workspace && !loadError && <Spinner />}
      {workspace && !isOwner && (
        <dl className="facts">
          <dt>Name</dt>
          <dd>{workspace.name}</dd>
          <dt>Slug</dt>
          <dd>
            <code>{workspace.slug}</code>
          </dd>
          <dt>Time zone</dt>
          <dd>{workspace.timezone}</dd>
          <dt>Default country</dt>
          <dd>{workspace.default_country || 'none (phone numbers must start with + and the country code)'}</dd>
          <dt>Push limits</dt>
          <dd>
            title {workspace.settings?.push_title_max ?? 'default'}, body {workspace.settings?.push_body_max ?? 'default'}{' '}
            characters
          </dd>
          <dt>Frequency cap</dt>
          <dd>
            {workspace.frequency_cap
              ? `${workspace.frequency_cap.max} marketing messages per ${workspace.frequency_cap.per.value} ${workspace.frequency_cap.per.unit}`
              : 'none'}
          </dd>
          <dt>Quiet hours</dt>
          <dd>{workspace.quiet_hours ? `${workspace.quiet_hours.start}–${workspace.quiet_hours.end}` : 'none'}</dd>
          <dt>Event retention</dt>
          <dd>{workspace.event_retention_days} days</dd>
          <dt>Journey history retention</dt>
          <dd>{workspace.step_retention_days} days</dd>
        </dl>
      )}
      {workspace && isOwner && (
        <form className="stack" onSubmit={submit} aria-label="Workspace settings">
          <p className="muted small">
            Slug <code>{workspace.slug}</code> (fixed: API clients name the workspace with it).
          </p>
          <Field label="Name" error={errors.name}>
            <input value={name} onChange={edit(setName)} maxLength={200} required />
          </Field>
          <Field label="Time zone" hint="An IANA zone such as Europe/Berlin; quiet hours and schedules use it." error={errors.timezone}>
            <input value={timezone} onChange={edit(setTimezone)} list="tz-options" maxLength={64} required />
          </Field>
          <Field
            label="Default country"
            hint="Two letters (KR, US): phone numbers without + are read as this country's (010-1234-5678 in KR is +821012345678). Empty: numbers must start with + and the country code."
            error={errors.default_country}
          >
            <input value={country} onChange={edit((v) => setCountry(v.toUpperCase()))} maxLength={2} placeholder="none" />
          </Field>
          <datalist id="tz-options">
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          <div className="row-gap">
            <Field label="Push title limit" hint="Characters, 1–500; empty for the default." error={errors['settings.push_title_max']}>
              <input type="number" min={1} max={500} value={titleMax} onChange={edit(setTitleMax)} />
            </Field>
            <Field label="Push body limit" hint="Characters, 1–4000; empty for the default." error={errors['settings.push_body_max']}>
              <input type="number" min={1} max={4000} value={bodyMax} onChange={edit(setBodyMax)} />
            </Field>
          </div>
          <fieldset className="stack">
            <legend>Marketing limits (all journeys)</legend>
            <p className="muted small">Transactional messages ignore both. A journey's own cap and quiet hours apply as well.</p>
            <div className="row-gap">
              <Field
                label="Frequency cap"
                hint="At most this many marketing messages per customer; empty for no cap."
                error={errors['frequency_cap.max'] ?? errors.frequency_cap}
              >
                <input type="number" min={1} value={capMax} onChange={edit(setCapMax)} />
              </Field>
              <Field label="Cap period" error={errors['frequency_cap.per.value'] ?? errors['frequency_cap.per']}>
                <input type="number" min={1} value={capPer} onChange={edit(setCapPer)} disabled={capMax.trim() === ''} />
              </Field>
              <Field label="Cap period unit" error={errors['frequency_cap.per.unit']}>
                <select value={capUnit} onChange={edit((v) => setCapUnit(v as Unit))} disabled={capMax.trim() === ''}>
                  {UNITS.map((u) => (
                    <option key={u} value={u}>
                      {u}
                    </option>
                  ))}
                </select>
              </Field>
            </div>
            <div className="row-gap">
              <Field label="Quiet hours start" hint="Customer's local time; sends wait. Empty both for none." error={errors['quiet_hours.start'] ?? errors.quiet_hours}>
                <input type="time" value={quietStart} onChange={edit(setQuietStart)} />
              </Field>
              <Field label="Quiet hours end" hint="May be past midnight (21:00–08:00)." error={errors['quiet_hours.end']}>
                <input type="time" value={quietEnd} onChange={edit(setQuietEnd)} />
              </Field>
            </div>
          </fieldset>
          <Field label="Event retention (days)" hint="Events older than this are deleted." error={errors.event_retention_days}>
            <input type="number" min={1} value={retention} onChange={edit(setRetention)} />
          </Field>
          <Field
            label="Journey history retention (days)"
            hint="Each customer's steps through journeys older than this are deleted; journey analytics keep their totals."
            error={errors.step_retention_days}
          >
            <input type="number" min={1} value={stepRetention} onChange={edit(setStepRetention)} />
          </Field>
          {(errors.form ?? errors.settings) && <p className="form-error">{(errors.form ?? errors.settings).join(' ')}</p>}
          <div className="row-end">
            {saved && (
              <span role="status">
                <Badge tone="success">Saved</Badge>
              </span>
            )}
            <Button type="submit" variant="primary" busy={busy}>
              Save workspace
            </Button>
          </div>
        </form>
      )}
    </section>
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
              <th>Kind</th>
              <th>Role</th>
              <th>Allowed origins</th>
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
                <td>{k.kind}</td>
                <td>{k.kind === 'publishable' ? '—' : k.role}</td>
                <td className="small">{k.kind === 'publishable' ? originsOf(k).join(', ') || '—' : '—'}</td>
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
        {created?.kind === 'publishable' && (
          <>
            <p>
              It may sit in your web pages (only tracking calls from {originsOf(created).join(', ') || 'its allowed origins'}). With
              analytics.js:
            </p>
            <pre aria-label="Snippet" className="secret">
              {trackingSnippet(created.key)}
            </pre>
            <Button size="sm" onClick={() => navigator.clipboard?.writeText(trackingSnippet(created.key))}>
              Copy snippet
            </Button>
          </>
        )}
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

function originsOf(k: { allowed_origins: unknown }): string[] {
  return Array.isArray(k.allowed_origins) ? k.allowed_origins.map(String) : [];
}

/** @segment/analytics-next pointed at this server: the README's "Track from your website"
 * snippet with this key and server filled in (tests/e2e/test_settings_publishable_keys.py). */
function trackingSnippet(key: string): string {
  return [
    "import { AnalyticsBrowser } from '@segment/analytics-next'",
    '',
    'export const analytics = AnalyticsBrowser.load({',
    `  writeKey: '${key}',`,
    `  cdnURL: '${window.location.origin}',`,
    '})',
  ].join('\n');
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
  const [kind, setKind] = useState<Kind>('secret');
  const [origins, setOrigins] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const allowed = origins.split(/\s+/).filter(Boolean);
      const body = kind === 'publishable' ? { name, role, kind, allowed_origins: allowed } : { name, role, kind };
      onCreated(await ok(api.POST('/api/v1/api-keys', { body })));
      setName('');
      setOrigins('');
    } catch (err) {
      setErrors(fieldErrors(err));
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
        <Field label="Kind" error={errors.kind}>
          <select value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="secret">secret: your servers, the whole API</option>
            <option value="publishable">publishable: web pages, tracking calls only</option>
          </select>
        </Field>
        {kind === 'secret' ? (
          <Field label="Role" error={errors.role}>
            <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
              <option value="owner">owner: everything, including keys and channels</option>
              <option value="editor">editor: journeys and audiences</option>
              <option value="viewer">viewer: read only</option>
            </select>
          </Field>
        ) : (
          <Field
            label="Allowed origins"
            hint="The sites whose pages may use the key, one a line, e.g. https://shop.example."
            error={errors.allowed_origins ?? Object.entries(errors).find(([k]) => k.startsWith('allowed_origins.'))?.[1]}
          >
            <textarea value={origins} onChange={(e) => setOrigins(e.target.value)} rows={3} />
          </Field>
        )}
        {(errors.form ?? errors.name) && <p className="form-error">{(errors.form ?? errors.name).join(' ')}</p>}
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

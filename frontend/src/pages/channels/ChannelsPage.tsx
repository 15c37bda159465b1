// Channels: a provider per channel with its credentials (typed once, write-only: the API only
// says which keys are stored), the default per channel, and a test send showing its result.
import { type FormEvent, useCallback, useEffect, useState } from 'react';

import { api, ApiError, errorMessage, ok, type Schemas } from '../../api/client';
import { TemplatePicker, VariableInputs } from '../../canvas/kakao';
import { Badge, Button, Dialog, EmptyState, ErrorBanner, Field, Spinner } from '../../components/ui';
import { type Channel, CONTENT_FIELDS, emptyContent, isChannel } from '../../lib/channels';
import { useSession } from '../../session';
import { CONFIG_CHANNEL_LABELS, CONFIG_CHANNELS, type ConfigChannel, fieldValues, isConfigChannel, type ProviderField, providerSpec, providersFor } from './providers';
import './channels.css';

type Config = Schemas['ChannelConfig'];
type Message = Schemas['Message'];

export default function ChannelsPage() {
  const { workspace } = useSession();
  const owner = workspace.role === 'owner';
  const [configs, setConfigs] = useState<Config[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Config | 'new' | null>(null);
  const [testing, setTesting] = useState<Config | null>(null);

  const load = useCallback(() => {
    ok(api.GET('/api/v1/channels', { params: { query: { limit: 200 } } }))
      .then((p) => setConfigs(p.results))
      .catch((e) => setError(errorMessage(e)));
  }, []);
  useEffect(load, [load]);

  async function makeDefault(c: Config) {
    setError(null);
    try {
      await ok(
        api.PUT('/api/v1/channels/{id}', {
          params: { path: { id: c.id } },
          body: { name: c.name, provider: c.provider, settings: c.settings as never, is_default: true, rate_per_second: c.rate_per_second },
        }),
      );
      setNotice(`“${c.name}” now sends every ${CONFIG_CHANNEL_LABELS[c.channel as ConfigChannel] ?? c.channel} message without a channel of its own.`);
      load();
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  async function remove(c: Config) {
    if (!window.confirm(`Delete “${c.name}”? Message nodes that use it will fail with no_channel_configured.`)) return;
    try {
      await ok(api.DELETE('/api/v1/channels/{id}', { params: { path: { id: c.id } } }));
      load();
    } catch (e) {
      setError(errorMessage(e));
    }
  }

  const byChannel = CONFIG_CHANNELS.map((ch) => [ch, (configs ?? []).filter((c) => c.channel === ch)] as const).filter(([, list]) => list.length > 0);

  return (
    <div className="page">
      <header className="page-head">
        <h1>Channels</h1>
        {owner && (
          <Button variant="primary" onClick={() => setEditing('new')}>
            + Add channel
          </Button>
        )}
      </header>
      {!owner && <p className="muted">Only workspace owners can change channels: they hold provider credentials.</p>}
      {notice && (
        <div className="banner banner-success" role="status">
          <span>{notice}</span>
        </div>
      )}
      {error && <ErrorBanner message={error} onRetry={load} />}
      {configs === null && !error && <Spinner label="Loading channels…" />}
      {configs?.length === 0 && (
        <EmptyState title="No channels yet" action={owner && <Button variant="primary" onClick={() => setEditing('new')}>Add a channel</Button>}>
          <p>Connect an email, SMS, push or messaging provider. Until then message nodes fail with “no channel configured”. The Sandbox provider records messages without delivering them.</p>
        </EmptyState>
      )}
      {byChannel.map(([channel, list]) => (
        <section className="panel" key={channel} aria-label={CONFIG_CHANNEL_LABELS[channel]}>
          <h2>{CONFIG_CHANNEL_LABELS[channel]}</h2>
          <table className="table compact">
            <thead>
              <tr>
                <th>Name</th>
                <th>Provider</th>
                <th>Credentials stored</th>
                <th>Rate</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.id} data-channel-config={c.id}>
                  <td>
                    <strong>{c.name}</strong> {c.is_default && <Badge tone="success">default</Badge>}
                    {c.callback_url && (
                      <div className="secret-note">
                        {providerSpec(c.provider)?.callbackLabel ?? 'Status callback'}: <code>{c.callback_url}</code>
                      </div>
                    )}
                    {c.provider === 'webpush' && <VapidPublicKey config={c} />}
                  </td>
                  <td>{providerSpec(c.provider)?.label ?? c.provider}</td>
                  <td className="small">{c.credential_keys.length ? c.credential_keys.join(', ') : <span className="muted">none</span>}</td>
                  <td className="small">{c.rate_per_second ? `${c.rate_per_second}/s` : <span className="muted">—</span>}</td>
                  <td className="cell-actions">
                    <Button size="sm" variant="ghost" onClick={() => setTesting(c)} disabled={!owner}>
                      Send test
                    </Button>
                    {owner && !c.is_default && (
                      <Button size="sm" variant="ghost" onClick={() => makeDefault(c)}>
                        Make default
                      </Button>
                    )}
                    {owner && (
                      <>
                        <Button size="sm" variant="ghost" onClick={() => setEditing(c)}>
                          Edit
                        </Button>
                        <Button size="sm" variant="ghost" onClick={() => remove(c)}>
                          Delete
                        </Button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      {editing !== null && (
        <ConfigDialog
          config={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(c) => {
            setEditing(null);
            setNotice(`Saved “${c.name}”.`);
            load();
          }}
        />
      )}
      {testing && <TestDialog config={testing} onClose={() => setTesting(null)} />}
    </div>
  );
}

function ConfigDialog({ config, onClose, onSaved }: { config: Config | null; onClose: () => void; onSaved: (c: Config) => void }) {
  const [channel, setChannel] = useState<ConfigChannel>(config && isConfigChannel(config.channel) ? config.channel : 'email');
  const [provider, setProvider] = useState(config?.provider ?? 'sandbox');
  const [name, setName] = useState(config?.name ?? '');
  const [creds, setCreds] = useState<Record<string, string>>({});
  const [settings, setSettings] = useState<Record<string, string>>(() =>
    // Objects (a wallet's pass templates) are edited as the JSON they are.
    Object.fromEntries(Object.entries((config?.settings ?? {}) as Record<string, unknown>).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(v, null, 2) : String(v)])),
  );
  const [isDefault, setIsDefault] = useState(config?.is_default ?? false);
  const [rate, setRate] = useState(config?.rate_per_second ? String(config.rate_per_second) : '');
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [busy, setBusy] = useState(false);
  const spec = providerSpec(provider);
  const choices = providersFor(channel);
  const sameProvider = config !== null && config.provider === provider;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!spec) return;
    const c = fieldValues(spec.credentials, creds);
    const s = fieldValues(spec.settings, settings);
    const local = { ...prefixed('credentials', c.errors), ...prefixed('settings', s.errors) };
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    // On an edit, untouched (blank) credentials keep the stored ones: they are never sent back.
    const typedAny = Object.keys(c.values).length > 0;
    const body = {
      channel,
      provider,
      name,
      settings: { ...((config?.settings ?? {}) as Record<string, unknown>), ...s.values } as never,
      // Unticked on a new config: null lets the API make the channel's first config its default.
      is_default: config === null && !isDefault ? null : isDefault,
      rate_per_second: rate ? Number(rate) : null,
      ...(config === null || typedAny || !sameProvider ? { credentials: c.values as never } : {}),
    };
    setBusy(true);
    setErrors({});
    try {
      const saved = config
        ? await ok(api.PUT('/api/v1/channels/{id}', { params: { path: { id: config.id } }, body }))
        : await ok(api.POST('/api/v1/channels', { body }));
      onSaved(saved);
    } catch (err) {
      setErrors(err instanceof ApiError && Object.keys(err.details).length ? (err.details as Record<string, string[]>) : { form: [errorMessage(err)] });
      setBusy(false);
    }
  }

  const fieldInput = (f: ProviderField, bag: Record<string, string>, set: (v: Record<string, string>) => void, group: string) => {
    const value = bag[f.key] ?? '';
    const onChange = (v: string) => set({ ...bag, [f.key]: v });
    const stored = group === 'credentials' && sameProvider && config?.credential_keys.includes(f.key);
    const placeholder = stored ? '•••••• stored — leave blank to keep' : f.placeholder;
    let input;
    if (f.choices) {
      input = (
        <select aria-label={f.label} value={value} onChange={(e) => onChange(e.target.value)}>
          {f.choices.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
      );
    } else if (f.kind === 'boolean') {
      input = <input type="checkbox" aria-label={f.label} checked={value === 'true'} onChange={(e) => onChange(e.target.checked ? 'true' : '')} />;
    } else if (f.kind === 'textarea' || f.kind === 'json') {
      input = <textarea rows={3} aria-label={f.label} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} autoComplete="off" />;
    } else {
      input = (
        <input
          type={f.secret ? 'password' : f.kind === 'number' ? 'number' : 'text'}
          aria-label={f.label}
          value={value}
          placeholder={placeholder}
          autoComplete={f.secret ? 'new-password' : 'off'}
          onChange={(e) => onChange(e.target.value)}
        />
      );
    }
    return (
      <Field key={f.key} label={`${f.label}${f.required ? '' : ' (optional)'}`} error={fieldErrors(errors, `${group}.${f.key}`)}>
        {input}
      </Field>
    );
  };

  return (
    <Dialog title={config ? `Edit “${config.name}”` : 'Add a channel'} open onClose={onClose} wide>
      <form className="stack" onSubmit={submit}>
        <div className="row-gap">
          <Field label="Channel" error={errors.channel}>
            <select
              aria-label="Channel"
              value={channel}
              disabled={config !== null}
              onChange={(e) => {
                const next = e.target.value as ConfigChannel;
                setChannel(next);
                if (!providersFor(next).some((p) => p.key === provider)) setProvider(providersFor(next)[0]?.key ?? 'sandbox');
              }}
            >
              {CONFIG_CHANNELS.filter((c) => c !== 'in_app').map((c) => (
                <option key={c} value={c}>
                  {CONFIG_CHANNEL_LABELS[c]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Provider" error={errors.provider}>
            <select aria-label="Provider" value={provider} onChange={(e) => setProvider(e.target.value)}>
              {choices.map((p) => (
                <option key={p.key} value={p.key}>
                  {p.label}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {spec?.note && <p className="muted small">{spec.note}</p>}
        <Field label="Name" error={errors.name}>
          <input aria-label="Name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Transactional email" />
        </Field>
        {spec && spec.credentials.length > 0 && (
          <fieldset className="stack">
            <legend>Credentials</legend>
            <p className="secret-note">
              Stored encrypted and never shown again.{' '}
              {config && sameProvider ? 'Leave them blank to keep the stored ones; to change them, enter all of them again.' : ''}
            </p>
            {spec.credentials.map((f) => fieldInput(f, creds, setCreds, 'credentials'))}
            {errors.credentials && <p className="form-error">{errors.credentials.join(' ')}</p>}
          </fieldset>
        )}
        {spec && spec.settings.length > 0 && (
          <fieldset className="stack">
            <legend>Settings</legend>
            {spec.settings.map((f) => fieldInput(f, settings, setSettings, 'settings'))}
          </fieldset>
        )}
        <div className="row-gap">
          <label className="check">
            <input type="checkbox" checked={isDefault} onChange={(e) => setIsDefault(e.target.checked)} /> Default for {CONFIG_CHANNEL_LABELS[channel]}
            {config === null && <span className="muted small">(a channel's first config always is)</span>}
          </label>
          <Field label="Rate limit per second (optional)" error={errors.rate_per_second}>
            <input type="number" min={1} aria-label="Rate limit per second" value={rate} onChange={(e) => setRate(e.target.value)} />
          </Field>
        </div>
        {errors.form && <p className="form-error">{errors.form.join(' ')}</p>}
        {Object.entries(errors)
          .filter(([k]) => !['form', 'name', 'channel', 'provider', 'credentials', 'rate_per_second'].includes(k) && !k.startsWith('credentials.') && !k.startsWith('settings.'))
          .map(([k, v]) => (
            <p key={k} className="form-error">
              {k}: {v.join(' ')}
            </p>
          ))}
        <div className="row-end">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy}>
            Save
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** The errors of one field and of the parts inside it (a JSON field's `passes.loyalty.style`),
 * each inner one named by its path under the field. */
function fieldErrors(errors: Record<string, string[]>, name: string): string[] {
  const inner = Object.entries(errors)
    .filter(([k]) => k.startsWith(`${name}.`))
    .map(([k, v]) => `${k.slice(name.length + 1)}: ${v.join(' ')}`);
  return [...(errors[name] ?? []), ...inner];
}

function prefixed(group: string, errors: Record<string, string>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(errors).map(([k, v]) => [`${group}.${k}`, [v]]));
}

/** A Web Push channel's VAPID public key (generated with the channel): what a site's
 * pushManager.subscribe takes as applicationServerKey, with a copy button. */
function VapidPublicKey({ config }: { config: Config }) {
  const key = String((config.settings as Record<string, unknown>).vapid_public_key ?? '');
  const [copied, setCopied] = useState(false);
  if (!key) return null;
  return (
    <div className="secret-note" data-testid="vapid-public-key">
      VAPID public key: <code>{key}</code>{' '}
      <Button
        size="sm"
        variant="ghost"
        onClick={() =>
          navigator.clipboard
            ?.writeText(key)
            .then(() => setCopied(true))
            .catch(() => setCopied(false))
        }
      >
        {copied ? 'Copied' : 'Copy public key'}
      </Button>
    </div>
  );
}

function TestDialog({ config, onClose }: { config: Config; onClose: () => void }) {
  if (config.channel === 'wallet') return <WalletTestDialog config={config} onClose={onClose} />;
  return <MessageTestDialog config={config} onClose={onClose} />;
}

/** What a test send answered: its status, reason and provider id, and a wallet pass's link. */
function TestResult({ result }: { result: Message }) {
  const link = (result.content as Record<string, unknown> | null)?.url;
  return (
    <div className={result.status === 'failed' || result.status === 'bounced' ? 'banner banner-error' : 'banner banner-success'} role="status" data-test-result={result.status}>
      <span>
        Result: <strong>{result.status}</strong>
        {result.error && ` — ${result.error}`}
        {result.error_detail && <span className="small"> ({result.error_detail})</span>}
        {result.provider_message_id && <span className="small"> · provider id {result.provider_message_id}</span>}
        {result.channel === 'wallet' && typeof link === 'string' && (
          <>
            {' '}
            · pass link:{' '}
            <a href={link} target="_blank" rel="noreferrer" data-testid="pass-link">
              {link}
            </a>
          </>
        )}
      </span>
    </div>
  );
}

/** A test dialog's outcome (the error or the result) and its buttons. */
function TestFooter({ error, result, busy, onClose }: { error: string | null; result: Message | null; busy: boolean; onClose: () => void }) {
  return (
    <>
      {error && <p className="form-error">{error}</p>}
      {result && <TestResult result={result} />}
      <div className="row-end">
        <Button onClick={onClose}>Close</Button>
        <Button type="submit" variant="primary" busy={busy}>
          Send test
        </Button>
      </div>
    </>
  );
}

/** POST /channels/{id}/test, its error shown with the fields it names. */
function useTestSend(config: Config) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Message | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function send(to: string, content: Record<string, unknown>) {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await ok(api.POST('/api/v1/channels/{id}/test', { params: { path: { id: config.id } }, body: { to, content: content as never } })));
    } catch (err) {
      const details = err instanceof ApiError ? JSON.stringify(err.details) : '';
      setError(`${errorMessage(err)}${details && details !== '{}' ? ` ${details}` : ''}`);
    } finally {
      setBusy(false);
    }
  }
  return { busy, result, error, send };
}

/** A wallet channel delivers nothing itself: its test issues a customer's pass of a template and
 * shows the link a message would carry to them. */
function WalletTestDialog({ config, onClose }: { config: Config; onClose: () => void }) {
  const templates = Object.keys(((config.settings as Record<string, unknown>).passes ?? {}) as Record<string, unknown>);
  const [to, setTo] = useState('');
  const [template, setTemplate] = useState(templates[0] ?? '');
  const { busy, result, error, send } = useTestSend(config);
  return (
    <Dialog title={`Issue a test pass through “${config.name}”`} open onClose={onClose} wide>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void send(to, { template });
        }}
      >
        <Field label="To (customer id)" hint="The pass is made for this customer, their attributes filled in.">
          <input aria-label="To" required value={to} onChange={(e) => setTo(e.target.value)} />
        </Field>
        <Field label="Pass template">
          <select aria-label="Pass template" value={template} onChange={(e) => setTemplate(e.target.value)}>
            {templates.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </Field>
        <TestFooter error={error} result={result} busy={busy} onClose={onClose} />
      </form>
    </Dialog>
  );
}

function MessageTestDialog({ config, onClose }: { config: Config; onClose: () => void }) {
  const channel: Channel = isChannel(config.channel) ? config.channel : 'email';
  const [to, setTo] = useState('');
  const [content, setContent] = useState<Record<string, unknown>>(() => ({
    ...emptyContent(channel),
    ...(channel === 'email' ? { subject: 'Test from Waymark', text: 'It works.' } : {}),
    ...(channel === 'push' || channel === 'in_app' ? { title: 'Test from Waymark', body: 'It works.' } : {}),
    ...(['sms', 'telegram', 'whatsapp', 'rcs', 'kakao_friendtalk', 'kakao_alimtalk'].includes(channel) ? { text: 'Test from Waymark: it works.' } : {}),
  }));
  const { busy, result, error, send: testSend } = useTestSend(config);

  function send(e: FormEvent) {
    e.preventDefault();
    void testSend(to, content);
  }

  const toLabel =
    channel === 'email'
      ? 'To (email address)'
      : config.provider === 'webpush'
        ? 'To (browser subscription JSON)'
        : config.provider === 'apns'
          ? 'To (iOS device token)'
          : channel === 'push'
            ? 'To (device token)'
            : channel === 'telegram'
              ? 'To (chat id)'
              : 'To (phone number)';

  return (
    <Dialog title={`Send a test through “${config.name}”`} open onClose={onClose} wide>
      <form className="stack" onSubmit={send}>
        <Field label={toLabel}>
          <input aria-label="To" required value={to} onChange={(e) => setTo(e.target.value)} />
        </Field>
        {channel === 'kakao_alimtalk' && (
          <>
            <TemplatePicker channelId={config.id} content={content} onChange={setContent} />
            {content.template_code ? <p className="muted small kakao-template-body">{String(content.text ?? '')}</p> : null}
            <VariableInputs content={content} onChange={setContent} errors={() => undefined} prefix="" liquid={false} />
          </>
        )}
        {channel !== 'kakao_alimtalk' && CONTENT_FIELDS[channel].map((f) => (
          <Field key={f.key} label={f.label}>
            {f.long ? (
              <textarea aria-label={f.label} rows={3} value={String(content[f.key] ?? '')} onChange={(e) => setContent({ ...content, [f.key]: e.target.value })} />
            ) : (
              <input aria-label={f.label} value={String(content[f.key] ?? '')} onChange={(e) => setContent({ ...content, [f.key]: e.target.value })} />
            )}
          </Field>
        ))}
        <TestFooter error={error} result={result} busy={busy} onClose={onClose} />
      </form>
    </Dialog>
  );
}

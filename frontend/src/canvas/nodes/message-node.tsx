// A message on one channel (email, SMS, push, WhatsApp, RCS, Telegram, Kakao, in-app): its card,
// its form (channel, content fields, receipt to wait for) with a live preview, and its hints.
import { useEffect, useState } from 'react';

import { Link } from 'react-router';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { Field } from '../../components/ui';
import { DurationInput, KeyValueRows, TemplateInput } from '../../components/inputs';
import { AWAITABLE, CHANNEL_LABELS, CHANNELS, type Channel, CONTENT_FIELDS, emptyContent, isChannel, PUSH_PLATFORMS } from '../../lib/channels';
import type { Config, JourneyNodeData } from '../../lib/graph';
import type { ConfigProblem } from '../../lib/node-types';
import { blank, durationProblem } from '../../lib/rules';
import { type Duration, formatDuration } from '../../lib/settings';
import type { FormProps, NodeUi } from './node-ui';

// Monograms rather than emoji: they render the same on every machine (no emoji font needed).
const ICONS: Record<string, string> = {
  email: 'EM',
  sms: 'SMS',
  push: 'PU',
  whatsapp: 'WA',
  rcs: 'RCS',
  telegram: 'TG',
  kakao_alimtalk: 'KA',
  kakao_friendtalk: 'KF',
  in_app: 'IA',
};

function Summary({ data }: { data: JourneyNodeData }) {
  const content = (data.config.content ?? {}) as Record<string, string>;
  const text = content.subject || content.title || content.text || content.body || content.template || '';
  const awaited = data.config.await as { status?: string; within?: unknown } | undefined;
  return (
    <>
      {text ? <span className="clip">{text}</span> : <span className="muted">No content yet</span>}
      {awaited && (
        <span className="muted">
          {' '}
          · waits {formatDuration(awaited.within)} for {awaited.status}
        </span>
      )}
    </>
  );
}

function hints(c: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const add = (field: string, message: string) => out.push({ field, message });
  if (!isChannel(c.channel)) {
    add('channel', 'Pick a channel.');
    return out;
  }
  const content = (c.content ?? {}) as Record<string, unknown>;
  for (const f of CONTENT_FIELDS[c.channel]) {
    if (f.required && blank(content[f.key])) add(`content.${f.key}`, `${f.label} is required.`);
  }
  if (c.channel === 'whatsapp' && blank(content.template) && blank(content.text)) {
    add('content.text', 'Give a template name or a text.');
  }
  if (c.channel === 'push' && (!Array.isArray(content.platforms) || content.platforms.length === 0)) {
    add('content.platforms', 'Pick at least one platform.');
  }
  if (c.await != null) {
    const problem = durationProblem((c.await as { within?: unknown }).within);
    if (problem) add('await.within', problem);
  }
  return out;
}

function Form({ config, set, errors }: FormProps) {
  const channel: Channel = isChannel(config.channel) ? config.channel : 'email';
  const content = (config.content ?? {}) as Record<string, unknown>;
  const setContent = (key: string, value: unknown) => set({ content: { ...content, [key]: value } });
  const awaited = config.await as { status: string; within: Duration } | undefined;
  return (
    <div className="stack">
      <Field label="Channel" error={errors('channel')}>
        <select
          value={channel}
          onChange={(e) => {
            const next = e.target.value as Channel;
            const rest: Config = { ...config, channel: next, content: emptyContent(next) };
            if (awaited && !AWAITABLE[next].includes(awaited.status)) delete rest.await;
            set(rest);
          }}
        >
          {CHANNELS.map((c) => (
            <option key={c} value={c}>
              {CHANNEL_LABELS[c]}
            </option>
          ))}
        </select>
      </Field>
      {CONTENT_FIELDS[channel].map((f) => {
        const text = String(content[f.key] ?? '');
        const over = f.limit !== undefined && text.length > f.limit;
        return (
          <Field
            key={f.key}
            label={f.label + (f.required ? ' *' : '')}
            error={errors(`content.${f.key}`)}
            aside={
              f.limit !== undefined && (
                <span className={over ? 'counter over' : 'counter'} data-testid={`counter-${f.key}`}>
                  {text.length}/{f.limit}
                </span>
              )
            }
            hint={over ? `Longer than ${f.limit} characters may be cut off on some devices.` : undefined}
          >
            {f.liquid ? (
              <TemplateInput label={f.label} long={f.long} value={text} invalid={!!errors(`content.${f.key}`)} onChange={(v) => setContent(f.key, v)} />
            ) : (
              <input value={text} onChange={(e) => setContent(f.key, e.target.value)} />
            )}
          </Field>
        );
      })}
      {channel === 'push' && (
        <Field label="Platforms" error={errors('content.platforms')}>
          <span className="checks">
            {PUSH_PLATFORMS.map((p) => {
              const list = (content.platforms as string[]) ?? [];
              return (
                <label key={p} className="check">
                  <input
                    type="checkbox"
                    checked={list.includes(p)}
                    onChange={(e) => setContent('platforms', e.target.checked ? [...list, p] : list.filter((x) => x !== p))}
                  />
                  {p}
                </label>
              );
            })}
          </span>
        </Field>
      )}
      <SendThrough channel={channel} config={config} set={set} error={errors('channel_id')} content={content} />
      <Field label="Branch on the result" hint="Wait for a receipt and split into yes / no / failed.">
        <span className="checks">
          <label className="check">
            <input
              type="checkbox"
              checked={!!awaited}
              onChange={(e) => {
                const rest = { ...config };
                if (e.target.checked) rest.await = { status: AWAITABLE[channel][0], within: { value: 1, unit: 'days' } };
                else delete rest.await;
                set(rest);
              }}
            />
            Wait for
          </label>
          {awaited && (
            <>
              <select aria-label="await status" value={awaited.status} onChange={(e) => set({ await: { ...awaited, status: e.target.value } })}>
                {AWAITABLE[channel].map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
              within
              <DurationInput label="await within" value={awaited.within} onChange={(d) => set({ await: { ...awaited, within: d } })} />
            </>
          )}
        </span>
      </Field>
      {errors('await.within') && <p className="form-error">{errors('await.within')}</p>}
      <Preview channel={channel} content={content} />
    </div>
  );
}

type ChannelConfig = Schemas['ChannelConfig'];

/** Which configured channel sends this message, picked by name (the workspace's default unless
 * one is chosen); with none set up, says so with a link to Channels. Also a test send through it. */
function SendThrough({ channel, config, set, error, content }: { channel: Channel; config: Config; set: (c: Config) => void; error?: string[]; content: Record<string, unknown> }) {
  const [configs, setConfigs] = useState<ChannelConfig[] | null>(null);
  const [to, setTo] = useState('');
  const [sent, setSent] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    ok(api.GET('/api/v1/channels', { params: { query: { limit: 200 } } }))
      .then((page) => live && setConfigs(page.results))
      .catch(() => live && setConfigs([]));
    return () => {
      live = false;
    };
  }, []);
  if (channel === 'in_app') return null;
  if (configs === null) return <p className="muted small">Loading channels…</p>;
  const mine = configs.filter((c) => c.channel === channel);
  const chosen = config.channel_id == null ? mine.find((c) => c.is_default) : mine.find((c) => c.id === config.channel_id);
  if (mine.length === 0) {
    return (
      <div className="banner banner-error" role="alert" data-testid="no-channel">
        <span>No {CHANNEL_LABELS[channel]} channel set up: every send from this step would fail.</span>{' '}
        <Link to="/channels">Set one up in Channels</Link>
      </div>
    );
  }
  async function testSend() {
    if (!chosen) return;
    setBusy(true);
    setSent(null);
    try {
      const message = await ok(api.POST('/api/v1/channels/{id}/test', { params: { path: { id: chosen.id } }, body: { to, content } }));
      const failed = message.status === 'failed';
      setSent({ tone: failed ? 'error' : 'ok', text: failed ? `Not sent: ${message.error || 'the provider refused it'}.` : `Test ${message.status} to ${to}.` });
    } catch (e) {
      setSent({ tone: 'error', text: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <Field label="Send through" hint="The workspace's default for this channel unless you pick another." error={error}>
        <select
          value={config.channel_id == null ? '' : String(config.channel_id)}
          onChange={(e) => {
            const rest = { ...config };
            if (e.target.value === '') delete rest.channel_id;
            else rest.channel_id = Number(e.target.value);
            set(rest);
          }}
        >
          <option value="">Workspace default{mine.find((c) => c.is_default) ? ` (${mine.find((c) => c.is_default)!.name})` : ''}</option>
          {mine.map((c) => (
            <option key={c.id} value={String(c.id)}>
              {c.name} · {c.provider}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Send a test" hint={channel === 'email' ? 'An email address.' : channel === 'push' ? 'A device token.' : 'A phone number or chat id.'}>
        <span className="row-gap">
          <input aria-label="Test recipient" value={to} onChange={(e) => setTo(e.target.value)} placeholder={channel === 'email' ? 'you@example.com' : '+15550000000'} />
          <button type="button" className="btn btn-sm" disabled={!to.trim() || !chosen || busy} onClick={testSend}>
            Send test
          </button>
        </span>
      </Field>
      {sent && (
        <p className={sent.tone === 'error' ? 'form-error' : 'muted small'} role="status" data-testid="test-send-result">
          {sent.text}
        </p>
      )}
    </>
  );
}

/** Whether content has anything to render: an empty new node asks the server nothing. */
function hasContent(content: Record<string, unknown>): boolean {
  return Object.values(content).some((v) => typeof v === 'string' && v.trim() !== '');
}

/** The rendered message for editable sample attributes (POST /messages/preview), refreshed as
 * the content or the sample changes. */
function Preview({ channel, content }: { channel: Channel; content: Record<string, unknown> }) {
  const [sample, setSample] = useState<Record<string, unknown>>({ first_name: 'Alex', city: 'Lisbon' });
  const [rendered, setRendered] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify([channel, content, sample]);
  useEffect(() => {
    let live = true;
    if (!hasContent(content)) {
      setRendered(null);
      setError(null);
      return;
    }
    const t = setTimeout(() => {
      ok(api.POST('/api/v1/messages/preview', { body: { channel, content, attributes: sample } }))
        .then((r) => {
          if (!live) return;
          setRendered(r.content as Record<string, unknown>);
          setError(null);
        })
        .catch((e) => live && setError(e.message));
    }, 300);
    return () => {
      live = false;
      clearTimeout(t);
    };
    // `key` stands for channel, content and sample (objects change identity every render).
  }, [key]);
  return (
    <section className="preview" aria-label="Preview">
      <h3>Preview</h3>
      <details>
        <summary>Sample customer attributes</summary>
        <KeyValueRows value={sample} onChange={setSample} keyLabel="attribute" valueLabel="sample value" />
      </details>
      {error ? (
        <p className="form-error">{error}</p>
      ) : rendered ? (
        <div className={`preview-card preview-${channel}`} data-testid="preview">
          {Object.entries(rendered)
            .filter(([, v]) => typeof v === 'string' && v !== '')
            .map(([k, v]) =>
              k === 'html' ? (
                // Sandboxed iframe: the marketer's HTML cannot run script in the app.
                <iframe key={k} title="Email body" sandbox="" srcDoc={String(v)} className="preview-html" />
              ) : (
                <div key={k} className={`preview-${k}`}>
                  <span className="muted small">{k}</span>
                  <div>{String(v)}</div>
                </div>
              ),
            )}
        </div>
      ) : (
        <p className="muted small">{hasContent(content) ? 'Rendering…' : 'Write the message to see it here.'}</p>
      )}
    </section>
  );
}

export const ui: NodeUi = {
  type: 'message',
  Summary,
  Form,
  hints,
  // Only the receipts the channel produces: an SMS is never "opened".
  messageCounts: (config) => ['sent', ...['opened', 'read', 'clicked'].filter((m) => !isChannel(config.channel) || AWAITABLE[config.channel].includes(m)).slice(0, 2)],
  panelTitle: (config) => (isChannel(config.channel) ? `${CHANNEL_LABELS[config.channel]} message` : 'Message'),
  card: (config) => (isChannel(config.channel) ? { icon: ICONS[config.channel], label: CHANNEL_LABELS[config.channel] } : {}),
};

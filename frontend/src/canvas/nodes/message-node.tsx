// A message on one channel (email, SMS, push, WhatsApp, RCS, Telegram, Kakao, in-app): its card,
// its form (channel, content fields, receipt to wait for) with a live preview, and its hints.
import { useEffect, useState } from 'react';

import { Link } from 'react-router';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { Field } from '../../components/ui';
import { useTriggerProperties } from '../../components/event-names';
import { EmailBody } from '../email/EmailBody';
import { EmailExtras, emailExtrasHints } from '../email/EmailExtras';
import { DurationInput, KeyValueRows, TemplateInput } from '../../components/inputs';
import { AWAITABLE, CHANNEL_LABELS, CHANNELS, type Channel, CONTENT_FIELDS, emptyContent, isChannel, PUSH_PLATFORMS } from '../../lib/channels';
import type { Config, JourneyNodeData } from '../../lib/graph';
import { experimentProblems } from '../../lib/experiment';
import type { ConfigProblem } from '../../lib/node-types';
import { ExperimentSettings } from '../ExperimentSettings';
import { blank, durationProblem } from '../../lib/rules';
import { type Duration, formatDuration } from '../../lib/settings';
import { useCanvasInfo } from '../context';
import { isKakao, KakaoBubble, KakaoChannelId, KakaoContent, kakaoHints, kakaoLocaleShown, KIND_LABELS, kakaoKind } from '../kakao';
import { RcsBuilder, RcsPhone } from '../rcs';
import { rcsHints } from '../../lib/rcs';
import { useChannelConfigs } from '../useChannelConfigs';
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
const KAKAO_ICONS = { alimtalk: 'KA', friendtalk: 'KF', brand: 'KB' } as const;

/** The card and panel names of a config: a Kakao message's kind (Brand Message is a FriendTalk
 * kind), else the channel's label. */
function channelName(config: Config): { icon: string; label: string } | null {
  if (!isChannel(config.channel)) return null;
  const variants = variantsOf(config);
  const kind = kakaoKind(config.channel, (variants ? variants[0].content : config.content) as Record<string, unknown> | undefined);
  return kind ? { icon: KAKAO_ICONS[kind], label: KIND_LABELS[kind] } : { icon: ICONS[config.channel], label: CHANNEL_LABELS[config.channel] };
}

function Summary({ data }: { data: JourneyNodeData }) {
  const variants = variantsOf(data.config);
  const content = ((variants ? variants[0].content : data.config.content) ?? {}) as Record<string, string>;
  const text = content.subject || content.title || content.text || content.body || content.template || '';
  const awaited = data.config.await as { status?: string; within?: unknown } | undefined;
  return (
    <>
      {text ? <span className="clip">{text}</span> : <span className="muted">No content yet</span>}
      {variants && <span className="muted"> · {variants.length} variants</span>}
      {awaited && (
        <span className="muted">
          {' '}
          · waits {formatDuration(awaited.within)} for {awaited.status}
        </span>
      )}
    </>
  );
}

/** The server's "variants" config: A/B copies of the content, each on a share of the customers. */
export interface Variant {
  id: string;
  name: string;
  percent: number;
  content: Record<string, unknown>;
}

const CATEGORIES = ['marketing', 'transactional'] as const;
const MAX_VARIANTS = 10; // the server's limit on A/B/n variants

/** The content's per-language versions (`content.locales`), keyed by language tag. */
function localesOf(content: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const l = content.locales;
  return l && typeof l === 'object' && !Array.isArray(l) ? (l as Record<string, Record<string, unknown>>) : {};
}

/** Problems of one whole content (the top level or a variant's), its fields named under `prefix`. */
function contentHints(channel: Channel, content: Record<string, unknown>, prefix: string, add: (field: string, message: string) => void) {
  for (const f of CONTENT_FIELDS[channel]) {
    if (f.required && blank(content[f.key])) add(`${prefix}${f.key}`, `${f.label} is required.`);
  }
  if (channel === 'whatsapp' && blank(content.template) && blank(content.text)) {
    add(`${prefix}text`, 'Give a template name or a text.');
  }
  if (channel === 'push' && (!Array.isArray(content.platforms) || content.platforms.length === 0)) {
    add(`${prefix}platforms`, 'Pick at least one platform.');
  }
  kakaoHints(channel, content, prefix, add);
  if (channel === 'rcs') rcsHints(content, prefix, add);
  if (channel === 'email') emailExtrasHints(content, prefix, add);
  // A language version is a whole content of its own text (Liquid) fields; only the others
  // (push platforms, a template's name…) carry over from the top level.
  for (const [tag, fields] of Object.entries(localesOf(content))) {
    if (isKakao(channel)) kakaoHints(channel, kakaoLocaleShown(content, fields ?? {}), `${prefix}locales.${tag}.`, add);
    for (const f of CONTENT_FIELDS[channel]) {
      const own = (fields ?? {})[f.key];
      if (f.required && blank(own) && (f.liquid || blank(content[f.key]))) add(`${prefix}locales.${tag}.${f.key}`, `${f.label} (${tag}) is required.`);
    }
    if (channel === 'email' && blank((fields ?? {}).html) && blank((fields ?? {}).text)) add(`${prefix}locales.${tag}.html`, `An email needs an HTML or a text body (${tag}).`);
  }
}

function variantsOf(c: Config): Variant[] | null {
  return Array.isArray(c.variants) && c.variants.length > 0 ? (c.variants as Variant[]) : null;
}

function hints(c: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const add = (field: string, message: string) => out.push({ field, message });
  if (!isChannel(c.channel)) {
    add('channel', 'Pick a channel.');
    return out;
  }
  const variants = variantsOf(c);
  if (variants) {
    variants.forEach((v, i) => {
      if (!Number.isInteger(v.percent) || v.percent < 1 || v.percent > 100) add(`variants.${i}.percent`, 'A whole number from 1 to 100.');
      contentHints(c.channel as Channel, (v.content ?? {}) as Record<string, unknown>, `variants.${i}.content.`, add);
    });
    const total = variants.reduce((sum, v) => sum + (Number(v.percent) || 0), 0);
    if (total !== 100) add('variants', `Variant percentages add up to ${total}%, not 100%.`);
    out.push(...experimentProblems(c.experiment));
  } else {
    contentHints(c.channel, (c.content ?? {}) as Record<string, unknown>, 'content.', add);
  }
  if (c.await != null) {
    const problem = durationProblem((c.await as { within?: unknown }).within);
    if (problem) add('await.within', problem);
  }
  return out;
}

/** The content fields of one channel; `prefix` names them in the problems (`content.`, a variant's
 * `variants.0.content.`, a language's `content.locales.ko.`). Only the text fields when `textOnly`. */
function ContentFields({ channel, content, onChange, errors, prefix, textOnly, platforms }: { channel: Channel; content: Record<string, unknown>; onChange: (c: Record<string, unknown>) => void; errors: FormProps['errors']; prefix: string; textOnly?: boolean; platforms?: unknown }) {
  const eventProperties = useTriggerProperties(useCanvasInfo().settings.entry);
  if (isKakao(channel) && !textOnly) return <KakaoContent channel={channel} content={content} onChange={onChange} errors={errors} prefix={prefix} />;
  const setContent = (key: string, value: unknown) => onChange({ ...content, [key]: value });
  // A language version carries no platforms of its own: the top level's apply.
  const targeted = Array.isArray(platforms ?? content.platforms) ? ((platforms ?? content.platforms) as string[]) : [];
  return (
    <>
      {CONTENT_FIELDS[channel].map((f) => {
        const text = String(content[f.key] ?? '');
        const limits = (f.limits ?? []).filter((l) => targeted.includes(l.platform));
        const cut = limits.filter((l) => text.length > l.max);
        const error = errors(`${prefix}${f.key}`);
        const field = (
          <Field
            key={f.key}
            label={f.label + (f.required && !textOnly ? ' *' : '')}
            error={error}
            aside={
              limits.length > 0 && (
                <span className="counters">
                  {limits.map((l) => (
                    <span key={l.platform} className={text.length > l.max ? 'counter over' : 'counter'} data-testid={`counter-${f.key}-${l.platform}`} title={`${l.where} shows about ${l.max} characters`}>
                      {text.length}/{l.max} {l.platform === 'ios' ? 'iOS' : 'Android'}
                    </span>
                  ))}
                </span>
              )
            }
            hint={cut.length ? `Cut off after about ${cut.map((l) => `${l.max} characters on the ${l.where}`).join(' and ')}.` : undefined}
          >
            {f.liquid ? (
              <TemplateInput label={f.label} long={f.long} value={text} invalid={!!error} onChange={(v) => setContent(f.key, v)} eventProperties={eventProperties} />
            ) : (
              <input value={text} onChange={(e) => setContent(f.key, e.target.value)} />
            )}
          </Field>
        );
        // An email's body can also be designed in blocks (the HTML stays what is sent).
        return channel === 'email' && f.key === 'html' && !textOnly ? (
          <EmailBody key={f.key} content={content} onChange={onChange}>
            {field}
          </EmailBody>
        ) : (
          field
        );
      })}
      {channel === 'email' && !textOnly && <EmailExtras content={content} onChange={onChange} errors={errors} prefix={prefix} />}
      {channel === 'rcs' && !textOnly && <RcsBuilder content={content} onChange={onChange} errors={errors} prefix={prefix} />}
      {channel === 'push' && !textOnly && (
        <Field label="Platforms" error={errors(`${prefix}platforms`)}>
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
    </>
  );
}

/** One content with its language tabs: the default (top level) and each `content.locales` tag,
 * a way to add a language, and the preview of the language shown. */
function LocalizedContent({ channel, content, onChange, errors, prefix }: { channel: Channel; content: Record<string, unknown>; onChange: (c: Record<string, unknown>) => void; errors: FormProps['errors']; prefix: string }) {
  const [tab, setTab] = useState<string>('');
  const [adding, setAdding] = useState('');
  const locales = localesOf(content);
  const tags = Object.keys(locales);
  const shown = tab && tags.includes(tab) ? tab : '';
  const setLocales = (next: Record<string, Record<string, unknown>>) => {
    const rest = { ...content };
    if (Object.keys(next).length === 0) delete rest.locales;
    else rest.locales = next;
    onChange(rest);
  };
  const tag = adding.trim();
  const tagValid = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(tag) && !tags.some((t) => t.toLowerCase() === tag.toLowerCase());
  return (
    <div className="stack">
      <div role="tablist" aria-label="Languages" className="row-gap">
        <button type="button" role="tab" aria-selected={shown === ''} className={shown === '' ? 'btn btn-sm btn-primary' : 'btn btn-sm'} onClick={() => setTab('')}>
          Default
        </button>
        {tags.map((t) => (
          <button key={t} type="button" role="tab" aria-selected={shown === t} className={shown === t ? 'btn btn-sm btn-primary' : 'btn btn-sm'} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </div>
      <div className="row-gap">
        <input aria-label="New language" placeholder="ko, es-MX" size={6} value={adding} onChange={(e) => setAdding(e.target.value)} />
        <button
          type="button"
          className="btn btn-sm"
          disabled={!tagValid}
          onClick={() => {
            setLocales({ ...locales, [tag]: {} });
            setTab(tag);
            setAdding('');
          }}
        >
          + Add language
        </button>
      </div>
      {shown === '' ? (
        <ContentFields channel={channel} content={content} onChange={onChange} errors={errors} prefix={prefix} />
      ) : (
        <>
          <p className="muted small">
            Text for customers whose language is {shown}; other fields come from Default.{' '}
            <button
              type="button"
              className="btn btn-sm"
              onClick={() => {
                const next = { ...locales };
                delete next[shown];
                setLocales(next);
                setTab('');
              }}
            >
              Remove {shown}
            </button>
          </p>
          {isKakao(channel) ? (
            // The same Kakao form (template, variables, buttons…) for the language's version.
            <KakaoContent key={shown} channel={channel} base={content} content={locales[shown] ?? {}} onChange={(fields) => setLocales({ ...locales, [shown]: fields })} errors={errors} prefix={`${prefix}locales.${shown}.`} />
          ) : (
            <ContentFields
              channel={channel}
              content={locales[shown] ?? {}}
              onChange={(fields) => setLocales({ ...locales, [shown]: fields })}
              errors={errors}
              prefix={`${prefix}locales.${shown}.`}
              textOnly
              platforms={content.platforms}
            />
          )}
        </>
      )}
      <Preview channel={channel} content={content} locale={shown || undefined} />
    </div>
  );
}

type Topic = Schemas['Topic'];

/** Marketing or transactional, and the consent topic a marketing message is sent under. */
function CategoryAndTopic({ config, set, errors }: Pick<FormProps, 'config' | 'set' | 'errors'>) {
  const [topics, setTopics] = useState<Topic[] | null>(null);
  useEffect(() => {
    let live = true;
    ok(api.GET('/api/v1/topics', { params: { query: { limit: 200 } } }))
      .then((page) => live && setTopics(page.results))
      .catch(() => live && setTopics([]));
    return () => {
      live = false;
    };
  }, []);
  const category = config.category === 'transactional' ? 'transactional' : 'marketing';
  const topic = typeof config.topic === 'string' ? config.topic : '';
  return (
    <div className="row-gap">
      <Field label="Category" hint="Transactional messages skip opt-outs, caps and quiet hours." error={errors('category')}>
        <select value={category} onChange={(e) => set({ category: e.target.value })}>
          {CATEGORIES.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Topic" hint="Only customers subscribed to it get the message." error={errors('topic')}>
        <select
          value={topic}
          onChange={(e) => {
            set({ topic: e.target.value === '' ? undefined : e.target.value });
          }}
        >
          <option value="">No topic</option>
          {(topics ?? []).map((t) => (
            <option key={t.key} value={t.key}>
              {t.name}
            </option>
          ))}
          {topic && topics && !topics.some((t) => t.key === topic) && <option value={topic}>{topic} (deleted)</option>}
        </select>
      </Field>
    </div>
  );
}

/** The Variants toggle and, when on, one tab per variant (name, percent, its content). */
function Variants({ channel, config, set, errors, openSettings }: Pick<FormProps, 'config' | 'set' | 'errors' | 'openSettings'> & { channel: Channel }) {
  const [tab, setTab] = useState(0);
  const variants = variantsOf(config);
  const total = (variants ?? []).reduce((sum, v) => sum + (Number(v.percent) || 0), 0);
  const setVariants = (next: Variant[]) => set({ variants: next });
  const shown = variants ? Math.min(tab, variants.length - 1) : 0;
  const toggle = (on: boolean) => {
    const rest = { ...config };
    if (on) {
      const content = (config.content ?? emptyContent(channel)) as Record<string, unknown>;
      rest.variants = [
        { id: 'a', name: 'A', percent: 50, content },
        { id: 'b', name: 'B', percent: 50, content: structuredClone(content) },
      ];
      rest.content = undefined; // `set` merges: undefined drops the key
      setTab(0);
    } else {
      rest.content = variants?.[shown]?.content ?? emptyContent(channel);
      rest.variants = undefined;
      rest.experiment = undefined; // an experiment needs variants
    }
    set(rest);
  };
  return (
    <>
      <label className="check">
        <input type="checkbox" checked={!!variants} onChange={(e) => toggle(e.target.checked)} />
        Variants (A/B test the content)
      </label>
      {!variants ? (
        <LocalizedContent channel={channel} content={(config.content ?? {}) as Record<string, unknown>} onChange={(c) => set({ content: c })} errors={errors} prefix="content." />
      ) : (
        <div className="stack">
          <div role="tablist" aria-label="Variants" className="row-gap">
            {variants.map((v, i) => (
              <button key={v.id} type="button" role="tab" aria-selected={shown === i} className={shown === i ? 'btn btn-sm btn-primary' : 'btn btn-sm'} onClick={() => setTab(i)}>
                {v.name || v.id} · {v.percent}%
              </button>
            ))}
          </div>
          <div className="row-gap">
            <button
              type="button"
              className="btn btn-sm"
              disabled={variants.length >= MAX_VARIANTS}
              onClick={() => {
                let n = variants.length;
                const ids = new Set(variants.map((v) => v.id));
                while (ids.has(String.fromCharCode(97 + (n % 26)) + (n >= 26 ? n : ''))) n++;
                const id = String.fromCharCode(97 + (n % 26)) + (n >= 26 ? n : '');
                setVariants([...variants, { id, name: id.toUpperCase(), percent: 0, content: structuredClone(variants[shown].content ?? {}) }]);
                setTab(variants.length);
              }}
            >
              + Add variant
            </button>
          </div>
          <p className={total === 100 ? 'muted small' : 'form-error'} data-testid="variant-total">
            Total {total}%{total === 100 ? '' : ' — variants must add up to 100%'}
          </p>
          <div className="row-gap">
            <Field label="Variant name" error={errors(`variants.${shown}.name`)}>
              <input value={variants[shown].name} onChange={(e) => setVariants(variants.map((v, j) => (j === shown ? { ...v, name: e.target.value } : v)))} />
            </Field>
            <Field label="Percent" error={errors(`variants.${shown}.percent`)}>
              <input
                type="number"
                min={0}
                max={100}
                value={variants[shown].percent}
                onChange={(e) => setVariants(variants.map((v, j) => (j === shown ? { ...v, percent: Number(e.target.value) } : v)))}
              />
            </Field>
            {variants.length > 2 && (
              <button type="button" className="btn btn-sm" onClick={() => setVariants(variants.filter((_, j) => j !== shown))}>
                Remove variant
              </button>
            )}
          </div>
          <LocalizedContent
            key={variants[shown].id}
            channel={channel}
            content={(variants[shown].content ?? {}) as Record<string, unknown>}
            onChange={(c) => setVariants(variants.map((v, j) => (j === shown ? { ...v, content: c } : v)))}
            errors={errors}
            prefix={`variants.${shown}.content.`}
          />
          <ExperimentSettings config={config} set={set} errors={errors} openSettings={openSettings} arms="variant" receipts={AWAITABLE[channel]} />
        </div>
      )}
    </>
  );
}

function Form({ config, set, errors, openSettings }: FormProps) {
  const channel: Channel = isChannel(config.channel) ? config.channel : 'email';
  const variants = variantsOf(config);
  const content = (variants ? variants[0].content : (config.content ?? {})) as Record<string, unknown>;
  const awaited = config.await as { status: string; within: Duration } | undefined;
  return (
    <div className="stack">
      <Field label="Channel" error={errors('channel')}>
        <select
          value={channel}
          onChange={(e) => {
            const next = e.target.value as Channel;
            const rest: Config = { ...config, channel: next, content: emptyContent(next), variants: undefined, experiment: undefined };
            if (awaited && !AWAITABLE[next].includes(awaited.status)) rest.await = undefined;
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
      <CategoryAndTopic config={config} set={set} errors={errors} />
      <KakaoChannelId.Provider value={typeof config.channel_id === 'number' ? config.channel_id : null}>
        <Variants channel={channel} config={config} set={set} errors={errors} openSettings={openSettings} />
      </KakaoChannelId.Provider>
      {errors('variants') && <p className="form-error">{errors('variants')}</p>}
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
                else rest.await = undefined;
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
    </div>
  );
}


/** Which configured channel sends this message, picked by name (the workspace's default unless
 * one is chosen); with none set up, says so with a link to Channels. Also a test send through it. */
function SendThrough({ channel, config, set, error, content }: { channel: Channel; config: Config; set: (c: Config) => void; error?: string[]; content: Record<string, unknown> }) {
  const configs = useChannelConfigs();
  const [to, setTo] = useState('');
  const [sent, setSent] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
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
            if (e.target.value === '') rest.channel_id = undefined;
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

/** `{"cart.total": 30}` → `{"cart": {"total": 30}}`: sample values named by path, as the event carries them. */
function unflatten(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(flat)) {
    const parts = path.split('.');
    let at = out;
    for (const part of parts.slice(0, -1)) {
      if (typeof at[part] !== 'object' || at[part] === null) at[part] = {};
      at = at[part] as Record<string, unknown>;
    }
    at[parts[parts.length - 1]] = value;
  }
  return out;
}

/** Whether content has anything to render: an empty new node asks the server nothing. */
function hasContent(content: Record<string, unknown>): boolean {
  return Object.values(content).some((v) => typeof v === 'string' && v.trim() !== '');
}

/** The rendered message for a sample customer (a stored one picked by name, or editable sample
 * attributes) and sample values of the trigger event (seeded from events received), refreshed as
 * the content or the samples change. */
function Preview({ channel, content, locale }: { channel: Channel; content: Record<string, unknown>; locale?: string }) {
  const [sample, setSample] = useState<Record<string, unknown>>({ first_name: 'Alex', city: 'Lisbon' });
  const [customerId, setCustomerId] = useState('');
  const [customers, setCustomers] = useState<Schemas['Customer'][]>([]);
  const known = useTriggerProperties(useCanvasInfo().settings.entry);
  const [eventSample, setEventSample] = useState<Record<string, unknown> | null>(null);
  const seeded = Object.fromEntries(known.filter((p) => p.example != null).map((p) => [p.name, p.example]));
  const event = eventSample ?? seeded;
  const [rendered, setRendered] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [device, setDevice] = useState<'desktop' | 'mobile'>('desktop');
  useEffect(() => {
    let live = true;
    ok(api.GET('/api/v1/customers', { params: { query: { limit: 20 } } }))
      .then((page) => live && setCustomers(page.results))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  const key = JSON.stringify([channel, content, sample, customerId, event, locale]);
  useEffect(() => {
    let live = true;
    if (!hasContent(content)) {
      setRendered(null);
      setError(null);
      return;
    }
    const who = customerId ? { customer_id: customerId } : { attributes: sample };
    const t = setTimeout(() => {
      ok(api.POST('/api/v1/messages/preview', { body: { channel, content, ...who, event: unflatten(event), ...(locale ? { locale } : {}) } }))
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
    // `key` stands for channel, content, the samples and locale (objects change identity every render).
  }, [key]);
  return (
    <section className="preview" aria-label="Preview">
      <h3>
        Preview{locale ? ` (${locale})` : ''}
        {channel === 'email' && (
          <span className="preview-devices" role="group" aria-label="Preview width">
            {(['desktop', 'mobile'] as const).map((d) => (
              <button key={d} type="button" className={device === d ? 'btn btn-sm btn-primary' : 'btn btn-sm'} aria-pressed={device === d} onClick={() => setDevice(d)}>
                {d === 'desktop' ? 'Desktop' : 'Mobile'}
              </button>
            ))}
          </span>
        )}
      </h3>
      <Field label="Sample customer">
        <select value={customerId} onChange={(e) => setCustomerId(e.target.value)}>
          <option value="">Sample attributes</option>
          {customers.map((c) => (
            <option key={c.external_id} value={c.external_id}>
              {c.external_id}
              {c.email ? ` · ${c.email}` : ''}
            </option>
          ))}
        </select>
      </Field>
      {!customerId && (
        <details>
          <summary>Sample customer attributes</summary>
          <KeyValueRows value={sample} onChange={setSample} keyLabel="attribute" valueLabel="sample value" />
        </details>
      )}
      <details open={Object.keys(event).length > 0 || undefined}>
        <summary>Sample trigger event</summary>
        {/* Keyed by the seed: rows start over when the trigger's known properties arrive. */}
        <KeyValueRows key={eventSample ? 'edited' : JSON.stringify(seeded)} value={event} onChange={setEventSample} keyLabel="event property" valueLabel="sample event value" />
      </details>
      {error ? (
        <p className="form-error">{error}</p>
      ) : rendered && isKakao(channel) ? (
        <KakaoBubble channel={channel} content={rendered} />
      ) : rendered && channel === 'rcs' ? (
        <RcsPhone content={rendered} />
      ) : rendered ? (
        <div className={`preview-card preview-${channel}`} data-testid="preview">
          {Object.entries(rendered)
            .filter(([, v]) => typeof v === 'string' && v !== '')
            .map(([k, v]) =>
              k === 'html' ? (
                // Sandboxed iframe: the marketer's HTML cannot run script in the app.
                <iframe key={k} title="Email body" sandbox="" srcDoc={String(v)} className={`preview-html device-${device}`} data-device={device} />
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
  // Kakao: how many KakaoTalk could not reach and got the SMS/LMS instead.
  messageCounts: (config) =>
    isKakao(String(config.channel)) ? ['sent', 'delivered', 'failover'] : ['sent', ...['opened', 'read', 'clicked'].filter((m) => !isChannel(config.channel) || AWAITABLE[config.channel].includes(m)).slice(0, 2)],
  panelTitle: (config) => (channelName(config) ? `${channelName(config)!.label} message` : 'Message'),
  card: (config) => channelName(config) ?? {},
};

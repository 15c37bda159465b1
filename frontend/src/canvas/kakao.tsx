// The three Kakao message kinds on the canvas: AlimTalk (an approved template picked from the
// channel's dealer, its #{variables} mapped to Liquid), FriendTalk (free text, image, buttons, the
// ad flag) and Brand Message (a FriendTalk kind sent through a channel set up for it, always an
// ad), with the rules of channels_app/kakao.py, and the preview as KakaoTalk shows it.
import { createContext, useContext, useEffect, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../api/client';
import { Field } from '../components/ui';
import { TemplateInput } from '../components/inputs';
import type { Channel } from '../lib/channels';
import type { Errors } from './nodes/node-ui';
import { useChannelConfigs } from './useChannelConfigs';
import './kakao.css';

type KakaoTemplate = Schemas['KakaoTemplate'];
type Content = Record<string, unknown>;

export interface KakaoButton {
  type: string;
  name: string;
  url_mobile?: string;
  url_pc?: string;
  scheme_android?: string;
  scheme_ios?: string;
}

// Kakao's limits as the dealers pass them on (channels_app/kakao.py).
export const MAX_TEXT = 1000;
export const MAX_TEXT_WITH_IMAGE = 400;
export const MAX_BUTTONS = 5;
export const MAX_BUTTON_NAME = 14;
export const BRAND_MESSAGE = 'brand_message';
const BUTTON_TYPES: Record<string, string> = { WL: 'Web link', AL: 'App link', BK: 'Bot keyword', MD: 'Message delivery', AC: 'Add channel' };
const BUTTON_LINKS: Record<string, [keyof KakaoButton, string][]> = {
  WL: [['url_mobile', 'Mobile URL']],
  AL: [
    ['scheme_android', 'Android scheme'],
    ['scheme_ios', 'iOS scheme'],
  ],
};

export function isKakao(channel: string): channel is 'kakao_alimtalk' | 'kakao_friendtalk' {
  return channel === 'kakao_alimtalk' || channel === 'kakao_friendtalk';
}

/** Which of the three kinds a Kakao content is. */
export function kakaoKind(channel: string, content: Content | undefined): 'alimtalk' | 'friendtalk' | 'brand' | null {
  if (channel === 'kakao_alimtalk') return 'alimtalk';
  if (channel !== 'kakao_friendtalk') return null;
  return content?.product === BRAND_MESSAGE ? 'brand' : 'friendtalk';
}

export const KIND_LABELS = { alimtalk: 'Kakao AlimTalk', friendtalk: 'Kakao FriendTalk', brand: 'Kakao Brand Message' } as const;

/** The #{name} placeholders of an AlimTalk template, each once, in order. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/#\{([^{}]+)\}/g)].map((m) => m[1]))];
}

// An AlimTalk template's type and its parts beyond the body (channels_app/kakao.py EMPHASIS_FIELDS):
// TEXT has an emphasized title and subtitle, ITEM_LIST a header, a highlight, items and a summary.
export const TEMPLATE_PARTS = ['emphasize_type', 'title', 'subtitle', 'header', 'item_highlight', 'items', 'item_summary'] as const;
interface Pair {
  title?: string;
  description?: string;
}

/** Every string of a template part (a text, a {title, description}, a list of those). */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).filter((v): v is string => typeof v === 'string');
  return [];
}

/** The #{name}s of the whole template: the body's, then its parts'. */
export function templatePlaceholders(content: Content): string[] {
  const texts = [String(content.text ?? ''), ...TEMPLATE_PARTS.slice(1).flatMap((p) => strings(content[p]))];
  return [...new Set(texts.flatMap(placeholders))];
}

/** The channel the message node sends through (its channel_id; null for the workspace default). */
export const KakaoChannelId = createContext<number | null>(null);

/** The approved templates of one AlimTalk channel, read from its dealer. */
function useTemplates(channelId: number | undefined): { templates: KakaoTemplate[] | null; error: string | null } {
  const [state, setState] = useState<{ templates: KakaoTemplate[] | null; error: string | null }>({ templates: null, error: null });
  useEffect(() => {
    if (channelId === undefined) return;
    let live = true;
    setState({ templates: null, error: null });
    ok(api.GET('/api/v1/channels/{id}/templates', { params: { path: { id: channelId } } }))
      .then((r) => live && setState({ templates: r.results, error: null }))
      .catch((e) => live && setState({ templates: [], error: errorMessage(e) }));
    return () => {
      live = false;
    };
  }, [channelId]);
  return state;
}

/** A template picked: its code, body and buttons, and one variable per placeholder (values kept
 * for names the previous template shared). */
export function withTemplate(content: Content, template: KakaoTemplate): Content {
  const old = (content.variables ?? {}) as Record<string, string>;
  const rest = Object.fromEntries(Object.entries(content).filter(([k]) => !(TEMPLATE_PARTS as readonly string[]).includes(k)));
  // The new template's type and parts replace the previous one's (a plain template has none).
  const parts = Object.fromEntries(TEMPLATE_PARTS.filter((p) => template[p] != null && template[p] !== 'NONE').map((p) => [p, template[p]]));
  return {
    ...rest,
    ...parts,
    template_code: template.code,
    text: template.text,
    buttons: template.buttons ?? [],
    variables: Object.fromEntries(template.variables.map((v) => [v, old[v] ?? ''])),
  };
}

/** The template select of an AlimTalk channel (the dealer's list; only approved ones can be sent). */
export function TemplatePicker({ channelId, content, onChange, error }: { channelId: number | undefined; content: Content; onChange: (c: Content) => void; error?: string[] }) {
  const { templates, error: loadError } = useTemplates(channelId);
  const code = String(content.template_code ?? '');
  if (channelId === undefined) return <p className="muted small">Set up an AlimTalk channel to pick its templates.</p>;
  return (
    <Field label="Template *" error={loadError ?? error} hint="AlimTalk sends only templates Kakao approved; new ones are submitted in Channels.">
      <select
        value={code}
        disabled={templates === null}
        onChange={(e) => {
          const picked = templates?.find((t) => t.code === e.target.value);
          if (picked) onChange(withTemplate(content, picked));
        }}
      >
        <option value="">{templates === null ? 'Loading templates…' : 'Pick a template'}</option>
        {(templates ?? []).map((t) => (
          <option key={t.code} value={t.code} disabled={t.status !== 'approved'}>
            {t.name} ({t.code}){t.status === 'approved' ? '' : ` — ${t.status}`}
          </option>
        ))}
        {code && templates && !templates.some((t) => t.code === code) && <option value={code}>{code} (not at the dealer)</option>}
      </select>
    </Field>
  );
}

/** One input per #{name} of the template: the value (Liquid) that fills it. */
export function VariableInputs({ content, onChange, errors, prefix, liquid = true }: { content: Content; onChange: (c: Content) => void; errors: Errors; prefix: string; liquid?: boolean }) {
  const variables = (content.variables ?? {}) as Record<string, string>;
  const names = templatePlaceholders(content);
  if (names.length === 0) return null;
  return (
    <fieldset className="kakao-variables">
      <legend>Template variables</legend>
      {names.map((name) => {
        const label = `#{${name}}`;
        const set = (v: string) => onChange({ ...content, variables: { ...variables, [name]: v } });
        const error = errors(`${prefix}variables.${name}`);
        return (
          <Field key={name} label={label} error={error}>
            {liquid ? <TemplateInput label={label} value={variables[name] ?? ''} invalid={!!error} onChange={set} /> : <input aria-label={label} value={variables[name] ?? ''} onChange={(e) => set(e.target.value)} />}
          </Field>
        );
      })}
    </fieldset>
  );
}

function ButtonsEditor({ buttons, onChange, errors, prefix }: { buttons: KakaoButton[]; onChange: (b: KakaoButton[]) => void; errors: Errors; prefix: string }) {
  const setAt = (i: number, patch: Partial<KakaoButton>) => onChange(buttons.map((b, j) => (j === i ? { ...b, ...patch } : b)));
  return (
    <fieldset className="kakao-buttons">
      <legend>Buttons</legend>
      {errors(`${prefix}buttons`) && <p className="form-error">{errors(`${prefix}buttons`)}</p>}
      {buttons.map((b, i) => (
        <div key={i} className="row-gap kakao-button-row" data-testid="kakao-button-row">
          <select aria-label={`Button ${i + 1} type`} value={b.type} onChange={(e) => onChange(buttons.map((x, j) => (j === i ? { type: e.target.value, name: x.name } : x)))}>
            {Object.entries(BUTTON_TYPES)
              .filter(([t]) => t !== 'AC') // add-channel buttons are AlimTalk's (from its template)
              .map(([t, label]) => (
                <option key={t} value={t}>
                  {label}
                </option>
              ))}
          </select>
          <Field label={`Button ${i + 1} name`} error={errors(`${prefix}buttons.${i}.name`)} aside={<span className={b.name.length > MAX_BUTTON_NAME ? 'counter over' : 'counter'}>{b.name.length}/{MAX_BUTTON_NAME}</span>}>
            <input value={b.name} onChange={(e) => setAt(i, { name: e.target.value })} />
          </Field>
          {(BUTTON_LINKS[b.type] ?? []).map(([key, label]) => (
            <Field key={key} label={`Button ${i + 1} ${label}`} error={errors(`${prefix}buttons.${i}.${key}`)}>
              <input value={String(b[key] ?? '')} onChange={(e) => setAt(i, { [key]: e.target.value })} />
            </Field>
          ))}
          <button type="button" className="btn btn-sm" onClick={() => onChange(buttons.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-sm" disabled={buttons.length >= MAX_BUTTONS} onClick={() => onChange([...buttons, { type: 'WL', name: '', url_mobile: '' }])}>
        + Add button
      </button>
      {buttons.length >= MAX_BUTTONS && <span className="muted small"> Kakao allows {MAX_BUTTONS} buttons.</span>}
    </fieldset>
  );
}

/** The SMS/LMS sent instead when KakaoTalk cannot deliver (channel setting sms_failover). */
function FailoverText({ content, onChange, errors, prefix }: { content: Content; onChange: (c: Content) => void; errors: Errors; prefix: string }) {
  return (
    <Field label="SMS failover text" hint="Sent by SMS (LMS over 90 bytes) when the customer has no KakaoTalk; empty sends the message text." error={errors(`${prefix}failover_text`)}>
      <TemplateInput label="SMS failover text" long value={String(content.failover_text ?? '')} onChange={(v) => onChange({ ...content, failover_text: v || undefined })} />
    </Field>
  );
}

// A language version's own fields: the Liquid texts. Every other field (template code, variables,
// buttons, the ad flag, the kind) comes from Default unless the version gives its own
// (channels_app/locales.py carries over every field that is not a template).
const OWN_FIELDS = new Set(['text', 'image_url', 'failover_text', 'failover_subject']);

/** What a language version sends: Default's carried-over fields under the version's own. */
export function kakaoLocaleShown(base: Content, version: Content): Content {
  const carried = Object.fromEntries(Object.entries(base).filter(([k]) => !OWN_FIELDS.has(k) && k !== 'locales'));
  return { ...carried, ...version };
}

/** The version to store for a form's whole content: its own texts, and the other fields only where
 * they differ from Default's (so a later change of Default's buttons still reaches it). */
function kakaoLocaleStored(base: Content, shown: Content): Content {
  const same = (k: string) => JSON.stringify(base[k]) === JSON.stringify(shown[k]);
  return Object.fromEntries(Object.entries(shown).filter(([k, v]) => v !== undefined && (OWN_FIELDS.has(k) || !same(k))));
}

/** The content form of a Kakao message, by kind. With `base`, `content` is a language version of
 * that Default content (`content.locales.<tag>`): the same form, its kind fixed by Default's, and
 * the fields it leaves alone shown as Default's. */
export function KakaoContent({ base, ...props }: { channel: Channel; content: Content; onChange: (c: Content) => void; errors: Errors; prefix: string; base?: Content }) {
  if (!base) return <KakaoForm {...props} />;
  const shown = kakaoLocaleShown(base, props.content);
  return <KakaoForm {...props} content={{ ...shown, product: base.product }} onChange={(next) => props.onChange(kakaoLocaleStored(base, next))} fixedKind />;
}

function KakaoForm({ channel, content, onChange, errors, prefix, fixedKind }: { channel: Channel; content: Content; onChange: (c: Content) => void; errors: Errors; prefix: string; fixedKind?: boolean }) {
  const channelId = useContext(KakaoChannelId);
  const configs = useChannelConfigs();
  const kind = kakaoKind(channel, content)!;
  const mine = (configs ?? []).filter((c) => c.channel === channel);
  const through = channelId == null ? mine.find((c) => c.is_default) : mine.find((c) => c.id === channelId);
  const set = (key: string, value: unknown) => onChange({ ...content, [key]: value });
  const text = String(content.text ?? '');
  if (kind === 'alimtalk') {
    return (
      <div className="stack">
        <TemplatePicker channelId={through?.id} content={content} onChange={onChange} error={errors(`${prefix}template_code`)} />
        {text && (
          <Field label="Template body" error={errors(`${prefix}text`)}>
            <pre className="kakao-template-body" data-testid="alimtalk-template">
              {text}
            </pre>
          </Field>
        )}
        <VariableInputs content={content} onChange={onChange} errors={errors} prefix={prefix} />
        <FailoverText content={content} onChange={onChange} errors={errors} prefix={prefix} />
      </div>
    );
  }
  const limit = content.image_url ? MAX_TEXT_WITH_IMAGE : MAX_TEXT;
  const brandChannel = (through?.settings as { product?: string } | undefined)?.product === BRAND_MESSAGE;
  return (
    <div className="stack">
      {!fixedKind && (
        <div role="radiogroup" aria-label="Kakao message kind" className="row-gap">
          {(['friendtalk', 'brand'] as const).map((k) => (
            <label key={k} className="check">
              <input
                type="radio"
                name={`${prefix}kakao-kind`}
                checked={kind === k}
                onChange={() => {
                  const next = { ...content };
                  if (k === 'brand') next.product = BRAND_MESSAGE;
                  else delete next.product;
                  onChange(next);
                }}
              />
              {k === 'brand' ? 'Brand Message' : 'FriendTalk'}
            </label>
          ))}
        </div>
      )}
      {kind === 'brand' && through && !brandChannel && (
        <p className="form-error" data-testid="brand-channel-warning">
          “{through.name}” sends FriendTalk: pick a channel set up for Brand Message below.
        </p>
      )}
      <Field label="Text *" error={errors(`${prefix}text`)} aside={<span className={text.length > limit ? 'counter over' : 'counter'} data-testid="counter-text">{text.length}/{limit}</span>}>
        <TemplateInput label="Text" long value={text} invalid={!!errors(`${prefix}text`)} onChange={(v) => set('text', v)} />
      </Field>
      <Field label="Image URL" hint={`With an image Kakao allows ${MAX_TEXT_WITH_IMAGE} characters.`} error={errors(`${prefix}image_url`)}>
        <TemplateInput label="Image URL" value={String(content.image_url ?? '')} onChange={(v) => onChange({ ...content, image_url: v || undefined })} />
      </Field>
      {kind === 'friendtalk' ? (
        <label className="check">
          <input type="checkbox" checked={content.is_ad === true} onChange={(e) => onChange({ ...content, is_ad: e.target.checked || undefined })} />
          Advertisement — Kakao shows “(광고)”; held 20:00–08:00 KST
        </label>
      ) : (
        <p className="muted small">A Brand Message is always an ad: Kakao shows “(광고)” and it is held 20:00–08:00 KST.</p>
      )}
      <ButtonsEditor buttons={(content.buttons ?? []) as KakaoButton[]} onChange={(b) => onChange({ ...content, buttons: b.length ? b : undefined })} errors={errors} prefix={prefix} />
      <FailoverText content={content} onChange={onChange} errors={errors} prefix={prefix} />
    </div>
  );
}

/** An AlimTalk template's emphasized title or item list as KakaoTalk shows them above the body. */
function TemplateParts({ parts }: { parts: Content }) {
  const highlight = parts.item_highlight as Pair | undefined;
  const items = (parts.items ?? []) as Pair[];
  const summary = parts.item_summary as Pair | undefined;
  return (
    <>
      {typeof parts.title === 'string' && (
        <div className="kakao-emphasis" data-testid="kakao-emphasis">
          {typeof parts.subtitle === 'string' && <span className="kakao-subtitle">{parts.subtitle}</span>}
          <strong>{parts.title}</strong>
        </div>
      )}
      {typeof parts.header === 'string' && <div className="kakao-item-header">{parts.header}</div>}
      {highlight && (
        <div className="kakao-highlight" data-testid="kakao-highlight">
          <strong>{highlight.title}</strong>
          <span>{highlight.description}</span>
        </div>
      )}
      {items.length > 0 && (
        <dl className="kakao-items" data-testid="kakao-items">
          {items.map((item, i) => (
            <div key={i}>
              <dt>{item.title}</dt>
              <dd>{item.description}</dd>
            </div>
          ))}
          {summary && (
            <div className="kakao-summary">
              <dt>{summary.title}</dt>
              <dd>{summary.description}</dd>
            </div>
          )}
        </dl>
      )}
    </>
  );
}

/** The message as KakaoTalk shows it: the channel's bubble, AlimTalk's yellow header, the ad mark,
 * the image and the buttons under the text; and what goes as SMS/LMS when KakaoTalk cannot. */
export function KakaoBubble({ channel, content }: { channel: Channel; content: Content }) {
  const kind = kakaoKind(channel, content);
  const ad = kind === 'brand' || content.is_ad === true;
  const text = String((kind === 'alimtalk' ? content.filled_text : content.text) ?? '');
  const buttons = (content.buttons ?? []) as KakaoButton[];
  return (
    <div className="kakao-chat" data-testid="preview">
      <div className="kakao-bubble" data-testid="kakao-bubble">
        {kind === 'alimtalk' && <div className="kakao-header">알림톡 도착</div>}
        {kind === 'alimtalk' && <TemplateParts parts={(content.filled_emphasis ?? {}) as Content} />}
        {typeof content.image_url === 'string' && content.image_url && <img className="kakao-image" src={content.image_url} alt="" />}
        <div className="kakao-text">
          {ad && <span className="kakao-ad">(광고) </span>}
          {text}
        </div>
        {buttons.length > 0 && (
          <div className="kakao-actions">
            {buttons.map((b, i) => (
              <span key={i} className="kakao-action" title={b.url_mobile ?? b.scheme_android ?? ''}>
                {b.name}
              </span>
            ))}
          </div>
        )}
      </div>
      {typeof content.failover_type === 'string' && <p className="muted small">Without KakaoTalk: sent as {content.failover_type} if the channel has SMS failover.</p>}
    </div>
  );
}

/** Kakao's rules the canvas can check as the marketer types (the server's kakao.content_errors and
 * rendered_errors say the same at validate time). */
export function kakaoHints(channel: Channel, content: Content, prefix: string, add: (field: string, message: string) => void) {
  if (!isKakao(channel)) return;
  const text = String(content.text ?? '');
  if (channel === 'kakao_alimtalk') {
    const variables = (content.variables ?? {}) as Record<string, unknown>;
    for (const name of templatePlaceholders(content)) {
      if (typeof variables[name] !== 'string' || !(variables[name] as string).trim()) add(`${prefix}variables.${name}`, `The template uses #{${name}}: give its value.`);
    }
    return;
  }
  const limit = content.image_url ? MAX_TEXT_WITH_IMAGE : MAX_TEXT;
  if (text.length > limit) add(`${prefix}text`, `${text.length} characters; Kakao allows ${limit}${content.image_url ? ' with an image' : ''}.`);
  const buttons = (Array.isArray(content.buttons) ? content.buttons : []) as KakaoButton[];
  if (buttons.length > MAX_BUTTONS) add(`${prefix}buttons`, `At most ${MAX_BUTTONS} buttons (Kakao); got ${buttons.length}.`);
  buttons.forEach((b, i) => {
    if (!b.name?.trim()) add(`${prefix}buttons.${i}.name`, 'This field is required.');
    else if (b.name.length > MAX_BUTTON_NAME) add(`${prefix}buttons.${i}.name`, `At most ${MAX_BUTTON_NAME} characters (Kakao).`);
    for (const [key] of BUTTON_LINKS[b.type] ?? []) if (!String(b[key] ?? '').trim()) add(`${prefix}buttons.${i}.${key}`, `A ${b.type} button needs ${key}.`);
  });
}

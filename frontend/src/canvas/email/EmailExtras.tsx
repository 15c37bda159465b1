// An email's call-to-action buttons and attachments, with the rules and limits of
// channels_app/email_parts.py: buttons are written into the HTML and text parts (and tracked as
// clicks); attachments are fetched from their URL when the email is sent.
import { Field } from '../../components/ui';
import { TemplateInput } from '../../components/inputs';
import type { Errors } from '../nodes/node-ui';

type Content = Record<string, unknown>;

interface EmailButton {
  text: string;
  url: string;
  color?: string;
}

interface EmailAttachment {
  url: string;
  filename?: string;
}

export const MAX_BUTTONS = 4;
export const MAX_BUTTON_TEXT = 60;
export const MAX_ATTACHMENTS = 5;
export const ATTACHMENT_MAX_MB = 10; // per file
export const ATTACHMENTS_MAX_TOTAL_MB = 20; // per email
const COLOR = /^#[0-9a-fA-F]{6}$/;
// A URL written with Liquid is checked once rendered (the preview and the send say so).
const HTTP_OR_LIQUID = /^(https?:\/\/[^/\s]+|\{\{)/i;

type Add = (field: string, message: string) => void;

function listOf<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

/** The problems of an email's buttons and attachments, named under `prefix`. */
export function emailExtrasHints(content: Content, prefix: string, add: Add) {
  const buttons = listOf<EmailButton>(content.buttons);
  if (buttons.length > MAX_BUTTONS) add(`${prefix}buttons`, `At most ${MAX_BUTTONS} buttons.`);
  buttons.forEach((b, i) => {
    const text = String(b?.text ?? '');
    if (!text.trim()) add(`${prefix}buttons.${i}.text`, 'A button needs its label.');
    else if (text.length > MAX_BUTTON_TEXT) add(`${prefix}buttons.${i}.text`, `At most ${MAX_BUTTON_TEXT} characters.`);
    const url = String(b?.url ?? '').trim();
    if (!url) add(`${prefix}buttons.${i}.url`, 'A button needs the URL it opens.');
    else if (!HTTP_OR_LIQUID.test(url)) add(`${prefix}buttons.${i}.url`, 'Must be an http(s) URL.');
    if (b?.color !== undefined && !COLOR.test(String(b.color))) add(`${prefix}buttons.${i}.color`, 'Must be a colour like #4f46e5.');
  });
  const attachments = listOf<EmailAttachment>(content.attachments);
  if (attachments.length > MAX_ATTACHMENTS) add(`${prefix}attachments`, `At most ${MAX_ATTACHMENTS} attachments.`);
  attachments.forEach((a, i) => {
    const url = String(a?.url ?? '').trim();
    if (!url) add(`${prefix}attachments.${i}.url`, 'An attachment needs the URL to fetch it from.');
    else if (!HTTP_OR_LIQUID.test(url)) add(`${prefix}attachments.${i}.url`, 'Must be an http(s) URL.');
  });
}

/** `key` set to the list, or removed when the list is empty (the server takes no empty lists). */
function withList(content: Content, key: string, list: unknown[]): Content {
  const next = { ...content, [key]: list };
  if (list.length === 0) delete next[key];
  return next;
}

export function EmailExtras({ content, onChange, errors, prefix }: { content: Content; onChange: (c: Content) => void; errors: Errors; prefix: string }) {
  const buttons = listOf<EmailButton>(content.buttons);
  const attachments = listOf<EmailAttachment>(content.attachments);
  const setButton = (i: number, patch: Partial<EmailButton>) => onChange(withList(content, 'buttons', buttons.map((b, j) => (j === i ? { ...b, ...patch } : b))));
  const setAttachment = (i: number, patch: Partial<EmailAttachment>) => {
    const next = attachments.map((a, j) => (j === i ? { ...a, ...patch } : a)).map((a) => (a.filename ? a : { url: a.url }));
    onChange(withList(content, 'attachments', next));
  };
  return (
    <>
      <fieldset className="stack" aria-label="Buttons">
        <legend>Call-to-action buttons</legend>
        <p className="muted small">Shown under the body in the HTML and the plain text; clicks are tracked.</p>
        {errors(`${prefix}buttons`) && <p className="form-error">{errors(`${prefix}buttons`)}</p>}
        {buttons.map((b, i) => (
          <div key={i} className="row-gap" data-testid="email-button-row">
            <Field
              label={`Button ${i + 1} label`}
              error={errors(`${prefix}buttons.${i}.text`)}
              aside={<span className={String(b.text ?? '').length > MAX_BUTTON_TEXT ? 'counter over' : 'counter'}>{String(b.text ?? '').length}/{MAX_BUTTON_TEXT}</span>}
            >
              <TemplateInput label={`Button ${i + 1} label`} value={b.text ?? ''} invalid={!!errors(`${prefix}buttons.${i}.text`)} onChange={(v) => setButton(i, { text: v })} />
            </Field>
            <Field label={`Button ${i + 1} URL`} error={errors(`${prefix}buttons.${i}.url`)}>
              <TemplateInput label={`Button ${i + 1} URL`} value={b.url ?? ''} invalid={!!errors(`${prefix}buttons.${i}.url`)} onChange={(v) => setButton(i, { url: v })} />
            </Field>
            <Field label={`Button ${i + 1} colour`} error={errors(`${prefix}buttons.${i}.color`)}>
              <input type="color" aria-label={`Button ${i + 1} colour`} value={b.color ?? '#4f46e5'} onChange={(e) => setButton(i, { color: e.target.value })} />
            </Field>
            <button type="button" className="btn btn-sm" onClick={() => onChange(withList(content, 'buttons', buttons.filter((_, j) => j !== i)))}>
              Remove
            </button>
          </div>
        ))}
        <span className="row-gap">
          <button type="button" className="btn btn-sm" disabled={buttons.length >= MAX_BUTTONS} onClick={() => onChange(withList(content, 'buttons', [...buttons, { text: '', url: '' }]))}>
            + Add button
          </button>
          {buttons.length >= MAX_BUTTONS && <span className="muted small">At most {MAX_BUTTONS} buttons.</span>}
        </span>
      </fieldset>
      <fieldset className="stack" aria-label="Attachments">
        <legend>Attachments</legend>
        <p className="muted small" data-testid="attachment-limits">
          Fetched from their URL when the email is sent: up to {MAX_ATTACHMENTS} files, {ATTACHMENT_MAX_MB} MB each and {ATTACHMENTS_MAX_TOTAL_MB} MB in all. A file that cannot be
          fetched fails the send.
        </p>
        {errors(`${prefix}attachments`) && <p className="form-error">{errors(`${prefix}attachments`)}</p>}
        {attachments.map((a, i) => (
          <div key={i} className="row-gap" data-testid="email-attachment-row">
            <Field label={`Attachment ${i + 1} URL`} error={errors(`${prefix}attachments.${i}.url`)}>
              <TemplateInput label={`Attachment ${i + 1} URL`} value={a.url ?? ''} invalid={!!errors(`${prefix}attachments.${i}.url`)} onChange={(v) => setAttachment(i, { url: v })} />
            </Field>
            <Field label={`Attachment ${i + 1} file name (optional)`} error={errors(`${prefix}attachments.${i}.filename`)}>
              <input aria-label={`Attachment ${i + 1} file name`} value={a.filename ?? ''} placeholder="from the URL" onChange={(e) => setAttachment(i, { filename: e.target.value })} />
            </Field>
            <button type="button" className="btn btn-sm" onClick={() => onChange(withList(content, 'attachments', attachments.filter((_, j) => j !== i)))}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="btn btn-sm" disabled={attachments.length >= MAX_ATTACHMENTS} onClick={() => onChange(withList(content, 'attachments', [...attachments, { url: '' }]))}>
          + Add attachment
        </button>
      </fieldset>
    </>
  );
}

// The RCS message builder: a text alone, a standalone rich card or a carousel of up to 10 cards
// (title, description, media, their own suggestions) and the message's suggested replies and
// actions, checked as channels_app/rcs.py checks them; and the phone-like preview.
import { Field } from '../components/ui';
import { TemplateInput } from '../components/inputs';
import {
  CARD_WIDTHS,
  MAX_CARD_DESCRIPTION,
  MAX_CARD_SUGGESTIONS,
  MAX_CARD_TITLE,
  MAX_CAROUSEL,
  MAX_SUGGESTION_TEXT,
  MAX_SUGGESTIONS,
  MEDIA_HEIGHTS,
  type RcsCard,
  type RcsLayout,
  rcsLayout,
  type RcsSuggestion,
  SUGGESTION_NEEDS,
  SUGGESTION_TYPES,
  withLayout,
} from '../lib/rcs';
import type { Errors } from './nodes/node-ui';
import './rcs.css';

type Content = Record<string, unknown>;

const LAYOUTS: [RcsLayout, string][] = [
  ['text', 'Text only'],
  ['card', 'Rich card'],
  ['carousel', 'Carousel'],
];

function Counter({ value, max }: { value: unknown; max: number }) {
  const n = String(value ?? '').length;
  return <span className={n > max ? 'counter over' : 'counter'}>{n}/{max}</span>;
}

function SuggestionsEditor({ label, list, max, onChange, errors, prefix }: { label: string; list: RcsSuggestion[]; max: number; onChange: (l: RcsSuggestion[] | undefined) => void; errors: Errors; prefix: string }) {
  const setAt = (i: number, next: RcsSuggestion) => onChange(list.map((s, j) => (j === i ? next : s)));
  return (
    <fieldset className="rcs-suggestions" aria-label={label}>
      <legend>{label}</legend>
      {errors(prefix) && <p className="form-error">{errors(prefix)}</p>}
      {list.map((s, i) => {
        const needs = SUGGESTION_NEEDS[s.type ?? 'reply'];
        const name = `${label} ${i + 1}`;
        return (
          <div key={i} className="row-gap rcs-suggestion" data-testid="rcs-suggestion">
            <select
              aria-label={`${name} type`}
              value={s.type ?? 'reply'}
              onChange={(e) => {
                const type = e.target.value as RcsSuggestion['type'];
                setAt(i, { type, text: s.text, ...(s.postback_data ? { postback_data: s.postback_data } : {}), ...(SUGGESTION_NEEDS[type] ? { [SUGGESTION_NEEDS[type]!]: '' } : {}) });
              }}
            >
              {Object.entries(SUGGESTION_TYPES).map(([t, l]) => (
                <option key={t} value={t}>
                  {l}
                </option>
              ))}
            </select>
            <Field label={`${name} text`} error={errors(`${prefix}.${i}.text`)} aside={<Counter value={s.text} max={MAX_SUGGESTION_TEXT} />}>
              <input aria-label={`${name} text`} value={s.text ?? ''} onChange={(e) => setAt(i, { ...s, text: e.target.value })} />
            </Field>
            {needs && (
              <Field label={`${name} ${needs === 'url' ? 'URL' : 'phone'}`} error={errors(`${prefix}.${i}.${needs}`)}>
                <input aria-label={`${name} ${needs === 'url' ? 'URL' : 'phone'}`} value={String(s[needs] ?? '')} onChange={(e) => setAt(i, { ...s, [needs]: e.target.value })} />
              </Field>
            )}
            <button type="button" className="btn btn-sm" onClick={() => onChange(list.length > 1 ? list.filter((_, j) => j !== i) : undefined)}>
              Remove
            </button>
          </div>
        );
      })}
      <button type="button" className="btn btn-sm" disabled={list.length >= max} onClick={() => onChange([...list, { type: 'reply', text: '' }])}>
        + Add suggestion
      </button>
      {list.length >= max && <span className="muted small"> RCS allows {max} here.</span>}
    </fieldset>
  );
}

function CardEditor({ title, card, onChange, errors, prefix, onRemove }: { title: string; card: RcsCard; onChange: (c: RcsCard) => void; errors: Errors; prefix: string; onRemove?: () => void }) {
  const set = (key: keyof RcsCard, value: unknown) => onChange({ ...card, [key]: value });
  return (
    <fieldset className="rcs-card-editor" aria-label={title} data-testid="rcs-card-editor">
      <legend>{title}</legend>
      {errors(prefix) && <p className="form-error">{errors(prefix)}</p>}
      <Field label={`${title} title`} error={errors(`${prefix}.title`)} aside={<Counter value={card.title} max={MAX_CARD_TITLE} />}>
        <TemplateInput label={`${title} title`} value={card.title ?? ''} invalid={!!errors(`${prefix}.title`)} onChange={(v) => set('title', v)} />
      </Field>
      <Field label={`${title} description`} error={errors(`${prefix}.description`)} aside={<Counter value={card.description} max={MAX_CARD_DESCRIPTION} />}>
        <TemplateInput label={`${title} description`} long value={card.description ?? ''} invalid={!!errors(`${prefix}.description`)} onChange={(v) => set('description', v)} />
      </Field>
      <div className="row-gap">
        <Field label={`${title} media URL`} error={errors(`${prefix}.media_url`)} hint="An image or video RBM fetches over https.">
          <TemplateInput label={`${title} media URL`} value={card.media_url ?? ''} onChange={(v) => set('media_url', v || undefined)} />
        </Field>
        <Field label={`${title} media height`} error={errors(`${prefix}.media_height`)}>
          <select aria-label={`${title} media height`} value={card.media_height ?? 'MEDIUM'} onChange={(e) => set('media_height', e.target.value)}>
            {MEDIA_HEIGHTS.map((h) => (
              <option key={h} value={h}>
                {h.toLowerCase()}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <SuggestionsEditor label={`${title} suggestion`} list={card.suggestions ?? []} max={MAX_CARD_SUGGESTIONS} onChange={(l) => set('suggestions', l)} errors={errors} prefix={`${prefix}.suggestions`} />
      {onRemove && (
        <button type="button" className="btn btn-sm" onClick={onRemove}>
          Remove {title.toLowerCase()}
        </button>
      )}
    </fieldset>
  );
}

/** The rich part of an RCS content (the text and media fields are the channel's ordinary ones). */
export function RcsBuilder({ content, onChange, errors, prefix }: { content: Content; onChange: (c: Content) => void; errors: Errors; prefix: string }) {
  const layout = rcsLayout(content);
  const cards = Array.isArray(content.cards) ? (content.cards as RcsCard[]) : [];
  const setCards = (next: RcsCard[]) => onChange({ ...content, cards: next });
  return (
    <div className="stack rcs-builder">
      <Field label="Rich content" hint={layout === 'text' ? undefined : 'The text above is what phones without rich cards show (and the SMS fallback).'}>
        <span className="checks" role="radiogroup" aria-label="Rich content">
          {LAYOUTS.map(([value, label]) => (
            <label key={value} className="check">
              <input type="radio" name={`${prefix}rcs-layout`} checked={layout === value} onChange={() => onChange(withLayout(content, value))} />
              {label}
            </label>
          ))}
        </span>
      </Field>
      {layout === 'card' && <CardEditor title="Card" card={(content.card ?? {}) as RcsCard} onChange={(card) => onChange({ ...content, card })} errors={errors} prefix={`${prefix}card`} />}
      {layout === 'carousel' && (
        <>
          {errors(`${prefix}cards`) && <p className="form-error">{errors(`${prefix}cards`)}</p>}
          <Field label="Card width" error={errors(`${prefix}card_width`)}>
            <select aria-label="Card width" value={String(content.card_width ?? 'MEDIUM')} onChange={(e) => onChange({ ...content, card_width: e.target.value })}>
              {CARD_WIDTHS.map((w) => (
                <option key={w} value={w}>
                  {w.toLowerCase()}
                </option>
              ))}
            </select>
          </Field>
          {cards.map((card, i) => (
            <CardEditor
              key={i}
              title={`Card ${i + 1}`}
              card={card}
              onChange={(c) => setCards(cards.map((x, j) => (j === i ? c : x)))}
              onRemove={() => setCards(cards.filter((_, j) => j !== i))}
              errors={errors}
              prefix={`${prefix}cards.${i}`}
            />
          ))}
          <span className="row-gap">
            <button type="button" className="btn btn-sm" disabled={cards.length >= MAX_CAROUSEL} onClick={() => setCards([...cards, { title: '', description: '' }])}>
              + Add card
            </button>
            <span className="muted small">
              {cards.length}/{MAX_CAROUSEL} cards
            </span>
          </span>
        </>
      )}
      <SuggestionsEditor
        label="Suggestion"
        list={(content.suggestions as RcsSuggestion[] | undefined) ?? []}
        max={MAX_SUGGESTIONS}
        onChange={(l) => {
          const next = { ...content, suggestions: l };
          if (l === undefined) delete next.suggestions;
          onChange(next);
        }}
        errors={errors}
        prefix={`${prefix}suggestions`}
      />
    </div>
  );
}

function CardView({ card }: { card: RcsCard }) {
  return (
    <div className="rcs-card" data-testid="rcs-card">
      {card.media_url && <img className={`rcs-media rcs-media-${(card.media_height ?? 'MEDIUM').toLowerCase()}`} src={card.media_url} alt="" />}
      {card.title && <div className="rcs-card-title">{card.title}</div>}
      {card.description && <div className="rcs-card-description">{card.description}</div>}
      {(card.suggestions ?? []).map((s, i) => (
        <div key={i} className="rcs-card-action">
          {s.text}
        </div>
      ))}
    </div>
  );
}

/** The rendered message as an RCS phone shows it: the agent's bubble or card(s), then the
 * suggestion chips to tap. */
export function RcsPhone({ content }: { content: Content }) {
  const layout = rcsLayout(content);
  const cards = Array.isArray(content.cards) ? (content.cards as RcsCard[]) : [];
  const text = String(content.text ?? '');
  return (
    <div className="rcs-phone" data-testid="rcs-phone">
      <div className="rcs-screen">
        {layout === 'text' && (
          <>
            {typeof content.media_url === 'string' && content.media_url ? <CardView card={{ description: text, media_url: content.media_url }} /> : <div className="rcs-bubble">{text}</div>}
          </>
        )}
        {layout === 'card' && <CardView card={(content.card ?? {}) as RcsCard} />}
        {layout === 'carousel' && (
          <div className={`rcs-carousel rcs-width-${String(content.card_width ?? 'MEDIUM').toLowerCase()}`} data-testid="rcs-carousel">
            {cards.map((c, i) => (
              <CardView key={i} card={c} />
            ))}
          </div>
        )}
        {Array.isArray(content.suggestions) && content.suggestions.length > 0 && (
          <div className="rcs-chips">
            {(content.suggestions as RcsSuggestion[]).map((s, i) => (
              <span key={i} className="rcs-chip" data-testid="rcs-chip">
                {s.text}
              </span>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}

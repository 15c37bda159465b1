// RCS Business Messaging's content rules, as channels_app/rcs.py checks them: a text (the fallback
// with a card), a standalone rich card or a carousel of 2–10 cards, and suggested replies/actions.

export interface RcsSuggestion {
  type: 'reply' | 'url' | 'dial';
  text: string;
  postback_data?: string;
  url?: string;
  phone?: string;
}

export interface RcsCard {
  title?: string;
  description?: string;
  media_url?: string;
  media_height?: string;
  suggestions?: RcsSuggestion[];
}

export const MAX_TEXT = 3072;
export const MAX_SUGGESTIONS = 11; // on the message
export const MAX_CARD_SUGGESTIONS = 4; // on one card
export const MAX_SUGGESTION_TEXT = 25;
export const MAX_POSTBACK = 2048;
export const MAX_CARD_TITLE = 200;
export const MAX_CARD_DESCRIPTION = 2000;
export const MIN_CAROUSEL = 2;
export const MAX_CAROUSEL = 10;
export const CARD_WIDTHS = ['MEDIUM', 'SMALL'] as const;
export const MEDIA_HEIGHTS = ['MEDIUM', 'SHORT', 'TALL'] as const;
export const SUGGESTION_TYPES: Record<RcsSuggestion['type'], string> = { reply: 'Reply', url: 'Open URL', dial: 'Dial' };
/** what each action suggestion needs besides its text */
export const SUGGESTION_NEEDS: Record<RcsSuggestion['type'], 'url' | 'phone' | null> = { reply: null, url: 'url', dial: 'phone' };

export type RcsLayout = 'text' | 'card' | 'carousel';

export function rcsLayout(content: Record<string, unknown>): RcsLayout {
  if (Array.isArray(content.cards)) return 'carousel';
  if (content.card && typeof content.card === 'object') return 'card';
  return 'text';
}

type Add = (field: string, message: string) => void;

function tooLong(value: unknown, limit: number, where: string, add: Add) {
  if (typeof value === 'string' && value.length > limit) add(where, `${value.length} characters; RCS allows ${limit}.`);
}

function suggestionHints(list: unknown, limit: number, where: string, add: Add) {
  if (!Array.isArray(list)) return;
  if (list.length > limit) add(where, `At most ${limit} suggestions; got ${list.length}.`);
  list.forEach((raw, i) => {
    const s = (raw ?? {}) as RcsSuggestion;
    const at = `${where}.${i}`;
    if (!String(s.text ?? '').trim()) add(`${at}.text`, 'A suggestion needs its text.');
    tooLong(s.text, MAX_SUGGESTION_TEXT, `${at}.text`, add);
    tooLong(s.postback_data, MAX_POSTBACK, `${at}.postback_data`, add);
    const needs = SUGGESTION_NEEDS[s.type ?? 'reply'];
    if (needs && !String(s[needs] ?? '').trim()) add(`${at}.${needs}`, needs === 'url' ? 'An Open URL suggestion needs its URL.' : 'A Dial suggestion needs the phone number.');
  });
}

function cardHints(raw: unknown, where: string, add: Add) {
  const card = (raw ?? {}) as RcsCard;
  if (![card.title, card.description, card.media_url].some((v) => String(v ?? '').trim())) add(`${where}.title`, 'A card needs a title, a description or media.');
  tooLong(card.title, MAX_CARD_TITLE, `${where}.title`, add);
  tooLong(card.description, MAX_CARD_DESCRIPTION, `${where}.description`, add);
  tooLong(card.media_url, MAX_POSTBACK, `${where}.media_url`, add);
  suggestionHints(card.suggestions, MAX_CARD_SUGGESTIONS, `${where}.suggestions`, add);
}

/** The problems of an RCS content, each named by its field under `prefix`. */
export function rcsHints(content: Record<string, unknown>, prefix: string, add: Add) {
  tooLong(content.text, MAX_TEXT, `${prefix}text`, add);
  if (content.card && typeof content.card === 'object') cardHints(content.card, `${prefix}card`, add);
  if (Array.isArray(content.cards)) {
    const n = content.cards.length;
    if (n < MIN_CAROUSEL || n > MAX_CAROUSEL) add(`${prefix}cards`, `A carousel has ${MIN_CAROUSEL}–${MAX_CAROUSEL} cards; it has ${n}.`);
    content.cards.forEach((c, i) => cardHints(c, `${prefix}cards.${i}`, add));
  }
  suggestionHints(content.suggestions, MAX_SUGGESTIONS, `${prefix}suggestions`, add);
}

/** The content switched to another layout: a card becomes the carousel's first card and back. */
export function withLayout(content: Record<string, unknown>, layout: RcsLayout): Record<string, unknown> {
  const rest = { ...content };
  const cards = Array.isArray(content.cards) ? (content.cards as RcsCard[]) : [];
  const card = content.card && typeof content.card === 'object' ? (content.card as RcsCard) : undefined;
  delete rest.card;
  delete rest.cards;
  delete rest.card_width;
  if (layout === 'card') rest.card = card ?? cards[0] ?? { title: '', description: '' };
  if (layout === 'carousel') {
    const first = card ?? cards[0] ?? { title: '', description: '' };
    rest.cards = cards.length ? cards : [first, { title: '', description: '' }];
  }
  return rest;
}

import { describe, expect, it } from 'vitest';

import { rcsHints, rcsLayout, withLayout } from './rcs';

function problems(content: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  rcsHints(content, 'content.', (field, message) => (out[field] = message));
  return out;
}

describe('rcs rules', () => {
  it('names each card and suggestion field over RBM limits, as the server does', () => {
    const found = problems({
      text: 'Hi',
      cards: [{ title: '' }, { title: 'x'.repeat(201), suggestions: [{ type: 'url', text: 'Open the product page now!' }] }],
      suggestions: [{ type: 'dial', text: 'Call' }],
    });
    expect(found).toEqual({
      'content.cards.0.title': 'A card needs a title, a description or media.',
      'content.cards.1.title': '201 characters; RCS allows 200.',
      'content.cards.1.suggestions.0.text': '26 characters; RCS allows 25.',
      'content.cards.1.suggestions.0.url': 'An Open URL suggestion needs its URL.',
      'content.suggestions.0.phone': 'A Dial suggestion needs the phone number.',
    });
  });

  it('counts a carousel of 2 to 10 cards', () => {
    expect(problems({ text: 'a', cards: [{ title: 'one' }] })['content.cards']).toBe('A carousel has 2–10 cards; it has 1.');
    expect(problems({ text: 'a', cards: Array.from({ length: 10 }, () => ({ title: 't' })) })).toEqual({});
  });

  it('turns a card into a carousel and back, keeping the card', () => {
    const carousel = withLayout({ text: 'a', card: { title: 'Lamp' } }, 'carousel');
    expect(rcsLayout(carousel)).toBe('carousel');
    expect(carousel.cards).toEqual([{ title: 'Lamp' }, { title: '', description: '' }]);
    const card = withLayout(carousel, 'card');
    expect(card).toEqual({ text: 'a', card: { title: 'Lamp' } });
    expect(withLayout(card, 'text')).toEqual({ text: 'a' });
  });
});

import { describe, expect, it } from 'vitest';

import { journeyEventNames, simulatedEvents } from './simulate';

describe('journeyEventNames', () => {
  it('lists the trigger first, then waits, branches, exits and goals, each once', () => {
    const graph = {
      nodes: [
        { id: 'w', type: 'wait', config: { mode: 'event', event: 'purchase', timeout: { value: 1, unit: 'days' } } },
        { id: 'b', type: 'branch', config: { groups: [{ id: 'g', condition: { any: [{ event: 'page_view' }, { event: 'purchase' }] } }] } },
      ],
    };
    const settings = {
      entry: { type: 'event', events: [{ name: 'cart_abandoned' }] },
      exit_conditions: [{ event: 'unsubscribe' }],
      goals: [{ id: 'g1', condition: { event: 'purchase' } }],
    };
    expect(journeyEventNames(graph, settings)).toEqual(['cart_abandoned', 'purchase', 'page_view', 'unsubscribe']);
  });

  it('is empty for a journey with no events', () => {
    expect(journeyEventNames({ nodes: [] }, { entry: { type: 'api' } })).toEqual([]);
  });
});

describe('simulatedEvents', () => {
  it('places each event at its offset and drops unnamed rows', () => {
    const start = new Date('2026-01-01T10:00:00Z');
    expect(
      simulatedEvents(
        [
          { name: 'cart_abandoned', properties: { item: 'Boots' }, afterMinutes: 0 },
          { name: ' ', properties: {}, afterMinutes: 5 },
          { name: 'purchase', properties: {}, afterMinutes: 45 },
        ],
        start,
      ),
    ).toEqual([
      { name: 'cart_abandoned', properties: { item: 'Boots' }, timestamp: '2026-01-01T10:00:00.000Z' },
      { name: 'purchase', properties: {}, timestamp: '2026-01-01T10:45:00.000Z' },
    ]);
  });
});

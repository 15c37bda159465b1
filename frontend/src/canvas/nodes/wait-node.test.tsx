import { describe, expect, it } from 'vitest';

import { dateSummary, waitSummary } from './wait-node';

describe('date wait summary', () => {
  it('says the date, the offset and the time in plain words', () => {
    expect(dateSummary({ mode: 'date', attribute: 'appointment_at', offset: { value: -1, unit: 'days' }, time: '09:00' })).toBe(
      '1 day before appointment_at, at 09:00 their time',
    );
    expect(dateSummary({ mode: 'date', attribute: 'renewal_on', offset: { value: 2, unit: 'weeks' } })).toBe('2 weeks after renewal_on');
    expect(dateSummary({ mode: 'date', event_property: 'starts_at' })).toBe('On the event’s starts_at');
    expect(waitSummary({ mode: 'date', attribute: '' })).toBe('On ?');
  });

  it('names the same-key filter of an event wait', () => {
    expect(waitSummary({ mode: 'event', event: 'purchase', same_key: true, timeout: { value: 1, unit: 'days' } })).toBe(
      'Until “purchase” with this run’s key, at most 1 day',
    );
  });
});

import { describe, expect, it } from 'vitest';

import { exitSameKey, soleEventRule } from './settings';

describe('same key on an exit condition', () => {
  it('sets the flag on the one event rule of a group (where the API takes it)', () => {
    expect(exitSameKey({ all: [{ event: 'purchase', where: [{ property: 'total', op: 'gt', value: 0 }] }] }, true)).toEqual({
      event: 'purchase',
      where: [{ property: 'total', op: 'gt', value: 0 }],
      same_key: true,
    });
    expect(exitSameKey({ any: [{ event: 'purchase' }] }, true)).toEqual({ event: 'purchase', same_key: true });
  });

  it('clears the flag and keeps the rule', () => {
    expect(exitSameKey({ event: 'purchase', same_key: true }, false)).toEqual({ event: 'purchase' });
  });

  it('leaves a condition that is not one event rule without a flag', () => {
    const two = { all: [{ event: 'purchase' }, { attribute: 'plan', op: 'eq', value: 'pro' }] };
    expect(soleEventRule(two)).toBeNull();
    expect(exitSameKey(two, true)).toBe(two);
    expect(soleEventRule({ attribute: 'plan', op: 'eq', value: 'pro' })).toBeNull();
  });
});

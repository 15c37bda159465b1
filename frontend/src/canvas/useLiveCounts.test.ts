import { describe, expect, it } from 'vitest';

import { countsFrom } from './useLiveCounts';

describe('countsFrom', () => {
  it('reads the REST list and the websocket map alike', () => {
    expect(countsFrom({ nodes: [{ node_id: 'a', entered: 1 }] })).toEqual([{ node_id: 'a', entered: 1 }]);
    expect(countsFrom({ type: 'counts', nodes: { a: { entered: 2, passed: 1 } } })).toEqual([{ node_id: 'a', entered: 2, passed: 1 }]);
  });

  it('ignores messages that carry no counts', () => {
    expect(countsFrom({ type: 'hello' })).toBeNull();
    expect(countsFrom('nope')).toBeNull();
  });
});

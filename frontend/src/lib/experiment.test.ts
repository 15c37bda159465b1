import { describe, expect, it } from 'vitest';

import { experimentProblems, newExperiment } from './experiment';

describe('experimentProblems', () => {
  it('accepts a new experiment on a known goal and no experiment at all', () => {
    expect(experimentProblems(newExperiment('bought'), ['bought'])).toEqual([]);
    expect(experimentProblems(undefined, [])).toEqual([]);
    expect(experimentProblems(newExperiment('clicked'))).toEqual([]);
    expect(experimentProblems(newExperiment(''))[0].field).toBe('experiment.goal_id');
  });

  it('names each bad field as the server does', () => {
    const bad = { goal_id: 'gone', min_per_path: 0, decide_after: { value: 0, unit: 'days' }, confidence: 1 };
    expect(experimentProblems(bad, ['bought']).map((p) => p.field)).toEqual([
      'experiment.goal_id',
      'experiment.min_per_path',
      'experiment.decide_after',
      'experiment.confidence',
    ]);
  });
});

// A split's or message's "experiment" (API.md "Goals, conversions and experiments"): its defaults
// and the problems the canvas shows before the server's validate does.
import type { ConfigProblem } from './node-types';
import { durationProblem } from './rules';
import type { Duration } from './settings';

export interface Experiment {
  /** a journey goal's id, or for a message "opened" / "clicked" */
  goal_id: string;
  min_per_path?: number;
  decide_after: Duration;
  confidence?: number;
}

/** Message experiments may also be won by the receipt rate. */
export const RECEIPT_GOALS = ['opened', 'clicked'] as const;
export const CONFIDENCES = [0.8, 0.9, 0.95, 0.99];

export function newExperiment(goalId: string): Experiment {
  return { goal_id: goalId, min_per_path: 100, decide_after: { value: 7, unit: 'days' }, confidence: 0.95 };
}

/** Problems of `config.experiment`, named as the server names them (`experiment.<field>`); the
 * goal is checked against `goalIds` when they are known (node hints see only the node). */
export function experimentProblems(experiment: unknown, goalIds?: string[]): ConfigProblem[] {
  if (experiment == null) return [];
  const e = experiment as Partial<Experiment>;
  const out: ConfigProblem[] = [];
  if (typeof e.goal_id !== 'string' || e.goal_id === '' || (goalIds && !goalIds.includes(e.goal_id))) out.push({ field: 'experiment.goal_id', message: 'Pick the goal that decides the winner.' });
  if (e.min_per_path !== undefined && !(Number.isInteger(e.min_per_path) && e.min_per_path >= 1)) {
    out.push({ field: 'experiment.min_per_path', message: 'Must be a whole number of at least 1.' });
  }
  const late = durationProblem(e.decide_after);
  if (late) out.push({ field: 'experiment.decide_after', message: late });
  if (e.confidence !== undefined && !(typeof e.confidence === 'number' && e.confidence >= 0.5 && e.confidence < 1)) {
    out.push({ field: 'experiment.confidence', message: 'Must be from 50% up to (not including) 100%.' });
  }
  return out;
}

// Experiment settings of a split or message node (API.md "Goals, conversions and experiments"):
// whether a winner is picked automatically, by which goal, after how long and how many customers
// per path, at what confidence. The journey's goals come from the canvas's settings.
import { Field } from '../components/ui';
import { DurationInput } from '../components/inputs';
import { CONFIDENCES, type Experiment, newExperiment, RECEIPT_GOALS } from '../lib/experiment';
import type { FormProps } from './nodes/node-ui';
import { useCanvasInfo } from './context';

export function ExperimentSettings({ config, set, errors, openSettings, arms, receipts }: Pick<FormProps, 'config' | 'set' | 'errors' | 'openSettings'> & { arms: 'path' | 'variant'; receipts?: readonly string[] }) {
  const { settings } = useCanvasInfo();
  const goals = settings.goals ?? [];
  const experiment = (config.experiment ?? null) as Experiment | null;
  const choices: { id: string; label: string }[] = [
    ...goals.map((g) => ({ id: g.id, label: g.name || g.id })),
    ...(receipts ?? []).filter((r) => (RECEIPT_GOALS as readonly string[]).includes(r)).map((r) => ({ id: r, label: `${r[0].toUpperCase()}${r.slice(1)} rate` })),
  ];
  const put = (patch: Partial<Experiment>) => set({ experiment: { ...experiment!, ...patch } });
  const confidence = experiment?.confidence ?? 0.95;
  return (
    <section className="stack" aria-label="Experiment">
      <label className="check">
        <input
          type="checkbox"
          checked={!!experiment}
          onChange={(e) => set({ experiment: e.target.checked ? newExperiment(choices[0]?.id ?? '') : undefined })}
        />
        Pick the winning {arms} automatically
      </label>
      {errors('experiment') && <p className="form-error">{errors('experiment')}</p>}
      {experiment && (
        <>
          <Field label="Winning goal" hint={`The ${arms} with the best rate of this wins.`} error={errors('experiment.goal_id')}>
            <select value={experiment.goal_id} onChange={(e) => put({ goal_id: e.target.value })}>
              {!choices.some((c) => c.id === experiment.goal_id) && <option value={experiment.goal_id}>{experiment.goal_id ? `${experiment.goal_id} (no such goal)` : 'Pick a goal'}</option>}
              {choices.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
          </Field>
          {goals.length === 0 && (
            <p className="muted small">
              The journey has no goal yet.{' '}
              <button type="button" className="btn btn-sm" onClick={openSettings}>
                Add a goal in journey settings
              </button>
            </p>
          )}
          <div className="row-gap">
            <Field label={`Minimum customers per ${arms}`} error={errors('experiment.min_per_path')}>
              <input
                type="number"
                min={1}
                step={1}
                value={experiment.min_per_path ?? 100}
                onChange={(e) => put({ min_per_path: e.target.value === '' ? NaN : Number(e.target.value) })}
              />
            </Field>
            <Field label="Confidence" error={errors('experiment.confidence')}>
              <select value={String(confidence)} onChange={(e) => put({ confidence: Number(e.target.value) })}>
                {[...new Set([...CONFIDENCES, confidence])].sort().map((c) => (
                  <option key={c} value={String(c)}>
                    {Math.round(c * 1000) / 10}%
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <Field label="Decide no sooner than" hint="After the journey goes live." error={errors('experiment.decide_after')}>
            <DurationInput label="Decide after" value={experiment.decide_after} onChange={(d) => put({ decide_after: d })} />
          </Field>
          <p className="muted small" data-testid="experiment-after-winner">
            Once a {arms} wins, every customer who arrives later gets it; customers already past this step keep theirs. The
            check runs every minute with a test that stays valid however often it looks.
          </p>
        </>
      )}
    </section>
  );
}

// A random split (A/B test): sticky per customer, percents sum to 100.
import { Button, Field } from '../../components/ui';
import { type Config, type JourneyNodeData, slugId } from '../../lib/graph';
import { experimentProblems } from '../../lib/experiment';
import type { ConfigProblem } from '../../lib/node-types';
import { ExperimentSettings } from '../ExperimentSettings';
import type { FormProps, NodeUi } from './node-ui';

function Summary({ data }: { data: JourneyNodeData }) {
  const paths = (Array.isArray(data.config.paths) ? data.config.paths : []) as { name?: string; percent?: number }[];
  return <>{paths.map((p) => `${p.name || '?'} ${p.percent ?? 0}%`).join(' / ')}</>;
}

function hints(c: Config): ConfigProblem[] {
  const paths = Array.isArray(c.paths) ? (c.paths as { percent?: unknown }[]) : [];
  if (paths.length < 2) return [{ field: 'paths', message: 'At least two paths are required.' }, ...experimentProblems(c.experiment)];
  const total = paths.reduce((sum: number, p) => sum + (typeof p.percent === 'number' ? p.percent : 0), 0);
  const sums = Math.abs(total - 100) > 1e-9 ? [{ field: 'paths', message: `Percents must sum to 100 (they sum to ${total}).` }] : [];
  return [...sums, ...experimentProblems(c.experiment)];
}

function Form({ config, set, errors, openSettings }: FormProps) {
  const paths = (Array.isArray(config.paths) ? config.paths : []) as { id: string; name: string; percent: number }[];
  const put = (next: typeof paths) => set({ paths: next });
  const total = paths.reduce((s, p) => s + (Number(p.percent) || 0), 0);
  return (
    <div className="stack">
      {paths.map((p, i) => (
        <div key={p.id} className="row-gap">
          <Field label={`Path ${i + 1} name`} error={errors(`paths.${i}.name`)}>
            <input value={p.name} onChange={(e) => put(paths.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
          </Field>
          <Field label="Percent" error={errors(`paths.${i}.percent`)}>
            <input type="number" min={1} max={100} value={p.percent} onChange={(e) => put(paths.map((x, j) => (j === i ? { ...x, percent: Number(e.target.value) } : x)))} />
          </Field>
          {paths.length > 2 && (
            <button type="button" className="icon-btn" aria-label={`Remove path ${i + 1}`} onClick={() => put(paths.filter((_, j) => j !== i))}>
              ×
            </button>
          )}
        </div>
      ))}
      <p className={total === 100 ? 'muted small' : 'form-error'}>Total: {total}% {total !== 100 && '(must be 100)'}</p>
      {errors('paths') && <p className="form-error">{errors('paths')}</p>}
      <Button
        size="sm"
        onClick={() => {
          const letter = String.fromCharCode(97 + paths.length);
          put([...paths, { id: slugId(letter, paths.map((p) => p.id), 'path'), name: letter.toUpperCase(), percent: 0 }]);
        }}
      >
        + Add path
      </Button>
      <ExperimentSettings config={config} set={set} errors={errors} openSettings={openSettings} arms="path" />
    </div>
  );
}

export const ui: NodeUi = { type: 'split', Summary, Form, hints };

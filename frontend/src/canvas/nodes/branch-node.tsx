// A user branch: groups of profile conditions, first match wins, everyone else takes `else`.
import { Button, Field } from '../../components/ui';
import { ConditionEditor } from '../../components/inputs';
import { type Config, type JourneyNodeData, slugId } from '../../lib/graph';
import type { ConfigProblem } from '../../lib/node-types';
import { isEmptyCondition } from '../../lib/rules';
import { type Condition, conditionSummary } from '../../lib/settings';
import type { FormProps, NodeUi } from './node-ui';

function Summary({ data }: { data: JourneyNodeData }) {
  const groups = (Array.isArray(data.config.groups) ? data.config.groups : []) as { name?: string; condition?: Condition }[];
  return groups.length ? (
    <span className="clip">{groups.map((g) => `${g.name || 'Group'}: ${conditionSummary(g.condition)}`).join(' · ')}</span>
  ) : (
    <span className="muted">No groups yet</span>
  );
}

function hints(c: Config): ConfigProblem[] {
  const groups = Array.isArray(c.groups) ? (c.groups as { condition?: unknown }[]) : [];
  const out: ConfigProblem[] = groups.length === 0 ? [{ field: 'groups', message: 'At least one group is required.' }] : [];
  groups.forEach((g, i) => {
    if (isEmptyCondition(g.condition)) out.push({ field: `groups.${i}.condition`, message: 'Add at least one rule to this group.' });
  });
  return out;
}

function Form({ config, set, errors }: FormProps) {
  const groups = (Array.isArray(config.groups) ? config.groups : []) as { id: string; name: string; condition: Condition }[];
  const put = (next: typeof groups) => set({ groups: next });
  return (
    <div className="stack">
      <p className="muted small">Groups are checked top to bottom; a customer takes the first that matches, else “Everyone else”.</p>
      {errors('groups') && <p className="form-error">{errors('groups')}</p>}
      {groups.map((g, i) => (
        <section key={g.id} className="group-card">
          <div className="row-gap">
            <Field label={`Group ${i + 1} name`}>
              <input value={g.name} onChange={(e) => put(groups.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
            </Field>
            <button type="button" className="icon-btn" aria-label={`Remove group ${i + 1}`} onClick={() => put(groups.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>
          <Field label="Who" error={errors(`groups.${i}.condition`)}>
            <ConditionEditor value={g.condition} onChange={(c) => put(groups.map((x, j) => (j === i ? { ...x, condition: c } : x)))} />
          </Field>
        </section>
      ))}
      <Button
        size="sm"
        onClick={() => {
          const name = `Group ${groups.length + 1}`;
          put([...groups, { id: slugId(name, groups.map((g) => g.id), 'group'), name, condition: { all: [] } }]);
        }}
      >
        + Add group
      </Button>
    </div>
  );
}

export const ui: NodeUi = { type: 'branch', Summary, Form, hints };

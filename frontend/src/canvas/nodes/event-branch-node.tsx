// An event branch: did the customer do an event (since entry or within a duration)?
import { Field } from '../../components/ui';
import { EventNameInput } from '../../components/event-names';
import { DurationInput, FiltersEditor } from '../../components/inputs';
import type { Config, JourneyNodeData } from '../../lib/graph';
import type { ConfigProblem } from '../../lib/node-types';
import { blank, durationProblem } from '../../lib/rules';
import { type Duration, type Filter, formatDuration } from '../../lib/settings';
import type { FormProps, NodeUi } from './node-ui';

function Summary({ data }: { data: JourneyNodeData }) {
  const within = data.config.within === 'since_entry' ? 'since entry' : `in the last ${formatDuration(data.config.within)}`;
  const own = data.config.same_key ? ' with this run’s key' : '';
  return data.config.event ? <>{`Did “${data.config.event}”${own} ${within}?`}</> : <span className="muted">No event chosen</span>;
}

function hints(c: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (blank(c.event)) out.push({ field: 'event', message: 'Name the event.' });
  if (c.within !== 'since_entry') {
    const problem = durationProblem(c.within);
    if (problem) out.push({ field: 'within', message: problem });
  }
  return out;
}

function Form({ config, set, errors }: FormProps) {
  const since = config.within === 'since_entry';
  return (
    <div className="stack">
      <Field label="Event name *" error={errors('event')}>
        <EventNameInput value={String(config.event ?? '')} onChange={(event) => set({ event })} placeholder="e.g. purchase" />
      </Field>
      <Field label="Where" error={errors('where')}>
        <FiltersEditor value={config.where as Filter[]} onChange={(w) => set({ where: w.length ? w : undefined })} />
      </Field>
      <Field label="Looking back" error={errors('within')}>
        <span className="row-gap">
          <select value={since ? 'since_entry' : 'within'} onChange={(e) => set({ within: e.target.value === 'since_entry' ? 'since_entry' : { value: 7, unit: 'days' } })}>
            <option value="since_entry">since entering the journey</option>
            <option value="within">within the last…</option>
          </select>
          {!since && <DurationInput label="within" value={config.within as Duration} onChange={(d) => set({ within: d })} />}
        </span>
      </Field>
      <label className="check">
        <input type="checkbox" checked={!!config.same_key} onChange={(e) => set({ same_key: e.target.checked || undefined })} />
        Same key: only events carrying this run’s key (keyed journeys)
      </label>
    </div>
  );
}

export const ui: NodeUi = { type: 'event_branch', Summary, Form, hints };

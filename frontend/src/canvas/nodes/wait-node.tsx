// A wait: a duration, until a time of day, or for an event (with a timeout).
import { Field } from '../../components/ui';
import { DurationInput, FiltersEditor } from '../../components/inputs';
import type { Config, JourneyNodeData } from '../../lib/graph';
import type { ConfigProblem } from '../../lib/node-types';
import { blank, durationProblem } from '../../lib/rules';
import { type Duration, type Filter, formatDuration } from '../../lib/settings';
import type { FormProps, NodeUi } from './node-ui';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export function waitSummary(config: JourneyNodeData['config']): string {
  if (config.mode === 'duration') return `Wait ${formatDuration(config.duration)}`;
  if (config.mode === 'until') {
    const days = Array.isArray(config.days) && config.days.length ? ` on ${config.days.join(', ')}` : '';
    return `Until ${config.time || '?'}${days} (customer time)`;
  }
  if (config.mode === 'event') return `Until “${config.event || '?'}”, at most ${formatDuration(config.timeout)}`;
  return 'Choose how to wait';
}

function hints(c: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const add = (field: string, message: string) => out.push({ field, message });
  if (c.mode === 'duration') {
    const problem = durationProblem(c.duration);
    if (problem) add('duration', problem);
  } else if (c.mode === 'until') {
    if (!HHMM.test(String(c.time ?? ''))) add('time', 'A time of day as HH:MM.');
  } else if (c.mode === 'event') {
    if (blank(c.event)) add('event', 'Name the event to wait for.');
    const problem = durationProblem(c.timeout);
    if (problem) add('timeout', problem);
  } else add('mode', 'Pick how to wait.');
  return out;
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function Form({ config, set, errors }: FormProps) {
  const mode = String(config.mode ?? 'duration');
  const switchMode = (m: string) => {
    if (m === 'duration') set({ mode: m, duration: { value: 1, unit: 'days' }, time: undefined, days: undefined, event: undefined, where: undefined, timeout: undefined });
    if (m === 'until') set({ mode: m, time: '09:00', duration: undefined, event: undefined, where: undefined, timeout: undefined });
    if (m === 'event') set({ mode: m, event: '', timeout: { value: 1, unit: 'days' }, duration: undefined, time: undefined, days: undefined });
  };
  return (
    <div className="stack">
      <Field label="Wait" error={errors('mode')}>
        <select value={mode} onChange={(e) => switchMode(e.target.value)}>
          <option value="duration">for a duration</option>
          <option value="until">until a time of day</option>
          <option value="event">until an event (with a timeout)</option>
        </select>
      </Field>
      {mode === 'duration' && (
        <Field label="Duration" error={errors('duration')}>
          <DurationInput label="Duration" value={config.duration as Duration} onChange={(d) => set({ duration: d })} />
        </Field>
      )}
      {mode === 'until' && (
        <>
          <Field label="Time (customer's time zone)" error={errors('time')}>
            <input type="time" value={String(config.time ?? '')} onChange={(e) => set({ time: e.target.value })} />
          </Field>
          <Field label="On days" hint="None checked means any day." error={errors('days')}>
            <span className="checks">
              {WEEKDAYS.map((d) => {
                const days = (config.days as string[]) ?? [];
                return (
                  <label key={d} className="check">
                    <input
                      type="checkbox"
                      checked={days.includes(d)}
                      onChange={(e) => {
                        const next = e.target.checked ? [...days, d] : days.filter((x) => x !== d);
                        set({ days: next.length ? WEEKDAYS.filter((w) => next.includes(w)) : undefined });
                      }}
                    />
                    {d}
                  </label>
                );
              })}
            </span>
          </Field>
        </>
      )}
      {mode === 'event' && (
        <>
          <Field label="Event name *" error={errors('event')}>
            <input value={String(config.event ?? '')} onChange={(e) => set({ event: e.target.value })} placeholder="e.g. order_completed" />
          </Field>
          <Field label="Where" error={errors('where')}>
            <FiltersEditor value={config.where as Filter[]} onChange={(w) => set({ where: w.length ? w : undefined })} />
          </Field>
          <Field label="Give up after" error={errors('timeout')}>
            <DurationInput label="Timeout" value={config.timeout as Duration} onChange={(d) => set({ timeout: d })} />
          </Field>
        </>
      )}
    </div>
  );
}

export const ui: NodeUi = {
  type: 'wait',
  Summary: ({ data }) => <>{waitSummary(data.config)}</>,
  Form,
  hints,
  card: (config) => (config.mode === 'event' ? { icon: 'WE', label: 'Wait for event' } : { label: 'Wait' }),
};

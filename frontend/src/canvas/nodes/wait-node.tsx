// A wait: a duration, until a time of day, for an event (with a timeout), or until a date read
// from the profile or the trigger event (with an offset and a time of day).
import { Field } from '../../components/ui';
import { EventNameInput } from '../../components/event-names';
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
  if (config.mode === 'event') {
    const own = config.same_key ? ' with this run’s key' : '';
    return `Until “${config.event || '?'}”${own}, at most ${formatDuration(config.timeout)}`;
  }
  if (config.mode === 'date') return dateSummary(config);
  return 'Choose how to wait';
}

/** "1 day before appointment_at, at 09:00 their time": the date wait in plain words. */
export function dateSummary(config: Config): string {
  const source = config.event_property ? `the event’s ${String(config.event_property)}` : String(config.attribute || '?');
  const offset = config.offset as Duration | undefined;
  const amount = offset && typeof offset.value === 'number' ? offset.value : 0;
  const when = amount === 0 ? `On ${source}` : `${formatDuration({ ...offset, value: Math.abs(amount) })} ${amount < 0 ? 'before' : 'after'} ${source}`;
  return config.time ? `${when}, at ${String(config.time)} their time` : when;
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
  } else if (c.mode === 'date') {
    if (blank(c.attribute) && blank(c.event_property)) add(c.event_property === undefined ? 'attribute' : 'event_property', 'Name where the date is.');
    if (c.time !== undefined && !HHMM.test(String(c.time))) add('time', 'A time of day as HH:MM.');
  } else add('mode', 'Pick how to wait.');
  return out;
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function Form({ config, set, errors }: FormProps) {
  const mode = String(config.mode ?? 'duration');
  const switchMode = (m: string) => {
    // Every field of every mode cleared, then the new mode's defaults: no field of the old mode stays behind.
    const clear = { duration: undefined, time: undefined, days: undefined, event: undefined, where: undefined, timeout: undefined, same_key: undefined, attribute: undefined, event_property: undefined, offset: undefined };
    if (m === 'duration') set({ ...clear, mode: m, duration: { value: 1, unit: 'days' } });
    if (m === 'until') set({ ...clear, mode: m, time: '09:00' });
    if (m === 'event') set({ ...clear, mode: m, event: '', timeout: { value: 1, unit: 'days' } });
    if (m === 'date') set({ ...clear, mode: m, attribute: '' });
  };
  return (
    <div className="stack">
      <Field label="Wait" error={errors('mode')}>
        <select aria-label="How to wait" value={mode} onChange={(e) => switchMode(e.target.value)}>
          <option value="duration">for a duration</option>
          <option value="until">until a time of day</option>
          <option value="event">until an event (with a timeout)</option>
          <option value="date">until a date (profile or trigger event)</option>
        </select>
      </Field>
      {mode === 'date' && <DateForm config={config} set={set} errors={errors} />}
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
            <EventNameInput value={String(config.event ?? '')} onChange={(event) => set({ event })} placeholder="e.g. order_completed" />
          </Field>
          <Field label="Where" error={errors('where')}>
            <FiltersEditor value={config.where as Filter[]} onChange={(w) => set({ where: w.length ? w : undefined })} />
          </Field>
          <Field label="Give up after" error={errors('timeout')}>
            <DurationInput label="Timeout" value={config.timeout as Duration} onChange={(d) => set({ timeout: d })} />
          </Field>
          <label className="check">
            <input type="checkbox" checked={!!config.same_key} onChange={(e) => set({ same_key: e.target.checked || undefined })} />
            Same key: only an event carrying this run’s key (keyed journeys)
          </label>
        </>
      )}
    </div>
  );
}

function DateForm({ config, set, errors }: Pick<FormProps, 'config' | 'set' | 'errors'>) {
  const fromEvent = config.event_property !== undefined;
  const offset = config.offset as Duration | undefined;
  const amount = offset && typeof offset.value === 'number' ? offset.value : 0;
  const direction = amount < 0 ? 'before' : amount > 0 ? 'after' : 'on';
  const setOffset = (dir: string, d: Duration | undefined) =>
    set({ offset: dir === 'on' || !d ? undefined : { ...d, value: Math.abs(d.value) * (dir === 'before' ? -1 : 1) } });
  const magnitude = offset ? { ...offset, value: Math.abs(amount) } : undefined;
  return (
    <>
      <Field label="The date is in" error={errors(fromEvent ? 'event_property' : 'attribute')}>
        <span className="row-gap">
          <select
            aria-label="Date source"
            value={fromEvent ? 'event' : 'attribute'}
            onChange={(e) => set(e.target.value === 'event' ? { event_property: config.attribute ?? '', attribute: undefined } : { attribute: config.event_property ?? '', event_property: undefined })}
          >
            <option value="attribute">the customer attribute</option>
            <option value="event">the trigger event’s property</option>
          </select>
          <input
            aria-label="Date field"
            placeholder="e.g. appointment_at"
            value={String((fromEvent ? config.event_property : config.attribute) ?? '')}
            onChange={(e) => set(fromEvent ? { event_property: e.target.value } : { attribute: e.target.value })}
          />
        </span>
      </Field>
      <Field label="When" error={errors('offset')}>
        <span className="row-gap">
          <select aria-label="Offset direction" value={direction} onChange={(e) => setOffset(e.target.value, magnitude ?? { value: 1, unit: 'days' })}>
            <option value="on">on the date</option>
            <option value="before">before the date</option>
            <option value="after">after the date</option>
          </select>
          {direction !== 'on' && <DurationInput label="Offset" value={magnitude} onChange={(d) => setOffset(direction, d)} />}
        </span>
      </Field>
      <Field label="At a time of day (customer's time zone)" hint="Empty: the date's own time, or midnight for a date alone." error={errors('time')}>
        <input type="time" aria-label="Time of day" value={String(config.time ?? '')} onChange={(e) => set({ time: e.target.value || undefined })} />
      </Field>
      <p className="muted small" data-testid="date-wait-summary">
        {dateSummary(config)}. No date, an unreadable one or one already past leaves by “missed”.
      </p>
    </>
  );
}

export const ui: NodeUi = {
  type: 'wait',
  Summary: ({ data }) => <>{waitSummary(data.config)}</>,
  Form,
  hints,
  card: (config) =>
    config.mode === 'event' ? { icon: 'WE', label: 'Wait for event' } : config.mode === 'date' ? { icon: 'WD', label: 'Wait until date' } : { label: 'Wait' },
};

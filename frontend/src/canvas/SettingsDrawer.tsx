// Journey settings: target audience, entry, exit conditions, goals, re-entry, frequency cap,
// quiet hours, holdout and the entry window. Errors named `settings.<field>` by Validate show
// beside their field.
import { useEffect, useState } from 'react';

import { api } from '../api/client';
import { Button, Field } from '../components/ui';
import { ConditionEditor, DurationInput, FiltersEditor } from '../components/inputs';
import type { Problem } from '../lib/rules';
import { EventNameInput } from '../components/event-names';
import { type Condition, type Entry, ENTRY_TYPES, exitSameKey, type Goal, type JourneySettings, MAX_ENTRY_EVENTS, newEntry, soleEventRule } from '../lib/settings';

/** How customers enter, picked from the entry types. */
export function EntryTypeSelect({ value, onChange, label }: { value: Entry['type']; onChange: (type: Entry['type']) => void; label?: string }) {
  return (
    <select value={value} onChange={(e) => onChange(e.target.value as Entry['type'])} aria-label={label}>
      {ENTRY_TYPES.map((t) => (
        <option key={t.value} value={t.value}>
          {t.label}
        </option>
      ))}
    </select>
  );
}

/** The key property of an event entry: each value is its own run (two carts, two runs); the
 * properties the entry events carried lately are offered. */
function EntryKeyField({
  entry,
  error,
  onChange,
}: {
  entry: Extract<Entry, { type: 'event' }>;
  error?: string[];
  onChange: (key: { property: string } | undefined) => void;
}) {
  const [known, setKnown] = useState<string[]>([]);
  const names = entry.events.map((e) => e.name.trim()).filter(Boolean).join(',');
  useEffect(() => {
    if (!names) return setKnown([]);
    let live = true;
    api
      .GET('/api/v1/events/properties', { params: { query: { name: names.split(',') } } })
      .then(({ data }) => live && setKnown(data?.properties ?? []))
      .catch(() => live && setKnown([]));
    return () => {
      live = false;
    };
  }, [names]);
  const property = entry.key?.property ?? '';
  return (
    <Field
      label="Key property (optional)"
      hint={property ? `One run per ${property} value per customer: two ${property}s run apart.` : 'Leave empty for one run per customer. Set it (e.g. cart_id) to run once per value.'}
      error={error}
    >
      <input
        aria-label="Entry key property"
        list="entry-key-properties"
        value={property}
        placeholder="e.g. cart_id"
        onChange={(e) => onChange(e.target.value.trim() ? { property: e.target.value.trim() } : undefined)}
      />
      <datalist id="entry-key-properties" data-testid="entry-key-suggestions">
        {known.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
    </Field>
  );
}

function sameKeyOf(c: Condition): boolean {
  return 'event' in c && c.same_key === true;
}

/** A keyed journey's exit condition can match only the event carrying the run's key (a purchase
 * of cart A ends cart A's run, not cart B's). The API takes the flag on a single event rule, so
 * the toggle waits for one; it stays visible on a set flag whose key is gone, to clear it. */
function ExitSameKeyToggle({
  condition,
  index,
  keyProperty,
  onChange,
}: {
  condition: Condition;
  index: number;
  keyProperty: string | undefined;
  onChange: (on: boolean) => void;
}) {
  const on = sameKeyOf(condition);
  if (!keyProperty && !on) return null;
  const single = soleEventRule(condition) !== null;
  return (
    <label className="check" title={single ? undefined : 'Only for an exit condition that is one “Did event” rule.'}>
      <input type="checkbox" aria-label={`Exit condition ${index + 1} same key`} checked={on} disabled={!single} onChange={(e) => onChange(e.target.checked)} />
      {keyProperty ? `same ${keyProperty} only` : 'same key only (the entry has no key any more: clear this)'}
      {!single && <span className="muted small"> (one “Did event” rule only)</span>}
    </label>
  );
}

/** `datetime-local` value ↔ ISO with the browser's offset (the API wants a time zone). */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
function fromLocalInput(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

export function SettingsDrawer({
  settings,
  onChange,
  problems,
  readOnly,
  onClose,
}: {
  settings: JourneySettings;
  onChange: (s: JourneySettings) => void;
  problems: Problem[];
  readOnly: boolean;
  onClose: () => void;
}) {
  const err = (prefix: string) => {
    const found = problems.filter((p) => p.field === prefix || p.field.startsWith(`${prefix}.`)).map((p) => `${p.message}`);
    return found.length ? found : undefined;
  };
  const put = (patch: Partial<JourneySettings>) => onChange({ ...settings, ...patch });
  const entry = settings.entry ?? { type: 'api' };

  return (
    <aside className="side-panel side-wide" aria-label="Journey settings" data-testid="settings-drawer">
      <header className="side-head">
        <h2>Journey settings</h2>
        <button type="button" className="icon-btn" aria-label="Close settings" onClick={onClose}>
          ×
        </button>
      </header>
      <fieldset className="side-body" disabled={readOnly}>
        <section className="settings-section">
          <h3>Entry</h3>
          <Field label="Customers enter" error={err('settings.entry.type')}>
            <EntryTypeSelect value={entry.type} onChange={(type) => put({ entry: newEntry(type) })} label="Entry type" />
          </Field>
          {entry.type === 'event' && (
            <div className="stack">
              {entry.events.map((ev, i) => (
                <div key={i} className="group-card">
                  <div className="row-gap">
                    <Field label={`Entry event ${i + 1}`} error={err(`settings.entry.events.${i}.name`)}>
                      <EventNameInput
                        label={`Entry event ${i + 1} name`}
                        value={ev.name}
                        placeholder="e.g. signed_up"
                        onChange={(name) => put({ entry: { ...entry, events: entry.events.map((x, j) => (j === i ? { ...x, name } : x)) } })}
                      />
                    </Field>
                    {entry.events.length > 1 && (
                      <button type="button" className="icon-btn" aria-label={`Remove entry event ${i + 1}`} onClick={() => put({ entry: { ...entry, events: entry.events.filter((_, j) => j !== i) } })}>
                        ×
                      </button>
                    )}
                  </div>
                  <Field label="Where" error={err(`settings.entry.events.${i}.where`)}>
                    <FiltersEditor
                      value={ev.where}
                      onChange={(w) => put({ entry: { ...entry, events: entry.events.map((x, j) => (j === i ? { ...x, where: w.length ? w : undefined } : x)) } })}
                    />
                  </Field>
                </div>
              ))}
              {err('settings.entry.events') && <p className="form-error">{err('settings.entry.events')}</p>}
              <Button size="sm" disabled={entry.events.length >= MAX_ENTRY_EVENTS} onClick={() => put({ entry: { ...entry, events: [...entry.events, { name: '' }] } })}>
                + Add entry event ({entry.events.length}/{MAX_ENTRY_EVENTS})
              </Button>
              <EntryKeyField entry={entry} error={err('settings.entry.key')} onChange={(key) => put({ entry: { ...entry, key } })} />
            </div>
          )}
          {entry.type === 'segment' && (
            <div className="stack">
              <Field label="Segment id" hint="Or leave empty and write a condition below." error={err('settings.entry.segment_id')}>
                <input
                  type="number"
                  value={entry.segment_id ?? ''}
                  onChange={(e) =>
                    put({ entry: e.target.value ? { type: 'segment', segment_id: Number(e.target.value), recurring: entry.recurring } : { type: 'segment', condition: { all: [] }, recurring: entry.recurring } })
                  }
                />
              </Field>
              {entry.segment_id === undefined && (
                <Field label="Condition" error={err('settings.entry.condition')}>
                  <ConditionEditor inJourney={false} value={entry.condition} onChange={(c) => put({ entry: { ...entry, condition: c } })} />
                </Field>
              )}
              <label className="check">
                <input type="checkbox" checked={!!entry.recurring} onChange={(e) => put({ entry: { ...entry, recurring: e.target.checked } })} />
                Re-check the segment periodically (new members enter)
              </label>
            </div>
          )}
          {entry.type === 'list' && (
            <Field label="List id" error={err('settings.entry.list_id')}>
              <input type="number" value={entry.list_id ?? ''} onChange={(e) => put({ entry: { type: 'list', list_id: e.target.value ? Number(e.target.value) : undefined } })} />
            </Field>
          )}
          {entry.type === 'date_attribute' && (
            <div className="row-gap">
              <Field label="Date attribute" error={err('settings.entry.attribute')}>
                <input value={entry.attribute} onChange={(e) => put({ entry: { ...entry, attribute: e.target.value } })} />
              </Field>
              <Field label="Days offset" hint="−3 = three days before" error={err('settings.entry.offset_days')}>
                <input type="number" value={entry.offset_days ?? 0} onChange={(e) => put({ entry: { ...entry, offset_days: Number(e.target.value) } })} />
              </Field>
              <Field label="At (customer time)" error={err('settings.entry.time')}>
                <input type="time" value={entry.time ?? ''} onChange={(e) => put({ entry: { ...entry, time: e.target.value || undefined } })} />
              </Field>
            </div>
          )}
          {err('settings.entry') && entry.type !== 'event' && <p className="form-error">{err('settings.entry')?.join(' ')}</p>}
        </section>

        <section className="settings-section">
          <h3>Target audience</h3>
          <label className="check">
            <input type="checkbox" checked={settings.audience != null} onChange={(e) => put({ audience: e.target.checked ? { all: [] } : null })} />
            Only customers who match
          </label>
          {settings.audience != null && (
            <Field label="Audience" error={err('settings.audience')}>
              <ConditionEditor inJourney={false} value={settings.audience} onChange={(c) => put({ audience: c })} />
            </Field>
          )}
        </section>

        <section className="settings-section">
          <h3>Exit conditions</h3>
          <p className="muted small">A customer who meets one of these at any time leaves the journey at once.</p>
          {(settings.exit_conditions ?? []).map((c, i) => (
            <div key={i} className="group-card">
              <div className="row-gap">
                <strong className="grow">Exit condition {i + 1}</strong>
                <button type="button" className="icon-btn" aria-label={`Remove exit condition ${i + 1}`} onClick={() => put({ exit_conditions: settings.exit_conditions!.filter((_, j) => j !== i) })}>
                  ×
                </button>
              </div>
              <Field label="When" error={err(`settings.exit_conditions.${i}`)}>
                <ConditionEditor
                  value={exitSameKey(c, false)}
                  onChange={(nc) => put({ exit_conditions: settings.exit_conditions!.map((x, j) => (j === i ? exitSameKey(nc, sameKeyOf(c)) : x)) })}
                />
              </Field>
              <ExitSameKeyToggle
                condition={c}
                index={i}
                keyProperty={entry.type === 'event' ? entry.key?.property : undefined}
                onChange={(on) => put({ exit_conditions: settings.exit_conditions!.map((x, j) => (j === i ? exitSameKey(x, on) : x)) })}
              />
            </div>
          ))}
          <Button size="sm" onClick={() => put({ exit_conditions: [...(settings.exit_conditions ?? []), { all: [{ event: '' }] } as Condition] })}>
            + Add exit condition
          </Button>
        </section>

        <section className="settings-section">
          <h3>Goals</h3>
          <p className="muted small">Goals count conversions; they only end the journey when “exit” is checked.</p>
          {(settings.goals ?? []).map((g, i) => (
            <div key={g.id} className="group-card">
              <div className="row-gap">
                <Field label="Goal name" error={err(`settings.goals.${i}.name`)}>
                  <input value={g.name} onChange={(e) => put({ goals: settings.goals!.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })} />
                </Field>
                <label className="check">
                  <input type="checkbox" checked={!!g.exit} onChange={(e) => put({ goals: settings.goals!.map((x, j) => (j === i ? { ...x, exit: e.target.checked } : x)) })} />
                  exit when met
                </label>
                {entry.type === 'event' && entry.key && (
                  <label className="check">
                    <input
                      type="checkbox"
                      aria-label={`Goal ${i + 1} same key`}
                      checked={!!g.same_key}
                      onChange={(e) => put({ goals: settings.goals!.map((x, j) => (j === i ? { ...x, same_key: e.target.checked || undefined } : x)) })}
                    />
                    same {entry.key.property} only
                  </label>
                )}
                <button type="button" className="icon-btn" aria-label={`Remove goal ${i + 1}`} onClick={() => put({ goals: settings.goals!.filter((_, j) => j !== i) })}>
                  ×
                </button>
              </div>
              <Field label="Met when" error={err(`settings.goals.${i}.condition`)}>
                <ConditionEditor value={g.condition} onChange={(c) => put({ goals: settings.goals!.map((x, j) => (j === i ? { ...x, condition: c } : x)) })} />
              </Field>
              <GoalExtras goal={g} index={i} err={err} onChange={(next) => put({ goals: settings.goals!.map((x, j) => (j === i ? next : x)) })} />
            </div>
          ))}
          <Button
            size="sm"
            onClick={() => {
              const goals = settings.goals ?? [];
              let n = goals.length + 1;
              while (goals.some((g) => g.id === `goal_${n}`)) n++;
              const goal: Goal = { id: `goal_${n}`, name: `Goal ${n}`, condition: { event: 'purchase', within: 'since_entry' } };
              put({ goals: [...goals, goal] });
            }}
          >
            + Add goal
          </Button>
        </section>

        <section className="settings-section">
          <h3>Re-entry</h3>
          <div className="row-gap">
            <Field label="Can a customer enter again?" error={err('settings.re_entry')}>
              <select
                value={settings.re_entry?.policy ?? 'never'}
                onChange={(e) => {
                  const policy = e.target.value as 'never' | 'always' | 'after';
                  put({ re_entry: policy === 'after' ? { policy, cooldown: { value: 30, unit: 'days' } } : { policy } });
                }}
              >
                <option value="never">Never: once per customer</option>
                <option value="always">Yes, whenever they qualify (after finishing)</option>
                <option value="after">Yes, after a cooldown</option>
              </select>
            </Field>
            {settings.re_entry?.policy === 'after' && (
              <Field label="Cooldown" error={err('settings.re_entry.cooldown')}>
                <DurationInput label="Cooldown" value={settings.re_entry.cooldown} onChange={(d) => put({ re_entry: { policy: 'after', cooldown: d } })} />
              </Field>
            )}
          </div>
        </section>

        <section className="settings-section">
          <h3>Delivery limits</h3>
          <label className="check">
            <input type="checkbox" checked={settings.frequency_cap != null} onChange={(e) => put({ frequency_cap: e.target.checked ? { max: 3, per: { value: 1, unit: 'days' } } : null })} />
            Frequency cap
          </label>
          {settings.frequency_cap && (
            <div className="row-gap">
              <Field label="At most (messages)" error={err('settings.frequency_cap.max')}>
                <input type="number" min={1} value={settings.frequency_cap.max} onChange={(e) => put({ frequency_cap: { ...settings.frequency_cap!, max: Number(e.target.value) } })} />
              </Field>
              <Field label="per" error={err('settings.frequency_cap.per')}>
                <DurationInput label="per" value={settings.frequency_cap.per} onChange={(d) => put({ frequency_cap: { ...settings.frequency_cap!, per: d } })} />
              </Field>
            </div>
          )}
          <label className="check">
            <input type="checkbox" checked={settings.quiet_hours != null} onChange={(e) => put({ quiet_hours: e.target.checked ? { start: '21:00', end: '08:00' } : null })} />
            Quiet hours (customer time; sends wait until they end)
          </label>
          {settings.quiet_hours && (
            <div className="row-gap">
              <Field label="From" error={err('settings.quiet_hours.start')}>
                <input type="time" value={settings.quiet_hours.start} onChange={(e) => put({ quiet_hours: { ...settings.quiet_hours!, start: e.target.value } })} />
              </Field>
              <Field label="Until" error={err('settings.quiet_hours.end')}>
                <input type="time" value={settings.quiet_hours.end} onChange={(e) => put({ quiet_hours: { ...settings.quiet_hours!, end: e.target.value } })} />
              </Field>
            </div>
          )}
          <label className="check">
            <input type="checkbox" checked={settings.holdout != null} onChange={(e) => put({ holdout: e.target.checked ? { percent: 10 } : null })} />
            Holdout group (enters, gets no messages; goals still counted)
          </label>
          {settings.holdout && (
            <Field label="Holdout percent" error={err('settings.holdout')}>
              <input type="number" min={1} max={50} value={settings.holdout.percent} onChange={(e) => put({ holdout: { percent: Number(e.target.value) } })} />
            </Field>
          )}
        </section>

        <section className="settings-section">
          <h3>Schedule</h3>
          <p className="muted small">Customers can only enter inside this window. Leave empty for no limit.</p>
          <div className="row-gap">
            <Field label="Starts" error={err('settings.window.start_at')}>
              <input
                type="datetime-local"
                value={toLocalInput(settings.window?.start_at)}
                onChange={(e) => put({ window: windowOf({ ...settings.window, start_at: fromLocalInput(e.target.value) }) })}
              />
            </Field>
            <Field label="Ends" error={err('settings.window.end_at')}>
              <input
                type="datetime-local"
                value={toLocalInput(settings.window?.end_at)}
                onChange={(e) => put({ window: windowOf({ ...settings.window, end_at: fromLocalInput(e.target.value) }) })}
              />
            </Field>
          </div>
        </section>
      </fieldset>
    </aside>
  );
}

function windowOf(w: { start_at?: string; end_at?: string }): JourneySettings['window'] {
  const out: { start_at?: string; end_at?: string } = {};
  if (w.start_at) out.start_at = w.start_at;
  if (w.end_at) out.end_at = w.end_at;
  return Object.keys(out).length ? out : null;
}

/** A goal's optional conversion window (after entry) and value property (summed as revenue). */
function GoalExtras({ goal, index, err, onChange }: { goal: Goal; index: number; err: (field: string) => string[] | undefined; onChange: (g: Goal) => void }) {
  return (
    <div className="row-gap">
      <label className="check">
        <input
          type="checkbox"
          aria-label={`Goal ${index + 1} window`}
          checked={!!goal.window}
          onChange={(e) => {
            const next = { ...goal };
            if (e.target.checked) next.window = { value: 7, unit: 'days' };
            else delete next.window;
            onChange(next);
          }}
        />
        only within
      </label>
      {goal.window && <DurationInput label={`Goal ${index + 1} window length`} value={goal.window} onChange={(d) => onChange({ ...goal, window: d })} />}
      {err(`settings.goals.${index}.window`) && <p className="form-error">{err(`settings.goals.${index}.window`)}</p>}
      <Field label="Value property" hint="The event property summed as this goal's value, e.g. amount." error={err(`settings.goals.${index}.value`)}>
        <input
          value={goal.value?.property ?? ''}
          placeholder="amount"
          onChange={(e) => {
            const next = { ...goal };
            if (e.target.value.trim() === '') delete next.value;
            else next.value = { property: e.target.value };
            onChange(next);
          }}
        />
      </Field>
    </div>
  );
}

// The trigger: where customers enter. Its card shows the entry rule; its panel sets how customers
// enter and, for an event entry, which events (suggested from those received), in place.
import { EventNameInput } from '../../components/event-names';
import { Button, Field } from '../../components/ui';
import { type Entry, entrySummary, MAX_ENTRY_EVENTS, newEntry } from '../../lib/settings';
import { useCanvasInfo } from '../context';
import { EntryTypeSelect } from '../SettingsDrawer';
import type { FormProps, NodeUi } from './node-ui';

function Summary() {
  const { settings } = useCanvasInfo();
  return <>{entrySummary(settings.entry)}</>;
}

function Form({ openSettings }: FormProps) {
  const { settings, setSettings, problems } = useCanvasInfo();
  const entry: Entry = settings.entry ?? { type: 'api' };
  const put = (next: Entry) => setSettings?.({ ...settings, entry: next });
  const err = (field: string) => {
    const found = (problems.get(null) ?? []).filter((p) => p.field === field).map((p) => p.message);
    return found.length ? found : undefined;
  };
  return (
    <div className="stack">
      <Field label="Customers enter" error={err('settings.entry.type')}>
        <EntryTypeSelect value={entry.type} onChange={(type) => put(newEntry(type))} />
      </Field>
      {entry.type === 'event' && (
        <>
          {entry.events.map((ev, i) => (
            <Field key={i} label={entry.events.length > 1 ? `Trigger event ${i + 1}` : 'Trigger event'} error={err(`settings.entry.events.${i}.name`)} hint={ev.where?.length ? `Only where ${ev.where.length} filter${ev.where.length === 1 ? '' : 's'} hold (edit in entry settings).` : undefined}>
              <EventNameInput value={ev.name} placeholder="e.g. cart_abandoned" onChange={(name) => put({ ...entry, events: entry.events.map((x, j) => (j === i ? { ...x, name } : x)) })} />
            </Field>
          ))}
          {entry.events.length < MAX_ENTRY_EVENTS && (
            <Button size="sm" onClick={() => put({ ...entry, events: [...entry.events, { name: '' }] })}>
              + Another trigger event
            </Button>
          )}
        </>
      )}
      {entry.type !== 'event' && entry.type !== 'api' && (
        <p>
          Entry: <strong>{entrySummary(entry)}</strong>
        </p>
      )}
      <Button onClick={openSettings}>Filters, audience, exit rules and goals</Button>
    </div>
  );
}

export const ui: NodeUi = { type: 'start', Summary, Form };

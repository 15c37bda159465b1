// The event names the workspace has received (GET /events/names): an input that suggests them
// with their counts, and their known properties for personalization.
import { useEffect, useId, useState } from 'react';

import { api, ok, type Schemas } from '../api/client';

export type EventName = Schemas['EventName'];
export type EventProperty = Schemas['EventProperty'];

// One request for every input on the page; a minute old is fresh enough for suggestions.
const FRESH_MS = 60_000;
let cached: { at: number; names: Promise<EventName[]> } | null = null;

function loadEventNames(): Promise<EventName[]> {
  if (!cached || Date.now() - cached.at > FRESH_MS) {
    const names = ok(api.GET('/api/v1/events/names')).then((r) => r.results);
    cached = { at: Date.now(), names: names.catch(() => []) };
  }
  return cached.names;
}

/** The received event names, most frequent first (null while loading). */
export function useEventNames(): EventName[] | null {
  const [names, setNames] = useState<EventName[] | null>(null);
  useEffect(() => {
    let live = true;
    loadEventNames().then((n) => live && setNames(n));
    return () => {
      live = false;
    };
  }, []);
  return names;
}

/** The properties the events named `names` carried, each path once (the first name's example wins). */
export function propertiesOf(all: EventName[] | null, names: string[]): EventProperty[] {
  const seen = new Map<string, EventProperty>();
  for (const name of names) {
    for (const p of all?.find((e) => e.name === name)?.properties ?? []) if (!seen.has(p.name)) seen.set(p.name, p);
  }
  return [...seen.values()];
}

export function countText(e: EventName): string {
  return `${e.count.toLocaleString('en')}${e.count_capped ? '+' : ''} received`;
}

/** A text input for an event name that suggests the names received so far, with their counts;
 * any other name can still be typed (events not sent yet). */
/** `label` names the input when no wrapping label does. */
export function EventNameInput({ label, value, onChange, placeholder }: { label?: string; value: string; onChange: (name: string) => void; placeholder?: string }) {
  const names = useEventNames();
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const list = useId();
  const typed = value.trim().toLowerCase();
  const shown = (names ?? []).filter((e) => e.name.toLowerCase().includes(typed) && e.name !== value).slice(0, 8);
  const pick = (name: string) => {
    onChange(name);
    setOpen(false);
    setActive(-1);
  };
  return (
    <span className="combo">
      <input
        role="combobox"
        aria-label={label}
        aria-expanded={open && shown.length > 0}
        aria-controls={list}
        aria-autocomplete="list"
        aria-activedescendant={active >= 0 && shown[active] ? `${list}-${active}` : undefined}
        autoComplete="off"
        value={value}
        placeholder={placeholder}
        onChange={(e) => {
          onChange(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setOpen(false);
          else if (e.key === 'ArrowDown') {
            e.preventDefault();
            setOpen(true);
            setActive(Math.min(active + 1, shown.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive(Math.max(active - 1, 0));
          } else if (e.key === 'Enter' && open && shown[active]) {
            e.preventDefault();
            pick(shown[active].name);
          }
        }}
      />
      {open && shown.length > 0 && (
        <ul className="combo-list" role="listbox" id={list} aria-label="Events received">
          {shown.map((e, i) => (
            <li
              key={e.name}
              id={`${list}-${i}`}
              role="option"
              aria-selected={i === active}
              // mousedown, not click: the input's blur would close the list first.
              onMouseDown={(ev) => {
                ev.preventDefault();
                pick(e.name);
              }}
            >
              <span>{e.name}</span>
              <span className="muted small">{countText(e)}</span>
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}

/** The known properties of a journey's trigger events (for an event entry; none otherwise). */
export function useTriggerProperties(entry: { type: string; events?: { name: string }[] } | undefined): EventProperty[] {
  const names = useEventNames();
  return entry?.type === 'event' ? propertiesOf(names, (entry.events ?? []).map((e) => e.name)) : [];
}

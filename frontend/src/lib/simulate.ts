// What the Simulate form offers and sends: the events a journey reacts to (its trigger, waits for
// an event, event branches, exit conditions and goals), and the request body built from the form.

export interface SimEvent {
  name: string;
  properties: Record<string, unknown>;
  /** Minutes after the simulation starts (the first event is the trigger, at 0). */
  afterMinutes: number;
}

/** Every event name the journey's draft refers to, trigger events first, each once. */
export function journeyEventNames(graph: unknown, settings: unknown): string[] {
  const names: string[] = [];
  const add = (n: unknown) => {
    if (typeof n === 'string' && n.trim() !== '' && !names.includes(n)) names.push(n);
  };
  const entry = (settings as { entry?: { events?: { name?: unknown }[] } } | null)?.entry;
  for (const e of entry?.events ?? []) add(e?.name);
  // Conditions, waits and event branches all name their event under an `event` key.
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'event') add(x);
        walk(x);
      }
    }
  };
  walk((graph as { nodes?: unknown } | null)?.nodes);
  walk(settings);
  return names;
}

/** The simulate request's `events`: each at its offset from `start`. */
export function simulatedEvents(events: SimEvent[], start: Date): { name: string; properties: Record<string, unknown>; timestamp: string }[] {
  return events
    .filter((e) => e.name.trim() !== '')
    .map((e) => ({
      name: e.name.trim(),
      properties: e.properties,
      timestamp: new Date(start.getTime() + (Number.isFinite(e.afterMinutes) ? e.afterMinutes : 0) * 60_000).toISOString(),
    }));
}

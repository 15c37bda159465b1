// Journey settings (API.md "Settings") and the condition language, as the canvas edits them, with
// the one-line summaries the canvas shows. The API types both as free JSON.
export type DurationUnit = 'seconds' | 'minutes' | 'hours' | 'days' | 'weeks';
export const DURATION_UNITS: DurationUnit[] = ['seconds', 'minutes', 'hours', 'days', 'weeks'];

export interface Duration {
  value: number;
  unit: DurationUnit;
}

export interface Filter {
  property: string;
  op: string;
  value?: unknown;
}

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { attribute: string; op: string; value?: unknown }
  | EventCondition
  | { list: number }
  | { segment: number };

/** An event rule; `same_key` only on a keyed journey's exit condition (API.md "Keyed journeys"). */
export interface EventCondition {
  event: string;
  where?: Filter[];
  count?: { op: string; value: number };
  within?: Duration | 'since_entry';
  same_key?: boolean;
}

export type Entry =
  | { type: 'event'; events: { name: string; where?: Filter[] }[]; key?: { property: string } }
  | { type: 'segment'; segment_id?: number; condition?: Condition; recurring?: boolean }
  | { type: 'list'; list_id?: number }
  | { type: 'all' }
  | { type: 'api' }
  | { type: 'date_attribute'; attribute: string; offset_days?: number; time?: string };

export interface Goal {
  id: string;
  name: string;
  condition: Condition;
  exit?: boolean;
  /** counts a conversion only this long after entry; all the journey long without it */
  window?: Duration;
  /** the conversion event's property whose value is summed as the goal's revenue */
  value?: { property: string };
  /** keyed journeys: only the event carrying the run's key converts that run */
  same_key?: boolean;
}

export interface JourneySettings {
  entry?: Entry;
  audience?: Condition | null;
  window?: { start_at?: string; end_at?: string } | null;
  re_entry?: { policy: 'never' | 'always' | 'after'; cooldown?: Duration } | null;
  exit_conditions?: Condition[];
  goals?: Goal[];
  frequency_cap?: { max: number; per: Duration } | null;
  quiet_hours?: { start: string; end: string } | null;
  holdout?: { percent: number } | null;
}

export const MAX_ENTRY_EVENTS = 10; // API.md: "≤ 10 events"

export const OPS = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'not_in',
  'contains',
  'not_contains',
  'starts_with',
  'exists',
  'not_exists',
  'before',
  'after',
  'within_last',
] as const;

export const OP_LABELS: Record<string, string> = {
  eq: 'is',
  neq: 'is not',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  in: 'is one of',
  not_in: 'is none of',
  contains: 'contains',
  not_contains: 'does not contain',
  starts_with: 'starts with',
  exists: 'is set',
  not_exists: 'is not set',
  before: 'is before',
  after: 'is after',
  within_last: 'is within the last',
};

/** Ops that take no value. */
export const UNARY_OPS = new Set(['exists', 'not_exists']);

export function formatDuration(d: unknown): string {
  const dur = d as Duration | undefined;
  if (!dur || typeof dur.value !== 'number') return '?';
  const unit = dur.value === 1 ? dur.unit.replace(/s$/, '') : dur.unit;
  return `${dur.value} ${unit}`;
}

export function entrySummary(entry: Entry | undefined): string {
  switch (entry?.type) {
    case 'event': {
      const names = entry.events.map((e) => e.name).filter(Boolean);
      return names.length ? `On event: ${names.join(', ')}` : 'On an event (not chosen yet)';
    }
    case 'segment':
      return entry.segment_id ? `Joins segment #${entry.segment_id}` : 'Matches a condition';
    case 'list':
      return entry.list_id ? `Members of list #${entry.list_id}` : 'Members of a list';
    case 'all':
      return 'All customers';
    case 'api':
      return 'Enrolled through the API';
    case 'date_attribute': {
      const off = entry.offset_days ?? 0;
      const when = off === 0 ? 'on' : off < 0 ? `${-off} days before` : `${off} days after`;
      return `${when} ${entry.attribute || 'a date'}${entry.time ? ` at ${entry.time}` : ''}`;
    }
    default:
      return 'No entry rule yet';
  }
}

export function conditionSummary(c: Condition | null | undefined): string {
  if (!c) return 'everyone';
  if ('all' in c) return c.all.length ? c.all.map(conditionSummary).join(' and ') : 'no rules yet';
  if ('any' in c) return c.any.length ? c.any.map(conditionSummary).join(' or ') : 'no rules yet';
  if ('not' in c) return `not (${conditionSummary(c.not)})`;
  if ('attribute' in c) {
    const value = UNARY_OPS.has(c.op) ? '' : ` ${typeof c.value === 'object' ? JSON.stringify(c.value) : String(c.value ?? '')}`;
    return `${c.attribute} ${OP_LABELS[c.op] ?? c.op}${value}`;
  }
  if ('event' in c) return `did ${c.event || '?'}`;
  if ('segment' in c) return `in segment #${c.segment}`;
  if ('list' in c) return `in list #${c.list}`;
  return '?';
}

/** A typed input value: numbers and booleans as such, anything else as the text typed. */
export function parseValue(text: string): unknown {
  const t = text.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '' && /^-?(0|[1-9]\d*)(\.\d+)?$/.test(t)) return Number(t);
  return text;
}

export function valueText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The entry types as a marketer picks them. */
export const ENTRY_TYPES: { value: Entry['type']; label: string }[] = [
  { value: 'event', label: 'When the customer does an event' },
  { value: 'segment', label: 'When the customer is in a segment / matches a condition' },
  { value: 'list', label: 'Members of a list' },
  { value: 'all', label: 'All customers' },
  { value: 'api', label: 'Only when enrolled through the API' },
  { value: 'date_attribute', label: 'On a date attribute (e.g. birthday), yearly' },
];

/** A fresh entry of `type`, ready to fill in. */
export function newEntry(type: Entry['type']): Entry {
  switch (type) {
    case 'event':
      return { type, events: [{ name: '' }] };
    case 'segment':
      return { type, condition: { all: [] } };
    case 'list':
      return { type };
    case 'date_attribute':
      return { type, attribute: 'birthday', offset_days: 0, time: '09:00' };
    default:
      return { type };
  }
}

/** The one event rule an exit condition is, bare or as a group of one, else null: `same_key`
 * is accepted only on an exit condition that is an event rule itself. */
export function soleEventRule(c: Condition): EventCondition | null {
  if ('event' in c) return c;
  const rules = 'all' in c ? c.all : 'any' in c ? c.any : null;
  return rules?.length === 1 && 'event' in rules[0] ? rules[0] : null;
}

/** An exit condition with its `same_key` flag set or cleared. Set, a group of one event rule
 * becomes that rule (where the API takes the flag); cleared, the flag is dropped. A condition
 * that is not one event rule keeps no flag. */
export function exitSameKey(c: Condition, on: boolean): Condition {
  const rule = soleEventRule(c);
  if (!rule) return c;
  const { same_key: _drop, ...bare } = rule;
  void _drop;
  if (on) return { ...bare, same_key: true };
  return 'event' in c ? bare : c;
}

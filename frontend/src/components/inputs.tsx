// Form inputs for journey rules: durations, property filters, conditions, key/value rows, and
// the `{…}` button that inserts a customer attribute into a Liquid template.
import { type ReactNode, type RefObject, useEffect, useRef, useState } from 'react';

import {
  type Condition,
  type Duration,
  DURATION_UNITS,
  type DurationUnit,
  type Filter,
  OP_LABELS,
  OPS,
  parseValue,
  UNARY_OPS,
  valueText,
} from '../lib/settings';

export function DurationInput({ value, onChange, label }: { value: Duration | undefined; onChange: (d: Duration) => void; label: string }) {
  const d = value ?? { value: 1, unit: 'days' };
  return (
    <span className="duration" role="group" aria-label={label}>
      <input
        type="number"
        min={1}
        aria-label={`${label} amount`}
        value={Number.isFinite(d.value) ? d.value : ''}
        onChange={(e) => onChange({ ...d, value: e.target.value === '' ? NaN : Number(e.target.value) })}
      />
      <select aria-label={`${label} unit`} value={d.unit} onChange={(e) => onChange({ ...d, unit: e.target.value as DurationUnit })}>
        {DURATION_UNITS.map((u) => (
          <option key={u} value={u}>
            {u}
          </option>
        ))}
      </select>
    </span>
  );
}

function OpSelect({ value, onChange, label }: { value: string; onChange: (op: string) => void; label: string }) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
      {OPS.map((op) => (
        <option key={op} value={op}>
          {OP_LABELS[op]}
        </option>
      ))}
    </select>
  );
}

/** The value box of a rule: none for exists, a list for in/not_in, a duration for within_last. */
function ValueInput({ op, value, onChange, label }: { op: string; value: unknown; onChange: (v: unknown) => void; label: string }) {
  if (UNARY_OPS.has(op)) return null;
  if (op === 'within_last') {
    return <DurationInput label={label} value={value as Duration} onChange={onChange} />;
  }
  if (op === 'in' || op === 'not_in') {
    return (
      <input
        aria-label={label}
        placeholder="a, b, c"
        value={valueText(value)}
        onChange={(e) => onChange(e.target.value.split(',').map((s) => parseValue(s.trim())).filter((s) => s !== ''))}
      />
    );
  }
  return <input aria-label={label} placeholder="value" value={valueText(value)} onChange={(e) => onChange(parseValue(e.target.value))} />;
}

export function FiltersEditor({ value, onChange, what = 'property' }: { value: Filter[] | undefined; onChange: (f: Filter[]) => void; what?: string }) {
  const rows = value ?? [];
  const set = (i: number, f: Filter) => onChange(rows.map((r, j) => (j === i ? f : r)));
  return (
    <div className="rows">
      {rows.map((f, i) => (
        <div className="rule" key={i}>
          <input aria-label={`${what} name`} placeholder={what} value={f.property} onChange={(e) => set(i, { ...f, property: e.target.value })} />
          <OpSelect label="operator" value={f.op} onChange={(op) => set(i, { ...f, op, value: UNARY_OPS.has(op) ? undefined : f.value })} />
          <ValueInput label="value" op={f.op} value={f.value} onChange={(v) => set(i, { ...f, value: v })} />
          <button type="button" className="icon-btn" aria-label="Remove filter" onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" className="link-btn" onClick={() => onChange([...rows, { property: '', op: 'eq', value: '' }])}>
        + Add {what} filter
      </button>
    </div>
  );
}

type Rule = Exclude<Condition, { all: Condition[] } | { any: Condition[] }>;

function ruleKind(r: Rule): 'attribute' | 'event' | 'segment' | 'list' | 'other' {
  if ('attribute' in r) return 'attribute';
  if ('event' in r) return 'event';
  if ('segment' in r) return 'segment';
  if ('list' in r) return 'list';
  return 'other';
}

function RuleEditor({ rule, onChange, inJourney }: { rule: Rule; onChange: (r: Rule) => void; inJourney: boolean }) {
  const kind = ruleKind(rule);
  const switchKind = (k: string) => {
    if (k === 'attribute') onChange({ attribute: '', op: 'eq', value: '' });
    if (k === 'event') onChange({ event: '' });
    if (k === 'segment') onChange({ segment: 0 });
    if (k === 'list') onChange({ list: 0 });
  };
  return (
    <div className="rule">
      <select aria-label="rule kind" value={kind} onChange={(e) => switchKind(e.target.value)}>
        <option value="attribute">Attribute</option>
        <option value="event">Did event</option>
        <option value="segment">In segment</option>
        <option value="list">In list</option>
        {kind === 'other' && <option value="other">Advanced</option>}
      </select>
      {'attribute' in rule && (
        <>
          <input aria-label="attribute" placeholder="attribute, e.g. plan" value={rule.attribute} onChange={(e) => onChange({ ...rule, attribute: e.target.value })} />
          <OpSelect label="operator" value={rule.op} onChange={(op) => onChange({ ...rule, op, value: UNARY_OPS.has(op) ? undefined : rule.value })} />
          <ValueInput label="value" op={rule.op} value={rule.value} onChange={(v) => onChange({ ...rule, value: v })} />
        </>
      )}
      {'event' in rule && (
        <div className="rule-event">
          <input aria-label="event name" placeholder="event name" value={rule.event} onChange={(e) => onChange({ ...rule, event: e.target.value })} />
          <select
            aria-label="when"
            value={rule.within === undefined ? 'ever' : rule.within === 'since_entry' ? 'since_entry' : 'within'}
            onChange={(e) => {
              const { within: _drop, ...rest } = rule;
              void _drop;
              const v = e.target.value;
              onChange(v === 'ever' ? rest : { ...rest, within: v === 'since_entry' ? 'since_entry' : { value: 7, unit: 'days' } });
            }}
          >
            <option value="ever">ever</option>
            {inJourney && <option value="since_entry">since entering</option>}
            <option value="within">within the last…</option>
          </select>
          {rule.within && rule.within !== 'since_entry' && (
            <DurationInput label="within" value={rule.within} onChange={(d) => onChange({ ...rule, within: d })} />
          )}
          <FiltersEditor value={rule.where} onChange={(where) => onChange({ ...rule, where: where.length ? where : undefined })} />
        </div>
      )}
      {'segment' in rule && (
        <input aria-label="segment id" type="number" placeholder="segment id" value={rule.segment || ''} onChange={(e) => onChange({ segment: Number(e.target.value) })} />
      )}
      {'list' in rule && (
        <input aria-label="list id" type="number" placeholder="list id" value={rule.list || ''} onChange={(e) => onChange({ list: Number(e.target.value) })} />
      )}
      {kind === 'other' && <code className="clip">{JSON.stringify(rule)}</code>}
    </div>
  );
}

/** Edits a condition as a flat group: all/any of rules. A nested group that the flat editor
 * cannot show is edited as JSON instead of being silently flattened. */
export function ConditionEditor({
  value,
  onChange,
  inJourney = true,
}: {
  value: Condition | null | undefined;
  onChange: (c: Condition) => void;
  inJourney?: boolean;
}) {
  const group: { all: Condition[] } | { any: Condition[] } =
    value && ('all' in value || 'any' in value) ? value : { all: value ? [value] : [] };
  const mode = 'all' in group ? 'all' : 'any';
  const rules = 'all' in group ? group.all : group.any;
  const nested = rules.some((r) => 'all' in r || 'any' in r);
  const [json, setJson] = useState<string | null>(null);
  if (nested || json !== null) {
    return <JsonEditor value={value ?? { all: [] }} onChange={(v) => onChange(v as Condition)} onText={setJson} />;
  }
  const set = (next: Condition[]) => onChange(mode === 'all' ? { all: next } : { any: next });
  return (
    <div className="condition">
      <div className="condition-mode">
        Match
        <select aria-label="match" value={mode} onChange={(e) => onChange(e.target.value === 'all' ? { all: rules } : { any: rules })}>
          <option value="all">all</option>
          <option value="any">any</option>
        </select>
        of these rules
      </div>
      <div className="rows">
        {rules.map((r, i) => (
          <div className="rule-row" key={i}>
            <RuleEditor rule={r as Rule} inJourney={inJourney} onChange={(nr) => set(rules.map((x, j) => (j === i ? nr : x)))} />
            <button type="button" className="icon-btn" aria-label="Remove rule" onClick={() => set(rules.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>
        ))}
      </div>
      <div className="row-gap">
        <button type="button" className="link-btn" onClick={() => set([...rules, { attribute: '', op: 'eq', value: '' }])}>
          + Add rule
        </button>
        <button type="button" className="link-btn" onClick={() => setJson(JSON.stringify(value ?? { all: [] }, null, 2))}>
          Edit as JSON
        </button>
      </div>
    </div>
  );
}

export function JsonEditor({ value, onChange, onText }: { value: unknown; onChange: (v: unknown) => void; onText?: (t: string) => void }) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="json-editor">
      <textarea
        aria-label="JSON"
        rows={6}
        value={text}
        spellCheck={false}
        onChange={(e) => {
          setText(e.target.value);
          onText?.(e.target.value);
          try {
            onChange(JSON.parse(e.target.value));
            setError(null);
          } catch {
            setError('Not valid JSON yet; the last valid value is kept.');
          }
        }}
      />
      {error && <span className="field-error">{error}</span>}
    </div>
  );
}

export function KeyValueRows({
  value,
  onChange,
  keyLabel,
  valueLabel,
  renderValue,
}: {
  value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
  keyLabel: string;
  valueLabel: string;
  renderValue?: (v: string, set: (v: string) => void, index: number) => ReactNode;
}) {
  // Rows are kept as a list while editing so an empty or duplicate key does not lose a row.
  const [rows, setRows] = useState<[string, string][]>(() => Object.entries(value).map(([k, v]) => [k, valueText(v)]));
  const push = (next: [string, string][]) => {
    setRows(next);
    onChange(Object.fromEntries(next.filter(([k]) => k.trim() !== '').map(([k, v]) => [k, parseValue(v)])));
  };
  return (
    <div className="rows">
      {rows.map(([k, v], i) => (
        <div className="rule" key={i}>
          <input aria-label={keyLabel} placeholder={keyLabel} value={k} onChange={(e) => push(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))} />
          {renderValue ? (
            renderValue(v, (nv) => push(rows.map((r, j) => (j === i ? [r[0], nv] : r))), i)
          ) : (
            <input aria-label={valueLabel} placeholder={valueLabel} value={v} onChange={(e) => push(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))} />
          )}
          <button type="button" className="icon-btn" aria-label={`Remove ${keyLabel}`} onClick={() => push(rows.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" className="link-btn" onClick={() => setRows([...rows, ['', '']])}>
        + Add {keyLabel}
      </button>
    </div>
  );
}

export function TagsInput({ value, onChange, label }: { value: string[] | undefined; onChange: (v: string[]) => void; label: string }) {
  const [text, setText] = useState((value ?? []).join(', '));
  return (
    <input
      aria-label={label}
      placeholder="comma, separated"
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(
          e.target.value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        );
      }}
    />
  );
}

export const ATTRIBUTE_SUGGESTIONS = [
  'customer.first_name',
  'customer.last_name',
  'customer.email',
  'customer.phone',
  'customer.external_id',
  'customer.city',
  'customer.plan',
  'event.',
  'journey.name',
];

/** A trigger-event property the `{…}` menu offers, with a value seen in a received event. */
export interface EventPropertyHint {
  name: string;
  example?: unknown;
}

/** The `{…}` button: inserts `{{ customer.attr }}` or a trigger event's `{{ event.prop }}` at the
 * caret of a text field. The menu closes on Escape (focus back on the button) or a click outside. */
export function AttributeButton({
  target,
  value,
  onInsert,
  eventProperties = [],
}: {
  target: RefObject<HTMLInputElement | HTMLTextAreaElement | null>;
  /** the field's current text (the caret is only trusted while the box shows this text) */
  value: string;
  onInsert: (nextText: string) => void;
  /** the trigger event's known properties (from events received) */
  eventProperties?: EventPropertyHint[];
}) {
  const [open, setOpen] = useState(false);
  const [custom, setCustom] = useState('');
  const wrap = useRef<HTMLSpanElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const outside = (e: PointerEvent) => {
      if (wrap.current && !wrap.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);
  const insert = (path: string) => {
    const el = target.current;
    const token = `{{ ${path} }}`;
    const text = value;
    const caret = el?.value === value ? el : null;
    const start = caret?.selectionStart ?? text.length;
    const end = caret?.selectionEnd ?? text.length;
    onInsert(text.slice(0, start) + token + text.slice(end));
    setOpen(false);
    setCustom('');
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + token.length, start + token.length);
    });
  };
  return (
    <span
      className="attr-btn-wrap"
      ref={wrap}
      onKeyDown={(e) => {
        if (open && e.key === 'Escape') {
          e.stopPropagation();
          setOpen(false);
          button.current?.focus();
        }
      }}
    >
      <button type="button" ref={button} className="attr-btn" aria-label="Insert customer attribute" aria-expanded={open} onClick={() => setOpen(!open)}>
        {'{…}'}
      </button>
      {open && (
        <div className="popover" role="menu">
          {ATTRIBUTE_SUGGESTIONS.filter((a) => !a.endsWith('.')).map((a) => (
            <button key={a} type="button" role="menuitem" onClick={() => insert(a)}>
              <code>{a}</code>
            </button>
          ))}
          {eventProperties.length > 0 && (
            <>
              <span className="popover-head muted small">Trigger event</span>
              {eventProperties.map((p) => (
                <button key={p.name} type="button" role="menuitem" onClick={() => insert(`event.${p.name}`)}>
                  <code>{`event.${p.name}`}</code>
                  {p.example != null && <span className="muted small"> e.g. {String(p.example)}</span>}
                </button>
              ))}
            </>
          )}
          <form
            className="popover-custom"
            onSubmit={(e) => {
              e.preventDefault();
              if (custom.trim()) insert(custom.includes('.') ? custom.trim() : `customer.${custom.trim()}`);
            }}
          >
            <input aria-label="Other attribute" placeholder="other attribute" value={custom} onChange={(e) => setCustom(e.target.value)} />
            <button type="submit" className="btn btn-sm btn-secondary">
              Insert
            </button>
          </form>
        </div>
      )}
    </span>
  );
}

/** A text input or area that owns a ref for the `{…}` button. */
export function TemplateInput({
  value,
  onChange,
  long,
  label,
  invalid,
  eventProperties,
}: {
  value: string;
  onChange: (v: string) => void;
  long?: boolean;
  label: string;
  invalid?: boolean;
  eventProperties?: EventPropertyHint[];
}) {
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  return (
    <span className="template-input">
      {long ? (
        <textarea ref={ref} aria-label={label} aria-invalid={invalid || undefined} rows={4} value={value} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input ref={ref} aria-label={label} aria-invalid={invalid || undefined} value={value} onChange={(e) => onChange(e.target.value)} />
      )}
      <AttributeButton target={ref} value={value} onInsert={onChange} eventProperties={eventProperties} />
    </span>
  );
}

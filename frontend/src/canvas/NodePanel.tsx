// The settings panel of the selected node: a form per node type. Every edit calls `onChange`
// with the whole new config; field errors come from the validation hints or the last Validate.
import { useEffect, useState } from 'react';

import { api, ok } from '../api/client';
import { Button, Field } from '../components/ui';
import {
  ConditionEditor,
  DurationInput,
  FiltersEditor,
  KeyValueRows,
  TagsInput,
  TemplateInput,
} from '../components/inputs';
import { AWAITABLE, CHANNEL_LABELS, CHANNELS, type Channel, CONTENT_FIELDS, emptyContent, isChannel, PUSH_PLATFORMS } from '../lib/channels';
import type { Config, JourneyNodeData, NodeKind } from '../lib/graph';
import { canRenameHandle, handleLabel, handlesFor, renameHandle } from '../lib/handles';
import type { Problem } from '../lib/rules';
import { type Condition, type Duration, entrySummary, type Filter } from '../lib/settings';
import { useCanvasInfo } from './context';

type Errors = (field: string) => string[] | undefined;

interface FormProps {
  config: Config;
  set: (patch: Config) => void;
  errors: Errors;
}

const TITLES: Record<NodeKind, string> = {
  start: 'Trigger',
  message: 'Message',
  webhook: 'Webhook',
  wait: 'Wait',
  branch: 'User branch',
  event_branch: 'Event branch',
  split: 'Random split',
  update_profile: 'Update profile / tag',
  exit: 'Exit',
};

export function NodePanel({
  id,
  kind,
  data,
  readOnly,
  onChange,
  onDelete,
  onClose,
  onOpenSettings,
}: {
  id: string;
  kind: NodeKind;
  data: JourneyNodeData;
  readOnly: boolean;
  onChange: (data: JourneyNodeData) => void;
  onDelete: () => void;
  onClose: () => void;
  onOpenSettings: () => void;
}) {
  const { problems, settings } = useCanvasInfo();
  const mine: Problem[] = problems.get(id) ?? [];
  const errors: Errors = (field) => {
    const found = mine.filter((p) => p.field === `config.${field}`).map((p) => p.message);
    return found.length ? found : undefined;
  };
  const other = mine.filter((p) => !p.field.startsWith('config.') || p.field === 'config');
  const set = (patch: Config) => onChange({ ...data, config: { ...data.config, ...patch } });
  const props: FormProps = { config: data.config, set, errors };

  return (
    <aside className="side-panel" aria-label="Node settings" data-testid="node-panel">
      <header className="side-head">
        <div>
          <div className="muted small">{kind === 'message' && isChannel(data.config.channel) ? `${CHANNEL_LABELS[data.config.channel]} message` : TITLES[kind]}</div>
          <h2>{data.name || TITLES[kind]}</h2>
        </div>
        <button type="button" className="icon-btn" aria-label="Close panel" onClick={onClose}>
          ×
        </button>
      </header>
      <fieldset className="side-body" disabled={readOnly}>
        <Field label="Name" hint={`Node id: ${id}`}>
          <input value={data.name} onChange={(e) => onChange({ ...data, name: e.target.value })} placeholder={TITLES[kind]} />
        </Field>
        {other.map((p) => (
          <p key={p.field + p.message} className="form-error">
            {p.message}
          </p>
        ))}
        {kind === 'start' && (
          <div className="stack">
            <p>
              Entry: <strong>{entrySummary(settings.entry)}</strong>
            </p>
            <Button onClick={onOpenSettings}>Edit entry, audience and exit rules</Button>
          </div>
        )}
        {kind === 'message' && <MessageForm {...props} />}
        {kind === 'webhook' && <WebhookForm {...props} />}
        {kind === 'wait' && <WaitForm {...props} />}
        {kind === 'branch' && <BranchForm {...props} />}
        {kind === 'event_branch' && <EventBranchForm {...props} />}
        {kind === 'split' && <SplitForm {...props} />}
        {kind === 'update_profile' && <UpdateProfileForm {...props} />}
        {kind === 'exit' && <p className="muted">Customers who reach this node complete the journey.</p>}
        <OutputNames kind={kind} data={data} onChange={onChange} />
      </fieldset>
      {!readOnly && (
        <footer className="side-foot">
          <Button variant="danger" size="sm" onClick={onDelete}>
            Delete node
          </Button>
        </footer>
      )}
    </aside>
  );
}

/** Names for a fork's outputs that no group or path names (event arrived / timed out, yes / no,
 * everyone else); the same names can be edited on the canvas by double-clicking a label. */
function OutputNames({ kind, data, onChange }: { kind: NodeKind; data: JourneyNodeData; onChange: (data: JourneyNodeData) => void }) {
  const outputs = handlesFor(kind, data.config).filter((h) => canRenameHandle(kind, data.config, h) && (kind !== 'split' && (kind !== 'branch' || h === 'else')));
  if (outputs.length === 0) return null;
  return (
    <section className="stack" aria-label="Output names">
      <h3 className="small">Output names</h3>
      {outputs.map((h) => (
        <Field key={h} label={`Name of output “${handleLabel(kind, data.config, h)}”`} hint={h === outputs[0] ? 'Shown on the canvas; double-click a label there to rename it too.' : undefined}>
          <input value={data.handle_labels?.[h] ?? ''} placeholder={handleLabel(kind, data.config, h)} onChange={(e) => onChange(renameHandle(kind, data, h, e.target.value))} />
        </Field>
      ))}
    </section>
  );
}

function MessageForm({ config, set, errors }: FormProps) {
  const channel: Channel = isChannel(config.channel) ? config.channel : 'email';
  const content = (config.content ?? {}) as Record<string, unknown>;
  const setContent = (key: string, value: unknown) => set({ content: { ...content, [key]: value } });
  const awaited = config.await as { status: string; within: Duration } | undefined;
  return (
    <div className="stack">
      <Field label="Channel" error={errors('channel')}>
        <select
          value={channel}
          onChange={(e) => {
            const next = e.target.value as Channel;
            const rest: Config = { ...config, channel: next, content: emptyContent(next) };
            if (awaited && !AWAITABLE[next].includes(awaited.status)) delete rest.await;
            set(rest);
          }}
        >
          {CHANNELS.map((c) => (
            <option key={c} value={c}>
              {CHANNEL_LABELS[c]}
            </option>
          ))}
        </select>
      </Field>
      {CONTENT_FIELDS[channel].map((f) => {
        const text = String(content[f.key] ?? '');
        const over = f.limit !== undefined && text.length > f.limit;
        return (
          <Field
            key={f.key}
            label={f.label + (f.required ? ' *' : '')}
            error={errors(`content.${f.key}`)}
            aside={
              f.limit !== undefined && (
                <span className={over ? 'counter over' : 'counter'} data-testid={`counter-${f.key}`}>
                  {text.length}/{f.limit}
                </span>
              )
            }
            hint={over ? `Longer than ${f.limit} characters may be cut off on some devices.` : undefined}
          >
            {f.liquid ? (
              <TemplateInput label={f.label} long={f.long} value={text} invalid={!!errors(`content.${f.key}`)} onChange={(v) => setContent(f.key, v)} />
            ) : (
              <input value={text} onChange={(e) => setContent(f.key, e.target.value)} />
            )}
          </Field>
        );
      })}
      {channel === 'push' && (
        <Field label="Platforms" error={errors('content.platforms')}>
          <span className="checks">
            {PUSH_PLATFORMS.map((p) => {
              const list = (content.platforms as string[]) ?? [];
              return (
                <label key={p} className="check">
                  <input
                    type="checkbox"
                    checked={list.includes(p)}
                    onChange={(e) => setContent('platforms', e.target.checked ? [...list, p] : list.filter((x) => x !== p))}
                  />
                  {p}
                </label>
              );
            })}
          </span>
        </Field>
      )}
      <Field label="Channel config id" hint="Leave empty to use the workspace's default for this channel." error={errors('channel_id')}>
        <input
          type="number"
          value={config.channel_id == null ? '' : String(config.channel_id)}
          onChange={(e) => {
            const rest = { ...config };
            if (e.target.value === '') delete rest.channel_id;
            else rest.channel_id = Number(e.target.value);
            set(rest);
          }}
        />
      </Field>
      <Field label="Branch on the result" hint="Wait for a receipt and split into yes / no / failed.">
        <span className="checks">
          <label className="check">
            <input
              type="checkbox"
              checked={!!awaited}
              onChange={(e) => {
                const rest = { ...config };
                if (e.target.checked) rest.await = { status: AWAITABLE[channel][0], within: { value: 1, unit: 'days' } };
                else delete rest.await;
                set(rest);
              }}
            />
            Wait for
          </label>
          {awaited && (
            <>
              <select aria-label="await status" value={awaited.status} onChange={(e) => set({ await: { ...awaited, status: e.target.value } })}>
                {AWAITABLE[channel].map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
              within
              <DurationInput label="await within" value={awaited.within} onChange={(d) => set({ await: { ...awaited, within: d } })} />
            </>
          )}
        </span>
      </Field>
      {errors('await.within') && <p className="form-error">{errors('await.within')}</p>}
      <Preview channel={channel} content={content} />
    </div>
  );
}

/** The rendered message for editable sample attributes (POST /messages/preview), refreshed as
 * the content or the sample changes. */
function Preview({ channel, content }: { channel: Channel; content: Record<string, unknown> }) {
  const [sample, setSample] = useState<Record<string, unknown>>({ first_name: 'Alex', city: 'Lisbon' });
  const [rendered, setRendered] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify([channel, content, sample]);
  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      ok(api.POST('/api/v1/messages/preview', { body: { channel, content, attributes: sample } }))
        .then((r) => {
          if (!live) return;
          setRendered(r.content as Record<string, unknown>);
          setError(null);
        })
        .catch((e) => live && setError(e.message));
    }, 300);
    return () => {
      live = false;
      clearTimeout(t);
    };
    // `key` stands for channel, content and sample (objects change identity every render).
  }, [key]);
  return (
    <section className="preview" aria-label="Preview">
      <h3>Preview</h3>
      <details>
        <summary>Sample customer attributes</summary>
        <KeyValueRows value={sample} onChange={setSample} keyLabel="attribute" valueLabel="sample value" />
      </details>
      {error ? (
        <p className="form-error">{error}</p>
      ) : rendered ? (
        <div className={`preview-card preview-${channel}`} data-testid="preview">
          {Object.entries(rendered)
            .filter(([, v]) => typeof v === 'string' && v !== '')
            .map(([k, v]) =>
              k === 'html' ? (
                // Sandboxed iframe: the marketer's HTML cannot run script in the app.
                <iframe key={k} title="Email body" sandbox="" srcDoc={String(v)} className="preview-html" />
              ) : (
                <div key={k} className={`preview-${k}`}>
                  <span className="muted small">{k}</span>
                  <div>{String(v)}</div>
                </div>
              ),
            )}
        </div>
      ) : (
        <p className="muted small">Rendering…</p>
      )}
    </section>
  );
}

function WebhookForm({ config, set, errors }: FormProps) {
  return (
    <div className="stack">
      <div className="row-gap">
        <Field label="Method" error={errors('method')}>
          <select value={String(config.method ?? 'POST')} onChange={(e) => set({ method: e.target.value })}>
            {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </Field>
        <Field label="URL *" error={errors('url')}>
          <TemplateInput label="URL" value={String(config.url ?? '')} onChange={(v) => set({ url: v })} />
        </Field>
      </div>
      <Field label="Headers" error={errors('headers')}>
        <KeyValueRows
          value={(config.headers ?? {}) as Record<string, unknown>}
          onChange={(h) => set({ headers: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)])) })}
          keyLabel="header"
          valueLabel="value"
        />
      </Field>
      <Field label="Body (Liquid)" error={errors('body')}>
        <TemplateInput label="Body" long value={typeof config.body === 'string' ? config.body : JSON.stringify(config.body ?? '')} onChange={(v) => set({ body: v })} />
      </Field>
      <div className="row-gap">
        <Field label="Timeout (seconds)" error={errors('timeout_seconds')}>
          <input type="number" min={1} max={30} value={Number(config.timeout_seconds ?? 10)} onChange={(e) => set({ timeout_seconds: Number(e.target.value) })} />
        </Field>
        <Field label="Retries" error={errors('retries')}>
          <input type="number" min={0} max={5} value={Number(config.retries ?? 2)} onChange={(e) => set({ retries: Number(e.target.value) })} />
        </Field>
      </div>
      <Field label="Save the JSON response as attribute" hint="Optional." error={errors('save_as')}>
        <input
          value={String(config.save_as ?? '')}
          onChange={(e) => {
            const rest = { ...config };
            if (e.target.value) rest.save_as = e.target.value;
            else delete rest.save_as;
            set(rest);
          }}
        />
      </Field>
    </div>
  );
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function WaitForm({ config, set, errors }: FormProps) {
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

function slugId(name: string, taken: string[], fallback: string): string {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || fallback;
  let id = base;
  for (let n = 2; taken.includes(id) || id === 'else'; n++) id = `${base}_${n}`;
  return id;
}

function BranchForm({ config, set, errors }: FormProps) {
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

function EventBranchForm({ config, set, errors }: FormProps) {
  const since = config.within === 'since_entry';
  return (
    <div className="stack">
      <Field label="Event name *" error={errors('event')}>
        <input value={String(config.event ?? '')} onChange={(e) => set({ event: e.target.value })} placeholder="e.g. purchase" />
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
    </div>
  );
}

function SplitForm({ config, set, errors }: FormProps) {
  const paths = (Array.isArray(config.paths) ? config.paths : []) as { id: string; name: string; percent: number }[];
  const put = (next: typeof paths) => set({ paths: next });
  const total = paths.reduce((s, p) => s + (Number(p.percent) || 0), 0);
  return (
    <div className="stack">
      {paths.map((p, i) => (
        <div key={p.id} className="row-gap">
          <Field label={`Path ${i + 1} name`} error={errors(`paths.${i}.name`)}>
            <input value={p.name} onChange={(e) => put(paths.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
          </Field>
          <Field label="Percent" error={errors(`paths.${i}.percent`)}>
            <input type="number" min={1} max={100} value={p.percent} onChange={(e) => put(paths.map((x, j) => (j === i ? { ...x, percent: Number(e.target.value) } : x)))} />
          </Field>
          {paths.length > 2 && (
            <button type="button" className="icon-btn" aria-label={`Remove path ${i + 1}`} onClick={() => put(paths.filter((_, j) => j !== i))}>
              ×
            </button>
          )}
        </div>
      ))}
      <p className={total === 100 ? 'muted small' : 'form-error'}>Total: {total}% {total !== 100 && '(must be 100)'}</p>
      {errors('paths') && <p className="form-error">{errors('paths')}</p>}
      <Button
        size="sm"
        onClick={() => {
          const letter = String.fromCharCode(97 + paths.length);
          put([...paths, { id: slugId(letter, paths.map((p) => p.id), 'path'), name: letter.toUpperCase(), percent: 0 }]);
        }}
      >
        + Add path
      </Button>
    </div>
  );
}

function UpdateProfileForm({ config, set, errors }: FormProps) {
  const c = config as { set?: Record<string, unknown>; unset?: string[]; add_tags?: string[]; remove_tags?: string[] };
  return (
    <div className="stack">
      <Field label="Set attributes" hint="Values may use Liquid, e.g. {{ event.plan }}." error={errors('set')}>
        <KeyValueRows
          value={c.set ?? {}}
          onChange={(v) => set({ set: v })}
          keyLabel="attribute"
          valueLabel="value"
          renderValue={(v, put, i) => <TemplateInput label={`value ${i + 1}`} value={v} onChange={put} />}
        />
      </Field>
      <Field label="Unset attributes" error={errors('unset')}>
        <TagsInput label="Unset attributes" value={c.unset} onChange={(v) => set({ unset: v.length ? v : undefined })} />
      </Field>
      <Field label="Add tags" error={errors('add_tags')}>
        <TagsInput label="Add tags" value={c.add_tags} onChange={(v) => set({ add_tags: v.length ? v : undefined })} />
      </Field>
      <Field label="Remove tags" error={errors('remove_tags')}>
        <TagsInput label="Remove tags" value={c.remove_tags} onChange={(v) => set({ remove_tags: v.length ? v : undefined })} />
      </Field>
    </div>
  );
}

// An HTTP call to an outside system: its card, form and hints.
import { Field } from '../../components/ui';
import { KeyValueRows, TemplateInput } from '../../components/inputs';
import type { Config, JourneyNodeData } from '../../lib/graph';
import type { ConfigProblem } from '../../lib/node-types';
import { blank } from '../../lib/rules';
import type { FormProps, NodeUi } from './node-ui';

function Summary({ data }: { data: JourneyNodeData }) {
  const url = String(data.config.url ?? '');
  return url ? <span className="clip">{`${data.config.method ?? 'POST'} ${url}`}</span> : <span className="muted">No URL yet</span>;
}

function hints(c: Config): ConfigProblem[] {
  if (blank(c.url)) return [{ field: 'url', message: 'A URL is required.' }];
  if (!String(c.url).includes('{{') && !/^https?:\/\/[^/]+/.test(String(c.url))) return [{ field: 'url', message: 'Must be an http(s) URL.' }];
  return [];
}

function Form({ config, set, errors }: FormProps) {
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
            else rest.save_as = undefined;
            set(rest);
          }}
        />
      </Field>
    </div>
  );
}

export const ui: NodeUi = { type: 'webhook', Summary, Form, hints };

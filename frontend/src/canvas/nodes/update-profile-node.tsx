// Update profile / tag: set or unset attributes, add or remove tags.
import { Field } from '../../components/ui';
import { KeyValueRows, TagsInput, TemplateInput } from '../../components/inputs';
import type { Config, JourneyNodeData } from '../../lib/graph';
import type { ConfigProblem } from '../../lib/node-types';
import type { FormProps, NodeUi } from './node-ui';

type Changes = { set?: Record<string, unknown>; unset?: string[]; add_tags?: string[]; remove_tags?: string[] };

function Summary({ data }: { data: JourneyNodeData }) {
  const c = data.config as Changes;
  const parts = [
    ...Object.keys(c.set ?? {}).map((k) => `set ${k}`),
    ...(c.unset ?? []).map((k) => `unset ${k}`),
    ...(c.add_tags ?? []).map((t) => `+${t}`),
    ...(c.remove_tags ?? []).map((t) => `−${t}`),
  ];
  return parts.length ? <span className="clip">{parts.join(', ')}</span> : <span className="muted">Nothing to change yet</span>;
}

function hints(c: Config): ConfigProblem[] {
  const any = ['set', 'unset', 'add_tags', 'remove_tags'].some((k) => {
    const v = c[k];
    return Array.isArray(v) ? v.length > 0 : v && typeof v === 'object' && Object.keys(v).length > 0;
  });
  return any ? [] : [{ field: 'set', message: 'Set, unset, add or remove at least one thing.' }];
}

function Form({ config, set, errors }: FormProps) {
  const c = config as Changes;
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

export const ui: NodeUi = { type: 'update_profile', Summary, Form, hints, card: () => ({ label: 'Update profile' }) };

// The settings form of a node type without its own: one field per property of its config schema.
import { Field } from '../components/ui';
import type { Config } from '../lib/graph';
import { formFields, type JsonSchema, setField } from '../lib/schema';
import type { Errors } from './nodes/node-ui';

export function SchemaForm({ schema, config, replace, errors }: { schema: JsonSchema; config: Config; replace: (config: Config) => void; errors: Errors }) {
  return (
    <div className="stack" data-testid="schema-form">
      {formFields(schema).map((f) => {
        const value = config[f.key];
        const label = f.label + (f.required ? ' *' : '');
        const error = errors(f.key);
        if (f.kind === 'checkbox') {
          return (
            <label key={f.key} className="check">
              <input type="checkbox" checked={value === true} onChange={(e) => replace(setField(config, f, e.target.checked))} />
              {f.label}
            </label>
          );
        }
        return (
          <Field key={f.key} label={label} hint={f.hint} error={error}>
            {f.kind === 'select' ? (
              <select value={value == null ? '' : String(value)} onChange={(e) => replace(setField(config, f, e.target.value))}>
                <option value="">—</option>
                {f.options!.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            ) : f.kind === 'json' ? (
              <textarea
                value={value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value)}
                onChange={(e) => replace(setField(config, f, e.target.value))}
              />
            ) : (
              <input
                type={f.kind === 'number' ? 'number' : 'text'}
                value={value == null ? '' : String(value)}
                onChange={(e) => replace(setField(config, f, e.target.value))}
              />
            )}
          </Field>
        );
      })}
    </div>
  );
}

import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import type { NodeTypeInfo } from '../lib/node-types';
import SERVER_TYPES from '../lib/node-types.fixture.json';
import type { JsonSchema } from '../lib/schema';
import { SchemaForm } from './SchemaForm';

const schemaOf = (type: string) => (SERVER_TYPES as unknown as NodeTypeInfo[]).find((t) => t.type === type)!.config_schema as JsonSchema;

function render(schema: JsonSchema, config: Record<string, unknown>, errors: Record<string, string[]> = {}): string {
  return renderToStaticMarkup(<SchemaForm schema={schema} config={config} replace={() => undefined} errors={(f) => errors[f]} />);
}

describe('the form a node type without its own gets', () => {
  it('draws one labelled input per schema property, with the current values and errors', () => {
    const html = render(schemaOf('webhook'), { method: 'PUT', url: 'https://x.test', headers: { A: '1' }, retries: 3 }, { url: ['Must be an http(s) URL.'] });
    expect(html).toContain('URL *');
    expect(html).toContain('value="https://x.test"');
    expect(html).toContain('Must be an http(s) URL.');
    expect(html).toMatch(/<option selected="">PUT<\/option>|<option value="PUT" selected="">PUT<\/option>/);
    expect(html).toContain('{&quot;A&quot;:&quot;1&quot;}'); // an object as JSON text
    expect(html).toMatch(/type="number"[^>]*value="3"/);
  });

  it('shows a number field for a journey id', () => {
    const html = render(schemaOf('journey'), {});
    expect(html).toContain('Journey *');
    expect(html).toMatch(/type="number"[^>]*value=""/);
  });
});

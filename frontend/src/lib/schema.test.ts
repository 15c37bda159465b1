import { describe, expect, it } from 'vitest';

import type { NodeTypeInfo } from './node-types';
import SERVER_TYPES from './node-types.fixture.json';
import { formFields, type JsonSchema, schemaProblems, setField } from './schema';

// Schemas as the server sends them (npm run gen:node-types).
const schemaOf = (type: string) => (SERVER_TYPES as unknown as NodeTypeInfo[]).find((t) => t.type === type)!.config_schema as JsonSchema;

describe('hints from a config schema', () => {
  it('asks for a required field by its title', () => {
    expect(schemaProblems(schemaOf('journey'), {})).toEqual([{ field: 'journey_id', message: 'Journey is required.' }]);
    expect(schemaProblems(schemaOf('journey'), { journey_id: 12 })).toEqual([]);
    expect(schemaProblems(schemaOf('journey'), { journey_id: 1.5 })).toEqual([{ field: 'journey_id', message: 'Journey must be a whole number.' }]);
  });

  it('follows the branch of a oneOf its constants choose, into nested objects', () => {
    const wait = schemaOf('wait');
    expect(schemaProblems(wait, { mode: 'event', event: ' ' }).map((p) => p.field)).toEqual(['event', 'timeout']);
    expect(schemaProblems(wait, { mode: 'duration', duration: { value: 0, unit: 'days' } })).toEqual([
      { field: 'duration.value', message: 'Amount must be more than 0.' },
    ]);
    expect(schemaProblems(wait, { mode: 'until', time: '9am' })).toEqual([{ field: 'time', message: "Time (customer's time zone) is not in the expected format." }]);
    expect(schemaProblems(wait, { mode: 'later' })[0]).toMatchObject({ field: 'mode', message: expect.stringMatching(/^Pick one of: duration, until, event/) });
  });

  it('reads a constant-or-object choice (an event branch looking back since entry or a duration)', () => {
    const eventBranch = schemaOf('event_branch');
    expect(schemaProblems(eventBranch, { event: 'buy', within: 'since_entry' })).toEqual([]);
    expect(schemaProblems(eventBranch, { event: 'buy', within: { value: -1, unit: 'days' } })).toEqual([
      { field: 'within.value', message: 'Amount must be more than 0.' },
    ]);
  });

  it('checks ranges and list sizes', () => {
    const webhook = schemaOf('webhook');
    expect(schemaProblems(webhook, { url: 'https://x', retries: 9, timeout_seconds: 0 }).map((p) => p.message)).toEqual([
      'Timeout seconds must be more than 0.',
      'Retries must be at most 5.',
    ]);
    expect(schemaProblems(schemaOf('split'), { paths: [{ id: 'a' }] })).toEqual([{ field: 'paths', message: 'Add at least 2 paths.' }]);
  });
});

describe('the generic form', () => {
  it('has one field per property: selects for enums, numbers, text, JSON for the rest', () => {
    const fields = formFields(schemaOf('webhook'));
    expect(fields.map((f) => [f.key, f.kind, f.required])).toEqual([
      ['method', 'select', false],
      ['url', 'text', true],
      ['headers', 'json', false],
      ['body', 'text', false],
      ['timeout_seconds', 'number', false],
      ['retries', 'number', false],
      ['save_as', 'text', false],
    ]);
    expect(fields[0]).toMatchObject({ label: 'Method', options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] });
    expect(formFields(schemaOf('journey'))).toEqual([{ key: 'journey_id', label: 'Journey', kind: 'number', required: true }]);
  });

  it('turns what is typed into config values, an empty input removing the key', () => {
    const [journeyId] = formFields(schemaOf('journey'));
    expect(setField({}, journeyId, '42')).toEqual({ journey_id: 42 });
    expect(setField({ journey_id: 42 }, journeyId, '')).toEqual({});
    expect(setField({}, journeyId, '4x')).toEqual({ journey_id: '4x' });
    const headers = formFields(schemaOf('webhook')).find((f) => f.key === 'headers')!;
    expect(setField({}, headers, '{"X-Id": "1"}')).toEqual({ headers: { 'X-Id': '1' } });
    expect(setField({}, headers, '{"X-Id"')).toEqual({ headers: '{"X-Id"' });
  });
});

// A node type's config JSON Schema (GET /node-types) read two ways: the validation hints shown
// while editing, and the fields of the generic form a type without its own form gets. Only the
// keywords the server's node schemas use are read; the server's validate stays the judge.
import type { Config } from './graph';
import type { ConfigProblem } from './node-types';

export interface JsonSchema {
  type?: string;
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
}

/** "timeout_seconds" → "Timeout seconds": the label of a property without a title. */
export function humanize(key: string): string {
  const words = key.replace(/_/g, ' ');
  return words[0].toUpperCase() + words.slice(1);
}

const isBlank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

function valueProblem(schema: JsonSchema, value: unknown, label: string): string | null {
  if (schema.type === 'integer' && !Number.isInteger(value)) return `${label} must be a whole number.`;
  if (schema.type === 'number' && typeof value !== 'number') return `${label} must be a number.`;
  if (schema.type === 'string' && typeof value !== 'string') return `${label} must be text.`;
  if (schema.enum && !schema.enum.includes(value)) return `Pick one of: ${schema.enum.join(', ')}.`;
  if (typeof value === 'number') {
    if (schema.exclusiveMinimum !== undefined && !(value > schema.exclusiveMinimum)) return `${label} must be more than ${schema.exclusiveMinimum}.`;
    if (schema.minimum !== undefined && value < schema.minimum) return `${label} must be at least ${schema.minimum}.`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${label} must be at most ${schema.maximum}.`;
  }
  if (typeof value === 'string') {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `${label} is longer than ${schema.maxLength} characters.`;
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) return `${label} is not in the expected format.`;
  }
  if (Array.isArray(value) && schema.minItems !== undefined && value.length < schema.minItems) {
    return `Add at least ${schema.minItems} ${label.toLowerCase()}.`;
  }
  return null;
}

/** The schema branch of a `oneOf` whose `const` properties the config matches (a wait's mode). */
function chosenBranch(schema: JsonSchema, config: Config): JsonSchema | null {
  return (
    schema.oneOf?.find((branch) =>
      Object.entries(branch.properties ?? {}).every(([key, s]) => s.const === undefined || config[key] === s.const),
    ) ?? null
  );
}

/** The problems a config has against its schema: required fields left blank, then values of the
 * wrong type or out of range, into nested objects; `prefix` is the dotted path of `config`. */
export function schemaProblems(schema: JsonSchema, config: Config, prefix = ''): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const props = schema.properties ?? {};
  const required = [...(schema.required ?? []), ...(chosenBranch(schema, config)?.required ?? [])];
  for (const [key, sub] of Object.entries(props)) {
    const field = prefix ? `${prefix}.${key}` : key;
    const label = sub.title ?? humanize(key);
    const value = config[key];
    if (isBlank(value) || (sub.minLength && typeof value === 'string' && value.trim().length < sub.minLength)) {
      if (required.includes(key)) out.push({ field, message: `${label} is required.` });
      continue;
    }
    if (sub.anyOf) {
      if (sub.anyOf.some((s) => s.const !== undefined && s.const === value)) continue;
      const object = sub.anyOf.find((s) => s.type === 'object');
      if (object && value && typeof value === 'object') out.push(...schemaProblems(object, value as Config, field));
      continue;
    }
    const problem = valueProblem(sub, value, label);
    if (problem) out.push({ field, message: problem });
    else if (sub.type === 'object' && sub.properties && value && typeof value === 'object') out.push(...schemaProblems(sub, value as Config, field));
  }
  return out;
}

// ---- The generic form ------------------------------------------------------------------------
export type FieldKind = 'text' | 'number' | 'select' | 'checkbox' | 'json';

export interface FormField {
  key: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  options?: string[];
  hint?: string;
}

function fieldKind(schema: JsonSchema): FieldKind {
  if (schema.enum) return 'select';
  if (schema.type === 'integer' || schema.type === 'number') return 'number';
  if (schema.type === 'boolean') return 'checkbox';
  if (schema.type === 'string') return 'text';
  return 'json';
}

/** One field per top-level property, in schema order: selects for enums, number inputs for
 * numbers, text for strings and JSON text for anything else. */
export function formFields(schema: JsonSchema): FormField[] {
  const required = schema.required ?? [];
  return Object.entries(schema.properties ?? {}).map(([key, sub]) => ({
    key,
    label: sub.title ?? humanize(key),
    kind: fieldKind(sub),
    required: required.includes(key),
    ...(sub.enum ? { options: sub.enum.map(String) } : {}),
    ...(sub.description ? { hint: sub.description } : {}),
  }));
}

/** The config with one form field set from its input's text: an empty input removes the key;
 * a number field keeps what is typed when it is not a number (the hints then say so); a JSON
 * field keeps the text until it parses. */
export function setField(config: Config, field: FormField, text: string | boolean): Config {
  const next = { ...config };
  if (text === '' ) {
    delete next[field.key];
    return next;
  }
  if (field.kind === 'checkbox') next[field.key] = Boolean(text);
  else if (field.kind === 'number') next[field.key] = Number.isNaN(Number(text)) ? text : Number(text);
  else if (field.kind === 'json') {
    try {
      next[field.key] = JSON.parse(String(text));
    } catch {
      next[field.key] = text;
    }
  } else next[field.key] = text;
  return next;
}

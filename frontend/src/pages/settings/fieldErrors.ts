// A DRF error body's `details` as dotted field → messages, so each message lands under its own input.
import { ApiError, errorMessage } from '../../api/client';

export type FieldErrors = Record<string, string[]>;

/** The error body's `details` as dotted field → messages (`settings.push_title_max`), so each
 * message lands under its own input; anything else becomes a form-level message. */
export function fieldErrors(e: unknown): FieldErrors {
  if (!(e instanceof ApiError) || Object.keys(e.details).length === 0) return { form: [errorMessage(e)] };
  const out: FieldErrors = {};
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) out[path || 'form'] = value.map(String);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k === 'non_field_errors' ? path : path ? `${path}.${k}` : k);
    } else out[path || 'form'] = [String(value)];
  };
  walk(e.details, '');
  return out;
}

// Problems in the marketer's words: the label of the field a problem is about ("Text", "Send
// through", "Percent of path 2") instead of its API path ("config.content.text").
import { CONTENT_FIELDS, isChannel } from './channels';
import type { FlowNode } from './graph';
import type { NodeCatalog } from './node-types';
import type { Problem } from './rules';
import type { JsonSchema } from './schema';

const FIXED: Record<string, string> = {
  node: 'Input',
  type: 'Type',
  'graph.nodes': 'Trigger',
  'config.channel': 'Channel',
  'config.channel_id': 'Send through',
  'config.await.status': 'Wait for',
  'config.await.within': 'Wait for (time)',
};

function humanize(key: string): string {
  const text = key.replace(/_/g, ' ');
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/** The title the node type's JSON Schema gives the config field at `path`, if it gives one. */
function schemaTitle(schema: JsonSchema | undefined, path: string[]): string | null {
  let at: JsonSchema | undefined = schema;
  let title: string | null = null;
  const items: string[] = [];
  for (const key of path) {
    if (!at) return null;
    if (/^\d+$/.test(key)) {
      at = at.items as JsonSchema | undefined;
      items.push(String(Number(key) + 1));
      continue;
    }
    at = at.properties?.[key];
    title = at?.title ?? humanize(key);
  }
  if (!title) return null;
  return items.length ? `${title} (item ${items.join('.')})` : title;
}

/** The words a marketer reads for the field of a problem (the node it is on, if any). */
export function problemFieldLabel(p: Problem, node: FlowNode | undefined, catalog: NodeCatalog): string {
  if (FIXED[p.field]) return FIXED[p.field];
  if (p.field.startsWith('handles.')) return `${humanize(p.field.slice('handles.'.length))} output`;
  if (p.field.startsWith('settings.')) return `Settings: ${humanize(p.field.split('.').filter((k) => !/^\d+$/.test(k)).slice(1).join(' › '))}`;
  if (!p.field.startsWith('config.') || !node) return humanize(p.field.split('.').pop() ?? p.field);
  const path = p.field.slice('config.'.length).split('.');
  const channel = node.data.config.channel;
  if (path[0] === 'content' && path.length === 2 && isChannel(channel)) {
    const field = CONTENT_FIELDS[channel].find((f) => f.key === path[1]);
    if (field) return field.label;
  }
  const schema = catalog.get(node.type)?.config_schema as JsonSchema | undefined;
  return schemaTitle(schema, path) ?? humanize(path[path.length - 1]);
}

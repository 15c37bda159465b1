// The node types as the server describes them (GET /node-types): palette entries, output handles
// and their labels, default configs. Nothing here knows a node type by name: adding one on the
// server adds it to the canvas.
import type { Schemas } from '../api/client';
import type { Config, JourneyNodeData } from './graph';

export type NodeTypeInfo = Schemas['NodeType'];
export type OutputCase = Schemas['OutputCase'];

/** One config problem, `field` a dotted path inside the config (like the API's ConfigError). */
export interface ConfigProblem {
  field: string;
  message: string;
}

/** A node type on the canvas: the server's description plus, optionally, the canvas's own
 * hint rules for it (its file under canvas/nodes/); without them its JSON Schema gives the hints. */
export interface NodeType extends NodeTypeInfo {
  hints?: (config: Config) => ConfigProblem[];
}

export type NodeCatalog = ReadonlyMap<string, NodeType>;

export function catalogOf(types: readonly NodeType[]): NodeCatalog {
  return new Map(types.map((t) => [t.type, t]));
}

function configAt(config: Config, path: string): unknown {
  let value: unknown = config;
  for (const key of path.split('.')) {
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** The case of `outputs` that applies to `config`: the first whose `when` matches. */
function outputCase(info: NodeTypeInfo | undefined, config: Config): OutputCase | undefined {
  return info?.outputs.find(({ when }) => {
    if (!when) return true;
    const value = config[when.field];
    if (when.equals !== undefined) return JSON.stringify(value) === JSON.stringify(when.equals);
    return (value !== undefined && value !== null) === when.present;
  });
}

interface Named {
  id?: unknown;
  name?: unknown;
}

function listItems(config: Config, key: string): Named[] {
  const list = config[key];
  return Array.isArray(list) ? list.filter((g): g is Named => typeof g === 'object' && g !== null) : [];
}

function eachIds(config: Config, key: string, skip: readonly string[] = []): string[] {
  return listItems(config, key)
    .map((g) => g.id)
    .filter((id): id is string => typeof id === 'string' && id.trim() !== '' && !skip.includes(id));
}

/** The output handles of a node of this type with this config (unknown type: none). */
export function handlesFor(info: NodeTypeInfo | undefined, config: Config): string[] {
  const found = (outputCase(info, config)?.handles ?? []).flatMap((h) => (h.each ? eachIds(config, h.each, h.skip) : h.id ? [h.id] : []));
  return [...new Set(found)];
}

/** Handle → the handle taken instead when it is left unconnected (a failed send goes on along
 * next), for this config; other unconnected handles end the journey. */
export function fallthroughFor(info: NodeTypeInfo | undefined, config: Config): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of outputCase(info, config)?.handles ?? []) if (h.id && h.unconnected) out[h.id] = h.unconnected;
  return out;
}

/** The config list (`groups`, `paths`) a handle is one item of, if it is one. */
function listOf(info: NodeTypeInfo | undefined, config: Config, handle: string): string | null {
  for (const h of outputCase(info, config)?.handles ?? []) {
    if (h.each && eachIds(config, h.each, h.skip).includes(handle)) return h.each;
  }
  return null;
}

function capitalized(text: string): string {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

function defaultHandleLabel(info: NodeTypeInfo | undefined, config: Config, handle: string): string {
  const fixed = outputCase(info, config)?.handles.find((h) => h.id === handle)?.label;
  if (!fixed) return handle;
  return capitalized(fixed.replace(/\{([\w.]+)\}/g, (_, path: string) => String(configAt(config, path) ?? '…')));
}

/** The label drawn beside a handle: a branch group's or split path's own name, else the
 * marketer's own label for the handle (node `handle_labels`), else the server's label. Marketers
 * rename outputs ("Purchased", "No purchase") to read their canvas and analytics. */
export function handleLabel(info: NodeTypeInfo | undefined, config: Config, handle: string, labels?: Record<string, string>): string {
  const key = listOf(info, config, handle);
  const item = key ? listItems(config, key).find((g) => g.id === handle) : undefined;
  if (item && typeof item.name === 'string' && item.name.trim()) return item.name;
  const own = labels?.[handle];
  if (typeof own === 'string' && own.trim()) return own;
  return defaultHandleLabel(info, config, handle);
}

/** Whether a handle's label can be renamed on the canvas: the outputs of nodes that fork, not a
 * plain `next` or a `failed`. */
export function canRenameHandle(info: NodeTypeInfo | undefined, config: Config, handle: string): boolean {
  return handle !== 'next' && handle !== 'failed' && handlesFor(info, config).includes(handle);
}

/** Whether the handle is one item of a config list (its name is edited with the item). */
export function isListHandle(info: NodeTypeInfo | undefined, config: Config, handle: string): boolean {
  return listOf(info, config, handle) !== null;
}

/** The node data with one handle renamed. A group or path keeps its name in the config (the API
 * and analytics read it there); other handles keep theirs in `handle_labels`, where a blank or
 * default label removes the override. A blank group name is refused: the group keeps its own.
 * The label is kept as typed (the panel edits it keystroke by keystroke). */
export function renameHandle(info: NodeTypeInfo | undefined, data: JourneyNodeData, handle: string, label: string): JourneyNodeData {
  const blank = label.trim() === '';
  const key = listOf(info, data.config, handle);
  if (key) {
    if (blank) return data;
    const list = data.config[key] as Named[];
    return { ...data, config: { ...data.config, [key]: list.map((g) => (g && g.id === handle ? { ...g, name: label } : g)) } };
  }
  const labels = { ...(data.handle_labels ?? {}) };
  if (blank || label === defaultHandleLabel(info, data.config, handle)) delete labels[handle];
  else labels[handle] = label;
  const { handle_labels: _old, ...rest } = data;
  void _old;
  return Object.keys(labels).length ? { ...rest, handle_labels: labels } : rest;
}

/** Whether a node of this type has an input (everything but the trigger). */
export function hasInput(info: NodeTypeInfo | undefined): boolean {
  return info?.has_input ?? true;
}

/** A fresh copy of the type's default config (a dropped node must not share the catalog's). */
export function defaultConfig(info: NodeTypeInfo): Config {
  return structuredClone(info.default_config);
}

// ---- The palette ---------------------------------------------------------------------------
export interface PaletteItem {
  key: string;
  label: string;
  kind: string;
  config: Config;
  hint: string;
}

export interface PaletteGroup {
  title: string;
  items: PaletteItem[];
}

const CATEGORY_TITLES: Record<string, string> = {
  trigger: 'Trigger',
  channel: 'Channels',
  flow: 'Flow',
  action: 'Actions',
  exit: 'Exit',
};

/** The palette: every preset of every type, grouped by category in the order marketers build a
 * journey (trigger first, exit last; a category the canvas has no title for comes before exit). */
export function paletteGroups(catalog: NodeCatalog): PaletteGroup[] {
  const order = Object.keys(CATEGORY_TITLES);
  const rank = (category: string) => (order.includes(category) ? order.indexOf(category) : order.length - 1.5);
  const groups = new Map<string, PaletteItem[]>();
  for (const info of [...catalog.values()].sort((a, b) => rank(a.category) - rank(b.category))) {
    const items = groups.get(info.category) ?? [];
    for (const p of info.presets) items.push({ key: p.key, label: p.label, kind: info.type, config: p.config, hint: p.hint });
    groups.set(info.category, items);
  }
  return [...groups].map(([category, items]) => ({ title: CATEGORY_TITLES[category] ?? capitalized(category), items }));
}

export function paletteItem(catalog: NodeCatalog, key: string): PaletteItem | undefined {
  return paletteGroups(catalog)
    .flatMap((g) => g.items)
    .find((item) => item.key === key);
}

/** The MIME type the palette puts on the drag so the canvas ignores other drops. */
export const DRAG_MIME = 'application/x-waymark-node';

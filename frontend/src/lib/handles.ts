// Output handles per node type and config: a mirror of each backend node type's `handles()`
// (journeys/nodes/*.py, channels_app/nodes.py) so the canvas draws the same outputs the API
// validates edges against.
import type { Config, JourneyNodeData, NodeKind } from './graph';

interface Named {
  id?: unknown;
  name?: unknown;
}

function ids(items: unknown, skip?: string): string[] {
  if (!Array.isArray(items)) return [];
  const found = items
    .filter((g): g is Named => typeof g === 'object' && g !== null)
    .map((g) => g.id)
    .filter((id): id is string => typeof id === 'string' && id.trim() !== '' && id !== skip);
  return [...new Set(found)];
}

export function handlesFor(kind: NodeKind, config: Config): string[] {
  switch (kind) {
    case 'start':
    case 'update_profile':
      return ['next'];
    case 'exit':
      return [];
    case 'message':
      return config.await != null ? ['yes', 'no', 'failed'] : ['next', 'failed'];
    case 'webhook':
      return ['next', 'failed'];
    case 'wait':
      return config.mode === 'event' ? ['event', 'timeout'] : ['next'];
    case 'branch':
      return [...ids(config.groups, 'else'), 'else'];
    case 'event_branch':
      return ['yes', 'no'];
    case 'split':
      return ids(config.paths);
  }
}

const FIXED_LABELS: Record<string, string> = {
  next: 'Next',
  failed: 'Failed',
  yes: 'Yes',
  no: 'No',
  event: 'Event arrived',
  timeout: 'Timed out',
  else: 'Everyone else',
};

/** The group or path a handle stands for (a branch's groups, a split's paths), if any. */
function namedList(kind: NodeKind, config: Config): Named[] | null {
  const list = kind === 'branch' ? config.groups : kind === 'split' ? config.paths : null;
  return Array.isArray(list) ? (list as Named[]) : null;
}

/** The label drawn beside a handle: a branch group's or split path's own name, else the
 * marketer's own label for the handle (node `handle_labels`), else a fixed word. Marketers
 * rename outputs ("Purchased", "No purchase") to read their canvas and analytics. */
export function handleLabel(kind: NodeKind, config: Config, handle: string, labels?: Record<string, string>): string {
  const item = namedList(kind, config)?.find((g) => g && g.id === handle);
  if (item && typeof item.name === 'string' && item.name.trim()) return item.name;
  const own = labels?.[handle];
  if (typeof own === 'string' && own.trim()) return own;
  return defaultHandleLabel(kind, config, handle);
}

function defaultHandleLabel(kind: NodeKind, config: Config, handle: string): string {
  if (kind === 'message' && config.await != null) {
    const status = (config.await as { status?: string }).status ?? 'done';
    if (handle === 'yes') return `${status[0].toUpperCase()}${status.slice(1)}`;
    if (handle === 'no') return `Not ${status}`;
  }
  return FIXED_LABELS[handle] ?? handle;
}

/** Whether a handle's label can be renamed on the canvas: the outputs of nodes that fork
 * (branch, split, event branch, wait for event, a message awaiting a receipt), not a plain
 * `next` or a channel's `failed`. */
export function canRenameHandle(kind: NodeKind, config: Config, handle: string): boolean {
  if (handle === 'failed' || handle === 'next') return false;
  return handlesFor(kind, config).includes(handle) && ['branch', 'split', 'event_branch', 'wait', 'message'].includes(kind);
}

/** The node data with one handle renamed. A group or path keeps its name in the config (the API
 * and analytics read it there); other handles keep theirs in `handle_labels`, where a blank or
 * default label removes the override. A blank group name is refused: the group keeps its own.
 * The label is kept as typed (the panel edits it keystroke by keystroke). */
export function renameHandle(kind: NodeKind, data: JourneyNodeData, handle: string, label: string): JourneyNodeData {
  const blank = label.trim() === '';
  const list = namedList(kind, data.config);
  if (list?.some((g) => g && g.id === handle)) {
    if (blank) return data;
    const key = kind === 'branch' ? 'groups' : 'paths';
    return { ...data, config: { ...data.config, [key]: list.map((g) => (g && g.id === handle ? { ...g, name: label } : g)) } };
  }
  const labels = { ...(data.handle_labels ?? {}) };
  if (blank || label === defaultHandleLabel(kind, data.config, handle)) delete labels[handle];
  else labels[handle] = label;
  const { handle_labels: _old, ...rest } = data;
  void _old;
  return Object.keys(labels).length ? { ...rest, handle_labels: labels } : rest;
}

/** Whether the node has an input (everything but the start). */
export function hasInput(kind: NodeKind): boolean {
  return kind !== 'start';
}

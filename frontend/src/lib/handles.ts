// Output handles per node type and config: a mirror of each backend node type's `handles()`
// (journeys/nodes/*.py, channels_app/nodes.py) so the canvas draws the same outputs the API
// validates edges against.
import type { Config, NodeKind } from './graph';

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

/** The label drawn beside a handle: a branch group's or split path's own name when it has
 * one (marketers rename groups to read their analytics), else a fixed word. */
export function handleLabel(kind: NodeKind, config: Config, handle: string): string {
  const list = kind === 'branch' ? config.groups : kind === 'split' ? config.paths : null;
  if (Array.isArray(list)) {
    const item = list.find((g: Named) => g && g.id === handle) as Named | undefined;
    if (item && typeof item.name === 'string' && item.name.trim()) return item.name;
  }
  if (kind === 'message' && config.await != null) {
    const status = (config.await as { status?: string }).status ?? 'done';
    if (handle === 'yes') return `${status[0].toUpperCase()}${status.slice(1)}`;
    if (handle === 'no') return `Not ${status}`;
  }
  return FIXED_LABELS[handle] ?? handle;
}

/** Whether the node has an input (everything but the start). */
export function hasInput(kind: NodeKind): boolean {
  return kind !== 'start';
}

// Update profile / tag: set or unset attributes, add or remove tags.
import type { Node, NodeProps } from '@xyflow/react';

import type { JourneyNodeData } from '../../lib/graph';
import { NodeShell } from './node-shell';

export type UpdateProfileNode = Node<JourneyNodeData, 'update_profile'>;

export function UpdateProfileNodeView({ id, data, selected }: NodeProps<UpdateProfileNode>) {
  const c = data.config as { set?: Record<string, unknown>; unset?: string[]; add_tags?: string[]; remove_tags?: string[] };
  const parts = [
    ...Object.keys(c.set ?? {}).map((k) => `set ${k}`),
    ...(c.unset ?? []).map((k) => `unset ${k}`),
    ...(c.add_tags ?? []).map((t) => `+${t}`),
    ...(c.remove_tags ?? []).map((t) => `−${t}`),
  ];
  return (
    <NodeShell
      id={id}
      kind="update_profile"
      data={data}
      selected={selected}
      icon="UP"
      tone="action"
      typeLabel="Update profile"
      summary={parts.length ? <span className="clip">{parts.join(', ')}</span> : <span className="muted">Nothing to change yet</span>}
    />
  );
}

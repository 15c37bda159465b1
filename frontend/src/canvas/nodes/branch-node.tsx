// A user branch: groups of profile conditions, first match wins, everyone else takes `else`.
import type { Node, NodeProps } from '@xyflow/react';

import type { JourneyNodeData } from '../../lib/graph';
import { type Condition, conditionSummary } from '../../lib/settings';
import { NodeShell } from './node-shell';

export type BranchNode = Node<JourneyNodeData, 'branch'>;

export function BranchNodeView({ id, data, selected }: NodeProps<BranchNode>) {
  const groups = (Array.isArray(data.config.groups) ? data.config.groups : []) as { name?: string; condition?: Condition }[];
  return (
    <NodeShell
      id={id}
      kind="branch"
      data={data}
      selected={selected}
      icon="BR"
      tone="flow"
      typeLabel="User branch"
      summary={
        groups.length ? (
          <span className="clip">{groups.map((g) => `${g.name || 'Group'}: ${conditionSummary(g.condition)}`).join(' · ')}</span>
        ) : (
          <span className="muted">No groups yet</span>
        )
      }
    />
  );
}

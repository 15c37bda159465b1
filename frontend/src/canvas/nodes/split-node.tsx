// A random split (A/B test): sticky per customer, percents sum to 100.
import type { Node, NodeProps } from '@xyflow/react';

import type { JourneyNodeData } from '../../lib/graph';
import { NodeShell } from './node-shell';

export type SplitNode = Node<JourneyNodeData, 'split'>;

export function SplitNodeView({ id, data, selected }: NodeProps<SplitNode>) {
  const paths = (Array.isArray(data.config.paths) ? data.config.paths : []) as { name?: string; percent?: number }[];
  return (
    <NodeShell
      id={id}
      kind="split"
      data={data}
      selected={selected}
      icon="AB"
      tone="flow"
      typeLabel="Random split"
      summary={paths.map((p) => `${p.name || '?'} ${p.percent ?? 0}%`).join(' / ')}
    />
  );
}

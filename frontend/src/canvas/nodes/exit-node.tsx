// The exit: the customer completes the journey here.
import type { Node, NodeProps } from '@xyflow/react';

import type { JourneyNodeData } from '../../lib/graph';
import { NodeShell } from './node-shell';

export type ExitNode = Node<JourneyNodeData, 'exit'>;

export function ExitNodeView({ id, data, selected }: NodeProps<ExitNode>) {
  return (
    <NodeShell
      id={id}
      kind="exit"
      data={data}
      selected={selected}
      icon="EX"
      tone="exit"
      typeLabel="Exit"
      summary="The journey completes here"
    />
  );
}

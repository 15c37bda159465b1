// The trigger: where customers enter; its summary is the journey's entry rule.
import type { Node, NodeProps } from '@xyflow/react';

import type { JourneyNodeData } from '../../lib/graph';
import { entrySummary } from '../../lib/settings';
import { useCanvasInfo } from '../context';
import { NodeShell } from './node-shell';

export type StartNode = Node<JourneyNodeData, 'start'>;

export function StartNodeView({ id, data, selected }: NodeProps<StartNode>) {
  const { settings } = useCanvasInfo();
  return (
    <NodeShell
      id={id}
      kind="start"
      data={data}
      selected={selected}
      icon="GO"
      tone="trigger"
      typeLabel="Trigger"
      summary={entrySummary(settings.entry)}
    />
  );
}

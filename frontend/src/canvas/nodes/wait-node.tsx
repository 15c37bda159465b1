// A wait: a duration, until a time of day, or for an event (with a timeout).
import type { Node, NodeProps } from '@xyflow/react';

import type { JourneyNodeData } from '../../lib/graph';
import { formatDuration } from '../../lib/settings';
import { NodeShell } from './node-shell';

export type WaitNode = Node<JourneyNodeData, 'wait'>;

export function waitSummary(config: JourneyNodeData['config']): string {
  if (config.mode === 'duration') return `Wait ${formatDuration(config.duration)}`;
  if (config.mode === 'until') {
    const days = Array.isArray(config.days) && config.days.length ? ` on ${config.days.join(', ')}` : '';
    return `Until ${config.time || '?'}${days} (customer time)`;
  }
  if (config.mode === 'event') return `Until “${config.event || '?'}”, at most ${formatDuration(config.timeout)}`;
  return 'Choose how to wait';
}

export function WaitNodeView({ id, data, selected }: NodeProps<WaitNode>) {
  const forEvent = data.config.mode === 'event';
  return (
    <NodeShell
      id={id}
      kind="wait"
      data={data}
      selected={selected}
      icon={forEvent ? 'WE' : 'WT'}
      tone="flow"
      typeLabel={forEvent ? 'Wait for event' : 'Wait'}
      summary={waitSummary(data.config)}
    />
  );
}

// An event branch: did the customer do an event (since entry or within a duration)?
import type { Node, NodeProps } from '@xyflow/react';

import type { JourneyNodeData } from '../../lib/graph';
import { formatDuration } from '../../lib/settings';
import { NodeShell } from './node-shell';

export type EventBranchNode = Node<JourneyNodeData, 'event_branch'>;

export function EventBranchNodeView({ id, data, selected }: NodeProps<EventBranchNode>) {
  const within = data.config.within === 'since_entry' ? 'since entry' : `in the last ${formatDuration(data.config.within)}`;
  return (
    <NodeShell
      id={id}
      kind="event_branch"
      data={data}
      selected={selected}
      icon="EV"
      tone="flow"
      typeLabel="Event branch"
      summary={data.config.event ? `Did “${data.config.event}” ${within}?` : <span className="muted">No event chosen</span>}
    />
  );
}

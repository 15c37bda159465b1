// An HTTP call to an outside system.
import type { Node, NodeProps } from '@xyflow/react';

import type { JourneyNodeData } from '../../lib/graph';
import { NodeShell } from './node-shell';

export type WebhookNode = Node<JourneyNodeData, 'webhook'>;

export function WebhookNodeView({ id, data, selected }: NodeProps<WebhookNode>) {
  const url = String(data.config.url ?? '');
  return (
    <NodeShell
      id={id}
      kind="webhook"
      data={data}
      selected={selected}
      icon="WH"
      tone="channel"
      typeLabel="Webhook"
      summary={url ? <span className="clip">{`${data.config.method ?? 'POST'} ${url}`}</span> : <span className="muted">No URL yet</span>}
    />
  );
}

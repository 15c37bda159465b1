// A message on one channel (email, SMS, push, WhatsApp, RCS, Telegram, Kakao, in-app).
import type { Node, NodeProps } from '@xyflow/react';

import { CHANNEL_LABELS, isChannel } from '../../lib/channels';
import type { JourneyNodeData } from '../../lib/graph';
import { formatDuration } from '../../lib/settings';
import { NodeShell } from './node-shell';

export type MessageNode = Node<JourneyNodeData, 'message'>;

// Monograms rather than emoji: they render the same on every machine (no emoji font needed).
const ICONS: Record<string, string> = {
  email: 'EM',
  sms: 'SMS',
  push: 'PU',
  whatsapp: 'WA',
  rcs: 'RCS',
  telegram: 'TG',
  kakao_alimtalk: 'KA',
  kakao_friendtalk: 'KF',
  in_app: 'IA',
};

export function MessageNodeView({ id, data, selected }: NodeProps<MessageNode>) {
  const channel = data.config.channel;
  const content = (data.config.content ?? {}) as Record<string, string>;
  const label = isChannel(channel) ? CHANNEL_LABELS[channel] : 'Message';
  const text = content.subject || content.title || content.text || content.body || content.template || '';
  const awaited = data.config.await as { status?: string; within?: unknown } | undefined;
  return (
    <NodeShell
      id={id}
      kind="message"
      data={data}
      selected={selected}
      icon={ICONS[String(channel)] ?? 'MSG'}
      tone="channel"
      typeLabel={label}
      messageCounts
      summary={
        <>
          {text ? <span className="clip">{text}</span> : <span className="muted">No content yet</span>}
          {awaited && (
            <span className="muted">
              {' '}
              · waits {formatDuration(awaited.within)} for {awaited.status}
            </span>
          )}
        </>
      }
    />
  );
}

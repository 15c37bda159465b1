import type { JourneyStatus } from '../api/client';
import { Badge } from './ui';

const TONES: Record<JourneyStatus, string> = {
  draft: 'neutral',
  active: 'success',
  paused: 'warning',
  stopped: 'danger',
  archived: 'muted',
};

export function StatusBadge({ status }: { status: JourneyStatus }) {
  return <Badge tone={TONES[status]}>{status}</Badge>;
}

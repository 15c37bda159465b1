// The canvas palette: what a marketer can drag on, grouped the way they think about it. Each
// item becomes a node of one of the API's node types with a starting config.
import { CHANNEL_LABELS, CHANNELS, emptyContent } from './channels';
import type { Config, NodeKind } from './graph';

export interface PaletteItem {
  key: string;
  label: string;
  kind: NodeKind;
  config: Config;
  hint: string;
}

export interface PaletteGroup {
  title: string;
  items: PaletteItem[];
}

export const PALETTE: PaletteGroup[] = [
  {
    title: 'Trigger',
    items: [{ key: 'start', label: 'Trigger', kind: 'start', config: {}, hint: 'Where customers enter (set the entry in Journey settings)' }],
  },
  {
    title: 'Channels',
    items: [
      ...CHANNELS.map((channel) => ({
        key: channel,
        label: CHANNEL_LABELS[channel],
        kind: 'message' as const,
        config: { channel, content: emptyContent(channel) },
        hint: `Send a ${CHANNEL_LABELS[channel]} message`,
      })),
      {
        key: 'webhook',
        label: 'Webhook',
        kind: 'webhook',
        config: { method: 'POST', url: '', headers: {}, body: '', timeout_seconds: 10, retries: 2 },
        hint: 'Call an external HTTP endpoint',
      },
    ],
  },
  {
    title: 'Flow',
    items: [
      {
        key: 'branch',
        label: 'User branch',
        kind: 'branch',
        config: { groups: [{ id: 'group_1', name: 'Group 1', condition: { all: [] } }] },
        hint: 'Split by profile attributes, first matching group wins',
      },
      {
        key: 'event_branch',
        label: 'Event branch',
        kind: 'event_branch',
        config: { event: '', within: 'since_entry' },
        hint: 'Did the customer do an event?',
      },
      {
        key: 'split',
        label: 'Random split',
        kind: 'split',
        config: { paths: [{ id: 'a', name: 'A', percent: 50 }, { id: 'b', name: 'B', percent: 50 }] },
        hint: 'A/B test: sticky random paths',
      },
      {
        key: 'wait',
        label: 'Wait',
        kind: 'wait',
        config: { mode: 'duration', duration: { value: 1, unit: 'days' } },
        hint: 'Wait a while or until a time of day',
      },
      {
        key: 'wait_event',
        label: 'Wait for event',
        kind: 'wait',
        config: { mode: 'event', event: '', timeout: { value: 1, unit: 'days' } },
        hint: 'Wait until an event arrives, with a timeout',
      },
    ],
  },
  {
    title: 'Actions',
    items: [
      {
        key: 'update_profile',
        label: 'Update profile / tag',
        kind: 'update_profile',
        config: { set: {}, add_tags: [] },
        hint: 'Set attributes, add or remove tags',
      },
    ],
  },
  {
    title: 'Exit',
    items: [{ key: 'exit', label: 'Exit', kind: 'exit', config: {}, hint: 'End the journey here' }],
  },
];

export const PALETTE_ITEMS: Map<string, PaletteItem> = new Map(
  PALETTE.flatMap((g) => g.items).map((item) => [item.key, item]),
);

/** The MIME type the palette puts on the drag so the canvas ignores other drops. */
export const DRAG_MIME = 'application/x-waymark-node';

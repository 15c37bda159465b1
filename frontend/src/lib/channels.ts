// Per-channel message content: the fields each channel's `content` holds and which are required,
// mirroring channels_app/rendering.py CONTENT_SPECS, plus the receipts each channel can await.
export const CHANNELS = [
  'email',
  'sms',
  'push',
  'whatsapp',
  'rcs',
  'telegram',
  'kakao_alimtalk',
  'kakao_friendtalk',
  'in_app',
] as const;
export type Channel = (typeof CHANNELS)[number];

export const CHANNEL_LABELS: Record<Channel, string> = {
  email: 'Email',
  sms: 'SMS',
  push: 'Push',
  whatsapp: 'WhatsApp',
  rcs: 'RCS',
  telegram: 'Telegram',
  kakao_alimtalk: 'Kakao Alimtalk',
  kakao_friendtalk: 'Kakao Friendtalk',
  in_app: 'In-app',
};

export interface ContentField {
  key: string;
  label: string;
  required?: boolean;
  /** multi-line text area rather than a one-line input */
  long?: boolean;
  /** a Liquid template: gets the `{…}` attribute button and is rendered in the preview */
  liquid?: boolean;
  /** where the platforms cut the text off, shown as a counter for each platform the message targets */
  limits?: DisplayLimit[];
}

/** What a platform shows before it cuts the text off with an ellipsis (push delivers up to its
 * 4 KB payload either way): iOS shows ~40 characters of a title (APNs display guidance) and ~160
 * of a body on the lock screen; Android ~49 of a body on the lock screen (597 once the drawer is
 * expanded). Web push varies by browser and OS, so it gets no counter. */
export interface DisplayLimit {
  platform: 'ios' | 'android';
  max: number;
  where: string;
}
const PUSH_TITLE_LIMITS: DisplayLimit[] = [{ platform: 'ios', max: 40, where: 'iOS' }];
const PUSH_BODY_LIMITS: DisplayLimit[] = [
  { platform: 'ios', max: 160, where: 'iOS lock screen' },
  { platform: 'android', max: 49, where: 'Android lock screen' },
];

const text = (required = true): ContentField => ({ key: 'text', label: 'Text', required, long: true, liquid: true });

export const CONTENT_FIELDS: Record<Channel, ContentField[]> = {
  email: [
    { key: 'subject', label: 'Subject', required: true, liquid: true },
    { key: 'preheader', label: 'Preheader', liquid: true },
    { key: 'html', label: 'HTML body', long: true, liquid: true },
    { key: 'text', label: 'Plain-text body', long: true, liquid: true },
  ],
  sms: [text()],
  push: [
    { key: 'title', label: 'Title', liquid: true, limits: PUSH_TITLE_LIMITS },
    { key: 'body', label: 'Body', required: true, long: true, liquid: true, limits: PUSH_BODY_LIMITS },
    { key: 'url', label: 'Open URL', liquid: true },
    { key: 'image_url', label: 'Image URL', liquid: true },
  ],
  whatsapp: [
    { key: 'template', label: 'Approved template name' },
    { key: 'language', label: 'Template language' },
    text(false),
  ],
  rcs: [text(), { key: 'media_url', label: 'Media URL', liquid: true }],
  telegram: [text()],
  kakao_alimtalk: [{ key: 'template_code', label: 'Template code', required: true }, text()],
  kakao_friendtalk: [text(), { key: 'image_url', label: 'Image URL', liquid: true }],
  in_app: [
    { key: 'title', label: 'Title', required: true, liquid: true },
    { key: 'body', label: 'Body', required: true, long: true, liquid: true },
    { key: 'url', label: 'Link URL', liquid: true },
  ],
};

export const PUSH_PLATFORMS = ['android', 'ios', 'web'] as const;

/** Receipts a message of each channel can produce (channels_app/nodes.py CHANNEL_AWAITABLE). */
export const AWAITABLE: Record<Channel, string[]> = {
  email: ['delivered', 'opened', 'clicked', 'replied'],
  sms: ['delivered', 'clicked', 'replied'],
  push: ['delivered', 'opened', 'clicked'],
  whatsapp: ['delivered', 'read', 'clicked', 'replied'],
  rcs: ['delivered', 'read', 'clicked', 'replied'],
  telegram: ['delivered', 'clicked', 'replied'],
  kakao_alimtalk: ['delivered', 'read', 'clicked'],
  kakao_friendtalk: ['delivered', 'read', 'clicked'],
  in_app: ['delivered', 'read', 'clicked'],
};

export function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

export function emptyContent(channel: Channel): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const field of CONTENT_FIELDS[channel]) if (field.required) content[field.key] = '';
  if (channel === 'push') content.platforms = ['android', 'ios'];
  if (channel === 'whatsapp') content.text = '';
  return content;
}

// The providers a channel can be configured with and the credentials and settings each takes,
// mirroring channels_app/providers/*.py (credential_fields) and API.md "Channels and messages".
import { CHANNEL_LABELS, CHANNELS, type Channel } from '../../lib/channels';

export interface ProviderField {
  key: string;
  label: string;
  required?: boolean;
  /** a secret: typed into a password box and never shown again */
  secret?: boolean;
  kind?: 'text' | 'number' | 'boolean' | 'json' | 'textarea';
  placeholder?: string;
  /** a pick among these [value, label] pairs (the first is the default) */
  choices?: [string, string][];
}

/** The channels a workspace configures: every message channel, and `wallet` (a pass travels as a
 * link inside another channel's message, so no message node sends on it). */
export type ConfigChannel = Channel | 'wallet';
export const CONFIG_CHANNELS: readonly ConfigChannel[] = [...CHANNELS, 'wallet'];
export const CONFIG_CHANNEL_LABELS: Record<ConfigChannel, string> = { ...CHANNEL_LABELS, wallet: 'Wallet passes' };
export function isConfigChannel(value: unknown): value is ConfigChannel {
  return typeof value === 'string' && (CONFIG_CHANNELS as readonly string[]).includes(value);
}

export interface ProviderSpec {
  key: string;
  label: string;
  channels: readonly ConfigChannel[];
  credentials: ProviderField[];
  settings: ProviderField[];
  note?: string;
  /** what the channel's callback_url is called at the provider */
  callbackLabel?: string;
}

const serviceAccount: ProviderField = {
  key: 'service_account_json',
  label: 'Service account JSON',
  required: true,
  secret: true,
  kind: 'textarea',
  placeholder: '{"type": "service_account", "client_email": …, "private_key": …}',
};
// A wallet channel's settings, the same for Apple and Google: the templates are JSON objects keyed
// by the name messages use in {{ wallet.<name>.apple_url }} (channels_app/wallet/apple.py).
const walletSettings: ProviderField[] = [
  { key: 'organization_name', label: 'Organization name (shown on the pass)', required: true, placeholder: 'Acme Coffee' },
  {
    key: 'passes',
    label: 'Pass templates (JSON object keyed by template name)',
    required: true,
    kind: 'json',
    placeholder: '{"loyalty": {"style": "storeCard", "description": "Acme loyalty card", "fields": {"primary": [{"key": "points", "label": "Points", "value": "{{ customer.points }}"}]}}}',
  },
];
const baseUrl: ProviderField = { key: 'base_url', label: 'API base URL (optional override)', placeholder: 'default' };
// The Kakao dealers' shared fields: their secret, the calling number SMS/LMS failover is sent from.
const dealerSecret: ProviderField = { key: 'secret_key', label: 'Secret key', required: true, secret: true };
const smsFailover: ProviderField = { key: 'sms_failover', label: 'SMS/LMS failover when KakaoTalk cannot deliver', kind: 'boolean' };
const callingNumber = (what: string): ProviderField => ({ key: 'sms_from', label: `Registered calling number (${what})`, placeholder: '0212345678' });

export const PROVIDERS: ProviderSpec[] = [
  {
    key: 'sandbox',
    label: 'Sandbox',
    channels: CHANNELS.filter((c) => c !== 'in_app'),
    credentials: [],
    settings: [],
    note: 'Renders and records every message and marks it sent, but delivers nowhere. Receipts can be posted by hand.',
  },
  {
    key: 'smtp',
    label: 'SMTP',
    channels: ['email'],
    credentials: [
      { key: 'host', label: 'Host', required: true, placeholder: 'smtp.example.com' },
      { key: 'port', label: 'Port', required: true, kind: 'number', placeholder: '587' },
      { key: 'username', label: 'Username' },
      { key: 'password', label: 'Password', secret: true },
      { key: 'use_tls', label: 'STARTTLS', kind: 'boolean' },
      { key: 'use_ssl', label: 'SSL/TLS from the start', kind: 'boolean' },
    ],
    settings: [{ key: 'from_email', label: 'From address', required: true, placeholder: 'Acme <hello@acme.com>' }],
  },
  {
    key: 'sendgrid',
    label: 'SendGrid',
    channels: ['email'],
    credentials: [
      { key: 'api_key', label: 'API key', required: true, secret: true, placeholder: 'SG.…' },
      {
        key: 'webhook_verification_key',
        label: 'Event Webhook verification key',
        kind: 'textarea',
        placeholder: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…',
      },
      baseUrl,
    ],
    settings: [{ key: 'from_email', label: 'From address', required: true, placeholder: 'hello@acme.com' }],
    callbackLabel: 'Event Webhook URL',
    note:
      'Bounces and spam reports come back through SendGrid’s signed Event Webhook: paste its verification key ' +
      '(Mail Settings → Event Webhook → Signature verification), save, then point the webhook at the callback URL shown here. ' +
      'A bounced or complaining address is then refused as undeliverable.',
  },
  {
    key: 'twilio',
    label: 'Twilio',
    channels: ['sms'],
    credentials: [
      { key: 'account_sid', label: 'Account SID', required: true },
      { key: 'auth_token', label: 'Auth token', required: true, secret: true },
      { key: 'from', label: 'From number', required: true, placeholder: '+14155550123' },
      baseUrl,
    ],
    settings: [],
  },
  {
    key: 'fcm',
    label: 'Firebase Cloud Messaging',
    channels: ['push'],
    credentials: [
      { key: 'project_id', label: 'Project id', required: true },
      { key: 'service_account_json', label: 'Service account JSON', required: true, secret: true, kind: 'textarea' },
      baseUrl,
    ],
    settings: [],
  },
  {
    key: 'apns',
    label: 'Apple Push Notification service',
    channels: ['push'],
    credentials: [
      { key: 'team_id', label: 'Team id', required: true, placeholder: 'ABCDE12345' },
      { key: 'key_id', label: 'Key id', required: true, placeholder: 'KEY1234567' },
      { key: 'private_key', label: 'Private key (.p8)', required: true, secret: true, kind: 'textarea' },
      { key: 'bundle_id', label: 'Bundle id (topic)', required: true, placeholder: 'com.example.app' },
      { key: 'environment', label: 'Environment', required: true, placeholder: 'production or sandbox' },
      baseUrl,
    ],
    settings: [
      { key: 'push_type', label: 'Push type', placeholder: 'alert or background' },
      { key: 'priority', label: 'Priority', kind: 'number', placeholder: '10' },
      { key: 'ttl_seconds', label: 'Expires after (seconds)', kind: 'number', placeholder: '0' },
      { key: 'collapse_id', label: 'Collapse id' },
      { key: 'sound', label: 'Sound', placeholder: 'default' },
      { key: 'badge', label: 'Badge', kind: 'number' },
    ],
  },
  {
    key: 'webpush',
    label: 'Web Push (VAPID)',
    channels: ['push'],
    credentials: [
      { key: 'vapid_subject', label: 'VAPID subject (contact)', required: true, placeholder: 'mailto:ops@acme.com' },
      { key: 'vapid_private_key', label: 'VAPID private key (leave blank to generate a key pair)', secret: true, kind: 'textarea' },
    ],
    settings: [
      { key: 'ttl_seconds', label: 'Time to live (seconds)', kind: 'number', placeholder: '86400' },
      {
        key: 'urgency',
        label: 'Urgency',
        choices: [
          ['', 'normal'],
          ['very-low', 'very-low'],
          ['low', 'low'],
          ['high', 'high'],
        ],
      },
    ],
    note:
      'Browsers subscribe with the VAPID public key shown on this page once saved (a key pair is generated when you leave the private key blank). ' +
      'Sites load /sdk/waymark-push.js with a publishable key, and each subscription becomes the customer’s web push token.',
  },
  {
    key: 'rbm',
    label: 'RCS Business Messaging (Google)',
    channels: ['rcs'],
    credentials: [
      { key: 'agent_id', label: 'Agent id', required: true, placeholder: 'acme_agent' },
      serviceAccount,
      { key: 'client_token', label: 'Webhook client token (verifies receipts)', secret: true },
      baseUrl,
    ],
    settings: [
      {
        key: 'fallback',
        label: 'When the phone has no RCS',
        choices: [
          ['', 'Fail the message'],
          ['sms', 'Send it as SMS through the default SMS channel'],
        ],
      },
    ],
    callbackLabel: 'Webhook URL',
    note: 'Delivered, read and reply receipts come back on the webhook URL shown once saved: set it with the client token in the RBM console.',
  },
  {
    key: 'apple_wallet',
    label: 'Apple Wallet',
    channels: ['wallet'],
    credentials: [
      { key: 'pass_type_identifier', label: 'Pass type id', required: true, placeholder: 'pass.com.acme.loyalty' },
      { key: 'team_identifier', label: 'Team id', required: true, placeholder: 'ABCDE12345' },
      { key: 'certificate', label: 'Pass type certificate (PEM)', required: true, kind: 'textarea', placeholder: '-----BEGIN CERTIFICATE-----' },
      { key: 'private_key', label: 'Certificate private key (PEM)', required: true, secret: true, kind: 'textarea', placeholder: '-----BEGIN PRIVATE KEY-----' },
      { key: 'wwdr_certificate', label: 'Apple WWDR intermediate certificate (PEM)', required: true, kind: 'textarea', placeholder: '-----BEGIN CERTIFICATE-----' },
    ],
    settings: walletSettings,
    note: 'A pass reaches a customer as a link inside another message: write {{ wallet.<template>.apple_url }} in an email, SMS or in-app message.',
  },
  {
    key: 'google_wallet',
    label: 'Google Wallet',
    channels: ['wallet'],
    credentials: [{ key: 'issuer_id', label: 'Issuer id', required: true, placeholder: '3388000000012345678' }, serviceAccount],
    settings: walletSettings,
    note: 'A pass reaches a customer as a “Save to Google Wallet” link inside another message: write {{ wallet.<template>.google_url }}.',
  },
  {
    key: 'whatsapp_cloud',
    label: 'WhatsApp Cloud API',
    channels: ['whatsapp'],
    credentials: [
      { key: 'phone_number_id', label: 'Phone number id', required: true },
      { key: 'access_token', label: 'Access token', required: true, secret: true },
      { key: 'app_secret', label: 'App secret (verifies callbacks)', secret: true },
      { key: 'verify_token', label: 'Webhook verify token', secret: true },
      baseUrl,
    ],
    settings: [],
  },
  {
    key: 'telegram',
    label: 'Telegram bot',
    channels: ['telegram'],
    credentials: [{ key: 'bot_token', label: 'Bot token', required: true, secret: true }, baseUrl],
    settings: [],
  },
  {
    key: 'http',
    label: 'HTTP (your own endpoint)',
    channels: CHANNELS,
    credentials: [
      { key: 'url', label: 'URL', required: true, placeholder: 'https://hooks.example.com/send' },
      { key: 'headers', label: 'Headers (JSON object)', kind: 'json', secret: true, placeholder: '{"Authorization": "Bearer …"}' },
    ],
    settings: [],
    note: 'POSTs every rendered message as JSON to your URL.',
  },
  {
    key: 'ncloud_sens',
    label: 'NAVER Cloud SENS',
    channels: ['kakao_alimtalk', 'sms'],
    credentials: [
      { key: 'access_key', label: 'Access key', required: true },
      dealerSecret,
      { key: 'service_id', label: 'Biz Message service id (AlimTalk)', placeholder: 'ncp:kkobizmsg:kr:…' },
      { key: 'plus_friend_id', label: 'Kakao channel id (plusFriendId)', placeholder: '@shop' },
      { key: 'sms_service_id', label: 'SMS service id', placeholder: 'ncp:sms:kr:…' },
      callingNumber('SMS and failover'),
      baseUrl,
    ],
    settings: [smsFailover],
    note: 'AlimTalk needs the Biz Message service id and the channel id; SMS needs the SMS service id and a calling number.',
  },
  {
    key: 'nhn_bizmessage',
    label: 'NHN Cloud KakaoTalk Bizmessage',
    channels: ['kakao_alimtalk', 'kakao_friendtalk'],
    credentials: [
      { key: 'appkey', label: 'Appkey', required: true },
      dealerSecret,
      { key: 'sender_key', label: 'Sender key', required: true },
      callingNumber('failover'),
      baseUrl,
    ],
    settings: [
      smsFailover,
      {
        key: 'product',
        label: 'FriendTalk sends as',
        choices: [
          ['', 'FriendTalk'],
          ['brand_message', 'Brand Message'],
        ],
      },
    ],
  },
];

export function providersFor(channel: ConfigChannel): ProviderSpec[] {
  return PROVIDERS.filter((p) => p.channels.includes(channel));
}

export function providerSpec(key: string): ProviderSpec | undefined {
  return PROVIDERS.find((p) => p.key === key);
}

/** Typed values from the form's text: numbers, booleans and JSON where the field says so;
 * blank fields are left out (on an edit, blank credentials mean "keep the stored ones"). */
export function fieldValues(fields: ProviderField[], text: Record<string, string>): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const raw = (text[f.key] ?? '').trim();
    if (f.kind === 'boolean') {
      if (raw === 'true') values[f.key] = true;
      continue;
    }
    if (raw === '') continue;
    if (f.kind === 'number') {
      const n = Number(raw);
      if (Number.isInteger(n)) values[f.key] = n;
      else errors[f.key] = 'Must be a whole number.';
    } else if (f.kind === 'json') {
      try {
        values[f.key] = JSON.parse(raw);
      } catch {
        errors[f.key] = 'Must be valid JSON.';
      }
    } else {
      values[f.key] = raw;
    }
  }
  return { values, errors };
}

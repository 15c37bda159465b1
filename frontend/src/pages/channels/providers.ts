// The providers a channel can be configured with and the credentials and settings each takes,
// mirroring channels_app/providers/*.py (credential_fields) and API.md "Channels and messages".
import { CHANNELS, type Channel } from '../../lib/channels';

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

export interface ProviderSpec {
  key: string;
  label: string;
  channels: readonly Channel[];
  credentials: ProviderField[];
  settings: ProviderField[];
  note?: string;
  /** what the channel's callback_url is called at the provider */
  callbackLabel?: string;
}

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

export function providersFor(channel: Channel): ProviderSpec[] {
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

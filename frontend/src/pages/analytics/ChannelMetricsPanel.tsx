// Per channel and provider across the workspace (GET /analytics/channels): what each provider
// carried and what came back — RCS reads, ESP bounces, RCS sent as SMS instead, wallet passes saved.
import { useEffect, useMemo, useState } from 'react';

import { api, errorMessage, ok, type Schemas } from '../../api/client';
import { ErrorBanner, Spinner } from '../../components/ui';
import { CHANNEL_LABELS, isChannel } from '../../lib/channels';
import { datePresets, pct, todayIn } from '../../lib/chart-data';
import { providerSpec } from '../channels/providers';

type Row = Schemas['ChannelMetricsRow'];

const COLUMNS: [keyof Row, string, string?][] = [
  ['sent', 'Sent'],
  ['delivered', 'Delivered'],
  ['read', 'Read'],
  ['clicked', 'Clicked'],
  ['bounced', 'Bounced'],
  ['failed', 'Failed'],
  ['failover', 'Fell back', 'Sent through another channel instead: RCS as SMS to a phone without RCS, KakaoTalk’s SMS/LMS'],
  ['saved', 'Passes saved', 'Messages whose wallet pass a customer saved to their phone'],
];

export function ChannelMetricsPanel({ timeZone }: { timeZone: string | undefined }) {
  const presets = useMemo(() => datePresets(todayIn(timeZone, new Date())), [timeZone]);
  const [preset, setPreset] = useState('Last 30 days');
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const range = presets.find((p) => p.label === preset) ?? presets[presets.length - 1];

  useEffect(() => {
    let live = true;
    setError(null);
    const query = { ...(range.from ? { from: range.from } : {}), ...(range.to ? { to: range.to } : {}) };
    ok(api.GET('/api/v1/analytics/channels', { params: { query } }))
      .then((r) => live && setRows(r.results))
      .catch((e) => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [range.from, range.to, reload]);

  return (
    <section className="panel" aria-label="Channels">
      <div className="panel-head">
        <h2>Channels</h2>
        <select aria-label="Channel metrics range" value={preset} onChange={(e) => setPreset(e.target.value)}>
          {presets.map((p) => (
            <option key={p.label} value={p.label}>
              {p.label}
            </option>
          ))}
        </select>
      </div>
      {error && <ErrorBanner message={error} onRetry={() => setReload((n) => n + 1)} />}
      {rows === null && !error && <Spinner label="Loading channels…" />}
      {rows?.length === 0 && <p className="muted">No messages in this range.</p>}
      {rows && rows.length > 0 && (
        <table className="table compact" aria-label="Messages by channel and provider">
          <thead>
            <tr>
              <th>Channel</th>
              <th>Provider</th>
              {COLUMNS.map(([key, label, title]) => (
                <th key={key} className="num" title={title}>
                  {label}
                </th>
              ))}
              <th className="num">Delivery</th>
              <th className="num">Read</th>
              <th className="num">Bounce</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.channel}/${r.provider}`} data-channel={r.channel} data-provider={r.provider}>
                <td>{isChannel(r.channel) ? CHANNEL_LABELS[r.channel] : r.channel}</td>
                <td>{providerSpec(r.provider)?.label ?? r.provider}</td>
                {COLUMNS.map(([key]) => (
                  <td key={key} className="num" data-col={key}>
                    {Number(r[key]).toLocaleString()}
                  </td>
                ))}
                <td className="num" data-col="delivery_rate">{pct(r.delivery_rate)}</td>
                <td className="num" data-col="read_rate">{pct(r.read_rate)}</td>
                <td className="num" data-col="bounce_rate">{pct(r.bounce_rate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

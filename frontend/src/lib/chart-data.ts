// Shapes GET /journeys/{id}/analytics for the dashboard: summary cards, the funnel by node, the
// daily series, per-channel message totals and holdout vs treatment. Pure functions, so the
// numbers on screen are the API's numbers, re-arranged, never re-computed differently.

// failover: sent through another channel instead (KakaoTalk's SMS/LMS, RCS as SMS to a phone
// without RCS); saved: a wallet pass the message carried was saved to a phone.
export const MESSAGE_METRICS = ['sent', 'delivered', 'opened', 'read', 'clicked', 'replied', 'failed', 'bounced', 'failover', 'saved'] as const;
export type MessageMetric = (typeof MESSAGE_METRICS)[number];
export type MessageCounts = Record<MessageMetric, number>;

/** The subset of the API's types these functions read (kept structural so tests stay small). */
export interface SummaryIn {
  /** what the figures count: runs (enrollments), never distinct customers */
  counts?: 'runs';
  /** a keyed journey's key property: one run per value per customer */
  key_property?: string | null;
  started: number;
  active: number;
  completed: number;
  exited: number;
  failed: number;
  goal_conversions: number;
  conversion_rate: number;
  avg_duration_seconds: number | null;
  holdout?: HoldoutIn | null;
  /** exits by reason; "goal" is a goal reached with "exit when met": a success, not a drop-off */
  exited_by_reason?: Record<string, number>;
  /** one version: customers moved into it from earlier versions when it was published */
  moved_in?: number;
  /** the converting events' value property, summed over every goal conversion */
  revenue?: number;
  goals?: Record<string, GoalIn>;
}
export interface GroupIn {
  started: number;
  goal_conversions: number;
  conversion_rate: number;
}
export interface HoldoutIn {
  percent: number;
  holdout: GroupIn;
  treatment: GroupIn;
  /** treatment − holdout conversion rate (absolute), its relative size and confidence */
  uplift: { absolute: number; relative?: number | null; ci95?: number[] | null; p_value?: number | null } | null;
}
export interface NodeIn {
  node_id: string;
  type: string | null;
  name: string;
  entered: number;
  waiting: number;
  active: number;
  passed: number;
  exited: number;
  failed: number;
  completed: number;
  handles?: Record<string, number>;
  handle_names?: Record<string, string>;
  exited_by_reason?: Record<string, number>;
  moved_in?: number;
  messages: MessageCounts | null;
}
export interface SeriesIn {
  date: string;
  started: number;
  completed: number;
  goal_conversions: number;
}
export interface GraphIn {
  nodes: { id: string; type: string; name?: string; config?: Record<string, unknown> }[];
}

export function pct(rate: number | null | undefined, digits = 1): string {
  if (rate == null || !Number.isFinite(rate)) return '—';
  return `${(rate * 100).toFixed(digits)}%`;
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

/** "3 d 4 h", "2 h 5 min", "45 s": the two largest units, for durations from seconds to months. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '—';
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ];
  let rest = Math.round(seconds);
  const parts: string[] = [];
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || (name === 's' && parts.length === 0)) {
      parts.push(`${n} ${name}`);
      rest -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

export interface Card {
  key: string;
  label: string;
  value: string;
  hint?: string;
}

/** Left early without reaching a goal: exits on reaching an exiting goal are conversions. */
function dropOffs(exited: number, byReason: Record<string, number> | undefined): number {
  return exited - (byReason?.goal ?? 0);
}

/** What the dashboard's numbers count, said once above them: runs, not people. */
export function countsNote(s: Pick<SummaryIn, 'key_property'>): string {
  return s.key_property
    ? `Counts runs, not customers: one run per customer and ${s.key_property}, so a customer with two ${s.key_property} values counts twice.`
    : 'Counts runs, not customers: a customer who enters again counts once per run.';
}

export function summaryCards(s: SummaryIn): Card[] {
  const n = (v: number) => v.toLocaleString('en-US');
  const dropped = dropOffs(s.exited, s.exited_by_reason);
  const atGoal = s.exited - dropped;
  return [
    { key: 'started', label: 'Runs started', value: n(s.started), ...(s.moved_in ? { hint: `+${n(s.moved_in)} moved in from earlier versions` } : {}) },
    { key: 'active', label: 'Runs active now', value: n(s.active), hint: 'in the journey right now' },
    { key: 'completed', label: 'Completed', value: n(s.completed), hint: `${pct(ratio(s.completed, s.started))} of started` },
    {
      key: 'exited',
      label: 'Drop-offs',
      value: n(dropped),
      hint: `${pct(ratio(dropped, s.started))} of started${atGoal ? ` · ${n(atGoal)} left on reaching a goal` : ''}${s.failed ? ` · ${n(s.failed)} failed` : ''}`,
    },
    { key: 'avg_duration', label: 'Average duration', value: formatSeconds(s.avg_duration_seconds), hint: 'entry to completion' },
    { key: 'goal', label: 'Goal conversion', value: pct(s.conversion_rate), hint: `${n(s.goal_conversions)} converted` },
    ...(s.revenue == null ? [] : [{ key: 'revenue', label: 'Revenue', value: money(s.revenue), hint: 'from goal conversions' }]),
  ];
}

export interface FunnelRow {
  node_id: string;
  label: string;
  type: string | null;
  entered: number;
  /** one version: arrived here by moving in from an earlier version, not by entering */
  movedIn: number;
  passed: number;
  waiting: number;
  exited: number;
  failed: number;
  completed: number;
  /** entered here ÷ started (the share of the journey's entrants that reached this node) */
  reach: number | null;
  /** left the journey here early: exited (not on reaching a goal) + failed here (a failed send
   * that went on along an output did not leave) */
  dropOff: number;
  /** passes out of each output handle, by the handle's display name (branch group, split path) */
  paths: [string, number][];
}

/** One row per node in the API's order (graph order); nodes nobody reached stay in, at 0. */
export function funnelRows(nodes: NodeIn[], started: number): FunnelRow[] {
  return nodes.map((node) => ({
    node_id: node.node_id,
    label: node.name || node.node_id,
    type: node.type,
    entered: node.entered,
    movedIn: node.moved_in ?? 0,
    passed: node.passed,
    waiting: node.waiting,
    exited: node.exited,
    failed: node.failed,
    completed: node.completed,
    reach: ratio(node.entered, started),
    dropOff: dropOffs(node.exited, node.exited_by_reason) + node.failed - (node.handles?.failed ?? 0),
    paths: Object.entries(node.handles ?? {}).map(([handle, n]) => [node.handle_names?.[handle] || handle, n] as [string, number]),
  }));
}

export interface ChartData {
  labels: string[];
  datasets: { label: string; data: number[] }[];
}

export function funnelChartData(rows: FunnelRow[]): ChartData {
  return {
    labels: rows.map((r) => r.label),
    datasets: [
      { label: 'Entered', data: rows.map((r) => r.entered) },
      { label: 'Dropped off', data: rows.map((r) => r.dropOff) },
    ],
  };
}

export function seriesChartData(series: SeriesIn[]): ChartData {
  return {
    labels: series.map((p) => p.date),
    datasets: [
      { label: 'Runs started', data: series.map((p) => p.started) },
      { label: 'Completed', data: series.map((p) => p.completed) },
      { label: 'Goal conversions', data: series.map((p) => p.goal_conversions) },
    ],
  };
}

/** node id → channel, from the message nodes of the given graphs (later graphs win). */
export function nodeChannels(graphs: (GraphIn | null | undefined)[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const graph of graphs) {
    for (const node of graph?.nodes ?? []) {
      const channel = node.config?.channel;
      if (node.type === 'message' && typeof channel === 'string' && channel) out.set(node.id, channel);
    }
  }
  return out;
}

export interface ChannelRow extends MessageCounts {
  channel: string;
  nodes: number;
  deliveryRate: number | null; // delivered ÷ sent
  openRate: number | null; // (opened or read) ÷ delivered
  clickRate: number | null; // clicked ÷ delivered
  failureRate: number | null; // (failed + bounced) ÷ (sent + failed)
}

function zeroCounts(): MessageCounts {
  return Object.fromEntries(MESSAGE_METRICS.map((m) => [m, 0])) as MessageCounts;
}

/** Message metrics summed per channel over the message nodes; a node whose channel is not in
 * any known graph is counted under "unknown" rather than dropped. */
export function channelRows(nodes: NodeIn[], channels: Map<string, string>): ChannelRow[] {
  const totals = new Map<string, { counts: MessageCounts; nodes: number }>();
  for (const node of nodes) {
    if (!node.messages) continue;
    const channel = channels.get(node.node_id) ?? 'unknown';
    const entry = totals.get(channel) ?? { counts: zeroCounts(), nodes: 0 };
    for (const m of MESSAGE_METRICS) entry.counts[m] += node.messages[m] ?? 0;
    entry.nodes += 1;
    totals.set(channel, entry);
  }
  return [...totals.entries()]
    .map(([channel, { counts, nodes: n }]) => ({
      channel,
      nodes: n,
      ...counts,
      deliveryRate: ratio(counts.delivered, counts.sent),
      openRate: ratio(Math.max(counts.opened, counts.read), counts.delivered),
      clickRate: ratio(counts.clicked, counts.delivered),
      failureRate: ratio(counts.failed + counts.bounced, counts.sent + counts.failed),
    }))
    .sort((a, b) => b.sent - a.sent || a.channel.localeCompare(b.channel));
}

export function channelChartData(rows: ChannelRow[]): ChartData {
  return {
    labels: [...MESSAGE_METRICS],
    datasets: rows.map((r) => ({ label: r.channel, data: MESSAGE_METRICS.map((m) => r[m]) })),
  };
}

export interface HoldoutView {
  percent: number;
  rows: { group: 'Treatment' | 'Holdout'; started: number; converted: number; rate: string }[];
  uplift: string;
}

export function holdoutView(h: HoldoutIn | null | undefined): HoldoutView | null {
  if (!h) return null;
  const row = (group: 'Treatment' | 'Holdout', g: GroupIn) => ({
    group,
    started: g.started,
    converted: g.goal_conversions,
    rate: pct(g.conversion_rate),
  });
  // The difference of conversion rates, in percentage points (API.md: treatment − holdout).
  const uplift = h.uplift == null ? '—' : `${h.uplift.absolute >= 0 ? '+' : ''}${(h.uplift.absolute * 100).toFixed(1)} pts`;
  return { percent: h.percent, rows: [row('Treatment', h.treatment), row('Holdout', h.holdout)], uplift };
}

// ---- date presets for the filters (ISO dates, whole days, `to` inclusive as the API reads it)
function iso(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function addDays(d: Date, n: number): Date {
  const out = new Date(d);
  out.setDate(out.getDate() + n);
  return out;
}

/** The previous calendar week, Monday to Sunday. */
export function lastWeek(today: Date): { from: string; to: string } {
  const sinceMonday = (today.getDay() + 6) % 7;
  const thisMonday = addDays(today, -sinceMonday);
  return { from: iso(addDays(thisMonday, -7)), to: iso(addDays(thisMonday, -1)) };
}

/** The last `n` days, today included. */
export function lastDays(n: number, today: Date): { from: string; to: string } {
  return { from: iso(addDays(today, -(n - 1))), to: iso(today) };
}

/** Today's calendar date where the workspace is (the API reads `from`/`to` in the workspace's
 * time zone), as a local-midnight Date the presets above can count from. An unknown zone falls
 * back to the browser's own date. */
export function todayIn(timeZone: string | undefined, now: Date): Date {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(now);
    const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    return new Date(part('year'), part('month') - 1, part('day'));
  } catch {
    return new Date(now.getFullYear(), now.getMonth(), now.getDate());
  }
}

export interface DatePreset {
  label: string;
  from: string;
  to: string;
}

/** The dashboard's date presets for a workspace-local `today`; "All time" clears the range. */
export function datePresets(today: Date): DatePreset[] {
  return [
    { label: 'Last week', ...lastWeek(today) },
    { label: 'Last 7 days', ...lastDays(7, today) },
    { label: 'Last 30 days', ...lastDays(30, today) },
    { label: 'All time', from: '', to: '' },
  ];
}

// ---- results: revenue, goals, holdout uplift, experiments and the step funnel

export interface GoalIn {
  name: string;
  conversions: number;
  rate: number;
  revenue: number;
}

/** Money as the API sums it (the converting events' value property, no currency attached). */
export function money(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export interface GoalRow extends GoalIn {
  id: string;
}

/** The summary's goals in the API's order (the version's goals first). */
export function goalRows(goals: Record<string, GoalIn> | null | undefined): GoalRow[] {
  return Object.entries(goals ?? {}).map(([id, g]) => ({ id, ...g }));
}

/** Percentage points with a sign: 0.052 → "+5.2 pts". */
export function points(diff: number, digits = 1): string {
  return `${diff >= 0 ? '+' : ''}${(diff * 100).toFixed(digits)} pts`;
}

export interface UpliftView {
  absolute: string;
  relative: string;
  interval: string;
  /** "likely real" below p 0.05, else "not yet conclusive" */
  verdict: 'likely real' | 'not yet conclusive';
  pValue: string;
  /** positions on a 0..1 axis for the bar (0 → zero line) and the 95 % whiskers */
  axis: { zero: number; value: number; low: number; high: number };
}

export const SIGNIFICANCE = 0.05;

export function upliftView(u: HoldoutIn['uplift'] | null | undefined): UpliftView | null {
  if (!u) return null;
  const [lo, hi] = u.ci95 && u.ci95.length === 2 ? u.ci95 : [u.absolute, u.absolute];
  // A symmetric axis around zero, wide enough for the whole interval, so the sign is visible.
  const span = Math.max(Math.abs(lo), Math.abs(hi), Math.abs(u.absolute), 0.01) * 1.1;
  const at = (v: number) => (v + span) / (2 * span);
  const p = u.p_value;
  return {
    absolute: points(u.absolute),
    relative: u.relative == null ? '—' : `${u.relative >= 0 ? '+' : ''}${(u.relative * 100).toFixed(1)}%`,
    interval: `${points(lo)} to ${points(hi)}`,
    verdict: p != null && p < SIGNIFICANCE ? 'likely real' : 'not yet conclusive',
    pValue: p == null ? '—' : p < 0.001 ? '< 0.001' : p.toFixed(3),
    axis: { zero: at(0), value: at(u.absolute), low: at(lo), high: at(hi) },
  };
}

export interface ExperimentIn {
  status: 'running' | 'decided' | string;
  winner: string | null;
  decided_at: string | null;
  decided_by: 'auto' | 'manual' | string | null;
  p_value: number | null;
}

/** "Running" or "Decided by hand on …" / "Decided automatically on …". */
export function experimentStatus(e: ExperimentIn | null | undefined): string {
  if (!e) return 'No experiment';
  if (e.status !== 'decided') return 'Running';
  const how = e.decided_by === 'manual' ? 'by hand' : e.decided_by === 'auto' ? 'automatically' : '';
  const when = e.decided_at ? ` on ${new Date(e.decided_at).toLocaleDateString()}` : '';
  return `Decided ${how}${when}`.replace('  ', ' ');
}

export interface ArmIn {
  id: string;
  name?: string;
  conversions: number;
  rate: number;
  ci95?: number[] | null;
}

export interface ArmRow {
  id: string;
  name: string;
  conversions: number;
  rate: string;
  interval: string;
  winner: boolean;
}

/** Rows of a split's paths or a message's variants, the experiment's winner marked. */
export function armRows<T extends ArmIn>(arms: T[] | null | undefined, experiment: ExperimentIn | null | undefined): (ArmRow & { arm: T })[] {
  return (arms ?? []).map((a) => ({
    arm: a,
    id: a.id,
    name: a.name || a.id,
    conversions: a.conversions,
    rate: pct(a.rate),
    interval: a.ci95 && a.ci95.length === 2 ? `${pct(a.ci95[0])} – ${pct(a.ci95[1])}` : '—',
    winner: !!experiment && experiment.status === 'decided' && experiment.winner === a.id,
  }));
}

export interface FunnelStepIn {
  node_id: string;
  reached: number;
  rate_from_previous: number | null;
  median_seconds_from_previous: number | null;
}

export interface FunnelStepRow {
  node_id: string;
  label: string;
  reached: number;
  rate: string;
  median: string;
  /** reached ÷ the first step's reached, for the bar's width */
  share: number;
}

export function funnelStepRows(steps: FunnelStepIn[], names: Map<string, string>): FunnelStepRow[] {
  const first = steps[0]?.reached ?? 0;
  return steps.map((s) => ({
    node_id: s.node_id,
    label: names.get(s.node_id) || s.node_id,
    reached: s.reached,
    rate: s.rate_from_previous == null ? '' : pct(s.rate_from_previous),
    median: s.median_seconds_from_previous == null ? '' : formatSeconds(s.median_seconds_from_previous),
    share: first > 0 ? s.reached / first : 0,
  }));
}

import { describe, expect, it } from 'vitest';

import {
  countsNote,
  channelChartData,
  channelRows,
  formatSeconds,
  funnelChartData,
  funnelRows,
  holdoutView,
  datePresets,
  lastDays,
  lastWeek,
  type MessageCounts,
  type NodeIn,
  nodeChannels,
  seriesChartData,
  summaryCards,
  todayIn,
  armRows,
  experimentStatus,
  funnelStepRows,
  goalRows,
  money,
  upliftView,
} from './chart-data';

const counts = (c: Partial<MessageCounts>): MessageCounts => ({
  sent: 0,
  delivered: 0,
  opened: 0,
  read: 0,
  clicked: 0,
  replied: 0,
  failed: 0,
  bounced: 0,
  failover: 0,
  saved: 0,
  ...c,
});

const node = (n: Partial<NodeIn> & { node_id: string }): NodeIn => ({
  type: 'wait',
  name: '',
  entered: 0,
  waiting: 0,
  active: 0,
  passed: 0,
  exited: 0,
  failed: 0,
  completed: 0,
  messages: null,
  ...n,
});

const NODES: NodeIn[] = [
  node({ node_id: 'start', type: 'start', name: 'Cart abandoned', entered: 200, passed: 200 }),
  node({ node_id: 'wait_1', entered: 200, passed: 150, waiting: 10, exited: 40, handles: { a: 100, else: 50 }, handle_names: { a: 'Big carts' } }),
  node({ node_id: 'email_1', type: 'message', name: 'Reminder', entered: 150, passed: 140, failed: 10, messages: counts({ sent: 140, delivered: 130, opened: 70, clicked: 20, failed: 10 }) }),
  node({ node_id: 'sms_1', type: 'message', name: 'SMS nudge', entered: 60, passed: 60, messages: counts({ sent: 60, delivered: 50, clicked: 5, bounced: 2 }) }),
  node({ node_id: 'email_2', type: 'message', name: 'Last call', entered: 80, passed: 80, completed: 80, messages: counts({ sent: 80, delivered: 80, opened: 40, clicked: 10 }) }),
];

const GRAPH = {
  nodes: [
    { id: 'start', type: 'start' },
    { id: 'wait_1', type: 'wait', config: { mode: 'duration' } },
    { id: 'email_1', type: 'message', config: { channel: 'email' } },
    { id: 'sms_1', type: 'message', config: { channel: 'sms' } },
    { id: 'email_2', type: 'message', config: { channel: 'email' } },
  ],
};

describe('summary cards', () => {
  it('shows the API summary as cards, with shares of started', () => {
    const cards = summaryCards({
      started: 1200,
      active: 35,
      completed: 900,
      exited: 250,
      failed: 15,
      goal_conversions: 300,
      conversion_rate: 0.25,
      avg_duration_seconds: 93_784,
    });
    expect(cards.map((c) => [c.label, c.value])).toEqual([
      ['Runs started', '1,200'],
      ['Runs active now', '35'],
      ['Completed', '900'],
      ['Drop-offs', '250'],
      ['Average duration', '1 d 2 h'],
      ['Goal conversion', '25.0%'],
    ]);
    expect(cards.find((c) => c.key === 'exited')?.hint).toBe('20.8% of started · 15 failed');
    expect(cards.find((c) => c.key === 'goal')?.hint).toBe('300 converted');
  });

  it('says the figures count runs, naming a keyed journey\'s key', () => {
    expect(countsNote({ key_property: 'cart_id' })).toBe(
      'Counts runs, not customers: one run per customer and cart_id, so a customer with two cart_id values counts twice.',
    );
    expect(countsNote({ key_property: null })).toMatch(/^Counts runs, not customers: a customer who enters again/);
  });

  it('does not count customers who left on reaching an exiting goal as drop-offs', () => {
    const cards = summaryCards({
      started: 10,
      active: 0,
      completed: 4,
      exited: 6,
      failed: 0,
      goal_conversions: 5,
      conversion_rate: 0.5,
      avg_duration_seconds: null,
      exited_by_reason: { goal: 5, exit_condition: 1 },
    });
    const drop = cards.find((c) => c.key === 'exited');
    expect([drop?.value, drop?.hint]).toEqual(['1', '10.0% of started · 5 left on reaching a goal']);
    const [row] = funnelRows(
      [{ node_id: 'mail', type: 'message', name: 'Mail', entered: 10, waiting: 0, active: 0, passed: 8, exited: 2, failed: 3, completed: 0,
         handles: { next: 5, failed: 3 }, exited_by_reason: { goal: 2 }, messages: null }],
      10,
    );
    expect(row.dropOff).toBe(0); // the failed sends went on along next; the exits reached the goal
  });

  it('says how many of a version\'s customers moved in from earlier versions', () => {
    const cards = summaryCards({ started: 1, active: 4, completed: 0, exited: 0, failed: 0, goal_conversions: 0, conversion_rate: 0, avg_duration_seconds: null, moved_in: 3 });
    expect(cards.find((c) => c.key === 'started')?.hint).toBe('+3 moved in from earlier versions');
  });

  it('formats durations with their two largest units', () => {
    expect(formatSeconds(null)).toBe('—');
    expect(formatSeconds(0)).toBe('0 s');
    expect(formatSeconds(45.4)).toBe('45 s');
    expect(formatSeconds(3_900)).toBe('1 h 5 min');
    expect(formatSeconds(172_800)).toBe('2 d');
  });
});

describe('funnel', () => {
  it('keeps graph order and computes reach and drop-off per node', () => {
    const rows = funnelRows(NODES, 200);
    expect(rows.map((r) => [r.label, r.entered, r.reach, r.dropOff])).toEqual([
      ['Cart abandoned', 200, 1, 0],
      ['wait_1', 200, 1, 40],
      ['Reminder', 150, 0.75, 10],
      ['SMS nudge', 60, 0.3, 0],
      ['Last call', 80, 0.4, 0],
    ]);
    expect(funnelChartData(rows)).toEqual({
      labels: ['Cart abandoned', 'wait_1', 'Reminder', 'SMS nudge', 'Last call'],
      datasets: [
        { label: 'Entered', data: [200, 200, 150, 60, 80] },
        { label: 'Dropped off', data: [0, 40, 10, 0, 0] },
      ],
    });
  });

  it('names the paths out of a node by their handle names', () => {
    const [, wait] = funnelRows(NODES, 200);
    expect(wait.paths).toEqual([
      ['Big carts', 100],
      ['else', 50],
    ]);
  });

  it('has no reach when nobody started', () => {
    expect(funnelRows([node({ node_id: 'start' })], 0)[0].reach).toBeNull();
  });
});

describe('daily series', () => {
  it('becomes one dataset per measure over the dates', () => {
    const data = seriesChartData([
      { date: '2026-11-16', started: 5, completed: 1, goal_conversions: 0 },
      { date: '2026-11-17', started: 0, completed: 3, goal_conversions: 2 },
    ]);
    expect(data).toEqual({
      labels: ['2026-11-16', '2026-11-17'],
      datasets: [
        { label: 'Runs started', data: [5, 0] },
        { label: 'Completed', data: [1, 3] },
        { label: 'Goal conversions', data: [0, 2] },
      ],
    });
  });
});

describe('per-channel metrics', () => {
  it('sums message nodes by their channel from the graph', () => {
    const rows = channelRows(NODES, nodeChannels([GRAPH]));
    expect(rows.map((r) => r.channel)).toEqual(['email', 'sms']);
    const [email, sms] = rows;
    expect(email).toMatchObject({ nodes: 2, sent: 220, delivered: 210, opened: 110, clicked: 30, failed: 10, bounced: 0 });
    expect(email.deliveryRate).toBeCloseTo(210 / 220);
    expect(email.openRate).toBeCloseTo(110 / 210);
    expect(email.failureRate).toBeCloseTo(10 / 230);
    expect(sms).toMatchObject({ nodes: 1, sent: 60, delivered: 50, clicked: 5, bounced: 2 });
    expect(channelChartData(rows).datasets).toEqual([
      { label: 'email', data: [220, 210, 110, 0, 30, 0, 10, 0, 0, 0] },
      { label: 'sms', data: [60, 50, 0, 0, 5, 0, 0, 2, 0, 0] },
    ]);
  });

  it('counts a message node missing from every graph as "unknown" and later graphs win', () => {
    const older = { nodes: [{ id: 'sms_1', type: 'message', config: { channel: 'whatsapp' } }] };
    const channels = nodeChannels([older, GRAPH, null]);
    expect(channels.get('sms_1')).toBe('sms');
    const rows = channelRows([node({ node_id: 'gone', type: null, messages: counts({ sent: 3 }) })], channels);
    expect(rows).toMatchObject([{ channel: 'unknown', sent: 3, nodes: 1 }]);
  });
});

describe('holdout', () => {
  it('shows treatment and holdout with a signed uplift', () => {
    const view = holdoutView({
      percent: 10,
      holdout: { started: 100, goal_conversions: 8, conversion_rate: 0.08 },
      treatment: { started: 900, goal_conversions: 108, conversion_rate: 0.12 },
      uplift: { absolute: 0.05, relative: 0.5, ci95: [0.01, 0.09], p_value: 0.02 },
    });
    expect(view).toEqual({
      percent: 10,
      rows: [
        { group: 'Treatment', started: 900, converted: 108, rate: '12.0%' },
        { group: 'Holdout', started: 100, converted: 8, rate: '8.0%' },
      ],
      uplift: '+5.0 pts',
    });
    expect(holdoutView(null)).toBeNull();
    expect(holdoutView({ ...view!, holdout: { started: 0, goal_conversions: 0, conversion_rate: 0 }, treatment: { started: 1, goal_conversions: 0, conversion_rate: 0 }, uplift: null })?.uplift).toBe('—');
  });
});

describe('date presets', () => {
  it('gives last week as the previous Monday–Sunday', () => {
    expect(lastWeek(new Date(2026, 10, 22))).toEqual({ from: '2026-11-09', to: '2026-11-15' }); // a Sunday
    expect(lastWeek(new Date(2026, 10, 23))).toEqual({ from: '2026-11-16', to: '2026-11-22' }); // a Monday
  });

  it('gives the last n days including today', () => {
    expect(lastDays(7, new Date(2026, 0, 3))).toEqual({ from: '2025-12-28', to: '2026-01-03' });
  });

  it("counts from the workspace's date, not the browser's", () => {
    // 23:30 UTC on Sunday 22 Nov is already Monday 23 Nov in Berlin and still Sunday in New York.
    const now = new Date(Date.UTC(2026, 10, 22, 23, 30));
    expect(todayIn('Europe/Berlin', now)).toEqual(new Date(2026, 10, 23));
    expect(todayIn('America/New_York', now)).toEqual(new Date(2026, 10, 22));
    expect(lastWeek(todayIn('Europe/Berlin', now))).toEqual({ from: '2026-11-16', to: '2026-11-22' });
    expect(lastWeek(todayIn('America/New_York', now))).toEqual({ from: '2026-11-09', to: '2026-11-15' });
  });

  it('falls back to the browser date for an unknown zone', () => {
    const now = new Date(2026, 4, 9, 15, 0);
    expect(todayIn('Mars/Olympus', now)).toEqual(new Date(2026, 4, 9));
  });

  it('offers the presets in order, all time last and empty', () => {
    const presets = datePresets(new Date(2026, 10, 23));
    expect(presets.map((p) => p.label)).toEqual(['Last week', 'Last 7 days', 'Last 30 days', 'All time']);
    expect(presets[1]).toEqual({ label: 'Last 7 days', from: '2026-11-17', to: '2026-11-23' });
    expect(presets[3]).toEqual({ label: 'All time', from: '', to: '' });
  });
});

describe('results', () => {
  it('adds revenue to the summary cards and lists the goals', () => {
    const cards = summaryCards({ started: 10, active: 0, completed: 10, exited: 0, failed: 0, goal_conversions: 3, conversion_rate: 0.3, avg_duration_seconds: 5, revenue: 1234.5 });
    expect(cards.at(-1)).toMatchObject({ key: 'revenue', value: '1,234.50' });
    expect(goalRows({ bought: { name: 'Bought', conversions: 3, rate: 0.3, revenue: 240 } })).toEqual([
      { id: 'bought', name: 'Bought', conversions: 3, rate: 0.3, revenue: 240 },
    ]);
    expect(money(240)).toBe('240.00');
  });

  it('describes the uplift in points, its interval and whether it is likely real', () => {
    const u = upliftView({ absolute: 0.05, relative: 0.5, ci95: [0.01, 0.09], p_value: 0.012 })!;
    expect(u.absolute).toBe('+5.0 pts');
    expect(u.interval).toBe('+1.0 pts to +9.0 pts');
    expect(u.verdict).toBe('likely real');
    expect(u.axis.zero).toBeCloseTo(0.5);
    expect(u.axis.low).toBeLessThan(u.axis.value);
    expect(u.axis.value).toBeLessThan(u.axis.high);
    expect(upliftView({ absolute: -0.02, relative: null, ci95: [-0.1, 0.06], p_value: 0.4 })!.verdict).toBe('not yet conclusive');
    expect(upliftView(null)).toBeNull();
  });

  it('marks the decided winner and says how it was decided', () => {
    const decided = { status: 'decided', winner: 'b', decided_at: null, decided_by: 'manual', p_value: null };
    const rows = armRows(
      [
        { id: 'a', name: 'A', conversions: 1, rate: 0.1, ci95: [0, 0.4] },
        { id: 'b', name: 'B', conversions: 4, rate: 0.4, ci95: [0.2, 0.6] },
      ],
      decided,
    );
    expect(rows.map((r) => [r.name, r.winner, r.interval])).toEqual([
      ['A', false, '0.0% – 40.0%'],
      ['B', true, '20.0% – 60.0%'],
    ]);
    expect(experimentStatus(decided)).toBe('Decided by hand');
    expect(experimentStatus({ ...decided, status: 'running', winner: null, decided_by: null })).toBe('Running');
  });

  it('shapes the step funnel with rates and median times from the previous step', () => {
    const rows = funnelStepRows(
      [
        { node_id: 'a', reached: 20, rate_from_previous: null, median_seconds_from_previous: null },
        { node_id: 'b', reached: 5, rate_from_previous: 0.25, median_seconds_from_previous: 90 },
      ],
      new Map([['a', 'Start']]),
    );
    expect(rows.map((r) => [r.label, r.reached, r.rate, r.median, r.share])).toEqual([
      ['Start', 20, '', '', 1],
      ['b', 5, '25.0%', '1 min 30 s', 0.25],
    ]);
  });
});

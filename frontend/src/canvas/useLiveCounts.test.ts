import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { countsFrom, POLL_MS, reconnectDelay, type SocketLike, startLiveFeed } from './useLiveCounts';

describe('countsFrom', () => {
  it('reads the REST list and the websocket map alike', () => {
    expect(countsFrom({ nodes: [{ node_id: 'a', entered: 1 }] })).toEqual([{ node_id: 'a', entered: 1 }]);
    expect(countsFrom({ type: 'counts', nodes: { a: { entered: 2, passed: 1 } } })).toEqual([{ node_id: 'a', entered: 2, passed: 1 }]);
  });

  it('ignores messages that carry no counts', () => {
    expect(countsFrom({ type: 'hello' })).toBeNull();
    expect(countsFrom('nope')).toBeNull();
  });
});

describe('reconnectDelay', () => {
  it('doubles from one second up to thirty, with half of it random', () => {
    const none = () => 0;
    const full = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => reconnectDelay(a, none))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(reconnectDelay(0, full)).toBeCloseTo(1000, 0);
    expect(reconnectDelay(20, full)).toBeCloseTo(30000, 0);
  });
});

class FakeSocket implements SocketLike {
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  closed = false;
  close() {
    this.closed = true;
  }
  open() {
    this.onopen!(new Event('open'));
  }
  push(data: unknown) {
    this.onmessage!({ data: JSON.stringify(data) } as MessageEvent);
  }
  drop() {
    this.onclose!({ code: 1006 } as CloseEvent);
  }
}

describe('startLiveFeed', () => {
  let sockets: FakeSocket[];
  let reads: number;
  let modes: string[];
  let rows: unknown[][];
  let stop: () => void;

  /** (Re)starts the feed on fake sockets, collecting its rows and modes. */
  const start = (fetchCounts: () => Promise<unknown>) => {
    sockets = [];
    modes = [];
    rows = [];
    stop = startLiveFeed({
      openSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      fetchCounts,
      onCounts: (r) => rows.push(r),
      onMode: (m) => modes.push(m),
      random: () => 0,
    });
  };

  beforeEach(() => {
    vi.useFakeTimers();
    reads = 0;
    start(async () => {
      reads += 1;
      return { nodes: [{ node_id: 'start', entered: reads }] };
    });
  });
  afterEach(() => {
    stop();
    vi.useRealTimers();
  });

  it('reads once, then takes pushed counts and message numbers over the socket without any REST read', async () => {
    await vi.advanceTimersByTimeAsync(0);
    expect(reads).toBe(1);
    sockets[0].open();
    await vi.advanceTimersByTimeAsync(0);
    expect(modes).toEqual(['connecting', 'live']);
    expect(reads).toBe(2); // the catch-up read on open
    sockets[0].push({ type: 'counts', nodes: { wait: { waiting: 3 } } });
    const sms = { entered: 5, messages: { sent: 5, delivered: 4, opened: 2, read: 0, clicked: 1, replied: 0, failed: 0, bounced: 0 } };
    sockets[0].push({ type: 'counts', nodes: { wait: { waiting: 4 }, sms } });
    expect(rows.at(-1)).toEqual([
      { node_id: 'wait', waiting: 4 },
      { node_id: 'sms', ...sms },
    ]);
    // Live, the pushes are the whole story: no REST re-read after them, and no polling.
    await vi.advanceTimersByTimeAsync(120_000);
    expect(reads).toBe(2);
  });

  it('drops a REST read that a push overtook', async () => {
    let answer: (body: unknown) => void = () => undefined;
    stop();
    start(() => new Promise((resolve) => (answer = resolve)));
    sockets[0].open(); // the catch-up read is still out when the first push arrives
    sockets[0].push({ type: 'counts', nodes: { sms: { messages: { sent: 2, opened: 1 } } } });
    answer({ nodes: [{ node_id: 'sms', messages: { sent: 1, opened: 0 } }] });
    await vi.advanceTimersByTimeAsync(0);
    expect(rows).toEqual([[{ node_id: 'sms', messages: { sent: 2, opened: 1 } }]]);
  });

  it('polls while the socket is down, reconnects with growing delays and catches up on open', async () => {
    await vi.advanceTimersByTimeAsync(0);
    sockets[0].drop();
    expect(modes.at(-1)).toBe('polling');
    // Reconnect attempts after 0.5 s, then 1 s, then 2 s (random() = 0 → half the ceiling).
    await vi.advanceTimersByTimeAsync(500);
    expect(sockets).toHaveLength(2);
    sockets[1].drop();
    await vi.advanceTimersByTimeAsync(999);
    expect(sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(3);
    sockets[2].drop();
    await vi.advanceTimersByTimeAsync(2000);
    expect(sockets).toHaveLength(4);
    // Meanwhile (3.5 s since the drop) the counts were polled once on top of the first read.
    expect(reads).toBe(2);
    const beforeOpen = reads;
    sockets[3].open();
    await vi.advanceTimersByTimeAsync(0);
    expect(modes.at(-1)).toBe('live');
    expect(reads).toBe(beforeOpen + 1); // the catch-up read
    // Live again: fast polling stopped, and the next drop starts the backoff from the beginning.
    const live = reads;
    await vi.advanceTimersByTimeAsync(POLL_MS * 3);
    expect(reads).toBe(live);
    sockets[3].drop();
    await vi.advanceTimersByTimeAsync(500);
    expect(sockets).toHaveLength(5);
  });

  it('stops everything when stopped', async () => {
    sockets[0].drop();
    stop();
    const before = reads;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reads).toBe(before);
    expect(sockets).toHaveLength(1);
  });
});

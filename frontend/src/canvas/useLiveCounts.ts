// Per-node live counts of a journey: pushed over the websocket /ws/journeys/{id}/, and, while the
// socket is down, polled from GET /journeys/{id}/analytics every few seconds. A dropped socket is
// reopened with exponential backoff, and every (re)connection re-reads the counts so nothing
// pushed while it was down is missed. Pushes carry the message numbers (sent, opened, clicked…)
// too, in the REST shape, so while the socket is live nothing is read over REST.
import { useEffect, useState } from 'react';

import { journeyAnalytics, type NodeCounts } from '../api/analytics';
import { useSession } from '../session';

export const POLL_MS = 3000;
export const RECONNECT_BASE_MS = 1000;
export const RECONNECT_MAX_MS = 30_000;

/** connecting: first attempt · live: socket open · polling: socket down, polled meanwhile and
 * retried · unavailable: no analytics for this journey (never started, or no analytics app). */
export type LiveMode = 'connecting' | 'live' | 'polling' | 'unavailable';

/** Node counts out of a socket message or an analytics body. The REST body lists nodes
 * (`{nodes: [{node_id, …}]}`); the socket sends `{type: "counts", nodes: {node_id: {…}}}`, a
 * node that sent messages with `messages: {sent, delivered, opened, …}` as in the REST body.
 * Anything else is ignored. */
export function countsFrom(message: unknown): NodeCounts[] | null {
  if (!message || typeof message !== 'object') return null;
  const nodes = (message as { nodes?: unknown }).nodes;
  if (Array.isArray(nodes)) return nodes as NodeCounts[];
  if (nodes && typeof nodes === 'object') {
    return Object.entries(nodes as Record<string, object>).map(([node_id, row]) => ({ ...row, node_id }) as NodeCounts);
  }
  return null;
}

/** How long to wait before reconnect attempt `attempt` (0-based): doubling from 1 s up to 30 s,
 * with "equal jitter" (half fixed, half random) so many open canvases do not reconnect in step
 * after a server restart. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.max(0, attempt));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** The part of WebSocket the feed uses (a fake one in tests). */
export interface SocketLike {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  close: () => void;
}

export interface FeedOptions {
  openSocket: () => SocketLike;
  /** the analytics body, or null when the journey has no analytics */
  fetchCounts: () => Promise<unknown>;
  onCounts: (rows: NodeCounts[]) => void;
  onMode: (mode: LiveMode) => void;
  random?: () => number;
}

/** Runs the feed until the returned function is called. Framework-free so it can be tested with
 * fake timers and a fake socket. */
export function startLiveFeed({ openSocket, fetchCounts, onCounts, onMode, random }: FeedOptions): () => void {
  let stopped = false;
  let mode: LiveMode = 'connecting';
  let attempt = 0;
  let socket: SocketLike | null = null;
  let pollTimer: ReturnType<typeof setInterval> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let reading = false;
  let pushes = 0;

  const setMode = (next: LiveMode) => {
    if (next !== mode) {
      mode = next;
      onMode(next);
    }
  };
  const read = () => {
    if (reading) return; // a slow server: never stack reads
    reading = true;
    const pushesBefore = pushes;
    fetchCounts()
      .then((body) => {
        // A push is the whole journey as of now: a read that started before it is older news.
        if (stopped || pushes !== pushesBefore) return;
        if (body === null) {
          if (mode !== 'live') setMode('unavailable');
          return;
        }
        onCounts(countsFrom(body) ?? []);
      })
      .catch(() => undefined) // the next poll or push tries again
      .finally(() => {
        reading = false;
      });
  };
  const startPolling = () => {
    pollTimer ??= setInterval(read, POLL_MS); // already polling: a new interval would restart the clock
  };
  const stopPolling = () => {
    clearInterval(pollTimer);
    pollTimer = undefined;
  };
  const lost = () => {
    socket = null;
    if (stopped) return;
    if (mode !== 'unavailable') setMode('polling');
    startPolling();
    retryTimer = setTimeout(connect, reconnectDelay(attempt++, random));
  };
  function connect() {
    if (stopped) return;
    try {
      socket = openSocket();
    } catch {
      lost();
      return;
    }
    socket.onopen = () => {
      if (stopped) return;
      attempt = 0;
      // Live: every change, message numbers included, arrives as a push (the server re-reads
      // every 30 s on its own, so a lost notice is not stale for long): no REST polling.
      stopPolling();
      setMode('live');
      read(); // catch up on whatever changed while the socket was down
    };
    socket.onmessage = (event) => {
      try {
        const rows = countsFrom(JSON.parse(String(event.data)));
        if (rows) {
          pushes += 1;
          onCounts(rows);
        }
      } catch {
        // A message that is not JSON is not for us.
      }
    };
    socket.onclose = lost;
  }

  onMode(mode);
  read();
  connect();
  return () => {
    stopped = true;
    stopPolling();
    clearTimeout(retryTimer);
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
  };
}

export function useLiveCounts(journeyId: number, enabled: boolean): { counts: Map<string, NodeCounts> | null; mode: LiveMode } {
  const { workspace } = useSession();
  const [counts, setCounts] = useState<Map<string, NodeCounts> | null>(null);
  const [mode, setMode] = useState<LiveMode>('connecting');

  useEffect(() => {
    if (!enabled) {
      setMode('unavailable');
      return;
    }
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${window.location.host}/ws/journeys/${journeyId}/?workspace=${encodeURIComponent(workspace.slug)}`;
    return startLiveFeed({
      openSocket: () => new WebSocket(url),
      fetchCounts: () => journeyAnalytics(journeyId),
      onMode: setMode,
      onCounts: (rows) =>
        setCounts((prev) => {
          const next = new Map(prev ?? []);
          for (const r of rows) next.set(r.node_id, { ...next.get(r.node_id), ...r });
          return next;
        }),
    });
  }, [journeyId, enabled, workspace.slug]);

  return { counts, mode };
}

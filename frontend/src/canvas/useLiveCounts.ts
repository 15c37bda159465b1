// Per-node live counts of a journey: pushed over the websocket /ws/journeys/{id}/, or, when the
// socket cannot be opened or drops, polled from GET /journeys/{id}/analytics every few seconds.
import { useEffect, useState } from 'react';

import { journeyAnalytics, type NodeCounts } from '../api/analytics';
import { useSession } from '../session';

export const POLL_MS = 3000;
export const RECONNECT_MS = 5000;

export type LiveMode = 'connecting' | 'live' | 'polling' | 'unavailable';

/** Node counts out of a socket message or an analytics body. The REST body lists nodes
 * (`{nodes: [{node_id, …}]}`); the socket sends `{type: "counts", nodes: {node_id: {…}}}`.
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

export function useLiveCounts(journeyId: number, enabled: boolean): { counts: Map<string, NodeCounts> | null; mode: LiveMode } {
  const { workspace } = useSession();
  const [counts, setCounts] = useState<Map<string, NodeCounts> | null>(null);
  const [mode, setMode] = useState<LiveMode>('connecting');

  useEffect(() => {
    if (!enabled) {
      setMode('unavailable');
      return;
    }
    let closed = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    const merge = (rows: NodeCounts[]) =>
      setCounts((prev) => {
        const next = new Map(prev ?? []);
        for (const r of rows) next.set(r.node_id, { ...next.get(r.node_id), ...r });
        return next;
      });

    const poll = () =>
      journeyAnalytics(journeyId)
        .then((body) => {
          if (closed) return;
          if (body === null) {
            setMode((m) => (m === 'live' ? m : 'unavailable'));
            return;
          }
          merge(countsFrom(body) ?? []);
        })
        .catch(() => undefined);

    const startPolling = () => {
      if (closed || timer) return;
      setMode('polling');
      timer = setInterval(poll, POLL_MS);
    };
    const stopPolling = () => {
      clearInterval(timer);
      timer = undefined;
    };

    // The first numbers come from the REST read either way; the socket then pushes changes.
    // A dropped socket falls back to polling and is retried, so the canvas recovers by itself.
    poll();
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      if (closed) return;
      try {
        const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
        socket = new WebSocket(`${scheme}://${window.location.host}/ws/journeys/${journeyId}/?workspace=${encodeURIComponent(workspace.slug)}`);
      } catch {
        startPolling();
        return;
      }
      socket.onopen = () => {
        if (closed) return;
        stopPolling();
        setMode('live');
      };
      socket.onmessage = (event) => {
        try {
          const rows = countsFrom(JSON.parse(String(event.data)));
          if (rows) merge(rows);
        } catch {
          // A message that is not JSON is not for us.
        }
      };
      socket.onclose = () => {
        if (closed) return;
        startPolling();
        retry = setTimeout(connect, RECONNECT_MS);
      };
    };
    connect();
    return () => {
      closed = true;
      stopPolling();
      clearTimeout(retry);
      if (socket) {
        socket.onclose = null;
        socket.close();
      }
    };
  }, [journeyId, enabled, workspace.slug]);

  return { counts, mode };
}

// Per-node live counts of a journey: pushed over the websocket /ws/journeys/{id}/, or, when the
// socket cannot be opened or drops, polled from GET /journeys/{id}/analytics every few seconds.
import { useEffect, useState } from 'react';

import { journeyAnalytics, type NodeCounts } from '../api/analytics';
import { useSession } from '../session';

export const POLL_MS = 3000;

export type LiveMode = 'connecting' | 'live' | 'polling' | 'unavailable';

/** Node counts out of a socket message or an analytics body: `{nodes: [...]}`, possibly wrapped
 * as `{type, data: {nodes}}`, or a bare list. Anything else is ignored. */
export function countsFrom(message: unknown): NodeCounts[] | null {
  if (Array.isArray(message)) return message as NodeCounts[];
  if (message && typeof message === 'object') {
    const m = message as { nodes?: unknown; data?: unknown; counts?: unknown };
    if (Array.isArray(m.nodes)) return m.nodes as NodeCounts[];
    if (Array.isArray(m.counts)) return m.counts as NodeCounts[];
    if (m.data) return countsFrom(m.data);
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
      poll();
      timer = setInterval(poll, POLL_MS);
    };

    // The first numbers come from the REST read either way; the socket then pushes changes.
    poll();
    let socket: WebSocket | null = null;
    try {
      const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
      socket = new WebSocket(`${scheme}://${window.location.host}/ws/journeys/${journeyId}/?workspace=${encodeURIComponent(workspace.slug)}`);
      socket.onopen = () => !closed && setMode('live');
      socket.onmessage = (event) => {
        try {
          const rows = countsFrom(JSON.parse(String(event.data)));
          if (rows) merge(rows);
        } catch {
          // A message that is not JSON is not for us.
        }
      };
      socket.onerror = () => startPolling();
      socket.onclose = () => startPolling();
    } catch {
      startPolling();
    }
    return () => {
      closed = true;
      if (timer) clearInterval(timer);
      if (socket) {
        socket.onclose = null;
        socket.onerror = null;
        socket.close();
      }
    };
  }, [journeyId, enabled, workspace.slug]);

  return { counts, mode };
}

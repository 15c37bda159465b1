// Analytics reads. GET /analytics/journeys and GET /journeys/{id}/analytics are in API.md but not
// yet in the generated schema (analytics/api has no routes so far), so their shape is written
// here from API.md. Every reader tolerates their absence (a 404 → null); once the endpoints land,
// `npm run gen:api` and swap these types for Schemas[...].
import { ApiError, headersMiddleware } from './client';

export interface JourneySummary {
  started: number;
  active: number;
  completed: number;
  exited: number;
  goal_conversions: number;
  conversion_rate: number | null;
  avg_duration_seconds?: number | null;
}

export interface JourneySummaryRow extends Partial<JourneySummary> {
  journey_id?: number;
  id?: number;
}

export interface NodeCounts {
  node_id: string;
  entered: number;
  waiting: number;
  passed: number;
  exited?: number;
  failed?: number;
  handles?: Record<string, number>;
  messages?: Partial<Record<'sent' | 'delivered' | 'opened' | 'read' | 'clicked' | 'replied' | 'failed' | 'bounced', number>>;
}

export interface JourneyAnalytics {
  summary: JourneySummary;
  nodes: NodeCounts[];
}

async function optionalGet<T>(path: string): Promise<T | null> {
  let request = new Request(new URL(path, window.location.origin), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  request = ((await headersMiddleware.onRequest?.({ request } as never)) as Request | undefined) ?? request;
  const response = await fetch(request);
  if (response.status === 404 || response.status === 405) return null;
  if (!response.ok) throw new ApiError(response.status, `Analytics unavailable (${response.status}).`);
  return (await response.json()) as T;
}

/** Summary rows keyed by journey id, or null when the endpoint does not exist yet. */
export async function journeySummaries(): Promise<Map<number, JourneySummaryRow> | null> {
  const body = await optionalGet<{ results?: JourneySummaryRow[] } | JourneySummaryRow[]>('/api/v1/analytics/journeys');
  if (!body) return null;
  const rows = Array.isArray(body) ? body : (body.results ?? []);
  return new Map(rows.map((r) => [Number(r.journey_id ?? r.id), r]));
}

export function journeyAnalytics(journeyId: number): Promise<JourneyAnalytics | null> {
  return optionalGet<JourneyAnalytics>(`/api/v1/journeys/${journeyId}/analytics`);
}

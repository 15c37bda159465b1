// Analytics reads for the list and the canvas. Both are optional extras: a deployment without
// the analytics app (or a 404 while a journey has no data) leaves the screens working, so a
// missing endpoint reads as null rather than an error.
import { api, ApiError, ok, type Schemas } from './client';

export type NodeCounts = Schemas['NodeAnalytics'];
export type JourneyAnalytics = Schemas['JourneyAnalytics'];
export type JourneySummaryRow = Schemas['JourneySummaryRow'];

async function optional<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
}

/** Summary rows keyed by journey id (newest 200 journeys), or null without analytics. */
export async function journeySummaries(): Promise<Map<number, JourneySummaryRow> | null> {
  const page = await optional(ok(api.GET('/api/v1/analytics/journeys', { params: { query: { limit: 200 } } })));
  return page ? new Map(page.results.map((r) => [r.id, r])) : null;
}

export function journeyAnalytics(journeyId: number): Promise<JourneyAnalytics | null> {
  return optional(ok(api.GET('/api/v1/journeys/{id}/analytics', { params: { path: { id: String(journeyId) } } })));
}

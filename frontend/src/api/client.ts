// The one way the SPA talks to the API: openapi-fetch typed by the generated schema.d.ts
// (`npm run gen:api`). Session writes need Django's CSRF token echoed in X-CSRFToken, and every
// workspace-scoped call names its workspace in X-Workspace.
import createClient, { type Middleware } from 'openapi-fetch';

import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Me = Schemas['Me'];
export type Membership = Schemas['Membership'];
export type Journey = Schemas['Journey'];
export type JourneyStatus = Schemas['JourneyStatusEnum'];
export type Problem = Schemas['Problem'];

/** A non-2xx answer, from the API's `{"error": {"code", "message", "details"}}` body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = '',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function readCookie(cookieHeader: string, name: string): string | null {
  for (const part of cookieHeader.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

let workspaceSlug: string | null = null;

/** The workspace every following call acts in (the switcher sets it). */
export function actAsWorkspace(slug: string | null): void {
  workspaceSlug = slug;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const headersMiddleware: Middleware = {
  onRequest({ request }) {
    if (workspaceSlug) request.headers.set('X-Workspace', workspaceSlug);
    if (!SAFE.has(request.method)) {
      // Read per request: Django rotates the token at login.
      const token = typeof document === 'undefined' ? null : readCookie(document.cookie, 'csrftoken');
      if (token) request.headers.set('X-CSRFToken', token);
    }
    return request;
  },
};

export function makeClient(baseUrl: string) {
  // fetch is looked up per call (not captured once) so tests can stub it.
  const client = createClient<paths>({ baseUrl, credentials: 'same-origin', fetch: (r) => globalThis.fetch(r) });
  client.use(headersMiddleware);
  return client;
}

export const api = makeClient(typeof window === 'undefined' ? 'http://localhost' : window.location.origin);

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a 2xx answer, or an ApiError carrying the error body's message and details. */
export async function ok<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch {
    throw new ApiError(0, 'Could not reach the server. Check your connection and try again.');
  }
  const { data, error, response } = answer;
  if (!response.ok) {
    const body = (error as { error?: { code?: string; message?: string; details?: Record<string, unknown> } }) ?? {};
    throw new ApiError(
      response.status,
      body.error?.message ?? `${response.status} ${response.statusText}`,
      body.error?.code ?? '',
      body.error?.details ?? {},
    );
  }
  return data as T;
}

export function errorMessage(e: unknown): string {
  return e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e);
}

// ---- Session -----------------------------------------------------------------------------

/** Sets the CSRF cookie; says whether a session is signed in. */
async function ensureCsrfCookie(): Promise<boolean> {
  const answer = (await ok(api.GET('/api/v1/auth/csrf'))) as { signed_in?: boolean } | undefined;
  return answer?.signed_in !== false;
}

export async function login(email: string, password: string): Promise<Me> {
  await ensureCsrfCookie();
  return ok(api.POST('/api/v1/auth/login', { body: { email, password } }));
}

export async function logout(): Promise<void> {
  await ensureCsrfCookie();
  await ok(api.POST('/api/v1/auth/logout'));
}

export async function fetchMe(): Promise<Me> {
  // The cookie is needed for the first write after a reload of a signed-in page. Signed out, the
  // answer says so and /auth/me is not asked (its 401 would be logged before the login screen).
  if (!(await ensureCsrfCookie())) throw new Error('Signed out.');
  return ok(api.GET('/api/v1/auth/me'));
}

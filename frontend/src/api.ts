// The session endpoints the login screen needs. Django's CSRF check wants the csrftoken
// cookie echoed in X-CSRFToken on every session write, so writes fetch it first.

export interface Membership {
  workspace_id: number;
  name: string;
  slug: string;
  timezone: string;
  role: 'owner' | 'editor' | 'viewer';
}

export interface Me {
  id: number;
  email: string;
  name: string;
  workspaces: Membership[];
}

/** A non-2xx answer; `message` comes from the API's `{"error": {"message"}}` body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
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

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { Accept: 'application/json', ...init.headers },
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(response.status, body?.error?.message ?? response.statusText);
  }
  return (response.status === 204 ? undefined : await response.json()) as T;
}

async function csrfToken(): Promise<string> {
  const body = await request<{ csrf_token: string }>('/api/v1/auth/csrf');
  // The cookie is the source of truth; the body copy covers clients that hide cookies.
  return readCookie(document.cookie, 'csrftoken') ?? body.csrf_token;
}

export async function login(email: string, password: string): Promise<Me> {
  const token = await csrfToken();
  return request<Me>('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token },
    body: JSON.stringify({ email, password }),
  });
}

export async function logout(): Promise<void> {
  const token = await csrfToken();
  await request<void>('/api/v1/auth/logout', { method: 'POST', headers: { 'X-CSRFToken': token } });
}

export function fetchMe(): Promise<Me> {
  return request<Me>('/api/v1/auth/me');
}

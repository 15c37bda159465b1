import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError, login, makeClient, ok, readCookie, actAsWorkspace } from './client';

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  actAsWorkspace(null);
});

describe('readCookie', () => {
  it('finds a cookie among others and decodes it', () => {
    expect(readCookie('sessionid=x; csrftoken=a%2Bb; other=1', 'csrftoken')).toBe('a+b');
    expect(readCookie('sessionid=x', 'csrftoken')).toBeNull();
  });
});

describe('headers', () => {
  it('sends X-Workspace always and X-CSRFToken only on writes', async () => {
    vi.stubGlobal('document', { cookie: 'csrftoken=tok123' });
    const fetchMock = vi.fn().mockImplementation(() => Promise.resolve(json({ results: [], next: null })));
    const client = makeClient('http://test');
    actAsWorkspace('acme');

    await client.GET('/api/v1/journeys', { fetch: fetchMock });
    await client.POST('/api/v1/journeys/{id}/validate', { params: { path: { id: '3' } }, fetch: fetchMock });

    const read: Request = fetchMock.mock.calls[0][0];
    const write: Request = fetchMock.mock.calls[1][0];
    expect(read.url).toBe('http://test/api/v1/journeys');
    expect(read.headers.get('X-Workspace')).toBe('acme');
    expect(read.headers.get('X-CSRFToken')).toBeNull();
    expect(write.url).toBe('http://test/api/v1/journeys/3/validate');
    expect(write.method).toBe('POST');
    expect(write.headers.get('X-CSRFToken')).toBe('tok123');
  });
});

describe('ok', () => {
  it('turns the API error body into an ApiError with its details', async () => {
    const body = { error: { code: 'invalid', message: 'name: required', details: { name: ['required'] } } };
    const failure = ok(Promise.resolve({ error: body, response: json(body, 400) })).catch((e: unknown) => e);
    await expect(failure).resolves.toBeInstanceOf(ApiError);
    await expect(failure).resolves.toMatchObject({ status: 400, code: 'invalid', details: { name: ['required'] } });
  });

  it('reports an unreachable server as status 0', async () => {
    await expect(ok(Promise.reject(new TypeError('fetch failed')))).rejects.toMatchObject({ status: 0 });
  });
});

describe('login', () => {
  it('fetches the CSRF cookie first and posts the credentials', async () => {
    vi.stubGlobal('document', { cookie: 'csrftoken=t' });
    const me = { id: 1, email: 'a@example.com', name: 'A', workspaces: [] };
    const fetchMock = vi.fn().mockResolvedValueOnce(json({ csrf_token: 't' })).mockResolvedValueOnce(json(me));
    vi.stubGlobal('fetch', fetchMock);

    await expect(login('a@example.com', 'pw')).resolves.toEqual(me);
    const [csrf, post]: Request[] = fetchMock.mock.calls.map((c) => c[0]);
    expect(new URL(csrf.url).pathname).toBe('/api/v1/auth/csrf');
    expect(new URL(post.url).pathname).toBe('/api/v1/auth/login');
    expect(post.headers.get('X-CSRFToken')).toBe('t');
    expect(await post.json()).toEqual({ email: 'a@example.com', password: 'pw' });
  });
});

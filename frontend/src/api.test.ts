import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError, login, readCookie } from './api';

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('readCookie', () => {
  it('finds a cookie among others and decodes it', () => {
    expect(readCookie('sessionid=x; csrftoken=a%2Bb; other=1', 'csrftoken')).toBe('a+b');
    expect(readCookie('sessionid=x', 'csrftoken')).toBeNull();
  });
});

describe('login', () => {
  it('fetches the CSRF cookie first and echoes it in X-CSRFToken', async () => {
    vi.stubGlobal('document', { cookie: 'csrftoken=tok123' });
    const me = { id: 1, email: 'a@example.com', name: 'A', workspaces: [] };
    const fetchMock = vi.fn().mockResolvedValueOnce(json({ csrf_token: 'ignored' })).mockResolvedValueOnce(json(me));
    vi.stubGlobal('fetch', fetchMock);

    await expect(login('a@example.com', 'pw')).resolves.toEqual(me);

    expect(fetchMock.mock.calls[0][0]).toBe('/api/v1/auth/csrf');
    const [path, init] = fetchMock.mock.calls[1];
    expect(path).toBe('/api/v1/auth/login');
    expect(init.method).toBe('POST');
    expect(init.headers['X-CSRFToken']).toBe('tok123');
    expect(JSON.parse(init.body)).toEqual({ email: 'a@example.com', password: 'pw' });
  });

  it('turns the API error body into an ApiError', async () => {
    vi.stubGlobal('document', { cookie: 'csrftoken=t' });
    const error = { error: { code: 'authentication_failed', message: 'Wrong email or password.' } };
    vi.stubGlobal('fetch', vi.fn().mockResolvedValueOnce(json({ csrf_token: 't' })).mockResolvedValueOnce(json(error, 401)));

    const failure = login('a@example.com', 'bad').catch((e: unknown) => e);
    await expect(failure).resolves.toBeInstanceOf(ApiError);
    await expect(failure).resolves.toMatchObject({ status: 401, message: 'Wrong email or password.' });
  });
});

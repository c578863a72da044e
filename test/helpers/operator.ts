/**
 * Credentials for the SA's operator routes in tests: the API token (acts as a supervisor) that test stacks
 * are started with, and a sign-in through the emulated Azure AD as any demo user (real OIDC flow, cookies
 * kept by hand).
 */
import { expect } from 'vitest';

/** OPERATOR_API_TOKEN of every test stack (long enough for the configuration check). */
export const TEST_OPERATOR_TOKEN = 'test-operator-token-0123456789abcdef';

/**
 * The environment a test stack needs so that its operator routes accept TEST_OPERATOR_TOKEN, with its
 * sessions in an in-memory store (never the working directory's ./data) unless `env` names one.
 */
export function operatorEnv(
  env: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return { OPERATOR_API_TOKEN: TEST_OPERATOR_TOKEN, DATA_DIR: ':memory:', ...env };
}

/** `Authorization: Bearer <TEST_OPERATOR_TOKEN>`. */
export const operatorHeaders: Readonly<Record<string, string>> = {
  authorization: `Bearer ${TEST_OPERATOR_TOKEN}`,
};

/** fetch with the operator token. */
export function operatorFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', operatorHeaders.authorization!);
  return fetch(url, { ...init, headers });
}

/** A browser's cookie jar, just enough for the sign-in redirects (one cookie per name and host). */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, string>>();

  take(url: string, response: Response): void {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
  }

  header(url: string): string {
    const jar = this.cookies.get(new URL(url).host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  /** fetch without following redirects, sending and keeping cookies. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.take(url, response);
    return response;
  }
}

export interface SignedIn {
  jar: CookieJar;
  csrf: string;
  /** fetch with the session cookie (and the CSRF token on anything but GET). */
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

/**
 * Sign in to the SA at `saUrl` as `username` through the emulator's sign-in page: /auth/login → authorize
 * (page) → pick the user → /auth/callback → session cookie.
 */
export async function signIn(saUrl: string, username: string, jar = new CookieJar()): Promise<SignedIn> {
  const login = await jar.fetch(`${saUrl}/auth/login?returnTo=%2Fconsole`);
  expect(login.status, await login.clone().text()).toBe(302);
  const authorize = login.headers.get('location')!;
  const page = await jar.fetch(authorize);
  const html = await page.text();
  expect(page.status, html).toBe(200);
  const form = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(match[1]!, unescapeHtml(match[2]!));
  }
  form.set('username', username);
  const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!;
  const picked = await jar.fetch(unescapeHtml(action), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  expect(picked.status).toBe(302);
  return finishSignIn(saUrl, jar, picked.headers.get('location')!);
}

/** Follow the provider's redirect to /auth/callback and read the CSRF token. */
export async function finishSignIn(saUrl: string, jar: CookieJar, callbackUrl: string): Promise<SignedIn> {
  const callback = await jar.fetch(callbackUrl);
  expect(callback.status, await callback.clone().text()).toBe(302);
  expect(callback.headers.get('location')).toBe('/console');
  const me = await jar.fetch(`${saUrl}/auth/me`);
  expect(me.status).toBe(200);
  const { csrfToken } = (await me.json()) as { csrfToken: string };
  return {
    jar,
    csrf: csrfToken,
    fetch(url, init = {}) {
      const headers = new Headers(init.headers);
      if ((init.method ?? 'GET').toUpperCase() !== 'GET') headers.set('x-csrf-token', csrfToken);
      return jar.fetch(url, { ...init, headers });
    },
  };
}

function unescapeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

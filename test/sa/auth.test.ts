/**
 * Sign-in to the SA through the emulated Azure AD (OpenID Connect, authorization code + PKCE), the session
 * cookie, CSRF protection, and the operator API token — over real HTTP.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLink } from '../../src/cli/start.ts';
import { loadAuthConfig } from '../../src/config/auth.ts';
import { DEMO_SUPERVISOR, DEMO_TENANT } from '../../src/config/tenant.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { principalOf } from '../../src/sa/auth/oidc.ts';
import { safeReturnTo } from '../../src/sa/auth/routes.ts';
import { SessionCodec } from '../../src/sa/auth/session.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import {
  CookieJar,
  finishSignIn,
  operatorEnv,
  operatorHeaders,
  signIn,
  TEST_OPERATOR_TOKEN,
} from '../helpers/operator.ts';

let stack: RunningStack;

beforeAll(async () => {
  stack = await startStack({ logger: silentLogger, env: operatorEnv() });
});
afterAll(async () => {
  await stack?.close();
});

describe('sign-in with OpenID Connect against the emulated tenant', () => {
  it('a supervisor signs in on the sign-in page: HttpOnly, SameSite=Lax, expiring session cookie; /auth/me says who', async () => {
    const jar = new CookieJar();
    const login = await jar.fetch(`${stack.saUrl}/auth/login?returnTo=%2Fconsole`);
    expect(login.status).toBe(302);
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.origin).toBe(stack.emulatorUrl);
    expect(authorize.pathname).toBe(`/${DEMO_TENANT.tenantId}/oauth2/v2.0/authorize`);
    expect(authorize.searchParams.get('response_type')).toBe('code');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${stack.saUrl}/auth/callback`);
    const flowCookie = login.headers.getSetCookie().join('\n');
    expect(flowCookie).toMatch(/HttpOnly/);
    expect(flowCookie).toMatch(/SameSite=Lax/);

    const page = await jar.fetch(authorize.toString());
    const html = await page.text();
    expect(html).toContain('Sam Supervisor');
    expect(html).toContain('Alice Agent');

    const signed = await signIn(stack.saUrl, DEMO_SUPERVISOR.username);
    const me = await (await signed.fetch(`${stack.saUrl}/auth/me`)).json();
    expect(me).toMatchObject({
      name: 'Sam Supervisor',
      username: DEMO_SUPERVISOR.username,
      role: 'supervisor',
    });
    expect(me.csrfToken).toMatch(/^[\w-]{20,}$/);
    expect(Date.parse(me.expiresAt)).toBeGreaterThan(Date.now());
    expect((await signed.fetch(`${stack.saUrl}/sessions`)).status).toBe(200);
  });

  it('sets the session cookie HttpOnly, SameSite=Lax, Path=/, with a Max-Age, and not Secure on http', async () => {
    const jar = new CookieJar();
    const login = await jar.fetch(`${stack.saUrl}/auth/login`);
    const page = await jar.fetch(login.headers.get('location')!);
    const html = await page.text();
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
      form.set(m[1]!, m[2]!.replaceAll('&amp;', '&'));
    form.set('username', 'alice@contoso.com');
    const action = /action="([^"]+)"/.exec(html)![1]!;
    const picked = await jar.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    const callback = await jar.fetch(picked.headers.get('location')!);
    expect(callback.status).toBe(302);
    const cookie = callback.headers.getSetCookie().find((c) => c.startsWith('carechat-session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).toMatch(/Max-Age=28800/);
    expect(cookie).not.toMatch(/Secure/);
    const me = await (await jar.fetch(`${stack.saUrl}/auth/me`)).json();
    expect(me).toMatchObject({ role: 'agent', agentUri: 'sip:alice@contoso.com', name: 'Alice Agent' });
  });

  it('the one-time link of the ready line signs the demo supervisor in without the page, once', async () => {
    const link = consoleLink(stack);
    expect(new URL(link).origin).toBe(stack.emulatorUrl);
    const jar = new CookieJar();
    const sso = await jar.fetch(link);
    expect(sso.status).toBe(302);
    const login = await jar.fetch(sso.headers.get('location')!);
    const authorize = await jar.fetch(login.headers.get('location')!);
    expect(authorize.status).toBe(302); // no page: the user is remembered by the ticket
    const signed = await finishSignIn(stack.saUrl, jar, authorize.headers.get('location')!);
    const me = await (await signed.fetch(`${stack.saUrl}/auth/me`)).json();
    expect(me.role).toBe('supervisor');

    const again = await new CookieJar().fetch(link);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('has been used or has expired');
  });

  it('a callback without the sign-in cookie (started elsewhere or expired) is refused with a page, not a 500', async () => {
    const jar = new CookieJar();
    const login = await jar.fetch(`${stack.saUrl}/auth/login`);
    const authorize = new URL(login.headers.get('location')!);
    const response = await fetch(
      `${stack.saUrl}/auth/callback?code=whatever&state=${authorize.searchParams.get('state')}`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Sign-in expired');
  });

  it('a forged state is refused (400) and sets no session', async () => {
    const jar = new CookieJar();
    const login = await jar.fetch(`${stack.saUrl}/auth/login`);
    expect(login.status).toBe(302);
    const response = await jar.fetch(`${stack.saUrl}/auth/callback?code=abc&state=forged`);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/Sign-in failed/);
    expect((await jar.fetch(`${stack.saUrl}/auth/me`)).status).toBe(401);
  });

  it('an error from the provider is shown (403), with a way to sign in again', async () => {
    const jar = new CookieJar();
    await jar.fetch(`${stack.saUrl}/auth/login`);
    const response = await jar.fetch(
      `${stack.saUrl}/auth/callback?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E`,
    );
    expect(response.status).toBe(403);
    const html = await response.text();
    expect(html).toContain('access_denied: &lt;b&gt;no&lt;/b&gt;');
    expect(html).toContain('href="/auth/login"');
  });

  it('returnTo only ever leads to a path of this server', () => {
    expect(safeReturnTo('/console/sessions/c1')).toBe('/console/sessions/c1');
    for (const bad of [
      'https://evil.example/',
      '//evil.example',
      '/\\evil.example',
      'console',
      undefined,
      '/\tx',
    ])
      expect(safeReturnTo(bad)).toBe('/console');
  });

  it('signing out needs the CSRF token, then ends the session', async () => {
    const signed = await signIn(stack.saUrl, DEMO_SUPERVISOR.username);
    const refused = await signed.jar.fetch(`${stack.saUrl}/auth/logout`, { method: 'POST' });
    expect(refused.status).toBe(403);
    const out = await signed.fetch(`${stack.saUrl}/auth/logout`, { method: 'POST' });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().join('\n')).toMatch(/carechat-session=;.*Max-Age=0/);
    expect((await signed.jar.fetch(`${stack.saUrl}/sessions`)).status).toBe(401);
  });
});

describe('the emulated token endpoint checks PKCE', () => {
  async function codeFor(verifier: string): Promise<{ code: string; redirectUri: string }> {
    const redirectUri = `${stack.saUrl}/auth/callback`;
    const url = new URL(`${stack.emulatorUrl}/${DEMO_TENANT.tenantId}/oauth2/v2.0/authorize`);
    const params = {
      client_id: DEMO_TENANT.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid profile',
      state: 's',
      nonce: 'n',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      username: 'bob@contoso.com',
    };
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    return { code: new URL(response.headers.get('location')!).searchParams.get('code')!, redirectUri };
  }

  const token = (form: Record<string, string>) =>
    fetch(`${stack.emulatorUrl}/${DEMO_TENANT.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: DEMO_TENANT.clientId,
        client_secret: DEMO_TENANT.clientSecret,
        ...form,
      }).toString(),
    });

  it('a wrong code_verifier is invalid_grant, and the code cannot be used again', async () => {
    const verifier = 'v'.repeat(50);
    const { code, redirectUri } = await codeFor(verifier);
    const wrong = await token({ code, redirect_uri: redirectUri, code_verifier: 'w'.repeat(50) });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    const reused = await token({ code, redirect_uri: redirectUri, code_verifier: verifier });
    expect(reused.status).toBe(400);
  });

  it('the right verifier gets an ID token with roles, signed with the JWKS key', async () => {
    const verifier = 'x'.repeat(60);
    const { code, redirectUri } = await codeFor(verifier);
    const ok = await token({ code, redirect_uri: redirectUri, code_verifier: verifier });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { id_token: string };
    const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({
      aud: DEMO_TENANT.clientId,
      iss: `${stack.emulatorUrl}/${DEMO_TENANT.tenantId}/v2.0`,
      preferred_username: 'bob@contoso.com',
      roles: ['agent'],
      nonce: 'n',
    });
  });

  it('an unregistered redirect URI is refused on the page, never redirected to', async () => {
    const url = new URL(`${stack.emulatorUrl}/${DEMO_TENANT.tenantId}/oauth2/v2.0/authorize`);
    url.search = new URLSearchParams({
      client_id: DEMO_TENANT.clientId,
      redirect_uri: 'https://evil.example/cb',
      response_type: 'code',
      scope: 'openid',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('AADSTS50011');
  });
});

describe('CSRF protection and the API token', () => {
  it('a signed-in state change without the CSRF header, or from another origin, is 403; with it, it goes through', async () => {
    const signed = await signIn(stack.saUrl, DEMO_SUPERVISOR.username);
    const url = `${stack.saUrl}/agents/${encodeURIComponent('sip:carol@contoso.com')}/presence`;
    const body = JSON.stringify({ presence: 'away' });
    const headers = { 'content-type': 'application/json' };
    const noToken = await signed.jar.fetch(url, { method: 'PUT', headers, body });
    expect(noToken.status).toBe(403);
    expect(await noToken.json()).toMatchObject({ error: 'csrf' });
    const foreign = await signed.fetch(url, {
      method: 'PUT',
      headers: { ...headers, origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    const crossSite = await signed.fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'sec-fetch-site': 'cross-site' },
      body,
    });
    expect(crossSite.status).toBe(403);
    const ok = await signed.fetch(url, {
      method: 'PUT',
      headers: { ...headers, origin: new URL(stack.saUrl).origin },
      body,
    });
    expect(ok.status).toBe(200);
    expect(stack.sa.router.agentView('sip:carol@contoso.com').presence).toBe('away');
    stack.sa.router.setPresence('sip:carol@contoso.com', 'available');
  });

  it('the API token acts as a supervisor without CSRF; a wrong token or another scheme is 401', async () => {
    expect((await fetch(`${stack.saUrl}/queue`, { headers: operatorHeaders })).status).toBe(200);
    const wrong = await fetch(`${stack.saUrl}/queue`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const basic = await fetch(`${stack.saUrl}/queue`, { headers: { authorization: 'Basic YTpi' } });
    expect(basic.status).toBe(401);
  });

  it('without OPERATOR_API_TOKEN every bearer token is refused', async () => {
    const plain = await startStack({ logger: silentLogger });
    try {
      const response = await fetch(`${plain.saUrl}/queue`, {
        headers: { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` },
      });
      expect(response.status).toBe(401);
      expect((await response.json()).message).toMatch(/OPERATOR_API_TOKEN/);
    } finally {
      await plain.close();
    }
  });

  it('a console page without credentials answers 401 with a sign-in page; the API answers 401 JSON', async () => {
    const page = await fetch(`${stack.saUrl}/console`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/auth/login?returnTo=%2Fconsole');
    const api = await fetch(`${stack.saUrl}/sessions`);
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ error: 'unauthenticated' });
  });
});

describe('on https', () => {
  it('the sign-in and session cookies are Secure and __Host- prefixed', async () => {
    const secure = await startStack({ logger: silentLogger, env: { SA_PUBLIC_URL: 'https://sa.example' } });
    try {
      const login = await secure.sa.app.request('https://sa.example/auth/login');
      expect(login.status).toBe(302);
      const cookie = login.headers.getSetCookie().join('\n');
      expect(cookie).toMatch(/^__Host-carechat-signin=/);
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(new URL(login.headers.get('location')!).searchParams.get('redirect_uri')).toBe(
        'https://sa.example/auth/callback',
      );
    } finally {
      await secure.close();
    }
  });
});

describe('pages for people', () => {
  it('an agent opening another agent’s chat page gets a 403 page, not JSON', async () => {
    const bob = await signIn(stack.saUrl, 'bob@contoso.com');
    const page = await bob.fetch(`${stack.saUrl}/console/sessions/cnosuchsession`, {
      headers: { accept: 'text/html' },
    });
    expect(page.status).toBe(403);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('signed in as Bob Agent');
    const api = await bob.fetch(`${stack.saUrl}/sessions/cnosuchsession`);
    expect(api.status).toBe(403);
    expect(await api.json()).toMatchObject({ error: 'forbidden' });
  });
});

describe('auth settings and roles (unit)', () => {
  it('roles come from the roles claim or OIDC_USER_ROLES; supervisor wins; no role, no session', () => {
    const map = new Map([['dana@contoso.com', 'supervisor' as const]]);
    const user = (username: string, roles: string[]) => ({ sub: 's', name: 'N', username, roles });
    expect(principalOf(user('alice@contoso.com', ['agent']), map)).toMatchObject({
      role: 'agent',
      agentUri: 'sip:alice@contoso.com',
    });
    expect(principalOf(user('dana@contoso.com', ['agent']), map)?.role).toBe('supervisor');
    expect(principalOf(user('eve@contoso.com', ['Reader']), map)).toBeUndefined();
  });

  it('names the variable of every bad setting', () => {
    const problems: string[] = [];
    loadAuthConfig(
      {
        OIDC_ISSUER: 'http://login.example.com/t/v2.0',
        OIDC_USER_ROLES: 'alice@contoso.com=boss',
        OPERATOR_API_TOKEN: 'short',
        SESSION_SECRET: 'tiny',
        SESSION_TTL: 'forever',
      },
      problems,
    );
    expect(problems.join('\n')).toMatch(/OIDC_ISSUER.*must be https/);
    expect(problems.join('\n')).toMatch(/OIDC_CLIENT_ID is required/);
    expect(problems.join('\n')).toMatch(/OIDC_USER_ROLES/);
    expect(problems.join('\n')).toMatch(/OPERATOR_API_TOKEN/);
    expect(problems.join('\n')).toMatch(/SESSION_SECRET/);
    expect(problems.join('\n')).toMatch(/SESSION_TTL/);
  });

  it('a session cookie expires, and one signed with another key is not accepted', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const config = loadAuthConfig({ SESSION_TTL: '1h' }, []);
    const codec = new SessionCodec(config, () => now);
    const { token } = await codec.issue({ sub: 'u', name: 'U', username: 'u@x', role: 'supervisor' });
    expect(await codec.read(token)).toMatchObject({ role: 'supervisor' });
    expect(await new SessionCodec(loadAuthConfig({}, [])).read(token)).toBeUndefined();
    now += 3601_000;
    expect(await codec.read(token)).toBeUndefined();
  });
});

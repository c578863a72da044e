/**
 * The tenant's Azure AD for people (OpenID Connect, v2.0 endpoints): discovery, an authorize endpoint with
 * a sign-in page listing the demo users (the roster agents and a demo supervisor), the authorization code
 * grant with PKCE (S256) on the token endpoint, and ID tokens carrying `roles`, signed with the same key as
 * every other AAD token of the emulator (JWKS at /<tenant>/discovery/v2.0/keys).
 *
 * A one-time sign-in ticket (`signInLink`) stands in for an existing AAD browser session: following it
 * once signs the named user in at the next authorize without showing the page.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { SignJWT } from 'jose';
import { DEMO_SUPERVISOR } from '../config/tenant.ts';
import type { EmulatorApplication } from './config.ts';
import { readBodyText } from './errors.ts';
import type { Core, Env } from './http.ts';

export interface AadUser {
  username: string;
  name: string;
  roles: string[];
}

interface IssuedCode {
  clientId: string;
  tenantId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  scope: string;
  user: AadUser;
  expires: number;
}

const CODE_TTL_MS = 5 * 60_000;
const TICKET_TTL_MS = 30 * 60_000;
const ID_TOKEN_TTL_SEC = 3600;
const SSO_COOKIE = 'emu-aad-sso';

const escapeHtml = (text: string) =>
  text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');

const b64urlSha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

const SIGN_IN_CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; background: #f2f2f2; margin: 0; color: #1b1b1b; }
main { max-width: 440px; margin: 48px auto; background: #fff; padding: 32px 40px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
h1 { font-size: 1.5rem; font-weight: 600; margin: 0 0 4px; }
p { color: #444; }
ul { list-style: none; padding: 0; margin: 16px 0 0; display: grid; gap: 8px; }
button { width: 100%; text-align: left; font: inherit; padding: 12px 14px; border: 1px solid #8a8886; background: #fff; cursor: pointer; display: flex; flex-direction: column; gap: 2px; }
button:hover, button:focus-visible { background: #f3f2f1; outline: 2px solid #0067b8; }
.name { font-weight: 600; } .meta { color: #555; font-size: .85rem; }
.brand { color: #0067b8; font-weight: 600; font-size: .9rem; margin-bottom: 16px; }
@media (max-width: 480px) { main { margin: 0; padding: 24px 20px; box-shadow: none; } }
`;

/** `formTarget`: the origin the sign-in form's answer redirects to (the client's redirect URI). */
function pageCsp(formTarget?: string): string {
  const hash = createHash('sha256').update(SIGN_IN_CSS).digest('base64');
  const form = formTarget ? `'self' ${formTarget}` : "'self'";
  return `default-src 'none'; style-src 'sha256-${hash}'; form-action ${form}; base-uri 'none'; frame-ancestors 'none'`;
}

function page(status: number, body: string, formTarget?: string): Response {
  return new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in to your account</title><style>${SIGN_IN_CSS}</style></head><body><main>${body}</main></body></html>`,
    {
      status,
      headers: {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy': pageCsp(formTarget),
      },
    },
  );
}

const errorPage = (status: number, title: string, text: string) =>
  page(
    status,
    `<div class="brand">Emulated Azure AD</div><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>`,
  );

/** The emulated AAD's state for people: users, registered redirect URIs, codes and one-time tickets. */
export class Aad {
  private readonly redirects = new Set<string>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly tickets = new Map<string, { username: string; expires: number }>();
  private readonly ssoSessions = new Map<string, { username: string; expires: number }>();

  constructor(private readonly core: Core) {}

  /** The demo users: every roster agent (role agent) and the demo supervisor. */
  users(): AadUser[] {
    return [
      ...this.core.config.agents.map((agent) => ({
        username: agent.uri.replace(/^sip:/i, '').toLowerCase(),
        name: agent.name,
        roles: ['agent'],
      })),
      { username: DEMO_SUPERVISOR.username, name: DEMO_SUPERVISOR.name, roles: [...DEMO_SUPERVISOR.roles] },
    ];
  }

  /** Register a redirect URI of an application (an app registration's "Redirect URIs"). */
  allowRedirect(uri: string): void {
    this.redirects.add(uri);
  }

  issuer(tenantId: string): string {
    return `${this.core.publicUrl()}/${tenantId}/v2.0`;
  }

  /**
   * A link that signs `username` in once: it opens the emulator (which remembers the user for the next
   * sign-in of this browser) and continues to `continueUrl` (on the origin of a registered redirect URI).
   */
  signInLink(username: string, continueUrl: string, tenantId = this.defaultApp().tenantId): string {
    const ticket = randomBytes(18).toString('base64url');
    this.tickets.set(ticket, { username: username.toLowerCase(), expires: Date.now() + TICKET_TTL_MS });
    const url = new URL(`${this.core.publicUrl()}/${tenantId}/oauth2/v2.0/sso`);
    url.searchParams.set('ticket', ticket);
    url.searchParams.set('continue', continueUrl);
    return url.toString();
  }

  private defaultApp(): EmulatorApplication {
    const first = this.core.config.applications[0];
    if (!first) throw new Error('emulator: no application configured');
    return first;
  }

  appOf(tenant: string, clientId: string | undefined): EmulatorApplication | undefined {
    const t = tenant.toLowerCase();
    return this.core.config.applications.find(
      (app) =>
        app.clientId === clientId &&
        (t === app.tenantId.toLowerCase() || t === app.endpointUri.split('@')[1]?.toLowerCase()),
    );
  }

  redirectAllowed(uri: string): boolean {
    return this.redirects.has(uri);
  }

  /** An origin some registered redirect URI lives on (where a ticket may continue to). */
  originAllowed(url: string): boolean {
    if (!URL.canParse(url)) return false;
    const origin = new URL(url).origin;
    return [...this.redirects].some((r) => new URL(r).origin === origin);
  }

  user(username: string): AadUser | undefined {
    return this.users().find((u) => u.username === username.toLowerCase());
  }

  takeTicket(ticket: string): string | undefined {
    const found = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    return found && found.expires > Date.now() ? found.username : undefined;
  }

  startSso(username: string): string {
    const id = randomBytes(18).toString('base64url');
    this.ssoSessions.set(id, { username, expires: Date.now() + TICKET_TTL_MS });
    return id;
  }

  takeSso(id: string | undefined): string | undefined {
    if (!id) return undefined;
    const found = this.ssoSessions.get(id);
    this.ssoSessions.delete(id);
    return found && found.expires > Date.now() ? found.username : undefined;
  }

  issueCode(code: Omit<IssuedCode, 'expires'>): string {
    const now = Date.now();
    for (const [key, value] of this.codes) if (value.expires <= now) this.codes.delete(key);
    const id = randomBytes(24).toString('base64url');
    this.codes.set(id, { ...code, expires: now + CODE_TTL_MS });
    return id;
  }

  takeCode(code: string): IssuedCode | undefined {
    const found = this.codes.get(code);
    this.codes.delete(code);
    return found && found.expires > Date.now() ? found : undefined;
  }

  async idToken(code: IssuedCode): Promise<string> {
    const key = this.core.auth.keys.aad;
    const now = Math.floor(Date.now() / 1000);
    const oid = uuidFrom(`${code.tenantId}|${code.user.username}`);
    return new SignJWT({
      tid: code.tenantId,
      oid,
      name: code.user.name,
      preferred_username: code.user.username,
      email: code.user.username,
      roles: code.user.roles,
      ver: '2.0',
      ...(code.nonce ? { nonce: code.nonce } : {}),
    })
      .setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: key.x5t })
      .setIssuer(this.issuer(code.tenantId))
      .setAudience(code.clientId)
      .setSubject(b64urlSha256(`${code.clientId}|${oid}`).slice(0, 43))
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ID_TOKEN_TTL_SEC)
      .sign(key.privateKey);
  }
}

/** A stable GUID-shaped id from a string (the user's object id). */
function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const AUTHORIZE_PARAMS = [
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'login_hint',
] as const;

type AuthorizeRequest = Partial<Record<(typeof AUTHORIZE_PARAMS)[number], string>>;

/** Routes of the emulated AAD for people; mount before the platform's catch-all. */
export function aadRoutes(core: Core, aad: Aad): Hono<Env> {
  const app = new Hono<Env>();
  const base = () => core.publicUrl();

  app.get('/:tenant/v2.0/.well-known/openid-configuration', (c) => {
    const tenant = c.req.param('tenant');
    const t = `${base()}/${tenant}`;
    return c.json({
      issuer: aad.issuer(tenant),
      authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
      token_endpoint: `${t}/oauth2/v2.0/token`,
      end_session_endpoint: `${t}/oauth2/v2.0/logout`,
      jwks_uri: `${t}/discovery/v2.0/keys`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'client_credentials'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'nbf',
        'name',
        'preferred_username',
        'email',
        'oid',
        'tid',
        'roles',
        'nonce',
        'ver',
      ],
      tenant_region_scope: 'NA',
    });
  });

  /** Checks an authorize request; a problem with client or redirect URI is shown, never redirected. */
  const validate = (
    tenant: string,
    req: AuthorizeRequest,
  ): { ok: true; app: EmulatorApplication; redirectUri: string } | { ok: false; response: Response } => {
    const fail = (text: string) => ({
      ok: false as const,
      response: errorPage(400, 'Sign-in request refused', text),
    });
    const application = aad.appOf(tenant, req.client_id);
    if (!application)
      return fail(`AADSTS700016: application '${req.client_id ?? ''}' was not found in tenant '${tenant}'.`);
    const redirectUri = req.redirect_uri ?? '';
    if (!aad.redirectAllowed(redirectUri))
      return fail(`AADSTS50011: the redirect URI '${redirectUri}' is not registered for this application.`);
    return { ok: true, app: application, redirectUri };
  };

  /** Problems the client must hear about, sent back to its redirect URI as OAuth errors. */
  const requestError = (req: AuthorizeRequest): string | undefined => {
    if (req.response_type !== 'code')
      return 'unsupported_response_type: only response_type=code is supported';
    if (!(req.scope ?? '').split(/\s+/).includes('openid'))
      return 'invalid_request: scope must include openid';
    if (!req.code_challenge || req.code_challenge_method !== 'S256')
      return 'invalid_request: PKCE is required (code_challenge with code_challenge_method=S256)';
    return undefined;
  };

  const redirectBack = (redirectUri: string, params: Record<string, string | undefined>) => {
    const url = new URL(redirectUri);
    for (const [key, value] of Object.entries(params))
      if (value !== undefined) url.searchParams.set(key, value);
    return new Response(null, {
      status: 302,
      headers: { Location: url.toString(), 'Cache-Control': 'no-store' },
    });
  };

  const complete = (
    tenant: string,
    application: EmulatorApplication,
    redirectUri: string,
    req: AuthorizeRequest,
    user: AadUser,
  ) => {
    const code = aad.issueCode({
      clientId: application.clientId,
      tenantId: application.tenantId,
      redirectUri,
      challenge: req.code_challenge ?? '',
      ...(req.nonce ? { nonce: req.nonce } : {}),
      scope: req.scope ?? 'openid',
      user,
    });
    core.logger.debug({ user: user.username, tenant }, 'emulated AAD: signed in');
    return redirectBack(redirectUri, { code, state: req.state, session_state: randomUUID() });
  };

  const signInPage = (tenant: string, req: AuthorizeRequest, redirectUri: string) => {
    const hidden = AUTHORIZE_PARAMS.filter((name) => req[name] !== undefined)
      .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(req[name] ?? '')}">`)
      .join('');
    const hint = req.login_hint?.toLowerCase();
    const users = aad
      .users()
      .map(
        (user) =>
          `<li><button type="submit" name="username" value="${escapeHtml(user.username)}" data-testid="signin-user" data-username="${escapeHtml(user.username)}"${user.username === hint ? ' autofocus' : ''}><span class="name">${escapeHtml(user.name)}</span><span class="meta">${escapeHtml(user.username)} · ${escapeHtml(user.roles.join(', '))}</span></button></li>`,
      )
      .join('');
    return page(
      200,
      `<div class="brand">Emulated Azure AD · ${escapeHtml(tenant)}</div><h1>Pick an account</h1><p>Sign in to carechat as one of the demo users.</p><form method="post" action="${escapeHtml(`${base()}/${tenant}/oauth2/v2.0/authorize`)}">${hidden}<ul>${users}</ul></form>`,
      // The form's answer redirects to the application: the policy must let the submission go there.
      new URL(redirectUri).origin,
    );
  };

  const readAuthorize = (params: (name: string) => string | undefined): AuthorizeRequest => {
    const req: AuthorizeRequest = {};
    for (const name of AUTHORIZE_PARAMS) {
      const value = params(name);
      if (value !== undefined) req[name] = value;
    }
    return req;
  };

  app.get('/:tenant/oauth2/v2.0/authorize', (c) => {
    const tenant = c.req.param('tenant');
    const req = readAuthorize((name) => c.req.query(name));
    const checked = validate(tenant, req);
    if (!checked.ok) return checked.response;
    const problem = requestError(req);
    if (problem) {
      const [error, description] = problem.split(': ');
      return redirectBack(checked.redirectUri, { error, error_description: description, state: req.state });
    }
    const ssoUser = aad.takeSso(getCookie(c, SSO_COOKIE));
    const user = ssoUser ? aad.user(ssoUser) : undefined;
    if (user) return complete(tenant, checked.app, checked.redirectUri, req, user);
    return signInPage(tenant, req, checked.redirectUri);
  });

  app.post('/:tenant/oauth2/v2.0/authorize', async (c) => {
    const tenant = c.req.param('tenant');
    const form = new URLSearchParams(await readBodyText(c.req.raw));
    const req = readAuthorize((name) => form.get(name) ?? undefined);
    const checked = validate(tenant, req);
    if (!checked.ok) return checked.response;
    const problem = requestError(req);
    if (problem) {
      const [error, description] = problem.split(': ');
      return redirectBack(checked.redirectUri, { error, error_description: description, state: req.state });
    }
    const user = aad.user(form.get('username') ?? '');
    if (!user) return signInPage(tenant, req, checked.redirectUri);
    return complete(tenant, checked.app, checked.redirectUri, req, user);
  });

  app.get('/:tenant/oauth2/v2.0/sso', (c) => {
    const continueUrl = c.req.query('continue') ?? '';
    const username = aad.takeTicket(c.req.query('ticket') ?? '');
    if (!username || !aad.user(username))
      return errorPage(
        400,
        'This sign-in link has been used or has expired',
        'Start the sign-in again from the console.',
      );
    if (!aad.originAllowed(continueUrl))
      return errorPage(
        400,
        'Sign-in link refused',
        'The link continues to an address no application registered.',
      );
    setCookie(c, SSO_COOKIE, aad.startSso(username), { httpOnly: true, sameSite: 'Lax', path: '/' });
    c.header('Cache-Control', 'no-store');
    return c.redirect(continueUrl, 302);
  });

  app.get('/:tenant/oauth2/v2.0/logout', (c) => {
    const target = c.req.query('post_logout_redirect_uri');
    if (target && aad.originAllowed(target)) return c.redirect(target, 302);
    return errorPage(200, 'You signed out', 'You can close this window.');
  });

  // The authorization code grant; any other grant goes on to the platform's token endpoint.
  app.post('/:tenant/oauth2/v2.0/token', async (c, next) => {
    const peek = new URLSearchParams(await c.req.raw.clone().text());
    if (peek.get('grant_type') !== 'authorization_code') return next();
    return tokenForCode(c, aad, peek);
  });

  return app;
}

async function tokenForCode(c: Context<Env>, aad: Aad, form: URLSearchParams): Promise<Response> {
  const oauthError = (status: 400 | 401, error: string, description: string) =>
    c.json({ error, error_description: description }, status, { 'Cache-Control': 'no-store' });
  const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded')
    return oauthError(400, 'invalid_request', 'the token request must be application/x-www-form-urlencoded');
  let clientId = form.get('client_id') ?? undefined;
  let secret = form.get('client_secret') ?? undefined;
  const basic = /^Basic\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    clientId = decodeURIComponent(decoded.slice(0, colon));
    secret = decodeURIComponent(decoded.slice(colon + 1));
  }
  const tenant = c.req.param('tenant') ?? '';
  const application = aad.appOf(tenant, clientId);
  if (!application || secret !== application.clientSecret)
    return oauthError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret or client id provided.');
  const code = aad.takeCode(form.get('code') ?? '');
  if (!code || code.clientId !== application.clientId)
    return oauthError(
      400,
      'invalid_grant',
      'AADSTS70008: the authorization code is invalid, used or expired.',
    );
  if (form.get('redirect_uri') !== code.redirectUri)
    return oauthError(
      400,
      'invalid_grant',
      'AADSTS500112: redirect_uri does not match the authorization request.',
    );
  const verifier = form.get('code_verifier') ?? '';
  if (!verifier || b64urlSha256(verifier) !== code.challenge)
    return oauthError(
      400,
      'invalid_grant',
      'AADSTS501481: the code_verifier does not match the code_challenge.',
    );
  const idToken = await aad.idToken(code);
  return c.json(
    {
      token_type: 'Bearer',
      scope: code.scope,
      expires_in: ID_TOKEN_TTL_SEC,
      access_token: randomBytes(32).toString('base64url'),
      id_token: idToken,
    },
    200,
    { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
  );
}

/**
 * The guard in front of every SA route: public routes pass; everything else needs a session cookie or the
 * operator API token (401), the right role (403), and — for a cookie-authenticated request that changes
 * state — a same-origin request carrying the session's CSRF token in X-CSRF-Token (403).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { messagePage } from './html.ts';
import type { Access, Policy } from './policy.ts';
import { type CookieJar, CSRF_HEADER, type Principal, type SessionCodec, sessionCookie } from './session.ts';

declare module 'hono' {
  interface ContextVariableMap {
    principal: Principal;
  }
}

export interface GuardOptions {
  policy: Policy;
  codec: SessionCodec;
  jar: () => CookieJar;
  /** The SA's public origin: the only Origin a cookie-authenticated state change may come from. */
  ownOrigin: () => string;
  /** Whether this agent is (or was) in that chat. */
  ownsSession: (sessionId: string, agentUri: string) => boolean;
  /** Sign-in is configured (otherwise the 401 page does not offer it). */
  signInEnabled: boolean;
  /** The path the SA is mounted under in a host app ('' at the root). */
  basePath?: () => string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function json(status: 401 | 403, error: string, message: string, headers: Record<string, string> = {}) {
  return new HTTPException(status, {
    res: Response.json({ error, message }, { status, headers: { 'Cache-Control': 'no-store', ...headers } }),
  });
}

function wantsHtml(c: Context): boolean {
  return c.req.method === 'GET' && /\btext\/html\b/.test(c.req.header('accept') ?? '');
}

/** A page for a person who opened a console URL without being signed in: sign in, then come back. */
function signInPage(returnTo: string, signInEnabled: boolean): Response {
  const headers = { 'WWW-Authenticate': 'Bearer realm="carechat"' };
  if (!signInEnabled) {
    return messagePage(
      401,
      'Sign in required',
      'Sign-in is not configured on this server (set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET).',
      undefined,
      headers,
    );
  }
  const login = `/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
  return messagePage(
    401,
    'Sign in required',
    'Please sign in to continue.',
    { href: login, label: 'Sign in', redirect: true },
    headers,
  );
}

export function authGuard(opts: GuardOptions): MiddlewareHandler {
  return async function authGuardMiddleware(c, next) {
    const base = opts.basePath?.() ?? '';
    const path = base && c.req.path.startsWith(`${base}/`) ? c.req.path.slice(base.length) : c.req.path;
    const found = opts.policy.match(c.req.method, base && path === base ? '/' : path);
    const access: Access = found?.rule.access ?? { kind: 'supervisor' };
    if (access.kind === 'public') return next();

    const principal = await authenticate(c, opts);
    if (!principal) {
      if (wantsHtml(c)) {
        const url = new URL(c.req.url);
        throw new HTTPException(401, { res: signInPage(`${url.pathname}${url.search}`, opts.signInEnabled) });
      }
      throw json(
        401,
        'unauthenticated',
        opts.signInEnabled
          ? 'sign in (GET /auth/login) or send Authorization: Bearer <OPERATOR_API_TOKEN>'
          : 'send Authorization: Bearer <OPERATOR_API_TOKEN>',
        { 'WWW-Authenticate': 'Bearer realm="carechat"' },
      );
    }
    try {
      authorize(principal, access, found?.params ?? {}, opts);
    } catch (error) {
      // A person who opened a page they may not see gets a page saying so (an API caller: JSON).
      if (error instanceof HTTPException && wantsHtml(c)) {
        const { message } = (await error.getResponse().json()) as { message: string };
        throw new HTTPException(403, {
          res: messagePage(403, 'Not for you', `You are signed in as ${principal.name}: ${message}.`, {
            href: '/console',
            label: 'Back to the console',
          }),
        });
      }
      throw error;
    }
    if (principal.kind === 'user' && !SAFE_METHODS.has(c.req.method.toUpperCase()))
      checkCsrf(c, principal, opts);
    c.set('principal', principal);
    return next();
  };
}

/** The caller of this request, if any (bearer token first, then the session cookie). */
export async function authenticate(
  c: Context,
  opts: Pick<GuardOptions, 'codec' | 'jar'>,
): Promise<Principal | undefined> {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match)
      throw json(401, 'unauthenticated', 'the Authorization header must be Bearer <OPERATOR_API_TOKEN>');
    if (!opts.codec.apiTokenMatches(match[1]!)) {
      throw json(
        401,
        'unauthenticated',
        'the bearer token is not valid (API tokens are accepted only when OPERATOR_API_TOKEN is set)',
        { 'WWW-Authenticate': 'Bearer realm="carechat", error="invalid_token"' },
      );
    }
    return { kind: 'token', sub: 'api-token', name: 'API token', username: '', role: 'supervisor' };
  }
  return opts.codec.read(sessionCookie(c, opts.jar()));
}

function authorize(
  principal: Principal,
  access: Access,
  params: Record<string, string>,
  opts: GuardOptions,
): void {
  if (principal.role === 'supervisor') return;
  const agentUri = principal.agentUri?.toLowerCase();
  switch (access.kind) {
    case 'signedIn':
      return;
    case 'ownSession': {
      const id = params[access.param] ?? '';
      if (agentUri && opts.ownsSession(id, agentUri)) return;
      throw json(403, 'forbidden', `agents may only open their own chats; ${id} is not one of yours`);
    }
    case 'ownAgent': {
      const uri = (params[access.param] ?? '').toLowerCase();
      if (agentUri && uri === agentUri) return;
      throw json(403, 'forbidden', 'agents may only change their own presence');
    }
    default:
      throw json(403, 'forbidden', 'this needs the supervisor role');
  }
}

function checkCsrf(c: Context, principal: Principal, opts: GuardOptions): void {
  if (c.req.header('sec-fetch-site') === 'cross-site')
    throw json(403, 'csrf', 'cross-site requests may not change anything here');
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== opts.ownOrigin())
    throw json(403, 'csrf', `requests from ${origin} may not change anything here`);
  const token = c.req.header(CSRF_HEADER);
  if (!token || token !== principal.csrf)
    throw json(
      403,
      'csrf',
      `a signed-in request that changes something must carry the ${CSRF_HEADER} header (see GET /auth/me)`,
    );
}

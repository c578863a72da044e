/**
 * The sign-in routes: GET /auth/login (to the provider, with PKCE), GET /auth/callback (back from it: the
 * session cookie), POST /auth/logout, GET /auth/me (who is signed in, and the CSRF token to send).
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type pino from 'pino';
import type { AuthConfig } from '../../config/auth.ts';
import { authenticate } from './guard.ts';
import { messagePage } from './html.ts';
import { type OidcClient, principalOf, SignInError } from './oidc.ts';
import {
  type CookieJar,
  CSRF_HEADER,
  clearSessionCookie,
  type SessionCodec,
  setFlowCookie,
  setSessionCookie,
  takeFlowCookie,
} from './session.ts';

export const CALLBACK_PATH = '/auth/callback';
const DEFAULT_RETURN = '/console';

export interface AuthRouteOptions {
  config: AuthConfig;
  oidc: OidcClient | undefined;
  codec: SessionCodec;
  jar: () => CookieJar;
  publicUrl: () => string;
  logger: pino.Logger;
}

/** Only a path on this server (no scheme, no `//host`, no backslash tricks) is a place to return to. */
export function safeReturnTo(value: string | undefined): string {
  if (!value?.startsWith('/') || value.startsWith('//') || value.includes('\\')) return DEFAULT_RETURN;
  // Control characters (tab, newline, …) have no place in a path and are a classic way around checks.
  if ([...value].some((ch) => ch.charCodeAt(0) < 0x20)) return DEFAULT_RETURN;
  return value;
}

export function authRoutes(opts: AuthRouteOptions): Hono {
  const app = new Hono();
  const log = opts.logger;
  const redirectUri = () => `${opts.publicUrl()}${CALLBACK_PATH}`;
  const notConfigured = () =>
    messagePage(
      503,
      'Sign-in is not configured',
      'Set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET to let people sign in; scripts can use OPERATOR_API_TOKEN.',
    );

  app.get('/auth/login', async (c) => {
    if (!opts.oidc) return notConfigured();
    const returnTo = safeReturnTo(c.req.query('returnTo'));
    const loginHint = c.req.query('login_hint')?.slice(0, 256);
    try {
      const { url, flow } = await opts.oidc.start(redirectUri(), returnTo, loginHint ? { loginHint } : {});
      setFlowCookie(c, opts.jar(), await opts.codec.sealFlow(flow));
      c.header('Cache-Control', 'no-store');
      return c.redirect(url.toString(), 302);
    } catch (error) {
      if (error instanceof SignInError) {
        log.warn({ error: error.message }, 'sign-in could not start');
        return messagePage(error.status, 'Sign-in is unavailable', error.message, {
          href: `/auth/login?returnTo=${encodeURIComponent(returnTo)}`,
          label: 'Try again',
        });
      }
      throw error;
    }
  });

  app.get(CALLBACK_PATH, async (c) => {
    if (!opts.oidc) return notConfigured();
    const again = { href: '/auth/login', label: 'Sign in again' };
    const flow = await opts.codec.openFlow(takeFlowCookie(c, opts.jar()));
    const providerError = c.req.query('error');
    if (providerError) {
      const description = c.req.query('error_description') ?? '';
      log.info({ error: providerError }, 'sign-in refused by the provider');
      return messagePage(
        403,
        'Sign-in was not completed',
        `${providerError}${description ? `: ${description}` : ''}`,
        again,
      );
    }
    if (!flow) {
      return messagePage(
        400,
        'Sign-in expired',
        'This sign-in was started too long ago or in another browser. Please start again.',
        again,
      );
    }
    const current = new URL(redirectUri());
    current.search = new URL(c.req.url).search;
    let principal: ReturnType<typeof principalOf>;
    try {
      const user = await opts.oidc.finish(current, flow);
      principal = principalOf(user, opts.config.userRoles);
      if (!principal) {
        log.info({ user: user.username || user.sub }, 'sign-in refused: no carechat role');
        return messagePage(
          403,
          'No access',
          `${user.name} (${user.username || user.sub}) has neither the supervisor nor the agent role for carechat. Ask an administrator to assign one.`,
          again,
        );
      }
    } catch (error) {
      if (error instanceof SignInError) {
        log.warn({ error: error.message }, 'sign-in failed');
        return messagePage(error.status, 'Sign-in failed', error.message, again);
      }
      throw error;
    }
    const { token } = await opts.codec.issue(principal);
    setSessionCookie(c, opts.jar(), token);
    log.info({ user: principal.username || principal.sub, role: principal.role }, 'signed in');
    c.header('Cache-Control', 'no-store');
    return c.redirect(flow.returnTo, 302);
  });

  app.post('/auth/logout', async (c) => {
    const principal = await authenticate(c, opts).catch(() => undefined);
    if (principal?.kind === 'user') {
      if (c.req.header(CSRF_HEADER) !== principal.csrf) {
        throw new HTTPException(403, {
          res: Response.json(
            { error: 'csrf', message: `signing out needs the ${CSRF_HEADER} header (see GET /auth/me)` },
            { status: 403 },
          ),
        });
      }
      log.info({ user: principal.username || principal.sub }, 'signed out');
    }
    clearSessionCookie(c, opts.jar());
    c.header('Cache-Control', 'no-store');
    return c.json({ signedOut: true, signIn: '/auth/login' });
  });

  app.get('/auth/me', async (c) => {
    const principal = await authenticate(c, opts);
    c.header('Cache-Control', 'no-store');
    if (!principal) {
      return c.json(
        { error: 'unauthenticated', message: 'not signed in', signIn: opts.oidc ? '/auth/login' : null },
        401,
      );
    }
    return c.json({
      name: principal.name,
      username: principal.username,
      role: principal.role,
      agentUri: principal.agentUri ?? null,
      csrfToken: principal.csrf ?? null,
      expiresAt: principal.exp ? new Date(principal.exp * 1000).toISOString() : null,
    });
  });

  return app;
}

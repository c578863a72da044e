/**
 * Authentication and roles for the SA: sign-in with OpenID Connect, the session cookie, the operator API
 * token, and the route policy the guard enforces.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type pino from 'pino';
import type { AuthConfig } from '../../config/auth.ts';
import { authGuard } from './guard.ts';
import { OidcClient } from './oidc.ts';
import { Policy, routePolicy } from './policy.ts';
import { authRoutes } from './routes.ts';
import { type CookieJar, SessionCodec } from './session.ts';

export type { AuthConfig, Role } from '../../config/auth.ts';
export { loadAuthConfig, ROLES } from '../../config/auth.ts';
export type { Access, RouteRule } from './policy.ts';
export { Policy, routePolicy } from './policy.ts';
export type { Principal } from './session.ts';
export { CSRF_HEADER, SessionCodec } from './session.ts';

export interface AuthOptions {
  config: AuthConfig;
  callbackPath: string;
  publicUrl: () => string;
  logger: pino.Logger;
  /** Whether this agent is (or was) in that chat. */
  ownsSession: (sessionId: string, agentUri: string) => boolean;
  now?: () => number;
}

export interface Auth {
  policy: Policy;
  codec: SessionCodec;
  guard: MiddlewareHandler;
  routes: Hono;
  signInEnabled: boolean;
}

export function createAuth(opts: AuthOptions): Auth {
  const policy = new Policy(routePolicy(opts.callbackPath));
  const codec = new SessionCodec(opts.config, opts.now);
  const jar = (): CookieJar => ({
    secure: opts.publicUrl().startsWith('https:'),
    ttlSec: opts.config.sessionTtlSec,
  });
  const oidc = opts.config.oidc ? new OidcClient(opts.config.oidc) : undefined;
  const logger = opts.logger.child({ component: 'auth' });
  return {
    policy,
    codec,
    signInEnabled: !!oidc,
    guard: authGuard({
      policy,
      codec,
      jar,
      ownOrigin: () => new URL(opts.publicUrl()).origin,
      // Mounted under a path of a host app (SA_PUBLIC_URL https://shop.example/support): rules are relative to it.
      basePath: () =>
        URL.canParse(opts.publicUrl()) ? new URL(opts.publicUrl()).pathname.replace(/\/+$/, '') : '',
      ownsSession: opts.ownsSession,
      signInEnabled: !!oidc,
    }),
    routes: authRoutes({ config: opts.config, oidc, codec, jar, publicUrl: opts.publicUrl, logger }),
  };
}

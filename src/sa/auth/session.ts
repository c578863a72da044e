/**
 * Who is calling: a signed-in user (session cookie, a JWT signed with the SA's session key) or a script
 * (OPERATOR_API_TOKEN as a bearer token). The cookie is HttpOnly, SameSite=Lax, Secure on https, and
 * expires; it carries a random CSRF token that state-changing requests must echo in a header.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { EncryptJWT, jwtDecrypt, jwtVerify, SignJWT } from 'jose';
import type { AuthConfig, Role } from '../../config/auth.ts';

export interface Principal {
  kind: 'user' | 'token';
  /** Stable id: the ID token's `sub`, or `api-token`. */
  sub: string;
  name: string;
  /** preferred_username / upn / email, lower case (empty for the API token). */
  username: string;
  role: Role;
  /** The agent's SIP URI (agents only). */
  agentUri?: string;
  /** The session's CSRF token (users only). */
  csrf?: string;
  /** Session expiry (epoch seconds; users only). */
  exp?: number;
}

/** The header a cookie-authenticated state-changing request carries. */
export const CSRF_HEADER = 'X-CSRF-Token';
const ISSUER = 'carechat';
const SESSION_AUDIENCE = 'carechat-console';
const FLOW_AUDIENCE = 'carechat-sign-in';
/** How long a sign-in may take at the identity provider. */
export const FLOW_TTL_SEC = 600;

export function cookieNames(secure: boolean): { session: string; flow: string } {
  // __Host-: the browser only accepts it Secure, for /, without Domain (https only).
  return secure
    ? { session: '__Host-carechat-session', flow: '__Host-carechat-signin' }
    : { session: 'carechat-session', flow: 'carechat-signin' };
}

/** What the sign-in started: kept encrypted in a short-lived cookie until the provider answers. */
export interface SignInFlow {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

export class SessionCodec {
  private readonly flowKey: Uint8Array;

  constructor(
    private readonly config: AuthConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.flowKey = new Uint8Array(
      createHash('sha256').update('carechat sign-in flow').update(config.sessionSecret).digest(),
    );
  }

  private nowSec(): number {
    return Math.floor(this.now() / 1000);
  }

  async issue(
    user: Omit<Principal, 'kind' | 'csrf' | 'exp'>,
  ): Promise<{ token: string; principal: Principal }> {
    const iat = this.nowSec();
    const exp = iat + this.config.sessionTtlSec;
    const csrf = randomBytes(24).toString('base64url');
    const token = await new SignJWT({
      name: user.name,
      usr: user.username,
      role: user.role,
      csrf,
      ...(user.agentUri ? { agt: user.agentUri } : {}),
    })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.sub)
      .setIssuer(ISSUER)
      .setAudience(SESSION_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.config.sessionSecret);
    return { token, principal: { ...user, kind: 'user', csrf, exp } };
  }

  /** The session of a cookie value; undefined when it is missing, forged, expired or malformed. */
  async read(token: string | undefined): Promise<Principal | undefined> {
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.config.sessionSecret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: SESSION_AUDIENCE,
        currentDate: new Date(this.now()),
      });
      const role = payload.role;
      if (
        typeof payload.sub !== 'string' ||
        (role !== 'supervisor' && role !== 'agent') ||
        typeof payload.csrf !== 'string' ||
        typeof payload.exp !== 'number'
      )
        return undefined;
      return {
        kind: 'user',
        sub: payload.sub,
        name: typeof payload.name === 'string' ? payload.name : payload.sub,
        username: typeof payload.usr === 'string' ? payload.usr : '',
        role,
        ...(typeof payload.agt === 'string' ? { agentUri: payload.agt } : {}),
        csrf: payload.csrf,
        exp: payload.exp,
      };
    } catch {
      return undefined;
    }
  }

  async sealFlow(flow: SignInFlow): Promise<string> {
    const iat = this.nowSec();
    return new EncryptJWT({ ...flow })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuer(ISSUER)
      .setAudience(FLOW_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + FLOW_TTL_SEC)
      .encrypt(this.flowKey);
  }

  async openFlow(token: string | undefined): Promise<SignInFlow | undefined> {
    if (!token) return undefined;
    try {
      const { payload } = await jwtDecrypt(token, this.flowKey, {
        issuer: ISSUER,
        audience: FLOW_AUDIENCE,
        currentDate: new Date(this.now()),
      });
      const { state, nonce, verifier, returnTo } = payload;
      if (
        typeof state !== 'string' ||
        typeof nonce !== 'string' ||
        typeof verifier !== 'string' ||
        typeof returnTo !== 'string'
      )
        return undefined;
      return { state, nonce, verifier, returnTo };
    } catch {
      return undefined;
    }
  }

  /** Constant-time comparison of a presented API token with OPERATOR_API_TOKEN. */
  apiTokenMatches(presented: string): boolean {
    const expected = this.config.apiToken;
    if (!expected) return false;
    const a = createHash('sha256').update(presented).digest();
    const b = createHash('sha256').update(expected).digest();
    return timingSafeEqual(a, b);
  }
}

export interface CookieJar {
  secure: boolean;
  ttlSec: number;
}

export function setSessionCookie(c: Context, jar: CookieJar, token: string): void {
  setCookie(c, cookieNames(jar.secure).session, token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: jar.secure,
    path: '/',
    maxAge: jar.ttlSec,
  });
}

export function clearSessionCookie(c: Context, jar: CookieJar): void {
  deleteCookie(c, cookieNames(jar.secure).session, { path: '/', secure: jar.secure });
}

export function sessionCookie(c: Context, jar: CookieJar): string | undefined {
  return getCookie(c, cookieNames(jar.secure).session);
}

export function setFlowCookie(c: Context, jar: CookieJar, token: string): void {
  setCookie(c, cookieNames(jar.secure).flow, token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: jar.secure,
    path: '/',
    maxAge: FLOW_TTL_SEC,
  });
}

export function takeFlowCookie(c: Context, jar: CookieJar): string | undefined {
  const value = getCookie(c, cookieNames(jar.secure).flow);
  if (value !== undefined) deleteCookie(c, cookieNames(jar.secure).flow, { path: '/', secure: jar.secure });
  return value;
}

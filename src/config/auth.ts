/**
 * Sign-in settings: OpenID Connect against the tenant's Azure AD (OIDC_ISSUER, OIDC_CLIENT_ID,
 * OIDC_CLIENT_SECRET), roles from the ID token's `roles` claim or OIDC_USER_ROLES, the signed session cookie
 * (SESSION_SECRET, SESSION_TTL) and the operator API token (OPERATOR_API_TOKEN).
 */
import { randomBytes } from 'node:crypto';
import { noteDefault } from './settings.ts';

export const ROLES = ['supervisor', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export interface OidcSettings {
  /** The issuer; its `/.well-known/openid-configuration` is read on the first sign-in. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Plain-http issuer allowed (only for a loopback issuer: the emulator). */
  allowHttp: boolean;
}

export interface AuthConfig {
  /** null: sign-in is not configured (only the API token works). */
  oidc: OidcSettings | null;
  /** Roles by user name (lower case), on top of the token's `roles` claim. */
  userRoles: Map<string, Role>;
  /** OPERATOR_API_TOKEN; null: bearer tokens are refused. */
  apiToken: string | null;
  /** HMAC key of the session cookie. */
  sessionSecret: Uint8Array;
  /** SESSION_SECRET was not set: a random key per process (sessions end with a restart). */
  sessionSecretGenerated: boolean;
  sessionTtlSec: number;
}

type Env = Record<string, string | undefined>;

const MIN_TOKEN_LENGTH = 24;
const MIN_SECRET_LENGTH = 32;

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** `30m`, `8h`, `2d` or seconds. */
function parseDuration(value: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/i.exec(value.trim());
  if (!match) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Number(match[1]) * unit;
}

/**
 * Reads the sign-in settings; each problem is pushed with the variable's name. `emulator`: defaults that
 * point at the emulated tenant (npm start).
 */
export function loadAuthConfig(
  env: Env,
  problems: string[],
  emulator?: { url: string; tenantId: string; clientId: string; clientSecret: string },
): AuthConfig {
  const value = (name: string) => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };

  if (emulator) {
    noteDefault(env, 'OIDC_ISSUER', `${emulator.url}/${emulator.tenantId}/v2.0`);
    noteDefault(env, 'OIDC_CLIENT_ID', emulator.clientId);
    noteDefault(env, 'OIDC_CLIENT_SECRET', emulator.clientSecret);
  }
  let oidc: OidcSettings | null = null;
  const issuer = value('OIDC_ISSUER') ?? (emulator ? `${emulator.url}/${emulator.tenantId}/v2.0` : undefined);
  if (issuer) {
    const clientId = value('OIDC_CLIENT_ID') ?? emulator?.clientId;
    const clientSecret = value('OIDC_CLIENT_SECRET') ?? emulator?.clientSecret;
    let allowHttp = false;
    if (!URL.canParse(issuer) || !/^https?:$/.test(new URL(issuer).protocol)) {
      problems.push(
        `OIDC_ISSUER=${JSON.stringify(issuer)}: expected the issuer URL, e.g. https://login.microsoftonline.com/<tenant id>/v2.0`,
      );
    } else if (new URL(issuer).protocol === 'http:') {
      if (isLoopback(new URL(issuer).hostname)) allowHttp = true;
      else
        problems.push(
          `OIDC_ISSUER=${JSON.stringify(issuer)}: must be https (http only for a loopback issuer)`,
        );
    }
    if (!clientId) problems.push('OIDC_CLIENT_ID is required when OIDC_ISSUER is set');
    if (!clientSecret) problems.push('OIDC_CLIENT_SECRET is required when OIDC_ISSUER is set');
    oidc = {
      issuer: issuer.replace(/\/+$/, ''),
      clientId: clientId ?? '',
      clientSecret: clientSecret ?? '',
      allowHttp,
    };
  } else if (value('OIDC_CLIENT_ID') || value('OIDC_CLIENT_SECRET')) {
    problems.push('OIDC_ISSUER is required when OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is set');
  }

  const userRoles = new Map<string, Role>();
  for (const entry of (value('OIDC_USER_ROLES') ?? '').split(',')) {
    if (!entry.trim()) continue;
    const [user, role] = entry.split('=').map((s) => s.trim().toLowerCase());
    if (!user || !role || !(ROLES as readonly string[]).includes(role)) {
      problems.push(
        `OIDC_USER_ROLES: ${JSON.stringify(entry.trim())} is not of the form user@domain=supervisor|agent`,
      );
      continue;
    }
    userRoles.set(user, role as Role);
  }

  const apiToken = value('OPERATOR_API_TOKEN') ?? null;
  if (apiToken !== null && (apiToken.length < MIN_TOKEN_LENGTH || /\s/.test(apiToken))) {
    problems.push(
      `OPERATOR_API_TOKEN: expected at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 32)`,
    );
  }

  const secretText = value('SESSION_SECRET');
  if (secretText !== undefined && secretText.length < MIN_SECRET_LENGTH) {
    problems.push(
      `SESSION_SECRET: expected at least ${MIN_SECRET_LENGTH} characters (e.g. openssl rand -hex 32)`,
    );
  }
  const sessionSecret = secretText ? new TextEncoder().encode(secretText) : new Uint8Array(randomBytes(32));

  noteDefault(env, 'SESSION_TTL', '8h');
  const ttlText = value('SESSION_TTL') ?? '8h';
  const ttl = parseDuration(ttlText);
  if (ttl === undefined || ttl < 60 || ttl > 7 * 86_400) {
    problems.push(`SESSION_TTL=${JSON.stringify(ttlText)}: expected a duration from 1m to 7d, e.g. 8h`);
  }

  return {
    oidc,
    userRoles,
    apiToken,
    sessionSecret,
    sessionSecretGenerated: secretText === undefined,
    sessionTtlSec: ttl ?? 8 * 3600,
  };
}

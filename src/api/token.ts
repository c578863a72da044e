import type { Logger } from 'pino';
import { parseJsonText } from '../wire/json.ts';
import { ApiError, safePath } from './errors.ts';
import type { HttpTransport } from './http.ts';

export interface AadCredentials {
  /** AAD v1 token endpoint, e.g. `https://login.windows.net/<tenant>/oauth2/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** The audience the platform expects, e.g. `https://api.skypeforbusiness.com`. */
  resource: string;
}

export interface TokenProviderOptions {
  auth: AadCredentials;
  http: HttpTransport;
  logger: Logger;
  now: () => number;
  refreshSkewSec: number;
}

export interface TokenProvider {
  /** A cached token, or a fresh one when the cached one is within the refresh skew of its expiry. */
  get(): Promise<string>;
  /**
   * The platform rejected `stale`: fetch a new token — unless another caller already replaced it, in
   * which case that newer token is returned. Concurrent callers share one in-flight request.
   */
  refresh(stale: string): Promise<string>;
}

interface CachedToken {
  accessToken: string;
  expiresAt: number;
  refreshAt: number;
}

/** Used when AAD names no lifetime at all (it always does; this only avoids refreshing on every call). */
const FALLBACK_LIFETIME_SEC = 3600;

/**
 * AAD app-only token by the client-credentials grant (wire-spec 3.1): one form POST, cached, refreshed
 * `refreshSkewSec` before expiry (or at half its lifetime when the lifetime is shorter than twice the skew,
 * so short-lived test tokens are not refetched on every call).
 */
export function createTokenProvider(opts: TokenProviderOptions): TokenProvider {
  const { auth, http, logger, now } = opts;
  let cached: CachedToken | undefined;
  let inFlight: Promise<CachedToken> | undefined;

  function fresh(token: CachedToken | undefined): token is CachedToken {
    return token !== undefined && now() < token.refreshAt;
  }

  function fetchShared(): Promise<string> {
    if (!inFlight) {
      inFlight = requestToken().finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight.then((token) => token.accessToken);
  }

  async function requestToken(): Promise<CachedToken> {
    const requestedAt = now();
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: auth.clientId,
      client_secret: auth.clientSecret,
      resource: auth.resource,
    });
    const response = await http.send({
      method: 'POST',
      url: auth.tokenUrl,
      body: form,
      contentType: 'application/x-www-form-urlencoded',
    });
    const token = parseTokenResponse(response.text, response.status, auth.tokenUrl, requestedAt);
    const lifetimeMs = token.expiresAt - requestedAt;
    const skewMs = Math.min(opts.refreshSkewSec * 1000, Math.max(0, lifetimeMs / 2));
    cached = { ...token, refreshAt: token.expiresAt - skewMs };
    logger.debug(
      { path: safePath(auth.tokenUrl), expiresInSec: Math.round(lifetimeMs / 1000) },
      'AAD app token acquired',
    );
    return cached;
  }

  return {
    async get() {
      if (fresh(cached)) return cached.accessToken;
      return fetchShared();
    },
    async refresh(stale) {
      if (inFlight) return fetchShared();
      if (fresh(cached) && cached.accessToken !== stale) return cached.accessToken;
      cached = undefined;
      return fetchShared();
    },
  };
}

function invalid(message: string, status: number, url: string): ApiError {
  return new ApiError({
    kind: 'http',
    status,
    code: 'InvalidResponse',
    message: `token endpoint ${safePath(url)}: ${message}`,
    url,
    method: 'POST',
    retryable: false,
  });
}

/** `expires_in` (seconds from now) wins over `expires_on` (epoch seconds); AAD v1 sends both as strings. */
function parseTokenResponse(
  text: string,
  status: number,
  url: string,
  requestedAt: number,
): { accessToken: string; expiresAt: number } {
  let body: unknown;
  try {
    body = parseJsonText(text);
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error), status, url);
  }
  if (!body || typeof body !== 'object') throw invalid('answer is not a JSON object', status, url);
  const fields = body as Record<string, unknown>;
  const accessToken = fields.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw invalid('answer has no access_token', status, url);
  }
  const expiresIn = numeric(fields.expires_in);
  const expiresOn = numeric(fields.expires_on);
  let expiresAt: number;
  if (expiresIn !== undefined) expiresAt = requestedAt + expiresIn * 1000;
  else if (expiresOn !== undefined) expiresAt = expiresOn * 1000;
  else expiresAt = requestedAt + FALLBACK_LIFETIME_SEC * 1000;
  return { accessToken, expiresAt };
}

function numeric(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

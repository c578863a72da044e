/**
 * Verifies the bearer token the platform puts on every callback (wire-spec 3.2): an AAD-signed RS256 JWT
 * whose `aud` is the SA's App ID URI, whose `iss` is `https://sts.windows.net/<tenant id>/` of an allowed
 * tenant and whose `appid` is the Skype for Business Online application. Every check fails with a
 * `CallbackAuthError` whose `reason` says which one; the token itself never appears in a reason.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';

/** The Skype for Business Online first-party application: `appid` of every genuine callback token. */
export const SKYPE_FOR_BUSINESS_APP_ID = '00000004-0000-0ff1-ce00-000000000000';

/** The one signature algorithm AAD uses for these tokens; anything else (none, HS256, …) is refused. */
const ALGORITHM = 'RS256';

export interface CallbackVerifierOptions {
  /** Where the signing keys are published (a JWKS document). One of `jwksUrl` or `keys` is required. */
  jwksUrl?: string | URL;
  /** A key set given directly: a JWKS document, or a resolver such as jose's `createLocalJWKSet(...)`. */
  keys?: JSONWebKeySet | JWTVerifyGetKey;
  /** Accepted `aud` value(s): the SA's App ID URI. */
  audience: string | string[];
  /** Accepted `iss` values, e.g. `https://sts.windows.net/<tenant id>/`. */
  issuers: string[];
  /** Required `appid` claim, normally {@link SKYPE_FOR_BUSINESS_APP_ID}. */
  appId: string;
  /** Allowed clock skew for `exp`/`nbf`, in seconds. Default 300 (what the .NET samples allow). */
  clockToleranceSec?: number;
  /** The clock; injectable for tests. */
  now?: () => Date;
  /**
   * Tokens verified lately, kept so that the same token on the next callback is not verified again (the
   * platform sends one token on many callbacks, as AAD clients reuse tokens until they expire); its time
   * claims are checked again on every use. Default 1000; 0 keeps none.
   */
  cacheSize?: number;
}

/** Verifies an `Authorization` header value; resolves to the token's claims or throws. */
export type CallbackVerifier = (authorizationHeader: string | undefined) => Promise<JWTPayload>;

/** The caller could not be authenticated; `reason` is safe to return to the caller and to log. */
export class CallbackAuthError extends Error {
  override name = 'CallbackAuthError';
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.reason = reason;
  }
}

/** The signing keys could not be fetched: not the caller's fault, so not a 401 (the route answers 503). */
export class CallbackKeysUnavailableError extends Error {
  override name = 'CallbackKeysUnavailableError';
  /** The SA is starting or stopping (expected, logged as a warning), not a failure to fetch the keys. */
  readonly expected: boolean;
  constructor(message: string, options: { expected?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.expected = options.expected ?? false;
  }
}

export function createCallbackVerifier(opts: CallbackVerifierOptions): CallbackVerifier {
  const audience = Array.isArray(opts.audience) ? opts.audience : [opts.audience];
  if (audience.length === 0 || audience.some((value) => typeof value !== 'string' || value === '')) {
    throw new Error('createCallbackVerifier: `audience` must name at least one App ID URI');
  }
  if (!Array.isArray(opts.issuers) || opts.issuers.length === 0 || opts.issuers.some((i) => !i)) {
    throw new Error(
      'createCallbackVerifier: `issuers` must list at least one issuer (https://sts.windows.net/<tid>/)',
    );
  }
  if (!opts.appId) throw new Error('createCallbackVerifier: `appId` is required');
  const clockTolerance = opts.clockToleranceSec ?? 300;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) {
    throw new Error('createCallbackVerifier: `clockToleranceSec` must be a number >= 0');
  }
  const getKey = guardKeyResolver(keyResolver(opts));
  const issuers = [...opts.issuers];
  const { appId, now } = opts;
  const cacheSize = opts.cacheSize ?? 1000;
  if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
    throw new Error('createCallbackVerifier: `cacheSize` must be an integer >= 0');
  }
  /** Token → its verified claims, least recently used first. */
  const verified = new Map<string, JWTPayload>();

  return async function verifyCallbackToken(authorizationHeader) {
    const token = bearerToken(authorizationHeader);
    const known = verified.get(token);
    if (known) {
      // Verified before: only time has passed since, so only the time claims can have changed.
      checkTimes(known, (now?.() ?? new Date()).getTime() / 1000, clockTolerance);
      verified.delete(token);
      verified.set(token, known);
      return known;
    }
    checkAlgorithm(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: [ALGORITHM],
        audience,
        issuer: issuers,
        clockTolerance,
        requiredClaims: ['exp'],
        ...(now ? { currentDate: now() } : {}),
      }));
    } catch (error) {
      throw explain(error, { audience, issuers });
    }
    if (payload.appid === undefined) throw new CallbackAuthError('token has no appid claim');
    if (payload.appid !== appId) {
      throw new CallbackAuthError(
        `token appid ${quote(payload.appid)} is not the expected application (${appId})`,
      );
    }
    if (cacheSize > 0) {
      verified.set(token, payload);
      while (verified.size > cacheSize) verified.delete(verified.keys().next().value as string);
    }
    return payload;
  };
}

/** The time claims of a token verified earlier, against the clock now (the same rules as jose's). */
function checkTimes(payload: JWTPayload, nowSec: number, tolerance: number): void {
  if (typeof payload.exp === 'number' && payload.exp <= nowSec - tolerance) {
    throw new CallbackAuthError(`token expired at ${isoTime(payload.exp)}`);
  }
  if (typeof payload.nbf === 'number' && payload.nbf > nowSec + tolerance) {
    throw new CallbackAuthError(`token is not valid yet (nbf ${isoTime(payload.nbf)})`);
  }
}

/**
 * Builds a verifier from OpenID Connect metadata (`…/.well-known/openid-configuration`): reads its
 * `jwks_uri` and verifies against the keys published there (fetched on demand, cached, refreshed on an
 * unknown `kid`).
 */
export async function verifierFromOpenIdMetadata(
  metadataUrl: string,
  rest: Omit<CallbackVerifierOptions, 'jwksUrl' | 'keys'>,
): Promise<CallbackVerifier> {
  let response: Response;
  try {
    response = await fetch(metadataUrl, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new Error(`cannot fetch OpenID metadata from ${metadataUrl}: ${describe(error)}`, { cause: error });
  }
  if (!response.ok) {
    throw new Error(`cannot fetch OpenID metadata from ${metadataUrl}: HTTP ${response.status}`);
  }
  let metadata: unknown;
  try {
    metadata = await response.json();
  } catch (error) {
    throw new Error(`OpenID metadata at ${metadataUrl} is not JSON`, { cause: error });
  }
  const jwksUri =
    metadata !== null && typeof metadata === 'object'
      ? (metadata as { jwks_uri?: unknown }).jwks_uri
      : undefined;
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri, metadataUrl)) {
    throw new Error(`OpenID metadata at ${metadataUrl} has no usable jwks_uri`);
  }
  return createCallbackVerifier({ ...rest, jwksUrl: new URL(jwksUri, metadataUrl) });
}

function keyResolver(opts: CallbackVerifierOptions): JWTVerifyGetKey {
  if (opts.keys && opts.jwksUrl)
    throw new Error('createCallbackVerifier: give `keys` or `jwksUrl`, not both');
  if (typeof opts.keys === 'function') return opts.keys;
  if (opts.keys) {
    if (!Array.isArray(opts.keys.keys))
      throw new Error('createCallbackVerifier: `keys` is not a JWKS ({ keys: [...] })');
    return createLocalJWKSet(opts.keys);
  }
  if (opts.jwksUrl) {
    const url = typeof opts.jwksUrl === 'string' ? parseUrl(opts.jwksUrl) : opts.jwksUrl;
    return createRemoteJWKSet(url);
  }
  throw new Error('createCallbackVerifier: one of `jwksUrl` or `keys` is required');
}

function parseUrl(value: string): URL {
  if (!URL.canParse(value)) throw new Error(`createCallbackVerifier: jwksUrl ${quote(value)} is not a URL`);
  return new URL(value);
}

/**
 * Failures to *find* a key for the token are the token's fault (401); failures to *get* the key set
 * (network, timeout, a broken JWKS document) are ours (503).
 */
function guardKeyResolver(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async function resolveSigningKey(header, token) {
    try {
      return await getKey(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
        throw error;
      throw new CallbackKeysUnavailableError(`callback signing keys are unavailable: ${describe(error)}`, {
        cause: error,
      });
    }
  };
}

function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '')
    throw new CallbackAuthError('missing Authorization header');
  const [scheme, token, ...rest] = header.trim().split(/\s+/);
  if (scheme?.toLowerCase() !== 'bearer' || !token || rest.length > 0) {
    throw new CallbackAuthError('Authorization header is not a Bearer token');
  }
  return token;
}

function checkAlgorithm(token: string): void {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch (error) {
    throw new CallbackAuthError('token is not a JWT', { cause: error });
  }
  if (alg !== ALGORITHM) {
    throw new CallbackAuthError(`token algorithm ${quote(alg)} is not allowed (only ${ALGORITHM})`);
  }
}

function explain(error: unknown, expected: { audience: string[]; issuers: string[] }): Error {
  if (error instanceof CallbackKeysUnavailableError) return error;
  const cause = { cause: error };
  if (error instanceof errors.JWTExpired) {
    return new CallbackAuthError(`token expired at ${isoTime(error.payload.exp)}`, cause);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason, payload } = error;
    if (reason === 'missing') return new CallbackAuthError(`token has no ${claim} claim`, cause);
    switch (claim) {
      case 'nbf':
        return new CallbackAuthError(`token is not valid yet (nbf ${isoTime(payload.nbf)})`, cause);
      case 'aud':
        return new CallbackAuthError(
          `token audience ${quote(payload.aud)} is not accepted (expected ${expected.audience.join(' or ')})`,
          cause,
        );
      case 'iss':
        return new CallbackAuthError(
          `token issuer ${quote(payload.iss)} is not an accepted tenant issuer`,
          cause,
        );
      default:
        return new CallbackAuthError(`token claim ${claim} is invalid (${reason})`, cause);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new CallbackAuthError('token signature is invalid', cause);
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new CallbackAuthError('no published signing key matches the token (unknown kid)', cause);
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return new CallbackAuthError('several published signing keys match the token; it names no kid', cause);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new CallbackAuthError(`token algorithm is not allowed (only ${ALGORITHM})`, cause);
  }
  if (error instanceof errors.JOSEError) {
    return new CallbackAuthError(`token is malformed (${error.message})`, cause);
  }
  return error instanceof Error ? error : new Error(String(error));
}

function isoTime(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds)
    ? new Date(seconds * 1000).toISOString()
    : String(seconds);
}

function quote(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

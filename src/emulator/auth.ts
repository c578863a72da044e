import { createHash, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { DEMO_TENANT } from '../config/tenant.ts';
import type { EmulatorApplication, EmulatorConfig } from './config.ts';
import { EmulatorError } from './errors.ts';

/** Skype for Business Online first-party application id: `appid` of callback JWTs, `client_id` of the challenge. */
export const SKYPE_APP_ID = DEMO_TENANT.skypeAppId;

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** base64url SHA-1 of the public key (stands in for the certificate thumbprint); also the `kid`. */
  x5t: string;
}

function makeKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const x5t = createHash('sha1').update(der).digest('base64url');
  return { privateKey, publicKey, x5t };
}

let processKeys: { aad: SigningKey; platform: SigningKey } | undefined;

/**
 * RSA key generation costs ~100 ms, so one process shares one pair of keys across emulator instances:
 * `aad` signs the SA's access tokens and every callback (as AAD does), `platform` signs psat tokens.
 */
export function emulatorKeys(): { aad: SigningKey; platform: SigningKey } {
  processKeys ??= { aad: makeKey(), platform: makeKey() };
  return processKeys;
}

export function jwksOf(key: SigningKey): { keys: Record<string, unknown>[] } {
  const jwk = key.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  return { keys: [{ kty: 'RSA', use: 'sig', kid: key.x5t, x5t: key.x5t, n: jwk.n, e: jwk.e }] };
}

export const aadIssuer = (tenantId: string) => `https://sts.windows.net/${tenantId}/`;

const nowSec = () => Math.floor(Date.now() / 1000);

/** Clock skew allowed on `exp` and `nbf`, in seconds. */
const CLOCK_TOLERANCE_SEC = 5;
/** How many verified tokens are remembered per signing key (oldest forgotten first). */
const VERIFIED_TOKENS = 1000;

/**
 * Tokens whose RS256 signature was checked lately, per key: a client sends the same token on many
 * requests, and its signature is the same each time. Time claims are checked again on every use.
 */
const verifiedTokens = new WeakMap<KeyObject, Map<string, JWTPayload>>();

/** jwtVerify (RS256, 5 s tolerance), the signature checked once per token and key. */
async function verifyJwt(jwt: string, key: KeyObject): Promise<JWTPayload> {
  let known = verifiedTokens.get(key);
  const cached = known?.get(jwt);
  if (cached) {
    const now = nowSec();
    if (typeof cached.exp === 'number' && cached.exp <= now - CLOCK_TOLERANCE_SEC) {
      throw new joseErrors.JWTExpired('"exp" claim timestamp check failed', cached, 'exp', 'check_failed');
    }
    if (typeof cached.nbf === 'number' && cached.nbf > now + CLOCK_TOLERANCE_SEC) {
      throw new joseErrors.JWTClaimValidationFailed('"nbf" claim timestamp check failed', cached, 'nbf');
    }
    return cached;
  }
  const { payload } = await jwtVerify(jwt, key, {
    algorithms: ['RS256'],
    clockTolerance: CLOCK_TOLERANCE_SEC,
  });
  if (!known) {
    known = new Map();
    verifiedTokens.set(key, known);
  }
  if (known.size >= VERIFIED_TOKENS) known.delete(known.keys().next().value as string);
  known.set(jwt, payload);
  return payload;
}

/** Overrides a fault can put on callback tokens so that SA negative paths can be exercised. */
export interface CallbackTokenOverrides {
  aud?: string;
  iss?: string;
  tid?: string;
  appid?: string;
  /** Sign a token that expired an hour ago. */
  expired?: boolean;
  /** Sign with a key that is not in the JWKS. */
  foreignKey?: boolean;
}

let foreignKey: SigningKey | undefined;

export interface PsatClaims {
  nbf: number;
  exp: number;
  ruu: string;
  asi: string;
  aeu: string;
  ao: string;
}

export interface AadClaims {
  appid: string;
  tid: string;
  aud: string;
  iat: number;
}

/** Token issuing and checking for the SA (AAD app tokens), the guest (psat) and callbacks. */
export class Auth {
  readonly keys = emulatorKeys();
  /** Tokens issued before these instants (seconds) are treated as expired (fault: early expiry). */
  private aadCutoff = 0;
  private psatCutoff = 0;
  private ruuCounter = 0;

  constructor(private readonly config: EmulatorConfig) {}

  expireTokens(kind: 'aad' | 'psat' | 'all'): void {
    // +1: a token issued in this very second is expired as well.
    const cutoff = nowSec() + 1;
    if (kind !== 'psat') this.aadCutoff = cutoff;
    if (kind !== 'aad') this.psatCutoff = cutoff;
  }

  // ---- AAD (SA → platform) ----

  async issueAadToken(app: EmulatorApplication, resource: string) {
    const iat = Math.max(nowSec(), this.aadCutoff);
    const exp = iat + this.config.aadTokenLifetimeSec;
    const token = await new SignJWT({
      appid: app.clientId,
      appidacr: '1',
      idp: aadIssuer(app.tenantId),
      oid: randomUUID(),
      sub: app.clientId,
      tid: app.tenantId,
      ver: '1.0',
      idtyp: 'app',
    })
      .setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: this.keys.aad.x5t, kid: this.keys.aad.x5t })
      .setAudience(resource)
      .setIssuer(aadIssuer(app.tenantId))
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(this.keys.aad.privateKey);
    return { token, iat, exp };
  }

  /** Verify `Authorization: Bearer <AAD token>`; every failure is a 401 with the platform's challenge. */
  async verifyAad(authorization: string | undefined, publicUrl: string): Promise<AadClaims> {
    const challenge = (message: string, subcode: string) =>
      new EmulatorError(401, 'Unauthorized', message, subcode, {
        'WWW-Authenticate': [
          `Bearer trusted_issuers="00000001-0000-0000-c000-000000000000@*", client_id="${SKYPE_APP_ID}", authorization_uri="https://login.windows.net/common/oauth2/authorize"`,
          `MsRtcOAuth href="${publicUrl}/WebTicket/oauthtoken",grant_type="urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,urn:microsoft.rtc:passive,urn:microsoft.rtc:bearer"`,
        ],
      });
    const token = bearer(authorization);
    if (!token)
      throw challenge('an Authorization: Bearer <AAD app token> header is required', 'MissingToken');
    if (token.startsWith('psat=')) {
      throw challenge('a psat token is for the anonymous UCWA API, not the platform API', 'InvalidToken');
    }
    let payload: JWTPayload;
    try {
      payload = await verifyJwt(token, this.keys.aad.publicKey);
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw challenge('the bearer token has expired', 'Expired');
      throw challenge('the bearer token is not a valid token issued by this authority', 'InvalidToken');
    }
    const aud = typeof payload.aud === 'string' ? payload.aud : '';
    const accepted = this.config.acceptedAudiences.map((a) => a.toLowerCase().replace(/\/+$/, ''));
    if (!accepted.includes(aud.toLowerCase().replace(/\/+$/, ''))) {
      throw challenge(`the token audience '${aud}' is not accepted here`, 'InvalidAudience');
    }
    const iat = typeof payload.iat === 'number' ? payload.iat : 0;
    if (iat < this.aadCutoff) throw challenge('the bearer token has expired', 'Expired');
    const appid = typeof payload.appid === 'string' ? payload.appid : '';
    const tid = typeof payload.tid === 'string' ? payload.tid : '';
    return { appid, tid, aud, iat };
  }

  // ---- psat (SA hands it to the guest) ----

  async issuePsat(input: {
    asi: string;
    aeu: string;
    ao: string;
  }): Promise<{ token: string; claims: PsatClaims }> {
    const nbf = Math.max(nowSec(), this.psatCutoff);
    this.ruuCounter += 1;
    const claims: PsatClaims = {
      nbf,
      exp: nbf + this.config.psatLifetimeSec,
      ruu: `sip:EMU01meet${1000 + this.ruuCounter}@noammeetings.lync.com`,
      asi: input.asi,
      aeu: input.aeu,
      ao: input.ao,
    };
    const jwt = await new SignJWT({ ...claims })
      .setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: this.keys.platform.x5t })
      .sign(this.keys.platform.privateKey);
    return { token: `psat=${jwt}`, claims };
  }

  /** Verify a psat token (`psat=<jwt>`, or the bare JWT); failures are 401 with a JSON error body. */
  async verifyPsat(token: string | undefined): Promise<PsatClaims> {
    const unauthorized = (message: string, subcode: string) =>
      new EmulatorError(401, 'Unauthorized', message, subcode, {
        'WWW-Authenticate': 'Bearer realm="psanon", error="invalid_token"',
      });
    if (!token)
      throw unauthorized('an Authorization: Bearer psat=<token> header is required', 'MissingToken');
    const jwt = token.replace(/^psat=/i, '');
    let payload: JWTPayload;
    try {
      payload = await verifyJwt(jwt, this.keys.platform.publicKey);
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized('the psat token has expired', 'Expired');
      throw unauthorized('the psat token is not a valid anonymous application token', 'InvalidToken');
    }
    const claims = payload as Partial<PsatClaims>;
    if (
      typeof claims.asi !== 'string' ||
      typeof claims.aeu !== 'string' ||
      typeof claims.nbf !== 'number' ||
      typeof claims.exp !== 'number'
    ) {
      throw unauthorized('the psat token lacks its asi/aeu/nbf/exp claims', 'InvalidToken');
    }
    if (claims.nbf < this.psatCutoff) throw unauthorized('the psat token has expired', 'Expired');
    return {
      nbf: claims.nbf,
      exp: claims.exp,
      ruu: claims.ruu ?? '',
      asi: claims.asi,
      aeu: claims.aeu,
      ao: claims.ao ?? '',
    };
  }

  // ---- callbacks (platform → SA), signed "by AAD" ----

  /** The token each application's callbacks carry, reused like an AAD client reuses its token. */
  private readonly callbackTokens = new Map<string, { token: string; iat: number }>();

  /**
   * The bearer token of a callback. Without overrides (faults) the same token is reused for up to five
   * minutes (and never past half its lifetime), as the platform reuses the token it got from AAD; this
   * also spares an RSA signature per callback.
   */
  async signCallback(app: EmulatorApplication, overrides: CallbackTokenOverrides = {}): Promise<string> {
    if (Object.keys(overrides).length > 0) return this.signCallbackToken(app, overrides);
    const now = nowSec();
    const reuseSec = Math.min(300, Math.floor(this.config.callbackTokenLifetimeSec / 2));
    const cached = this.callbackTokens.get(app.applicationId);
    if (cached && now - cached.iat < reuseSec) return cached.token;
    const token = await this.signCallbackToken(app, {});
    this.callbackTokens.set(app.applicationId, { token, iat: now });
    return token;
  }

  private async signCallbackToken(
    app: EmulatorApplication,
    overrides: CallbackTokenOverrides,
  ): Promise<string> {
    const now = nowSec();
    const iat = overrides.expired ? now - 7200 : now;
    const tid = overrides.tid ?? app.tenantId;
    const iss = overrides.iss ?? aadIssuer(tid);
    const oid = randomUUID();
    let key = this.keys.aad;
    if (overrides.foreignKey) {
      foreignKey ??= makeKey();
      key = foreignKey;
    }
    return new SignJWT({
      appid: overrides.appid ?? SKYPE_APP_ID,
      appidacr: '2',
      idp: iss,
      oid,
      sub: oid,
      tid,
      ver: '1.0',
    })
      .setProtectedHeader({ typ: 'JWT', alg: 'RS256', x5t: key.x5t, kid: key.x5t })
      .setAudience(overrides.aud ?? app.appIdUri)
      .setIssuer(iss)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + this.config.callbackTokenLifetimeSec)
      .sign(key.privateKey);
  }
}

export function bearer(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  return match?.[1]?.trim() || undefined;
}

/**
 * `allowedOrigins` as the platform stores it: each `;`-separated entry reduced to `scheme://host[:port]`
 * (wire-spec 4.1). Entries that are not URLs are reported by name.
 */
export function normaliseOrigins(value: string): { origins: string[]; invalid: string[] } {
  const origins: string[] = [];
  const invalid: string[] = [];
  for (const raw of value.split(';')) {
    const entry = raw.trim();
    if (!entry) continue;
    try {
      const url = new URL(entry);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      if (!origins.includes(url.origin)) origins.push(url.origin);
    } catch {
      invalid.push(entry);
    }
  }
  return { origins, invalid };
}

/** The double encoding of the discover link (`psat%253d…`), lower-case hex as captured. */
export function doubleEncode(token: string): string {
  const lower = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  return lower(encodeURIComponent(lower(encodeURIComponent(token))));
}

/** Undo any number of URL encodings of an `anonymousContext` until `psat=` appears. */
export function decodeAnonymousContext(value: string): string {
  let current = value;
  for (let i = 0; i < 4 && !/^psat=/i.test(current) && /%[0-9a-f]{2}/i.test(current); i += 1) {
    try {
      current = decodeURIComponent(current);
    } catch {
      break;
    }
  }
  return current;
}

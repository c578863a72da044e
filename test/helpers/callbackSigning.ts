/**
 * Test support for the callback route: an RS256 key pair standing in for AAD, tokens with the claim set of
 * wire-spec 3.2 (every claim overridable so a test can break exactly one), and a loopback server.
 * Every callback test signs tokens through this file, so they all sign the same way.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
} from 'jose';
import { SKYPE_FOR_BUSINESS_APP_ID } from '../../src/callbacks/verify.ts';

export const TEST_TENANT_ID = '1fdd12d0-4620-44ed-baec-459b611f84b2';
export const TEST_ISSUER = `https://sts.windows.net/${TEST_TENANT_ID}/`;
export const TEST_AUDIENCE = 'https://carechat.test.example';
/** A fixed "now" for verifier and tokens alike, so lifetimes are exact. */
export const TEST_NOW = new Date('2024-05-01T12:00:00.000Z');
export const TEST_KID = 'test-signing-key';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface TestSigner {
  jwks: JSONWebKeySet;
  keys: JWTVerifyGetKey;
  /** A token as AAD would sign it for a callback; `claims` overrides or (with `undefined`) removes claims. */
  token(claims?: Record<string, unknown>, header?: { kid?: string; alg?: string }): Promise<string>;
  /** A token with the same kid, signed by an unrelated key: its signature cannot verify. */
  forgedToken(claims?: Record<string, unknown>): Promise<string>;
}

export async function createTestSigner(): Promise<TestSigner> {
  const real = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(real.publicKey)), kid: TEST_KID, alg: 'RS256', use: 'sig' };
  const jwks: JSONWebKeySet = { keys: [publicJwk] };
  const sign = (key: SigningKey, claims: Record<string, unknown>, header: { kid?: string; alg?: string }) =>
    new SignJWT(callbackClaims(claims))
      .setProtectedHeader({
        typ: 'JWT',
        alg: header.alg ?? 'RS256',
        kid: header.kid ?? TEST_KID,
        x5t: TEST_KID,
      })
      .sign(key);
  return {
    jwks,
    keys: createLocalJWKSet(jwks),
    token: (claims = {}, header = {}) => sign(real.privateKey, claims, header),
    forgedToken: (claims = {}) => sign(other.privateKey, claims, {}),
  };
}

/** The claim set of wire-spec 3.2, valid at TEST_NOW for one hour. */
export function callbackClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  const iat = Math.floor(TEST_NOW.getTime() / 1000) - 60;
  const claims: Record<string, unknown> = {
    aud: TEST_AUDIENCE,
    iss: TEST_ISSUER,
    iat,
    nbf: iat,
    exp: iat + 3600,
    appid: SKYPE_FOR_BUSINESS_APP_ID,
    appidacr: '2',
    idp: TEST_ISSUER,
    oid: '2d452913-80c9-4b56-8419-43a7da179822',
    sub: '2d452913-80c9-4b56-8419-43a7da179822',
    tid: TEST_TENANT_ID,
    ver: '1.0',
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }
  return claims;
}

/** An unsigned (`alg: none`) token with valid claims. */
export function unsignedToken(claims: Record<string, unknown> = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(callbackClaims(claims))}.`;
}

/** An HS256 token "signed" with a guessable secret: must be refused whatever the secret. */
export async function hs256Token(claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(callbackClaims(claims))
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: TEST_KID })
    .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!'));
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serve `app` on 127.0.0.1, port 0. */
export function listen(app: Hono): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}

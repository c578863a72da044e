import { Hono } from 'hono';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestSigner,
  listen,
  type RunningServer,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_NOW,
  TEST_TENANT_ID,
  type TestSigner,
} from '../../test/helpers/callbackSigning.ts';
import {
  CallbackAuthError,
  type CallbackVerifierOptions,
  createCallbackVerifier,
  SKYPE_FOR_BUSINESS_APP_ID,
  verifierFromOpenIdMetadata,
} from './verify.ts';

let signer: TestSigner;
const servers: RunningServer[] = [];

beforeAll(async () => {
  signer = await createTestSigner();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const base = (): CallbackVerifierOptions => ({
  keys: signer.keys,
  audience: TEST_AUDIENCE,
  issuers: [TEST_ISSUER],
  appId: SKYPE_FOR_BUSINESS_APP_ID,
  now: () => TEST_NOW,
});

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CallbackAuthError) return error.reason;
    throw error;
  }
  throw new Error('expected the token to be rejected');
}

describe('createCallbackVerifier', () => {
  it('returns the claims of a valid callback token', async () => {
    const verify = createCallbackVerifier(base());
    const claims = await verify(`Bearer ${await signer.token()}`);
    expect(claims).toMatchObject({ aud: TEST_AUDIENCE, iss: TEST_ISSUER, tid: TEST_TENANT_ID });
  });

  it('accepts the scheme in any case and a plain JWKS document as keys', async () => {
    const verify = createCallbackVerifier({ ...base(), keys: signer.jwks });
    await expect(verify(`bearer ${await signer.token()}`)).resolves.toMatchObject({ ver: '1.0' });
  });

  it('accepts any of several audiences and issuers', async () => {
    const verify = createCallbackVerifier({
      ...base(),
      audience: ['https://one.example', TEST_AUDIENCE],
      issuers: ['https://sts.windows.net/other/', TEST_ISSUER],
    });
    await expect(verify(`Bearer ${await signer.token()}`)).resolves.toBeDefined();
  });

  it('verifies a token once: the same token again skips the signature, not the expiry', async () => {
    let lookups = 0;
    const keys = signer.keys;
    let now = TEST_NOW;
    const verify = createCallbackVerifier({
      ...base(),
      clockToleranceSec: 0,
      now: () => now,
      keys: async (header, token) => {
        lookups += 1;
        return keys(header, token);
      },
    });
    const token = await signer.token();
    const first = await verify(`Bearer ${token}`);
    await expect(verify(`Bearer ${token}`)).resolves.toEqual(first);
    expect(lookups).toBe(1);
    // Another token is verified on its own.
    await verify(`Bearer ${await signer.token({ oid: 'other' })}`);
    expect(lookups).toBe(2);
    // Past its expiry the remembered token is refused like any other.
    now = new Date(((first.exp as number) + 1) * 1000);
    expect(await reason(verify(`Bearer ${token}`))).toMatch(/^token expired at /);
    expect(lookups).toBe(2);
  });

  it('with cacheSize 0 verifies every token every time', async () => {
    let lookups = 0;
    const keys = signer.keys;
    const verify = createCallbackVerifier({
      ...base(),
      cacheSize: 0,
      keys: async (header, token) => {
        lookups += 1;
        return keys(header, token);
      },
    });
    const token = await signer.token();
    await verify(`Bearer ${token}`);
    await verify(`Bearer ${token}`);
    expect(lookups).toBe(2);
    expect(() => createCallbackVerifier({ ...base(), cacheSize: -1 })).toThrow(/cacheSize/);
  });

  it('allows clock skew up to clockToleranceSec and no further', async () => {
    const exp = Math.floor(TEST_NOW.getTime() / 1000) - 30;
    const token = await signer.token({ iat: exp - 3600, nbf: exp - 3600, exp });
    await expect(
      createCallbackVerifier({ ...base(), clockToleranceSec: 60 })(`Bearer ${token}`),
    ).resolves.toBeDefined();
    expect(
      await reason(createCallbackVerifier({ ...base(), clockToleranceSec: 10 })(`Bearer ${token}`)),
    ).toMatch(/^token expired at /);
  });

  it('requires an exp claim', async () => {
    const token = await signer.token({ exp: undefined });
    expect(await reason(createCallbackVerifier(base())(`Bearer ${token}`))).toBe('token has no exp claim');
  });

  it('names the missing audience claim', async () => {
    const token = await signer.token({ aud: undefined });
    expect(await reason(createCallbackVerifier(base())(`Bearer ${token}`))).toBe('token has no aud claim');
  });

  it('rejects a header with more than a scheme and a token', async () => {
    const token = await signer.token();
    expect(await reason(createCallbackVerifier(base())(`Bearer ${token} extra`))).toBe(
      'Authorization header is not a Bearer token',
    );
  });

  it.each([
    [{ audience: [] }, '`audience` must name at least one App ID URI'],
    [{ issuers: [] }, '`issuers` must list at least one issuer'],
    [{ appId: '' }, '`appId` is required'],
    [{ keys: undefined }, 'one of `jwksUrl` or `keys` is required'],
    [{ jwksUrl: 'https://keys.example/jwks' }, 'give `keys` or `jwksUrl`, not both'],
    [{ keys: undefined, jwksUrl: 'not a url' }, 'jwksUrl "not a url" is not a URL'],
    [{ clockToleranceSec: -1 }, '`clockToleranceSec` must be a number >= 0'],
  ] as const)('refuses bad options %o when it is built', (bad, message) => {
    expect(() => createCallbackVerifier({ ...base(), ...bad } as CallbackVerifierOptions)).toThrow(message);
  });
});

describe('verifierFromOpenIdMetadata', () => {
  async function identityProvider(metadata: (origin: string) => unknown, status = 200) {
    const app = new Hono();
    let jwksFetches = 0;
    app.get('/common/.well-known/openid-configuration', (c) =>
      c.json(metadata(new URL(c.req.url).origin) as object, status as 200),
    );
    app.get('/common/discovery/keys', (c) => {
      jwksFetches += 1;
      return c.json(signer.jwks);
    });
    const server = await listen(app);
    servers.push(server);
    return {
      metadataUrl: `${server.url}/common/.well-known/openid-configuration`,
      fetches: () => jwksFetches,
    };
  }

  const rest = () => ({
    audience: TEST_AUDIENCE,
    issuers: [TEST_ISSUER],
    appId: SKYPE_FOR_BUSINESS_APP_ID,
    now: () => TEST_NOW,
  });

  it('verifies against the keys published at the metadata jwks_uri', async () => {
    const idp = await identityProvider((origin) => ({ jwks_uri: `${origin}/common/discovery/keys` }));
    const verify = await verifierFromOpenIdMetadata(idp.metadataUrl, rest());
    await expect(verify(`Bearer ${await signer.token()}`)).resolves.toMatchObject({ tid: TEST_TENANT_ID });
    expect(await reason(verify(`Bearer ${await signer.forgedToken()}`))).toBe('token signature is invalid');
    expect(idp.fetches()).toBeGreaterThan(0);
  });

  it('resolves a relative jwks_uri against the metadata URL', async () => {
    const idp = await identityProvider(() => ({ jwks_uri: '/common/discovery/keys' }));
    const verify = await verifierFromOpenIdMetadata(idp.metadataUrl, rest());
    await expect(verify(`Bearer ${await signer.token()}`)).resolves.toBeDefined();
  });

  it('fails with a clear message when the metadata has no jwks_uri', async () => {
    const idp = await identityProvider(() => ({ issuer: 'x' }));
    await expect(verifierFromOpenIdMetadata(idp.metadataUrl, rest())).rejects.toThrow(
      `OpenID metadata at ${idp.metadataUrl} has no usable jwks_uri`,
    );
  });

  it('fails with a clear message when the metadata cannot be fetched', async () => {
    const idp = await identityProvider(() => ({ error: 'nope' }), 404);
    await expect(verifierFromOpenIdMetadata(idp.metadataUrl, rest())).rejects.toThrow(
      `cannot fetch OpenID metadata from ${idp.metadataUrl}: HTTP 404`,
    );
  });
});

/**
 * The SA's public surface over real HTTP: the rate limit on POST /chat/token, its CORS allowlist, and
 * body limits on every route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/runtime/clock.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { operatorEnv, operatorHeaders } from '../helpers/operator.ts';
import { corsHeaders, requestToken, send } from './http.ts';

const SHOP = 'https://shop.example';

function expectToken(response: { status: number; text: string }): void {
  expect(response.status, response.text).toBe(200);
  expect(JSON.parse(response.text)).toMatchObject({
    token: expect.any(String),
    discoverUri: expect.any(String),
  });
}

describe('POST /chat/token rate limit per client address (CHAT_TOKEN_RATE_LIMIT=3/60s)', () => {
  let stack: RunningStack;
  const clock = new ManualClock();
  beforeAll(async () => {
    stack = await startStack({ logger: silentLogger, clock, env: { CHAT_TOKEN_RATE_LIMIT: '3/60s' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('issues 3 tokens to one address, then answers 429 rate_limited with Retry-After', async () => {
    for (let i = 0; i < 3; i++) expectToken(await requestToken(stack.saUrl, { localAddress: '127.0.0.11' }));
    const refused = await requestToken(stack.saUrl, { localAddress: '127.0.0.11' });
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.headers['retry-after']).toBe('20');
    expect(refused.json()).toEqual({
      error: 'rate_limited',
      message: 'too many chat token requests from your address (limit 3/60s); try again in 20 s',
    });
  });

  it('lets the address in again as its bucket refills on the injected clock', async () => {
    const from = { localAddress: '127.0.0.12' };
    for (let i = 0; i < 3; i++) expectToken(await requestToken(stack.saUrl, from));
    expect((await requestToken(stack.saUrl, from)).status).toBe(429);
    clock.advance(20_000); // one request comes back every 60 s / 3
    expectToken(await requestToken(stack.saUrl, from));
    const again = await requestToken(stack.saUrl, from);
    expect(again.status).toBe(429);
    expect(again.headers['retry-after']).toBe('20');
    clock.advance(60_000); // a whole window: all three
    for (let i = 0; i < 3; i++) expectToken(await requestToken(stack.saUrl, from));
    expect((await requestToken(stack.saUrl, from)).status).toBe(429);
  });

  it('keeps addresses apart: one address over its limit does not limit another', async () => {
    for (let i = 0; i < 3; i++) expectToken(await requestToken(stack.saUrl, { localAddress: '127.0.0.13' }));
    expect((await requestToken(stack.saUrl, { localAddress: '127.0.0.13' })).status).toBe(429);
    expectToken(await requestToken(stack.saUrl, { localAddress: '127.0.0.14' }));
  });

  it('ignores X-Forwarded-For when TRUST_PROXY is not set (a client cannot pick its own key)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await requestToken(stack.saUrl, {
        localAddress: '127.0.0.15',
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('sends the refusal with CORS headers, so an allowed page can read the message and Retry-After', async () => {
    const origin = new URL(stack.saUrl).origin;
    for (let i = 0; i < 3; i++)
      expectToken(await requestToken(stack.saUrl, { origin, localAddress: '127.0.0.16' }));
    const refused = await requestToken(stack.saUrl, { origin, localAddress: '127.0.0.16' });
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ error: 'rate_limited' });
    expect(refused.headers['access-control-allow-origin']).toBe(origin);
    expect(refused.headers['access-control-expose-headers']).toMatch(/Retry-After/i);
  });

  it('does not count CORS preflights', async () => {
    const origin = new URL(stack.saUrl).origin;
    for (let i = 0; i < 5; i++) {
      const preflight = await send(`${stack.saUrl}/chat/token`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
        localAddress: '127.0.0.17',
      });
      expect(preflight.status).toBe(204);
    }
    for (let i = 0; i < 3; i++) expectToken(await requestToken(stack.saUrl, { localAddress: '127.0.0.17' }));
  });
});

describe('POST /chat/token behind a trusted proxy (TRUST_PROXY=true, CHAT_TOKEN_RATE_LIMIT=2/60s)', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startStack({
      logger: silentLogger,
      clock: new ManualClock(),
      env: { CHAT_TOKEN_RATE_LIMIT: '2/60s', TRUST_PROXY: 'true' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('limits by the address the proxy appended to X-Forwarded-For, not by what the client put before it', async () => {
    const via = (xff?: string) =>
      requestToken(stack.saUrl, xff ? { headers: { 'x-forwarded-for': xff } } : {}).then((r) => r.status);
    expect(await via('203.0.113.7')).toBe(200);
    expect(await via('203.0.113.7')).toBe(200);
    expect(await via('203.0.113.7')).toBe(429);
    expect(await via('1.1.1.1, 203.0.113.7')).toBe(429); // a made-up left-most entry changes nothing
    expect(await via('203.0.113.7, 203.0.113.8')).toBe(200); // a different client behind the proxy
    expect(await via()).toBe(200); // no header: the socket's address
  });
});

describe('POST /chat/token behind listed proxies (TRUST_PROXY=127.0.0.20/31, CHAT_TOKEN_RATE_LIMIT=2/60s)', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startStack({
      logger: silentLogger,
      clock: new ManualClock(),
      env: { CHAT_TOKEN_RATE_LIMIT: '2/60s', TRUST_PROXY: '127.0.0.20/31' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const via = (localAddress: string, xff: string) =>
    requestToken(stack.saUrl, { localAddress, headers: { 'x-forwarded-for': xff } }).then((r) => r.status);

  it('keys on the forwarded address when a listed proxy connects: clients behind it each get their own limit', async () => {
    expect(await via('127.0.0.20', '203.0.113.1')).toBe(200);
    expect(await via('127.0.0.21', '203.0.113.1')).toBe(200);
    expect(await via('127.0.0.20', '203.0.113.1')).toBe(429);
    // Another customer behind the same proxy is not held back by the first.
    expect(await via('127.0.0.20', '203.0.113.2')).toBe(200);
  });

  it('ignores X-Forwarded-For from a peer that is not listed (a client cannot pick its own key)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push(await via('127.0.0.30', `198.51.100.${i}`));
    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe('POST /chat/token with CHAT_TOKEN_RATE_LIMIT=off', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    stack = await startStack({ logger: silentLogger, env: { CHAT_TOKEN_RATE_LIMIT: 'off' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('issues tokens to one address beyond the default limit of 120', async () => {
    const responses = await Promise.all(Array.from({ length: 130 }, () => requestToken(stack.saUrl)));
    expect(responses.map((r) => r.status)).toEqual(Array(130).fill(200));
  });
});

describe('CORS allowlist and body limits (CHAT_ALLOWED_ORIGINS=https://shop.example, default rate limit)', () => {
  let stack: RunningStack;
  beforeAll(async () => {
    // A clock that stands still: the default limit's bucket does not refill while the test fills it.
    stack = await startStack({
      logger: silentLogger,
      clock: new ManualClock(),
      env: operatorEnv({ CHAT_ALLOWED_ORIGINS: SHOP }),
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const preflight = (origin: string, localAddress = '127.0.0.40') =>
    send(`${stack.saUrl}/chat/token`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
      localAddress,
    });

  it('answers a preflight from a foreign origin with 403 and no CORS headers at all', async () => {
    const response = await preflight('https://evil.example');
    expect(response.status).toBe(403);
    expect(corsHeaders(response)).toEqual({});
    expect(response.headers.vary).toMatch(/\bOrigin\b/);
    expect(response.json()).toEqual({
      error: 'origin_not_allowed',
      message: 'origin https://evil.example is not allowed to start chats (see CHAT_ALLOWED_ORIGINS)',
    });
  });

  it('refuses a POST from a foreign origin with 403 and no CORS headers', async () => {
    const response = await requestToken(stack.saUrl, {
      origin: 'https://evil.example',
      localAddress: '127.0.0.41',
    });
    expect(response.status).toBe(403);
    expect(corsHeaders(response)).toEqual({});
    expect(response.json()).toEqual({
      error: 'origin_not_allowed',
      message: 'origin https://evil.example is not allowed to start chats (see CHAT_ALLOWED_ORIGINS)',
    });
  });

  it.each([
    'http://shop.example',
    'https://shop.example:8443',
    'https://shop.example.evil.example',
    'https://evil-shop.example',
    'null',
  ])('treats %s as foreign (origins match exactly)', async (origin) => {
    const pre = await preflight(origin, '127.0.0.42');
    expect(pre.status).toBe(403);
    expect(corsHeaders(pre)).toEqual({});
    const post = await requestToken(stack.saUrl, { origin, localAddress: '127.0.0.42' });
    expect(post.status).toBe(403);
    expect(post.json()).toMatchObject({ error: 'origin_not_allowed' });
    expect(corsHeaders(post)).toEqual({});
  });

  it('answers a preflight from an allowed origin with that origin (never *) and Vary: Origin', async () => {
    const response = await preflight(SHOP);
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(SHOP);
    expect(response.headers.vary).toMatch(/\bOrigin\b/);
    expect(response.headers['access-control-allow-methods']).toMatch(/\bPOST\b/);
    expect(response.headers['access-control-allow-headers']).toMatch(/Content-Type/i);
    expect(response.headers['access-control-max-age']).toBe('600');
  });

  it('issues a token to an allowed origin with Access-Control-Allow-Origin: <origin> and Vary: Origin', async () => {
    const response = await requestToken(stack.saUrl, { origin: SHOP, localAddress: '127.0.0.43' });
    expectToken(response);
    expect(response.headers['access-control-allow-origin']).toBe(SHOP);
    expect(response.headers.vary).toMatch(/\bOrigin\b/);
  });

  it("allows the SA's own origin without configuration", async () => {
    const own = new URL(stack.saUrl).origin;
    const response = await requestToken(stack.saUrl, { origin: own, localAddress: '127.0.0.43' });
    expectToken(response);
    expect(response.headers['access-control-allow-origin']).toBe(own);
  });

  it('refuses a POST with no Origin at all with 400 origin_required', async () => {
    const response = await send(`${stack.saUrl}/chat/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      localAddress: '127.0.0.44',
    });
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ error: 'origin_required' });
    expect(corsHeaders(response)).toEqual({});
  });

  it('limits one address to 120 tokens per 60 s by default', async () => {
    for (let i = 0; i < 120; i++)
      expectToken(await requestToken(stack.saUrl, { localAddress: '127.0.0.45' }));
    const refused = await requestToken(stack.saUrl, { localAddress: '127.0.0.45' });
    expect(refused.status).toBe(429);
    expect(refused.json<{ message: string }>().message).toMatch(/limit 120\/60s/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3);
  });

  it('refuses a /chat/token body over 4 KiB with 413 payload_too_large', async () => {
    const response = await requestToken(stack.saUrl, {
      localAddress: '127.0.0.46',
      body: JSON.stringify({ displayName: 'x'.repeat(5000) }),
    });
    expect(response.status).toBe(413);
    expect(response.json()).toEqual({ error: 'payload_too_large', message: 'request body over 4 KiB' });
  });

  it('refuses a chunked /chat/token body over 4 KiB (no Content-Length) with 413', async () => {
    const response = await send(`${stack.saUrl}/chat/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: SHOP },
      chunks: ['{"displayName":"', ...Array(5).fill('y'.repeat(1024)), '"}'],
      localAddress: '127.0.0.46',
    });
    expect(response.status).toBe(413);
    expect(response.json()).toEqual({ error: 'payload_too_large', message: 'request body over 4 KiB' });
  });

  it('accepts a /chat/token body just under 4 KiB', async () => {
    const body = `{"displayName":"Ann"}${' '.repeat(4000)}`;
    expectToken(await requestToken(stack.saUrl, { localAddress: '127.0.0.46', body }));
  });

  it('refuses a body over 64 KiB on every other route with 413 payload_too_large', async () => {
    const big = 'z'.repeat(65 * 1024);
    for (const [method, path] of [
      ['POST', '/sessions'],
      ['PUT', '/sessions/c0/transcript'],
      ['DELETE', '/sessions/c0'],
      ['POST', '/no/such/route'],
    ] as const) {
      const response = await send(`${stack.saUrl}${path}`, {
        method,
        headers: { 'content-type': 'text/plain', ...operatorHeaders },
        body: big,
      });
      expect(response.status, `${method} ${path}`).toBe(413);
      expect(response.json()).toEqual({ error: 'payload_too_large', message: 'request body over 64 KiB' });
    }
    // Signed in: the body limit counts a chunked body as it is read, after the guard let it through.
    const chunked = await send(`${stack.saUrl}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...operatorHeaders },
      chunks: Array(70).fill('w'.repeat(1024)),
    });
    expect(chunked.status).toBe(413);
    expect(chunked.json()).toEqual({ error: 'payload_too_large', message: 'request body over 64 KiB' });
  });

  it('keeps answering other 4xx as before for bodies under the limit', async () => {
    const response = await send(`${stack.saUrl}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...operatorHeaders },
      body: 'small',
    });
    expect(response.status).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found', message: 'no route for POST /sessions' });
    const healthz = await send(`${stack.saUrl}/healthz`, { method: 'GET', body: 'small' });
    expect(healthz.status).toBe(200);
    expect(healthz.json()).toMatchObject({ status: 'ok' });
  });

  it('leaves the callbacks their own 1 MiB limit', async () => {
    const path = stack.sa.config.callbackPath;
    const midsize = await send(`${stack.saUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"pad":"${'p'.repeat(100 * 1024)}"}`,
    });
    expect(midsize.status).toBe(401); // past the body limit, stopped by authentication
    expect(midsize.json()).toMatchObject({ error: 'invalid_token' });
    const huge = await send(`${stack.saUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"pad":"${'p'.repeat(1024 * 1024 + 1)}"}`,
    });
    expect(huge.status).toBe(413);
    expect(huge.json()).toMatchObject({ error: 'payload_too_large' });
    expect(huge.text).toMatch(/callback body exceeds the limit of 1048576 bytes/);
  });
});

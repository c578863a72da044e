import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  clientOptionsFor,
  json,
  type PlatformDouble,
  type PlatformDoubleOptions,
  startPlatformDouble,
} from '../../test/helpers/platformDouble.ts';
import { createPlatformClient } from './client.ts';
import { ApiError } from './errors.ts';

const TYPING = '/platformservice/tgt-1/v1/applications/1/communication/conversations/c1/messaging/typing';

let double: PlatformDouble | undefined;

afterEach(async () => {
  await double?.close();
  double = undefined;
});

async function setup(opts: PlatformDoubleOptions = {}) {
  const d = await startPlatformDouble(opts);
  double = d;
  d.on('POST', TYPING, () => new Response(null, { status: 204 }));
  return { d, typingHref: `${d.origin}${TYPING}?endpointId=sip:helpdesk@contoso.com` };
}

function tokenRequestsOf(d: PlatformDouble) {
  return d.requests.filter((r) => r.path === new URL(d.tokenUrl).pathname);
}

function bearerOf(d: PlatformDouble, path: string) {
  return d.requests.filter((r) => r.path === path).map((r) => r.headers.authorization);
}

describe('AAD client-credentials token', () => {
  it('is requested by a form POST carrying grant_type, client_id, client_secret and resource', async () => {
    const { d, typingHref } = await setup();
    await createPlatformClient(clientOptionsFor(d)).setTyping(typingHref);
    const [request] = tokenRequestsOf(d);
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    const form = new URLSearchParams(request?.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      client_id: d.options.clientId,
      client_secret: d.options.clientSecret,
      resource: d.options.resource,
    });
    expect(bearerOf(d, TYPING)).toEqual([`Bearer ${d.issuedTokens[0]}`]);
  });

  it('is fetched once and reused by many calls', async () => {
    const { d, typingHref } = await setup();
    const client = createPlatformClient(clientOptionsFor(d));
    for (let i = 0; i < 5; i++) await client.setTyping(typingHref);
    expect(d.tokenRequests()).toBe(1);
    expect(new Set(bearerOf(d, TYPING))).toEqual(new Set([`Bearer ${d.issuedTokens[0]}`]));
  });

  it('is shared by concurrent callers: one token request for ten parallel calls', async () => {
    const { d, typingHref } = await setup();
    const client = createPlatformClient(clientOptionsFor(d));
    await Promise.all(Array.from({ length: 10 }, () => client.setTyping(typingHref)));
    expect(d.tokenRequests()).toBe(1);
    expect(d.count(TYPING)).toBe(10);
  });

  it('is refreshed refreshSkewSec before expires_in runs out, and not earlier', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { d, typingHref } = await setup({ tokenLifetimeSec: 3600, tokenLifetimeFields: 'expires_in' });
    const client = createPlatformClient({ ...clientOptionsFor(d), now: () => clock, refreshSkewSec: 300 });
    await client.setTyping(typingHref);
    clock += 3299_000; // 1 s before the refresh point (3600 − 300)
    await client.setTyping(typingHref);
    expect(d.tokenRequests()).toBe(1);
    clock += 2_000; // 1 s after it
    await client.setTyping(typingHref);
    expect(d.tokenRequests()).toBe(2);
    expect(bearerOf(d, TYPING)).toEqual([
      `Bearer ${d.issuedTokens[0]}`,
      `Bearer ${d.issuedTokens[0]}`,
      `Bearer ${d.issuedTokens[1]}`,
    ]);
  });

  it('honours expires_on (epoch seconds) when the answer has no expires_in', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { d, typingHref } = await setup({
      tokenLifetimeSec: 3600,
      tokenLifetimeFields: 'expires_on',
      now: () => clock,
    });
    const client = createPlatformClient({ ...clientOptionsFor(d), now: () => clock, refreshSkewSec: 300 });
    await client.setTyping(typingHref);
    clock += 3200_000;
    await client.setTyping(typingHref);
    expect(d.tokenRequests()).toBe(1);
    clock += 200_000;
    await client.setTyping(typingHref);
    expect(d.tokenRequests()).toBe(2);
  });

  it('with a lifetime shorter than twice the skew, refreshes at half-life instead of on every call', async () => {
    let clock = 1_000_000;
    const { d, typingHref } = await setup({ tokenLifetimeSec: 120, tokenLifetimeFields: 'expires_in' });
    const client = createPlatformClient({ ...clientOptionsFor(d), now: () => clock, refreshSkewSec: 300 });
    await client.setTyping(typingHref);
    clock += 59_000;
    await client.setTyping(typingHref);
    expect(d.tokenRequests()).toBe(1);
    clock += 2_000;
    await client.setTyping(typingHref);
    expect(d.tokenRequests()).toBe(2);
  });

  it('wrong client credentials → ApiError 401 invalid_client from the token endpoint, no platform call', async () => {
    const { d, typingHref } = await setup();
    const client = createPlatformClient({
      ...clientOptionsFor(d),
      auth: { ...clientOptionsFor(d).auth, clientSecret: 'wrong' },
    });
    const error = await client.setTyping(typingHref).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_client', retryable: false, url: d.tokenUrl });
    expect((error as ApiError).message).toContain('client id or secret is wrong');
    expect(d.count(TYPING)).toBe(0);
  });

  it('a token answer without access_token → ApiError InvalidResponse naming the field', async () => {
    const { d, typingHref } = await setup();
    d.on('POST', new URL(d.tokenUrl).pathname, () => json(200, { token_type: 'Bearer', expires_in: '3600' }));
    const error = await createPlatformClient(clientOptionsFor(d))
      .setTyping(typingHref)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'InvalidResponse', retryable: false });
    expect((error as ApiError).message).toContain('access_token');
  });
});

describe('a 401 from the platform', () => {
  it('refreshes the token once and sends the call once more with the new token', async () => {
    const { d, typingHref } = await setup();
    const client = createPlatformClient(clientOptionsFor(d));
    await client.setTyping(typingHref);
    d.revokeTokens(); // the platform now rejects the cached token
    await client.setTyping(typingHref);
    expect(d.tokenRequests()).toBe(2);
    expect(bearerOf(d, TYPING)).toEqual([
      `Bearer ${d.issuedTokens[0]}`,
      `Bearer ${d.issuedTokens[0]}`,
      `Bearer ${d.issuedTokens[1]}`,
    ]);
  });

  it('twice in a row → ApiError 401 after exactly one refresh and one repeat', async () => {
    const { d, typingHref } = await setup();
    d.on(
      'POST',
      TYPING,
      () =>
        new Response('<html>401 - Unauthorized</html>', {
          status: 401,
          headers: { 'content-type': 'text/html' },
        }),
    );
    const error = await createPlatformClient(clientOptionsFor(d))
      .setTyping(typingHref)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'HttpError', kind: 'http', retryable: false });
    expect((error as ApiError).message).toContain('answered 401');
    expect(d.count(TYPING)).toBe(2);
    expect(d.tokenRequests()).toBe(2);
  });

  it('seen by many concurrent callers at once still costs one token refresh', async () => {
    const { d, typingHref } = await setup();
    const client = createPlatformClient(clientOptionsFor(d));
    await client.setTyping(typingHref);
    d.revokeTokens();
    await Promise.all(Array.from({ length: 5 }, () => client.setTyping(typingHref)));
    expect(d.tokenRequests()).toBe(2);
  });
});

describe('logging', () => {
  it('logs each request at debug with method, path, status and operationId, never the token or text', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const { d } = await setup();
    const messagesPath =
      '/platformservice/tgt-1/v1/applications/1/communication/conversations/c1/messaging/messages';
    d.on(
      'POST',
      messagesPath,
      () => new Response(null, { status: 201, headers: { Location: `${messagesPath}/1` } }),
    );
    const client = createPlatformClient({ ...clientOptionsFor(d), logger });
    await client.sendMessage(`${d.origin}${messagesPath}?endpointId=sip:helpdesk@contoso.com`, {
      text: 'my card number is 1234',
      operationId: 'welcome-op-1',
    });
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toContainEqual(
      expect.objectContaining({
        method: 'POST',
        path: messagesPath,
        status: 201,
        operationId: 'welcome-op-1',
      }),
    );
    const all = lines.join('\n');
    expect(d.issuedTokens[0]).toBeDefined();
    expect(all).not.toContain(d.issuedTokens[0]);
    expect(all).not.toContain(d.options.clientSecret);
    expect(all).not.toContain('card number');
    expect(all).not.toContain('endpointId');
  });
});

import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestSigner,
  hs256Token,
  listen,
  type RunningServer,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_NOW,
  type TestSigner,
  unsignedToken,
} from '../../test/helpers/callbackSigning.ts';
import {
  FIXTURES_PRESENT,
  fixtureNames,
  fixtureText,
  NEGATIVE_FIXTURES,
} from '../../test/helpers/fixtures.ts';
import { CallbackEnvelopeSchema } from '../wire/envelope.ts';
import { parseJsonText } from '../wire/json.ts';
import { type CallbackDispatch, type CallbackRouteOptions, callbackRoute } from './route.ts';
import { type CallbackVerifier, createCallbackVerifier, SKYPE_FOR_BUSINESS_APP_ID } from './verify.ts';

const UCWA_CONTENT_TYPE = 'application/json; type="application/vnd.microsoft.com.ucwa+json"; charset=utf-8';
const silent = pino({ level: 'silent' });

/** A small callback of our own (conversation deleted), so these tests do not depend on the captures. */
const BODY = JSON.stringify({
  _links: { self: { href: '/platformservice/v1/applications/42/events?ack=3' } },
  sender: [
    {
      rel: 'service:communication',
      href: '/platformservice/v1/applications/42/communication',
      events: [
        {
          link: {
            rel: 'service:conversation',
            href: '/platformservice/v1/applications/42/communication/conversations/c-9',
          },
          type: 'deleted',
        },
      ],
    },
  ],
  baseuri: 'https://pool.example.test',
});
const HEARTBEAT = JSON.stringify({
  _links: { self: { href: '/eventsservice' } },
  sender: [],
  baseuri: 'https://pool.example.test/platformservice/v1/applications',
});

let signer: TestSigner;
let verifier: CallbackVerifier;
const servers: RunningServer[] = [];

beforeAll(async () => {
  signer = await createTestSigner();
  verifier = createCallbackVerifier({
    keys: signer.keys,
    audience: TEST_AUDIENCE,
    issuers: [TEST_ISSUER],
    appId: SKYPE_FOR_BUSINESS_APP_ID,
    clockToleranceSec: 60,
    now: () => TEST_NOW,
  });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: Partial<CallbackRouteOptions> = {}, mount?: (route: Hono) => Hono) {
  const dispatch = vi.fn<CallbackDispatch>(options.dispatch ?? (() => undefined));
  const route = callbackRoute({ verifier, logger: silent, ...options, dispatch });
  const server = await listen(mount ? mount(route) : route);
  servers.push(server);
  return { url: `${server.url}${options.path ?? '/callbacks'}`, dispatch };
}

async function post(
  url: string,
  body: string,
  {
    token,
    contentType = UCWA_CONTENT_TYPE,
    headers = {},
  }: { token?: string; contentType?: string | null; headers?: Record<string, string> } = {},
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      ...(contentType === null ? {} : { 'content-type': contentType }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    // fetch labels a string body text/plain; bytes go out without a content type.
    body: contentType === null && typeof body === 'string' ? new TextEncoder().encode(body) : body,
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    headers: response.headers,
  };
}

describe('callback route: the caller must be the platform (401)', () => {
  async function expect401(
    send: (url: string) => Promise<Awaited<ReturnType<typeof post>>>,
    message: string | RegExp,
  ) {
    const { url, dispatch } = await start();
    const res = await send(url);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(res.json?.error).toBe('invalid_token');
    expect(res.json?.message).toMatch(message);
    expect(dispatch).not.toHaveBeenCalled();
  }

  it('rejects a callback without an Authorization header', async () => {
    await expect401((url) => post(url, BODY), 'missing Authorization header');
  });

  it('rejects an Authorization header that is not a Bearer token', async () => {
    await expect401(
      (url) => post(url, BODY, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
      'Authorization header is not a Bearer token',
    );
  });

  it('rejects a token that is not a JWT', async () => {
    await expect401((url) => post(url, BODY, { token: 'not-a-jwt' }), 'token is not a JWT');
  });

  it('rejects an expired token', async () => {
    const exp = Math.floor(TEST_NOW.getTime() / 1000) - 3600;
    const token = await signer.token({ iat: exp - 3600, nbf: exp - 3600, exp });
    await expect401(
      (url) => post(url, BODY, { token }),
      `token expired at ${new Date(exp * 1000).toISOString()}`,
    );
  });

  it('rejects a token that is not valid yet', async () => {
    const nbf = Math.floor(TEST_NOW.getTime() / 1000) + 3600;
    const token = await signer.token({ iat: nbf, nbf, exp: nbf + 3600 });
    await expect401((url) => post(url, BODY, { token }), /^token is not valid yet \(nbf /);
  });

  it('rejects a token signed by another key under the published kid', async () => {
    const token = await signer.forgedToken();
    await expect401((url) => post(url, BODY, { token }), 'token signature is invalid');
  });

  it('rejects a token whose kid matches no published key', async () => {
    const token = await signer.token({}, { kid: 'someone-elses-key' });
    await expect401(
      (url) => post(url, BODY, { token }),
      'no published signing key matches the token (unknown kid)',
    );
  });

  it('rejects a token for another audience', async () => {
    const token = await signer.token({ aud: 'https://attacker.example' });
    await expect401(
      (url) => post(url, BODY, { token }),
      `token audience "https://attacker.example" is not accepted (expected ${TEST_AUDIENCE})`,
    );
  });

  it('rejects a token from another tenant issuer', async () => {
    const token = await signer.token({
      iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/',
    });
    await expect401(
      (url) => post(url, BODY, { token }),
      'token issuer "https://sts.windows.net/00000000-0000-0000-0000-000000000000/" is not an accepted tenant issuer',
    );
  });

  it('rejects a token issued to another application (appid)', async () => {
    const token = await signer.token({ appid: '11111111-2222-3333-4444-555555555555' });
    await expect401(
      (url) => post(url, BODY, { token }),
      `token appid "11111111-2222-3333-4444-555555555555" is not the expected application (${SKYPE_FOR_BUSINESS_APP_ID})`,
    );
  });

  it('rejects a token without an appid claim', async () => {
    const token = await signer.token({ appid: undefined });
    await expect401((url) => post(url, BODY, { token }), 'token has no appid claim');
  });

  it('rejects an unsigned token (alg none)', async () => {
    await expect401(
      (url) => post(url, BODY, { token: unsignedToken() }),
      'token algorithm "none" is not allowed (only RS256)',
    );
  });

  it('rejects an HS256 token', async () => {
    const token = await hs256Token();
    await expect401(
      (url) => post(url, BODY, { token }),
      'token algorithm "HS256" is not allowed (only RS256)',
    );
  });

  it('authenticates before it parses: malformed JSON without a token is a 401, not a 400', async () => {
    await expect401(
      (url) => post(url, '{"sender": [', { contentType: 'text/plain' }),
      'missing Authorization header',
    );
  });
});

describe('callback route: transport and body checks', () => {
  it('answers 413 to a body over the limit, before looking at the token', async () => {
    const { url, dispatch } = await start({ maxBodyBytes: 1024 });
    const res = await post(url, 'x'.repeat(1025));
    expect(res.status).toBe(413);
    expect(res.json).toEqual({
      error: 'payload_too_large',
      message: 'callback body exceeds the limit of 1024 bytes',
    });
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('answers 413 to a streamed body (no Content-Length) over the default 1 MiB limit', async () => {
    const { url } = await start();
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 5) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await signer.token()}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: 'payload_too_large',
      message: 'callback body exceeds the limit of 1048576 bytes',
    });
  });

  it('accepts a streamed body (no Content-Length) under the limit', async () => {
    const { url, dispatch } = await start();
    const bytes = new TextEncoder().encode(BODY);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 50));
        controller.enqueue(bytes.slice(50));
        controller.close();
      },
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await signer.token()}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{}');
    expect(dispatch).toHaveBeenCalledOnce();
  });

  it('answers 415 to a body that is not JSON by content type', async () => {
    const { url, dispatch } = await start();
    const res = await post(url, BODY, {
      token: await signer.token(),
      contentType: 'text/plain; charset=utf-8',
    });
    expect(res.status).toBe(415);
    expect(res.json).toEqual({
      error: 'unsupported_media_type',
      message: 'content type "text/plain; charset=utf-8" is not supported; send application/json',
    });
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('answers 415 when the content type is missing', async () => {
    const { url } = await start();
    const res = await post(url, BODY, { token: await signer.token(), contentType: null });
    expect(res.status).toBe(415);
    expect(res.json?.message).toBe('content type is missing; send application/json');
  });

  it('answers 400 to malformed JSON, naming the parse problem', async () => {
    const { url, dispatch } = await start();
    const res = await post(url, '{"sender": [', { token: await signer.token() });
    expect(res.status).toBe(400);
    expect(res.json?.error).toBe('bad_request');
    expect(res.json?.message).toMatch(/^body is not valid JSON \(.+\)$/);
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('answers 400 to an empty body', async () => {
    const { url } = await start();
    const res = await post(url, '', { token: await signer.token(), contentType: 'application/json' });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'bad_request', message: 'body is empty, expected JSON' });
  });

  it('reads a body behind a UTF-8 byte-order mark', async () => {
    const { url, dispatch } = await start();
    const res = await post(url, `\ufeff${BODY}`, { token: await signer.token() });
    expect(res.status).toBe(200);
    expect(dispatch).toHaveBeenCalledOnce();
  });

  it('answers 400 naming the missing field when the envelope has no baseuri', async () => {
    const { url, dispatch } = await start();
    const { baseuri: _dropped, ...rest } = JSON.parse(BODY);
    const res = await post(url, JSON.stringify(rest), { token: await signer.token() });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: 'bad_request',
      message: 'not a callback envelope: baseuri is missing',
    });
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('answers 400 naming the field when an event type is not a wire event type', async () => {
    const { url } = await start();
    const body = JSON.parse(BODY);
    body.sender[0].events[0].type = 'exploded';
    const res = await post(url, JSON.stringify(body), { token: await signer.token() });
    expect(res.status).toBe(400);
    expect(res.json?.message).toMatch(/^not a callback envelope: sender\.0\.events\.0\.type: Invalid option/);
  });

  it('answers 400 when baseuri is not an absolute URL', async () => {
    const { url } = await start();
    const res = await post(url, JSON.stringify({ ...JSON.parse(BODY), baseuri: '/relative' }), {
      token: await signer.token(),
    });
    expect(res.status).toBe(400);
    expect(res.json?.message).toBe('not a callback envelope: baseuri: must be an absolute http(s) URL');
  });

  it('answers 405 to anything but POST on the callback path', async () => {
    const { url } = await start();
    const response = await fetch(url);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toEqual({
      error: 'method_not_allowed',
      message: 'callbacks are delivered with POST',
    });
  });
});

describe('callback route: accepted callbacks', () => {
  it('accepts the content type the platform sends and dispatches the normalised events', async () => {
    const { url, dispatch } = await start();
    const res = await post(url, BODY, { token: await signer.token(), contentType: UCWA_CONTENT_TYPE });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({});
    expect(dispatch).toHaveBeenCalledOnce();
    const [events, ctx] = dispatch.mock.calls[0] ?? [];
    expect(events?.map((e) => e.event)).toEqual([
      {
        type: 'callback.conversationDeleted',
        conversationHref:
          'https://pool.example.test/platformservice/v1/applications/42/communication/conversations/c-9',
      },
    ]);
    expect(ctx?.envelope.baseuri).toBe('https://pool.example.test');
    expect(ctx).not.toHaveProperty('callbackContext');
  });

  it('answers a heartbeat (empty sender) with 200 {} and dispatches nothing', async () => {
    const { url, dispatch } = await start();
    const res = await post(url, HEARTBEAT, { token: await signer.token() });
    expect(res.status).toBe(200);
    expect(res.text).toBe('{}');
    expect(dispatch).not.toHaveBeenCalled();
  });

  it('passes the callbackContext of the URL to dispatch and onto every event', async () => {
    const { url, dispatch } = await start();
    const res = await post(`${url}?callbackContext=chat-42`, BODY, {
      token: await signer.token(),
      headers: { 'x-ms-correlation-id': '3953004368' },
    });
    expect(res.status).toBe(200);
    const [events, ctx] = dispatch.mock.calls[0] ?? [];
    expect(ctx).toMatchObject({ callbackContext: 'chat-42', correlationId: '3953004368' });
    expect(events?.[0]?.event?.callbackContext).toBe('chat-42');
  });

  it('echoes the callbackContext dispatch returns, so later callbacks carry it', async () => {
    const { url } = await start({ dispatch: () => ({ callbackContext: 'chat-43' }) });
    const res = await post(url, BODY, { token: await signer.token() });
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"callbackContext":"chat-43"}');
  });

  it('serves the route under a custom path', async () => {
    const { url, dispatch } = await start({ path: '/platform/events' });
    expect(url.endsWith('/platform/events')).toBe(true);
    expect((await post(url, BODY, { token: await signer.token() })).status).toBe(200);
    expect(dispatch).toHaveBeenCalledOnce();
  });
});

describe('callback route: errors keep their status', () => {
  /** The route mounted in a larger app whose own onError would flatten everything to 500 (hono#952). */
  const inFullApp = (route: Hono) => {
    const app = new Hono();
    app.onError((_error, c) => c.json({ error: 'flattened' }, 500));
    app.get('/health', (c) => c.text('ok'));
    app.route('/', route);
    return app;
  };

  it('answers 500 {error:"internal"} when dispatch throws, while a bad token through the same app stays 401', async () => {
    const dispatch = vi.fn<CallbackDispatch>(() => {
      throw new Error('store is down');
    });
    const { url } = await start({ dispatch }, inFullApp);
    const failed = await post(url, BODY, { token: await signer.token() });
    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({ error: 'internal' });
    const unauthenticated = await post(url, BODY, { token: await signer.forgedToken() });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.json).toEqual({ error: 'invalid_token', message: 'token signature is invalid' });
    expect(dispatch).toHaveBeenCalledOnce();
  });

  it('keeps the status of an HTTPException thrown by dispatch', async () => {
    const dispatch: CallbackDispatch = () => {
      throw new HTTPException(400, {
        res: new Response(JSON.stringify({ error: 'bad_request', message: 'unknown callbackContext' }), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        }),
      });
    };
    const { url } = await start({ dispatch }, inFullApp);
    const res = await post(`${url}?callbackContext=nope`, BODY, { token: await signer.token() });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'bad_request', message: 'unknown callbackContext' });
  });

  it('answers 503, not 401, when the signing keys cannot be fetched', async () => {
    const closed = await listen(new Hono());
    const jwksUrl = `${closed.url}/keys`;
    await closed.close();
    const unreachable = createCallbackVerifier({
      jwksUrl,
      audience: TEST_AUDIENCE,
      issuers: [TEST_ISSUER],
      appId: SKYPE_FOR_BUSINESS_APP_ID,
      now: () => TEST_NOW,
    });
    const { url, dispatch } = await start({ verifier: unreachable });
    const res = await post(url, BODY, { token: await signer.token() });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({
      error: 'unavailable',
      message: 'cannot verify the callback token right now; retry later',
    });
    expect(dispatch).not.toHaveBeenCalled();
  });
});

describe('callback route: options are checked when the app is built', () => {
  it.each([
    [{ path: 'callbacks' }, "path must start with '/'"],
    [{ maxBodyBytes: 0 }, 'maxBodyBytes must be a positive integer'],
  ] as const)('refuses %o', (bad, message) => {
    expect(() =>
      callbackRoute({ verifier: async () => ({}), dispatch: () => undefined, logger: silent, ...bad }),
    ).toThrow(message);
  });
});

const CALLBACK_FIXTURES = fixtureNames('Event_').filter((name) => !NEGATIVE_FIXTURES.has(name));

describe.skipIf(!FIXTURES_PRESENT)('callback route accepts every captured callback', () => {
  it.each(CALLBACK_FIXTURES)('%s', async (name) => {
    const { url, dispatch } = await start();
    const text = fixtureText(name);
    const envelope = CallbackEnvelopeSchema.parse(parseJsonText(text));
    const res = await post(`${url}?callbackContext=fixture`, text, { token: await signer.token() });
    expect(res.status).toBe(200);
    if (envelope.sender.length === 0) {
      expect(res.text).toBe('{}');
      expect(dispatch).not.toHaveBeenCalled();
      return;
    }
    expect(dispatch).toHaveBeenCalledOnce();
    const [events, ctx] = dispatch.mock.calls[0] ?? [];
    const wireCount = envelope.sender.reduce((n, sender) => n + sender.events.length, 0);
    expect(events).toHaveLength(wireCount);
    expect(ctx?.callbackContext).toBe('fixture');
    expect(ctx?.envelope).toEqual(envelope);
    for (const { event } of events ?? []) if (event) expect(event.callbackContext).toBe('fixture');
  });
});

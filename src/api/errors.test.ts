import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  clientOptionsFor,
  closedPort,
  json,
  PLATFORM_HEADERS,
  type PlatformDouble,
  startPlatformDouble,
} from '../../test/helpers/platformDouble.ts';
import type { PlatformClient } from './client.ts';
import { createPlatformClient } from './client.ts';
import { ApiError } from './errors.ts';

let double: PlatformDouble;
let client: PlatformClient;
let href: string;
const PATH = '/platformservice/tgt-7/v1/applications/1/communication/participantInvitations';

beforeEach(async () => {
  double = await startPlatformDouble();
  client = createPlatformClient(clientOptionsFor(double));
  href = `${double.origin}${PATH}?endpointId=sip:helpdesk@contoso.com&conversationId=conf-1`;
});

afterEach(async () => {
  await double.close();
});

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

const addAgent = () => client.addParticipant(href, { to: 'sip:alice@contoso.com', operationId: 'op-add-1' });

describe('platform error bodies become ApiErrors', () => {
  const cases = [
    { status: 400, code: 'BadRequest', subcode: 'ParameterValidationFailure', retryable: false },
    { status: 403, code: 'Forbidden', subcode: 'ApplicationNotFound', retryable: false },
    { status: 404, code: 'NotFound', subcode: 'ConversationNotFound', retryable: false },
    { status: 409, code: 'Conflict', subcode: 'AlreadyExists', retryable: false },
    { status: 429, code: 'TooManyRequests', subcode: undefined, retryable: true },
    { status: 500, code: 'ServiceFailure', subcode: 'CallbackChannelError', retryable: true },
    { status: 503, code: 'ServiceUnavailable', subcode: 'TemporarilyUnavailable', retryable: true },
  ];

  for (const c of cases) {
    it(`${c.status} ${c.code} carries code, subcode, message, correlation headers and retryable=${c.retryable}`, async () => {
      double.on('POST', PATH, () =>
        json(
          c.status,
          { code: c.code, ...(c.subcode ? { subcode: c.subcode } : {}), message: `why ${c.status}` },
          PLATFORM_HEADERS,
        ),
      );
      const error = await failure(addAgent());
      expect(error.kind).toBe('http');
      expect(error.status).toBe(c.status);
      expect(error.code).toBe(c.code);
      expect(error.subcode).toBe(c.subcode);
      expect(error.retryable).toBe(c.retryable);
      expect(error.method).toBe('POST');
      expect(error.url).toBe(href);
      expect(error.correlationId).toBe(PLATFORM_HEADERS['X-MS-Correlation-Id']);
      expect(error.serverFqdn).toBe(PLATFORM_HEADERS['X-MS-Server-Fqdn']);
      expect(error.message).toContain(`answered ${c.status}`);
      expect(error.message).toContain(`why ${c.status}`);
      expect(error.message).toContain(PATH);
    });
  }

  it('a non-JSON error body (the HTML 401 challenge, a proxy page) becomes code HttpError', async () => {
    double.on('POST', PATH, () => new Response('<html>Bad Gateway</html>', { status: 502 }));
    const error = await failure(addAgent());
    expect(error.status).toBe(502);
    expect(error.code).toBe('HttpError');
    expect(error.subcode).toBeUndefined();
    expect(error.retryable).toBe(true);
  });

  it('tolerates a byte-order mark and unknown members in the error body', async () => {
    double.on(
      'POST',
      PATH,
      () =>
        new Response(
          `\ufeff${JSON.stringify({ code: 'Gone', subcode: 'SomethingNew', debugInfo: { a: 1 } })}`,
          {
            status: 410,
            headers: { 'content-type': 'application/json' },
          },
        ),
    );
    const error = await failure(addAgent());
    expect(error.code).toBe('Gone');
    expect(error.subcode).toBe('SomethingNew');
    expect(error.retryable).toBe(false);
  });

  it('serialises to a plain JSON object that a machine context can hold', async () => {
    double.on('POST', PATH, () =>
      json(409, { code: 'Conflict', subcode: 'AlreadyExists', message: 'exists' }),
    );
    const error = await failure(addAgent());
    const copy = JSON.parse(JSON.stringify(error));
    expect(copy).toMatchObject({
      name: 'ApiError',
      kind: 'http',
      status: 409,
      code: 'Conflict',
      subcode: 'AlreadyExists',
      retryable: false,
      method: 'POST',
    });
  });
});

describe('no implicit retries: retry policy belongs to the session machine', () => {
  it('sends a failing GET exactly once (ofetch would retry a GET by default)', async () => {
    double.on('GET', '/platformservice/discover', () =>
      json(500, { code: 'ServiceFailure', message: 'down' }),
    );
    const error = await failure(client.capabilities());
    expect(error.status).toBe(500);
    expect(error.retryable).toBe(true);
    expect(double.count('/platformservice/discover')).toBe(1);
  });

  it('sends a failing POST exactly once', async () => {
    double.on('POST', PATH, () => json(503, { code: 'ServiceUnavailable', message: 'busy' }));
    await failure(addAgent());
    expect(double.count(PATH, 'POST')).toBe(1);
  });
});

describe('failures without an HTTP answer', () => {
  it('a platform that does not answer within timeoutMs gives kind timeout, status 0, retryable', async () => {
    const impatient = createPlatformClient({ ...clientOptionsFor(double), timeoutMs: 150 });
    double.on('POST', PATH, double.hang());
    const error = await failure(
      impatient.addParticipant(href, { to: 'sip:alice@contoso.com', operationId: 'op-slow' }),
    );
    expect(error.kind).toBe('timeout');
    expect(error.status).toBe(0);
    expect(error.code).toBe('Timeout');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('150 ms');
    expect(double.count(PATH, 'POST')).toBe(1);
  });

  it('the timeout also covers a body that starts but never finishes', async () => {
    const impatient = createPlatformClient({ ...clientOptionsFor(double), timeoutMs: 150 });
    double.on(
      'POST',
      PATH,
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"code":'));
            },
          }),
          { status: 500, headers: { 'content-type': 'application/json' } },
        ),
    );
    const error = await failure(
      impatient.addParticipant(href, { to: 'sip:alice@contoso.com', operationId: 'op-trickle' }),
    );
    expect(error.kind).toBe('timeout');
    expect(error.code).toBe('Timeout');
    expect(error.retryable).toBe(true);
  });

  it('a refused connection gives kind network, status 0, retryable, naming the cause', async () => {
    const port = await closedPort();
    const nowhere = `http://127.0.0.1:${port}${PATH}`;
    const error = await failure(
      client.addParticipant(nowhere, { to: 'sip:alice@contoso.com', operationId: 'op-refused' }),
    );
    expect(error.kind).toBe('network');
    expect(error.status).toBe(0);
    expect(error.code).toBe('NetworkError');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('an unreachable token endpoint is a network error too, before any platform request', async () => {
    const port = await closedPort();
    const broken = createPlatformClient({
      ...clientOptionsFor(double),
      auth: { ...clientOptionsFor(double).auth, tokenUrl: `http://127.0.0.1:${port}/tenant/oauth2/token` },
    });
    const error = await failure(
      broken.addParticipant(href, { to: 'sip:alice@contoso.com', operationId: 'op' }),
    );
    expect(error.kind).toBe('network');
    expect(error.retryable).toBe(true);
    expect(double.count(PATH)).toBe(0);
  });
});

describe('client options', () => {
  it('are checked when the client is built, naming every bad option', () => {
    expect(() =>
      createPlatformClient({
        ...clientOptionsFor(double),
        discoverUrl: 'platformservice/discover',
        endpointUri: 'helpdesk@contoso.com',
        auth: { ...clientOptionsFor(double).auth, clientSecret: '' },
        timeoutMs: 0,
      }),
    ).toThrow(
      /discoverUrl must be an absolute http\(s\) URL.*auth\.clientSecret must be a non-empty string.*endpointUri must be a SIP URI.*timeoutMs must be a positive/,
    );
  });
});

describe('hrefs handed to actions', () => {
  it('refuses a relative href without sending anything, telling the caller to resolve it first', async () => {
    const error = await failure(client.setTyping('/platformservice/x/messaging/typing'));
    expect(error.code).toBe('InvalidRequest');
    expect(error.status).toBe(0);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('baseuri');
    expect(double.requests).toHaveLength(0);
  });

  it("undoes the captures' escaped ampersand in an absolute href", async () => {
    const typing = '/platformservice/x/messaging/typing';
    double.on('POST', typing, () => new Response(null, { status: 204 }));
    await client.setTyping(`${double.origin}${typing}?a=1\\u0026endpointId=sip:helpdesk@contoso.com`);
    expect(double.requests.find((r) => r.path === typing)?.search).toBe(
      '?a=1&endpointId=sip:helpdesk@contoso.com',
    );
  });
});

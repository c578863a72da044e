import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import type { CallbackLogEntry, EmulatorConfig } from '../../src/emulator/index.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  type CallbackServer,
  callbackServer,
  closeAll,
  control,
  emulator,
  Guest,
  SaClient,
} from './helpers.ts';
import { callbackEvent, link } from './scripted.ts';

afterEach(closeAll);

/** An emulator, a callback receiver registered for the demo app, and a guest ready to invite. */
async function setup(config: Partial<EmulatorConfig> = {}, verify = true) {
  const { url, emulator: emu } = await emulator(config);
  const cb = await callbackServer(url, { verify });
  emu.setCallbackUrl(DEMO_TENANT.applicationId, cb.url);
  const sa = await SaClient.connect(url);
  const { token, discover } = await sa.anonToken();
  const guest = new Guest(token);
  await guest.start(discover);
  return { url, emu, cb, sa, guest };
}

const callbackLog = (emu: { log: { list(f: { kind: string }): unknown[] } }) =>
  emu.log.list({ kind: 'callback' }) as CallbackLogEntry[];

function answerInTurn(cb: CallbackServer, statuses: number[]) {
  let call = 0;
  cb.respond = () => new Response(null, { status: statuses[Math.min(call++, statuses.length - 1)] });
}

describe('callback delivery', () => {
  it('signs callbacks as AAD does: RS256 with kid/x5t, aud = App ID URI, tenant issuer, Skype appid', async () => {
    const { cb, guest } = await setup();
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'messagingInvitation');
    const received = cb.received[0]!;
    expect(received.claims).toMatchObject({
      aud: DEMO_TENANT.appIdUri,
      iss: `https://sts.windows.net/${DEMO_TENANT.tenantId}/`,
      appid: '00000004-0000-0ff1-ce00-000000000000',
      tid: DEMO_TENANT.tenantId,
      ver: '1.0',
    });
    expect(typeof received.claims?.iat).toBe('number');
    expect(typeof received.claims?.nbf).toBe('number');
    expect(received.claims!.exp! > received.claims!.iat!).toBe(true);
    expect(received.body._links.self?.href).toMatch(
      /\/events\?ack=1&key=1627259584%7Esip%3Ahelpdesk%40contoso.com%7E/,
    );
    expect(received.body._links.next?.href).toMatch(/ack=2/);
    expect(received.body.baseuri).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cb.rejected).toEqual([]);
  });

  it('puts kid and x5t of a JWKS key in the JWT header', async () => {
    const { url, emu, cb, guest } = await setup();
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'messagingInvitation');
    const header = decodeProtectedHeader(cb.received[0]!.token);
    expect(header).toMatchObject({ typ: 'JWT', alg: 'RS256' });
    const keys = (await (await fetch(`${url}/common/discovery/keys`)).json()) as {
      keys: Array<{ kid: string; x5t: string }>;
    };
    expect(keys.keys.map((k) => k.kid)).toContain(header.kid);
    expect(header.x5t).toBe(header.kid);
    expect(emu.jwks()).toEqual(keys);
    const metadata = await (
      await fetch(`${url}/${DEMO_TENANT.tenantId}/.well-known/openid-configuration`)
    ).json();
    expect(metadata).toMatchObject({
      issuer: `https://sts.windows.net/${DEMO_TENANT.tenantId}/`,
      jwks_uri: `${url}/common/discovery/keys`,
    });
  });

  it('retries a callback answered 5xx with backoff until it is accepted', async () => {
    const { emu, cb, guest } = await setup({ callbackRetries: 3 });
    answerInTurn(cb, [503, 500, 200]);
    await guest.invite();
    await eventually(
      () => callbackLog(emu).filter((e) => e.events[0]?.includes('messagingInvitation started')),
      (attempts) =>
        expect(attempts.map((a) => [a.attempt, a.status])).toEqual([
          [1, 503],
          [2, 500],
          [3, 200],
        ]),
    );
    // The conversation's next callback comes only after the first was accepted.
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
    expect(cb.received.map((r) => r.body.sender[0]?.events[0]?.link.rel)).toEqual([
      'ms:rtc:saas:messagingInvitation',
      'ms:rtc:saas:messagingInvitation',
      'ms:rtc:saas:messagingInvitation',
      'ms:rtc:saas:conversation',
    ]);
  });

  it('gives up after the configured number of retries and moves on', async () => {
    const { emu, cb, guest } = await setup({ callbackRetries: 2 });
    answerInTurn(cb, [500, 500, 500, 200]);
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
    const first = callbackLog(emu).filter((e) => e.events[0]?.includes('messagingInvitation started'));
    expect(first.map((a) => a.status)).toEqual([500, 500, 500]);
  });

  it('retries a callback the SA does not answer within the timeout', async () => {
    const { emu, cb, guest } = await setup({ callbackTimeoutMs: 150, callbackRetries: 1 });
    let call = 0;
    cb.respond = () => (call++ === 0 ? new Promise<Response>(() => {}) : new Response(null, { status: 200 }));
    await guest.invite();
    await eventually(
      () => callbackLog(emu).filter((e) => e.events[0]?.includes('messagingInvitation started')),
      (attempts) => {
        expect(attempts.map((a) => a.status)).toEqual([null, 200]);
        expect(attempts[0]?.error).toBe('no answer within 150 ms');
      },
    );
  });

  it('does not retry a callback answered 4xx', async () => {
    const { emu, cb, guest } = await setup();
    answerInTurn(cb, [400, 200]);
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
    const first = callbackLog(emu).filter((e) => e.events[0]?.includes('messagingInvitation started'));
    expect(first.map((a) => a.status)).toEqual([400]);
  });

  it.each(['callbackContext', 'CallbackContext'])(
    'sends every later callback of the guest conversation to ?callbackContext= when the SA answers {%s}',
    async (member) => {
      const { cb, guest } = await setup();
      cb.respond = (callback) =>
        callback.url.searchParams.has('callbackContext')
          ? new Response(null)
          : Response.json({ [member]: 'chat-42' });
      await guest.invite();
      const added = await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
      expect(added.callbackContext).toBe('chat-42');
      expect(cb.received[0]?.url.searchParams.get('callbackContext')).toBeNull();
    },
  );

  it('routes a meeting started with callbackUrl to that URL, and with callbackContext to the registered URL + context', async () => {
    const { url, cb, sa, guest } = await setup();
    const other = await callbackServer(url);
    await guest.invite();
    const incoming = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation');
    const start = link(incoming.resource, 'startAdhocMeeting');
    expect(
      (await sa.post(start, { operationId: 'a', callbackUrl: `${other.url}?x=1` }, incoming.baseuri)).status,
    ).toBe(201);
    await callbackEvent(other, (e) => e.rel === 'onlineMeetingInvitation' && e.type === 'completed');
    expect(other.received.every((r) => r.url.searchParams.get('x') === '1')).toBe(true);
    expect(
      (await sa.post(start, { operationId: 'b', callbackContext: 'meeting-b' }, incoming.baseuri)).status,
    ).toBe(201);
    const conferenced = await callbackEvent(cb, (e) => e.resource?.state === 'Conferenced');
    expect(conferenced.callbackContext).toBe('meeting-b');
  });

  it('never has two callbacks of one conversation in flight and keeps their order', async () => {
    const { cb, sa, guest } = await setup();
    const inFlight = new Map<string, number>();
    let maxPerConversation = 0;
    cb.respond = async (callback) => {
      const key = new URL(callback.body._links.self!.href, 'http://x').searchParams.get('key') ?? '';
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      maxPerConversation = Math.max(maxPerConversation, inFlight.get(key)!);
      await new Promise((resolve) => setTimeout(resolve, 5)); // a slow SA
      inFlight.set(key, inFlight.get(key)! - 1);
      return new Response(null);
    };
    await guest.invite();
    const incoming = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation');
    await sa.post(link(incoming.resource, 'startAdhocMeeting'), { operationId: 'm1' }, incoming.baseuri);
    await sa.post(link(incoming.resource, 'startAdhocMeeting'), { operationId: 'm2' }, incoming.baseuri);
    await eventually(
      () => cb.events().filter((e) => e.rel === 'onlineMeetingInvitation' && e.type === 'completed').length,
      (n) => expect(n).toBe(2),
    );
    expect(maxPerConversation).toBe(1);
    const acks = new Map<string, number[]>();
    for (const r of cb.received) {
      const self = new URL(r.body._links.self!.href, 'http://x');
      const key = self.searchParams.get('key')!;
      acks.set(key, [...(acks.get(key) ?? []), Number(self.searchParams.get('ack'))]);
    }
    expect(acks.size).toBe(3);
    for (const list of acks.values()) expect(list).toEqual(list.map((_, i) => i + 1));
    const states = new Map<string, string[]>();
    for (const e of cb.events().filter((e) => e.sender === 'communication' && e.rel === 'conversation')) {
      states.set(e.href, [...(states.get(e.href) ?? []), String(e.resource?.state)]);
    }
    const meetings = [...states.values()].filter((list) => list.includes('Conferenced'));
    expect(meetings).toEqual([
      ['Connecting', 'Conferencing', 'Conferenced'],
      ['Connecting', 'Conferencing', 'Conferenced'],
    ]);
  });

  it('sends heartbeats with an empty sender list on the configured interval', async () => {
    const { cb } = await setup({ heartbeatIntervalMs: 25 });
    await eventually(
      () => cb.received.find((r) => r.body.sender.length === 0),
      (heartbeat) => {
        expect(heartbeat?.body._links.self?.href).toBe('/eventsservice');
        expect(heartbeat?.body.baseuri).toMatch(/\/platformservice\/v1\/applications$/);
        expect(heartbeat?.body._links.next).toBeUndefined();
      },
    );
  });

  it('signs with broken claims when a callbackToken fault says so (the SA rejects it, 4xx is not retried)', async () => {
    const { url, emu, cb, guest } = await setup();
    const fault = await control(url, 'POST', '/faults', {
      kind: 'callbackToken',
      aud: 'https://wrong.example',
      count: 1,
    });
    expect(fault.status).toBe(201);
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
    expect(cb.rejected).toHaveLength(1);
    expect(cb.rejected[0]).toMatch(/aud/);
    expect(callbackLog(emu)[0]).toMatchObject({ status: 401, attempt: 1 });
  });
});

describe('callback tokens', () => {
  it('reuses one token for the callbacks that follow (as the platform reuses its AAD token); a fault gets a fresh one', async () => {
    const { url, cb, guest } = await setup();
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
    const tokens = new Set(cb.received.map((r) => r.token));
    expect(cb.received.length).toBeGreaterThan(1);
    expect(tokens.size).toBe(1);
    const fault = await control(url, 'POST', '/faults', { kind: 'callbackToken', expired: true, count: 1 });
    expect(fault.status).toBe(201);
    const before = cb.received.length + cb.rejected.length;
    await guest.invite();
    await eventually(
      () => cb.received.length + cb.rejected.length,
      (n) => expect(n).toBeGreaterThan(before),
    );
    expect(cb.rejected[0]).toMatch(/"exp" claim/);
  });
});

describe('POST /control/callbacks (used by carechat replay)', () => {
  it('signs the given body like a real callback and returns the SA answer', async () => {
    const { url } = await emulator();
    const cb = await callbackServer(url);
    cb.respond = () => Response.json({ callbackContext: 'ok' });
    const body = '{"_links":{"self":{"href":"/eventsservice"}},"sender":[],"baseuri":"https://x.example"}';
    const result = await control(url, 'POST', '/callbacks', { to: cb.url, body });
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ status: 200, body: '{"callbackContext":"ok"}' });
    expect(cb.rejected).toEqual([]);
    expect(cb.received[0]?.body.baseuri).toBe('https://x.example');
    expect(cb.received[0]?.contentType).toContain('application/vnd.microsoft.com.ucwa+json');
  });

  it('reports an unreachable SA as 502 with the reason', async () => {
    const { url } = await emulator();
    const result = await control(url, 'POST', '/callbacks', { to: 'http://127.0.0.1:9/callbacks', body: {} });
    expect(result.status).toBe(502);
    expect(result.json.code).toBe('RemoteFailure');
    expect(String(result.json.message)).toMatch(/could not deliver to http:\/\/127\.0\.0\.1:9\/callbacks/);
  });

  it('refuses a body without `to` with 400 naming the field', async () => {
    const { url } = await emulator();
    const result = await control(url, 'POST', '/callbacks', { body: {} });
    expect(result.status).toBe(400);
    expect(String(result.json.message)).toMatch(/^to:/);
  });
});

describe('the guest invitation', () => {
  it('ends for both sides when the SA declines it', async () => {
    const { cb, sa, guest } = await setup();
    await guest.invite();
    const incoming = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation' && e.type === 'started');
    const declined = await sa.post(link(incoming.resource, 'decline'), { reason: 'Local' }, incoming.baseuri);
    expect(declined.status).toBe(204);
    const failed = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation' && e.type === 'completed');
    expect(failed).toMatchObject({
      status: 'Failure',
      reason: { code: 'RemoteFailure', subcode: 'Declined' },
    });
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'deleted');
    await eventually(
      () => guest.events.find((e) => e.rel === 'messagingInvitation' && e.type === 'completed'),
      (e) => expect(e?.status).toBe('Failure'),
    );
    const twice = await sa.post(link(incoming.resource, 'decline'), {}, incoming.baseuri);
    expect(twice.status).toBe(404);
    expect(twice.json.code).toBe('NotFound');
    const badReason = await sa.post(link(incoming.resource, 'acceptAndBridge'), {}, incoming.baseuri);
    expect(badReason.status).toBe(400);
    expect(badReason.json.message).toBe('onlineMeetingUri: is required');
  });

  it('fails with Timeout for both sides when the SA neither bridges nor declines in time', async () => {
    const { emu, cb, guest } = await setup({ invitationTimeoutMs: 60 });
    await guest.invite();
    const failed = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation' && e.type === 'completed');
    expect(failed.reason?.subcode).toBe('Timeout');
    await eventually(
      () => guest.events.find((e) => e.rel === 'conversation' && e.type === 'deleted'),
      (e) => expect(e).toBeDefined(),
    );
    expect(emu.stats().openConversations).toBe(0);
  });
});

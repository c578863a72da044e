import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import type { CallbackLogEntry, LogEntry, RequestLogEntry } from '../../src/emulator/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { callbackServer, closeAll, control, emulator, Guest, http, SaClient } from './helpers.ts';
import { bridgedChat, callbackEvent, link } from './scripted.ts';

afterEach(closeAll);

async function invitedGuest() {
  const { url, emulator: emu } = await emulator();
  const cb = await callbackServer(url);
  emu.setCallbackUrl(DEMO_TENANT.applicationId, cb.url);
  const sa = await SaClient.connect(url);
  const { token, discover } = await sa.anonToken();
  const guest = new Guest(token);
  await guest.start(discover);
  return { url, emu, cb, sa, guest };
}

const rels = (cb: {
  received: Array<{ body: { sender: Array<{ events: Array<{ link: { rel: string }; type: string }> }> } }>;
}) =>
  cb.received.flatMap((r) =>
    r.body.sender.flatMap((s) => s.events.map((e) => `${e.link.rel.replace('ms:rtc:saas:', '')} ${e.type}`)),
  );

describe('HTTP fault injection', () => {
  it('answers the next N matching requests with the injected status and an error body, then recovers', async () => {
    const { url } = await emulator();
    const added = await control(url, 'POST', '/faults', {
      kind: 'http',
      method: 'GET',
      path: '/discover',
      status: 503,
      count: 2,
    });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ id: expect.stringMatching(/^f\d+$/), count: 2 });
    for (let i = 0; i < 2; i += 1) {
      const failed = await http(`${url}/platformservice/discover`);
      expect(failed.status).toBe(503);
      expect(failed.json).toMatchObject({ code: 'ServiceUnavailable', subcode: 'InjectedFault' });
      expect(String(failed.json.message)).toContain(String(added.json.id));
    }
    expect((await http(`${url}/platformservice/discover`)).status).toBe(200);
    expect((await control(url, 'GET', '/faults')).json.faults).toEqual([]);
  });

  it('matches paths by regular expression and method, and leaves other requests alone', async () => {
    const { url } = await emulator();
    await control(url, 'POST', '/faults', {
      kind: 'http',
      method: 'POST',
      path: '/oauth2\\/token$/',
      status: 429,
    });
    const sa = await http(`${url}/platformservice/discover`);
    expect(sa.status).toBe(200);
    const token = await http(`${url}/${DEMO_TENANT.tenantId}/oauth2/token`, { method: 'POST' });
    expect(token.status).toBe(429);
    expect(token.json.code).toBe('TooManyRequests');
  });

  it('holds matching requests for the injected latency and records the fault in the log', async () => {
    const { url, emulator: emu } = await emulator();
    const fault = await control(url, 'POST', '/faults', {
      kind: 'http',
      path: '/platformservice/discover',
      latencyMs: 30,
      count: 1,
    });
    const result = await http(`${url}/platformservice/discover`);
    expect(result.status).toBe(200);
    const entry = (emu.log.list({ kind: 'request' }) as RequestLogEntry[]).find(
      (e) => e.path === '/platformservice/discover',
    );
    expect(entry?.fault).toBe(fault.json.id);
  });

  it('deletes one fault or all of them', async () => {
    const { url } = await emulator();
    const a = await control(url, 'POST', '/faults', { kind: 'http', path: '/a', status: 500 });
    await control(url, 'POST', '/faults', { kind: 'http', path: '/b', status: 500 });
    expect((await control(url, 'DELETE', `/faults/${a.json.id}`)).status).toBe(204);
    expect((await control(url, 'GET', '/faults')).json.faults).toHaveLength(1);
    expect((await control(url, 'DELETE', '/faults')).status).toBe(204);
    expect((await control(url, 'GET', '/faults')).json.faults).toEqual([]);
    const missing = await control(url, 'DELETE', '/faults/f999');
    expect(missing.status).toBe(404);
    expect(String(missing.json.message)).toContain('f999');
  });

  it('rejects a malformed fault with 400 naming the problem', async () => {
    const { url } = await emulator();
    const kind = await control(url, 'POST', '/faults', { kind: 'earthquake' });
    expect(kind.status).toBe(400);
    expect(String(kind.json.message)).toMatch(/^kind:/);
    const status = await control(url, 'POST', '/faults', { kind: 'http', path: '/x', status: 200 });
    expect(status.status).toBe(400);
    expect(String(status.json.message)).toMatch(/^status:/);
  });
});

describe('callback fault injection', () => {
  it('drops a matching callback (logged, never delivered) and delivers the rest', async () => {
    const { url, emu, cb, guest } = await invitedGuest();
    await control(url, 'POST', '/faults', {
      kind: 'callback',
      action: 'drop',
      match: 'messagingInvitation started',
      count: 1,
    });
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
    expect(rels(cb)).toEqual(['conversation added']);
    const dropped = (emu.log.list({ kind: 'callback' }) as CallbackLogEntry[]).find(
      (e) => e.fault === 'drop',
    );
    expect(dropped).toMatchObject({ status: null, events: ['communication: messagingInvitation started'] });
  });

  it('duplicates a matching callback', async () => {
    const { url, cb, guest } = await invitedGuest();
    await control(url, 'POST', '/faults', {
      kind: 'callback',
      action: 'duplicate',
      match: 'messagingInvitation',
      count: 1,
    });
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
    expect(rels(cb)).toEqual([
      'messagingInvitation started',
      'messagingInvitation started',
      'conversation added',
    ]);
    expect(cb.received[0]?.body).toEqual(cb.received[1]?.body);
  });

  it('reorders a matching callback behind the next one of its conversation', async () => {
    const { url, cb, guest } = await invitedGuest();
    await control(url, 'POST', '/faults', {
      kind: 'callback',
      action: 'reorder',
      match: 'messagingInvitation started',
      count: 1,
    });
    await guest.invite();
    await eventually(
      () => rels(cb),
      (list) => expect(list).toEqual(['conversation added', 'messagingInvitation started']),
    );
  });

  it('delays a matching callback and everything behind it in the same conversation', async () => {
    const { url, emu, cb, guest } = await invitedGuest();
    await control(url, 'POST', '/faults', { kind: 'callback', action: 'delay', delayMs: 40, count: 1 });
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'added');
    expect(rels(cb)).toEqual(['messagingInvitation started', 'conversation added']);
    const delayed = (emu.log.list({ kind: 'callback' }) as CallbackLogEntry[])[0];
    expect(delayed?.fault).toBe('delay');
  });
});

describe('the control API', () => {
  it('reports stats, conversations and applications', async () => {
    const chat = await bridgedChat();
    const stats = await control(chat.url, 'GET', '/stats');
    expect(stats.json).toEqual({ openMeetings: 1, openConversations: 2 });
    const conversations = await control(chat.url, 'GET', '/conversations');
    const list = conversations.json.conversations as Array<{
      kind: string;
      guest: { name: string } | null;
      meetingUri: string;
    }>;
    expect(list.map((c) => c.kind).sort()).toEqual(['conference', 'p2p']);
    expect(list.find((c) => c.kind === 'p2p')).toMatchObject({
      guest: { name: 'Janardhan' },
      meetingUri: chat.meetingUri,
    });
    const apps = await control(chat.url, 'GET', '/applications');
    expect(apps.json.applications).toEqual([
      expect.objectContaining({ applicationId: DEMO_TENANT.applicationId, callbackUrl: chat.cb.url }),
    ]);
  });

  it('changes an application callback URL', async () => {
    const { url, cb, guest } = await invitedGuest();
    const other = await callbackServer(url);
    const set = await control(url, 'PUT', `/applications/${DEMO_TENANT.applicationId}/callback`, {
      url: other.url,
    });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({ applicationId: DEMO_TENANT.applicationId, callbackUrl: other.url });
    await guest.invite();
    await callbackEvent(other, (e) => e.rel === 'messagingInvitation');
    expect(cb.received).toEqual([]);
    const unknown = await control(url, 'PUT', '/applications/42/callback', { url: other.url });
    expect(unknown.status).toBe(404);
    const bad = await control(url, 'PUT', `/applications/${DEMO_TENANT.applicationId}/callback`, {
      url: 'nope',
    });
    expect(bad.status).toBe(400);
    expect(String(bad.json.message)).toMatch(/^url:/);
  });

  it('keeps a request and callback log without tokens or message bodies, readable since a sequence number and clearable', async () => {
    const chat = await bridgedChat();
    await chat.welcome('secret welcome text', 'op-log');
    await callbackEvent(chat.cb, (e) => e.rel === 'message' && e.type === 'completed');
    const all = await control(chat.url, 'GET', '/log');
    const entries = all.json.entries as LogEntry[];
    const send = entries.find((e) => e.kind === 'request' && e.operationId === 'op-log') as RequestLogEntry;
    expect(send).toMatchObject({ method: 'POST', status: 201 });
    expect(send.path).toMatch(/\/messaging\/messages$/);
    const callback = entries.find(
      (e) => e.kind === 'callback' && e.events.includes('conversation: message completed Success'),
    );
    expect(callback).toMatchObject({ status: 200, attempt: 1, url: chat.cb.url });
    const text = JSON.stringify(entries);
    expect(text).not.toContain('secret welcome text');
    expect(text).not.toContain('psat=');
    const last = entries[entries.length - 1]!.seq;
    const since = await control(chat.url, 'GET', `/log?since=${last}`);
    expect((since.json.entries as LogEntry[]).every((e) => e.seq > last)).toBe(true);
    const callbacksOnly = await control(chat.url, 'GET', '/log?kind=callback');
    expect((callbacksOnly.json.entries as LogEntry[]).every((e) => e.kind === 'callback')).toBe(true);
    const bad = await control(chat.url, 'GET', '/log?kind=everything');
    expect(bad.status).toBe(400);
    expect((await control(chat.url, 'DELETE', '/log')).status).toBe(204);
    expect((await control(chat.url, 'GET', '/log?kind=callback')).json.entries).toEqual([]);
  });

  it('answers an unknown control route with 404 and a JSON error', async () => {
    const { url } = await emulator();
    const result = await control(url, 'GET', '/nothing-here');
    expect(result.status).toBe(404);
    expect(result.json.code).toBe('NotFound');
  });
});

describe('rel prefixes', () => {
  it('emits service: rels when configured and ms:rtc:saas: when the request says X-Ms-Namespace: internal', async () => {
    const { url } = await emulator({ relPrefix: 'service:' });
    const plain = await http(`${url}/platformservice/discover`);
    expect(plain.json.rel).toBe('service:discover');
    expect(link(plain.json, 'applications')).toMatch(/\/platformservice\/v1\/applications$/);
    expect(Object.keys(plain.json._links ?? {})).toContain('service:applications');
    const internal = await http(`${url}/platformService/discover`, {
      headers: { 'X-Ms-Namespace': 'internal' },
    });
    expect(internal.json.rel).toBe('ms:rtc:saas:discover');
  });

  it('sends service: rels in callbacks when configured', async () => {
    const { url, emulator: emu } = await emulator({ relPrefix: 'service:' });
    const cb = await callbackServer(url);
    emu.setCallbackUrl(DEMO_TENANT.applicationId, cb.url);
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken();
    const guest = new Guest(token);
    await guest.start(discover);
    await guest.invite();
    await callbackEvent(cb, (e) => e.rel === 'messagingInvitation');
    const event = cb.received[0]!.body.sender[0]!;
    expect(event.rel).toBe('service:communication');
    expect(Object.keys(event.events[0]!._embedded ?? {})).toEqual(['service:messagingInvitation']);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import { resolveHref, withQuery } from '../../src/wire/href.ts';
import { eventually } from '../helpers/eventually.ts';
import { callbackServer, closeAll, control, emulator, Guest, SaClient } from './helpers.ts';
import { bridgedChat, callbackEvent, link, pathOf } from './scripted.ts';

afterEach(closeAll);

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const quiet = { agentBehaviour: { acceptDelayMs: 10, typingMs: 0, greeting: '', autoReply: false } };

async function say(url: string, agent: string, text: string) {
  const result = await control(url, 'POST', `/agents/${encodeURIComponent(agent)}/messages`, { text });
  expect(result.status).toBe(201);
}

async function agentMessages(url: string, agent: string): Promise<string[]> {
  const result = await control(url, 'GET', `/agents/${encodeURIComponent(agent)}`);
  const conversations = result.json.conversations as Array<{
    messages: Array<{ text: string; direction: string }>;
  }>;
  return conversations.flatMap((c) => c.messages.filter((m) => m.direction === 'in').map((m) => m.text));
}

describe('the conversation bridge and messageFilterState', () => {
  it('relays a Disabled participant to the guest but keeps an Enabled one in the meeting', async () => {
    const chat = await bridgedChat(quiet);
    await chat.bridgeAgent(ALICE, 'Alice (relayed)', 'Disabled');
    await chat.bridgeAgent(BOB, 'Bob (supervisor)', 'Enabled');
    await chat.addAgent(ALICE);
    await chat.addAgent(BOB);
    await chat.joined(ALICE);
    await chat.joined(BOB);

    await say(chat.url, BOB, 'supervisor note: offer a voucher');
    await say(chat.url, ALICE, 'I can offer you a voucher');
    // The SA sees both on the conference leg, in order.
    await eventually(
      () =>
        chat.cb
          .events()
          .filter((e) => e.rel === 'message' && e.resource?.direction === 'Incoming')
          .map((e) => link(e.resource, 'plainMessage')),
      (bodies) =>
        expect(bodies).toEqual([
          'data:text/plain;charset=utf-8,supervisor+note%3a+offer+a+voucher',
          'data:text/plain;charset=utf-8,I+can+offer+you+a+voucher',
        ]),
    );
    await eventually(
      () => chat.guest.incomingMessages(),
      (messages) =>
        expect(messages).toContainEqual({ text: 'I can offer you a voucher', title: 'Alice (relayed)' }),
    );
    expect(chat.guest.incomingMessages().map((m) => m.text)).not.toContain(
      'supervisor note: offer a voucher',
    );

    // And the other way round: the guest's message reaches Alice, not the Enabled Bob.
    expect((await chat.guest.send('thanks!')).status).toBe(201);
    await eventually(
      () => agentMessages(chat.url, ALICE),
      (texts) => expect(texts).toContain('thanks!'),
    );
    expect(await agentMessages(chat.url, BOB)).not.toContain('thanks!');
  });

  it('does not relay a meeting participant who was never bridged', async () => {
    const chat = await bridgedChat(quiet);
    await chat.bridgeAgent(ALICE, 'Alice', 'Disabled');
    await chat.addAgent(ALICE);
    await chat.addAgent(BOB);
    await chat.joined(BOB);
    await chat.joined(ALICE);
    await say(chat.url, BOB, 'unbridged words');
    await say(chat.url, ALICE, 'bridged words');
    await eventually(
      () => chat.guest.incomingMessages().map((m) => m.text),
      (texts) => expect(texts).toContain('bridged words'),
    );
    expect(chat.guest.incomingMessages().map((m) => m.text)).not.toContain('unbridged words');
  });

  it('switches relaying with PUT and stops it with DELETE on the bridged participant (204)', async () => {
    const chat = await bridgedChat(quiet);
    const added = await chat.bridgeAgent(ALICE, 'Alice', 'Enabled');
    const self = resolveHref(link(added.json, 'self'), chat.base);
    await chat.addAgent(ALICE);
    await chat.joined(ALICE);
    await say(chat.url, ALICE, 'one');

    const put = await chat.sa.put(self, {
      displayName: 'Alice',
      participantUri: ALICE,
      messageFilterState: 'Disabled',
    });
    expect(put.status).toBe(204);
    await callbackEvent(chat.cb, (e) => e.rel === 'bridgedParticipant' && e.type === 'updated');
    await say(chat.url, ALICE, 'two');
    await eventually(
      () => chat.guest.incomingMessages().map((m) => m.text),
      (texts) => expect(texts).toEqual(['two']),
    );

    const removed = await chat.sa.delete(self);
    expect(removed.status).toBe(204);
    await callbackEvent(chat.cb, (e) => e.rel === 'bridgedParticipant' && e.type === 'deleted');
    await say(chat.url, ALICE, 'three');
    await say(chat.url, ALICE, 'four');
    await eventually(
      () =>
        chat.cb.events().filter((e) => e.rel === 'message' && e.resource?.direction === 'Incoming').length,
      (count) => expect(count).toBe(4),
    );
    expect(chat.guest.incomingMessages().map((m) => m.text)).toEqual(['two']);
    const missing = await chat.sa.get(self);
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe('NotFound');
  });

  it('validates bridged participants: required fields, a SIP URI, Enabled/Disabled', async () => {
    const chat = await bridgedChat(quiet);
    const href = chat.bridgedParticipantsHref;
    const noName = await chat.sa.post(
      href,
      { participantUri: ALICE, messageFilterState: 'Disabled' },
      chat.base,
    );
    expect(noName.status).toBe(400);
    expect(noName.json.message).toBe('displayName: is required');
    const badState = await chat.sa.post(
      href,
      { displayName: 'A', participantUri: ALICE, messageFilterState: 'On' },
      chat.base,
    );
    expect(badState.status).toBe(400);
    expect(String(badState.json.message)).toMatch(/^messageFilterState: must be Enabled or Disabled/);
    const badUri = await chat.sa.post(
      href,
      { displayName: 'A', participantUri: 'alice', messageFilterState: 'Disabled' },
      chat.base,
    );
    expect(badUri.status).toBe(400);
    expect(String(badUri.json.message)).toMatch(/^participantUri: must be a SIP URI/);
  });
});

describe('idempotent SA operations', () => {
  it('treats a repeated operationId on sendMessage and addParticipant as the same operation', async () => {
    const chat = await bridgedChat(quiet);
    const first = await chat.welcome('Welcome!', 'op-w');
    const second = await chat.welcome('Welcome!', 'op-w');
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    const a = await chat.addAgent(ALICE, 'op-add');
    const b = await chat.addAgent(ALICE, 'op-add');
    expect(b.headers.get('location')).toBe(a.headers.get('location'));
    await chat.joined(ALICE);
    await eventually(
      () => chat.guest.incomingMessages(),
      (messages) => expect(messages).toHaveLength(1),
    );
    const welcomes = chat.cb
      .events()
      .filter((e) => e.rel === 'message' && e.type === 'completed' && e.resource?.direction === 'Outgoing');
    expect(welcomes).toHaveLength(1);
    expect(
      chat.cb.events().filter((e) => e.rel === 'participantInvitation' && e.type === 'started'),
    ).toHaveLength(1);
  });

  it('does not start a second meeting for a repeated startAdhocMeeting operationId', async () => {
    const chat = await bridgedChat(quiet);
    const href = link(chat.incoming.resource, 'startAdhocMeeting');
    const before = chat.emu.stats().openMeetings;
    const again = await chat.sa.post(href, { subject: 'help', operationId: 'op-m' }, chat.base);
    expect(again.status).toBe(201);
    expect(chat.emu.stats().openMeetings).toBe(before);
    const other = await chat.sa.post(href, { subject: 'help', operationId: 'op-other' }, chat.base);
    expect(other.status).toBe(201);
    expect(chat.emu.stats().openMeetings).toBe(before + 1);
  });

  it('refuses addParticipant for someone already in the meeting with 409', async () => {
    const chat = await bridgedChat(quiet);
    await chat.addAgent(ALICE, 'op-1');
    await chat.joined(ALICE);
    const again = await chat.sa.post(chat.addParticipantHref, { to: ALICE, operationId: 'op-2' }, chat.base);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'Conflict', subcode: 'AlreadyExists' });
  });
});

describe('ending the chat', () => {
  it('ends the meeting with terminateOnlineMeeting: 204, agents removed, conversation deleted, then 404', async () => {
    const chat = await bridgedChat(quiet);
    await chat.addAgent(ALICE);
    await chat.joined(ALICE);
    const meeting = await callbackEvent(chat.cb, (e) => e.rel === 'onlineMeeting' && e.type === 'added');
    const terminate = await chat.sa.post(link(meeting.resource, 'terminateOnlineMeeting'), {}, chat.base);
    expect(terminate.status).toBe(204);
    await callbackEvent(
      chat.cb,
      (e) => e.rel === 'conversation' && e.type === 'deleted' && pathOf(e.href) === pathOf(chat.confHref),
    );
    expect(
      chat.cb
        .events()
        .some((e) => e.rel === 'participant' && e.type === 'deleted' && e.href.includes('alice@contoso.com')),
    ).toBe(true);
    expect(chat.emu.stats().openMeetings).toBe(0);
    const later = await chat.sa.post(chat.addParticipantHref, { to: BOB, operationId: 'late' }, chat.base);
    expect(later.status).toBe(404);
    expect(later.json.code).toBe('NotFound');
    const agent = await control(chat.url, 'GET', `/agents/${encodeURIComponent(ALICE)}`);
    expect((agent.json.conversations as Array<{ active: boolean }>)[0]?.active).toBe(false);
  });

  it('ends the guest leg when the SA deletes it: the guest sees messaging Disconnected and conversation deleted', async () => {
    const chat = await bridgedChat(quiet);
    const deleted = await chat.sa.delete(chat.p2pHref);
    expect(deleted.status).toBe(204);
    await eventually(
      () => chat.guest.events.find((e) => e.rel === 'conversation' && e.type === 'deleted'),
      (e) => expect(e).toBeDefined(),
    );
    await callbackEvent(
      chat.cb,
      (e) => e.rel === 'conversation' && e.type === 'deleted' && pathOf(e.href) === pathOf(chat.p2pHref),
    );
    expect(chat.emu.stats()).toEqual({ openMeetings: 1, openConversations: 1 });
  });

  it('reports a guest who deletes the whole application like a guest who leaves', async () => {
    const chat = await bridgedChat(quiet);
    const self = resolveHref(link(chat.guest.app, 'self'), chat.guest.base);
    const result = await fetch(self, { method: 'DELETE', headers: chat.guest.headers() });
    expect(result.status).toBe(204);
    await callbackEvent(
      chat.cb,
      (e) => e.rel === 'conversation' && e.type === 'deleted' && pathOf(e.href) === pathOf(chat.p2pHref),
    );
    const events = await fetch(
      resolveHref(withQuery(link(chat.guest.app, 'events'), { ack: '1' }), chat.guest.base),
      {
        headers: chat.guest.headers(),
      },
    );
    expect(events.status).toBe(404);
    expect(await events.text()).toContain('NotFound');
  });
});

describe('forms the sources disagree on', () => {
  it('accepts impersonatedDisplayName on acceptAndBridge and answers 200 when configured so', async () => {
    const { url, emulator: emu } = await emulator({ acceptAndBridgeStatus: 200 });
    const cb = await callbackServer(url);
    emu.setCallbackUrl(DEMO_TENANT.applicationId, cb.url);
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken();
    const guest = new Guest(token);
    await guest.start(discover);
    await guest.invite();
    const incoming = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation');
    await sa.post(link(incoming.resource, 'startAdhocMeeting'), { operationId: 'm' }, incoming.baseuri);
    const meeting = await callbackEvent(
      cb,
      (e) => e.rel === 'onlineMeetingInvitation' && e.type === 'completed',
    );
    const bridged = await sa.post(
      link(incoming.resource, 'acceptAndBridge'),
      {
        onlineMeetingUri: meeting.resource?.onlineMeetingUri,
        impersonatedDisplayName: 'Help Desk (docs form)',
      },
      incoming.baseuri,
    );
    expect(bridged.status).toBe(200);
    await eventually(
      () => guest.events.find((e) => e.rel === 'participant' && e.type === 'added' && !e.in),
      (e) => expect(e?.title).toBe('Help Desk (docs form)'),
    );
    const again = await sa.post(
      link(incoming.resource, 'acceptAndBridge'),
      { onlineMeetingUri: meeting.resource?.onlineMeetingUri },
      incoming.baseuri,
    );
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('Conflict');
    expect(String(again.json.message)).toBe('the invitation is already Connected');
  });

  it('refuses acceptAndBridge to a meeting that does not exist, naming onlineMeetingUri', async () => {
    const { url, emulator: emu } = await emulator();
    const cb = await callbackServer(url);
    emu.setCallbackUrl(DEMO_TENANT.applicationId, cb.url);
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken();
    const guest = new Guest(token);
    await guest.start(discover);
    await guest.invite();
    const incoming = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation');
    const result = await sa.post(
      link(incoming.resource, 'acceptAndBridge'),
      { onlineMeetingUri: 'sip:nomeeting@noammeetings.lync.com;gruu;opaque=app:conf:focus:id:X' },
      incoming.baseuri,
    );
    expect(result.status).toBe(400);
    expect(String(result.json.message)).toMatch(/^onlineMeetingUri: no active ad hoc meeting/);
  });

  it('relays guest HTML to the SA as htmlMessage and SA typing on the guest leg to the guest', async () => {
    const chat = await bridgedChat(quiet);
    expect((await chat.guest.send('<b>bold</b> move', 'text/html; charset=utf-8')).status).toBe(201);
    const html = await callbackEvent(
      chat.cb,
      (e) => e.rel === 'message' && !!link(e.resource, 'htmlMessage'),
    );
    expect(link(html.resource, 'htmlMessage')).toBe(
      'data:text/html;charset=utf-8,%3cb%3ebold%3c%2fb%3e+move',
    );
    const typingHref = chat.p2pSendMessage.replace('/messaging/messages', '/messaging/typing');
    const typing = await chat.sa.postText(typingHref, '', chat.base);
    expect(typing.status).toBe(204);
    await eventually(
      () => chat.guest.events.find((e) => e.in === 'typingParticipants' && e.type === 'added'),
      (e) => expect(e?.title).toBe('Contoso Help Desk'),
    );
    await chat.welcome('done typing');
    await eventually(
      () => chat.guest.events.find((e) => e.in === 'typingParticipants' && e.type === 'deleted'),
      (e) => expect(e?.title).toBe('Contoso Help Desk'),
    );
  });
});

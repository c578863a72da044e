import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.ts';
import { closeAll, control } from './helpers.ts';
import { bridgedChat, callbackEvent } from './scripted.ts';

afterEach(closeAll);

const ALICE = 'sip:alice@contoso.com';
const BOB = 'sip:bob@contoso.com';
const agentPath = (uri: string) => `/agents/${encodeURIComponent(uri)}`;
const completed = (chat: Awaited<ReturnType<typeof bridgedChat>>) =>
  callbackEvent(chat.cb, (e) => e.rel === 'participantInvitation' && e.type === 'completed');

describe('simulated agents', () => {
  it('greets after accepting and answers every customer message verbatim, typing first', async () => {
    const chat = await bridgedChat();
    await chat.bridgeAgent(ALICE, 'Alice', 'Disabled');
    await chat.addAgent(ALICE);
    const invitation = await completed(chat);
    expect(invitation.status).toBe('Success');
    expect(invitation.resource?.state).toBe('Connected');
    await eventually(
      () => chat.guest.incomingMessages().map((m) => m.text),
      (texts) => expect(texts).toEqual(['Hi, this is Alice Agent. How can I help you?']),
    );
    await chat.guest.send('My parcel is late & "lost"');
    await eventually(
      () => chat.guest.incomingMessages().map((m) => m.text),
      (texts) => expect(texts).toContain('You said: "My parcel is late & "lost""'),
    );
    const typing = chat.guest.events.filter((e) => e.in === 'typingParticipants').map((e) => e.type);
    expect(typing).toEqual(['added', 'deleted', 'added', 'deleted']);
  });

  it('completes the invitation with Failure subcode Declined when the agent declines', async () => {
    const chat = await bridgedChat({
      agents: [{ uri: ALICE, name: 'Alice', behaviour: { answer: 'decline', acceptDelayMs: 5 } }],
    });
    await chat.addAgent(ALICE);
    const invitation = await completed(chat);
    expect(invitation.status).toBe('Failure');
    expect(invitation.resource?.state).toBe('Declined');
    expect(invitation.reason).toMatchObject({ code: 'RemoteFailure', subcode: 'Declined' });
    expect(chat.cb.events().some((e) => e.rel === 'participant' && e.resource?.uri === ALICE)).toBe(false);
  });

  it.each([
    ['never answers', { behaviour: { answer: 'never' as const } }],
    ['is offline', { presence: 'offline' as const }],
  ])(
    'completes the invitation with Failure Timeout after the ring timeout when the agent %s',
    async (_, spec) => {
      const chat = await bridgedChat({
        ringTimeoutMs: 120,
        agents: [{ uri: ALICE, name: 'Alice', ...spec }],
      });
      await chat.addAgent(ALICE);
      const invitation = await completed(chat);
      expect(invitation.status).toBe('Failure');
      expect(invitation.resource?.state).toBe('Failed');
      expect(invitation.reason).toMatchObject({ code: 'Timeout', subcode: 'Timeout' });
    },
  );

  it('rings out an address that is not in the roster', async () => {
    const chat = await bridgedChat({ ringTimeoutMs: 80 });
    await chat.addAgent('sip:nobody@contoso.com');
    const invitation = await completed(chat);
    expect(invitation.reason?.subcode).toBe('Timeout');
  });
});

describe('the agent control API', () => {
  it('lists the roster with presence and behaviour', async () => {
    const chat = await bridgedChat();
    const result = await control(chat.url, 'GET', '/agents');
    expect(result.status).toBe(200);
    const agents = result.json.agents as Array<{
      uri: string;
      presence: string;
      behaviour: { answer: string };
    }>;
    expect(agents.map((a) => a.uri)).toEqual([ALICE, BOB, 'sip:carol@contoso.com']);
    expect(agents[0]).toMatchObject({ presence: 'available', behaviour: { answer: 'accept' } });
  });

  it('sets presence and behaviour, and rejects unknown values with 400 naming the field', async () => {
    const chat = await bridgedChat();
    const presence = await control(chat.url, 'PUT', `${agentPath(BOB)}/presence`, { presence: 'busy' });
    expect(presence.status).toBe(200);
    expect(presence.json.presence).toBe('busy');
    const behaviour = await control(chat.url, 'PUT', '/agents/bob@contoso.com/behaviour', {
      answer: 'manual',
      typingMs: 0,
    });
    expect(behaviour.json.behaviour).toMatchObject({ answer: 'manual', typingMs: 0, autoReply: true });
    const bad = await control(chat.url, 'PUT', `${agentPath(BOB)}/presence`, { presence: 'asleep' });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('BadRequest');
    expect(String(bad.json.message)).toMatch(/^presence:/);
    const unknown = await control(chat.url, 'PUT', '/agents/zed@contoso.com/presence', { presence: 'busy' });
    expect(unknown.status).toBe(404);
    expect(String(unknown.json.message)).toContain('zed@contoso.com');
  });

  it('lets a client accept for a manual agent, then type, send and leave', async () => {
    const chat = await bridgedChat();
    await control(chat.url, 'PUT', `${agentPath(BOB)}/behaviour`, {
      answer: 'manual',
      greeting: '',
      autoReply: false,
    });
    await chat.bridgeAgent(BOB, 'Bob', 'Disabled');
    await chat.addAgent(BOB);
    const ringing = await eventually(
      () => control(chat.url, 'GET', agentPath(BOB)),
      (agent) => expect(agent.json.ringing).toHaveLength(1),
    );
    const invitationId = (ringing.json.ringing as Array<{ invitationId: string }>)[0]!.invitationId;
    const accepted = await control(chat.url, 'POST', `${agentPath(BOB)}/accept`, { invitationId });
    expect(accepted.status).toBe(200);
    await chat.joined(BOB);

    expect((await control(chat.url, 'POST', `${agentPath(BOB)}/typing`, {})).status).toBe(200);
    await eventually(
      () => chat.guest.events.find((e) => e.in === 'typingParticipants' && e.type === 'added'),
      (e) => expect(e?.title).toBe('Bob'),
    );
    const sent = await control(chat.url, 'POST', `${agentPath(BOB)}/messages`, {
      html: '<p>Hello <b>there</b></p>',
    });
    expect(sent.status).toBe(201);
    await eventually(
      () => chat.guest.incomingMessages(),
      (messages) => expect(messages).toContainEqual({ text: '<p>Hello <b>there</b></p>', title: 'Bob' }),
    );
    const html = chat.guest.events.find((e) => e.rel === 'message' && e.resource?._links?.htmlMessage);
    expect(html?.resource?._links?.htmlMessage?.href).toBe(
      'data:text/html;charset=utf-8,%3cp%3eHello+%3cb%3ethere%3c%2fb%3e%3c%2fp%3e',
    );

    const left = await control(chat.url, 'POST', `${agentPath(BOB)}/leave`, {});
    expect(left.status).toBe(200);
    await callbackEvent(
      chat.cb,
      (e) => e.rel === 'participant' && e.type === 'deleted' && e.href.includes('bob@contoso.com'),
    );
    const again = await control(chat.url, 'POST', `${agentPath(BOB)}/messages`, { text: 'still here?' });
    expect(again.status).toBe(409);
    expect(String(again.json.message)).toMatch(/not in any conversation/);
  });

  it('lets a client decline for a manual agent', async () => {
    const chat = await bridgedChat();
    await control(chat.url, 'PUT', `${agentPath(BOB)}/behaviour`, { answer: 'manual' });
    await chat.addAgent(BOB);
    await eventually(
      () => control(chat.url, 'POST', `${agentPath(BOB)}/decline`, {}),
      (result) => expect(result.status).toBe(200),
    );
    const invitation = await completed(chat);
    expect(invitation.reason?.subcode).toBe('Declined');
  });

  it('answers 409 when nothing rings for the agent and 400 for a bad message body', async () => {
    const chat = await bridgedChat();
    const nothing = await control(chat.url, 'POST', `${agentPath(ALICE)}/accept`, {});
    expect(nothing.status).toBe(409);
    expect(String(nothing.json.message)).toMatch(/nothing is ringing/);
    const both = await control(chat.url, 'POST', `${agentPath(ALICE)}/messages`, { text: 'a', html: 'b' });
    expect(both.status).toBe(400);
    expect(String(both.json.message)).toMatch(/exactly one of text or html/);
  });

  it('records what the agent saw: the guest, the messages and who types', async () => {
    const chat = await bridgedChat({
      agentBehaviour: { acceptDelayMs: 5, typingMs: 0, greeting: '', autoReply: false },
    });
    await chat.bridgeAgent(ALICE, 'Alice', 'Disabled');
    await chat.addAgent(ALICE);
    await chat.joined(ALICE);
    await chat.guest.send('hello agent');
    const agent = await eventually(
      () => control(chat.url, 'GET', agentPath(ALICE)),
      (result) => {
        const conv = (result.json.conversations as Array<{ messages: Array<{ text: string }> }>)[0];
        expect(conv?.messages.map((m) => m.text)).toEqual(['hello agent']);
      },
    );
    const conv = (agent.json.conversations as Array<Record<string, unknown>>)[0]!;
    expect(conv).toMatchObject({
      active: true,
      guests: [{ name: 'Janardhan' }],
      meetingUri: chat.meetingUri,
    });
  });
});

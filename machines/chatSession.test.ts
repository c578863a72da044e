import { describe, expect, it } from 'vitest';
import { type Actor, assign, createActor, fromPromise } from 'xstate';
import {
  type AcceptAndBridgeInput,
  type AddBridgedParticipantInput,
  type AddMessagingInput,
  type AddParticipantInput,
  type ChatSessionInput,
  type ChatSettings,
  chatSessionMachine,
  type SendMessageInput,
  type StartAdhocMeetingInput,
  type TeardownInput,
  type TimerName,
} from './chatSession.ts';
import type { CallbackEvent } from './events.ts';

const BASE = 'https://pool.example/platformservice/tgt-1/v1/applications/42/communication';
const P2P = `${BASE}/conversations/p2p-1`;
const CONF = `${BASE}/conversations/conf-1`;
const MEETING_URI = 'sip:meet1@pool.example;gruu;opaque=app:conf:focus:id:X';

const settings: ChatSettings = {
  helpdeskName: 'Contoso Help Desk',
  welcomeText: 'Welcome! An agent will be with you shortly.',
  meetingSubject: 'Customer chat',
  apologyText: 'Sorry, nobody can take your chat right now.',
  maxAttempts: 3,
  retryBaseMs: 100,
  stepTimeoutMs: 30_000,
};

function input(agents = [{ uri: 'sip:alice@contoso.com', name: 'Alice' }]): ChatSessionInput {
  return {
    sessionId: 's1',
    settings,
    agents,
    invitation: {
      type: 'callback.invitationReceived',
      invitationHref: `${BASE}/messagingInvitations/inv-1`,
      conversationHref: P2P,
      from: { uri: 'sip:123@anonymous.invalid', name: 'Jane' },
      links: {
        acceptAndBridge: `${BASE}/messagingInvitations/inv-1/acceptAndBridge`,
        startAdhocMeeting: `${BASE}/onlineMeetingInvitations/startAdhocMeeting`,
        decline: `${BASE}/messagingInvitations/inv-1/decline`,
      },
    },
  };
}

interface Harness {
  actor: Actor<typeof chatSessionMachine>;
  calls: Array<{ effect: string; input: unknown }>;
  clock: { now: number };
  fail: Map<string, Array<{ retryable: boolean; code: string }>>;
  send: (event: CallbackEvent | { type: TimerName; at: number } | { type: 'chat.close' }) => void;
  flush: () => Promise<void>;
  states: string[];
}

/** The machine with fake side effects (recording their inputs) and a clock the test moves. */
function harness(
  agents?: ChatSessionInput['agents'],
  failures: Record<string, Array<{ retryable: boolean; code: string }>> = {},
): Harness {
  const calls: Harness['calls'] = [];
  const clock = { now: 1_000 };
  const fail: Harness['fail'] = new Map(Object.entries(failures));
  const effect = <I, O>(name: string, output: (input: I) => O) =>
    fromPromise<O, I>(async ({ input }) => {
      calls.push({ effect: name, input });
      const failure = fail.get(name)?.shift();
      if (failure) throw Object.assign(new Error(`${name} failed`), failure);
      return output(input);
    });
  const machine = chatSessionMachine.provide({
    actors: {
      startAdhocMeeting: effect<StartAdhocMeetingInput, void>('startAdhocMeeting', () => undefined),
      addMessaging: effect<AddMessagingInput, void>('addMessaging', () => undefined),
      acceptAndBridge: effect<AcceptAndBridgeInput, void>('acceptAndBridge', () => undefined),
      addBridgedParticipant: effect<AddBridgedParticipantInput, void>(
        'addBridgedParticipant',
        () => undefined,
      ),
      sendMessage: effect<SendMessageInput, { location?: string }>('sendMessage', (i) => ({
        location: `${P2P}/messaging/messages/${i.operationId}`,
      })),
      addParticipant: effect<AddParticipantInput, void>('addParticipant', () => undefined),
      teardown: effect<TeardownInput, void>('teardown', () => undefined),
    },
    actions: {
      setDeadline: assign(({ context }, params: { timer: TimerName; delayMs: number }) => ({
        deadlines: { ...context.deadlines, [params.timer]: clock.now + params.delayMs },
      })),
    },
  });
  const actor = createActor(machine, { input: input(agents) });
  const states: string[] = [];
  actor.subscribe((snapshot) => {
    const top = typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0]!;
    if (states.at(-1) !== top) states.push(top);
  });
  actor.start();
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { actor, calls, clock, fail, send: (event) => actor.send(event as never), flush, states };
}

async function driveToConference(h: Harness) {
  await h.flush();
  h.send({
    type: 'callback.invitationStarted',
    kind: 'onlineMeeting',
    direction: 'Outgoing',
    invitationHref: `${BASE}/onlineMeetingInvitations/omi-1`,
    operationId: 's1.adhocMeeting',
    conversationHref: CONF,
    onlineMeetingUri: MEETING_URI,
  });
  h.send({ type: 'callback.conversationUpdated', conversationHref: CONF, state: 'Connecting', links: {} });
  h.send({
    type: 'callback.conversationConferenced',
    conversationHref: CONF,
    links: { addParticipant: `${BASE}/participantInvitations?conversationId=conf-1` },
  });
  h.send({ type: 'callback.onlineMeetingAdded', conversationHref: CONF, onlineMeetingUri: MEETING_URI });
  h.send({
    type: 'callback.messagingUpdated',
    conversationHref: CONF,
    state: 'Disconnected',
    links: { addMessaging: `${BASE}/messagingInvitations?conversationId=conf-1` },
  });
  h.send({
    type: 'callback.invitationCompleted',
    kind: 'onlineMeeting',
    direction: 'Outgoing',
    invitationHref: `${BASE}/onlineMeetingInvitations/omi-1`,
    operationId: 's1.adhocMeeting',
    status: 'Success',
  });
  await h.flush();
}

async function driveToBridge(h: Harness) {
  await driveToConference(h);
  h.send({
    type: 'callback.bridgeAdded',
    conversationHref: P2P,
    bridgeHref: `${P2P}/conversationBridge`,
    bridgedParticipantsHref: `${P2P}/conversationBridge/bridgedParticipants`,
  });
  h.send({
    type: 'callback.messagingUpdated',
    conversationHref: P2P,
    state: 'Connected',
    links: { sendMessage: `${P2P}/messaging/messages` },
  });
  await h.flush();
}

async function driveToWelcome(h: Harness) {
  await driveToBridge(h);
  h.send({
    type: 'callback.messageCompleted',
    conversationHref: P2P,
    messageHref: `${P2P}/messaging/messages/s1.welcome`,
    direction: 'Outgoing',
    status: 'Success',
  });
  await h.flush();
}

const agentJoined = (uri = 'sip:alice@contoso.com'): CallbackEvent => ({
  type: 'callback.participantAdded',
  conversationHref: CONF,
  participantHref: `${CONF}/participants/${uri.slice(4)}`,
  uri,
  name: 'Alice',
  links: {},
});

describe('chat session machine', () => {
  it('walks the documented states in order on the happy path', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({ type: 'callback.conversationDeleted', conversationHref: P2P });
    await h.flush();
    expect(h.states).toEqual([
      'invited',
      'adhocMeeting',
      'conferenced',
      'bridged',
      'welcomed',
      'agentsJoined',
      'closed',
      'terminated',
    ]);
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.actor.getSnapshot().context.outcome).toBe('completed');
  });

  it('gives every side effect its own operationId derived from the session', async () => {
    const h = harness();
    await driveToWelcome(h);
    expect(h.actor.getSnapshot().context.operations).toEqual([
      's1.adhocMeeting',
      's1.addMessaging',
      's1.acceptAndBridge',
      's1.welcome',
      's1.invite.0',
    ]);
  });

  it('bridges with the SIP meeting URI and the helpdesk display name, and relays the agent (filter Disabled)', async () => {
    const h = harness();
    await driveToBridge(h);
    expect(h.calls.find((c) => c.effect === 'acceptAndBridge')?.input).toMatchObject({
      onlineMeetingUri: MEETING_URI,
      localUserDisplayName: 'Contoso Help Desk',
    });
    expect(h.calls.find((c) => c.effect === 'addBridgedParticipant')?.input).toMatchObject({
      participantUri: 'sip:alice@contoso.com',
      messageFilterState: 'Disabled',
    });
  });

  it('terminates the conference when the customer leaves after the agents joined', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({ type: 'callback.conversationDeleted', conversationHref: P2P });
    await h.flush();
    const teardown = h.calls.find((c) => c.effect === 'teardown')?.input as TeardownInput;
    expect(teardown).toMatchObject({ reason: 'completed', conferenceHref: CONF });
    expect(teardown.declineHref).toBeUndefined();
  });

  it('retries a retryable failure after the backoff deadline, with the same operationId', async () => {
    const h = harness(undefined, { startAdhocMeeting: [{ retryable: true, code: 'ServiceUnavailable' }] });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toEqual({ invited: 'backoff' });
    const at = snapshot.context.deadlines['timer.retry']!;
    expect(at).toBeGreaterThan(h.clock.now);
    h.send({ type: 'timer.retry', at: at - 1 }); // a stale firing is ignored
    await h.flush();
    expect(h.actor.getSnapshot().value).toEqual({ invited: 'backoff' });
    h.send({ type: 'timer.retry', at });
    await h.flush();
    const attempts = h.calls.filter((c) => c.effect === 'startAdhocMeeting');
    expect(attempts).toHaveLength(2);
    expect(attempts.map((c) => (c.input as { operationId: string }).operationId)).toEqual([
      's1.adhocMeeting',
      's1.adhocMeeting',
    ]);
    expect(h.actor.getSnapshot().value).toBe('adhocMeeting');
  });

  it('fails cleanly on a non-retryable error: declines the invitation and ends terminated', async () => {
    const h = harness(undefined, { startAdhocMeeting: [{ retryable: false, code: 'Forbidden' }] });
    await h.flush();
    // No meeting href is known yet: wait (bounded) for a late meeting report, then release.
    const at = h.actor.getSnapshot().context.deadlines['timer.stepTimeout']!;
    h.send({ type: 'timer.stepTimeout', at });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('failed');
    expect(snapshot.context.error).toMatchObject({ step: 'startAdhocMeeting', code: 'Forbidden' });
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'failed',
      declineHref: `${BASE}/messagingInvitations/inv-1/decline`,
    });
  });

  it('gives up after maxAttempts retryable failures', async () => {
    const boom = { retryable: true, code: 'ServiceFailure' };
    const h = harness(undefined, { startAdhocMeeting: [boom, boom, boom] });
    await h.flush();
    for (let i = 0; i < 2; i++) {
      h.send({ type: 'timer.retry', at: h.actor.getSnapshot().context.deadlines['timer.retry']! });
      await h.flush();
    }
    expect(h.calls.filter((c) => c.effect === 'startAdhocMeeting')).toHaveLength(3);
    expect(h.actor.getSnapshot().matches('failed')).toBe(true);
  });

  it('abandons before the bridge and still terminates the meeting it created', async () => {
    const h = harness();
    await driveToConference(h);
    h.send({ type: 'callback.conversationDeleted', conversationHref: P2P });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('abandoned');
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'abandoned',
      conferenceHref: CONF,
    });
  });

  it('moves to the next agent when the first declines, bridging that one too', async () => {
    const h = harness([
      { uri: 'sip:alice@contoso.com', name: 'Alice' },
      { uri: 'sip:bob@contoso.com', name: 'Bob' },
    ]);
    await driveToWelcome(h);
    h.send({
      type: 'callback.invitationCompleted',
      kind: 'participant',
      direction: 'Outgoing',
      invitationHref: `${BASE}/participantInvitations/p1`,
      operationId: 's1.invite.0',
      status: 'Failure',
      reason: { code: 'RemoteFailure', subcode: 'Declined' },
    });
    await h.flush();
    const bridged = h.calls.filter((c) => c.effect === 'addBridgedParticipant').map((c) => c.input);
    expect(bridged).toMatchObject([
      { participantUri: 'sip:alice@contoso.com' },
      { participantUri: 'sip:bob@contoso.com' },
    ]);
    expect(h.calls.filter((c) => c.effect === 'addParticipant').map((c) => c.input)).toMatchObject([
      { to: 'sip:alice@contoso.com', operationId: 's1.invite.0' },
      { to: 'sip:bob@contoso.com', operationId: 's1.invite.1' },
    ]);
    h.send(agentJoined('sip:bob@contoso.com'));
    await h.flush();
    expect(h.actor.getSnapshot().value).toBe('agentsJoined');
  });

  it('apologises and releases everything when no agent answers', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send({ type: 'timer.stepTimeout', at: h.actor.getSnapshot().context.deadlines['timer.stepTimeout']! });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('noAgent');
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'noAgent',
      conferenceHref: CONF,
      apology: { text: settings.apologyText, operationId: 's1.apology' },
    });
  });

  it('emits relayed messages and typing for the transcript, and ignores unexpected callbacks', async () => {
    const h = harness();
    const emitted: unknown[] = [];
    h.actor.on('*', (e) => emitted.push(e));
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({
      type: 'callback.typing',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice`,
      name: 'Alice',
      isTyping: true,
    });
    h.send({
      type: 'callback.messageCompleted',
      conversationHref: CONF,
      messageHref: `${CONF}/messaging/messages/7`,
      direction: 'Incoming',
      status: 'Success',
      text: 'Hello, how can I help?',
      sender: { name: 'Alice' },
    });
    h.send({ type: 'callback.bridgeAdded', conversationHref: P2P, bridgeHref: `${P2P}/conversationBridge` });
    await h.flush();
    expect(emitted).toContainEqual({ type: 'chat.typing', isTyping: true, from: 'Alice', leg: 'conference' });
    expect(emitted).toContainEqual({
      type: 'chat.message',
      direction: 'Incoming',
      text: 'Hello, how can I help?',
      from: 'Alice',
      leg: 'conference',
    });
    expect(emitted).toContainEqual({
      type: 'chat.ignored',
      eventType: 'callback.bridgeAdded',
      why: 'not expected in this state',
    });
    expect(h.actor.getSnapshot().value).toBe('agentsJoined');
  });

  it('survives a JSON round trip of its snapshot mid-wait and goes on from there', async () => {
    const h = harness();
    await driveToConference(h);
    await h.flush();
    const persisted = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));
    h.actor.stop();
    const calls: string[] = [];
    const restored = createActor(
      chatSessionMachine.provide({
        actors: {
          acceptAndBridge: fromPromise(async () => {
            calls.push('acceptAndBridge');
          }),
          addBridgedParticipant: fromPromise(async () => {
            calls.push('addBridgedParticipant');
          }),
        },
      }),
      { snapshot: persisted, input: input() },
    );
    restored.start();
    expect(restored.getSnapshot().value).toEqual({ conferenced: 'awaitingBridge' });
    restored.send({
      type: 'callback.bridgeAdded',
      conversationHref: P2P,
      bridgeHref: `${P2P}/conversationBridge`,
      bridgedParticipantsHref: `${P2P}/conversationBridge/bridgedParticipants`,
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(restored.getSnapshot().matches('bridged')).toBe(true);
    expect(calls).toEqual(['addBridgedParticipant']);
  });
});

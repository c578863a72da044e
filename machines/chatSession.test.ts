import { describe, expect, it } from 'vitest';
import { type Actor, assign, createActor, fromPromise } from 'xstate';
import { agentOfferMachine, type RemoveBridgedParticipantInput } from './agentOffer.ts';
import {
  type AcceptAndBridgeInput,
  type AddBridgedParticipantInput,
  type AddMessagingInput,
  type AddParticipantInput,
  type AgentCandidate,
  type ChatSessionInput,
  type ChatSettings,
  chatSessionMachine,
  type EjectParticipantsInput,
  type RelayMessagesInput,
  type RelayMessagesOutput,
  type SendMessageInput,
  type StartAdhocMeetingInput,
  type TeardownInput,
  type TimerName,
  type UpdateBridgedParticipantInput,
} from './chatSession/index.ts';
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
  offerTimeoutMs: 20_000,
  queueUpdateMs: 30_000,
  maxQueueWaitMs: 300_000,
  fallbackText: 'All agents are busy; we kept your messages.',
  customerIdleMs: 600_000,
  idleGraceMs: 60_000,
  idleWarningText: 'Are you still there?',
  agentLeftText: 'Your agent had to leave; finding another.',
  agentReplyMs: 120_000,
  agentNudgeText: 'Customer waiting.',
  handoverHistory: 20,
};

function input(open = true): ChatSessionInput {
  return {
    sessionId: 's1',
    settings,
    open,
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
  routing: unknown[];
}

/** The machine with fake side effects (recording their inputs) and a clock the test moves. */
function harness(
  agents: AgentCandidate[] | 'queue' = [{ uri: 'sip:alice@contoso.com', name: 'Alice' }],
  failures: Record<string, Array<{ retryable: boolean; code: string }>> = {},
  open = true,
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
      sendMessage: effect<SendMessageInput, { location?: string }>('sendMessage', (i) => ({
        location: `${P2P}/messaging/messages/${i.operationId}`,
      })),
      addParticipant: effect<AddParticipantInput, void>('addParticipant', () => undefined),
      teardown: effect<TeardownInput, void>('teardown', () => undefined),
      updateBridgedParticipant: effect<UpdateBridgedParticipantInput, void>(
        'updateBridgedParticipant',
        () => undefined,
      ),
      ejectParticipants: effect<EjectParticipantsInput, void>('ejectParticipants', () => undefined),
      relayMessages: effect<RelayMessagesInput, RelayMessagesOutput>('relayMessages', (i) => ({
        sent: i.lines.map((l) => ({ operationId: l.operationId, text: `${l.from}: ${l.text}` })),
      })),
      agentOffer: agentOfferMachine.provide({
        actors: {
          addBridgedParticipant: effect<AddBridgedParticipantInput, { location?: string }>(
            'addBridgedParticipant',
            (i) => ({
              location: `${i.href}/${i.participantUri.slice(4)}`,
            }),
          ),
          addParticipant: effect<AddParticipantInput, void>('addParticipant', () => undefined),
          removeBridgedParticipant: effect<RemoveBridgedParticipantInput, void>(
            'removeBridgedParticipant',
            () => undefined,
          ),
        },
        actions: {
          setDeadline: assign(
            ({ context }, params: { timer: 'timer.offerExpired' | 'timer.retry'; delayMs: number }) => ({
              deadlines: { ...context.deadlines, [params.timer]: clock.now + params.delayMs },
            }),
          ),
        },
      }),
    },
    actions: {
      setDeadline: assign(({ context }, params: { timer: TimerName; delayMs: number }) => ({
        deadlines: { ...context.deadlines, [params.timer]: clock.now + params.delayMs },
      })),
      setDeadlineOnce: assign(({ context }, params: { timer: TimerName; delayMs: number }) =>
        context.deadlines[params.timer] !== undefined
          ? {}
          : { deadlines: { ...context.deadlines, [params.timer]: clock.now + params.delayMs } },
      ),
    },
  });
  const actor = createActor(machine, { input: input(open) });
  const routing: unknown[] = [];
  // A stand-in for the router: hand out the agents in order, skipping those already tried.
  actor.on('*', (emitted) => {
    const e = emitted as { type: string; exclude?: string[] };
    if (!e.type.startsWith('routing.')) return;
    routing.push(e);
    if (e.type !== 'routing.request') return;
    queueMicrotask(() => {
      if (agents === 'queue') {
        actor.send({ type: 'queue.update', position: 1, message: 'You are number 1 in the queue.' });
        return;
      }
      const next = agents.find((a) => !e.exclude?.includes(a.uri));
      actor.send(
        next
          ? { type: 'agent.assigned', agent: next, assignment: { winner: next.uri } }
          : { type: 'routing.unavailable', reason: 'every agent declined or did not answer' },
      );
    });
  });
  const states: string[] = [];
  actor.subscribe((snapshot) => {
    const top = typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0]!;
    if (states.at(-1) !== top) states.push(top);
  });
  actor.start();
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { actor, calls, clock, fail, send: (event) => actor.send(event as never), flush, states, routing };
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
      's1.offer.0',
    ]);
  });

  it('bridges with the SIP meeting URI and the helpdesk display name, and relays the agent (filter Disabled)', async () => {
    const h = harness();
    await driveToWelcome(h);
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
    // A definite refusal created no meeting: nothing to wait for.
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('failed');
    expect(snapshot.context.error).toMatchObject({ step: 'startAdhocMeeting', code: 'Forbidden' });
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'failed',
      declineHref: `${BASE}/messagingInvitations/inv-1/decline`,
    });
  });

  it('declines at once when the meeting cannot be created, then ends a meeting that reports itself late', async () => {
    const timeout = { retryable: true, code: 'Timeout' };
    const h = harness(undefined, { startAdhocMeeting: [timeout, timeout, timeout] });
    await h.flush();
    for (let i = 0; i < 2; i++) {
      h.send({ type: 'timer.retry', at: h.actor.getSnapshot().context.deadlines['timer.retry']! });
      await h.flush();
    }
    // The customer is declined without waiting; the wait for the meeting goes on behind it.
    const first = h.calls.filter((c) => c.effect === 'teardown');
    expect(first.map((c) => c.input)).toEqual([
      expect.objectContaining({ declineHref: `${BASE}/messagingInvitations/inv-1/decline` }),
    ]);
    expect((first[0]!.input as TeardownInput).conferenceHref).toBeUndefined();
    expect(h.actor.getSnapshot().value).toEqual({ failed: 'awaitingConference' });
    expect(h.actor.getSnapshot().context.deadlines['timer.stepTimeout']).toBeDefined();
    // The meeting of an attempt that timed out reports itself: it is deleted, the customer left alone.
    h.send({
      type: 'callback.invitationStarted',
      kind: 'onlineMeeting',
      direction: 'Outgoing',
      invitationHref: `${BASE}/onlineMeetingInvitations/omi-1`,
      operationId: 's1.adhocMeeting',
      conversationHref: CONF,
    });
    await h.flush();
    const teardowns = h.calls.filter((c) => c.effect === 'teardown').map((c) => c.input as TeardownInput);
    expect(teardowns).toHaveLength(2);
    expect(teardowns[1]).toEqual({ sessionId: 's1', reason: 'failed', conferenceHref: CONF });
    expect(h.actor.getSnapshot().value).toBe('terminated');
  });

  it('stops waiting for a late meeting at the step deadline', async () => {
    const busy = { retryable: true, code: 'ServiceFailure' };
    const h = harness(undefined, { startAdhocMeeting: [busy, busy, busy] });
    await h.flush();
    for (let i = 0; i < 2; i++) {
      h.send({ type: 'timer.retry', at: h.actor.getSnapshot().context.deadlines['timer.retry']! });
      await h.flush();
    }
    expect(h.actor.getSnapshot().value).toEqual({ failed: 'awaitingConference' });
    h.send({
      type: 'timer.stepTimeout',
      at: h.actor.getSnapshot().context.deadlines['timer.stepTimeout']!,
    });
    await h.flush();
    expect(h.actor.getSnapshot().value).toBe('terminated');
    expect(h.calls.filter((c) => c.effect === 'teardown')).toHaveLength(1);
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
      operationId: 's1.offer.0',
      status: 'Failure',
      reason: { code: 'RemoteFailure', subcode: 'Declined' },
    });
    await h.flush();
    const bridged = h.calls.filter((c) => c.effect === 'addBridgedParticipant').map((c) => c.input);
    expect(bridged).toMatchObject([
      { participantUri: 'sip:alice@contoso.com', messageFilterState: 'Disabled' },
      { participantUri: 'sip:bob@contoso.com', messageFilterState: 'Disabled' },
    ]);
    // The declined agent's bridge entry is taken back.
    expect(h.calls.filter((c) => c.effect === 'removeBridgedParticipant')).toHaveLength(1);
    expect(h.calls.filter((c) => c.effect === 'addParticipant').map((c) => c.input)).toMatchObject([
      { to: 'sip:alice@contoso.com', operationId: 's1.offer.0' },
      { to: 'sip:bob@contoso.com', operationId: 's1.offer.1' },
    ]);
    expect(h.routing).toContainEqual({
      type: 'routing.request',
      sessionId: 's1',
      exclude: ['sip:alice@contoso.com'],
    });
    h.send(agentJoined('sip:bob@contoso.com'));
    await h.flush();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'active' } })).toBe(true);
  });

  it('withdraws an offer that rings too long, and apologises when nobody is left', async () => {
    const h = harness();
    await driveToWelcome(h);
    const offer = h.actor.getSnapshot().children.offer!;
    const at = (offer.getSnapshot() as { context: { deadlines: Record<string, number> } }).context.deadlines[
      'timer.offerExpired'
    ]!;
    expect(at).toBe(h.clock.now + settings.offerTimeoutMs);
    offer.send({ type: 'timer.offerExpired', at });
    await h.flush();
    expect(h.routing).toContainEqual(
      expect.objectContaining({
        type: 'routing.offerEnded',
        result: 'expired',
        agent: expect.objectContaining({ uri: 'sip:alice@contoso.com' }),
      }),
    );
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('noAgent');
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'noAgent',
      conferenceHref: CONF,
      apology: { text: settings.apologyText, operationId: 's1.apology' },
    });
  });

  it('keeps a queued customer informed, then falls back when the wait runs out', async () => {
    const h = harness('queue');
    await driveToWelcome(h);
    expect(h.actor.getSnapshot().value).toEqual({ welcomed: { queued: 'waiting' } });
    const waitMessages = () =>
      h.calls.filter(
        (c) => c.effect === 'sendMessage' && (c.input as SendMessageInput).operationId.includes('.wait.'),
      );
    expect(waitMessages().map((c) => c.input)).toMatchObject([
      { text: 'You are number 1 in the queue.', operationId: 's1.wait.0' },
    ]);
    // Every queueUpdateMs the session asks routing where it stands and tells the customer again.
    h.clock.now += settings.queueUpdateMs;
    h.send({ type: 'timer.queueUpdate', at: h.actor.getSnapshot().context.deadlines['timer.queueUpdate']! });
    await h.flush();
    expect(h.routing).toContainEqual({ type: 'routing.status', sessionId: 's1' });
    h.send({ type: 'queue.update', position: 1, message: 'Still number 1.' } as never);
    await h.flush();
    expect(waitMessages().map((c) => (c.input as SendMessageInput).operationId)).toEqual([
      's1.wait.0',
      's1.wait.1',
    ]);
    // The maximum wait was set once, on entry, and is not pushed back by updates.
    const expires = h.actor.getSnapshot().context.deadlines['timer.queueExpired']!;
    expect(expires).toBe(1_000 + settings.maxQueueWaitMs);
    h.send({ type: 'timer.queueExpired', at: expires });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('queueTimeout');
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'queueTimeout',
      conferenceHref: CONF,
      apology: { text: settings.fallbackText },
    });
  });

  it('declines a chat outside business hours without creating a meeting', async () => {
    const h = harness(undefined, {}, false);
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('outsideHours');
    expect(h.calls.map((c) => c.effect)).toEqual(['teardown']);
    expect(h.calls[0]!.input).toMatchObject({ declineHref: `${BASE}/messagingInvitations/inv-1/decline` });
    expect((h.calls[0]!.input as TeardownInput).conferenceHref).toBeUndefined();
  });

  it('routes again, telling the customer, when the only agent leaves mid-chat', async () => {
    const h = harness([
      { uri: 'sip:alice@contoso.com', name: 'Alice' },
      { uri: 'sip:bob@contoso.com', name: 'Bob' },
    ]);
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    h.send({
      type: 'callback.participantDeleted',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice@contoso.com`,
      links: {},
    });
    await h.flush();
    expect(h.routing).toContainEqual(
      expect.objectContaining({
        type: 'routing.agentLeft',
        agent: expect.objectContaining({ uri: 'sip:alice@contoso.com' }),
      }),
    );
    expect(h.calls.find((c) => (c.input as SendMessageInput).text === settings.agentLeftText)).toBeDefined();
    // Routing hands out Alice again first (she is not excluded: she left, she did not decline).
    expect(h.actor.getSnapshot().value).toEqual({ welcomed: 'offering' });
  });

  it.each([
    ['its messaging ends first (as the platform reports it)', true],
    ['its agents are reported removed first', false],
  ])('completes a chat whose meeting ends with an agent in it: %s', async (_, messagingFirst) => {
    const h = harness([
      { uri: 'sip:alice@contoso.com', name: 'Alice' },
      { uri: 'sip:bob@contoso.com', name: 'Bob' },
    ]);
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    if (messagingFirst)
      h.send({ type: 'callback.messagingUpdated', conversationHref: CONF, state: 'Disconnected', links: {} });
    h.send({
      type: 'callback.participantDeleted',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice@contoso.com`,
      links: {},
    });
    await h.flush();
    h.send({ type: 'callback.conversationDeleted', conversationHref: CONF });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('completed');
    expect(snapshot.context.error).toBeUndefined();
    // The meeting is gone; the customer, still there, is let go.
    expect(h.calls.filter((c) => c.effect === 'teardown').at(-1)?.input).toMatchObject({
      reason: 'completed',
      customerConversationHref: P2P,
    });
  });

  it('does not hold a platform failure of an offer against the agent: waits, then routes again', async () => {
    const h = harness([{ uri: 'sip:alice@contoso.com', name: 'Alice' }]);
    await driveToWelcome(h);
    // Alice's phone rings; the platform fails the invitation (not a decline, not a ring-out).
    h.send({
      type: 'callback.invitationCompleted',
      kind: 'participant',
      direction: 'Outgoing',
      invitationHref: `${BASE}/participantInvitations/pi-0`,
      operationId: 's1.offer.0',
      status: 'Failure',
      state: 'Failed',
      reason: { code: 'ServiceFailure', message: 'the platform failed' },
    });
    await h.flush();
    expect(h.routing).toContainEqual(
      expect.objectContaining({ type: 'routing.offerEnded', result: 'failed', reason: 'ServiceFailure' }),
    );
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toEqual({ welcomed: 'offerBackoff' });
    expect(snapshot.context.tried).toEqual([]);
    expect(snapshot.context.assignments.at(-1)).toMatchObject({
      offer: { result: 'failed', fault: 'platform', countsAsMissed: false },
    });
    h.send({ type: 'timer.retry', at: snapshot.context.deadlines['timer.retry']! });
    await h.flush();
    // Alice is offered the chat again: she was not tried, the platform failed.
    expect(h.actor.getSnapshot().value).toEqual({ welcomed: 'offering' });
    expect(h.actor.getSnapshot().context.offers).toBe(2);
  });

  it('keeps what the customer writes before an agent joins and relays it to that agent first, once', async () => {
    const h = harness('queue');
    await driveToWelcome(h);
    const customerSays = (n: number, text: string): CallbackEvent => ({
      type: 'callback.messageCompleted',
      conversationHref: CONF,
      messageHref: `${CONF}/messaging/messages/${n}`,
      direction: 'Incoming',
      status: 'Success',
      text,
      timestamp: `2026-01-05T10:4${n}:00.000Z`,
      sender: { uri: 'sip:123@anonymous.invalid', name: 'Jane' },
    });
    h.send(customerSays(1, 'my invoice is wrong'));
    h.send(customerSays(1, 'my invoice is wrong')); // the same callback twice
    h.send(customerSays(2, 'order 1234'));
    await h.flush();
    expect(h.actor.getSnapshot().context.backlog.map((l) => l.text)).toEqual([
      'my invoice is wrong',
      'order 1234',
    ]);
    // An agent becomes free and joins.
    h.actor.send({
      type: 'agent.assigned',
      agent: { uri: 'sip:alice@contoso.com', name: 'Alice' },
      assignment: { winner: 'sip:alice@contoso.com' },
    });
    await h.flush();
    h.send(agentJoined());
    await h.flush();
    const relays = h.calls
      .filter((c) => c.effect === 'relayMessages')
      .map((c) => c.input as RelayMessagesInput);
    expect(relays).toHaveLength(1);
    expect(relays[0]!.lines).toEqual([
      expect.objectContaining({
        label: 'beforeJoined',
        from: 'Jane',
        text: 'my invoice is wrong',
        operationId: 's1.relay.0',
        at: '2026-01-05T10:41:00.000Z',
      }),
      expect.objectContaining({
        label: 'beforeJoined',
        from: 'Jane',
        text: 'order 1234',
        operationId: 's1.relay.1',
      }),
    ]);
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.context.backlog).toEqual([]);
    expect(snapshot.context.relayed).toBe(2);
    // The agent owes the customer an answer.
    expect(snapshot.context.deadlines['timer.agentReply']).toBeDefined();
    // A late duplicate of a relayed message is not kept (nor relayed) again.
    h.send(customerSays(2, 'order 1234'));
    await h.flush();
    expect(h.actor.getSnapshot().context.history.map((l) => l.text)).toEqual([
      'my invoice is wrong',
      'order 1234',
    ]);
  });

  it('warns an idle customer, then closes the chat', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    h.clock.now += settings.customerIdleMs;
    h.send({
      type: 'timer.customerIdle',
      at: h.actor.getSnapshot().context.deadlines['timer.customerIdle']!,
    });
    await h.flush();
    expect(
      h.calls.find((c) => (c.input as SendMessageInput).text === settings.idleWarningText),
    ).toBeDefined();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'idleGrace' } })).toBe(true);
    h.send({
      type: 'timer.customerIdle',
      at: h.actor.getSnapshot().context.deadlines['timer.customerIdle']!,
    });
    await h.flush();
    expect(h.actor.getSnapshot().value).toBe('terminated');
    expect(h.actor.getSnapshot().context.outcome).toBe('idle');
  });

  it('resets the idle deadline when the customer writes', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    const first = h.actor.getSnapshot().context.deadlines['timer.customerIdle']!;
    h.clock.now += 1_000;
    h.send({
      type: 'callback.messageCompleted',
      conversationHref: CONF,
      messageHref: `${CONF}/messaging/messages/9`,
      direction: 'Incoming',
      status: 'Success',
      text: 'still here',
      sender: { uri: 'sip:123@anonymous.invalid', name: 'Jane' },
    });
    await h.flush();
    expect(h.actor.getSnapshot().context.deadlines['timer.customerIdle']).toBe(first + 1_000);
    h.send({ type: 'timer.customerIdle', at: first }); // the old deadline no longer fires
    await h.flush();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'active' } })).toBe(true);
  });

  it('transfers to a named agent, then shows the previous agent out and frees them', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({
      type: 'callback.participantUpdated',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice@contoso.com`,
      uri: 'sip:alice@contoso.com',
      links: { eject: `${CONF}/participants/alice@contoso.com/eject` },
    });
    await h.flush();
    h.send({ type: 'chat.transfer', agent: { uri: 'sip:bob@contoso.com', name: 'Bob' } } as never);
    await h.flush();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { staffing: 'offering' } })).toBe(true);
    expect(h.calls.filter((c) => c.effect === 'addParticipant').at(-1)?.input).toMatchObject({
      to: 'sip:bob@contoso.com',
      operationId: 's1.offer.1',
    });
    h.send(agentJoined('sip:bob@contoso.com'));
    await h.flush();
    const { context } = h.actor.getSnapshot();
    expect(context.joinedAgents.map((a) => a.uri)).toEqual(['sip:bob@contoso.com']);
    expect(h.routing).toContainEqual(
      expect.objectContaining({
        type: 'routing.agentLeft',
        agent: { uri: 'sip:alice@contoso.com', name: 'Alice' },
      }),
    );
    expect(h.calls.find((c) => c.effect === 'ejectParticipants')?.input).toMatchObject({
      hrefs: [
        `${CONF}/participants/alice@contoso.com/eject`,
        `${P2P}/conversationBridge/bridgedParticipants/alice@contoso.com`,
      ],
    });
  });

  it('lets a supervisor monitor unseen (filter Enabled) and barge in (filter Disabled)', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    h.send({ type: 'chat.monitor', agent: { uri: 'sip:sue@contoso.com', name: 'Sue' } } as never);
    await h.flush();
    expect(h.calls.filter((c) => c.effect === 'addBridgedParticipant').at(-1)?.input).toMatchObject({
      participantUri: 'sip:sue@contoso.com',
      messageFilterState: 'Enabled',
    });
    h.send(agentJoined('sip:sue@contoso.com'));
    await h.flush();
    expect(h.actor.getSnapshot().context.supervisors.map((a) => a.uri)).toEqual(['sip:sue@contoso.com']);
    // The supervisor leaving is not the last agent leaving.
    h.send({ type: 'chat.barge' } as never);
    await h.flush();
    expect(h.calls.find((c) => c.effect === 'updateBridgedParticipant')?.input).toMatchObject({
      participantUri: 'sip:sue@contoso.com',
      messageFilterState: 'Disabled',
    });
    expect(h.actor.getSnapshot().context.joinedAgents.map((a) => a.uri)).toEqual([
      'sip:alice@contoso.com',
      'sip:sue@contoso.com',
    ]);
  });

  it('adds a second agent without letting the first go', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    h.send({ type: 'chat.addAgent', agent: { uri: 'sip:bob@contoso.com', name: 'Bob' } } as never);
    await h.flush();
    h.send(agentJoined('sip:bob@contoso.com'));
    await h.flush();
    expect(h.actor.getSnapshot().context.joinedAgents.map((a) => a.uri)).toEqual([
      'sip:alice@contoso.com',
      'sip:bob@contoso.com',
    ]);
    // One of two leaving is not the last agent leaving: no re-routing.
    h.send({
      type: 'callback.participantDeleted',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice@contoso.com`,
      links: {},
    });
    await h.flush();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'active' } })).toBe(true);
    expect(h.actor.getSnapshot().context.joinedAgents.map((a) => a.uri)).toEqual(['sip:bob@contoso.com']);
  });

  it('nudges the agents in the meeting when a customer message goes unanswered', async () => {
    const h = harness();
    await driveToConference(h);
    h.send({
      type: 'callback.messagingUpdated',
      conversationHref: CONF,
      state: 'Connected',
      links: { sendMessage: `${CONF}/messaging/messages` },
    });
    await h.flush();
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({
      type: 'callback.messageCompleted',
      conversationHref: CONF,
      messageHref: `${CONF}/messaging/messages/9`,
      direction: 'Incoming',
      status: 'Success',
      text: 'hello?',
      sender: { uri: 'sip:123@anonymous.invalid', name: 'Jane' },
    });
    await h.flush();
    const at = h.actor.getSnapshot().context.deadlines['timer.agentReply']!;
    expect(at).toBe(h.clock.now + settings.agentReplyMs);
    h.send({ type: 'timer.agentReply', at });
    await h.flush();
    expect(
      h.calls.find((c) => (c.input as SendMessageInput).text === settings.agentNudgeText)?.input,
    ).toMatchObject({
      href: `${CONF}/messaging/messages`,
      operationId: 's1.nudge.0',
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
      messageHref: `${CONF}/messaging/messages/7`,
      text: 'Hello, how can I help?',
      from: 'Alice',
      leg: 'conference',
    });
    expect(emitted).toContainEqual({
      type: 'chat.ignored',
      eventType: 'callback.bridgeAdded',
      why: 'not expected in this state',
    });
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'active' } })).toBe(true);
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
          sendMessage: fromPromise<{ location?: string }, SendMessageInput>(async () => {
            calls.push('sendMessage');
            return { location: `${P2P}/messaging/messages/1` };
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
    restored.send({
      type: 'callback.messagingUpdated',
      conversationHref: P2P,
      state: 'Connected',
      links: { sendMessage: `${P2P}/messaging/messages` },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(restored.getSnapshot().matches('bridged')).toBe(true);
    // Entry actions and finished invocations are not replayed: only the new step's effect runs.
    expect(calls).toEqual(['sendMessage']);
  });
});

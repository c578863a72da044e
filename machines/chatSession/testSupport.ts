/**
 * The chat session with fake side effects, for its unit tests: a harness that records every effect's input,
 * fails the ones a test asks to fail, moves a clock by hand and stands in for the router; and the
 * callbacks that walk a chat to the meeting, the bridge and the welcome.
 */
import { type Actor, createActor, fromPromise } from 'xstate';
import { agentOfferMachine, type RemoveBridgedParticipantInput } from '../agentOffer.ts';
import { assign } from '../assign.ts';
import type { CallbackEvent } from '../events.ts';
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
} from './index.ts';

export const BASE = 'https://pool.example/platformservice/tgt-1/v1/applications/42/communication';
export const P2P = `${BASE}/conversations/p2p-1`;
export const CONF = `${BASE}/conversations/conf-1`;
export const MEETING_URI = 'sip:meet1@pool.example;gruu;opaque=app:conf:focus:id:X';

export const settings: ChatSettings = {
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

export function input(open = true): ChatSessionInput {
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

export interface Harness {
  actor: Actor<typeof chatSessionMachine>;
  calls: Array<{ effect: string; input: unknown }>;
  clock: { now: number };
  fail: Map<string, Array<{ retryable: boolean; code: string }>>;
  send: (event: CallbackEvent | { type: TimerName; at: number } | { type: 'chat.close' }) => void;
  flush: () => Promise<void>;
  /** Holds the next calls of a side effect unanswered until the returned function is called. */
  hold: (effect: string) => () => void;
  states: string[];
  routing: unknown[];
}

/** The machine with fake side effects (recording their inputs) and a clock the test moves. */
export function harness(
  agents: AgentCandidate[] | 'queue' = [{ uri: 'sip:alice@contoso.com', name: 'Alice' }],
  failures: Record<string, Array<{ retryable: boolean; code: string }>> = {},
  open = true,
): Harness {
  const calls: Harness['calls'] = [];
  const clock = { now: 1_000 };
  const fail: Harness['fail'] = new Map(Object.entries(failures));
  const held = new Map<string, Promise<void>>();
  const hold = (name: string) => {
    let release = () => {};
    held.set(name, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      held.delete(name);
      release();
    };
  };
  const effect = <I, O>(name: string, output: (input: I) => O) =>
    fromPromise<O, I>(async ({ input }) => {
      calls.push({ effect: name, input });
      // Looked up after a turn, so that a test can hold an effect its actor starts at once.
      await Promise.resolve().then(() => held.get(name));
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
  return {
    actor,
    calls,
    clock,
    fail,
    send: (event) => actor.send(event as never),
    flush,
    hold,
    states,
    routing,
  };
}

export async function driveToConference(h: Harness) {
  await h.flush();
  sendMeetingUp(h);
  await h.flush();
}

/** The platform's callbacks saying the ad hoc meeting is up (step 8). */
export function sendMeetingUp(h: Harness) {
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
}

export async function driveToBridge(h: Harness) {
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

export async function driveToWelcome(h: Harness) {
  await driveToBridge(h);
  h.send(welcomeDelivered());
  await h.flush();
}

/** The platform's callback saying the welcome was delivered (step 13), told by its operationId. */
export const welcomeDelivered = (status: 'Success' | 'Failure' = 'Success'): CallbackEvent => ({
  type: 'callback.messageCompleted',
  conversationHref: P2P,
  messageHref: `${P2P}/messaging/messages/s1.welcome`,
  operationId: 's1.welcome',
  direction: 'Outgoing',
  status,
});

export const agentJoined = (uri = 'sip:alice@contoso.com'): CallbackEvent => ({
  type: 'callback.participantAdded',
  conversationHref: CONF,
  participantHref: `${CONF}/participants/${uri.slice(4)}`,
  uri,
  name: 'Alice',
  links: {},
});

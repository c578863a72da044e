/**
 * The fallback backend, for paths the emulator and the runtime cannot produce (see `notOverHttp` in
 * paths.ts): the REAL chat-session machine and its REAL agent-offer child, with fake side effects as in
 * machines/chatSession.test.ts. Each side effect stays pending until a platform step settles it (ok,
 * 503-like, 403-like), callbacks are synthetic domain events shaped like the normaliser's output,
 * routing answers are sent by the steps that stand for them, and time is a number the steps move.
 */
import { type Actor, type AnyActorRef, assign, createActor, fromPromise } from 'xstate';
import { agentOfferMachine, type RemoveBridgedParticipantInput } from '../../machines/agentOffer.ts';
import {
  type ChatSessionEvent,
  type ChatSessionInput,
  type ChatSettings,
  chatSessionMachine,
  type TimerName,
} from '../../machines/chatSession/index.ts';
import type {
  AcceptAndBridgeInput,
  AddBridgedParticipantInput,
  AddMessagingInput,
  AddParticipantInput,
  AgentCandidate,
  EjectParticipantsInput,
  RelayMessagesInput,
  RelayMessagesOutput,
  SendMessageInput,
  StartAdhocMeetingInput,
  TeardownInput,
  UpdateBridgedParticipantInput,
} from '../../machines/effects.ts';
import type { CallbackEvent } from '../../machines/events.ts';
import { PathDriver, type RestingView } from './driver.ts';
import { MODEL_AGENTS, MODEL_SUPERVISOR } from './httpDriver.ts';
import type { ChatPath } from './paths.ts';
import { API_STEPS, type EffectName, leafOf, type PathStep } from './steps.ts';

const SESSION = 'model';
const BASE = 'https://pool.example/platformservice/tgt-1/v1/applications/42/communication';
const P2P = `${BASE}/conversations/p2p-1`;
const CONF = `${BASE}/conversations/conf-1`;
const MEETING_URI = 'sip:meet1@pool.example;gruu;opaque=app:conf:focus:id:MODEL';
const CUSTOMER = { uri: 'sip:4711@anonymous.invalid', name: 'Model Customer' };
const op = (step: string) => `${SESSION}.${step}`;
const participant = (uri: string) => `${CONF}/participants/${uri.slice(4)}`;

/** The same timings as the HTTP backend's MODEL_SA_ENV. */
const SETTINGS: ChatSettings = {
  helpdeskName: 'Contoso Help Desk',
  welcomeText: 'Welcome!',
  meetingSubject: 'Customer chat',
  apologyText: 'Sorry.',
  maxAttempts: 2,
  retryBaseMs: 100,
  stepTimeoutMs: 1000,
  offerTimeoutMs: 200,
  queueUpdateMs: 1000,
  maxQueueWaitMs: 1500,
  fallbackText: 'We kept your messages.',
  customerIdleMs: 5000,
  idleGraceMs: 1000,
  idleWarningText: 'Still there?',
  agentLeftText: 'Your agent had to leave.',
  agentReplyMs: 2000,
  agentNudgeText: 'The customer is waiting.',
  handoverHistory: 20,
};

interface Pending {
  effect: EffectName;
  input: unknown;
  resolve: (output: unknown) => void;
  reject: (error: unknown) => void;
}

function failure(status: 503 | 403): Error {
  return Object.assign(new Error(`the platform answered ${status}`), {
    status,
    code: status === 503 ? 'ServiceUnavailable' : 'Forbidden',
    retryable: status === 503,
  });
}

function timedOut(): Error {
  return Object.assign(new Error('the platform did not answer in time'), {
    code: 'Timeout',
    retryable: true,
  });
}

type TimerEvent = { type: TimerName | 'timer.offerExpired'; at: number };

export class MachineDriver extends PathDriver {
  readonly backend = 'machine' as const;
  private actor: Actor<ReturnType<MachineDriver['logic']>> | undefined;
  private now = 1_700_000_000_000;
  private readonly pending: Pending[] = [];
  /** The latest routing request's exclusions (routing answers are sent by steps). */
  private exclude: string[] = [];
  /** Agents in the chat, for leave / transfer. */
  private staffAgent: AgentCandidate | undefined;
  /** Set by an OFFER_CRASHES step: the offer's next deadline throws, failing the offer actor. */
  private crashOffer = false;

  constructor(path: ChatPath) {
    super(path);
  }

  /** A side effect that stays pending until a step settles it. */
  private effect<I, O = void>(name: EffectName) {
    return fromPromise<O, I>(
      ({ input }) =>
        new Promise<O>((resolve, reject) => {
          this.pending.push({ effect: name, input, resolve: resolve as (output: unknown) => void, reject });
        }),
    );
  }

  private logic() {
    const deadline = <T extends string>(timer: T, delayMs: number) => {
      if (this.crashOffer) {
        this.crashOffer = false;
        throw new Error('the offer actor failed');
      }
      return { [timer]: this.now + delayMs };
    };
    return chatSessionMachine.provide({
      actors: {
        startAdhocMeeting: this.effect<StartAdhocMeetingInput>('startAdhocMeeting'),
        addMessaging: this.effect<AddMessagingInput>('addMessaging'),
        acceptAndBridge: this.effect<AcceptAndBridgeInput>('acceptAndBridge'),
        sendMessage: this.effect<SendMessageInput, { location?: string }>('sendMessage'),
        addParticipant: this.effect<AddParticipantInput>('addParticipant'),
        teardown: this.effect<TeardownInput>('teardown'),
        updateBridgedParticipant: this.effect<UpdateBridgedParticipantInput>('updateBridgedParticipant'),
        ejectParticipants: this.effect<EjectParticipantsInput>('ejectParticipants'),
        relayMessages: this.effect<RelayMessagesInput, RelayMessagesOutput>('relayMessages'),
        agentOffer: agentOfferMachine.provide({
          actors: {
            addBridgedParticipant: this.effect<AddBridgedParticipantInput, { location?: string }>(
              'addBridgedParticipant',
            ),
            addParticipant: this.effect<AddParticipantInput>('addParticipant'),
            removeBridgedParticipant: this.effect<RemoveBridgedParticipantInput>('removeBridgedParticipant'),
          },
          actions: {
            setDeadline: assign(
              ({ context }, params: { timer: 'timer.offerExpired' | 'timer.retry'; delayMs: number }) => ({
                deadlines: { ...context.deadlines, ...deadline(params.timer, params.delayMs) },
              }),
            ),
          },
        }),
      },
      actions: {
        setDeadline: assign(({ context }, params: { timer: TimerName; delayMs: number }) => ({
          deadlines: { ...context.deadlines, [params.timer]: this.now + params.delayMs },
        })),
        setDeadlineOnce: assign(({ context }, params: { timer: TimerName; delayMs: number }) =>
          context.deadlines[params.timer] !== undefined
            ? {}
            : { deadlines: { ...context.deadlines, [params.timer]: this.now + params.delayMs } },
        ),
      },
    });
  }

  private input(): ChatSessionInput {
    return {
      sessionId: SESSION,
      settings: SETTINGS,
      open: !this.path.steps.some((s) => s.event === 'AFTER_HOURS'),
      invitation: {
        type: 'callback.invitationReceived',
        invitationHref: `${BASE}/messagingInvitations/inv-1`,
        conversationHref: P2P,
        from: CUSTOMER,
        links: {
          acceptAndBridge: `${BASE}/messagingInvitations/inv-1/acceptAndBridge`,
          startAdhocMeeting: `${BASE}/onlineMeetingInvitations/startAdhocMeeting`,
          decline: `${BASE}/messagingInvitations/inv-1/decline`,
        },
      },
    };
  }

  private send(...events: ChatSessionEvent[]): void {
    for (const event of events) this.actor!.send(event);
  }

  /** Let promise actors settle, their done/error events run, and deferred routing requests go out. */
  private async flush(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  private settle(source: string, outcome: 'ok' | 503 | 403 | 'timeout' | 'reject'): void {
    const effect = API_STEPS[source]?.effect;
    const at = this.pending.findIndex((p) => p.effect === effect);
    if (!effect || at < 0) throw new Error(`no pending side effect ${effect ?? '?'} in ${source}`);
    const [call] = this.pending.splice(at, 1);
    if (outcome === 'reject') call!.reject(new Error(`${effect} failed`));
    else if (outcome === 'timeout') call!.reject(timedOut());
    else if (outcome !== 'ok') call!.reject(failure(outcome));
    else if (effect === 'sendMessage') call!.resolve({ location: `${P2P}/messaging/messages/1` });
    else if (effect === 'relayMessages') {
      const { lines } = call!.input as RelayMessagesInput;
      call!.resolve({
        sent: lines.map((l) => ({ operationId: l.operationId, text: `${l.from}: ${l.text}` })),
      });
    } else if (effect === 'addBridgedParticipant') {
      const { href, participantUri } = call!.input as { href: string; participantUri: string };
      call!.resolve({ location: `${href}/${participantUri.slice(4)}` });
    } else call!.resolve(undefined);
  }

  private offerChild(): AnyActorRef | undefined {
    const children = Object.values(this.actor!.getSnapshot().children) as AnyActorRef[];
    return children.find(
      (child) => (child?.getSnapshot() as { machine?: { id: string } })?.machine?.id === 'agentOffer',
    );
  }

  private currentAgent(): AgentCandidate {
    const agent = this.actor!.getSnapshot().context.currentAgent;
    if (!agent) throw new Error('no agent is being offered the chat');
    return agent;
  }

  protected async sessionStarted(): Promise<void> {
    if (!this.actor) throw new Error('no chat session yet');
  }

  protected async checkNoSession(): Promise<void> {
    if (this.actor) throw new Error('a session exists before the customer started');
  }

  protected async resting(): Promise<RestingView> {
    await this.flush();
    const snapshot = this.actor!.getSnapshot();
    const offer = this.offerChild()?.getSnapshot() as { value: never; status: string } | undefined;
    return {
      chat: leafOf(snapshot.value),
      offer: offer && offer.status === 'active' ? leafOf(offer.value) : undefined,
      status: snapshot.status,
      outcome: snapshot.context.outcome ?? null,
    };
  }

  protected async platform(step: PathStep): Promise<void> {
    switch (step.event) {
      case 'WITHIN_HOURS':
      case 'AFTER_HOURS':
        break; // decided by the input (`open`) when the session started
      case 'API_OK':
        this.settle(step.source, 'ok');
        // The platform reports the meeting as soon as it accepts the request (its href comes with it).
        if (step.source === 'invited.starting') {
          await this.flush();
          this.send({
            type: 'callback.invitationStarted',
            kind: 'onlineMeeting',
            direction: 'Outgoing',
            invitationHref: `${BASE}/onlineMeetingInvitations/omi-1`,
            operationId: op('adhocMeeting'),
            conversationHref: CONF,
            onlineMeetingUri: MEETING_URI,
          });
        }
        break;
      case 'API_UNAVAILABLE':
        this.settle(step.source, 503);
        break;
      case 'API_REFUSED':
        this.settle(step.source, 403);
        break;
      case 'API_TIMES_OUT':
        this.settle(step.source, 'timeout');
        break;
      case 'MEETING_APPEARS':
        this.send({
          type: 'callback.invitationStarted',
          kind: 'onlineMeeting',
          direction: 'Outgoing',
          invitationHref: `${BASE}/onlineMeetingInvitations/omi-1`,
          operationId: op('adhocMeeting'),
          conversationHref: CONF,
          onlineMeetingUri: MEETING_URI,
        });
        break;
      case 'EFFECT_FAILS':
        this.settle(step.source, 'reject');
        break;
      case 'OFFER_CRASHES':
        // addParticipant succeeds; entering `ringing`, the offer's deadline action throws.
        this.crashOffer = true;
        this.settle(step.source, 'ok');
        break;
      case 'MEETING_READY':
        this.send(
          {
            type: 'callback.conversationConferenced',
            conversationHref: CONF,
            links: { addParticipant: `${BASE}/participantInvitations?conversationId=conf-1` },
          },
          { type: 'callback.onlineMeetingAdded', conversationHref: CONF, onlineMeetingUri: MEETING_URI },
          {
            type: 'callback.messagingUpdated',
            conversationHref: CONF,
            state: 'Disconnected',
            links: { addMessaging: `${BASE}/messagingInvitations?conversationId=conf-1` },
          },
          this.meetingCompleted('Success'),
        );
        break;
      case 'MEETING_FAILS':
        this.send(this.meetingCompleted('Failure'));
        break;
      case 'BRIDGE_READY':
        this.send(
          {
            type: 'callback.messagingUpdated',
            conversationHref: CONF,
            state: 'Connected',
            links: { sendMessage: `${CONF}/messaging/messages` },
          },
          {
            type: 'callback.bridgeAdded',
            conversationHref: P2P,
            bridgeHref: `${P2P}/conversationBridge`,
            bridgedParticipantsHref: `${P2P}/conversationBridge/bridgedParticipants`,
          },
        );
        break;
      case 'MESSAGING_READY':
        this.send({
          type: 'callback.messagingUpdated',
          conversationHref: P2P,
          state: 'Connected',
          links: { sendMessage: `${P2P}/messaging/messages`, stopMessaging: `${P2P}/messaging/terminate` },
        });
        break;
      case 'WELCOME_DELIVERED':
      case 'WELCOME_NOT_DELIVERED':
        this.send({
          type: 'callback.messageCompleted',
          conversationHref: P2P,
          messageHref: `${P2P}/messaging/messages/1`,
          operationId: op('welcome'),
          direction: 'Outgoing',
          status: step.event === 'WELCOME_DELIVERED' ? 'Success' : 'Failure',
          ...(step.event === 'WELCOME_NOT_DELIVERED' ? { reason: { code: 'RemoteFailure' } } : {}),
        });
        break;
      case 'AGENT_ASSIGNED': {
        const agent = MODEL_AGENTS.find((a) => !this.exclude.includes(a.uri));
        if (!agent) throw new Error(`routing has no agent left; tried ${this.exclude.join(', ')}`);
        this.send({ type: 'agent.assigned', agent: { ...agent }, assignment: { winner: agent.uri } });
        break;
      }
      case 'QUEUED':
      case 'QUEUE_POSITION':
      case 'UNASKED_QUEUE_UPDATE':
        this.send({ type: 'queue.update', position: 1, message: 'You are number 1 in the queue.' });
        break;
      case 'NO_AGENT_LEFT':
      case 'ROUTING_GIVES_UP':
        this.send({ type: 'routing.unavailable', reason: 'every agent declined or did not answer' });
        break;
      default:
        throw new Error(`${step.event} is not a platform outcome the machine backend knows`);
    }
    await this.flush();
  }

  private meetingCompleted(status: 'Success' | 'Failure'): CallbackEvent {
    return {
      type: 'callback.invitationCompleted',
      kind: 'onlineMeeting',
      direction: 'Outgoing',
      invitationHref: `${BASE}/onlineMeetingInvitations/omi-1`,
      operationId: op('adhocMeeting'),
      status,
      ...(status === 'Failure' ? { reason: { code: 'ServiceFailure', message: 'meeting failed' } } : {}),
    };
  }

  private agentJoins(agent: AgentCandidate): void {
    this.send(
      {
        type: 'callback.participantAdded',
        conversationHref: CONF,
        participantHref: participant(agent.uri),
        uri: agent.uri,
        name: agent.name,
        links: {},
      },
      {
        type: 'callback.participantUpdated',
        conversationHref: CONF,
        participantHref: participant(agent.uri),
        uri: agent.uri,
        name: agent.name,
        links: { eject: `${participant(agent.uri)}/eject` },
      },
    );
  }

  protected async trigger(step: PathStep, index: number): Promise<void> {
    switch (step.event) {
      case 'CUSTOMER_STARTS':
        this.actor = createActor(this.logic(), { input: this.input(), inspect: this.trail.observe });
        this.actor.on('routing.request', (e) => {
          this.exclude = e.exclude;
        });
        this.actor.subscribe({ error: () => undefined });
        this.actor.start();
        break;
      case 'CUSTOMER_WRITES':
        this.send({
          type: 'callback.messageCompleted',
          conversationHref: CONF,
          messageHref: `${CONF}/messaging/messages/${index}`,
          direction: 'Incoming',
          status: 'Success',
          text: 'hello?',
          sender: { href: participant(CUSTOMER.uri), uri: CUSTOMER.uri, name: CUSTOMER.name },
        });
        break;
      case 'CUSTOMER_LEAVES':
        // As the platform reports it: the customer's messaging Disconnected, then the conversation deleted.
        this.send(
          { type: 'callback.messagingUpdated', conversationHref: P2P, state: 'Disconnected', links: {} },
          { type: 'callback.conversationDeleted', conversationHref: P2P },
        );
        break;
      case 'CUSTOMER_LEAVES_UNNOTICED':
        this.send({ type: 'callback.conversationDeleted', conversationHref: P2P });
        break;
      case 'OPERATOR_CLOSES':
        this.send({ type: 'chat.close' });
        break;
      case 'MEETING_ENDED':
        // As the platform reports it: the meeting's messaging ends, its participants are removed, then the
        // meeting is deleted.
        this.send({
          type: 'callback.messagingUpdated',
          conversationHref: CONF,
          state: 'Disconnected',
          links: {},
        });
        for (const agent of this.actor!.getSnapshot().context.joinedAgents) {
          this.send({
            type: 'callback.participantDeleted',
            conversationHref: CONF,
            participantHref: agent.participantHref,
            uri: agent.uri,
            name: agent.name,
            links: {},
          });
        }
        this.send({ type: 'callback.conversationDeleted', conversationHref: CONF });
        break;
      case 'MEETING_ENDED_AGENTS_UNNOTICED':
        this.send({ type: 'callback.conversationDeleted', conversationHref: CONF });
        break;
      case 'RETRY_TIMER':
        this.fire('timer.retry', /^(welcomed\.offering|agentsJoined\.staffOffer)\./.test(step.source));
        break;
      case 'OFFER_TIMEOUT':
        this.fire('timer.offerExpired', true);
        break;
      case 'STEP_TIMEOUT':
        this.fire('timer.stepTimeout', false);
        break;
      case 'QUEUE_TIMER':
        this.fire('timer.queueUpdate', false);
        break;
      case 'QUEUE_EXPIRED':
        this.fire('timer.queueExpired', false);
        break;
      case 'IDLE_TIMER':
        this.fire('timer.customerIdle', false);
        break;
      case 'REPLY_TIMER':
        this.fire('timer.agentReply', false);
        break;
      case 'AGENT_ACCEPTS':
        this.agentJoins(step.source === 'welcomed.offering.ringing' ? this.currentAgent() : this.staffAgent!);
        break;
      case 'AGENT_DECLINES': {
        const offerIndex = this.actor!.getSnapshot().context.offers - 1;
        this.send({
          type: 'callback.invitationCompleted',
          kind: 'participant',
          direction: 'Outgoing',
          invitationHref: `${BASE}/participantInvitations/pi-${offerIndex}`,
          operationId: op(`offer.${offerIndex}`),
          status: 'Failure',
          reason: { code: 'RemoteFailure', subcode: 'Declined' },
        });
        break;
      }
      case 'RING_OUT': {
        const offerIndex = this.actor!.getSnapshot().context.offers - 1;
        this.send({
          type: 'callback.invitationCompleted',
          kind: 'participant',
          direction: 'Outgoing',
          invitationHref: `${BASE}/participantInvitations/pi-${offerIndex}`,
          operationId: op(`offer.${offerIndex}`),
          status: 'Failure',
          state: 'Failed',
          reason: { code: 'Timeout', subcode: 'Timeout' },
        });
        break;
      }
      case 'AGENT_FREE': {
        const agent = MODEL_AGENTS.find((a) => !this.exclude.includes(a.uri))!;
        this.send({ type: 'agent.assigned', agent: { ...agent }, assignment: { winner: agent.uri } });
        break;
      }
      case 'AGENT_LEAVES': {
        const [agent] = this.actor!.getSnapshot().context.joinedAgents;
        if (!agent) throw new Error('no agent in the chat');
        this.send({
          type: 'callback.participantDeleted',
          conversationHref: CONF,
          participantHref: agent.participantHref,
          uri: agent.uri,
          name: agent.name,
          links: {},
        });
        break;
      }
      case 'TRANSFER':
      case 'ADD_AGENT': {
        const inChat = this.actor!.getSnapshot().context.joinedAgents.map((a) => a.uri);
        this.staffAgent = { ...MODEL_AGENTS.find((a) => !inChat.includes(a.uri))! };
        this.send({
          type: step.event === 'TRANSFER' ? 'chat.transfer' : 'chat.addAgent',
          agent: this.staffAgent,
        });
        break;
      }
      case 'MONITOR':
        this.staffAgent = { ...MODEL_SUPERVISOR };
        this.send({ type: 'chat.monitor', agent: this.staffAgent });
        break;
      case 'BARGE':
        this.send({ type: 'chat.barge' });
        break;
      case 'LATE_AGENT_JOINS': {
        const inChat = this.actor!.getSnapshot().context.joinedAgents.map((a) => a.uri);
        this.agentJoins({ ...MODEL_AGENTS.find((a) => !inChat.includes(a.uri))! });
        break;
      }
      default:
        throw new Error(`${step.event} is not a trigger the machine backend knows`);
    }
    await this.flush();
  }

  /** Move time to a deadline of the session (or of its offer) and deliver it. */
  private fire(timer: TimerEvent['type'], inOffer: boolean): void {
    const target = inOffer ? this.offerChild() : (this.actor as AnyActorRef);
    const deadlines = (target?.getSnapshot() as { context?: { deadlines?: Record<string, number> } })?.context
      ?.deadlines;
    const at = deadlines?.[timer];
    if (at === undefined)
      throw new Error(`no ${timer} deadline set ${inOffer ? 'in the offer' : 'in the session'}`);
    this.now = Math.max(this.now, at);
    target!.send({ type: timer, at });
  }

  async close(): Promise<void> {
    this.actor?.stop();
  }
}

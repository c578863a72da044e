/**
 * One customer chat, from the customer's invitation to the terminated conference (the 22-step
 * "customer chat" call flow). Pure: no I/O imports. Every API call is an invoked promise actor whose
 * implementation the runtime supplies with `machine.provide({ actors })`; timers are deadlines in the
 * context that the runtime's timer service turns into `timer.*` events.
 *
 *   invited → adhocMeeting → conferenced → bridged → welcomed → agentsJoined → closed → terminated
 *        ↘ abandoned (customer left early) → terminated      ↘ failed (cleanup, apology) → terminated
 */
import { assign, emit, enqueueActions, fromPromise, sendTo, setup } from 'xstate';
import { agentOfferMachine, type OfferResult } from './agentOffer.ts';
import { backoffDelay } from './backoff.ts';
import type {
  AcceptAndBridgeInput,
  AddMessagingInput,
  AddParticipantInput,
  AgentCandidate,
  ChatLine,
  EjectParticipantsInput,
  Outcome,
  RelayMessagesInput,
  RelayMessagesOutput,
  SendMessageInput,
  StartAdhocMeetingInput,
  TeardownInput,
  UpdateBridgedParticipantInput,
} from './effects.ts';
import type { CallbackEvent, Href, InvitationReceived, Reason } from './events.ts';

export const CHAT_SESSION_MACHINE_ID = 'chatSession';
/** Bump when a change makes stored snapshots unreadable; the store refuses unknown versions. */
export const CHAT_SESSION_MACHINE_VERSION = 2;

export interface ChatSettings {
  /** Display name the customer sees for the helpdesk side (acceptAndBridge `localUserDisplayName`). */
  helpdeskName: string;
  welcomeText: string;
  meetingSubject: string;
  /** Sent to the customer when the chat cannot go on (no agent, a failed step). */
  apologyText: string;
  /** Attempts per API call, the first included, for retryable errors. */
  maxAttempts: number;
  retryBaseMs: number;
  /** How long to wait for the callbacks that complete a step. */
  stepTimeoutMs: number;
  /** How long an offered agent may ring before the offer is withdrawn. */
  offerTimeoutMs: number;
  /** How often a queued customer hears their position. */
  queueUpdateMs: number;
  /** Longest wait in the queue before the fallback. */
  maxQueueWaitMs: number;
  /** Sent when the queue wait runs out: the customer's messages are kept as a left message. */
  fallbackText: string;
  /** A customer silent this long mid-chat is warned, and closed after the grace period. */
  customerIdleMs: number;
  idleGraceMs: number;
  idleWarningText: string;
  /** Sent when the last agent leaves mid-chat, before routing again. */
  agentLeftText: string;
  /** A customer message unanswered this long nudges the agents (a message in the meeting only). */
  agentReplyMs: number;
  agentNudgeText: string;
  /** Recent messages (both sides) a second, transferred-to or monitoring person gets when they join. */
  handoverHistory: number;
}

export interface ChatSessionInput {
  sessionId: string;
  invitation: InvitationReceived;
  settings: ChatSettings;
  /** The topic the customer chose (skills routing). */
  topic?: string;
  /** False outside business hours: the invitation is declined and no meeting is created. */
  open?: boolean;
}

export type TimerName =
  | 'timer.retry'
  | 'timer.stepTimeout'
  | 'timer.queueUpdate'
  | 'timer.queueExpired'
  | 'timer.customerIdle'
  | 'timer.agentReply';

export interface Leg {
  conversationHref?: Href;
  sendMessage?: Href;
  setIsTyping?: Href;
  stopMessaging?: Href;
  addMessaging?: Href;
  messagingState?: string;
}

export interface SessionError {
  step: string;
  code: string;
  message: string;
  status?: number;
}

export interface StaffMember extends AgentCandidate {
  participantHref: Href;
  bridgedParticipantHref?: Href;
  ejectHref?: Href;
}

export interface ChatSessionContext {
  sessionId: string;
  settings: ChatSettings;
  customer: { uri?: string; name?: string; subject?: string };
  invitation: { href: Href; acceptAndBridge?: Href; startAdhocMeeting?: Href; decline?: Href };
  p2p: Leg & { bridgeHref?: Href; bridgedParticipantsHref?: Href; gone: boolean };
  conference: Leg & {
    onlineMeetingUri?: string;
    addParticipant?: Href;
    terminateHref?: Href;
    ready: boolean;
    gone: boolean;
  };
  /** Set once startAdhocMeeting was sent: the conference may exist even before we know its href. */
  meetingRequested: boolean;
  /** Set once acceptAndBridge succeeded: the customer's conversation is ours to end. */
  accepted: boolean;
  /** Set once an agent joined the chat: the customer was served (a meeting ending later completes it). */
  served: boolean;
  /**
   * The ending's teardown: the meeting it set out to delete, and whether the customer's side (apology,
   * decline, leaving their conversation) is done, so a second teardown (a late meeting) does not repeat it.
   */
  teardown: { conference?: Href; customerReleased: boolean };
  topic?: string;
  open: boolean;
  /** Agents tried in this routing round (declined, expired): routing skips them. */
  tried: string[];
  /** Offers made so far: the n-th offer's operationId is `<session>.offer.<n>`. */
  offers: number;
  /** Offers in a row the platform failed (not the agent): the chat is retried until maxAttempts of them. */
  offerFaults: number;
  currentAgent?: AgentCandidate;
  /** Why each agent was chosen, as routing explained it. */
  assignments: unknown[];
  queue: { message?: string; position?: number; updates: number };
  idleWarnings: number;
  nudges: number;
  joinedAgents: StaffMember[];
  /** Supervisors monitoring the chat: bridged with the filter Enabled, so the customer sees nothing of theirs. */
  supervisors: StaffMember[];
  /** Agents whose offer was withdrawn: if they join after all, they are shown out. */
  withdrawn: string[];
  strays: string[];
  /** Eject links still to be used (stray or transferred-away agents). */
  ejecting: Href[];
  /** An operator's request being carried out: transfer, second agent, monitor. */
  staffing?: { purpose: 'transfer' | 'add' | 'monitor'; agent: AgentCandidate };
  welcome: { location?: Href };
  /** The step whose API call is being retried, and how many attempts it has used. */
  retry: { step?: string; attempt: number };
  deadlines: Partial<Record<TimerName, number>>;
  outcome?: Outcome;
  error?: SessionError;
  /** Operation ids of our side effects, in order: each side effect gets its own. */
  operations: string[];
  /** The last `handoverHistory` messages of the chat, both sides, as the meeting saw them. */
  history: ChatLine[];
  /** Customer messages no agent has seen yet (written while no agent was in the meeting), in order. */
  backlog: ChatLine[];
  /** Ids of the messages kept lately: a duplicated callback is not kept (nor relayed) twice. */
  lineIds: string[];
  /** The relay the staffing region is to send (backlog and history for whoever just joined). */
  relay?: RelayMessagesInput['lines'];
  /** Lines relayed so far: the n-th relayed line's operationId is `<session>.relay.<n>`. */
  relayed: number;
}

export type TimerEvent = { type: TimerName; at: number };
export type OperatorEvent =
  | { type: 'chat.close'; reason?: string }
  | { type: 'chat.transfer'; agent: AgentCandidate }
  | { type: 'chat.addAgent'; agent: AgentCandidate }
  | { type: 'chat.monitor'; agent: AgentCandidate }
  | { type: 'chat.barge' };
/** What routing answers a `routing.request` / `routing.status` with. */
export type RoutingEvent =
  | { type: 'agent.assigned'; agent: AgentCandidate; assignment: unknown }
  | { type: 'queue.update'; position: number; message: string }
  | { type: 'routing.unavailable'; reason: string };
export type ChatSessionEvent = CallbackEvent | TimerEvent | OperatorEvent | RoutingEvent;

/** What the session tells the outside world (transcripts, dashboards); see `actor.on(...)`. */
export type ChatSessionEmitted =
  | {
      type: 'chat.message';
      direction: 'Incoming' | 'Outgoing';
      /** The platform's message resource, when known: tells duplicates apart. */
      messageHref?: string;
      text?: string;
      html?: string;
      from?: string;
      leg: 'p2p' | 'conference';
      /** Sent into the meeting for the agents (backlog or history), never to the customer. */
      relayed?: true;
    }
  | { type: 'chat.relayFailed'; sessionId: string; lines: number; error: SessionError }
  | { type: 'chat.typing'; from?: string; isTyping: boolean; leg: 'p2p' | 'conference' }
  | {
      type: 'chat.participant';
      change: 'added' | 'updated' | 'deleted';
      uri?: string;
      name?: string;
      leg: 'p2p' | 'conference';
    }
  | { type: 'chat.ignored'; eventType: string; why: string }
  | { type: 'routing.request'; sessionId: string; topic?: string; exclude: string[] }
  | { type: 'routing.status'; sessionId: string }
  | {
      type: 'routing.offerEnded';
      sessionId: string;
      agent: AgentCandidate;
      result: OfferResult;
      reason?: string;
    }
  | { type: 'routing.agentLeft'; sessionId: string; agent: AgentCandidate };

export type {
  AcceptAndBridgeInput,
  AddBridgedParticipantInput,
  AddMessagingInput,
  AddParticipantInput,
  AgentCandidate,
  ChatLine,
  EjectParticipantsInput,
  Outcome,
  RelayMessagesInput,
  RelayMessagesOutput,
  SendMessageInput,
  StartAdhocMeetingInput,
  TeardownInput,
  UpdateBridgedParticipantInput,
} from './effects.ts';

/** The most customer messages kept for an agent who has not joined yet (a bound on memory, not a filter). */
export const MAX_BACKLOG = 500;
/** Message ids remembered to drop duplicated callbacks. */
const MAX_LINE_IDS = 200;

function notProvided<I, O = void>(name: string) {
  return fromPromise<O, I>(async () => {
    throw new Error(`side effect '${name}' was not provided: use machine.provide({ actors })`);
  });
}

/** Our operationIds: `<sessionId>.<step>` — unique per side effect, the same across its retries. */
export function operationIdFor(sessionId: string, step: string): string {
  return `${sessionId}.${step}`;
}

/** The session an operationId of ours belongs to, if it is one of ours. */
export function sessionIdOfOperation(operationId: string): string | undefined {
  const dot = operationId.indexOf('.');
  return dot > 0 ? operationId.slice(0, dot) : undefined;
}

function sameHref(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const key = (href: string) => {
    try {
      return decodeURIComponent(new URL(href, 'http://x.invalid').pathname).toLowerCase();
    } catch {
      return href.toLowerCase();
    }
  };
  return key(a) === key(b);
}

function errorOf(step: string, error: unknown): SessionError {
  const e = (error ?? {}) as { code?: unknown; message?: unknown; status?: unknown };
  return {
    step,
    code: typeof e.code === 'string' ? e.code : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(typeof e.status === 'number' ? { status: e.status } : {}),
  };
}

function isAmbiguous(error: unknown): boolean {
  return (error as { retryable?: unknown } | undefined)?.retryable === true;
}

function reasonText(reason: Reason | undefined): string {
  return reason
    ? [reason.code, reason.subcode, reason.message].filter(Boolean).join(' / ')
    : 'no reason given';
}

function isFromCustomer(context: ChatSessionContext, event: ChatSessionEvent): boolean {
  return (
    event.type === 'callback.messageCompleted' &&
    event.direction === 'Incoming' &&
    ((!!event.sender?.uri && event.sender.uri.toLowerCase() === context.customer.uri?.toLowerCase()) ||
      (!event.sender?.uri && !!event.sender?.name && event.sender.name === context.customer.name))
  );
}

/** A message href as a key: its path, decoded and lower-cased (hosts and spellings vary). */
function messageKey(href: string): string {
  try {
    return decodeURIComponent(new URL(href, 'http://x.invalid').pathname).toLowerCase();
  } catch {
    return href.toLowerCase();
  }
}

/**
 * What an agent who joins now is sent: the chat's recent history they did not see (`earlier`), then
 * every customer message no agent has seen yet (`beforeJoined`), in order.
 */
function relayFor(context: ChatSessionContext): NonNullable<ChatSessionContext['relay']> {
  const waiting = new Set(context.backlog.map((line) => line.id));
  const lines = [
    ...context.history
      .filter((line) => !waiting.has(line.id))
      .map((line) => ({ ...line, label: 'earlier' as const })),
    ...context.backlog.map((line) => ({ ...line, label: 'beforeJoined' as const })),
  ];
  return lines.map((line, i) => ({
    ...line,
    operationId: operationIdFor(context.sessionId, `relay.${context.relayed + i}`),
  }));
}

/** The retry deadline after a failed attempt (exponential backoff, deterministic jitter); after 'countAttempt'. */
const retryDeadline = {
  type: 'setDeadline' as const,
  params: ({ context }: { context: ChatSessionContext }) => ({
    timer: 'timer.retry' as const,
    delayMs: backoffDelay(context.sessionId, context.retry.attempt, context.settings.retryBaseMs),
  }),
};

/** A state that waits for callbacks: the step deadline is set on entry and cleared on exit. */
const stepDeadline = {
  entry: [
    {
      type: 'setDeadline' as const,
      params: ({ context }: { context: ChatSessionContext }) => ({
        timer: 'timer.stepTimeout' as const,
        delayMs: context.settings.stepTimeoutMs,
      }),
    },
  ],
  exit: [{ type: 'clearDeadline' as const, params: { timer: 'timer.stepTimeout' as const } }],
};

export const chatSessionMachine = setup({
  types: {
    context: {} as ChatSessionContext,
    events: {} as ChatSessionEvent,
    input: {} as ChatSessionInput,
    emitted: {} as ChatSessionEmitted,
  },
  actors: {
    startAdhocMeeting: notProvided<StartAdhocMeetingInput>('startAdhocMeeting'),
    addMessaging: notProvided<AddMessagingInput>('addMessaging'),
    acceptAndBridge: notProvided<AcceptAndBridgeInput>('acceptAndBridge'),
    sendMessage: notProvided<SendMessageInput, { location?: string }>('sendMessage'),
    addParticipant: notProvided<AddParticipantInput>('addParticipant'),
    teardown: notProvided<TeardownInput>('teardown'),
    updateBridgedParticipant: notProvided<UpdateBridgedParticipantInput>('updateBridgedParticipant'),
    ejectParticipants: notProvided<EjectParticipantsInput>('ejectParticipants'),
    relayMessages: notProvided<RelayMessagesInput, RelayMessagesOutput>('relayMessages'),
    agentOffer: agentOfferMachine,
  },
  actions: {
    /** Replaced by the runtime with one that reads its clock; the default reads the wall clock. */
    setDeadline: assign(({ context }, params: { timer: TimerName; delayMs: number }) => ({
      deadlines: { ...context.deadlines, [params.timer]: Date.now() + params.delayMs },
    })),
    /** Like setDeadline, but keeps a deadline that is already set (the queue's maximum wait). */
    setDeadlineOnce: assign(({ context }, params: { timer: TimerName; delayMs: number }) =>
      context.deadlines[params.timer] !== undefined
        ? {}
        : { deadlines: { ...context.deadlines, [params.timer]: Date.now() + params.delayMs } },
    ),
    takeAssignment: assign(({ context, event }) => {
      if (event.type !== 'agent.assigned') return {};
      return {
        currentAgent: event.agent,
        offers: context.offers + 1,
        assignments: [...context.assignments, event.assignment],
      };
    }),
    emitOfferEnded: emit(({ context, event }): ChatSessionEmitted => {
      const output = (event as { output?: { agent?: AgentCandidate; result?: OfferResult; reason?: string } })
        .output;
      if (!output?.agent || !output.result)
        return { type: 'chat.ignored', eventType: event.type, why: 'not the end of an offer' };
      return {
        type: 'routing.offerEnded',
        sessionId: context.sessionId,
        agent: output.agent,
        result: output.result,
        ...(output.reason ? { reason: output.reason } : {}),
      };
    }),
    /** An offer that did not end in a join: should that agent join after all, they are shown out. */
    withdrawOfferedAgent: assign(({ context, event }) => {
      const uri = (event as { output?: { agent?: AgentCandidate } }).output?.agent?.uri.toLowerCase();
      return uri && !context.withdrawn.includes(uri) ? { withdrawn: [...context.withdrawn, uri] } : {};
    }),
    /**
     * Keep a message of the meeting (either side) for agents who join later: in the history, and, when
     * the customer wrote it while no agent was in the meeting, in the backlog. Duplicates are dropped.
     */
    keepLine: assign(({ context, event }) => {
      if (event.type !== 'callback.messageCompleted' || event.direction !== 'Incoming') return {};
      if (!sameHref(event.conversationHref, context.conference.conversationHref)) return {};
      if (event.text === undefined && event.html === undefined) return {};
      const id = messageKey(event.messageHref);
      if (context.lineIds.includes(id)) return {};
      const customer = isFromCustomer(context, event);
      const line: ChatLine = {
        id,
        ...(event.timestamp ? { at: event.timestamp } : {}),
        from: customer
          ? (event.sender?.name ?? context.customer.name ?? 'Customer')
          : (event.sender?.name ?? 'Agent'),
        side: customer ? 'customer' : 'agent',
        ...(event.text !== undefined ? { text: event.text } : {}),
        ...(event.html !== undefined ? { html: event.html } : {}),
      };
      const keep = Math.max(0, context.settings.handoverHistory);
      return {
        lineIds: [...context.lineIds, id].slice(-MAX_LINE_IDS),
        history: keep > 0 ? [...context.history, line].slice(-keep) : [],
        ...(customer && context.joinedAgents.length === 0
          ? { backlog: [...context.backlog, line].slice(-MAX_BACKLOG) }
          : {}),
      };
    }),
    /** Someone joined: what they are to be sent (the staffing region sends it before anything else). */
    prepareRelay: assign(({ context }) => {
      const lines = relayFor(context);
      return { relay: lines.length ? lines : undefined, backlog: [] };
    }),
    /** The relay went out: record each line in the transcript as relayed (the customer never sees it). */
    relayDone: enqueueActions(({ context, event, enqueue }) => {
      const output = (event as { output?: RelayMessagesOutput }).output;
      for (const sent of output?.sent ?? []) {
        enqueue.emit({
          type: 'chat.message',
          direction: 'Outgoing',
          text: sent.text,
          from: context.settings.helpdeskName,
          leg: 'conference',
          relayed: true,
        });
      }
      enqueue.assign({ relayed: context.relayed + (context.relay?.length ?? 0), relay: undefined });
    }),
    relayFailed: enqueueActions(({ context, event, enqueue }) => {
      enqueue.emit({
        type: 'chat.relayFailed',
        sessionId: context.sessionId,
        lines: context.relay?.length ?? 0,
        error: errorOf('relay', (event as { error?: unknown }).error),
      });
      enqueue.assign({ relayed: context.relayed + (context.relay?.length ?? 0), relay: undefined });
    }),
    /** The routing decision keeps how its offer ended and why (a platform fault is not the agent's). */
    noteOfferResult: assign(({ context, event }) => {
      const output = (event as { output?: { result?: OfferResult; reason?: string } }).output;
      const last = context.assignments.at(-1);
      if (!output?.result || !last || typeof last !== 'object') return {};
      const offer = {
        result: output.result,
        ...(output.reason ? { reason: output.reason } : {}),
        countsAsMissed: output.result === 'expired',
        ...(output.result === 'failed' ? { fault: 'platform' as const } : {}),
      };
      return { assignments: [...context.assignments.slice(0, -1), { ...last, offer }] };
    }),
    takeStaffingRequest: assign(({ context, event }) => {
      if (event.type !== 'chat.transfer' && event.type !== 'chat.addAgent' && event.type !== 'chat.monitor')
        return {};
      const purpose =
        event.type === 'chat.transfer' ? 'transfer' : event.type === 'chat.addAgent' ? 'add' : 'monitor';
      return { staffing: { purpose, agent: event.agent }, offers: context.offers + 1 };
    }),
    staffingAccepted: enqueueActions(({ context, event, enqueue }) => {
      const output = (
        event as { output?: { agent: AgentCandidate; participantHref?: Href; bridgedParticipantHref?: Href } }
      ).output;
      const staffing = context.staffing;
      if (!output || !staffing) return;
      const member: StaffMember = {
        ...output.agent,
        participantHref: output.participantHref ?? '',
        ...(output.bridgedParticipantHref ? { bridgedParticipantHref: output.bridgedParticipantHref } : {}),
      };
      if (staffing.purpose === 'monitor') {
        enqueue.assign({ supervisors: [...context.supervisors, member], staffing: undefined });
        return;
      }
      if (staffing.purpose === 'add') {
        enqueue.assign({ joinedAgents: [...context.joinedAgents, member], staffing: undefined });
        return;
      }
      // Transfer: the new agent takes over; the previous ones are shown out and freed.
      for (const previous of context.joinedAgents) {
        enqueue.emit({
          type: 'routing.agentLeft',
          sessionId: context.sessionId,
          agent: { uri: previous.uri, name: previous.name },
        });
      }
      enqueue.assign({
        joinedAgents: [member],
        staffing: undefined,
        ejecting: [
          ...context.ejecting,
          ...context.joinedAgents.flatMap((a) =>
            [a.ejectHref, a.bridgedParticipantHref].filter((h): h is string => !!h),
          ),
        ],
      });
    }),
    takeQueueUpdate: assign(({ context, event }) => {
      if (event.type !== 'queue.update') return {};
      return { queue: { ...context.queue, message: event.message, position: event.position } };
    }),
    clearDeadline: assign(({ context }, params: { timer: TimerName }) => {
      const { [params.timer]: _removed, ...rest } = context.deadlines;
      return { deadlines: rest };
    }),
    beginStep: assign(({ context }, params: { step: string }) =>
      context.retry.step === params.step ? {} : { retry: { step: params.step, attempt: 0 } },
    ),
    countAttempt: assign(({ context }) => ({
      retry: { ...context.retry, attempt: context.retry.attempt + 1 },
    })),
    recordOperation: assign(({ context }, params: { step: string }) => {
      const id = operationIdFor(context.sessionId, params.step);
      return context.operations.includes(id) ? {} : { operations: [...context.operations, id] };
    }),
    recordError: assign((_, params: { error: SessionError }) => ({ error: params.error })),
    setOutcome: assign((_, params: { outcome: Outcome }) => ({ outcome: params.outcome })),
    markCustomerGone: assign(({ context }) => ({ p2p: { ...context.p2p, gone: true } })),
    /** What this teardown sets out to release (the meeting's href may be learnt while it runs). */
    planRelease: assign(({ context }) => ({
      teardown: {
        ...context.teardown,
        conference:
          context.conference.conversationHref && !context.conference.gone
            ? context.conference.conversationHref
            : undefined,
      },
    })),
    markReleased: assign(({ context }) => ({
      teardown: { customerReleased: true },
      conference: {
        ...context.conference,
        gone:
          context.conference.gone ||
          sameHref(context.teardown.conference, context.conference.conversationHref),
      },
    })),
    learnConference: assign(({ context, event }) =>
      event.type === 'callback.invitationStarted' && event.conversationHref
        ? {
            conference: {
              ...context.conference,
              conversationHref: context.conference.conversationHref ?? event.conversationHref,
            },
          }
        : {},
    ),
    emitMessage: emit(({ context, event }): ChatSessionEmitted => {
      if (event.type !== 'callback.messageCompleted')
        return { type: 'chat.ignored', eventType: event.type, why: 'not a message' };
      return {
        type: 'chat.message',
        direction: event.direction,
        messageHref: event.messageHref,
        ...(event.text !== undefined ? { text: event.text } : {}),
        ...(event.html !== undefined ? { html: event.html } : {}),
        ...(event.sender?.name ? { from: event.sender.name } : {}),
        leg: sameHref(event.conversationHref, context.p2p.conversationHref) ? 'p2p' : 'conference',
      };
    }),
    emitTyping: emit(({ context, event }): ChatSessionEmitted => {
      if (event.type !== 'callback.typing')
        return { type: 'chat.ignored', eventType: event.type, why: 'not typing' };
      return {
        type: 'chat.typing',
        isTyping: event.isTyping,
        ...(event.name ? { from: event.name } : {}),
        leg: sameHref(event.conversationHref, context.p2p.conversationHref) ? 'p2p' : 'conference',
      };
    }),
    emitParticipant: emit(({ context, event }): ChatSessionEmitted => {
      if (
        event.type !== 'callback.participantAdded' &&
        event.type !== 'callback.participantUpdated' &&
        event.type !== 'callback.participantDeleted'
      ) {
        return { type: 'chat.ignored', eventType: event.type, why: 'not a participant change' };
      }
      return {
        type: 'chat.participant',
        change:
          event.type === 'callback.participantAdded'
            ? 'added'
            : event.type === 'callback.participantUpdated'
              ? 'updated'
              : 'deleted',
        ...(event.uri ? { uri: event.uri } : {}),
        ...(event.name ? { name: event.name } : {}),
        leg: sameHref(event.conversationHref, context.p2p.conversationHref) ? 'p2p' : 'conference',
      };
    }),
  },
  guards: {
    deadlineDue: ({ context, event }) =>
      event.type.startsWith('timer.') && 'at' in event
        ? context.deadlines[event.type as TimerName] === event.at
        : false,
    fromCustomer: ({ context, event }) => isFromCustomer(context, event),
    hasRelay: ({ context }) => !!context.relay?.length,
    lastAgentLeaving: ({ context, event }) =>
      event.type === 'callback.participantDeleted' &&
      context.joinedAgents.length > 0 &&
      context.joinedAgents.every((agent) => sameHref(agent.participantHref, event.participantHref)),
    isOpen: ({ context }) => context.open,
    isStrayAgent: ({ context, event }) => {
      if (event.type !== 'callback.participantAdded' || !event.uri) return false;
      const uri = event.uri.toLowerCase();
      const known = [...context.joinedAgents, ...context.supervisors].some(
        (a) => a.uri.toLowerCase() === uri,
      );
      return !known && context.withdrawn.includes(uri) && context.staffing?.agent.uri.toLowerCase() !== uri;
    },
    strayWithEject: ({ context, event }) =>
      event.type === 'callback.participantUpdated' &&
      !!event.links.eject &&
      !!event.uri &&
      context.strays.includes(event.uri.toLowerCase()),
    hasEjections: ({ context }) => context.ejecting.length > 0,
    offerFailedOnPlatform: ({ event }) =>
      (event as { output?: { result?: OfferResult } }).output?.result === 'failed',
    offerFailedOnPlatformRetryable: ({ context, event }) =>
      (event as { output?: { result?: OfferResult } }).output?.result === 'failed' &&
      context.offerFaults + 1 < context.settings.maxAttempts,
    hasSupervisor: ({ context }) => context.supervisors.length > 0,
    canRetry: ({ context, event }) => {
      const error = (event as { error?: { retryable?: unknown } }).error;
      return error?.retryable === true && context.retry.attempt + 1 < context.settings.maxAttempts;
    },
    isOurMeetingInvitation: ({ context, event }) =>
      event.type === 'callback.invitationStarted' &&
      event.kind === 'onlineMeeting' &&
      event.operationId === operationIdFor(context.sessionId, 'adhocMeeting'),
    isConference: ({ context, event }) =>
      'conversationHref' in event && sameHref(event.conversationHref, context.conference.conversationHref),
    isP2p: ({ context, event }) =>
      'conversationHref' in event && sameHref(event.conversationHref, context.p2p.conversationHref),
    conferenceReady: ({ context }) =>
      context.conference.ready &&
      !!context.conference.onlineMeetingUri &&
      !!context.conference.addParticipant &&
      !!context.conference.addMessaging,
    bridgeReady: ({ context }) => !!context.p2p.bridgedParticipantsHref,
    p2pMessagingReady: ({ context }) =>
      !!context.p2p.sendMessage && context.p2p.messagingState === 'Connected',
    customerLeft: ({ context, event }) =>
      (event.type === 'callback.conversationDeleted' &&
        sameHref(event.conversationHref, context.p2p.conversationHref)) ||
      (event.type === 'callback.messagingUpdated' &&
        event.state === 'Disconnected' &&
        sameHref(event.conversationHref, context.p2p.conversationHref) &&
        context.p2p.messagingState === 'Connected'),
    /** A meeting whose href we know and that nobody has deleted yet: the ending must delete it. */
    conferenceToRelease: ({ context }) => !!context.conference.conversationHref && !context.conference.gone,
    /** No meeting may still report itself: either none was asked for, or it is known (and released). */
    nothingToAwait: ({ context }) => !context.meetingRequested || !!context.conference.conversationHref,
    /** The meeting's own messaging ended: the meeting is over (it ends before its participants are removed). */
    conferenceDisconnected: ({ context, event }) =>
      event.type === 'callback.messagingUpdated' &&
      event.state === 'Disconnected' &&
      sameHref(event.conversationHref, context.conference.conversationHref),
    /** The meeting ended after an agent had served the customer (the agents' removal may come first). */
    servedConferenceEnded: ({ context, event }) =>
      context.served &&
      event.type === 'callback.conversationDeleted' &&
      sameHref(event.conversationHref, context.conference.conversationHref),
  },
  delays: {},
}).createMachine({
  id: CHAT_SESSION_MACHINE_ID,
  context: ({ input }) => ({
    sessionId: input.sessionId,
    settings: input.settings,
    customer: {
      uri: input.invitation.from.uri,
      name: input.invitation.from.name,
      subject: input.invitation.subject,
    },
    invitation: {
      href: input.invitation.invitationHref,
      acceptAndBridge: input.invitation.links.acceptAndBridge,
      startAdhocMeeting: input.invitation.links.startAdhocMeeting,
      decline: input.invitation.links.decline,
    },
    p2p: { conversationHref: input.invitation.conversationHref, gone: false },
    conference: { ready: false, gone: false },
    meetingRequested: false,
    accepted: false,
    served: false,
    teardown: { customerReleased: false },
    ...(input.topic ? { topic: input.topic } : {}),
    open: input.open ?? true,
    tried: [],
    offers: 0,
    offerFaults: 0,
    assignments: [],
    queue: { updates: 0 },
    idleWarnings: 0,
    nudges: 0,
    supervisors: [],
    withdrawn: [],
    strays: [],
    ejecting: [],
    joinedAgents: [],
    welcome: {},
    retry: { attempt: 0 },
    deadlines: {},
    operations: [],
    history: [],
    backlog: [],
    lineIds: [],
    relayed: 0,
  }),
  // Events no state handles are recorded, never fatal: late, duplicate or foreign callbacks are normal.
  on: {
    'callback.*': {
      actions: emit(({ event }) => ({
        type: 'chat.ignored',
        eventType: event.type,
        why: 'not expected in this state',
      })),
    },
  },
  initial: 'invited',
  states: {
    // Steps 7–8: the customer's invitation arrived; start the ad hoc meeting.
    invited: {
      initial: 'checkingHours',
      entry: [{ type: 'beginStep', params: { step: 'adhocMeeting' } }],
      on: {
        'callback.conversationDeleted': { guard: 'customerLeft', target: 'abandoned' },
        'chat.close': { target: 'abandoned' },
        // An attempt that timed out may still have created the meeting: learn its href, so that it is
        // deleted should the chat end here.
        'callback.invitationStarted': { guard: 'isOurMeetingInvitation', actions: 'learnConference' },
      },
      states: {
        // Outside business hours no meeting is created: the invitation is declined.
        checkingHours: {
          always: [
            { guard: 'isOpen', target: 'starting' },
            {
              target: '#chatSession.failed',
              actions: [
                { type: 'setOutcome', params: { outcome: 'outsideHours' } },
                {
                  type: 'recordError',
                  params: {
                    error: {
                      step: 'invited',
                      code: 'OutsideBusinessHours',
                      message: 'the chat arrived outside business hours',
                    },
                  },
                },
              ],
            },
          ],
        },
        starting: {
          // From here the meeting may exist before we hear of it: a customer leaving now must still wait for it.
          entry: [
            { type: 'recordOperation', params: { step: 'adhocMeeting' } },
            assign({ meetingRequested: true }),
          ],
          invoke: {
            id: 'startAdhocMeeting',
            src: 'startAdhocMeeting',
            input: ({ context }) => ({
              href: context.invitation.startAdhocMeeting ?? '',
              subject: context.settings.meetingSubject,
              operationId: operationIdFor(context.sessionId, 'adhocMeeting'),
              callbackContext: context.sessionId,
            }),
            onDone: { target: '#chatSession.adhocMeeting', actions: assign({ meetingRequested: true }) },
            onError: [
              {
                guard: 'canRetry',
                target: 'backoff',
                actions: [assign({ meetingRequested: true }), 'countAttempt', retryDeadline],
              },
              {
                target: '#chatSession.failed',
                actions: [
                  // A definite refusal created nothing; an ambiguous failure (timeout, 5xx) may have.
                  assign({ meetingRequested: ({ event }) => isAmbiguous(event.error) }),
                  {
                    type: 'recordError',
                    params: ({ event }) => ({ error: errorOf('startAdhocMeeting', event.error) }),
                  },
                ],
              },
            ],
          },
        },
        backoff: retryWhenDue('starting'),
      },
    },

    // Step 8: wait for the conference: onlineMeetingInvitation started/completed, Conferenced, onlineMeeting,
    // messaging offering addMessaging.
    adhocMeeting: {
      entry: [
        {
          type: 'setDeadline',
          params: ({ context }) => ({ timer: 'timer.stepTimeout', delayMs: context.settings.stepTimeoutMs }),
        },
      ],
      exit: [{ type: 'clearDeadline', params: { timer: 'timer.stepTimeout' } }],
      always: { guard: 'conferenceReady', target: 'conferenced' },
      on: {
        'callback.invitationStarted': {
          guard: 'isOurMeetingInvitation',
          actions: assign({
            conference: ({ context, event }) => ({
              ...context.conference,
              conversationHref: event.conversationHref ?? context.conference.conversationHref,
              onlineMeetingUri:
                (event.type === 'callback.invitationStarted' ? event.onlineMeetingUri : undefined) ??
                context.conference.onlineMeetingUri,
            }),
          }),
        },
        'callback.invitationCompleted': [
          {
            guard: ({ context, event }) =>
              event.kind === 'onlineMeeting' &&
              event.operationId === operationIdFor(context.sessionId, 'adhocMeeting') &&
              event.status === 'Failure',
            target: 'failed',
            actions: {
              type: 'recordError',
              params: ({ event }) => ({
                error: {
                  step: 'adhocMeeting',
                  code: event.reason?.code ?? 'Failure',
                  message: reasonText(event.reason),
                },
              }),
            },
          },
          {
            guard: ({ context, event }) =>
              event.kind === 'onlineMeeting' &&
              event.operationId === operationIdFor(context.sessionId, 'adhocMeeting'),
            actions: assign({
              conference: ({ context, event }) => ({
                ...context.conference,
                conversationHref: context.conference.conversationHref ?? event.conversationHref,
                ready: true,
              }),
            }),
          },
        ],
        'callback.conversationConferenced': {
          guard: 'isConference',
          actions: assign({
            conference: ({ context, event }) => ({
              ...context.conference,
              addParticipant: event.links.addParticipant ?? context.conference.addParticipant,
            }),
          }),
        },
        'callback.conversationUpdated': { guard: 'isConference' },
        'callback.onlineMeetingAdded': {
          guard: 'isConference',
          actions: assign({
            conference: ({ context, event }) => ({
              ...context.conference,
              onlineMeetingUri: event.onlineMeetingUri ?? context.conference.onlineMeetingUri,
              terminateHref: event.terminateHref ?? context.conference.terminateHref,
            }),
          }),
        },
        'callback.messagingUpdated': {
          guard: 'isConference',
          actions: assign({
            conference: ({ context, event }) => ({
              ...context.conference,
              addMessaging: event.links.addMessaging ?? context.conference.addMessaging,
              messagingState: event.state,
            }),
          }),
        },
        'callback.conversationDeleted': [
          { guard: 'customerLeft', target: 'abandoned' },
          {
            guard: 'isConference',
            target: 'failed',
            actions: [
              assign({ conference: ({ context }) => ({ ...context.conference, gone: true }) }),
              {
                type: 'recordError',
                params: {
                  error: { step: 'adhocMeeting', code: 'ConferenceEnded', message: 'the meeting ended' },
                },
              },
            ],
          },
        ],
        'timer.stepTimeout': {
          guard: 'deadlineDue',
          target: 'failed',
          actions: {
            type: 'recordError',
            params: {
              error: { step: 'adhocMeeting', code: 'Timeout', message: 'the ad hoc meeting did not come up' },
            },
          },
        },
        'chat.close': { target: 'abandoned' },
      },
    },

    // Steps 8b–10: the SA joins the conference's messaging, then accepts the customer's invitation and
    // bridges it into the meeting; wait for the conversationBridge.
    conferenced: {
      initial: 'addingMessaging',
      on: {
        'callback.conversationDeleted': [
          { guard: 'customerLeft', target: 'abandoned' },
          {
            guard: 'isConference',
            target: 'failed',
            actions: [
              assign({ conference: ({ context }) => ({ ...context.conference, gone: true }) }),
              {
                type: 'recordError',
                params: {
                  error: { step: 'conferenced', code: 'ConferenceEnded', message: 'the meeting ended' },
                },
              },
            ],
          },
        ],
        'callback.messagingUpdated': [
          {
            guard: 'isConference',
            actions: assign({
              conference: ({ context, event }) => ({
                ...context.conference,
                messagingState: event.state,
                sendMessage: event.links.sendMessage ?? context.conference.sendMessage,
                setIsTyping: event.links.setIsTyping ?? context.conference.setIsTyping,
                stopMessaging: event.links.stopMessaging ?? context.conference.stopMessaging,
              }),
            }),
          },
          {
            guard: 'isP2p',
            actions: assign({
              p2p: ({ context, event }) => ({
                ...context.p2p,
                messagingState: event.state,
                sendMessage: event.links.sendMessage ?? context.p2p.sendMessage,
                setIsTyping: event.links.setIsTyping ?? context.p2p.setIsTyping,
                stopMessaging: event.links.stopMessaging ?? context.p2p.stopMessaging,
              }),
            }),
          },
        ],
        'callback.bridgeAdded': {
          guard: 'isP2p',
          actions: assign({
            p2p: ({ context, event }) => ({
              ...context.p2p,
              bridgeHref: event.bridgeHref,
              bridgedParticipantsHref: event.bridgedParticipantsHref ?? context.p2p.bridgedParticipantsHref,
            }),
          }),
        },
        'callback.invitationStarted': {},
        'callback.invitationCompleted': {},
        'callback.conversationConnected': {},
        'callback.conversationUpdated': {},
        'callback.participantAdded': {},
        'callback.participantMessagingAdded': {},
        'chat.close': { target: 'abandoned' },
      },
      states: {
        addingMessaging: {
          entry: [
            { type: 'beginStep', params: { step: 'addMessaging' } },
            { type: 'recordOperation', params: { step: 'addMessaging' } },
          ],
          invoke: {
            id: 'addMessaging',
            src: 'addMessaging',
            input: ({ context }) => ({
              href: context.conference.addMessaging ?? '',
              operationId: operationIdFor(context.sessionId, 'addMessaging'),
              callbackContext: context.sessionId,
            }),
            onDone: { target: 'bridging' },
            onError: [
              {
                guard: 'canRetry',
                target: 'messagingBackoff',
                actions: ['countAttempt', retryDeadline],
              },
              {
                target: '#chatSession.failed',
                actions: {
                  type: 'recordError',
                  params: ({ event }) => ({ error: errorOf('addMessaging', event.error) }),
                },
              },
            ],
          },
        },
        messagingBackoff: retryWhenDue('addingMessaging'),
        bridging: {
          entry: [
            { type: 'beginStep', params: { step: 'acceptAndBridge' } },
            { type: 'recordOperation', params: { step: 'acceptAndBridge' } },
          ],
          invoke: {
            id: 'acceptAndBridge',
            src: 'acceptAndBridge',
            input: ({ context }) => ({
              href: context.invitation.acceptAndBridge ?? '',
              onlineMeetingUri: context.conference.onlineMeetingUri ?? '',
              localUserDisplayName: context.settings.helpdeskName,
              operationId: operationIdFor(context.sessionId, 'acceptAndBridge'),
            }),
            onDone: { target: 'awaitingBridge', actions: assign({ accepted: true }) },
            onError: [
              {
                guard: 'canRetry',
                target: 'bridgingBackoff',
                actions: ['countAttempt', retryDeadline],
              },
              {
                target: '#chatSession.failed',
                actions: {
                  type: 'recordError',
                  params: ({ event }) => ({ error: errorOf('acceptAndBridge', event.error) }),
                },
              },
            ],
          },
        },
        bridgingBackoff: retryWhenDue('bridging'),
        awaitingBridge: {
          ...stepDeadline,
          always: { guard: 'bridgeReady', target: '#chatSession.bridged' },
          on: {
            'timer.stepTimeout': {
              guard: 'deadlineDue',
              target: '#chatSession.failed',
              actions: {
                type: 'recordError',
                params: {
                  error: {
                    step: 'acceptAndBridge',
                    code: 'Timeout',
                    message: 'the conversation bridge did not appear',
                  },
                },
              },
            },
          },
        },
      },
    },

    // Steps 11–13: add the first agent as a bridged participant (messages relayed), then welcome the
    // customer on the P2P leg and wait for its delivery.
    bridged: {
      initial: 'awaitingMessaging',
      on: {
        'callback.conversationDeleted': [
          { guard: 'customerLeft', target: 'abandoned' },
          {
            guard: 'isConference',
            target: 'failed',
            actions: [
              assign({ conference: ({ context }) => ({ ...context.conference, gone: true }) }),
              {
                type: 'recordError',
                params: { error: { step: 'bridged', code: 'ConferenceEnded', message: 'the meeting ended' } },
              },
            ],
          },
        ],
        'callback.messagingUpdated': [
          { guard: 'customerLeft', target: 'abandoned' },
          {
            guard: 'isP2p',
            actions: assign({
              p2p: ({ context, event }) => ({
                ...context.p2p,
                messagingState: event.state,
                sendMessage: event.links.sendMessage ?? context.p2p.sendMessage,
                setIsTyping: event.links.setIsTyping ?? context.p2p.setIsTyping,
                stopMessaging: event.links.stopMessaging ?? context.p2p.stopMessaging,
              }),
            }),
          },
          {
            guard: 'isConference',
            actions: assign({
              conference: ({ context, event }) => ({
                ...context.conference,
                messagingState: event.state,
                sendMessage: event.links.sendMessage ?? context.conference.sendMessage,
              }),
            }),
          },
        ],
        'callback.messageCompleted': { actions: ['emitMessage', 'keepLine'] },
        'callback.invitationStarted': {},
        'callback.invitationCompleted': {},
        'callback.conversationConnected': {},
        'callback.participantAdded': {},
        'callback.participantMessagingAdded': {},
        'callback.bridgedParticipantAdded': {},
        'callback.bridgedParticipantDeleted': {},
        'callback.messageStarted': {},
        'chat.close': { target: 'abandoned' },
      },
      states: {
        awaitingMessaging: {
          ...stepDeadline,
          always: { guard: 'p2pMessagingReady', target: 'sendingWelcome' },
          on: {
            'timer.stepTimeout': {
              guard: 'deadlineDue',
              target: '#chatSession.failed',
              actions: {
                type: 'recordError',
                params: {
                  error: {
                    step: 'bridged',
                    code: 'Timeout',
                    message: "the customer's messaging did not connect",
                  },
                },
              },
            },
          },
        },
        sendingWelcome: {
          entry: [
            { type: 'beginStep', params: { step: 'welcome' } },
            { type: 'recordOperation', params: { step: 'welcome' } },
          ],
          invoke: {
            id: 'sendWelcome',
            src: 'sendMessage',
            input: ({ context }) => ({
              href: context.p2p.sendMessage ?? '',
              text: context.settings.welcomeText,
              operationId: operationIdFor(context.sessionId, 'welcome'),
            }),
            onDone: {
              target: 'awaitingDelivery',
              actions: assign({ welcome: ({ event }) => ({ location: event.output?.location }) }),
            },
            onError: [
              {
                guard: 'canRetry',
                target: 'welcomeBackoff',
                actions: ['countAttempt', retryDeadline],
              },
              {
                target: '#chatSession.failed',
                actions: {
                  type: 'recordError',
                  params: ({ event }) => ({ error: errorOf('welcome', event.error) }),
                },
              },
            ],
          },
        },
        welcomeBackoff: retryWhenDue('sendingWelcome'),
        awaitingDelivery: {
          ...stepDeadline,
          on: {
            'callback.messageCompleted': [
              {
                guard: ({ context, event }) =>
                  event.direction === 'Outgoing' &&
                  isWelcome(context, event.messageHref, event.operationId) &&
                  event.status === 'Success',
                target: '#chatSession.welcomed',
                actions: emit(({ context }) => ({
                  type: 'chat.message' as const,
                  direction: 'Outgoing' as const,
                  text: context.settings.welcomeText,
                  from: context.settings.helpdeskName,
                  leg: 'p2p' as const,
                })),
              },
              {
                guard: ({ context, event }) =>
                  event.direction === 'Outgoing' && isWelcome(context, event.messageHref, event.operationId),
                target: '#chatSession.failed',
                actions: {
                  type: 'recordError',
                  params: ({ event }) => ({
                    error: {
                      step: 'welcome',
                      code: event.reason?.code ?? 'Failure',
                      message: reasonText(event.reason),
                    },
                  }),
                },
              },
              { actions: ['emitMessage', 'keepLine'] },
            ],
            'timer.stepTimeout': {
              guard: 'deadlineDue',
              target: '#chatSession.failed',
              actions: {
                type: 'recordError',
                params: {
                  error: {
                    step: 'welcome',
                    code: 'Timeout',
                    message: 'the welcome message was not delivered',
                  },
                },
              },
            },
          },
        },
      },
    },

    // Steps 11, 14–15: find an agent (routing may queue the chat), offer it (bridge + invite, as a child
    // actor), and on a decline or a timeout go back to routing, which skips the agents already tried.
    welcomed: {
      initial: 'routing',
      entry: assign({ tried: [] }),
      exit: [
        { type: 'clearDeadline', params: { timer: 'timer.queueExpired' } },
        assign({ queue: ({ context }) => ({ ...context.queue, position: undefined }) }),
      ],
      on: {
        'callback.conversationDeleted': [
          { guard: 'customerLeft', target: 'abandoned' },
          // An agent served the customer and the meeting ended (its agents' removal may have come first,
          // taken for the last agent leaving): the chat is over, and it was served.
          {
            guard: 'servedConferenceEnded',
            target: 'closed',
            actions: [
              assign({ conference: ({ context }) => ({ ...context.conference, gone: true }) }),
              { type: 'setOutcome', params: { outcome: 'completed' } },
            ],
          },
          {
            guard: 'isConference',
            target: 'failed',
            actions: [
              assign({ conference: ({ context }) => ({ ...context.conference, gone: true }) }),
              {
                type: 'recordError',
                params: {
                  error: { step: 'welcomed', code: 'ConferenceEnded', message: 'the meeting ended' },
                },
              },
            ],
          },
        ],
        'callback.messagingUpdated': { guard: 'customerLeft', target: 'abandoned' },
        'callback.messageCompleted': { actions: ['emitMessage', 'keepLine'] },
        'callback.typing': { actions: 'emitTyping' },
        'timer.queueExpired': {
          guard: 'deadlineDue',
          target: 'failed',
          actions: [
            { type: 'setOutcome', params: { outcome: 'queueTimeout' } },
            {
              type: 'recordError',
              params: {
                error: { step: 'queue', code: 'QueueTimeout', message: 'no agent became free in time' },
              },
            },
          ],
        },
        'chat.close': { target: 'abandoned' },
      },
      states: {
        // The last agent left mid-chat: tell the customer, then route again.
        announcingAgentLeft: {
          entry: { type: 'recordOperation', params: ({ context }) => ({ step: `left.${context.offers}` }) },
          invoke: {
            id: 'announceAgentLeft',
            src: 'sendMessage',
            input: ({ context }) => ({
              href: context.p2p.sendMessage ?? '',
              text: context.settings.agentLeftText,
              operationId: operationIdFor(context.sessionId, `left.${context.offers}`),
            }),
            onDone: { target: 'routing' },
            onError: { target: 'routing' },
          },
        },
        routing: {
          entry: emit(({ context }) => ({
            type: 'routing.request' as const,
            sessionId: context.sessionId,
            ...(context.topic ? { topic: context.topic } : {}),
            exclude: context.tried,
          })),
          on: {
            'agent.assigned': {
              target: 'offering',
              actions: 'takeAssignment',
            },
            'queue.update': {
              target: 'queued',
              actions: 'takeQueueUpdate',
            },
            'routing.unavailable': {
              target: '#chatSession.failed',
              actions: [
                { type: 'setOutcome', params: { outcome: 'noAgent' } },
                {
                  type: 'recordError',
                  params: ({ event }) => ({
                    error: { step: 'routing', code: 'NoAgent', message: event.reason },
                  }),
                },
              ],
            },
          },
        },
        queued: {
          initial: 'informing',
          entry: [
            {
              type: 'setDeadlineOnce',
              params: ({ context }) => ({
                timer: 'timer.queueExpired' as const,
                delayMs: context.settings.maxQueueWaitMs,
              }),
            },
          ],
          on: {
            'agent.assigned': { target: 'offering', actions: 'takeAssignment' },
            'routing.unavailable': {
              target: '#chatSession.failed',
              actions: [
                { type: 'setOutcome', params: { outcome: 'noAgent' } },
                {
                  type: 'recordError',
                  params: ({ event }) => ({
                    error: { step: 'routing', code: 'NoAgent', message: event.reason },
                  }),
                },
              ],
            },
          },
          states: {
            informing: {
              entry: {
                type: 'recordOperation',
                params: ({ context }) => ({ step: `wait.${context.queue.updates}` }),
              },
              invoke: {
                id: 'sendQueueMessage',
                src: 'sendMessage',
                input: ({ context }) => ({
                  href: context.p2p.sendMessage ?? '',
                  text: context.queue.message ?? '',
                  operationId: operationIdFor(context.sessionId, `wait.${context.queue.updates}`),
                }),
                onDone: {
                  target: 'waiting',
                  actions: [
                    assign({
                      queue: ({ context }) => ({ ...context.queue, updates: context.queue.updates + 1 }),
                    }),
                    emit(({ context }) => ({
                      type: 'chat.message' as const,
                      direction: 'Outgoing' as const,
                      text: context.queue.message ?? '',
                      from: context.settings.helpdeskName,
                      leg: 'p2p' as const,
                    })),
                  ],
                },
                onError: {
                  target: 'waiting',
                  actions: assign({
                    queue: ({ context }) => ({ ...context.queue, updates: context.queue.updates + 1 }),
                  }),
                },
              },
            },
            waiting: {
              entry: [
                {
                  type: 'setDeadline',
                  params: ({ context }) => ({
                    timer: 'timer.queueUpdate' as const,
                    delayMs: context.settings.queueUpdateMs,
                  }),
                },
              ],
              exit: [{ type: 'clearDeadline', params: { timer: 'timer.queueUpdate' } }],
              on: {
                'timer.queueUpdate': {
                  guard: 'deadlineDue',
                  target: 'asking',
                },
                'queue.update': { target: 'informing', actions: 'takeQueueUpdate' },
              },
            },
            asking: {
              entry: emit(({ context }) => ({
                type: 'routing.status' as const,
                sessionId: context.sessionId,
              })),
              on: { 'queue.update': { target: 'informing', actions: 'takeQueueUpdate' } },
            },
          },
        },
        offering: {
          entry: {
            type: 'recordOperation',
            params: ({ context }) => ({ step: `offer.${context.offers - 1}` }),
          },
          invoke: {
            id: 'offer',
            src: 'agentOffer',
            input: ({ context }) => ({
              sessionId: context.sessionId,
              offerIndex: context.offers - 1,
              agent: context.currentAgent!,
              bridgedParticipantsHref: context.p2p.bridgedParticipantsHref ?? '',
              addParticipantHref: context.conference.addParticipant ?? '',
              messageFilterState: 'Disabled' as const,
              offerTimeoutMs: context.settings.offerTimeoutMs,
              maxAttempts: context.settings.maxAttempts,
              retryBaseMs: context.settings.retryBaseMs,
            }),
            onDone: [
              {
                guard: ({ event }) => event.output.result === 'accepted',
                target: '#chatSession.agentsJoined',
                actions: [
                  'noteOfferResult',
                  // The customer wrote while waiting: the agent gets it first, and owes a reply.
                  enqueueActions(({ context, enqueue }) => {
                    if (context.backlog.length === 0) return;
                    enqueue({
                      type: 'setDeadline',
                      params: { timer: 'timer.agentReply', delayMs: context.settings.agentReplyMs },
                    });
                  }),
                  'prepareRelay',
                  assign({
                    served: true,
                    offerFaults: 0,
                    joinedAgents: ({ context, event }) => [
                      ...context.joinedAgents,
                      {
                        ...event.output.agent,
                        participantHref: event.output.participantHref ?? '',
                        ...(event.output.bridgedParticipantHref
                          ? { bridgedParticipantHref: event.output.bridgedParticipantHref }
                          : {}),
                      },
                    ],
                  }),
                  emit(({ context, event }) => ({
                    type: 'routing.offerEnded' as const,
                    sessionId: context.sessionId,
                    agent: event.output.agent,
                    result: event.output.result,
                  })),
                  emit(({ event }) => ({
                    type: 'chat.participant' as const,
                    change: 'added' as const,
                    uri: event.output.agent.uri,
                    name: event.output.agent.name,
                    leg: 'conference' as const,
                  })),
                ],
              },
              // The platform failed the offer: not the agent's doing (not tried, not missed); try again after a
              // backoff (routing may pick the same agent or the next), up to maxAttempts faults in a row.
              {
                guard: 'offerFailedOnPlatformRetryable',
                target: 'offerBackoff',
                actions: [
                  'noteOfferResult',
                  'emitOfferEnded',
                  'withdrawOfferedAgent',
                  assign({ offerFaults: ({ context }) => context.offerFaults + 1 }),
                  {
                    type: 'setDeadline',
                    params: ({ context }) => ({
                      timer: 'timer.retry' as const,
                      delayMs: backoffDelay(
                        `${context.sessionId}.offers`,
                        context.offerFaults,
                        context.settings.retryBaseMs,
                      ),
                    }),
                  },
                ],
              },
              {
                guard: 'offerFailedOnPlatform',
                target: '#chatSession.failed',
                actions: [
                  'noteOfferResult',
                  'emitOfferEnded',
                  'withdrawOfferedAgent',
                  {
                    type: 'recordError',
                    params: ({ event }) => ({
                      error: {
                        step: 'offer',
                        code: 'PlatformFailure',
                        message: `the platform failed ${event.output.agent.uri}'s offer: ${event.output.reason ?? 'no reason given'}`,
                      },
                    }),
                  },
                ],
              },
              {
                target: 'routing',
                actions: [
                  'noteOfferResult',
                  assign({
                    tried: ({ context, event }) => [...context.tried, event.output.agent.uri],
                    withdrawn: ({ context, event }) =>
                      event.output.result === 'expired'
                        ? [...context.withdrawn, event.output.agent.uri.toLowerCase()]
                        : context.withdrawn,
                  }),
                  emit(({ context, event }) => ({
                    type: 'routing.offerEnded' as const,
                    sessionId: context.sessionId,
                    agent: event.output.agent,
                    result: event.output.result,
                    ...(event.output.reason ? { reason: event.output.reason } : {}),
                  })),
                ],
              },
            ],
            onError: {
              target: 'routing',
              actions: [
                assign({ tried: ({ context }) => [...context.tried, context.currentAgent?.uri ?? ''] }),
                emit(({ context }) => ({
                  type: 'routing.offerEnded' as const,
                  sessionId: context.sessionId,
                  agent: context.currentAgent!,
                  result: 'failed' as const,
                })),
              ],
            },
          },
          on: {
            'callback.participantAdded': { actions: sendTo('offer', ({ event }) => event) },
            'callback.invitationCompleted': { actions: sendTo('offer', ({ event }) => event) },
          },
        },
        // The platform failed an offer: wait, then ask routing again.
        offerBackoff: retryWhenDue('routing'),
      },
    },

    // Steps 16–21: agents and customer talk (the platform relays across the bridge; the SA observes the
    // conference leg) until the customer leaves. A customer silent too long is warned, then closed.
    agentsJoined: {
      type: 'parallel',
      entry: [
        {
          type: 'setDeadline',
          params: ({ context }) => ({
            timer: 'timer.customerIdle' as const,
            delayMs: context.settings.customerIdleMs,
          }),
        },
      ],
      exit: [
        { type: 'clearDeadline', params: { timer: 'timer.customerIdle' } },
        { type: 'clearDeadline', params: { timer: 'timer.agentReply' } },
      ],
      on: {
        'callback.typing': { actions: 'emitTyping' },
        'callback.participantAdded': [
          // An agent whose offer was withdrawn joined after all: show them out.
          {
            guard: 'isStrayAgent',
            actions: [
              'emitParticipant',
              emit(({ event }) => ({
                type: 'chat.ignored' as const,
                eventType: event.type,
                why: 'an agent joined after their offer was withdrawn; ejected when the platform offers eject',
              })),
              assign({
                strays: ({ context, event }) =>
                  event.type === 'callback.participantAdded' && event.uri
                    ? [...context.strays, event.uri.toLowerCase()]
                    : context.strays,
              }),
            ],
          },
          { actions: 'emitParticipant' },
        ],
        'callback.participantUpdated': [
          {
            guard: 'strayWithEject',
            actions: [
              'emitParticipant',
              assign({
                ejecting: ({ context, event }) =>
                  event.type === 'callback.participantUpdated' && event.links.eject
                    ? [...context.ejecting, event.links.eject]
                    : context.ejecting,
              }),
            ],
          },
          {
            actions: [
              'emitParticipant',
              assign({
                joinedAgents: ({ context, event }) =>
                  event.type === 'callback.participantUpdated' && event.links.eject
                    ? context.joinedAgents.map((agent) =>
                        sameHref(agent.participantHref, event.participantHref)
                          ? { ...agent, ejectHref: event.links.eject }
                          : agent,
                      )
                    : context.joinedAgents,
              }),
            ],
          },
        ],
        'callback.participantDeleted': [
          { guard: 'isP2p', actions: 'emitParticipant' },
          {
            guard: 'lastAgentLeaving',
            target: '#chatSession.welcomed.announcingAgentLeft',
            actions: [
              emit(({ context, event }) => ({
                type: 'routing.agentLeft' as const,
                sessionId: context.sessionId,
                agent: context.joinedAgents.find((a) =>
                  sameHref(a.participantHref, event.participantHref),
                ) ?? {
                  uri: event.uri ?? '',
                  name: event.name ?? '',
                },
              })),
              assign({ joinedAgents: [] }),
              'emitParticipant',
            ],
          },
          {
            actions: [
              emit(({ context, event }) => {
                const agent =
                  context.joinedAgents.find((a) => sameHref(a.participantHref, event.participantHref)) ??
                  context.supervisors.find((a) => sameHref(a.participantHref, event.participantHref));
                return agent
                  ? {
                      type: 'routing.agentLeft' as const,
                      sessionId: context.sessionId,
                      agent: { uri: agent.uri, name: agent.name },
                    }
                  : {
                      type: 'chat.ignored' as const,
                      eventType: event.type,
                      why: 'a participant who was not an agent left',
                    };
              }),
              assign({
                joinedAgents: ({ context, event }) =>
                  context.joinedAgents.filter(
                    (agent) => !sameHref(agent.participantHref, event.participantHref),
                  ),
                supervisors: ({ context, event }) =>
                  context.supervisors.filter(
                    (agent) => !sameHref(agent.participantHref, event.participantHref),
                  ),
              }),
              'emitParticipant',
            ],
          },
        ],
        'callback.messagingUpdated': [
          { guard: 'customerLeft', target: 'closed', actions: 'markCustomerGone' },
          // Someone ended the meeting: its messaging ends first, before the agents' removal is reported.
          {
            guard: 'conferenceDisconnected',
            target: 'closed',
            actions: { type: 'setOutcome', params: { outcome: 'completed' } },
          },
        ],
        'callback.conversationDeleted': [
          {
            guard: 'customerLeft',
            target: 'closed',
            actions: [{ type: 'setOutcome', params: { outcome: 'completed' } }, 'markCustomerGone'],
          },
          {
            guard: 'isConference',
            target: 'closed',
            actions: [
              assign({ conference: ({ context }) => ({ ...context.conference, gone: true }) }),
              { type: 'setOutcome', params: { outcome: 'completed' } },
            ],
          },
        ],
        'callback.participantMessagingAdded': {},
        'callback.participantMessagingDeleted': {},
        'callback.invitationStarted': {},
        'callback.messageStarted': {},
        'callback.bridgedParticipantAdded': {},
        'callback.bridgedParticipantUpdated': {},
        'callback.bridgedParticipantDeleted': {},
        'chat.close': {
          target: 'closed',
          actions: { type: 'setOutcome', params: { outcome: 'closedBySa' } },
        },
      },
      states: {
        // The customer: messages keep the chat alive; silence gets a warning, then the chat closes.
        customer: {
          initial: 'active',
          on: {
            'callback.messageCompleted': [
              {
                guard: 'fromCustomer',
                target: '.active',
                actions: [
                  'emitMessage',
                  'keepLine',
                  {
                    type: 'setDeadline',
                    params: ({ context }) => ({
                      timer: 'timer.customerIdle' as const,
                      delayMs: context.settings.customerIdleMs,
                    }),
                  },
                  {
                    type: 'setDeadline',
                    params: ({ context }) => ({
                      timer: 'timer.agentReply' as const,
                      delayMs: context.settings.agentReplyMs,
                    }),
                  },
                ],
              },
              {
                guard: ({ event }) => event.direction === 'Incoming',
                actions: [
                  'emitMessage',
                  'keepLine',
                  { type: 'clearDeadline', params: { timer: 'timer.agentReply' } },
                ],
              },
              { actions: 'emitMessage' },
            ],
          },
          states: {
            active: {
              on: {
                'timer.customerIdle': {
                  guard: 'deadlineDue',
                  target: 'warningIdle',
                  actions: { type: 'clearDeadline', params: { timer: 'timer.customerIdle' } },
                },
              },
            },
            warningIdle: {
              entry: {
                type: 'recordOperation',
                params: ({ context }) => ({ step: `idle.${context.idleWarnings}` }),
              },
              invoke: {
                id: 'sendIdleWarning',
                src: 'sendMessage',
                input: ({ context }) => ({
                  href: context.p2p.sendMessage ?? '',
                  text: context.settings.idleWarningText,
                  operationId: operationIdFor(context.sessionId, `idle.${context.idleWarnings}`),
                }),
                onDone: { target: 'idleGrace' },
                onError: { target: 'idleGrace' },
              },
              exit: assign({ idleWarnings: ({ context }) => context.idleWarnings + 1 }),
            },
            idleGrace: {
              entry: [
                {
                  type: 'setDeadline',
                  params: ({ context }) => ({
                    timer: 'timer.customerIdle' as const,
                    delayMs: context.settings.idleGraceMs,
                  }),
                },
              ],
              on: {
                'timer.customerIdle': {
                  guard: 'deadlineDue',
                  target: '#chatSession.closed',
                  actions: { type: 'setOutcome', params: { outcome: 'idle' } },
                },
              },
            },
          },
        },

        // The agents: a customer message unanswered for agentReplyMs gets the agents a nudge in the meeting
        // (the SA's own conference messages are not bridged: the customer does not see them).
        replies: {
          initial: 'watching',
          states: {
            watching: {
              on: {
                'timer.agentReply': {
                  guard: 'deadlineDue',
                  target: 'nudging',
                  actions: { type: 'clearDeadline', params: { timer: 'timer.agentReply' } },
                },
              },
            },
            nudging: {
              entry: {
                type: 'recordOperation',
                params: ({ context }) => ({ step: `nudge.${context.nudges}` }),
              },
              invoke: {
                id: 'nudgeAgents',
                src: 'sendMessage',
                input: ({ context }) => ({
                  href: context.conference.sendMessage ?? '',
                  text: context.settings.agentNudgeText,
                  operationId: operationIdFor(context.sessionId, `nudge.${context.nudges}`),
                }),
                onDone: { target: 'watching' },
                onError: { target: 'watching' },
              },
              exit: assign({ nudges: ({ context }) => context.nudges + 1 }),
            },
          },
        },

        // Operator actions: transfer to a named agent, add a second agent, a supervisor who monitors
        // (bridged with messageFilterState Enabled: sees everything, the customer sees nothing of theirs)
        // and may barge in (the filter turned to Disabled); strays ejected.
        staffing: {
          initial: 'steady',
          states: {
            // Whoever joined is sent what they missed first (the backlog, the history), then anyone who
            // should not be there any more is shown out.
            steady: {
              always: [
                { guard: 'hasRelay', target: 'briefing' },
                { guard: 'hasEjections', target: 'ejecting' },
              ],
              on: {
                'chat.transfer': { target: 'offering', actions: 'takeStaffingRequest' },
                'chat.addAgent': { target: 'offering', actions: 'takeStaffingRequest' },
                'chat.monitor': { target: 'offering', actions: 'takeStaffingRequest' },
                'chat.barge': { guard: 'hasSupervisor', target: 'barging' },
              },
            },
            offering: {
              entry: {
                type: 'recordOperation',
                params: ({ context }) => ({ step: `offer.${context.offers - 1}` }),
              },
              invoke: {
                id: 'staffOffer',
                src: 'agentOffer',
                input: ({ context }) => ({
                  sessionId: context.sessionId,
                  offerIndex: context.offers - 1,
                  agent: context.staffing!.agent,
                  bridgedParticipantsHref: context.p2p.bridgedParticipantsHref ?? '',
                  addParticipantHref: context.conference.addParticipant ?? '',
                  messageFilterState:
                    context.staffing!.purpose === 'monitor' ? ('Enabled' as const) : ('Disabled' as const),
                  offerTimeoutMs: context.settings.offerTimeoutMs,
                  maxAttempts: context.settings.maxAttempts,
                  retryBaseMs: context.settings.retryBaseMs,
                }),
                onDone: [
                  {
                    guard: ({ event }) => event.output.result === 'accepted',
                    target: 'steady',
                    actions: [
                      'staffingAccepted',
                      'prepareRelay',
                      emit(({ context, event }) => ({
                        type: 'routing.offerEnded' as const,
                        sessionId: context.sessionId,
                        agent: event.output.agent,
                        result: event.output.result,
                      })),
                    ],
                  },
                  {
                    target: 'steady',
                    actions: [
                      assign({ staffing: undefined }),
                      emit(({ context, event }) => ({
                        type: 'routing.offerEnded' as const,
                        sessionId: context.sessionId,
                        agent: event.output.agent,
                        result: event.output.result,
                        ...(event.output.reason ? { reason: event.output.reason } : {}),
                      })),
                    ],
                  },
                ],
                onError: {
                  target: 'steady',
                  actions: [
                    emit(({ context }) => ({
                      type: 'routing.offerEnded' as const,
                      sessionId: context.sessionId,
                      agent: context.staffing!.agent,
                      result: 'failed' as const,
                    })),
                    assign({ staffing: undefined }),
                  ],
                },
              },
              on: {
                'callback.participantAdded': { actions: sendTo('staffOffer', ({ event }) => event) },
                'callback.invitationCompleted': { actions: sendTo('staffOffer', ({ event }) => event) },
              },
            },
            briefing: {
              entry: [
                { type: 'beginStep', params: ({ context }) => ({ step: `relay.${context.relayed}` }) },
                assign({
                  operations: ({ context }) => [
                    ...context.operations,
                    ...(context.relay ?? [])
                      .map((line) => line.operationId)
                      .filter((id) => !context.operations.includes(id)),
                  ],
                }),
              ],
              invoke: {
                id: 'relayMessages',
                src: 'relayMessages',
                input: ({ context }) => ({
                  sessionId: context.sessionId,
                  href: context.conference.sendMessage ?? '',
                  lines: context.relay ?? [],
                }),
                onDone: { target: 'steady', actions: 'relayDone' },
                onError: [
                  { guard: 'canRetry', target: 'briefingBackoff', actions: ['countAttempt', retryDeadline] },
                  { target: 'steady', actions: 'relayFailed' },
                ],
              },
            },
            briefingBackoff: retryWhenDue('briefing'),
            barging: {
              invoke: {
                id: 'barge',
                src: 'updateBridgedParticipant',
                input: ({ context }) => {
                  const supervisor = context.supervisors[0]!;
                  return {
                    sessionId: context.sessionId,
                    href: supervisor.bridgedParticipantHref ?? '',
                    displayName: supervisor.name,
                    participantUri: supervisor.uri,
                    messageFilterState: 'Disabled' as const,
                  };
                },
                onDone: {
                  target: 'steady',
                  actions: assign({
                    // The supervisor now speaks to the customer: an agent like the others.
                    joinedAgents: ({ context }) => [...context.joinedAgents, context.supervisors[0]!],
                    supervisors: ({ context }) => context.supervisors.slice(1),
                  }),
                },
                onError: { target: 'steady' },
              },
            },
            ejecting: {
              invoke: {
                id: 'eject',
                src: 'ejectParticipants',
                input: ({ context }) => ({ sessionId: context.sessionId, hrefs: context.ejecting }),
                onDone: { target: 'steady', actions: assign({ ejecting: [] }) },
                onError: { target: 'steady', actions: assign({ ejecting: [] }) },
              },
            },
          },
        },
      },
    },

    // Step 22: the customer left: terminate the conference.
    closed: {
      entry: [
        assign({ outcome: ({ context }) => context.outcome ?? 'completed' }),
        { type: 'beginStep', params: { step: 'teardown' } },
      ],
      initial: 'releasing',
      // Messages can still arrive on the meeting's callbacks after the customer's leave was reported.
      on: { 'callback.messageCompleted': { actions: 'emitMessage' }, 'callback.*': {} },
      states: {
        releasing: {
          invoke: {
            id: 'teardown',
            src: 'teardown',
            input: ({ context }) => teardownInput(context, context.outcome ?? 'completed'),
            onDone: { target: '#chatSession.terminated' },
            onError: [
              {
                guard: 'canRetry',
                target: 'backoff',
                actions: ['countAttempt', retryDeadline],
              },
              {
                target: '#chatSession.terminated',
                actions: {
                  type: 'recordError',
                  params: ({ event }) => ({ error: errorOf('teardown', event.error) }),
                },
              },
            ],
          },
        },
        backoff: retryWhenDue('releasing'),
      },
    },

    // The customer left (or the SA gave up on them) before an agent joined: release what exists.
    abandoned: {
      entry: [
        { type: 'setOutcome', params: { outcome: 'abandoned' } },
        // The customer left, unless the SA itself closed the chat.
        assign({ p2p: ({ context, event }) => ({ ...context.p2p, gone: event.type !== 'chat.close' }) }),
        { type: 'beginStep', params: { step: 'teardown' } },
      ],
      ...releaseAndTerminate(),
    },

    // A step failed for good: tell the customer, decline or leave, terminate the meeting.
    failed: {
      entry: [
        assign({ outcome: ({ context }) => context.outcome ?? 'failed' }),
        { type: 'beginStep', params: { step: 'teardown' } },
      ],
      ...releaseAndTerminate(),
    },

    terminated: {
      type: 'final',
      entry: assign({ deadlines: {} }),
    },
  },
});

/**
 * How `abandoned` and `failed` end: release at once what exists (the customer hears the apology, or their
 * invitation is declined, without waiting for anything), then wait (bounded) for a meeting the SA asked
 * for but has not heard of yet, and release that too should it report itself.
 */
function releaseAndTerminate() {
  return {
    initial: 'releasing' as const,
    on: {
      // A meeting we asked for may still report itself: learn its href so it can be terminated.
      'callback.invitationStarted': {
        guard: 'isOurMeetingInvitation' as const,
        actions: 'learnConference' as const,
      },
      // Messages can still arrive on the meeting's callbacks after the customer's leave was reported.
      'callback.messageCompleted': { actions: 'emitMessage' as const },
      'callback.*': {},
    },
    states: {
      releasing: {
        entry: 'planRelease' as const,
        invoke: {
          id: 'teardown',
          src: 'teardown' as const,
          input: ({ context }: { context: ChatSessionContext }) =>
            teardownInput(context, context.outcome ?? 'failed'),
          onDone: { target: 'awaitingConference', actions: 'markReleased' as const },
          onError: [
            {
              guard: 'canRetry' as const,
              target: 'backoff',
              actions: ['countAttempt' as const, retryDeadline],
            },
            {
              target: '#chatSession.terminated',
              actions: {
                type: 'recordError' as const,
                params: ({ event }: { event: { error?: unknown } }) => ({
                  error: errorOf('teardown', event.error),
                }),
              },
            },
          ],
        },
      },
      backoff: retryWhenDue('releasing'),
      // The meeting may exist although we never heard of it (an attempt that timed out): wait for it in
      // the background, bounded by the step deadline, and end it if it appears.
      awaitingConference: {
        entry: [
          {
            type: 'setDeadline' as const,
            params: ({ context }: { context: ChatSessionContext }) => ({
              timer: 'timer.stepTimeout' as const,
              delayMs: context.settings.stepTimeoutMs,
            }),
          },
        ],
        exit: [{ type: 'clearDeadline' as const, params: { timer: 'timer.stepTimeout' as const } }],
        always: [
          { guard: 'conferenceToRelease' as const, target: 'releasing' },
          { guard: 'nothingToAwait' as const, target: '#chatSession.terminated' },
        ],
        on: { 'timer.stepTimeout': { guard: 'deadlineDue' as const, target: '#chatSession.terminated' } },
      },
    },
  };
}

/** A backoff state: wait for the retry deadline, then go back to `target` and try again. */
function retryWhenDue<T extends string>(target: T) {
  return {
    // Left any other way (customer gone, closed), the retry deadline must not stay behind.
    exit: { type: 'clearDeadline' as const, params: { timer: 'timer.retry' as const } },
    on: {
      'timer.retry': {
        guard: 'deadlineDue' as const,
        target,
        actions: { type: 'clearDeadline' as const, params: { timer: 'timer.retry' as const } },
      },
    },
  };
}

function isWelcome(
  context: ChatSessionContext,
  messageHref: string,
  operationId: string | undefined,
): boolean {
  if (operationId && operationId === operationIdFor(context.sessionId, 'welcome')) return true;
  return sameHref(messageHref, context.welcome.location);
}

function teardownInput(context: ChatSessionContext, reason: Outcome): TeardownInput {
  // A second teardown (a meeting that reported itself late) leaves the customer's side alone.
  const customerSide = !context.teardown.customerReleased && !context.p2p.gone;
  const apologise = reason === 'failed' || reason === 'noAgent' || reason === 'queueTimeout';
  const apology =
    apologise && customerSide && context.p2p.sendMessage
      ? {
          href: context.p2p.sendMessage,
          text: reason === 'queueTimeout' ? context.settings.fallbackText : context.settings.apologyText,
          operationId: operationIdFor(context.sessionId, 'apology'),
        }
      : undefined;
  return {
    sessionId: context.sessionId,
    reason,
    ...(apology ? { apology } : {}),
    ...(!context.accepted && customerSide && context.invitation.decline
      ? { declineHref: context.invitation.decline }
      : {}),
    // The SA ends the chat while the customer is still there: leave their conversation too.
    ...(context.accepted && customerSide && context.p2p.conversationHref
      ? { customerConversationHref: context.p2p.conversationHref }
      : {}),
    ...(context.conference.conversationHref && !context.conference.gone
      ? { conferenceHref: context.conference.conversationHref }
      : {}),
  };
}

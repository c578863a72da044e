/**
 * The chat session's setup, declared once: the types, the side effects it invokes (promise actors the
 * runtime supplies with `machine.provide({ actors })`, and the agent offer), its named actions, guards and
 * delays. Every phase builds its states from `chat` (`chat.createStateConfig`), so they are all typed alike.
 */
import { assertEvent, emit, enqueueActions, fromPromise, setup } from 'xstate';
import { type AgentOfferOutput, agentOfferMachine } from '../agentOffer.ts';
import { assign } from '../assign.ts';
import type {
  AcceptAndBridgeInput,
  AddMessagingInput,
  AddParticipantInput,
  ChatLine,
  EjectParticipantsInput,
  Outcome,
  RelayMessagesInput,
  RelayMessagesOutput,
  SendMessageInput,
  StartAdhocMeetingInput,
  TeardownInput,
  UpdateBridgedParticipantInput,
} from '../effects.ts';
import type { CallbackEvent } from '../events.ts';
import {
  errorOf,
  isFromCustomer,
  isWelcome,
  MAX_BACKLOG,
  MAX_DEFERRED,
  MAX_LINE_IDS,
  messageKey,
  operationIdFor,
  relayFor,
  sameHref,
} from './context.ts';
import type {
  ChatSessionContext,
  ChatSessionEmitted,
  ChatSessionEvent,
  ChatSessionInput,
  SessionError,
  StaffMember,
  TimerName,
} from './types.ts';

function notProvided<I, O = void>(name: string) {
  return fromPromise<O, I>(async () => {
    throw new Error(`side effect '${name}' was not provided: use machine.provide({ actors })`);
  });
}

/** The output of an invoked actor, on its done event (setup's event types do not name `xstate.done.actor.*`). */
function doneOutput<T>(event: { type: string }): T | undefined {
  return (event as { output?: T }).output;
}

/** The error of an invoked actor, on its error event (`xstate.error.actor.*`). */
function errorIn(event: { type: string }): unknown {
  return (event as { error?: unknown }).error;
}

export const chat = setup({
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
      assertEvent(event, 'agent.assigned');
      return {
        currentAgent: event.agent,
        offers: context.offers + 1,
        assignments: [...context.assignments, event.assignment],
      };
    }),
    emitOfferEnded: emit(({ context, event }): ChatSessionEmitted => {
      const output = doneOutput<Partial<AgentOfferOutput>>(event);
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
      const uri = doneOutput<Partial<AgentOfferOutput>>(event)?.agent?.uri.toLowerCase();
      return uri && !context.withdrawn.includes(uri) ? { withdrawn: [...context.withdrawn, uri] } : {};
    }),
    /**
     * Keep a message of the meeting (either side) for agents who join later: in the history, and, when
     * the customer wrote it while no agent was in the meeting, in the backlog. Duplicates are dropped.
     */
    keepLine: assign(({ context, event }) => {
      assertEvent(event, 'callback.messageCompleted');
      if (event.direction !== 'Incoming') return {};
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
      const output = doneOutput<RelayMessagesOutput>(event);
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
      enqueue(assign({ relayed: context.relayed + (context.relay?.length ?? 0), relay: undefined }));
    }),
    relayFailed: enqueueActions(({ context, event, enqueue }) => {
      enqueue.emit({
        type: 'chat.relayFailed',
        sessionId: context.sessionId,
        lines: context.relay?.length ?? 0,
        error: errorOf('relay', errorIn(event)),
      });
      enqueue(assign({ relayed: context.relayed + (context.relay?.length ?? 0), relay: undefined }));
    }),
    /** The routing decision keeps how its offer ended and why (a platform fault is not the agent's). */
    noteOfferResult: assign(({ context, event }) => {
      const output = doneOutput<Partial<AgentOfferOutput>>(event);
      const last = context.assignments.at(-1);
      if (!output?.result || !last || typeof last !== 'object') return {};
      const offer = {
        result: output.result,
        ...(output.reason ? { reason: output.reason } : {}),
        countsAsMissed: output.result === 'expired',
        ...(output.result === 'failed' ? { fault: 'platform' } : {}),
      };
      return { assignments: [...context.assignments.slice(0, -1), { ...last, offer }] };
    }),
    takeStaffingRequest: assign(({ context, event }) => {
      assertEvent(event, ['chat.transfer', 'chat.addAgent', 'chat.monitor']);
      const purpose =
        event.type === 'chat.transfer' ? 'transfer' : event.type === 'chat.addAgent' ? 'add' : 'monitor';
      return { staffing: { purpose, agent: event.agent }, offers: context.offers + 1 };
    }),
    staffingAccepted: enqueueActions(({ context, event, enqueue }) => {
      const output = doneOutput<AgentOfferOutput>(event);
      const staffing = context.staffing;
      if (!output || !staffing) return;
      const member: StaffMember = {
        ...output.agent,
        participantHref: output.participantHref ?? '',
        ...(output.bridgedParticipantHref ? { bridgedParticipantHref: output.bridgedParticipantHref } : {}),
      };
      if (staffing.purpose === 'monitor') {
        enqueue(assign({ supervisors: [...context.supervisors, member], staffing: undefined }));
        return;
      }
      if (staffing.purpose === 'add') {
        enqueue(assign({ joinedAgents: [...context.joinedAgents, member], staffing: undefined }));
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
      enqueue(
        assign({
          joinedAgents: [member],
          staffing: undefined,
          ejecting: [
            ...context.ejecting,
            ...context.joinedAgents.flatMap((a) =>
              [a.ejectHref, a.bridgedParticipantHref].filter((h): h is string => !!h),
            ),
          ],
        }),
      );
    }),
    takeQueueUpdate: assign(({ context, event }) => {
      assertEvent(event, 'queue.update');
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
    /** Keeps a callback that came early for the state that takes it (see `replayDeferred`). */
    defer: assign(({ context, event }) => ({
      deferred: [...(context.deferred ?? []), event as CallbackEvent].slice(-MAX_DEFERRED),
    })),
    /** Raises the callbacks kept by `defer` again, in the order they came. */
    replayDeferred: enqueueActions(({ context, enqueue }) => {
      if (!context.deferred?.length) return;
      const deferred = context.deferred;
      enqueue(assign({ deferred: [] }));
      for (const event of deferred) enqueue.raise(event);
    }),
    learnConference: assign(({ context, event }) => {
      assertEvent(event, 'callback.invitationStarted');
      return event.conversationHref
        ? {
            conference: {
              ...context.conference,
              conversationHref: context.conference.conversationHref ?? event.conversationHref,
            },
          }
        : {};
    }),
    emitMessage: emit(({ context, event }) => {
      assertEvent(event, 'callback.messageCompleted');
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
    emitTyping: emit(({ context, event }) => {
      assertEvent(event, 'callback.typing');
      return {
        type: 'chat.typing',
        isTyping: event.isTyping,
        ...(event.name ? { from: event.name } : {}),
        leg: sameHref(event.conversationHref, context.p2p.conversationHref) ? 'p2p' : 'conference',
      };
    }),
    emitParticipant: emit(({ context, event }) => {
      assertEvent(event, [
        'callback.participantAdded',
        'callback.participantUpdated',
        'callback.participantDeleted',
      ]);
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
    /** A timer event for the deadline that is set now (a stale or replaced deadline's firing is not). */
    deadlineDue: ({ context, event }) => 'at' in event && context.deadlines[event.type] === event.at,
    fromCustomer: ({ context, event }) => {
      assertEvent(event, 'callback.messageCompleted');
      return isFromCustomer(context, event);
    },
    hasRelay: ({ context }) => !!context.relay?.length,
    lastAgentLeaving: ({ context, event }) => {
      assertEvent(event, 'callback.participantDeleted');
      return (
        context.joinedAgents.length > 0 &&
        context.joinedAgents.every((agent) => sameHref(agent.participantHref, event.participantHref))
      );
    },
    isOpen: ({ context }) => context.open,
    isStrayAgent: ({ context, event }) => {
      assertEvent(event, 'callback.participantAdded');
      if (!event.uri) return false;
      const uri = event.uri.toLowerCase();
      const known = [...context.joinedAgents, ...context.supervisors].some(
        (a) => a.uri.toLowerCase() === uri,
      );
      return !known && context.withdrawn.includes(uri) && context.staffing?.agent.uri.toLowerCase() !== uri;
    },
    strayWithEject: ({ context, event }) => {
      assertEvent(event, 'callback.participantUpdated');
      return !!event.links.eject && !!event.uri && context.strays.includes(event.uri.toLowerCase());
    },
    hasEjections: ({ context }) => context.ejecting.length > 0,
    offerFailedOnPlatform: ({ event }) => doneOutput<AgentOfferOutput>(event)?.result === 'failed',
    offerFailedOnPlatformRetryable: ({ context, event }) =>
      doneOutput<AgentOfferOutput>(event)?.result === 'failed' &&
      context.offerFaults + 1 < context.settings.maxAttempts,
    hasSupervisor: ({ context }) => context.supervisors.length > 0,
    canRetry: ({ context, event }) => {
      const error = errorIn(event) as { retryable?: unknown } | undefined;
      return error?.retryable === true && context.retry.attempt + 1 < context.settings.maxAttempts;
    },
    isOurMeetingInvitation: ({ context, event }) => {
      assertEvent(event, 'callback.invitationStarted');
      return (
        event.kind === 'onlineMeeting' &&
        event.operationId === operationIdFor(context.sessionId, 'adhocMeeting')
      );
    },
    /** Our meeting's invitation completing (step 8). */
    isOurMeetingCompletion: ({ context, event }) => {
      assertEvent(event, 'callback.invitationCompleted');
      return (
        event.kind === 'onlineMeeting' &&
        event.operationId === operationIdFor(context.sessionId, 'adhocMeeting')
      );
    },
    /** Not about the customer's own conversation: may be about the meeting (whose href may be unknown yet). */
    notP2p: ({ context, event }) =>
      'conversationHref' in event && !sameHref(event.conversationHref, context.p2p.conversationHref),
    /** The delivery of our welcome (step 13). */
    isOurWelcome: ({ context, event }) => {
      assertEvent(event, 'callback.messageCompleted');
      return event.direction === 'Outgoing' && isWelcome(context, event.messageHref, event.operationId);
    },
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
    /** The customer's conversation was deleted, or its messaging dropped after it had connected. */
    customerLeft: ({ context, event }) => {
      assertEvent(event, ['callback.conversationDeleted', 'callback.messagingUpdated']);
      if (!sameHref(event.conversationHref, context.p2p.conversationHref)) return false;
      return (
        event.type === 'callback.conversationDeleted' ||
        (event.state === 'Disconnected' && context.p2p.messagingState === 'Connected')
      );
    },
    /** A meeting whose href we know and that nobody has deleted yet: the ending must delete it. */
    conferenceToRelease: ({ context }) => !!context.conference.conversationHref && !context.conference.gone,
    /** No meeting may still report itself: either none was asked for, or it is known (and released). */
    nothingToAwait: ({ context }) => !context.meetingRequested || !!context.conference.conversationHref,
    /** The meeting's own messaging ended: the meeting is over (it ends before its participants are removed). */
    conferenceDisconnected: ({ context, event }) => {
      assertEvent(event, 'callback.messagingUpdated');
      return (
        event.state === 'Disconnected' &&
        sameHref(event.conversationHref, context.conference.conversationHref)
      );
    },
    /** The meeting ended after an agent had served the customer (the agents' removal may come first). */
    servedConferenceEnded: ({ context, event }) => {
      assertEvent(event, 'callback.conversationDeleted');
      return context.served && sameHref(event.conversationHref, context.conference.conversationHref);
    },
  },
  delays: {},
});

/** A state of the chat session, typed by its setup (what `chat.createStateConfig` takes). */
export type ChatState = Parameters<typeof chat.createStateConfig>[0];
type Single<T> = Exclude<T, string | readonly unknown[] | undefined>;
/** The `on` map of a state. */
export type ChatTransitions = NonNullable<ChatState['on']>;
/** One transition taken on event `K`. */
export type ChatTransition<K extends keyof ChatTransitions> = Single<ChatTransitions[K]>;
type ChatInvoke = Exclude<NonNullable<ChatState['invoke']>, readonly unknown[]>;
/** One transition taken when an invoked side effect fails. */
export type ErrorTransition = Single<ChatInvoke['onError']>;
/** One action of such a transition. */
export type ErrorAction = Single<NonNullable<ErrorTransition['actions']>>;
/** Entry or exit actions. */
export type ChatActions = NonNullable<ChatState['entry']>;

/**
 * Routing (steps 11, 14–15): find an agent (routing may queue the chat and the customer hears their
 * position), offer the chat to that agent (bridge + invite, the agent offer as a child actor), and on a
 * decline or a timeout go back to routing, which skips the agents already tried. Also where the chat
 * comes back to when the last agent leaves mid-chat.
 */
import { emit, enqueueActions, sendTo } from 'xstate';
import { assign } from '../assign.ts';
import { backoffDelay } from '../backoff.ts';
import { operationIdFor } from './context.ts';
import { backoffState, closeAbandons, conferenceEnded, customerLeaves, notifyThenGoOn } from './patterns.ts';
import { type ChatTransition, chat } from './setup.ts';

/** Routing could not find anyone: the chat fails, apologising. */
const noAgent: ChatTransition<'routing.unavailable'> = {
  target: '#chatSession.failed',
  actions: [
    { type: 'setOutcome', params: { outcome: 'noAgent' } },
    {
      type: 'recordError',
      params: ({ event }) => ({ error: { step: 'routing', code: 'NoAgent', message: event.reason } }),
    },
  ],
};

/** The customer waits in the queue, hearing their position now and then, until routing assigns an agent. */
const queued = chat.createStateConfig({
  initial: 'informing',
  entry: [
    {
      type: 'setDeadlineOnce',
      params: ({ context }) => ({ timer: 'timer.queueExpired', delayMs: context.settings.maxQueueWaitMs }),
    },
  ],
  on: {
    'agent.assigned': { target: 'offering', actions: 'takeAssignment' },
    'routing.unavailable': noAgent,
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
            assign({ queue: ({ context }) => ({ ...context.queue, updates: context.queue.updates + 1 }) }),
            emit(({ context }) => ({
              type: 'chat.message',
              direction: 'Outgoing',
              text: context.queue.message ?? '',
              from: context.settings.helpdeskName,
              leg: 'p2p',
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
          params: ({ context }) => ({ timer: 'timer.queueUpdate', delayMs: context.settings.queueUpdateMs }),
        },
      ],
      exit: [{ type: 'clearDeadline', params: { timer: 'timer.queueUpdate' } }],
      on: {
        'timer.queueUpdate': { guard: 'deadlineDue', target: 'asking' },
        'queue.update': { target: 'informing', actions: 'takeQueueUpdate' },
      },
    },
    asking: {
      entry: emit(({ context }) => ({ type: 'routing.status', sessionId: context.sessionId })),
      on: { 'queue.update': { target: 'informing', actions: 'takeQueueUpdate' } },
    },
  },
});

/** The chosen agent is offered the chat (the agent offer machine), which ends in a join or not. */
const offering = chat.createStateConfig({
  entry: { type: 'recordOperation', params: ({ context }) => ({ step: `offer.${context.offers - 1}` }) },
  invoke: {
    id: 'offer',
    src: 'agentOffer',
    input: ({ context }) => ({
      sessionId: context.sessionId,
      offerIndex: context.offers - 1,
      agent: context.currentAgent!,
      bridgedParticipantsHref: context.p2p.bridgedParticipantsHref ?? '',
      addParticipantHref: context.conference.addParticipant ?? '',
      messageFilterState: 'Disabled',
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
            type: 'routing.offerEnded',
            sessionId: context.sessionId,
            agent: event.output.agent,
            result: event.output.result,
          })),
          emit(({ event }) => ({
            type: 'chat.participant',
            change: 'added',
            uri: event.output.agent.uri,
            name: event.output.agent.name,
            leg: 'conference',
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
              timer: 'timer.retry',
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
            type: 'routing.offerEnded',
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
          type: 'routing.offerEnded',
          sessionId: context.sessionId,
          agent: context.currentAgent!,
          result: 'failed',
        })),
      ],
    },
  },
  on: {
    'callback.participantAdded': { actions: sendTo('offer', ({ event }) => event) },
    'callback.invitationCompleted': { actions: sendTo('offer', ({ event }) => event) },
  },
});

/**
 * Steps 11, 14–15: find an agent (routing may queue the chat), offer it (bridge + invite, as a child
 * actor), and on a decline or a timeout go back to routing, which skips the agents already tried.
 */
export const welcomed = chat.createStateConfig({
  initial: 'routing',
  entry: assign({ tried: [] }),
  exit: [
    { type: 'clearDeadline', params: { timer: 'timer.queueExpired' } },
    assign({ queue: ({ context }) => ({ ...context.queue, position: undefined }) }),
  ],
  on: {
    'callback.conversationDeleted': [
      customerLeaves,
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
      conferenceEnded('welcomed'),
    ],
    'callback.messagingUpdated': customerLeaves,
    'callback.messageCompleted': { actions: ['emitMessage', 'keepLine'] },
    'callback.typing': { actions: 'emitTyping' },
    'timer.queueExpired': {
      guard: 'deadlineDue',
      target: 'failed',
      actions: [
        { type: 'setOutcome', params: { outcome: 'queueTimeout' } },
        {
          type: 'recordError',
          params: { error: { step: 'queue', code: 'QueueTimeout', message: 'no agent became free in time' } },
        },
      ],
    },
    ...closeAbandons,
  },
  states: {
    // The last agent left mid-chat: tell the customer, then route again.
    announcingAgentLeft: notifyThenGoOn({
      id: 'announceAgentLeft',
      step: (context) => `left.${context.offers}`,
      text: (context) => context.settings.agentLeftText,
      next: 'routing',
    }),
    routing: {
      entry: emit(({ context }) => ({
        type: 'routing.request',
        sessionId: context.sessionId,
        ...(context.topic ? { topic: context.topic } : {}),
        exclude: context.tried,
      })),
      on: {
        'agent.assigned': { target: 'offering', actions: 'takeAssignment' },
        'queue.update': { target: 'queued', actions: 'takeQueueUpdate' },
        'routing.unavailable': noAgent,
      },
    },
    queued,
    offering,
    // The platform failed an offer: wait, then ask routing again.
    offerBackoff: backoffState('routing'),
  },
});

/**
 * Chatting (steps 16–21): agents and customer talk (the platform relays across the bridge; the SA
 * observes the meeting's side) until the customer leaves or the meeting ends. Three regions run side by
 * side: the customer (silence gets a warning, then the chat closes), the agents' replies (an unanswered
 * customer gets the agents a nudge), and staffing (operator requests, see ./staffing.ts).
 */
import { emit } from 'xstate';
import { assign } from '../assign.ts';
import { sameHref } from './context.ts';
import { notifyThenGoOn } from './patterns.ts';
import { chat } from './setup.ts';
import { staffing } from './staffing.ts';

/** The customer: messages keep the chat alive; silence gets a warning, then the chat closes. */
const customer = chat.createStateConfig({
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
              timer: 'timer.customerIdle',
              delayMs: context.settings.customerIdleMs,
            }),
          },
          {
            type: 'setDeadline',
            params: ({ context }) => ({ timer: 'timer.agentReply', delayMs: context.settings.agentReplyMs }),
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
      ...notifyThenGoOn({
        id: 'sendIdleWarning',
        step: (context) => `idle.${context.idleWarnings}`,
        text: (context) => context.settings.idleWarningText,
        next: 'idleGrace',
      }),
      exit: assign({ idleWarnings: ({ context }) => context.idleWarnings + 1 }),
    },
    idleGrace: {
      entry: [
        {
          type: 'setDeadline',
          params: ({ context }) => ({ timer: 'timer.customerIdle', delayMs: context.settings.idleGraceMs }),
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
});

/**
 * The agents: a customer message unanswered for agentReplyMs gets the agents a nudge in the meeting (the
 * SA's own conference messages are not bridged: the customer does not see them).
 */
const replies = chat.createStateConfig({
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
      ...notifyThenGoOn({
        id: 'nudgeAgents',
        step: (context) => `nudge.${context.nudges}`,
        text: (context) => context.settings.agentNudgeText,
        next: 'watching',
        leg: 'conference',
      }),
      exit: assign({ nudges: ({ context }) => context.nudges + 1 }),
    },
  },
});

/**
 * Steps 16–21: agents and customer talk until the customer leaves. A customer silent too long is warned,
 * then closed.
 */
export const agentsJoined = chat.createStateConfig({
  type: 'parallel',
  entry: [
    {
      type: 'setDeadline',
      params: ({ context }) => ({ timer: 'timer.customerIdle', delayMs: context.settings.customerIdleMs }),
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
            type: 'chat.ignored',
            eventType: event.type,
            why: 'an agent joined after their offer was withdrawn; ejected when the platform offers eject',
          })),
          assign({
            strays: ({ context, event }) =>
              event.uri ? [...context.strays, event.uri.toLowerCase()] : context.strays,
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
              event.links.eject ? [...context.ejecting, event.links.eject] : context.ejecting,
          }),
        ],
      },
      {
        actions: [
          'emitParticipant',
          assign({
            joinedAgents: ({ context, event }) =>
              event.links.eject
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
            type: 'routing.agentLeft',
            sessionId: context.sessionId,
            agent: context.joinedAgents.find((a) => sameHref(a.participantHref, event.participantHref)) ?? {
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
                  type: 'routing.agentLeft',
                  sessionId: context.sessionId,
                  agent: { uri: agent.uri, name: agent.name },
                }
              : {
                  type: 'chat.ignored',
                  eventType: event.type,
                  why: 'a participant who was not an agent left',
                };
          }),
          assign({
            joinedAgents: ({ context, event }) =>
              context.joinedAgents.filter((agent) => !sameHref(agent.participantHref, event.participantHref)),
            supervisors: ({ context, event }) =>
              context.supervisors.filter((agent) => !sameHref(agent.participantHref, event.participantHref)),
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
    'chat.close': { target: 'closed', actions: { type: 'setOutcome', params: { outcome: 'closedBySa' } } },
  },
  states: { customer, replies, staffing },
});

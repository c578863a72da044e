/**
 * Staffing, the third region of a running chat: whoever joins is sent what they missed (the backlog and
 * the recent history); operators transfer the chat to a named agent, add a second agent, or add a
 * supervisor who monitors (bridged with messageFilterState Enabled: they see everything, the customer sees
 * nothing of theirs) and may barge in (the filter turned to Disabled); agents who should not be there any
 * more are shown out.
 */
import { emit, sendTo } from 'xstate';
import { assign } from '../assign.ts';
import { backoffState, retryOr } from './patterns.ts';
import { chat } from './setup.ts';

/** An operator's request: the named agent is offered the chat (the agent offer machine). */
const offering = chat.createStateConfig({
  entry: { type: 'recordOperation', params: ({ context }) => ({ step: `offer.${context.offers - 1}` }) },
  invoke: {
    id: 'staffOffer',
    src: 'agentOffer',
    input: ({ context }) => ({
      sessionId: context.sessionId,
      offerIndex: context.offers - 1,
      agent: context.staffing!.agent,
      bridgedParticipantsHref: context.p2p.bridgedParticipantsHref ?? '',
      addParticipantHref: context.conference.addParticipant ?? '',
      messageFilterState: context.staffing!.purpose === 'monitor' ? 'Enabled' : 'Disabled',
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
            type: 'routing.offerEnded',
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
      target: 'steady',
      actions: [
        emit(({ context }) => ({
          type: 'routing.offerEnded',
          sessionId: context.sessionId,
          agent: context.staffing!.agent,
          result: 'failed',
        })),
        assign({ staffing: undefined }),
      ],
    },
  },
  on: {
    'callback.participantAdded': { actions: sendTo('staffOffer', ({ event }) => event) },
    'callback.invitationCompleted': { actions: sendTo('staffOffer', ({ event }) => event) },
  },
});

/** Whoever just joined is sent the relay (the backlog and the history) in the meeting. */
const briefing = chat.createStateConfig({
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
    onError: retryOr('briefingBackoff', { target: 'steady', actions: 'relayFailed' }),
  },
});

/** The first supervisor barges in: their messages now reach the customer (filter Disabled). */
const barging = chat.createStateConfig({
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
        messageFilterState: 'Disabled',
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
});

/**
 * Operator actions: transfer to a named agent, add a second agent, a supervisor who monitors and may
 * barge in; strays ejected.
 */
export const staffing = chat.createStateConfig({
  initial: 'steady',
  states: {
    // Whoever joined is sent what they missed first (the backlog, the history), then anyone who should not
    // be there any more is shown out.
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
    offering,
    briefing,
    briefingBackoff: backoffState('briefing'),
    barging,
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
});

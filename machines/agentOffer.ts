/**
 * Offering one chat to one agent: bridge the agent (so their messages reach the customer), invite them
 * into the meeting with addParticipant, and wait until they join — or decline, or let it ring past the
 * offer timeout. Pure: side effects are supplied with `provide`, the offer deadline lives in the context
 * and fires as `timer.offerExpired`. Invoked by the chat session, which forwards the callbacks it gets.
 *
 *   bridging → inviting → ringing → accepted | declined | expired (withdrawn) | failed
 *
 * Whose doing the end was decides what it costs the agent: `declined` is the agent's choice, `expired` is
 * a ring nobody answered (the offer deadline, or the platform ringing out) and counts as a missed offer,
 * and `failed` is the platform's fault (an API error after the retries, an invitation that failed for any
 * reason other than a decline or a ring-out), which never counts against the agent.
 */
import { assertEvent, enqueueActions, fromPromise, setup } from 'xstate';
import { assign } from './assign.ts';
import { backoffDelay, retryWhenDue } from './backoff.ts';
import type { AddBridgedParticipantInput, AddParticipantInput, AgentCandidate } from './effects.ts';
import type { Href, InvitationCompleted, ParticipantChanged } from './events.ts';

export const AGENT_OFFER_MACHINE_ID = 'agentOffer';

export interface AgentOfferInput {
  sessionId: string;
  /** The n-th offer of this chat: part of the offer's operationId. */
  offerIndex: number;
  agent: AgentCandidate;
  bridgedParticipantsHref: Href;
  addParticipantHref: Href;
  /** How the agent's messages cross the bridge: Disabled relays them (agents), Enabled keeps them in the meeting (supervisors). */
  messageFilterState: 'Enabled' | 'Disabled';
  offerTimeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
}

export type OfferResult = 'accepted' | 'declined' | 'expired' | 'failed';

export interface AgentOfferOutput {
  result: OfferResult;
  agent: AgentCandidate;
  participantHref?: Href;
  bridgedParticipantHref?: Href;
  reason?: string;
}

export interface AgentOfferContext extends AgentOfferInput {
  bridgedParticipantHref?: Href;
  participantHref?: Href;
  attempt: number;
  reason?: string;
  result?: OfferResult;
  /** The agent's answer, when it came before the invitation request had answered: raised again in ringing. */
  deferred?: Array<ParticipantChanged | InvitationCompleted>;
  deadlines: Partial<Record<'timer.offerExpired' | 'timer.retry', number>>;
}

export type AgentOfferEvent =
  | ParticipantChanged
  | InvitationCompleted
  | { type: 'timer.offerExpired'; at: number }
  | { type: 'timer.retry'; at: number };

export interface RemoveBridgedParticipantInput {
  sessionId: string;
  href: Href;
}

export function offerOperationId(sessionId: string, offerIndex: number): string {
  return `${sessionId}.offer.${offerIndex}`;
}

function notProvided<I, O = void>(name: string) {
  return fromPromise<O, I>(async () => {
    throw new Error(`side effect '${name}' was not provided: use machine.provide({ actors })`);
  });
}

function describeError(error: unknown): string {
  const e = (error ?? {}) as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? `${e.code}: ${String(e.message ?? '')}` : String(e.message ?? error);
}

function isOurFailedInvitation(context: AgentOfferContext, event: InvitationCompleted): boolean {
  return (
    event.kind === 'participant' &&
    event.status === 'Failure' &&
    event.operationId === offerOperationId(context.sessionId, context.offerIndex)
  );
}

/**
 * Why a participant invitation failed: the agent said no (`Declined`, or `Busy`: their client refused
 * it), nobody answered (`Timeout`), or anything else (the platform, the meeting ending, …).
 */
function failureKind(event: InvitationCompleted): 'declined' | 'rangOut' | 'other' {
  const codes = [event.reason?.code, event.reason?.subcode, event.state].map((c) => c?.toLowerCase());
  if (codes.includes('declined') || codes.includes('busy')) return 'declined';
  if (codes.includes('timeout')) return 'rangOut';
  return 'other';
}

const offer = setup({
  types: {
    context: {} as AgentOfferContext,
    events: {} as AgentOfferEvent,
    input: {} as AgentOfferInput,
    output: {} as AgentOfferOutput,
  },
  actors: {
    addBridgedParticipant: notProvided<AddBridgedParticipantInput, { location?: string }>(
      'addBridgedParticipant',
    ),
    addParticipant: notProvided<AddParticipantInput>('addParticipant'),
    removeBridgedParticipant: notProvided<RemoveBridgedParticipantInput>('removeBridgedParticipant'),
  },
  actions: {
    /** Replaced by the runtime with one that reads its clock. */
    setDeadline: assign(
      ({ context }, params: { timer: 'timer.offerExpired' | 'timer.retry'; delayMs: number }) => ({
        deadlines: { ...context.deadlines, [params.timer]: Date.now() + params.delayMs },
      }),
    ),
    clearDeadline: assign(({ context }, params: { timer: 'timer.offerExpired' | 'timer.retry' }) => {
      const { [params.timer]: _removed, ...rest } = context.deadlines;
      return { deadlines: rest };
    }),
    /** Keeps the agent's answer that came before ringing (see `replayDeferred`). */
    defer: assign(({ context, event }) => {
      assertEvent(event, ['callback.participantAdded', 'callback.invitationCompleted']);
      return { deferred: [...(context.deferred ?? []), event].slice(-8) };
    }),
    /** Raises the answers kept by `defer` again, in the order they came. */
    replayDeferred: enqueueActions(({ context, enqueue }) => {
      if (!context.deferred?.length) return;
      const deferred = context.deferred;
      enqueue(assign({ deferred: [] }));
      for (const event of deferred) enqueue.raise(event);
    }),
    noteInvitationFailure: assign({
      reason: ({ event }) => {
        assertEvent(event, 'callback.invitationCompleted');
        return [event.reason?.code, event.reason?.subcode].filter(Boolean).join('/') || 'Failure';
      },
    }),
  },
  guards: {
    deadlineDue: ({ context, event }) => {
      assertEvent(event, ['timer.offerExpired', 'timer.retry']);
      return context.deadlines[event.type] === event.at;
    },
    canRetry: ({ context, event }) => {
      const error = (event as { error?: { retryable?: unknown } }).error;
      return error?.retryable === true && context.attempt + 1 < context.maxAttempts;
    },
    isOurAgentJoining: ({ context, event }) => {
      assertEvent(event, 'callback.participantAdded');
      return event.uri?.toLowerCase() === context.agent.uri.toLowerCase();
    },
    isOurInvitationDeclined: ({ context, event }) => {
      assertEvent(event, 'callback.invitationCompleted');
      return isOurFailedInvitation(context, event) && failureKind(event) === 'declined';
    },
    isOurInvitationRingingOut: ({ context, event }) => {
      assertEvent(event, 'callback.invitationCompleted');
      return isOurFailedInvitation(context, event) && failureKind(event) === 'rangOut';
    },
    isOurInvitationFailing: ({ context, event }) => {
      assertEvent(event, 'callback.invitationCompleted');
      return isOurFailedInvitation(context, event);
    },
  },
});

type OfferState = Parameters<typeof offer.createStateConfig>[0];

/**
 * The agent may answer before the platform's answer to our invitation reaches us (an agent who picks up at
 * once, a request re-issued after a restart): the answer is kept, and raised again once ringing.
 */
const earlyAnswers = {
  'callback.participantAdded': { guard: 'isOurAgentJoining', actions: 'defer' },
  'callback.invitationCompleted': { guard: 'isOurInvitationFailing', actions: 'defer' },
} as const satisfies OfferState['on'];
type OfferInvoke = Exclude<NonNullable<OfferState['invoke']>, readonly unknown[]>;
type ErrorTransition = Exclude<OfferInvoke['onError'], string | readonly unknown[] | undefined>;

/**
 * A failed API call that may be retried: count the attempt and wait in `backoff` until the retry deadline
 * (exponential backoff seeded by the offer's operationId, so a restored offer waits the same).
 */
function retryAfterBackoff(backoff: string): ErrorTransition {
  return {
    guard: 'canRetry',
    target: backoff,
    actions: [
      assign({ attempt: ({ context }) => context.attempt + 1 }),
      {
        type: 'setDeadline',
        params: ({ context }) => ({
          timer: 'timer.retry',
          delayMs: backoffDelay(
            offerOperationId(context.sessionId, context.offerIndex),
            context.attempt,
            context.retryBaseMs,
          ),
        }),
      },
    ],
  };
}

export const agentOfferMachine = offer.createMachine({
  id: AGENT_OFFER_MACHINE_ID,
  context: ({ input }) => ({ ...input, attempt: 0, deadlines: {} }),
  initial: 'bridging',
  states: {
    bridging: {
      invoke: {
        id: 'addBridgedParticipant',
        src: 'addBridgedParticipant',
        input: ({ context }) => ({
          sessionId: context.sessionId,
          href: context.bridgedParticipantsHref,
          displayName: context.agent.name,
          participantUri: context.agent.uri,
          messageFilterState: context.messageFilterState,
        }),
        onDone: {
          target: 'inviting',
          actions: assign({
            bridgedParticipantHref: ({ event }) => event.output?.location,
            attempt: 0,
          }),
        },
        onError: [
          retryAfterBackoff('bridgingBackoff'),
          { target: 'failed', actions: assign({ reason: ({ event }) => describeError(event.error) }) },
        ],
      },
    },
    bridgingBackoff: retryWhenDue('bridging'),
    inviting: {
      on: earlyAnswers,
      invoke: {
        id: 'addParticipant',
        src: 'addParticipant',
        input: ({ context }) => ({
          href: context.addParticipantHref,
          to: context.agent.uri,
          operationId: offerOperationId(context.sessionId, context.offerIndex),
        }),
        onDone: { target: 'ringing' },
        onError: [
          retryAfterBackoff('invitingBackoff'),
          // The platform failed the invitation (5xx or a timeout after the retries, any 4xx): not the agent's doing.
          { target: 'unbridging', actions: assign({ reason: ({ event }) => describeError(event.error) }) },
        ],
      },
    },
    invitingBackoff: { on: { ...retryWhenDue('inviting').on, ...earlyAnswers } },
    ringing: {
      entry: [
        {
          type: 'setDeadline',
          params: ({ context }) => ({
            timer: 'timer.offerExpired',
            delayMs: context.offerTimeoutMs,
          }),
        },
        'replayDeferred',
      ],
      exit: [{ type: 'clearDeadline', params: { timer: 'timer.offerExpired' } }],
      on: {
        'callback.participantAdded': {
          guard: 'isOurAgentJoining',
          target: 'accepted',
          actions: assign({ participantHref: ({ event }) => event.participantHref }),
        },
        'callback.invitationCompleted': [
          { guard: 'isOurInvitationDeclined', target: 'declining', actions: 'noteInvitationFailure' },
          // The platform rang out before our own deadline: a ring nobody answered, like our timeout.
          { guard: 'isOurInvitationRingingOut', target: 'withdrawing', actions: 'noteInvitationFailure' },
          { guard: 'isOurInvitationFailing', target: 'unbridging', actions: 'noteInvitationFailure' },
        ],
        'timer.offerExpired': {
          guard: 'deadlineDue',
          target: 'withdrawing',
          actions: assign({ reason: 'offer timed out' }),
        },
      },
    },
    // The agent said no (or the platform gave up ringing): take the bridge entry back.
    declining: {
      invoke: {
        id: 'removeBridgedParticipant',
        src: 'removeBridgedParticipant',
        input: ({ context }) => ({
          sessionId: context.sessionId,
          href: context.bridgedParticipantHref ?? '',
        }),
        onDone: { target: 'declined' },
        onError: { target: 'declined' },
      },
    },
    // The platform failed the offer: take the bridge entry back; the agent is not to blame.
    unbridging: {
      invoke: {
        id: 'removeBridgedParticipant',
        src: 'removeBridgedParticipant',
        input: ({ context }) => ({
          sessionId: context.sessionId,
          href: context.bridgedParticipantHref ?? '',
        }),
        onDone: { target: 'failed' },
        onError: { target: 'failed' },
      },
    },
    // The offer is withdrawn: the agent is no longer bridged; if they join late the session ejects them.
    withdrawing: {
      invoke: {
        id: 'removeBridgedParticipant',
        src: 'removeBridgedParticipant',
        input: ({ context }) => ({
          sessionId: context.sessionId,
          href: context.bridgedParticipantHref ?? '',
        }),
        onDone: { target: 'expired' },
        onError: { target: 'expired' },
      },
    },
    accepted: { type: 'final', entry: assign({ result: 'accepted' }) },
    declined: { type: 'final', entry: assign({ result: 'declined' }) },
    expired: { type: 'final', entry: assign({ result: 'expired' }) },
    failed: { type: 'final', entry: assign({ result: 'failed' }) },
  },
  output: ({ context }) => {
    return {
      result: context.result ?? 'failed',
      agent: context.agent,
      ...(context.participantHref ? { participantHref: context.participantHref } : {}),
      ...(context.bridgedParticipantHref ? { bridgedParticipantHref: context.bridgedParticipantHref } : {}),
      ...(context.reason ? { reason: context.reason } : {}),
    };
  },
});

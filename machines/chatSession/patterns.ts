/**
 * The shapes the chat session repeats, written once: an API step (its operationId, retries with backoff,
 * the error it records), step deadlines, the meeting or the customer going away, "tell the customer, then
 * go on", copying a leg's messaging links, and what a teardown releases.
 */
import { assign } from '../assign.ts';
import { backoffDelay, clearRetryDeadline, retryWhenDue } from '../backoff.ts';
import type { Outcome, TeardownInput } from '../effects.ts';
import type { MessagingUpdated } from '../events.ts';
import { errorOf, operationIdFor } from './context.ts';
import {
  type ChatActions,
  type ChatTransition,
  type ChatTransitions,
  chat,
  type ErrorAction,
  type ErrorTransition,
} from './setup.ts';
import type { ChatSessionContext, Leg } from './types.ts';

// --- API steps -------------------------------------------------------------------------------------------

/** Entering an API step: its retry count starts (once per step), its operationId is recorded. */
export function startStep(step: string): ChatActions {
  return [
    { type: 'beginStep', params: { step } },
    { type: 'recordOperation', params: { step } },
  ];
}

/** The retry deadline after a failed attempt (exponential backoff, deterministic jitter); after 'countAttempt'. */
const retryDeadline = {
  type: 'setDeadline',
  params: ({ context }: { context: ChatSessionContext }) => ({
    timer: 'timer.retry',
    delayMs: backoffDelay(context.sessionId, context.retry.attempt, context.settings.retryBaseMs),
  }),
} satisfies ChatActions;

/**
 * A failed API call: while the error is retryable and attempts are left, count the attempt and wait in
 * `backoff` (actions in `before` run first); otherwise `giveUp`.
 */
export function retryOr(
  backoff: string,
  giveUp: ErrorTransition,
  before: ChatActions = [],
): ErrorTransition[] {
  return [
    {
      guard: 'canRetry',
      target: backoff,
      actions: [...(Array.isArray(before) ? before : [before]), 'countAttempt', retryDeadline],
    },
    giveUp,
  ];
}

/** Record the error an API call at `step` failed with. */
export function recordApiError(step: string): ErrorAction {
  return { type: 'recordError', params: ({ event }) => ({ error: errorOf(step, event.error) }) };
}

/** The chat fails for good at `step`, recording the API error. */
export function failStep(step: string): ErrorTransition {
  return { target: '#chatSession.failed', actions: recordApiError(step) };
}

/**
 * A backoff state: wait for the retry deadline, then go back to `target` and try again. Left any other way
 * (customer gone, closed), the retry deadline must not stay behind.
 */
export function backoffState(target: string, on: Parameters<typeof chat.createStateConfig>[0]['on'] = {}) {
  const retry = retryWhenDue(target);
  return chat.createStateConfig({ exit: clearRetryDeadline, ...retry, on: { ...retry.on, ...on } });
}

// --- Step deadlines --------------------------------------------------------------------------------------

/** A state that waits for callbacks: the step deadline is set on entry and cleared on exit. */
export const stepDeadline = chat.createStateConfig({
  entry: [
    {
      type: 'setDeadline',
      params: ({ context }) => ({ timer: 'timer.stepTimeout', delayMs: context.settings.stepTimeoutMs }),
    },
  ],
  exit: [{ type: 'clearDeadline', params: { timer: 'timer.stepTimeout' } }],
});

/** The step deadline passed before the callbacks came: the chat fails at `step`. */
export function stepTimedOut(
  step: string,
  message: string,
  target = '#chatSession.failed',
): ChatTransition<'timer.stepTimeout'> {
  return {
    guard: 'deadlineDue',
    target,
    actions: { type: 'recordError', params: { error: { step, code: 'Timeout', message } } },
  };
}

// --- The meeting or the customer going away --------------------------------------------------------------

/** The customer's conversation ended before an agent joined. */
export const customerLeaves: { guard: 'customerLeft'; target: string } = {
  guard: 'customerLeft',
  target: 'abandoned',
};

/** The meeting ended under the chat at `step`: it is gone (nothing to delete), and the chat failed. */
export function conferenceEnded(
  step: string,
  target = 'failed',
): ChatTransition<'callback.conversationDeleted'> {
  return {
    guard: 'isConference',
    target,
    actions: [
      chat.assign({ conference: ({ context }) => ({ ...context.conference, gone: true }) }),
      {
        type: 'recordError',
        params: { error: { step, code: 'ConferenceEnded', message: 'the meeting ended' } },
      },
    ],
  };
}

/** The SA closes the chat before an agent joined: release what exists. */
export const closeAbandons = { 'chat.close': { target: 'abandoned' } } satisfies ChatTransitions;

// --- Tell the customer, then go on -----------------------------------------------------------------------

/**
 * Send a message on one leg (`p2p`: the customer; `conference`: the agents), then go on to `next` whether
 * it was sent or not: a lost notice must not hold the chat up. `step` names its operationId.
 */
export function notifyThenGoOn(options: {
  id: string;
  step: (context: ChatSessionContext) => string;
  text: (context: ChatSessionContext) => string;
  next: string;
  leg?: 'p2p' | 'conference';
}) {
  const { id, step, text, next, leg = 'p2p' } = options;
  return chat.createStateConfig({
    entry: { type: 'recordOperation', params: ({ context }) => ({ step: step(context) }) },
    invoke: {
      id,
      src: 'sendMessage',
      input: ({ context }) => ({
        href: context[leg].sendMessage ?? '',
        text: text(context),
        operationId: operationIdFor(context.sessionId, step(context)),
      }),
      onDone: { target: next },
      onError: { target: next },
    },
  });
}

// --- Messaging links -------------------------------------------------------------------------------------

type MessagingRel = 'sendMessage' | 'setIsTyping' | 'stopMessaging';
const ALL_RELS: readonly MessagingRel[] = ['sendMessage', 'setIsTyping', 'stopMessaging'];

/** A leg after a `messagingUpdated`: its messaging state, and the links (`rels`) the callback offers. */
function withMessaging<L extends Leg>(leg: L, event: MessagingUpdated, rels: readonly MessagingRel[]): L {
  const next: L = { ...leg, messagingState: event.state };
  for (const rel of rels) next[rel] = event.links[rel] ?? leg[rel];
  return next;
}

/** On `messagingUpdated` for `leg`: keep its state and the links it offers (by default all three). */
export function takeMessagingLinks(
  leg: 'p2p' | 'conference',
  rels: readonly MessagingRel[] = ALL_RELS,
): ChatTransition<'callback.messagingUpdated'> {
  return leg === 'p2p'
    ? {
        guard: 'isP2p',
        actions: assign({ p2p: ({ context, event }) => withMessaging(context.p2p, event, rels) }),
      }
    : {
        guard: 'isConference',
        actions: assign({
          conference: ({ context, event }) => withMessaging(context.conference, event, rels),
        }),
      };
}

// --- The teardown ----------------------------------------------------------------------------------------

/** What ending the chat releases: the apology or the decline, the customer's conversation, the meeting. */
export function teardownInput(context: ChatSessionContext, reason: Outcome): TeardownInput {
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

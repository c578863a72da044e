/**
 * The session's context: its value at the start, and the pure functions that read it (operationIds,
 * href comparison, who wrote a message, what an agent who joins is sent).
 */

import type { MessageCompleted, Reason } from '../events.ts';
import type { ChatSessionContext, ChatSessionInput, SessionError } from './types.ts';

/** The most customer messages kept for an agent who has not joined yet (a bound on memory, not a filter). */
export const MAX_BACKLOG = 500;
/** Message ids remembered to drop duplicated callbacks. */
export const MAX_LINE_IDS = 200;
/** Callbacks kept for a later state at most (a step's own callbacks are a handful). */
export const MAX_DEFERRED = 32;

/** The context a session starts with, from the customer's invitation. */
export function initialContext(input: ChatSessionInput): ChatSessionContext {
  return {
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
  };
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

/** An href as a key: its path, decoded and lower-cased (hosts and spellings vary). */
function hrefKey(href: string): string {
  try {
    return decodeURIComponent(new URL(href, 'http://x.invalid').pathname).toLowerCase();
  } catch {
    return href.toLowerCase();
  }
}

export function sameHref(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  return a === b || hrefKey(a) === hrefKey(b);
}

/** A message href as a key (a duplicated callback names the same message). */
export const messageKey = hrefKey;

export function errorOf(step: string, error: unknown): SessionError {
  const e = (error ?? {}) as { code?: unknown; message?: unknown; status?: unknown };
  return {
    step,
    code: typeof e.code === 'string' ? e.code : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(typeof e.status === 'number' ? { status: e.status } : {}),
  };
}

/** A failure that may still have had its effect (a timeout, a 5xx): the API client marks it retryable. */
export function isAmbiguous(error: unknown): boolean {
  return (error as { retryable?: unknown } | undefined)?.retryable === true;
}

export function reasonText(reason: Reason | undefined): string {
  return reason
    ? [reason.code, reason.subcode, reason.message].filter(Boolean).join(' / ')
    : 'no reason given';
}

/** An incoming message the customer wrote (told by their SIP URI, or by their name when it has none). */
export function isFromCustomer(context: ChatSessionContext, event: MessageCompleted): boolean {
  return (
    event.direction === 'Incoming' &&
    ((!!event.sender?.uri && event.sender.uri.toLowerCase() === context.customer.uri?.toLowerCase()) ||
      (!event.sender?.uri && !!event.sender?.name && event.sender.name === context.customer.name))
  );
}

/** Our welcome message, told by its operationId or, failing that, by where the platform put it. */
export function isWelcome(
  context: ChatSessionContext,
  messageHref: string,
  operationId: string | undefined,
): boolean {
  if (operationId && operationId === operationIdFor(context.sessionId, 'welcome')) return true;
  return sameHref(messageHref, context.welcome.location);
}

/**
 * What an agent who joins now is sent: the chat's recent history they did not see (`earlier`), then
 * every customer message no agent has seen yet (`beforeJoined`), in order.
 */
export function relayFor(context: ChatSessionContext): NonNullable<ChatSessionContext['relay']> {
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

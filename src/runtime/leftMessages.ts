/**
 * Left messages: what a customer nobody served wrote (queue timeout, no agent, failure, left while waiting),
 * kept for a callback later. Pure decisions over a chat's context and transcript; the session registry
 * keeps and announces them.
 */
import type { ChatSessionContext } from '../../machines/chatSession/index.ts';
import type { LeftMessage, TranscriptEntry } from './records.ts';

const UNSERVED: ReadonlySet<string> = new Set(['queueTimeout', 'noAgent', 'failed', 'abandoned']);

type Line = LeftMessage['messages'][number];

/** The chat ended without any agent joining it. */
export function unserved(context: ChatSessionContext): boolean {
  return !!context.outcome && UNSERVED.has(context.outcome) && context.joinedAgents.length === 0;
}

/** A transcript entry as a line of a left message. */
export function leftLine(entry: TranscriptEntry): Line {
  return {
    at: entry.at,
    ...(entry.text !== undefined ? { text: entry.text } : {}),
    ...(entry.html !== undefined ? { html: entry.html } : {}),
  };
}

/** Whether a transcript entry was written by the chat's customer (by name, when the customer has one). */
export function byCustomer(context: ChatSessionContext, entry: TranscriptEntry): boolean {
  return !context.customer.name || entry.from === context.customer.name;
}

/**
 * The left message of a chat that just ended unserved: its customer's messages (none kept for a customer
 * who left without writing); undefined for a chat that was served.
 */
export function leftMessageAtEnd(
  sessionId: string,
  context: ChatSessionContext,
  transcript: readonly TranscriptEntry[],
  at: string,
): LeftMessage | undefined {
  if (!unserved(context)) return undefined;
  const messages = transcript
    .filter((e) => e.kind === 'message' && e.direction === 'Incoming' && byCustomer(context, e))
    .map(leftLine);
  if (messages.length === 0 && context.outcome === 'abandoned') return undefined;
  return { sessionId, at, outcome: context.outcome!, customer: { ...context.customer }, messages };
}

/**
 * A customer's message reported after their chat ended: added to the chat's left message (`created` false),
 * or the start of one for an unserved chat (`created` true); undefined when it belongs in none.
 */
export function withLateLine(
  left: LeftMessage | undefined,
  sessionId: string,
  context: ChatSessionContext,
  entry: TranscriptEntry,
): { left: LeftMessage; created: boolean } | undefined {
  if (!byCustomer(context, entry)) return undefined;
  if (left) {
    left.messages.push(leftLine(entry));
    return { left, created: false };
  }
  if (!unserved(context)) return undefined;
  const started = { sessionId, at: entry.at, outcome: context.outcome!, customer: { ...context.customer } };
  return { left: { ...started, messages: [leftLine(entry)] }, created: true };
}

export function cloneLeft(left: LeftMessage): LeftMessage {
  return { ...left, customer: { ...left.customer }, messages: left.messages.slice() };
}

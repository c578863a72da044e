/**
 * What happens to chats, as typed events: what the library's `orchestrator.on(...)` delivers and what the
 * webhooks send. Every event is `{ type, timestamp, data }`, the shape the Standard Webhooks specification
 * recommends. Listeners run after the change they report; a listener that throws is logged, never breaks a chat.
 */
import type pino from 'pino';
import type { LeftMessage, TranscriptEntry } from './records.ts';

export interface ChatCustomer {
  name?: string;
  uri?: string;
  /** The topic the customer chose (the invitation's subject). */
  subject?: string;
}

/** The customer as chat events name them, from the invitation's sender and subject. */
export function customerOf(
  from: { name?: string; uri?: string },
  invitation: { subject?: string },
): ChatCustomer {
  return {
    ...(from.name ? { name: from.name } : {}),
    ...(from.uri ? { uri: from.uri } : {}),
    ...(invitation.subject ? { subject: invitation.subject } : {}),
  };
}

export interface ChatAgent {
  uri: string;
  name: string;
}

export interface ChatEventData {
  /** A customer's invitation arrived and a session was created for it. */
  'chat.started': { sessionId: string; customer: ChatCustomer };
  /** An agent joined the chat (the first agent, a second agent, or the agent a chat was transferred to). */
  'chat.assigned': { sessionId: string; agent: ChatAgent; customer: ChatCustomer };
  /** The session reached its final state. */
  'chat.ended': {
    sessionId: string;
    /** completed, abandoned, queueTimeout, noAgent, closedBySa, failed, … (null if it ended without one). */
    outcome: string | null;
    startedAt: string;
    endedAt: string;
    customer: ChatCustomer;
    agents: ChatAgent[];
    transcript: TranscriptEntry[];
  };
  /** A customer no agent served left contact details and messages. */
  'left_message.created': LeftMessage;
  /** The customer answered the post-chat survey (once per chat). */
  'survey.submitted': { sessionId: string; score: number; comment?: string; submittedAt: string };
}

export type ChatEventType = keyof ChatEventData;

export type ChatEvent<K extends ChatEventType = ChatEventType> = {
  [T in K]: { type: T; timestamp: string; data: ChatEventData[T] };
}[K];

export const CHAT_EVENT_TYPES: readonly ChatEventType[] = [
  'chat.started',
  'chat.assigned',
  'chat.ended',
  'left_message.created',
  'survey.submitted',
];

type Listener = (event: ChatEvent) => void;

/** A small synchronous event bus: listeners per type and for every type (`'*'`). */
export class ChatEvents {
  private readonly listeners = new Map<ChatEventType | '*', Set<Listener>>();

  constructor(
    private readonly logger: pino.Logger,
    private readonly now: () => number,
  ) {}

  on<K extends ChatEventType>(type: K | '*', listener: (event: ChatEvent<K>) => void): () => void {
    if (type !== '*' && !CHAT_EVENT_TYPES.includes(type)) {
      throw new TypeError(
        `unknown chat event '${String(type)}': expected one of ${CHAT_EVENT_TYPES.join(', ')}`,
      );
    }
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const wrapped = listener as Listener;
    set.add(wrapped);
    return () => set.delete(wrapped);
  }

  emit<K extends ChatEventType>(type: K, data: ChatEventData[K]): void {
    const event = { type, timestamp: new Date(this.now()).toISOString(), data } as ChatEvent;
    for (const key of [type, '*'] as const) {
      for (const listener of this.listeners.get(key) ?? []) {
        try {
          listener(event);
        } catch (error) {
          const { sessionId } = data as { sessionId?: string };
          this.logger.error({ sessionId, event: type, err: error }, 'chat event listener failed');
        }
      }
    }
  }
}

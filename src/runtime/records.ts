/** What the SA keeps of a chat: its transcript entries and, for customers no agent served, a left message. */

export interface TranscriptEntry {
  at: string;
  kind: 'message' | 'typing' | 'participant' | 'system';
  direction?: 'Incoming' | 'Outgoing';
  leg?: 'p2p' | 'conference';
  from?: string;
  text?: string;
  html?: string;
  isTyping?: boolean;
  change?: 'added' | 'updated' | 'deleted';
  /** A message the SA relayed into the meeting for the agents (backlog or history): never shown to the customer. */
  relayed?: true;
}

/** What a customer who could not be served left behind: contact and every message they wrote. */
export interface LeftMessage {
  sessionId: string;
  at: string;
  outcome: string;
  customer: { name?: string; uri?: string; subject?: string };
  messages: Array<{ at: string; text?: string; html?: string }>;
}

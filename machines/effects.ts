/**
 * Inputs of the side effects the machines invoke (implemented by the runtime with the API client).
 * Kept apart so that both machines can name them without importing each other.
 */
import type { Href } from './events.ts';

/** How a chat ended. */
export type Outcome =
  | 'completed'
  | 'abandoned'
  | 'failed'
  | 'noAgent'
  | 'closedBySa'
  | 'queueTimeout'
  | 'idle'
  | 'outsideHours';

export interface AgentCandidate {
  uri: string;
  name: string;
}

export interface StartAdhocMeetingInput {
  href: Href;
  subject: string;
  operationId: string;
  callbackContext: string;
}
export interface AddMessagingInput {
  href: Href;
  operationId: string;
  callbackContext: string;
}
export interface AcceptAndBridgeInput {
  href: Href;
  onlineMeetingUri: string;
  localUserDisplayName: string;
  operationId: string;
}
export interface AddBridgedParticipantInput {
  sessionId: string;
  href: Href;
  displayName: string;
  participantUri: string;
  messageFilterState: 'Enabled' | 'Disabled';
}
export interface SendMessageInput {
  href: Href;
  text: string;
  operationId: string;
}
export interface AddParticipantInput {
  href: Href;
  to: string;
  operationId: string;
}
export interface TeardownInput {
  sessionId: string;
  reason: Outcome;
  /** Message to send the customer before leaving (failures only). */
  apology?: SendMessageInput;
  /** Decline the customer's invitation when it was never accepted. */
  declineHref?: Href;
  /** The customer's (accepted) conversation, to DELETE when the SA ends a chat the customer is still in. */
  customerConversationHref?: Href;
  /** The ad hoc meeting's conversation, to DELETE (204; 404 counts as done). */
  conferenceHref?: Href;
}

export interface UpdateBridgedParticipantInput extends AddBridgedParticipantInput {}

/** A message of the chat as the meeting saw it (kept for agents who join later). */
export interface ChatLine {
  /** The platform's message resource (normalised): tells duplicated callbacks apart. */
  id: string;
  /** When it was written (ISO 8601), as the platform stamped it. */
  at?: string;
  /** The author's display name. */
  from: string;
  side: 'customer' | 'agent';
  /** Plain text, or the HTML as sent (the relay sanitises it into text). */
  text?: string;
  html?: string;
}

/**
 * Customer messages written while no agent was in the meeting (`beforeJoined`) and the recent history of
 * the chat (`earlier`), sent into the meeting for an agent who joins: the customer does not see them.
 */
export interface RelayMessagesInput {
  sessionId: string;
  /** The meeting's sendMessage link. */
  href: Href;
  lines: Array<ChatLine & { label: 'beforeJoined' | 'earlier'; operationId: string }>;
}

export interface RelayMessagesOutput {
  /** What was sent, in order: the text as the agents read it. */
  sent: Array<{ operationId: string; text: string }>;
}

export interface EjectParticipantsInput {
  sessionId: string;
  /** Eject links of participants, or bridged-participant hrefs to delete (those start with the bridge's path). */
  hrefs: Href[];
}

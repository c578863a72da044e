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

export interface EjectParticipantsInput {
  sessionId: string;
  /** Eject links of participants, or bridged-participant hrefs to delete (those start with the bridge's path). */
  hrefs: Href[];
}

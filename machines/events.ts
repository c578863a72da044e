/**
 * The domain events a chat session understands. Machines never see raw JSON: one function
 * (`src/callbacks/toEvents.ts`) maps each callback event to at most one of these, with every href
 * already resolved to an absolute URL and every rel reduced to its local name.
 *
 * Names are `domain.verb`. Every callback event carries the fields the router needs to find the owning
 * session: `operationId` (when the platform echoed one of ours), `conversationHref` (the conversation the
 * event belongs to) and `callbackContext` (from the callback URL's query, filled in by the route).
 */

export type Href = string;

export type InvitationKind = 'messaging' | 'onlineMeeting' | 'participant';
export type Direction = 'Incoming' | 'Outgoing';
export type OperationStatus = 'Success' | 'Failure';

export interface Reason {
  code: string;
  subcode?: string;
  message?: string;
}

interface CallbackBase {
  /** Absolute href of the conversation the event belongs to, when the payload tells. */
  conversationHref?: Href;
  /** The operationId echoed by the platform (ours for SA-started operations, the platform's otherwise). */
  operationId?: string;
  /** The `callbackContext` query parameter of the URL the callback was delivered to. */
  callbackContext?: string;
}

/** Step 7: the customer's messagingInvitation to the helpdesk arrived (Incoming, started). */
export interface InvitationReceived extends CallbackBase {
  type: 'callback.invitationReceived';
  invitationHref: Href;
  conversationHref: Href;
  subject?: string;
  threadId?: string;
  to?: string;
  from: { uri?: string; name?: string };
  /** Decoded customContent data URI text, if any. */
  customContent?: string;
  links: { acceptAndBridge?: Href; startAdhocMeeting?: Href; decline?: Href };
}

/** An outgoing (SA-started) invitation reports progress: onlineMeeting / messaging / participant. */
export interface InvitationStarted extends CallbackBase {
  type: 'callback.invitationStarted';
  kind: InvitationKind;
  direction: Direction;
  invitationHref: Href;
  state?: string;
  onlineMeetingUri?: string;
  to?: string;
}

export interface InvitationCompleted extends CallbackBase {
  type: 'callback.invitationCompleted';
  kind: InvitationKind;
  direction: Direction;
  invitationHref: Href;
  /** Success unless the platform said Failure or the embedded state is Failed/Declined/Cancelled. */
  status: OperationStatus;
  state?: string;
  reason?: Reason;
  to?: string;
}

export interface ConversationLinks {
  addParticipant?: Href;
  conversationBridge?: Href;
  onlineMeeting?: Href;
  messaging?: Href;
  participants?: Href;
}

/** conversation added / updated with any state other than Conferenced or Connected. */
export interface ConversationUpdated extends CallbackBase {
  type: 'callback.conversationUpdated';
  conversationHref: Href;
  state?: string;
  links: ConversationLinks;
}

/** conversation updated to Conferenced: the ad hoc meeting is up, `addParticipant` is offered. */
export interface ConversationConferenced extends CallbackBase {
  type: 'callback.conversationConferenced';
  conversationHref: Href;
  links: ConversationLinks;
}

/** conversation updated to Connected (on the P2P leg after acceptAndBridge, with conversationBridge). */
export interface ConversationConnected extends CallbackBase {
  type: 'callback.conversationConnected';
  conversationHref: Href;
  links: ConversationLinks;
}

export interface ConversationDeleted extends CallbackBase {
  type: 'callback.conversationDeleted';
  conversationHref: Href;
}

export interface OnlineMeetingAdded extends CallbackBase {
  type: 'callback.onlineMeetingAdded';
  conversationHref: Href;
  onlineMeetingUri?: string;
  terminateHref?: Href;
}

export interface MessagingUpdated extends CallbackBase {
  type: 'callback.messagingUpdated';
  conversationHref: Href;
  state?: string;
  links: { addMessaging?: Href; sendMessage?: Href; setIsTyping?: Href; stopMessaging?: Href };
}

export interface BridgeAdded extends CallbackBase {
  type: 'callback.bridgeAdded';
  conversationHref: Href;
  bridgeHref: Href;
  bridgedParticipantsHref?: Href;
  onlineMeetingUri?: string;
}

export interface BridgedParticipantChanged extends CallbackBase {
  type:
    | 'callback.bridgedParticipantAdded'
    | 'callback.bridgedParticipantUpdated'
    | 'callback.bridgedParticipantDeleted';
  conversationHref: Href;
  bridgedParticipantHref: Href;
  participantUri?: string;
  displayName?: string;
  messageFilterState?: 'Enabled' | 'Disabled';
}

export interface ParticipantChanged extends CallbackBase {
  type: 'callback.participantAdded' | 'callback.participantUpdated' | 'callback.participantDeleted';
  conversationHref: Href;
  participantHref: Href;
  uri?: string;
  name?: string;
  links: { eject?: Href };
}

/** participant added/deleted `in` typingParticipants. */
export interface Typing extends CallbackBase {
  type: 'callback.typing';
  conversationHref: Href;
  participantHref: Href;
  name?: string;
  isTyping: boolean;
}

export interface MessageStarted extends CallbackBase {
  type: 'callback.messageStarted';
  conversationHref: Href;
  messageHref: Href;
  direction: Direction;
}

export interface MessageCompleted extends CallbackBase {
  type: 'callback.messageCompleted';
  conversationHref: Href;
  messageHref: Href;
  direction: Direction;
  status: OperationStatus;
  reason?: Reason;
  /** Incoming messages: decoded plain text, or the HTML as sent (sanitise before display). */
  text?: string;
  html?: string;
  sender?: { href?: Href; uri?: string; name?: string };
  timestamp?: string;
}

export interface ParticipantMessagingChanged extends CallbackBase {
  type: 'callback.participantMessagingAdded' | 'callback.participantMessagingDeleted';
  conversationHref: Href;
  participantHref?: Href;
}

export type CallbackEvent =
  | InvitationReceived
  | InvitationStarted
  | InvitationCompleted
  | ConversationUpdated
  | ConversationConferenced
  | ConversationConnected
  | ConversationDeleted
  | OnlineMeetingAdded
  | MessagingUpdated
  | BridgeAdded
  | BridgedParticipantChanged
  | ParticipantChanged
  | Typing
  | MessageStarted
  | MessageCompleted
  | ParticipantMessagingChanged;

export type CallbackEventType = CallbackEvent['type'];

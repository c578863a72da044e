/**
 * The chat session's public types: its settings and input, the context it keeps (the persisted snapshot's
 * shape), the events it takes and the events it emits.
 */
import type { OfferResult } from '../agentOffer.ts';
import type { AgentCandidate, ChatLine, Outcome, RelayMessagesInput } from '../effects.ts';
import type { CallbackEvent, Href, InvitationReceived } from '../events.ts';

export interface ChatSettings {
  /** Display name the customer sees for the helpdesk side (acceptAndBridge `localUserDisplayName`). */
  helpdeskName: string;
  welcomeText: string;
  meetingSubject: string;
  /** Sent to the customer when the chat cannot go on (no agent, a failed step). */
  apologyText: string;
  /** Attempts per API call, the first included, for retryable errors. */
  maxAttempts: number;
  retryBaseMs: number;
  /** How long to wait for the callbacks that complete a step. */
  stepTimeoutMs: number;
  /** How long an offered agent may ring before the offer is withdrawn. */
  offerTimeoutMs: number;
  /** How often a queued customer hears their position. */
  queueUpdateMs: number;
  /** Longest wait in the queue before the fallback. */
  maxQueueWaitMs: number;
  /** Sent when the queue wait runs out: the customer's messages are kept as a left message. */
  fallbackText: string;
  /** A customer silent this long mid-chat is warned, and closed after the grace period. */
  customerIdleMs: number;
  idleGraceMs: number;
  idleWarningText: string;
  /** Sent when the last agent leaves mid-chat, before routing again. */
  agentLeftText: string;
  /** A customer message unanswered this long nudges the agents (a message in the meeting only). */
  agentReplyMs: number;
  agentNudgeText: string;
  /** Recent messages (both sides) a second, transferred-to or monitoring person gets when they join. */
  handoverHistory: number;
}

export interface ChatSessionInput {
  sessionId: string;
  invitation: InvitationReceived;
  settings: ChatSettings;
  /** The topic the customer chose (skills routing). */
  topic?: string;
  /** False outside business hours: the invitation is declined and no meeting is created. */
  open?: boolean;
}

export type TimerName =
  | 'timer.retry'
  | 'timer.stepTimeout'
  | 'timer.queueUpdate'
  | 'timer.queueExpired'
  | 'timer.customerIdle'
  | 'timer.agentReply';

export interface Leg {
  conversationHref?: Href;
  sendMessage?: Href;
  setIsTyping?: Href;
  stopMessaging?: Href;
  addMessaging?: Href;
  messagingState?: string;
}

export interface SessionError {
  step: string;
  code: string;
  message: string;
  status?: number;
}

export interface StaffMember extends AgentCandidate {
  participantHref: Href;
  bridgedParticipantHref?: Href;
  ejectHref?: Href;
}

export interface ChatSessionContext {
  sessionId: string;
  settings: ChatSettings;
  customer: { uri?: string; name?: string; subject?: string };
  invitation: { href: Href; acceptAndBridge?: Href; startAdhocMeeting?: Href; decline?: Href };
  p2p: Leg & { bridgeHref?: Href; bridgedParticipantsHref?: Href; gone: boolean };
  conference: Leg & {
    onlineMeetingUri?: string;
    addParticipant?: Href;
    terminateHref?: Href;
    ready: boolean;
    gone: boolean;
  };
  /** Set once startAdhocMeeting was sent: the conference may exist even before we know its href. */
  meetingRequested: boolean;
  /** Set once acceptAndBridge succeeded: the customer's conversation is ours to end. */
  accepted: boolean;
  /** Set once an agent joined the chat: the customer was served (a meeting ending later completes it). */
  served: boolean;
  /**
   * The ending's teardown: the meeting it set out to delete, and whether the customer's side (apology,
   * decline, leaving their conversation) is done, so a second teardown (a late meeting) does not repeat it.
   */
  teardown: { conference?: Href; customerReleased: boolean };
  topic?: string;
  open: boolean;
  /** Agents tried in this routing round (declined, expired): routing skips them. */
  tried: string[];
  /** Offers made so far: the n-th offer's operationId is `<session>.offer.<n>`. */
  offers: number;
  /** Offers in a row the platform failed (not the agent): the chat is retried until maxAttempts of them. */
  offerFaults: number;
  currentAgent?: AgentCandidate;
  /** Why each agent was chosen, as routing explained it. */
  assignments: unknown[];
  queue: { message?: string; position?: number; updates: number };
  idleWarnings: number;
  nudges: number;
  joinedAgents: StaffMember[];
  /** Supervisors monitoring the chat: bridged with the filter Enabled, so the customer sees nothing of theirs. */
  supervisors: StaffMember[];
  /** Agents whose offer was withdrawn: if they join after all, they are shown out. */
  withdrawn: string[];
  strays: string[];
  /** Eject links still to be used (stray or transferred-away agents). */
  ejecting: Href[];
  /** An operator's request being carried out: transfer, second agent, monitor. */
  staffing?: { purpose: 'transfer' | 'add' | 'monitor'; agent: AgentCandidate };
  welcome: { location?: Href };
  /** The step whose API call is being retried, and how many attempts it has used. */
  retry: { step?: string; attempt: number };
  deadlines: Partial<Record<TimerName, number>>;
  outcome?: Outcome;
  error?: SessionError;
  /** Operation ids of our side effects, in order: each side effect gets its own. */
  operations: string[];
  /** The last `handoverHistory` messages of the chat, both sides, as the meeting saw them. */
  history: ChatLine[];
  /** Customer messages no agent has seen yet (written while no agent was in the meeting), in order. */
  backlog: ChatLine[];
  /** Ids of the messages kept lately: a duplicated callback is not kept (nor relayed) twice. */
  lineIds: string[];
  /**
   * Callbacks that came before the state that takes them (the platform's answer to a request can reach the
   * SA after the callbacks that follow it): raised again, in order, when that state is entered.
   */
  deferred?: CallbackEvent[];
  /** The relay the staffing region is to send (backlog and history for whoever just joined). */
  relay?: RelayMessagesInput['lines'];
  /** Lines relayed so far: the n-th relayed line's operationId is `<session>.relay.<n>`. */
  relayed: number;
}

export type TimerEvent = { type: TimerName; at: number };
export type OperatorEvent =
  | { type: 'chat.close'; reason?: string }
  | { type: 'chat.transfer'; agent: AgentCandidate }
  | { type: 'chat.addAgent'; agent: AgentCandidate }
  | { type: 'chat.monitor'; agent: AgentCandidate }
  | { type: 'chat.barge' };
/** What routing answers a `routing.request` / `routing.status` with. */
export type RoutingEvent =
  | { type: 'agent.assigned'; agent: AgentCandidate; assignment: unknown }
  | { type: 'queue.update'; position: number; message: string }
  | { type: 'routing.unavailable'; reason: string };
export type ChatSessionEvent = CallbackEvent | TimerEvent | OperatorEvent | RoutingEvent;

/** What the session tells the outside world (transcripts, dashboards); see `actor.on(...)`. */
export type ChatSessionEmitted =
  | {
      type: 'chat.message';
      direction: 'Incoming' | 'Outgoing';
      /** The platform's message resource, when known: tells duplicates apart. */
      messageHref?: string;
      text?: string;
      html?: string;
      from?: string;
      leg: 'p2p' | 'conference';
      /** Sent into the meeting for the agents (backlog or history), never to the customer. */
      relayed?: true;
    }
  | { type: 'chat.relayFailed'; sessionId: string; lines: number; error: SessionError }
  | { type: 'chat.typing'; from?: string; isTyping: boolean; leg: 'p2p' | 'conference' }
  | {
      type: 'chat.participant';
      change: 'added' | 'updated' | 'deleted';
      uri?: string;
      name?: string;
      leg: 'p2p' | 'conference';
    }
  | { type: 'chat.ignored'; eventType: string; why: string }
  | { type: 'routing.request'; sessionId: string; topic?: string; exclude: string[] }
  | { type: 'routing.status'; sessionId: string }
  | {
      type: 'routing.offerEnded';
      sessionId: string;
      agent: AgentCandidate;
      result: OfferResult;
      reason?: string;
    }
  | { type: 'routing.agentLeft'; sessionId: string; agent: AgentCandidate };

export type {
  AcceptAndBridgeInput,
  AddBridgedParticipantInput,
  AddMessagingInput,
  AddParticipantInput,
  AgentCandidate,
  ChatLine,
  EjectParticipantsInput,
  Outcome,
  RelayMessagesInput,
  RelayMessagesOutput,
  SendMessageInput,
  StartAdhocMeetingInput,
  TeardownInput,
  UpdateBridgedParticipantInput,
} from '../effects.ts';

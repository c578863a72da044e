import type { Logger } from 'pino';
import type { CallbackDispatcher, CallbackTarget } from '../callbacks.ts';
import type { EmulatorApplication, EmulatorConfig } from '../config.ts';
import { conflict, notFound } from '../errors.ts';
import type { EventChannel } from '../eventChannel.ts';
import type { BridgedParticipantInfo, MessageInfo, ParticipantInfo } from '../resources.ts';
import type { Scheduler } from '../scheduler.ts';
import { type AnonHrefs, type PlatformHrefs, userPart } from '../wire.ts';

// The records of the emulated platform, and the questions about one record that need no other.

export interface AppState {
  cfg: EmulatorApplication;
  callbackUrl?: string;
  hrefs: PlatformHrefs;
}

export interface AnonApp {
  id: string;
  app: AppState;
  asi: string;
  origins: string[];
  tokenExp: number;
  displayName: string;
  culture: string;
  userAgent: string;
  uri: string;
  hrefs: AnonHrefs;
  channel: EventChannel;
  eventsKey: string;
  conversationIds: Set<string>;
  etag: string;
  expires: number;
}

export type InvitationState = 'Connecting' | 'Connected' | 'Declined' | 'Failed' | 'Cancelled';

/** The guest's invitation of the helpdesk, as the SA sees it (a messaging invitation it answers). */
export interface IncomingInvitation {
  id: string;
  operationId: string;
  customerOperationId?: string;
  state: InvitationState;
  to: string;
  subject?: string;
  threadId: string;
  importance: string;
  customContent?: string;
  cancelTimeout: () => void;
}

export interface Bridge {
  meetingConversationId: string;
  meetingUri: string;
  etag: string;
  participants: Map<string, BridgedParticipantInfo>;
}

export interface Meeting {
  uri: string;
  invitationId: string;
  operationId?: string;
  participants: Map<string, ParticipantInfo>;
  ended: boolean;
}

export type MessagingState = 'Disconnected' | 'Connecting' | 'Connected';

export interface Conversation extends CallbackTarget {
  id: string;
  kind: 'p2p' | 'conference';
  app: AppState;
  state: string;
  subject?: string;
  threadId: string;
  importance: string;
  messaging: MessagingState;
  messages: MessageInfo[];
  nextMessage: number;
  deleted: boolean;
  /** Who is typing (participant key → cancel of the idle timer). */
  typing: Map<string, () => void>;
  created: number;
  // P2P leg
  anon?: AnonApp;
  incoming?: IncomingInvitation;
  helpdeskName?: string;
  bridge?: Bridge;
  // conference leg
  meeting?: Meeting;
}

/** An invitation the SA sent: an ad hoc meeting, messaging on a conversation, or a participant. */
export interface OutgoingInvitation {
  id: string;
  kind: 'messagingInvitations' | 'onlineMeetingInvitations' | 'participantInvitations';
  conversationId: string;
  app: AppState;
  operationId?: string;
  subject?: string;
  to?: string;
  state: InvitationState;
  cancelRing: () => void;
}

/** What the simulated agents are told (implemented by agents.ts). */
export interface AgentHooks {
  invited(invitation: { id: string; to: string; conversationId: string; subject?: string }): void;
  joined(agentUri: string, conversationId: string): void;
  received(
    agentUri: string,
    conversationId: string,
    message: { from: ParticipantInfo; text: string; origin: 'customer' | 'agent' | 'sa' },
  ): void;
  typing(agentUri: string, conversationId: string, who: ParticipantInfo, on: boolean): void;
  left(agentUri: string, conversationId: string, reason: string): void;
}

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface WorldDeps {
  config: EmulatorConfig;
  scheduler: Scheduler;
  callbacks: CallbackDispatcher;
  logger: Logger;
  publicUrl: () => string;
}

export function eventsHref(anon: AnonApp, ack: number): string {
  return `${anon.hrefs.path('events')}?ack=${ack}&key=${anon.eventsKey}`;
}

export function guestOf(conv: Conversation): ParticipantInfo {
  return {
    uri: conv.anon?.uri ?? 'sip:unknown@anonymous.invalid',
    name: conv.anon?.displayName ?? 'Guest',
  };
}

/** The helpdesk endpoint as the guest sees it on the P2P leg. */
export function helpdeskOf(conv: Conversation): ParticipantInfo {
  return { uri: conv.app.cfg.endpointUri, name: conv.helpdeskName ?? userPart(conv.app.cfg.endpointUri) };
}

export function selfParticipant(app: AppState): ParticipantInfo {
  return { uri: app.cfg.endpointUri, name: userPart(app.cfg.endpointUri).split('@')[0] ?? 'helpdesk' };
}

export function requireBridge(conv: Conversation): Bridge {
  if (!conv.bridge) throw notFound(`conversation bridge of conversation ${conv.id}`);
  return conv.bridge;
}

export function requireMessaging(conv: Conversation): void {
  if (conv.messaging !== 'Connected') {
    throw conflict(`messaging on conversation ${conv.id} is ${conv.messaging}; it must be Connected`);
  }
}

/** Bridged with messageFilterState Enabled: nothing crosses the bridge for this participant, either way. */
export function filtered(leg: Conversation, uri: string): boolean {
  return leg.bridge?.participants.get(userPart(uri))?.messageFilterState === 'Enabled';
}

import type { Wire, WireEvent, WireResource, WireSender } from '../wire.ts';
import type { AnonApp, AppState, Conversation, IncomingInvitation, OutgoingInvitation } from './model.ts';
import {
  renderIncomingInvitation,
  renderMessaging,
  renderOutgoing,
  renderUcwaInvitation,
  renderUcwaMessaging,
} from './render.ts';
import type { WorldState } from './state.ts';

// How the world tells what happened: callbacks to the SA (one `toSa` is one callback POST, in order) and events
// on the guest's event channel.

export type FailureReason = NonNullable<WireEvent['reason']>;

/** One callback with events of the application's `communication` (invitations, conversations). */
export function toSaComm(s: WorldState, conv: Conversation, events: WireEvent[]): void {
  toSa(s, conv, [commSender(s, conv.app, events)]);
}

/** One callback with events of the conversation itself (messaging, participants, messages, …). */
export function toSaConv(s: WorldState, conv: Conversation, events: WireEvent[]): void {
  toSa(s, conv, [convSender(s, conv, events)]);
}

/** The conversation's `messaging` changed state (the SA side). */
export function messagingUpdated(s: WorldState, conv: Conversation): WireEvent {
  return s.w.event('updated', 'messaging', conv.app.hrefs.conversation(conv.id, 'messaging'), {
    resource: renderMessaging(s.w, conv),
  });
}

/** The conversation is gone (the SA side): the last callback about it. */
export function conversationDeleted(s: WorldState, conv: Conversation): WireEvent {
  return s.w.event('deleted', 'conversation', conv.app.hrefs.conversation(conv.id));
}

export function guestCommSender(s: WorldState, anon: AnonApp, events: WireEvent[]): WireSender {
  return s.u.sender('communication', anon.hrefs.path('communication'), events);
}

export function guestConvSender(s: WorldState, anon: AnonApp, cid: string, events: WireEvent[]): WireSender {
  return s.u.sender('conversation', anon.hrefs.conversation(cid), events);
}

/** The P2P leg's `messaging` changed state (the guest side). */
export function guestMessagingUpdated(s: WorldState, conv: Conversation): WireEvent {
  return s.u.event('updated', 'messaging', conv.anon!.hrefs.conversation(conv.id, 'messaging'), {
    resource: renderUcwaMessaging(s.u, conv),
  });
}

/** The P2P leg is gone (the guest side). */
export function guestConversationDeleted(s: WorldState, conv: Conversation): WireEvent {
  return s.u.event('deleted', 'conversation', conv.anon!.hrefs.conversation(conv.id));
}

function toSa(s: WorldState, conv: Conversation, senders: WireSender[]): void {
  s.deps.callbacks.send(conv, senders);
}

function commSender(s: WorldState, app: AppState, events: WireEvent[]): WireSender {
  return s.w.sender('communication', app.hrefs.appLevel('communication'), events);
}

function convSender(s: WorldState, conv: Conversation, events: WireEvent[]): WireSender {
  return s.w.sender('conversation', conv.app.hrefs.conversation(conv.id), events);
}

/** `completed` carries the outcome: Success once the invitation is Connected, otherwise Failure and why. */
function outcome(
  w: Wire,
  phase: 'started' | 'completed',
  local: string,
  href: string,
  inv: { state: string },
  resource: WireResource,
  reason?: FailureReason,
): WireEvent {
  if (phase === 'started') return w.event(phase, local, href, { resource });
  return w.event(phase, local, href, {
    status: inv.state === 'Connected' ? 'Success' : 'Failure',
    reason,
    resource,
  });
}

/**
 * The callback about an invitation: `started` when it begins, `completed` when it ends (see `outcome`). `inv` is
 * one the SA sent (meeting, messaging, participant) or the guest's incoming invitation of the P2P leg `conv`.
 */
export function invitationToSa(
  s: WorldState,
  conv: Conversation,
  inv: OutgoingInvitation | IncomingInvitation,
  phase: 'started' | 'completed',
  reason?: FailureReason,
): void {
  const w = s.w;
  const kind = 'kind' in inv ? inv.kind : 'messagingInvitations';
  const resource = 'kind' in inv ? renderOutgoing(s, w, inv) : renderIncomingInvitation(w, conv);
  const href = conv.app.hrefs.invitation(kind, inv.id);
  toSaComm(s, conv, [outcome(w, phase, kind.slice(0, -1), href, inv, resource, reason)]);
}

/** An invitation the platform answers at once: `started`, the callbacks of what it sets up, `completed`. */
export function invitationAnsweredAtOnce(
  s: WorldState,
  conv: Conversation,
  inv: OutgoingInvitation,
  setUp: () => void,
): void {
  invitationToSa(s, conv, inv, 'started');
  setUp();
  inv.state = 'Connected';
  invitationToSa(s, conv, inv, 'completed');
}

/** The guest's side of its invitation of the helpdesk (an event to put in a `communication` sender). */
export function invitationToGuest(
  s: WorldState,
  conv: Conversation,
  phase: 'started' | 'completed',
  reason?: FailureReason,
): WireEvent {
  const inv = conv.incoming!;
  const href = conv.anon!.hrefs.path(`communication/messagingInvitations/${inv.id}`);
  return outcome(s.u, phase, 'messagingInvitation', href, inv, renderUcwaInvitation(s.u, conv), reason);
}

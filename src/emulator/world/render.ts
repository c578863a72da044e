import { notFound } from '../errors.ts';
import {
  anonApplicationResource,
  type BridgedParticipantInfo,
  bridgedParticipantResource,
  bridgeResource,
  type ConversationView,
  conversationResource,
  incomingInvitationResource,
  messageResource,
  messagingResource,
  onlineMeetingInvitationResource,
  onlineMeetingResource,
  outgoingMessagingInvitationResource,
  type ParticipantInfo,
  participantInvitationResource,
  participantResource,
  ucwaConversationResource,
  ucwaMessagingInvitationResource,
  ucwaMessagingResource,
} from '../resources.ts';
import { userPart, type Wire, type WireResource } from '../wire.ts';
import {
  type AnonApp,
  type Conversation,
  eventsHref,
  guestOf,
  type OutgoingInvitation,
  requireBridge,
  selfParticipant,
} from './model.ts';
import type { WorldState } from './state.ts';

// Records as wire resources: `w` is the SA side (prefixed rels) or the guest side (plain UCWA rels).

export function view(conv: Conversation): ConversationView {
  return {
    id: conv.id,
    kind: conv.kind,
    state: conv.state,
    subject: conv.subject,
    threadId: conv.threadId,
    importance: conv.importance,
    messagingConnected: conv.messaging === 'Connected',
    hasBridge: conv.bridge !== undefined,
  };
}

export function renderConversation(w: Wire, conv: Conversation): WireResource {
  return conversationResource(w, conv.app.hrefs, view(conv));
}

export function renderMessaging(w: Wire, conv: Conversation): WireResource {
  return messagingResource(w, conv.app.hrefs, conv.id, conv.messaging === 'Connected');
}

export function renderOnlineMeeting(w: Wire, conv: Conversation): WireResource {
  if (!conv.meeting) throw notFound(`online meeting of conversation ${conv.id}`);
  return onlineMeetingResource(w, conv.app.hrefs, conv.id, conv.meeting.uri);
}

export function renderBridge(w: Wire, conv: Conversation): WireResource {
  if (!conv.bridge) throw notFound(`conversation bridge of conversation ${conv.id}`);
  return bridgeResource(w, conv.app.hrefs, conv.id, conv.bridge.meetingUri, conv.bridge.etag);
}

export function renderBridgedParticipants(w: Wire, conv: Conversation): WireResource {
  const bridge = requireBridge(conv);
  const h = conv.app.hrefs;
  const items = [...bridge.participants.values()].map((bp) => bridgedParticipantResource(w, h, conv.id, bp));
  return w.resource(
    'bridgedParticipants',
    {},
    w.links(h.conversation(conv.id, 'conversationBridge/bridgedParticipants')),
    items.length ? w.embedded({ bridgedParticipant: items }) : undefined,
  );
}

export function bridgedParticipant(conv: Conversation, key: string): BridgedParticipantInfo {
  const bp = requireBridge(conv).participants.get(key.toLowerCase().replace(/^sip:/, ''));
  if (!bp) throw notFound(`bridged participant ${key}`);
  return bp;
}

export function participantsOf(conv: Conversation): ParticipantInfo[] {
  if (conv.meeting) return [...conv.meeting.participants.values()];
  if (conv.anon && conv.state === 'Connected') return [guestOf(conv)];
  return [];
}

export function participant(conv: Conversation, key: string): ParticipantInfo {
  const found = participantsOf(conv).find((p) => userPart(p.uri) === key.toLowerCase().replace(/^sip:/, ''));
  if (!found) throw notFound(`participant ${key}`);
  return found;
}

export function renderParticipants(w: Wire, conv: Conversation): WireResource {
  const h = conv.app.hrefs;
  const items = participantsOf(conv).map((p) => participantResource(w, h, conv.id, p));
  return w.resource(
    'participants',
    {},
    w.links(h.conversation(conv.id, 'participants')),
    items.length ? w.embedded({ participant: items }) : undefined,
  );
}

export function renderMessage(w: Wire, conv: Conversation, n: number): WireResource {
  const message = conv.messages.find((m) => m.n === n);
  if (!message) throw notFound(`message ${n}`);
  return messageResource(w, conv.app.hrefs, conv.id, message);
}

export function renderIncomingInvitation(w: Wire, conv: Conversation): WireResource {
  const inv = conv.incoming!;
  return incomingInvitationResource(w, conv.app.hrefs, {
    id: inv.id,
    conversationId: conv.id,
    operationId: inv.operationId,
    state: inv.state,
    importance: inv.importance,
    threadId: inv.threadId,
    subject: inv.subject,
    to: inv.to,
    customContent: inv.customContent,
    actions: inv.state === 'Connecting',
    from: guestOf(conv),
  });
}

export function renderOutgoing(s: WorldState, w: Wire, inv: OutgoingInvitation): WireResource {
  const h = inv.app.hrefs;
  const view = { ...inv };
  if (inv.kind === 'onlineMeetingInvitations') {
    const conv = s.conversations.get(inv.conversationId);
    return onlineMeetingInvitationResource(w, h, { ...view, onlineMeetingUri: conv?.meeting?.uri ?? '' });
  }
  if (inv.kind === 'participantInvitations') return participantInvitationResource(w, h, view);
  return outgoingMessagingInvitationResource(w, h, view, selfParticipant(inv.app));
}

export function renderAnonApp(u: Wire, anon: AnonApp): WireResource {
  return anonApplicationResource(
    u,
    anon.hrefs,
    {
      id: anon.id,
      culture: anon.culture,
      userAgent: anon.userAgent,
      uri: anon.uri,
      name: anon.displayName,
      etag: anon.etag,
      expires: anon.expires,
    },
    eventsHref(anon, 1),
  );
}

export function renderUcwaConversation(u: Wire, conv: Conversation): WireResource {
  return ucwaConversationResource(u, conv.anon!.hrefs, {
    id: conv.id,
    state: conv.state,
    subject: conv.subject,
    threadId: conv.threadId,
    importance: conv.importance,
    messagingConnected: conv.messaging === 'Connected',
  });
}

export function renderUcwaMessaging(u: Wire, conv: Conversation): WireResource {
  return ucwaMessagingResource(u, conv.anon!.hrefs, conv.id, conv.messaging);
}

export function renderUcwaInvitation(u: Wire, conv: Conversation): WireResource {
  const inv = conv.incoming!;
  return ucwaMessagingInvitationResource(u, conv.anon!.hrefs, {
    id: inv.id,
    conversationId: conv.id,
    operationId: inv.customerOperationId,
    state: inv.state,
    subject: inv.subject,
    threadId: inv.threadId,
    importance: inv.importance,
    to: inv.to,
  });
}

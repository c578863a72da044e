import { randomInt } from 'node:crypto';
import { conflict, notFound } from '../errors.ts';
import { participantResource, ucwaParticipantResource } from '../resources.ts';
import { userPart } from '../wire.ts';
import {
  conversationDeleted,
  type FailureReason,
  guestCommSender,
  guestConversationDeleted,
  guestConvSender,
  guestMessagingUpdated,
  invitationToGuest,
  invitationToSa,
  messagingUpdated,
  toSaComm,
  toSaConv,
} from './events.ts';
import { type AppState, type Conversation, guestOf, helpdeskOf, type InvitationState } from './model.ts';
import { renderBridge, renderConversation, renderUcwaConversation } from './render.ts';
import type { WorldState } from './state.ts';

// The SA's answer to the guest's invitation of the helpdesk (the incoming messaging invitation of a P2P leg):
// accept and bridge it to a meeting, or decline it; unanswered, it times out the same way.

/** Step 9: accept the guest's invitation and bridge the P2P leg to the SA's ad hoc meeting. */
export function acceptAndBridge(
  s: WorldState,
  app: AppState,
  invitationId: string,
  input: { onlineMeetingUri: string; displayName?: string; callbackUrl?: string; callbackContext?: string },
): Conversation {
  const conv = s.incomingConversation(app, invitationId);
  const inv = conv.incoming!;
  if (conv.deleted) throw notFound(`messaging invitation ${invitationId}`);
  if (inv.state !== 'Connecting')
    throw conflict(`the invitation is already ${inv.state}`, 'AnotherOperationPending');
  const meetingConv = s.meetingByUri(app, input.onlineMeetingUri);
  inv.state = 'Connected';
  inv.cancelTimeout();
  conv.state = 'Connected';
  conv.messaging = 'Connected';
  conv.helpdeskName = input.displayName ?? userPart(app.cfg.endpointUri).split('@')[0];
  conv.bridge = {
    meetingConversationId: meetingConv.id,
    meetingUri: meetingConv.meeting!.uri,
    etag: String(randomInt(100_000_000, 4_000_000_000)),
    participants: new Map(),
  };
  s.applyRouting(conv, input);

  const w = s.w;
  const h = app.hrefs;
  const cid = conv.id;
  const guest = guestOf(conv);
  toSaComm(s, conv, [
    w.event('updated', 'conversation', h.conversation(cid), {
      resource: renderConversation(w, conv),
    }),
  ]);
  toSaConv(s, conv, [
    w.event('added', 'conversationBridge', h.conversation(cid, 'conversationBridge'), {
      in: { local: 'conversation', href: h.conversation(cid) },
      resource: renderBridge(w, conv),
    }),
  ]);
  toSaConv(s, conv, [messagingUpdated(s, conv)]);
  invitationToSa(s, conv, inv, 'completed');
  toSaConv(s, conv, [
    w.event(
      'added',
      'participant',
      { href: h.participant(cid, guest.uri), title: guest.name },
      { resource: participantResource(w, h, cid, guest) },
    ),
  ]);

  // Guest: the helpdesk joined, messaging connected, invitation completed, conversation connected.
  const anon = conv.anon!;
  const u = s.u;
  const ah = anon.hrefs;
  const helpdesk = helpdeskOf(conv);
  anon.channel.push([
    guestConvSender(s, anon, cid, [
      u.event(
        'added',
        'participant',
        { href: ah.participant(cid, helpdesk.uri), title: helpdesk.name },
        { resource: ucwaParticipantResource(u, ah, cid, helpdesk) },
      ),
      guestMessagingUpdated(s, conv),
    ]),
    guestCommSender(s, anon, [
      invitationToGuest(s, conv, 'completed'),
      u.event('updated', 'conversation', ah.conversation(cid), { resource: renderUcwaConversation(u, conv) }),
    ]),
  ]);
  return conv;
}

export function declineIncoming(s: WorldState, app: AppState, invitationId: string, reason?: string): void {
  const conv = s.incomingConversation(app, invitationId);
  if (conv.deleted) throw notFound(`messaging invitation ${invitationId}`);
  if (conv.incoming!.state !== 'Connecting') {
    throw conflict(`the invitation is already ${conv.incoming!.state}`, 'AnotherOperationPending');
  }
  failIncoming(s, conv, 'Declined', {
    code: 'RemoteFailure',
    subcode: 'Declined',
    message: `The helpdesk declined the invitation${reason ? ` (${reason})` : ''}.`,
  });
}

/** The guest's invitation ends unanswered (declined or timed out): both sides see it fail, the leg is gone. */
export function failIncoming(
  s: WorldState,
  conv: Conversation,
  state: InvitationState,
  reason: FailureReason,
): void {
  const inv = conv.incoming!;
  inv.state = state;
  inv.cancelTimeout();
  const anon = conv.anon!;
  anon.channel.push([
    guestCommSender(s, anon, [
      invitationToGuest(s, conv, 'completed', reason),
      guestConversationDeleted(s, conv),
    ]),
  ]);
  invitationToSa(s, conv, inv, 'completed', reason);
  toSaComm(s, conv, [conversationDeleted(s, conv)]);
  s.markDeleted(conv);
}

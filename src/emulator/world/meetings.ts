import { randomInt, randomUUID } from 'node:crypto';
import { conflict, notFound } from '../errors.ts';
import { type ParticipantInfo, participantMessagingResource, participantResource } from '../resources.ts';
import { userPart } from '../wire.ts';
import {
  type FailureReason,
  invitationAnsweredAtOnce,
  invitationToSa,
  messagingUpdated,
  toSaComm,
  toSaConv,
} from './events.ts';
import type { AppState, InvitationState, OutgoingInvitation } from './model.ts';
import { renderConversation, renderOnlineMeeting } from './render.ts';
import type { WorldState } from './state.ts';

// The SA's ad hoc meetings (the conference leg): starting one, adding messaging, inviting participants, and
// the invited agents answering (or not) before the ring timeout.

const randomFocusId = () =>
  Array.from({ length: 8 }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'[randomInt(0, 34)]).join('');

export function startAdhocMeeting(
  s: WorldState,
  app: AppState,
  input: { subject?: string; operationId?: string; callbackUrl?: string; callbackContext?: string },
): OutgoingInvitation {
  const cid = randomUUID();
  s.meetingCounter += 1;
  const uri = `sip:EMU01meet${s.meetingCounter}@noammeetings.lync.com;gruu;opaque=app:conf:focus:id:${randomFocusId()}`;
  const conv = s.newConversation(cid, 'conference', app, {
    state: 'Connecting',
    subject: input.subject,
    threadId: randomUUID().replace(/-/g, ''),
    importance: 'Normal',
  });
  s.applyRouting(conv, input);
  const inv = s.newOutgoing(app, 'onlineMeetingInvitations', cid, input.operationId, input.subject);
  conv.meeting = {
    uri,
    invitationId: inv.id,
    operationId: input.operationId,
    participants: new Map(),
    ended: false,
  };
  s.meetingsByUri.set(uri.toLowerCase(), cid);

  const w = s.w;
  const h = app.hrefs;
  invitationAnsweredAtOnce(s, conv, inv, () => {
    const convEvent = (type: 'added' | 'updated') =>
      w.event(type, 'conversation', h.conversation(cid), { resource: renderConversation(w, conv) });
    toSaComm(s, conv, [convEvent('added')]);
    conv.state = 'Conferencing';
    toSaComm(s, conv, [convEvent('updated')]);
    conv.state = 'Conferenced';
    toSaComm(s, conv, [convEvent('updated')]);
    toSaConv(s, conv, [
      w.event('added', 'onlineMeeting', h.conversation(cid, 'onlineMeeting'), {
        in: { local: 'conversation', href: h.conversation(cid) },
        resource: renderOnlineMeeting(w, conv),
      }),
    ]);
    toSaConv(s, conv, [messagingUpdated(s, conv)]);
  });
  return inv;
}

/** addMessaging on a conversation (the conference leg in the chat flow). */
export function addMessaging(
  s: WorldState,
  app: AppState,
  cid: string,
  input: { operationId?: string; subject?: string; callbackUrl?: string; callbackContext?: string },
): OutgoingInvitation {
  const conv = s.saConversation(app, cid);
  if (conv.meeting?.ended) throw notFound(`conversation ${cid}`);
  if (conv.messaging !== 'Disconnected')
    throw conflict(`messaging is already ${conv.messaging}`, 'AlreadyExists');
  if (conv.kind === 'p2p') throw conflict('the guest conversation gets messaging through acceptAndBridge');
  s.applyRouting(conv, input);
  const inv = s.newOutgoing(
    app,
    'messagingInvitations',
    conv.id,
    input.operationId,
    input.subject ?? conv.subject,
  );
  conv.messaging = 'Connected';
  invitationAnsweredAtOnce(s, conv, inv, () => toSaConv(s, conv, [messagingUpdated(s, conv)]));
  return inv;
}

export function addParticipant(
  s: WorldState,
  app: AppState,
  cid: string,
  input: { to: string; operationId?: string; subject?: string },
): OutgoingInvitation {
  const conv = s.saConversation(app, cid);
  const meeting = conv.meeting;
  if (!meeting || meeting.ended)
    throw conflict('participants can only be added to a conferenced ad hoc meeting');
  const key = userPart(input.to);
  if (meeting.participants.has(key)) throw conflict(`${input.to} is already in the meeting`, 'AlreadyExists');
  const ringing = s
    .pendingInvitations()
    .find((inv) => inv.conversationId === conv.id && inv.to && userPart(inv.to) === key);
  if (ringing) throw conflict(`${input.to} is already being invited`, 'AnotherOperationPending');
  const inv = s.newOutgoing(
    app,
    'participantInvitations',
    conv.id,
    input.operationId,
    input.subject,
    input.to,
  );
  invitationToSa(s, conv, inv, 'started');
  inv.cancelRing = s.deps.scheduler.after(s.deps.config.ringTimeoutMs, () => {
    if (inv.state !== 'Connecting') return;
    completeParticipantInvitation(s, inv, 'Failed', {
      code: 'Timeout',
      subcode: 'Timeout',
      message: `${input.to} did not answer within ${s.deps.config.ringTimeoutMs} ms.`,
    });
  });
  s.agents?.invited({
    id: inv.id,
    to: input.to,
    conversationId: conv.id,
    subject: input.subject ?? conv.subject,
  });
  return inv;
}

/** The invited user answered: join the meeting. Returns false when the invitation is no longer ringing. */
export function acceptParticipantInvitation(s: WorldState, invitationId: string, name: string): boolean {
  const inv = s.outgoing.get(invitationId.toLowerCase());
  if (inv?.kind !== 'participantInvitations' || inv.state !== 'Connecting' || !inv.to) return false;
  const conv = s.conversations.get(inv.conversationId);
  if (!conv || conv.deleted || !conv.meeting || conv.meeting.ended) return false;
  inv.cancelRing();
  const participant: ParticipantInfo = { uri: inv.to, name };
  conv.meeting.participants.set(userPart(inv.to), participant);
  const w = s.w;
  const h = conv.app.hrefs;
  const cid = conv.id;
  toSaConv(s, conv, [
    w.event(
      'added',
      'participant',
      { href: h.participant(cid, inv.to), title: '' },
      {
        resource: participantResource(w, h, cid, participant),
      },
    ),
  ]);
  toSaConv(s, conv, [
    w.event('added', 'participantMessaging', h.participant(cid, inv.to, 'messaging'), {
      in: { local: 'participant', href: h.participant(cid, inv.to), title: '' },
      resource: participantMessagingResource(w, h, cid, participant),
    }),
  ]);
  completeParticipantInvitation(s, inv, 'Connected');
  toSaConv(s, conv, [
    w.event(
      'updated',
      'participant',
      { href: h.participant(cid, inv.to), title: '' },
      {
        resource: participantResource(w, h, cid, participant, { eject: true }),
      },
    ),
  ]);
  s.agents?.joined(inv.to, cid);
  return true;
}

export function declineParticipantInvitation(s: WorldState, invitationId: string): boolean {
  const inv = s.outgoing.get(invitationId.toLowerCase());
  if (inv?.kind !== 'participantInvitations' || inv.state !== 'Connecting') return false;
  completeParticipantInvitation(s, inv, 'Declined', {
    code: 'RemoteFailure',
    subcode: 'Declined',
    message: `${inv.to} declined the invitation.`,
  });
  return true;
}

export function completeParticipantInvitation(
  s: WorldState,
  inv: OutgoingInvitation,
  state: InvitationState,
  reason?: FailureReason,
): void {
  inv.state = state;
  inv.cancelRing();
  const conv = s.conversations.get(inv.conversationId);
  if (!conv || conv.deleted) return;
  invitationToSa(s, conv, inv, 'completed', reason);
}

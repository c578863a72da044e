import { conflict, notFound } from '../errors.ts';
import { userPart, type WireEvent } from '../wire.ts';
import {
  conversationDeleted,
  guestCommSender,
  guestConversationDeleted,
  guestConvSender,
  guestMessagingUpdated,
  invitationToSa,
  messagingUpdated,
  toSaComm,
  toSaConv,
} from './events.ts';
import { completeParticipantInvitation } from './meetings.ts';
import { type AnonApp, type AppState, type Conversation, guestOf, helpdeskOf } from './model.ts';
import type { WorldState } from './state.ts';
import { agentTyping, clearTyping } from './typing.ts';

// Leaving and teardown: a guest leaves, the SA stops messaging or deletes a conversation, a meeting ends, a
// participant is ejected or leaves. Whatever ends, everyone still there is told, and the records are tombstoned.

/** Guest stopMessaging / DELETE conversation (step 20). */
export function guestLeave(s: WorldState, anon: AnonApp, cid: string): void {
  const conv = s.anonConversation(anon, cid);
  endP2P(s, conv, { by: 'guest', guestEvents: true });
}

/** SA DELETE of a conversation: the P2P leg ends for the guest; the conference ends the meeting. */
export function saDeleteConversation(s: WorldState, app: AppState, cid: string): void {
  const conv = s.saConversation(app, cid);
  if (conv.kind === 'p2p') endP2P(s, conv, { by: 'sa', guestEvents: true });
  else endMeeting(s, conv);
}

/** SA stopMessaging: the P2P leg ends; on the conference leg only messaging stops (the meeting goes on). */
export function saStopMessaging(s: WorldState, app: AppState, cid: string): void {
  const conv = s.saConversation(app, cid);
  if (conv.kind === 'p2p') {
    endP2P(s, conv, { by: 'sa', guestEvents: true });
    return;
  }
  if (conv.messaging !== 'Connected') throw conflict(`messaging is ${conv.messaging}`);
  conv.messaging = 'Disconnected';
  toSaConv(s, conv, [messagingUpdated(s, conv)]);
}

export function terminateMeeting(s: WorldState, app: AppState, cid: string): void {
  const conv = s.saConversation(app, cid);
  if (!conv.meeting) throw notFound(`online meeting of conversation ${cid}`);
  endMeeting(s, conv);
}

/** SA ejects, or the agent leaves by itself. */
export function removeParticipant(
  s: WorldState,
  conv: Conversation,
  uri: string,
  reason: 'ejected' | 'left',
): void {
  const meeting = conv.meeting;
  const key = userPart(uri);
  const participant = meeting?.participants.get(key);
  if (!meeting || meeting.ended || !participant) throw notFound(`participant ${uri}`);
  if (conv.typing.has(key)) agentTyping(s, uri, conv.id, false);
  meeting.participants.delete(key);
  toSaConv(s, conv, participantGone(s, conv, uri, ''));
  s.agents?.left(participant.uri, conv.id, reason);
}

/**
 * The P2P leg ends (guest or SA): a ringing invitation is cancelled, the guest is told (unless its application
 * is being deleted), the SA sees messaging stop and the guest leave, agents of the bridged meeting are told.
 */
export function endP2P(
  s: WorldState,
  conv: Conversation,
  how: { by: 'guest' | 'sa'; guestEvents: boolean },
): void {
  if (conv.deleted) return;
  const inv = conv.incoming;
  if (inv && inv.state === 'Connecting') {
    inv.cancelTimeout();
    inv.state = 'Cancelled';
    invitationToSa(s, conv, inv, 'completed', {
      code: 'RemoteFailure',
      subcode: 'Canceled',
      message: 'The guest cancelled the invitation.',
    });
  }
  clearTyping(conv);
  const wasConnected = conv.messaging === 'Connected';
  conv.messaging = 'Disconnected';
  conv.state = 'Disconnected';
  const anon = conv.anon;
  if (anon && how.guestEvents) {
    const u = s.u;
    const ah = anon.hrefs;
    const events = [guestMessagingUpdated(s, conv)];
    if (how.by === 'sa' && wasConnected) {
      events.push(u.event('deleted', 'participant', ah.participant(conv.id, helpdeskOf(conv).uri)));
    }
    anon.channel.push([
      guestConvSender(s, anon, conv.id, events),
      guestCommSender(s, anon, [guestConversationDeleted(s, conv)]),
    ]);
  }
  const guest = guestOf(conv);
  const convEvents = [messagingUpdated(s, conv)];
  if (wasConnected) convEvents.push(...participantGone(s, conv, guest.uri, guest.name));
  toSaConv(s, conv, convEvents);
  toSaComm(s, conv, [conversationDeleted(s, conv)]);
  const meetingConv = s.liveMeetingOf(conv);
  if (meetingConv) {
    for (const p of meetingConv.meeting!.participants.values()) {
      s.agents?.received(p.uri, meetingConv.id, {
        from: guest,
        text: `${guest.name} left the conversation.`,
        origin: 'sa',
      });
    }
  }
  s.markDeleted(conv);
}

/** The meeting ends: ringing invitations are cancelled, messaging stops, every participant leaves. */
function endMeeting(s: WorldState, conv: Conversation): void {
  const meeting = conv.meeting!;
  if (meeting.ended) return;
  for (const inv of s.outgoing.values()) {
    if (
      inv.conversationId === conv.id &&
      inv.kind === 'participantInvitations' &&
      inv.state === 'Connecting'
    ) {
      completeParticipantInvitation(s, inv, 'Cancelled', {
        code: 'LocalFailure',
        subcode: 'Canceled',
        message: 'The meeting ended before the invitation was answered.',
      });
    }
  }
  clearTyping(conv);
  meeting.ended = true;
  const events: WireEvent[] = [];
  if (conv.messaging === 'Connected') {
    conv.messaging = 'Disconnected';
    events.push(messagingUpdated(s, conv));
  }
  const participants = [...meeting.participants.values()];
  for (const p of participants) events.push(...participantGone(s, conv, p.uri, ''));
  meeting.participants.clear();
  conv.state = 'Disconnected';
  if (events.length) toSaConv(s, conv, events);
  toSaComm(s, conv, [conversationDeleted(s, conv)]);
  for (const p of participants) s.agents?.left(p.uri, conv.id, 'meeting ended');
  s.meetingsByUri.delete(meeting.uri.toLowerCase());
  s.markDeleted(conv);
}

/** A participant's messaging and the participant itself, deleted (the SA side). */
function participantGone(s: WorldState, conv: Conversation, uri: string, title: string): WireEvent[] {
  const w = s.w;
  const h = conv.app.hrefs;
  return [
    w.event('deleted', 'participantMessaging', h.participant(conv.id, uri, 'messaging'), {
      in: { local: 'participant', href: h.participant(conv.id, uri) },
    }),
    w.event('deleted', 'participant', { href: h.participant(conv.id, uri), title }),
  ];
}

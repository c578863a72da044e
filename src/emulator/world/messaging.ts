import { conflict } from '../errors.ts';
import {
  type MessageInfo,
  messageResource,
  type ParticipantInfo,
  ucwaMessageResource,
} from '../resources.ts';
import { userPart } from '../wire.ts';
import { guestConvSender, toSaConv } from './events.ts';
import {
  type AnonApp,
  type AppState,
  type Conversation,
  filtered,
  guestOf,
  helpdeskOf,
  requireMessaging,
  selfParticipant,
} from './model.ts';
import type { WorldState } from './state.ts';
import { agentTyping, guestTyping, guestTypingOf, stopTyping } from './typing.ts';

// Messages: the SA, the guest and the agents each say something; who hears it depends on the leg, the bridge and
// its message filter. The SA hears through callbacks, the guest on its event channel, agents through AgentHooks.

/** SA sendMessage on either leg. */
export function saSendMessage(
  s: WorldState,
  app: AppState,
  cid: string,
  body: { text?: string; html?: string; operationId?: string },
): MessageInfo {
  const conv = s.saConversation(app, cid);
  requireMessaging(conv);
  const message = record(conv, {
    direction: 'Outgoing',
    operationId: body.operationId,
    text: body.text,
    html: body.html,
  });
  outgoingMessageEvents(s, conv, message);
  stopTyping(s, conv, 'sa');
  const text = body.text ?? stripHtml(body.html ?? '');
  if (conv.kind === 'p2p') {
    deliverToGuest(s, conv, helpdeskOf(conv), body);
  } else if (conv.meeting) {
    const from = selfParticipant(app);
    for (const p of conv.meeting.participants.values()) {
      s.agents?.received(p.uri, conv.id, { from, text, origin: 'sa' });
    }
  }
  return message;
}

export function guestSendMessage(
  s: WorldState,
  anon: AnonApp,
  cid: string,
  body: { text?: string; html?: string; operationId?: string },
): MessageInfo {
  const conv = s.anonConversation(anon, cid);
  if (conv.messaging !== 'Connected') {
    throw conflict(`messaging is ${conv.messaging}; wait for messaging Connected before sending`);
  }
  const n = conv.nextMessage++;
  const mine: MessageInfo = {
    n,
    direction: 'Outgoing',
    operationId: body.operationId,
    text: body.text,
    html: body.html,
    time: Date.now(),
  };
  const u = s.u;
  const ah = anon.hrefs;
  const href = ah.conversation(cid, `messaging/messages/${n}`);
  anon.channel.push([
    guestConvSender(s, anon, cid, [
      u.event('started', 'message', href, { resource: ucwaMessageResource(u, ah, cid, mine) }),
      u.event('completed', 'message', href, {
        status: 'Success',
        resource: ucwaMessageResource(u, ah, cid, mine),
      }),
    ]),
  ]);
  guestTyping(s, conv, false);
  const meetingConv = s.liveMeetingOf(conv);
  if (meetingConv) {
    const guest = guestOf(conv);
    if (meetingConv.messaging === 'Connected') {
      const incoming = record(meetingConv, {
        direction: 'Incoming',
        text: body.text,
        html: body.html,
        from: guest,
      });
      incomingMessageEvent(s, meetingConv, incoming);
    }
    const text = body.text ?? stripHtml(body.html ?? '');
    for (const p of meetingConv.meeting!.participants.values()) {
      if (filtered(conv, p.uri)) continue;
      s.agents?.received(p.uri, meetingConv.id, { from: guest, text, origin: 'customer' });
    }
  }
  return mine;
}

/** A meeting participant (simulated agent) says something in the meeting. */
export function agentSendMessage(
  s: WorldState,
  agentUri: string,
  cid: string,
  body: { text?: string; html?: string },
): void {
  const conv = s.conversations.get(cid.toLowerCase());
  const meeting = conv?.meeting;
  const agent = meeting?.participants.get(userPart(agentUri));
  if (!conv || conv.deleted || !meeting || meeting.ended || !agent) {
    throw conflict(`${agentUri} is not in an active meeting ${cid}`);
  }
  if (conv.typing.has(userPart(agentUri))) agentTyping(s, agentUri, conv.id, false);
  if (conv.messaging === 'Connected') {
    const incoming = record(conv, {
      direction: 'Incoming',
      text: body.text,
      html: body.html,
      from: agent,
    });
    incomingMessageEvent(s, conv, incoming);
  }
  const text = body.text ?? stripHtml(body.html ?? '');
  for (const p of meeting.participants.values()) {
    if (userPart(p.uri) !== userPart(agentUri))
      s.agents?.received(p.uri, conv.id, { from: agent, text, origin: 'agent' });
  }
  for (const leg of s.bridgedLegs(conv.id)) {
    const bp = leg.bridge!.participants.get(userPart(agentUri));
    if (bp?.messageFilterState !== 'Disabled' || leg.messaging !== 'Connected') continue;
    guestTypingOf(s, leg, { uri: agent.uri, name: bp.displayName }, false);
    deliverToGuest(s, leg, { uri: agent.uri, name: bp.displayName }, body);
  }
}

/** Kept for GET of a message (the last 500). */
function record(conv: Conversation, m: Omit<MessageInfo, 'n' | 'time'>): MessageInfo {
  const message: MessageInfo = { ...m, n: conv.nextMessage++, time: Date.now() };
  conv.messages.push(message);
  if (conv.messages.length > 500) conv.messages.shift();
  return message;
}

/** The SA's own message: started, then completed. */
function outgoingMessageEvents(s: WorldState, conv: Conversation, message: MessageInfo): void {
  const w = s.w;
  const h = conv.app.hrefs;
  const href = h.message(conv.id, message.n);
  toSaConv(s, conv, [
    w.event('started', 'message', href, { resource: messageResource(w, h, conv.id, message) }),
  ]);
  toSaConv(s, conv, [
    w.event('completed', 'message', href, {
      status: 'Success',
      resource: messageResource(w, h, conv.id, message),
    }),
  ]);
}

/** A message the SA receives on `conv` (only completed, as the platform sends it). */
function incomingMessageEvent(s: WorldState, conv: Conversation, message: MessageInfo): void {
  const w = s.w;
  const h = conv.app.hrefs;
  toSaConv(s, conv, [
    w.event('completed', 'message', h.message(conv.id, message.n), {
      status: 'Success',
      resource: messageResource(w, h, conv.id, message),
    }),
  ]);
}

/** A message the guest receives from `from` (the helpdesk, or a bridged agent). */
function deliverToGuest(
  s: WorldState,
  conv: Conversation,
  from: ParticipantInfo,
  body: { text?: string; html?: string },
): void {
  const anon = conv.anon;
  if (!anon || conv.deleted) return;
  const n = conv.nextMessage++;
  const message: MessageInfo = {
    n,
    direction: 'Incoming',
    text: body.text,
    html: body.html,
    time: Date.now(),
    from,
  };
  const u = s.u;
  const ah = anon.hrefs;
  anon.channel.push([
    guestConvSender(s, anon, conv.id, [
      u.event('completed', 'message', ah.conversation(conv.id, `messaging/messages/${n}`), {
        status: 'Success',
        resource: ucwaMessageResource(u, ah, conv.id, message),
      }),
    ]),
  ]);
}

/** The plain text agents are given for an HTML message. */
function stripHtml(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

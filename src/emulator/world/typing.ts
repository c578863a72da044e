import { conflict } from '../errors.ts';
import type { ParticipantInfo } from '../resources.ts';
import { type AnonHrefs, type PlatformHrefs, userPart, type Wire, type WireEvent } from '../wire.ts';
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

// Typing indications: who types where, who is told, and the idle timer that ends them. `conv.typing` is keyed by
// 'sa', 'guest', an agent's user part, or 'guest-view:<user>' for whom the guest is shown typing.

/** The SA types on either leg: the guest sees the helpdesk typing, or the meeting's agents see the SA. */
export function saTyping(s: WorldState, app: AppState, cid: string): void {
  const conv = s.saConversation(app, cid);
  requireMessaging(conv);
  if (conv.kind === 'p2p' && conv.anon) {
    touchTyping(s, conv, 'sa', () => guestTypingOf(s, conv, helpdeskOf(conv), false));
    guestTypingOf(s, conv, helpdeskOf(conv), true);
  } else if (conv.meeting) {
    const self = selfParticipant(app);
    touchTyping(s, conv, 'sa', () => {
      for (const p of conv.meeting?.participants.values() ?? [])
        s.agents?.typing(p.uri, conv.id, self, false);
    });
    for (const p of conv.meeting.participants.values()) s.agents?.typing(p.uri, conv.id, self, true);
  }
}

export function guestTypingPost(s: WorldState, anon: AnonApp, cid: string): void {
  const conv = s.anonConversation(anon, cid);
  if (conv.messaging !== 'Connected') throw conflict(`messaging is ${conv.messaging}`);
  guestTyping(s, conv, true);
}

/** Agent typing in a meeting: the SA (conference leg) and bridged guests (when not filtered) see it. */
export function agentTyping(s: WorldState, agentUri: string, cid: string, on: boolean): void {
  const conv = s.conversations.get(cid.toLowerCase());
  const agent = conv?.meeting?.participants.get(userPart(agentUri));
  if (!conv || conv.deleted || !conv.meeting || conv.meeting.ended || !agent) {
    throw conflict(`${agentUri} is not in an active meeting ${cid}`);
  }
  const key = userPart(agentUri);
  setTyping(s, conv, key, on, (state) => {
    typingToSa(s, conv, agent, state);
    for (const p of conv.meeting?.participants.values() ?? []) {
      if (userPart(p.uri) !== key) s.agents?.typing(p.uri, conv.id, agent, state);
    }
    for (const leg of s.bridgedLegs(conv.id)) {
      const bp = leg.bridge!.participants.get(key);
      if (bp && bp.messageFilterState === 'Disabled')
        guestTypingOf(s, leg, { uri: agent.uri, name: bp.displayName }, state);
    }
  });
}

/** The guest typing: the SA sees it on the conference leg, agents (not filtered) are told. */
export function guestTyping(s: WorldState, conv: Conversation, on: boolean): void {
  const guest = guestOf(conv);
  setTyping(s, conv, 'guest', on, (state) => {
    const meetingConv = s.liveMeetingOf(conv);
    if (!meetingConv) return;
    if (meetingConv.messaging === 'Connected') typingToSa(s, meetingConv, guest, state);
    for (const p of meetingConv.meeting!.participants.values()) {
      if (!filtered(conv, p.uri)) s.agents?.typing(p.uri, meetingConv.id, guest, state);
    }
  });
}

/** Typing shown to the guest (someone on the helpdesk side); only changes are sent. */
export function guestTypingOf(s: WorldState, conv: Conversation, who: ParticipantInfo, on: boolean): void {
  const anon = conv.anon;
  if (!anon || conv.deleted) return;
  const key = `guest-view:${userPart(who.uri)}`;
  if (on) {
    if (conv.typing.has(key)) return; // already shown
    conv.typing.set(key, () => {});
  } else if (!conv.typing.delete(key)) return;
  anon.channel.push([
    guestConvSender(s, anon, conv.id, [typingParticipant(s.u, anon.hrefs, conv.id, who, on)]),
  ]);
}

/** Typing of `key` ends now (it sent a message); for the SA, whoever was shown it typing is told. */
export function stopTyping(s: WorldState, conv: Conversation, key: string): void {
  const cancel = conv.typing.get(key);
  if (!cancel) return;
  cancel();
  conv.typing.delete(key);
  if (key !== 'sa') return;
  if (conv.kind === 'p2p') guestTypingOf(s, conv, helpdeskOf(conv), false);
  const self = selfParticipant(conv.app);
  for (const p of conv.meeting?.participants.values() ?? []) s.agents?.typing(p.uri, conv.id, self, false);
}

/** On: (re)arm the idle timer, `relay(true)` when it starts. Off: `relay(false)` if it was on. */
function setTyping(
  s: WorldState,
  conv: Conversation,
  key: string,
  on: boolean,
  relay: (on: boolean) => void,
): void {
  if (on) {
    const already = conv.typing.has(key);
    touchTyping(s, conv, key, () => relay(false));
    if (!already) relay(true);
  } else if (conv.typing.has(key)) {
    conv.typing.get(key)?.();
    conv.typing.delete(key);
    relay(false);
  }
}

/** (Re)arm the idle timer of a typing indication; `onIdle` runs when it lapses. */
function touchTyping(s: WorldState, conv: Conversation, key: string, onIdle: () => void): void {
  conv.typing.get(key)?.();
  const cancel = s.deps.scheduler.after(s.deps.config.typingIdleMs, () => {
    if (conv.typing.get(key) !== cancel) return;
    conv.typing.delete(key);
    onIdle();
  });
  conv.typing.set(key, cancel);
}

function typingToSa(s: WorldState, conv: Conversation, who: ParticipantInfo, on: boolean): void {
  toSaConv(s, conv, [typingParticipant(s.w, conv.app.hrefs, conv.id, who, on)]);
}

/** `who` added to (or removed from) the conversation's typingParticipants, on either side of the wire. */
function typingParticipant(
  w: Wire,
  hrefs: PlatformHrefs | AnonHrefs,
  cid: string,
  who: ParticipantInfo,
  on: boolean,
): WireEvent {
  return w.event(
    on ? 'added' : 'deleted',
    'participant',
    { href: hrefs.participant(cid, who.uri), title: who.name },
    { in: { local: 'typingParticipants', href: hrefs.conversation(cid, 'messaging/typingParticipants') } },
  );
}

/** Every typing indication of `conv` ends silently (the conversation ends). */
export function clearTyping(conv: Conversation): void {
  for (const cancel of conv.typing.values()) cancel();
  conv.typing.clear();
}

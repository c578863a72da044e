/**
 * What the customer sees of the agents: an agent who is in the meeting and bridged to the customer's P2P
 * leg with messageFilterState Disabled (their messages reach the customer, under their bridged display
 * name) is shown to the customer as a participant of their conversation — `participant` added when both
 * become true, deleted when either stops (they left, were removed from the bridge, or are filtered
 * again). An agent being offered the chat (bridged, still ringing) and a monitoring supervisor (filtered)
 * are not shown. This is what lets the customer's client say "Alice Agent joined" / "left".
 *
 * Kept apart from the world's state: it follows the world's public operations that change either side.
 */
import { ucwaParticipantResource } from './resources.ts';
import { userPart } from './wire.ts';
import type { Conversation, World } from './world/index.ts';

type Person = { uri: string; name: string };

/** Who the customer of this P2P leg should see now, by user part. */
function visibleOn(world: World, leg: Conversation): Map<string, Person> {
  const shown = new Map<string, Person>();
  const bridge = leg.bridge;
  if (!bridge) return shown;
  const meeting = world.conversations.get(bridge.meetingConversationId)?.meeting;
  if (!meeting || meeting.ended) return shown;
  for (const bp of bridge.participants.values()) {
    const key = userPart(bp.participantUri);
    if (bp.messageFilterState === 'Disabled' && meeting.participants.has(key))
      shown.set(key, { uri: bp.participantUri, name: bp.displayName });
  }
  return shown;
}

function tell(world: World, leg: Conversation, type: 'added' | 'deleted', who: Person): void {
  const anon = leg.anon;
  if (!anon) return;
  const u = world.u;
  const ah = anon.hrefs;
  anon.channel.push([
    u.sender('conversation', ah.conversation(leg.id), [
      u.event(
        type,
        'participant',
        { href: ah.participant(leg.id, who.uri), title: who.name },
        type === 'added' ? { resource: ucwaParticipantResource(u, ah, leg.id, who) } : undefined,
      ),
    ]),
  ]);
}

/** Make the world announce visible agents to the customer (call once, after creating it). */
export function announceBridgedParticipants(world: World): void {
  const shown = new Map<string, Map<string, Person>>();
  const sync = () => {
    for (const leg of world.conversations.values()) {
      if (!leg.anon || !leg.bridge) continue;
      const before = shown.get(leg.id) ?? new Map<string, Person>();
      const live = !leg.deleted && leg.messaging === 'Connected';
      const now = live ? visibleOn(world, leg) : new Map<string, Person>();
      if (live) {
        for (const [key, who] of before) {
          if (now.get(key)?.name !== who.name) tell(world, leg, 'deleted', who);
        }
        for (const [key, who] of now) {
          if (before.get(key)?.name !== who.name) tell(world, leg, 'added', who);
        }
      }
      if (now.size) shown.set(leg.id, now);
      else shown.delete(leg.id);
    }
  };
  const after =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      const result = fn(...args);
      sync();
      return result;
    };
  world.addBridgedParticipant = after(world.addBridgedParticipant.bind(world));
  world.updateBridgedParticipant = after(world.updateBridgedParticipant.bind(world));
  world.deleteBridgedParticipant = after(world.deleteBridgedParticipant.bind(world));
  world.acceptParticipantInvitation = after(world.acceptParticipantInvitation.bind(world));
  world.removeParticipant = after(world.removeParticipant.bind(world));
}

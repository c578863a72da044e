import { badParameter, conflict } from '../errors.ts';
import { type BridgedParticipantInfo, bridgedParticipantResource } from '../resources.ts';
import { userPart } from '../wire.ts';
import { toSaConv } from './events.ts';
import { type AppState, type Conversation, requireBridge } from './model.ts';
import { bridgedParticipant } from './render.ts';
import type { WorldState } from './state.ts';

// The SA's conversation bridge on a P2P leg: who of the meeting the guest sees, and whether their messages cross.

export function addBridgedParticipant(
  s: WorldState,
  app: AppState,
  cid: string,
  bp: BridgedParticipantInfo,
): { created: boolean; href: string } {
  const conv = s.saConversation(app, cid);
  const bridge = requireBridge(conv);
  const key = userPart(bp.participantUri);
  const h = app.hrefs;
  const href = h.bridgedParticipant(cid, bp.participantUri);
  const existing = bridge.participants.get(key);
  if (existing) {
    const same =
      existing.displayName === bp.displayName && existing.messageFilterState === bp.messageFilterState;
    if (same) return { created: false, href };
    throw conflict(`${bp.participantUri} is already bridged; update it with PUT`, 'AlreadyExists');
  }
  bridge.participants.set(key, { ...bp });
  bridgeEvent(s, conv, 'added', bp);
  return { created: true, href };
}

export function updateBridgedParticipant(
  s: WorldState,
  app: AppState,
  cid: string,
  key: string,
  bp: BridgedParticipantInfo,
): void {
  const conv = s.saConversation(app, cid);
  const existing = bridgedParticipant(conv, key);
  if (userPart(bp.participantUri) !== userPart(existing.participantUri)) {
    throw badParameter('participantUri', `must stay ${existing.participantUri} for this bridged participant`);
  }
  Object.assign(existing, bp);
  bridgeEvent(s, conv, 'updated', existing);
}

export function deleteBridgedParticipant(s: WorldState, app: AppState, cid: string, key: string): void {
  const conv = s.saConversation(app, cid);
  const existing = bridgedParticipant(conv, key);
  conv.bridge!.participants.delete(userPart(existing.participantUri));
  bridgeEvent(s, conv, 'deleted', existing);
}

function bridgeEvent(
  s: WorldState,
  conv: Conversation,
  type: 'added' | 'updated' | 'deleted',
  bp: BridgedParticipantInfo,
): void {
  const w = s.w;
  const h = conv.app.hrefs;
  toSaConv(s, conv, [
    w.event(type, 'bridgedParticipant', h.bridgedParticipant(conv.id, bp.participantUri), {
      in: {
        local: 'bridgedParticipants',
        href: h.conversation(conv.id, 'conversationBridge/bridgedParticipants'),
      },
      resource: type === 'deleted' ? undefined : bridgedParticipantResource(w, h, conv.id, bp),
    }),
  ]);
}

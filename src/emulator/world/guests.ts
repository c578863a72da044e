import { randomInt, randomUUID } from 'node:crypto';
import { EventChannel } from '../eventChannel.ts';
import { ucwaParticipantResource } from '../resources.ts';
import { AnonHrefs } from '../wire.ts';
import {
  guestCommSender,
  guestConvSender,
  guestMessagingUpdated,
  invitationToGuest,
  invitationToSa,
  toSaComm,
} from './events.ts';
import { failIncoming } from './invitations.ts';
import type { AnonApp, AppState, Conversation, IncomingInvitation } from './model.ts';
import { renderConversation, renderUcwaConversation } from './render.ts';
import type { WorldState } from './state.ts';
import { endP2P } from './teardown.ts';

// The guest (anonymous UCWA): its application and event channel, and its invitation of the helpdesk that opens
// the P2P leg.

const randomDigits = (n: number) =>
  Array.from({ length: n }, (_, i) => randomInt(i === 0 ? 1 : 0, 10)).join('');

export function createAnonApp(
  s: WorldState,
  app: AppState,
  token: { asi: string; ao: string; exp: number },
  input: { displayName: string; culture: string; userAgent: string },
): AnonApp {
  const id = randomDigits(12);
  const hrefs = new AnonHrefs(id);
  const eventsKey = Buffer.from(`${app.cfg.applicationId}~${token.asi}~${id}`).toString('base64url');
  const anon: AnonApp = {
    id,
    app,
    asi: token.asi,
    origins: token.ao.split(';').filter(Boolean),
    tokenExp: token.exp,
    displayName: input.displayName,
    culture: input.culture,
    userAgent: input.userAgent,
    uri: `sip:${randomDigits(10)}@anonymous.invalid`,
    hrefs,
    eventsKey,
    channel: new EventChannel(
      (ack) => `${hrefs.path('events')}?ack=${ack}&key=${eventsKey}`,
      (ms, task) => s.deps.scheduler.after(ms, task),
    ),
    conversationIds: new Set(),
    etag: String(randomInt(100_000_000, 2_000_000_000)),
    expires: token.exp * 1000,
  };
  s.anonApps.set(id, anon);
  return anon;
}

/** The guest deletes its application: its conversations end as if it left, with no events to its channel. */
export function deleteAnonApp(s: WorldState, anon: AnonApp): void {
  for (const cid of anon.conversationIds) {
    const conv = s.conversations.get(cid);
    if (conv && !conv.deleted) endP2P(s, conv, { by: 'guest', guestEvents: false });
  }
  anon.channel.close();
  s.anonApps.delete(anon.id);
}

/** Step 6: the guest invites the helpdesk endpoint. */
export function inviteHelpdesk(
  s: WorldState,
  anon: AnonApp,
  input: {
    to: string;
    operationId?: string;
    subject?: string;
    importance?: string;
    threadId?: string;
    customContent?: string;
  },
): Conversation {
  const app = anon.app;
  const cid = randomUUID();
  const invitation: IncomingInvitation = {
    id: randomUUID(),
    operationId: randomUUID(),
    customerOperationId: input.operationId,
    state: 'Connecting',
    to: app.cfg.endpointUri,
    subject: input.subject,
    threadId: input.threadId ?? Buffer.from(randomUUID()).toString('base64').slice(0, 28),
    importance: input.importance ?? 'Normal',
    customContent: input.customContent,
    cancelTimeout: () => {},
  };
  const conv = s.newConversation(cid, 'p2p', app, {
    state: 'Connecting',
    subject: input.subject,
    threadId: invitation.threadId,
    importance: invitation.importance,
  });
  conv.anon = anon;
  conv.incoming = invitation;
  conv.awaitingContext = true;
  anon.conversationIds.add(cid);
  s.incomingById.set(invitation.id.toLowerCase(), cid);

  // Guest: invitation started, conversation added, local participant, messaging connecting.
  conv.messaging = 'Connecting';
  const u = s.u;
  const ah = anon.hrefs;
  anon.channel.push([
    guestCommSender(s, anon, [
      invitationToGuest(s, conv, 'started'),
      u.event('added', 'conversation', ah.conversation(cid), { resource: renderUcwaConversation(u, conv) }),
    ]),
    guestConvSender(s, anon, cid, [
      u.event('added', 'localParticipant', ah.conversation(cid, 'participants/me'), {
        resource: ucwaParticipantResource(u, ah, cid, { uri: anon.uri, name: anon.displayName }, true),
      }),
      guestMessagingUpdated(s, conv),
    ]),
  ]);

  // SA: the incoming invitation (step 7), then conversation added.
  const w = s.w;
  const h = app.hrefs;
  invitationToSa(s, conv, invitation, 'started');
  toSaComm(s, conv, [
    w.event('added', 'conversation', h.conversation(cid), { resource: renderConversation(w, conv) }),
  ]);

  invitation.cancelTimeout = s.deps.scheduler.after(s.deps.config.invitationTimeoutMs, () => {
    if (conv.deleted || invitation.state !== 'Connecting') return;
    failIncoming(s, conv, 'Failed', {
      code: 'Timeout',
      subcode: 'Timeout',
      message: 'The helpdesk did not answer the invitation in time.',
    });
  });
  return conv;
}

import { randomInt, randomUUID } from 'node:crypto';
import { EventChannel } from '../eventChannel.ts';
import { type BridgedParticipantInfo, type ParticipantInfo, ucwaParticipantResource } from '../resources.ts';
import { AnonHrefs, type Wire, type WireResource } from '../wire.ts';
import * as bridge from './bridge.ts';
import { commSender, invitationToGuest, invitationToSa, toSa } from './events.ts';
import * as invitations from './invitations.ts';
import * as meetings from './meetings.ts';
import * as messaging from './messaging.ts';
import {
  type AgentHooks,
  type AnonApp,
  type AppState,
  type Conversation,
  eventsHref,
  guestOf,
  type IncomingInvitation,
  type OutgoingInvitation,
  type StoredResponse,
  selfParticipant,
  type WorldDeps,
} from './model.ts';
import * as render from './render.ts';
import { WorldState } from './state.ts';
import * as teardown from './teardown.ts';
import * as typing from './typing.ts';

export type {
  AgentHooks,
  AnonApp,
  AppState,
  Conversation,
  OutgoingInvitation,
  StoredResponse,
} from './model.ts';

const randomDigits = (n: number) =>
  Array.from({ length: n }, (_, i) => randomInt(i === 0 ? 1 : 0, 10)).join('');

/** The arguments of a concern module's function, after the shared state. */
type Args<F> = F extends (s: WorldState, ...args: infer A) => unknown ? A : never;

/**
 * The emulated platform's state and every operation on it. Each operation changes state synchronously
 * (so the next request sees it) and queues its callbacks / guest events.
 */
export class World {
  private readonly s: WorldState;
  readonly apps: Map<string, AppState>;
  readonly anonApps: Map<string, AnonApp>;
  readonly conversations: Map<string, Conversation>;
  /** SA-side wire (configured prefix) and guest-side wire (plain UCWA rels). */
  readonly w: Wire;
  readonly u: Wire;

  constructor(deps: WorldDeps) {
    this.s = new WorldState(deps);
    ({
      apps: this.apps,
      anonApps: this.anonApps,
      conversations: this.conversations,
      w: this.w,
      u: this.u,
    } = this.s);
  }

  get agents(): AgentHooks | undefined {
    return this.s.agents;
  }
  set agents(hooks: AgentHooks | undefined) {
    this.s.agents = hooks;
  }

  // ------------------------------------------------------------------ store and idempotency

  stats(): { openMeetings: number; openConversations: number } {
    return this.s.stats();
  }
  appById(applicationId: string): AppState {
    return this.s.appById(applicationId);
  }
  appByEndpoint(endpointUri: string): AppState | undefined {
    return this.s.appByEndpoint(endpointUri);
  }
  saConversation(app: AppState, cid: string): Conversation {
    return this.s.saConversation(app, cid);
  }
  anonApp(id: string): AnonApp {
    return this.s.anonApp(id);
  }
  anonConversation(anon: AnonApp, cid: string): Conversation {
    return this.s.anonConversation(anon, cid);
  }
  outgoingInvitation(app: AppState, kind: OutgoingInvitation['kind'], id: string): OutgoingInvitation {
    return this.s.outgoingInvitation(app, kind, id);
  }
  incomingConversation(app: AppState, invitationId: string): Conversation {
    return this.s.incomingConversation(app, invitationId);
  }
  pendingInvitations(): OutgoingInvitation[] {
    return this.s.pendingInvitations();
  }
  conversationsOf(agentUri: string): Conversation[] {
    return this.s.conversationsOf(agentUri);
  }
  bridgedLegs(meetingConversationId: string): Conversation[] {
    return this.s.bridgedLegs(meetingConversationId);
  }
  remember(key: string): StoredResponse | undefined {
    return this.s.remember(key);
  }
  store(key: string, response: StoredResponse): void {
    this.s.store(key, response);
  }
  eventsHref(anon: AnonApp, ack: number): string {
    return eventsHref(anon, ack);
  }
  guestOf(conv: Conversation): ParticipantInfo {
    return guestOf(conv);
  }
  selfParticipant(app: AppState): ParticipantInfo {
    return selfParticipant(app);
  }
  close(): void {
    this.s.close();
  }

  // ------------------------------------------------------------------ rendering

  renderConversation(w: Wire, conv: Conversation): WireResource {
    return render.renderConversation(w, conv);
  }
  renderMessaging(w: Wire, conv: Conversation): WireResource {
    return render.renderMessaging(w, conv);
  }
  renderOnlineMeeting(w: Wire, conv: Conversation): WireResource {
    return render.renderOnlineMeeting(w, conv);
  }
  renderBridge(w: Wire, conv: Conversation): WireResource {
    return render.renderBridge(w, conv);
  }
  renderBridgedParticipants(w: Wire, conv: Conversation): WireResource {
    return render.renderBridgedParticipants(w, conv);
  }
  bridgedParticipant(conv: Conversation, key: string): BridgedParticipantInfo {
    return render.bridgedParticipant(conv, key);
  }
  participant(conv: Conversation, key: string): ParticipantInfo {
    return render.participant(conv, key);
  }
  renderParticipants(w: Wire, conv: Conversation): WireResource {
    return render.renderParticipants(w, conv);
  }
  renderMessage(w: Wire, conv: Conversation, n: number): WireResource {
    return render.renderMessage(w, conv, n);
  }
  renderIncomingInvitation(w: Wire, conv: Conversation): WireResource {
    return render.renderIncomingInvitation(w, conv);
  }
  renderOutgoing(w: Wire, inv: OutgoingInvitation): WireResource {
    return render.renderOutgoing(this.s, w, inv);
  }
  renderAnonApp(anon: AnonApp): WireResource {
    return render.renderAnonApp(this.u, anon);
  }
  renderUcwaConversation(conv: Conversation): WireResource {
    return render.renderUcwaConversation(this.u, conv);
  }
  renderUcwaMessaging(conv: Conversation): WireResource {
    return render.renderUcwaMessaging(this.u, conv);
  }
  renderUcwaInvitation(conv: Conversation): WireResource {
    return render.renderUcwaInvitation(this.u, conv);
  }

  // ------------------------------------------------------------------ guest (anonymous UCWA)

  createAnonApp(
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
        (ms, task) => this.s.deps.scheduler.after(ms, task),
      ),
      conversationIds: new Set(),
      etag: String(randomInt(100_000_000, 2_000_000_000)),
      expires: token.exp * 1000,
    };
    this.s.anonApps.set(id, anon);
    return anon;
  }

  deleteAnonApp(anon: AnonApp): void {
    for (const cid of anon.conversationIds) {
      const conv = this.s.conversations.get(cid);
      if (conv && !conv.deleted) teardown.endP2P(this.s, conv, { by: 'guest', guestEvents: false });
    }
    anon.channel.close();
    this.s.anonApps.delete(anon.id);
  }

  /** Step 6: the guest invites the helpdesk endpoint. */
  inviteHelpdesk(
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
    const conv = this.s.newConversation(cid, 'p2p', app, {
      state: 'Connecting',
      subject: input.subject,
      threadId: invitation.threadId,
      importance: invitation.importance,
    });
    conv.anon = anon;
    conv.incoming = invitation;
    conv.awaitingContext = true;
    anon.conversationIds.add(cid);
    this.s.incomingById.set(invitation.id.toLowerCase(), cid);

    // Guest: invitation started, conversation added, local participant, messaging connecting.
    conv.messaging = 'Connecting';
    const u = this.u;
    const ah = anon.hrefs;
    anon.channel.push([
      u.sender('communication', ah.path('communication'), [
        invitationToGuest(this.s, conv, 'started'),
        u.event('added', 'conversation', ah.conversation(cid), {
          resource: this.renderUcwaConversation(conv),
        }),
      ]),
      u.sender('conversation', ah.conversation(cid), [
        u.event('added', 'localParticipant', ah.conversation(cid, 'participants/me'), {
          resource: ucwaParticipantResource(u, ah, cid, { uri: anon.uri, name: anon.displayName }, true),
        }),
        u.event('updated', 'messaging', ah.conversation(cid, 'messaging'), {
          resource: this.renderUcwaMessaging(conv),
        }),
      ]),
    ]);

    // SA: the incoming invitation (step 7), then conversation added.
    const w = this.w;
    const h = app.hrefs;
    invitationToSa(this.s, conv, invitation, 'started');
    toSa(this.s, conv, [
      commSender(this.s, app, [
        w.event('added', 'conversation', h.conversation(cid), { resource: this.renderConversation(w, conv) }),
      ]),
    ]);

    invitation.cancelTimeout = this.s.deps.scheduler.after(this.s.deps.config.invitationTimeoutMs, () => {
      if (conv.deleted || invitation.state !== 'Connecting') return;
      invitations.failIncoming(this.s, conv, 'Failed', {
        code: 'Timeout',
        subcode: 'Timeout',
        message: 'The helpdesk did not answer the invitation in time.',
      });
    });
    return conv;
  }

  // ------------------------------------------------------------------ SA: invitation handling (invitations.ts)

  acceptAndBridge(...a: Args<typeof invitations.acceptAndBridge>) {
    return invitations.acceptAndBridge(this.s, ...a);
  }
  declineIncoming(...a: Args<typeof invitations.declineIncoming>) {
    return invitations.declineIncoming(this.s, ...a);
  }

  // ------------------------------------------------------------------ SA: meetings (meetings.ts)

  startAdhocMeeting(...a: Args<typeof meetings.startAdhocMeeting>) {
    return meetings.startAdhocMeeting(this.s, ...a);
  }
  addMessaging(...a: Args<typeof meetings.addMessaging>) {
    return meetings.addMessaging(this.s, ...a);
  }
  addParticipant(...a: Args<typeof meetings.addParticipant>) {
    return meetings.addParticipant(this.s, ...a);
  }
  acceptParticipantInvitation(...a: Args<typeof meetings.acceptParticipantInvitation>) {
    return meetings.acceptParticipantInvitation(this.s, ...a);
  }
  declineParticipantInvitation(...a: Args<typeof meetings.declineParticipantInvitation>) {
    return meetings.declineParticipantInvitation(this.s, ...a);
  }

  // ------------------------------------------------------------------ SA: bridge (bridge.ts)

  addBridgedParticipant(...a: Args<typeof bridge.addBridgedParticipant>) {
    return bridge.addBridgedParticipant(this.s, ...a);
  }
  updateBridgedParticipant(...a: Args<typeof bridge.updateBridgedParticipant>) {
    return bridge.updateBridgedParticipant(this.s, ...a);
  }
  deleteBridgedParticipant(...a: Args<typeof bridge.deleteBridgedParticipant>) {
    return bridge.deleteBridgedParticipant(this.s, ...a);
  }

  // ------------------------------------------------------------------ typing (typing.ts)

  saTyping(...a: Args<typeof typing.saTyping>) {
    return typing.saTyping(this.s, ...a);
  }
  guestTypingPost(...a: Args<typeof typing.guestTypingPost>) {
    return typing.guestTypingPost(this.s, ...a);
  }
  agentTyping(...a: Args<typeof typing.agentTyping>) {
    return typing.agentTyping(this.s, ...a);
  }

  // ------------------------------------------------------------------ messaging (messaging.ts)

  saSendMessage(...a: Args<typeof messaging.saSendMessage>) {
    return messaging.saSendMessage(this.s, ...a);
  }
  guestSendMessage(...a: Args<typeof messaging.guestSendMessage>) {
    return messaging.guestSendMessage(this.s, ...a);
  }
  agentSendMessage(...a: Args<typeof messaging.agentSendMessage>) {
    return messaging.agentSendMessage(this.s, ...a);
  }

  // ------------------------------------------------------------------ leaving and teardown (teardown.ts)

  guestLeave(...a: Args<typeof teardown.guestLeave>) {
    return teardown.guestLeave(this.s, ...a);
  }
  saDeleteConversation(...a: Args<typeof teardown.saDeleteConversation>) {
    return teardown.saDeleteConversation(this.s, ...a);
  }
  saStopMessaging(...a: Args<typeof teardown.saStopMessaging>) {
    return teardown.saStopMessaging(this.s, ...a);
  }
  terminateMeeting(...a: Args<typeof teardown.terminateMeeting>) {
    return teardown.terminateMeeting(this.s, ...a);
  }
  removeParticipant(...a: Args<typeof teardown.removeParticipant>) {
    return teardown.removeParticipant(this.s, ...a);
  }
}

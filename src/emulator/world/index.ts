import type { BridgedParticipantInfo, ConversationView, ParticipantInfo } from '../resources.ts';
import type { Wire, WireResource } from '../wire.ts';
import * as bridge from './bridge.ts';
import * as guests from './guests.ts';
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

/** The arguments of a concern module's function, after the shared state. */
type Args<F> = F extends (s: WorldState, ...args: infer A) => unknown ? A : never;

/**
 * The emulated platform's state and every operation on it. Each operation changes state synchronously
 * (so the next request sees it) and queues its callbacks / guest events.
 *
 * This class is only the front the HTTP layers (platform.ts, ucwa.ts, control.ts) and agents.ts call. The
 * records are in model.ts, the store in state.ts (one `WorldState` shared by everything), the wire resources in
 * render.ts, callbacks and guest events in events.ts, and each concern is a module of functions over the
 * state: guests, invitations, meetings, bridge, messaging, typing, teardown. A new behaviour goes into its
 * concern's module (or a new one) and gets a one-line method here.
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

  // ------------------------------------------------------------------ store and idempotency (state.ts)

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

  // ------------------------------------------------------------------ rendering (render.ts)

  view(conv: Conversation): ConversationView {
    return render.view(conv);
  }
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
  participantsOf(conv: Conversation): ParticipantInfo[] {
    return render.participantsOf(conv);
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

  // ------------------------------------------------------------------ guests, anonymous UCWA (guests.ts)

  createAnonApp(...a: Args<typeof guests.createAnonApp>) {
    return guests.createAnonApp(this.s, ...a);
  }
  deleteAnonApp(...a: Args<typeof guests.deleteAnonApp>) {
    return guests.deleteAnonApp(this.s, ...a);
  }
  inviteHelpdesk(...a: Args<typeof guests.inviteHelpdesk>) {
    return guests.inviteHelpdesk(this.s, ...a);
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

import { randomUUID } from 'node:crypto';
import { badParameter, EmulatorError, notFound } from '../errors.ts';
import { PlatformHrefs, userPart, Wire } from '../wire.ts';
import type {
  AgentHooks,
  AnonApp,
  AppState,
  Conversation,
  OutgoingInvitation,
  StoredResponse,
  WorldDeps,
} from './model.ts';

/**
 * The store of the emulated platform: every record, looked up the way requests name them, and the answers
 * kept for idempotent retries. The concern modules (guests, invitations, meetings, …) all work on this one
 * object; it changes synchronously, so the next request sees what the previous one did.
 */
export class WorldState {
  readonly apps = new Map<string, AppState>();
  readonly anonApps = new Map<string, AnonApp>();
  readonly conversations = new Map<string, Conversation>();
  /** Incoming invitation id (lower case) → its P2P conversation id. */
  readonly incomingById = new Map<string, string>();
  /** Outgoing invitations by id (meetings, messaging, participants). */
  readonly outgoing = new Map<string, OutgoingInvitation>();
  /** Meeting URI (lower case) → its conference conversation id, while the meeting lasts. */
  readonly meetingsByUri = new Map<string, string>();
  private readonly idempotency = new Map<string, StoredResponse>();
  meetingCounter = 0;
  agents: AgentHooks | undefined;
  /** SA-side wire (configured prefix) and guest-side wire (plain UCWA rels). */
  readonly w: Wire;
  readonly u = new Wire('');

  constructor(readonly deps: WorldDeps) {
    this.w = new Wire(deps.config.relPrefix);
    for (const cfg of deps.config.applications) {
      this.apps.set(cfg.applicationId, {
        cfg,
        callbackUrl: cfg.callbackUrl,
        hrefs: new PlatformHrefs(cfg.applicationId, cfg.endpointUri),
      });
    }
  }

  // ------------------------------------------------------------------ lookups

  stats(): { openMeetings: number; openConversations: number } {
    let openMeetings = 0;
    let openConversations = 0;
    for (const conv of this.conversations.values()) {
      if (conv.deleted) continue;
      openConversations += 1;
      if (conv.meeting && !conv.meeting.ended) openMeetings += 1;
    }
    return { openMeetings, openConversations };
  }

  appById(applicationId: string): AppState {
    const app = this.apps.get(applicationId);
    if (!app)
      throw new EmulatorError(
        404,
        'NotFound',
        `application ${applicationId} was not found`,
        'ApplicationNotFound',
      );
    return app;
  }

  appByEndpoint(endpointUri: string): AppState | undefined {
    for (const app of this.apps.values()) {
      if (app.cfg.endpointUri.toLowerCase() === endpointUri.toLowerCase()) return app;
    }
    return undefined;
  }

  saConversation(app: AppState, cid: string): Conversation {
    const conv = this.conversations.get(cid.toLowerCase());
    if (!conv || conv.deleted || conv.app !== app) throw notFound(`conversation ${cid}`);
    return conv;
  }

  anonApp(id: string): AnonApp {
    const anon = this.anonApps.get(id);
    if (!anon)
      throw new EmulatorError(404, 'NotFound', `application ${id} was not found`, 'ApplicationNotFound');
    return anon;
  }

  anonConversation(anon: AnonApp, cid: string): Conversation {
    const conv = this.conversations.get(cid.toLowerCase());
    if (!conv || conv.deleted || conv.anon !== anon) throw notFound(`conversation ${cid}`);
    return conv;
  }

  outgoingInvitation(app: AppState, kind: OutgoingInvitation['kind'], id: string): OutgoingInvitation {
    const inv = this.outgoing.get(id.toLowerCase());
    if (!inv || inv.app !== app || inv.kind !== kind) throw notFound(`invitation ${id}`);
    return inv;
  }

  incomingConversation(app: AppState, invitationId: string): Conversation {
    const cid = this.incomingById.get(invitationId.toLowerCase());
    const conv = cid ? this.conversations.get(cid) : undefined;
    if (!conv || conv.app !== app || !conv.incoming) throw notFound(`messaging invitation ${invitationId}`);
    return conv;
  }

  /** A participant invitation still ringing, for agents and the control API. */
  pendingInvitations(): OutgoingInvitation[] {
    return [...this.outgoing.values()].filter(
      (inv) => inv.kind === 'participantInvitations' && inv.state === 'Connecting',
    );
  }

  conversationsOf(agentUri: string): Conversation[] {
    const key = userPart(agentUri);
    return [...this.conversations.values()].filter(
      (conv) => !conv.deleted && conv.meeting && !conv.meeting.ended && conv.meeting.participants.has(key),
    );
  }

  /** Bridged P2P legs of a meeting. */
  bridgedLegs(meetingConversationId: string): Conversation[] {
    return [...this.conversations.values()].filter(
      (conv) => !conv.deleted && conv.bridge?.meetingConversationId === meetingConversationId,
    );
  }

  /** The live ad hoc meeting of `app` with this URI (what acceptAndBridge names). */
  meetingByUri(app: AppState, uri: string): Conversation {
    const cid = this.meetingsByUri.get(uri.toLowerCase());
    const conv = cid ? this.conversations.get(cid) : undefined;
    if (!conv || conv.app !== app || conv.deleted || !conv.meeting || conv.meeting.ended) {
      throw badParameter(
        'onlineMeetingUri',
        `no active ad hoc meeting of this application has the URI '${uri}'`,
      );
    }
    return conv;
  }

  /** The meeting conversation a P2P leg is bridged to, while both are alive. */
  liveMeetingOf(conv: Conversation): Conversation | undefined {
    if (!conv.bridge) return undefined;
    const meetingConv = this.conversations.get(conv.bridge.meetingConversationId);
    if (!meetingConv || meetingConv.deleted || !meetingConv.meeting || meetingConv.meeting.ended)
      return undefined;
    return meetingConv;
  }

  // ------------------------------------------------------------------ idempotency

  remember(key: string): StoredResponse | undefined {
    return this.idempotency.get(key);
  }

  store(key: string, response: StoredResponse): void {
    this.idempotency.set(key, response);
    // Bounded: the oldest answers are forgotten first (Map keeps insertion order).
    if (this.idempotency.size > 10_000)
      this.idempotency.delete(this.idempotency.keys().next().value as string);
  }

  // ------------------------------------------------------------------ records

  newConversation(
    id: string,
    kind: 'p2p' | 'conference',
    app: AppState,
    props: { state: string; subject?: string; threadId: string; importance: string },
  ): Conversation {
    const conv: Conversation = {
      id,
      kind,
      app,
      ...props,
      messaging: 'Disconnected',
      messages: [],
      nextMessage: 1,
      deleted: false,
      typing: new Map(),
      routing: {},
      awaitingContext: false,
      ack: 0,
      created: Date.now(),
    };
    this.conversations.set(id, conv);
    return conv;
  }

  newOutgoing(
    app: AppState,
    kind: OutgoingInvitation['kind'],
    conversationId: string,
    operationId?: string,
    subject?: string,
    to?: string,
  ): OutgoingInvitation {
    const inv: OutgoingInvitation = {
      id: randomUUID(),
      kind,
      conversationId,
      app,
      operationId,
      subject,
      to,
      state: 'Connecting',
      cancelRing: () => {},
    };
    this.outgoing.set(inv.id, inv);
    return inv;
  }

  markDeleted(conv: Conversation): void {
    conv.deleted = true;
    // Keep the tombstone briefly out of the way: lookups treat deleted conversations as not found.
    for (const [id, inv] of this.outgoing)
      if (inv.conversationId === conv.id && inv.state !== 'Connecting') this.outgoing.delete(id);
    if (conv.incoming) this.incomingById.delete(conv.incoming.id.toLowerCase());
    this.deps.scheduler.after(60_000, () => {
      if (conv.deleted) this.conversations.delete(conv.id);
    });
  }

  /** Where this conversation's callbacks go: its own callbackUrl, or a callbackContext on the app's URL. */
  applyRouting(conv: Conversation, input: { callbackUrl?: string; callbackContext?: string }): void {
    if (input.callbackUrl) conv.routing = { url: input.callbackUrl };
    else if (input.callbackContext) conv.routing = { context: input.callbackContext };
  }

  close(): void {
    for (const anon of this.anonApps.values()) anon.channel.close();
  }
}

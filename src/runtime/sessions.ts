/**
 * The actor registry: one live chat-session actor per chat, callbacks routed to their owner, deadlines
 * turned into timer events, and what the session emits kept as its transcript.
 *
 * Routing order for each callback event: our operationId (it names the session) → the conversation the
 * event belongs to (P2P leg or conference) → the callbackContext of the URL it was delivered to. A
 * customer's invitation that no session owns starts a new one; anything else that no session owns is
 * logged and acknowledged without touching any state.
 */
import type pino from 'pino';
import { createActor, type SnapshotFrom } from 'xstate';
import {
  CHAT_SESSION_MACHINE_VERSION,
  type ChatSessionEmitted,
  type ChatSettings,
  chatSessionMachine,
  sessionIdOfOperation,
} from '../../machines/chatSession/index.ts';
import type { CallbackEvent, InvitationReceived } from '../../machines/events.ts';
import { enteredStates, localStateId } from '../../machines/stateIds.ts';
import type { NormalisedEvent } from '../callbacks/toEvents.ts';
import type { JsonObject, Lease, SessionQuery } from '../store/index.ts';
import { hrefKey } from '../wire/href.ts';
import { type ChatEventData, type ChatEvents, type ChatEventType, customerOf } from './chatEvents.ts';
import type { Clock } from './clock.ts';
import { syncTimers, watchChildren } from './deadlines.ts';
import type { ProvidedChatSession } from './effects.ts';
import { drainInbox, forStoredChat, forwardToOwner, lateMessage, sessionIdOfInvitation } from './inbox.ts';
import { cloneLeft, leftMessageAtEnd, withLateLine } from './leftMessages.ts';
import type { SessionPersistence } from './persistence.ts';
import { holdingsOf, type PlatformHoldings } from './reconcile.ts';
import type { LeftMessage, TranscriptEntry } from './records.ts';
import { type Router, routingStateOf } from './router.ts';
import {
  type FinishedEffect,
  newRecord,
  recordView,
  restoredRecord,
  type SessionActor,
  type SessionRecord,
  type StartedEffect,
  sessionChanges,
  settled,
} from './sessionRecord.ts';
import {
  memoryPage,
  readSummary,
  type SessionListing,
  storedLeftMessages,
  storedPage,
  storedTranscript,
  storedView,
} from './storedSessions.ts';
import { transcribe } from './transcribe.ts';
import { type SessionView, stateId } from './view.ts';

type SessionSnapshot = SnapshotFrom<ProvidedChatSession>;

export type { LeftMessage, TranscriptEntry } from './records.ts';
export type { SessionListing, SessionRow } from './storedSessions.ts';
export { type SessionView, stateId } from './view.ts';

/** How long an ended session stays in memory for late callbacks (a message that crossed the leave). */
export const DEFAULT_ENDED_GRACE_MS = 30_000;

export interface SessionManagerOptions {
  logic: ProvidedChatSession;
  clock: Clock;
  logger: pino.Logger;
  settings: ChatSettings;
  router: Router;
  /** The routing topic of a new chat (skills), from its invitation. */
  topicOf?: (invitation: InvitationReceived) => string | undefined;
  /** Business hours: false → the chat is declined without a meeting. */
  isOpen?: () => boolean;
  /** Called after every state change (dashboards, SSE). */
  onChange?: (view: SessionView) => void;
  /** Where chat.started / chat.assigned / chat.ended / left_message.created go (library events, webhooks). */
  events?: ChatEvents;
  /**
   * Where sessions are written ahead of their effects. Without it sessions live in memory only (a restart
   * loses them) and ended ones stay in memory.
   */
  persistence?: SessionPersistence;
  /** With persistence: how long an ended session stays in memory; default {@link DEFAULT_ENDED_GRACE_MS}. */
  endedGraceMs?: number;
}

export class SessionManager {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly byConversation = new Map<string, string>();
  private readonly byInvitation = new Map<string, string>();
  /** Left messages, when there is no store to keep them in. */
  private readonly left: LeftMessage[] = [];
  private readonly listeners = new Set<(event: CallbackEvent, sessionId: string | undefined) => void>();

  constructor(private readonly opts: SessionManagerOptions) {}

  /** From now on sessions are written ahead of their effects (call before any session exists). */
  attach(persistence: SessionPersistence, options: { webhooks?: boolean } = {}): void {
    this.opts.persistence = persistence;
    this.webhooks = options.webhooks ?? false;
  }

  /** Whether chat events also go to the webhook outbox, in the write of the step that caused them. */
  private webhooks = false;

  /** A chat event for the library's subscribers and, with webhooks, for the outbox (with the session's write). */
  private announce<K extends ChatEventType>(record: SessionRecord, type: K, data: ChatEventData[K]): void {
    this.opts.events?.emit(type, data);
    if (this.webhooks && this.opts.persistence) {
      record.unsaved.events.push({ type, data, at: this.opts.clock.now() });
      this.persist(record);
    }
  }

  /**
   * Route the events of one callback; resolves (with the callbackContext to echo for a new chat) once
   * every session it touched is written, so the platform's callback is acknowledged only when nothing of
   * it can be lost. Rejects with a PersistenceError when a session could not be written.
   */
  async dispatch(
    events: NormalisedEvent[],
    ctx: { callbackContext?: string; correlationId?: string },
  ): Promise<{ callbackContext?: string } | undefined> {
    let reply: { callbackContext?: string } | undefined;
    const touched = new Set<SessionRecord>();
    for (const { event, wire } of events) {
      const base = {
        callbackContext: ctx.callbackContext,
        correlationId: ctx.correlationId,
        wireType: wire.type,
        rel: wire.rel,
      };
      if (!event) {
        this.opts.logger.debug(
          { ...base, operationId: wire.operationId },
          'callback event with no meaning for chats ignored',
        );
        continue;
      }
      let session = this.route(event, ctx.callbackContext);
      if (!session && event.type === 'callback.invitationReceived') {
        // A chat stored already for this invitation (its taker died before answering) is not started twice.
        const id = sessionIdOfInvitation(event);
        const persistence = this.opts.persistence;
        if (
          persistence &&
          (await forwardToOwner(persistence, this.opts.logger, event, wire, { callbackContext: id }))
        ) {
          reply = { callbackContext: id };
          continue;
        }
        session = this.route(event, ctx.callbackContext) ?? this.create(event, id);
      }
      for (const listener of this.listeners) listener(event, session?.id);
      const persistence = this.opts.persistence;
      if (!session && persistence && (await forStoredChat(persistence, this.opts, event, wire, ctx)))
        continue;
      if (!session) {
        this.opts.logger.info(
          { ...base, operationId: event.operationId ?? null, event: event.type },
          'callback for no known session acknowledged and ignored',
        );
        continue;
      }
      touched.add(session);
      if (event.type === 'callback.invitationReceived') reply = { callbackContext: session.id };
      // A resumed session hears how its re-issued side effects went before the callbacks that followed them.
      if (session.settling) await session.settling;
      // Several instances: what another one recorded for this chat came first (the platform sent this
      // callback only after that one was answered), so it is applied first.
      if (this.opts.persistence?.store.engine === 'postgres') await this.drainInbox(session.id);
      const snapshot = session.actor.getSnapshot();
      if (snapshot.status !== 'active') {
        if (event.type === 'callback.messageCompleted' && event.direction === 'Incoming')
          this.recordLate(session, event);
        session.log.info(
          { ...base, operationId: event.operationId ?? null, event: event.type },
          'late callback for a finished session ignored',
        );
        continue;
      }
      session.log.debug(
        { ...base, operationId: event.operationId ?? null, event: event.type },
        'callback event dispatched',
      );
      this.apply(session, event);
    }
    const persistence = this.opts.persistence;
    if (persistence) {
      for (const record of touched) this.persist(record);
      await Promise.all([...touched].map((record) => persistence.flushed(record.id)));
    }
    return reply;
  }

  /** One callback event to its session's actor. */
  private apply(session: SessionRecord, event: CallbackEvent): void {
    // A message the platform did not time-stamp is stamped when it reached the SA (relays show the time).
    session.actor.send(
      event.type === 'callback.messageCompleted' && !event.timestamp
        ? { ...event, timestamp: new Date(this.opts.clock.now()).toISOString() }
        : event,
    );
  }

  /** Applies what other instances recorded for a held session (see ./inbox.ts). */
  drainInbox(sessionId: string): Promise<void> {
    const record = this.sessions.get(sessionId);
    const persistence = this.opts.persistence;
    if (!record || !persistence) return Promise.resolve();
    return drainInbox(
      {
        persistence,
        holds: (held) => this.sessions.get(held.id) === held,
        apply: (held, event) => this.apply(held, event),
        persist: (held) => this.persist(held),
      },
      record,
    );
  }

  /**
   * Takes over the chats whose owner stopped renewing its lease (an instance that died) or released it
   * (one that stopped), and resumes them here. Returns the ids taken over.
   */
  async takeOverExpired(): Promise<string[]> {
    const persistence = this.opts.persistence;
    if (!persistence) return [];
    const taken: string[] = [];
    for (;;) {
      const leases = await persistence.store.leases.takeOver(persistence.owner, { limit: 100 });
      if (leases.length === 0) break;
      for (const lease of leases) {
        if (this.sessions.has(lease.sessionId)) continue;
        if (await this.restore(lease)) taken.push(lease.sessionId);
      }
    }
    return taken;
  }

  /** Observe every routed callback event and the session it went to (metrics, audits, tests). */
  onCallbackEvent(listener: (event: CallbackEvent, sessionId: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A session held in memory: every live one, and ended ones for a while (see `endedGraceMs`). */
  get(id: string): SessionView | undefined {
    const record = this.sessions.get(id);
    return record ? recordView(record) : undefined;
  }

  /** The sessions held in memory (live ones, and lately ended ones). */
  list(): SessionView[] {
    return [...this.sessions.values()].map((record) => recordView(record));
  }

  /** How many sessions are live in memory. */
  activeCount(): number {
    let count = 0;
    for (const record of this.sessions.values()) if (record.actor.getSnapshot().status === 'active') count++;
    return count;
  }

  transcript(id: string): TranscriptEntry[] | undefined {
    return this.sessions.get(id)?.transcript.slice();
  }

  snapshot(id: string): SessionSnapshot | undefined {
    return this.sessions.get(id)?.actor.getSnapshot();
  }

  /** A session from memory or, once it has left memory, from the store. */
  async find(id: string): Promise<SessionView | undefined> {
    const live = this.get(id);
    if (live || !this.opts.persistence) return live;
    return storedView(this.opts.persistence.store, id);
  }

  /** A session's transcript from memory or the store; undefined for an unknown session. */
  async findTranscript(id: string): Promise<TranscriptEntry[] | undefined> {
    const live = this.transcript(id);
    if (live || !this.opts.persistence) return live;
    return storedTranscript(this.opts.persistence.store, id);
  }

  /**
   * Sessions newest first, filtered and paged (the store's listing; without a store, the ones in memory).
   * Throws StoreInputError for a bad limit or cursor.
   */
  page(query: SessionQuery = {}): Promise<SessionListing> {
    return this.opts.persistence
      ? storedPage(this.opts.persistence.store, query)
      : Promise.resolve(memoryPage(this.list(), query));
  }

  /** Send an operator action (transfer, second agent, monitor, barge) to a live chat. */
  operate(id: string, event: Parameters<SessionActor['send']>[0]): 'sent' | 'unknown' | 'ended' | 'not now' {
    const record = this.sessions.get(id);
    if (!record) return 'unknown';
    const snapshot = record.actor.getSnapshot();
    if (snapshot.status !== 'active') return 'ended';
    if (!snapshot.can(event)) return 'not now';
    record.actor.send(event);
    return 'sent';
  }

  /** Close a chat from the SA side (operator action). */
  close(id: string, reason?: string): boolean {
    const record = this.sessions.get(id);
    if (record?.actor.getSnapshot().status !== 'active') return false;
    record!.actor.send({ type: 'chat.close', ...(reason ? { reason } : {}) });
    return true;
  }

  /** Everything in memory is written (resolves when it is, or could not be). */
  async flush(): Promise<void> {
    await this.opts.persistence?.flushAll();
  }

  /** Stops every session's actor and timers (they stay stored, to be resumed). */
  stop(): void {
    for (const record of this.sessions.values()) {
      for (const timer of record.timers.values()) timer.cancel();
      record.actor.stop();
    }
  }

  // ── side effects, write-ahead ──────────────────────────────────────────────────────────────────────

  /**
   * A side effect is about to run: recorded, and the session's state written, before it does. Resolves
   * when the effect may go ahead; rejects (the effect fails, and may be retried) when the write failed.
   */
  async beforeEffect(sessionId: string, effect: StartedEffect | undefined): Promise<void> {
    const record = this.sessions.get(sessionId);
    const persistence = this.opts.persistence;
    if (!record || !persistence) return;
    if (effect) record.unsaved.started.push(effect);
    this.persist(record);
    await persistence.flushed(sessionId);
  }

  /** A side effect ended: written with the step taking its result, or alone at the end of this event-loop turn. */
  afterEffect(sessionId: string, operationId: string, end: FinishedEffect['end']): void {
    const record = this.sessions.get(sessionId);
    if (!record || !this.opts.persistence) return;
    const finished = { operationId, end };
    record.unsaved.finished.push(finished);
    setImmediate(() => {
      if (this.sessions.get(sessionId) === record && record.unsaved.finished.includes(finished))
        this.persist(record);
    });
  }

  // ── resuming ───────────────────────────────────────────────────────────────────────────────────────

  /**
   * Resumes every session this instance holds or may take over (its own leases, and expired or released
   * ones): restored from its snapshot, deadlines armed again (one already past fires at once), side effects
   * that were in flight issued again with the same operationId, routing told who holds or awaits an agent.
   * Returns the ids resumed.
   */
  async resume(): Promise<string[]> {
    const persistence = this.opts.persistence;
    if (!persistence) return [];
    const resumed: string[] = [];
    for (const lease of await persistence.store.leases.renew(persistence.owner)) {
      if (this.sessions.has(lease.sessionId)) continue;
      if (await this.restore(lease)) resumed.push(lease.sessionId);
    }
    return [...resumed, ...(await this.takeOverExpired())];
  }

  private async restore(lease: Lease): Promise<boolean> {
    const persistence = this.opts.persistence!;
    const { store } = persistence;
    const id = lease.sessionId;
    const log = this.opts.logger.child({ sessionId: id });
    const stored = await store.sessions.load(id);
    if (stored?.status !== 'active') {
      await store.leases.release(lease);
      return false;
    }
    if (
      stored.machineId !== chatSessionMachine.id ||
      stored.machineVersion !== CHAT_SESSION_MACHINE_VERSION
    ) {
      log.error(
        { machine: stored.machineId, version: stored.machineVersion, expected: CHAT_SESSION_MACHINE_VERSION },
        'session stored by another version of the chat machine: not resumed',
      );
      await store.leases.release(lease);
      return false;
    }
    const lines = await store.transcripts.read(id);
    const actor = createActor(this.opts.logic, {
      id,
      snapshot: stored.snapshot,
    } as Parameters<typeof createActor<ProvidedChatSession>>[1]);
    const { context, value } = actor.getSnapshot();
    const record = restoredRecord(
      newRecord(id, actor, log, stored.createdAt, hrefKey(context.invitation.href)),
      {
        lines,
        summary: readSummary(stored.summary),
      },
    );
    persistence.adopt(lease);
    this.sessions.set(id, record);
    this.byInvitation.set(record.invitationKey, id);
    this.index(record, context.p2p.conversationHref);
    this.index(record, context.conference.conversationHref);
    this.wire(record);
    actor.start();
    this.observe(record, actor.getSnapshot());
    record.settling = settled(actor).then(() => {
      record.settling = undefined;
    });
    this.opts.router.restore(id, routingStateOf(context, value));
    log.info({ state: stateId(value), generation: lease.generation }, 'chat resumed');
    return true;
  }

  // ── one session ────────────────────────────────────────────────────────────────────────────────────

  private route(event: CallbackEvent, callbackContext: string | undefined): SessionRecord | undefined {
    if (event.operationId) {
      const owner = sessionIdOfOperation(event.operationId);
      const record = owner ? this.sessions.get(owner) : undefined;
      if (record) return record;
    }
    if (event.type === 'callback.invitationReceived') {
      const existing = this.byInvitation.get(hrefKey(event.invitationHref));
      if (existing) return this.sessions.get(existing);
    }
    if (event.conversationHref) {
      const owner = this.byConversation.get(hrefKey(event.conversationHref));
      const record = owner ? this.sessions.get(owner) : undefined;
      if (record) return record;
    }
    if (callbackContext) return this.sessions.get(callbackContext);
    return undefined;
  }

  private create(invitation: InvitationReceived, id: string): SessionRecord {
    const log = this.opts.logger.child({ sessionId: id });
    const actor = createActor(this.opts.logic, {
      id,
      input: {
        sessionId: id,
        invitation,
        settings: this.opts.settings,
        open: this.opts.isOpen?.() ?? true,
        ...(this.opts.topicOf?.(invitation) ? { topic: this.opts.topicOf(invitation) } : {}),
      },
    });
    const record = newRecord(id, actor, log, this.opts.clock.now(), hrefKey(invitation.invitationHref));
    // Written with the session's first step: a survey token names this thread, on any instance, any time.
    // (The widget's is a UUID; anything much longer is not one of ours and is not kept.)
    const thread = invitation.threadId;
    if (thread && thread.length <= 256 && this.opts.persistence) record.unsaved.thread = thread;
    this.sessions.set(id, record);
    this.byInvitation.set(record.invitationKey, id);
    this.index(record, invitation.conversationHref);
    log.info(
      { operationId: invitation.operationId ?? null, customer: invitation.from.name ?? null },
      'new chat',
    );
    this.wire(record);
    this.announce(record, 'chat.started', {
      sessionId: id,
      customer: customerOf(invitation.from, invitation),
    });
    actor.start();
    return record;
  }

  /** What a session emits goes to its transcript and to routing; its snapshots to `observe`. */
  private wire(record: SessionRecord): void {
    record.actor.on('*', (emitted) => this.record(record, emitted as ChatSessionEmitted));
    this.opts.router.follow(record.actor, record.log);
    record.actor.subscribe({
      next: (snapshot) => this.observe(record, snapshot),
      error: (error) => record.log.error({ error: String(error) }, 'session actor failed'),
    });
  }

  private index(record: SessionRecord, href: string | undefined): void {
    if (!href) return;
    const key = hrefKey(href);
    if (record.indexed.has(key)) return;
    record.indexed.add(key);
    this.byConversation.set(key, record.id);
  }

  private observe(record: SessionRecord, snapshot: SessionSnapshot): void {
    const now = this.opts.clock.now();
    record.updatedAt = now;
    const { context } = snapshot;
    this.index(record, context.p2p.conversationHref);
    this.index(record, context.conference.conversationHref);
    // The atomic states this change entered (several when a parallel state is entered), in order.
    const entered = enteredStates(chatSessionMachine, record.lastValue, snapshot.value).map((id) =>
      localStateId(chatSessionMachine, id),
    );
    record.lastValue = snapshot.value;
    for (const state of entered) record.history.push({ state, at: now });
    if (entered.length) {
      record.log.info(
        { state: stateId(snapshot.value), operationId: context.operations.at(-1) ?? null },
        'state',
      );
    }
    syncTimers(
      record,
      this.opts.clock,
      'session',
      record.actor,
      snapshot.status === 'active' ? snapshot.context.deadlines : {},
    );
    watchChildren(record, snapshot, this.opts.clock);
    this.announceAgents(record, context);
    if (snapshot.status === 'done' && record.endedAt === undefined) this.ended(record, snapshot, now);
    this.persist(record);
    this.opts.onChange?.(recordView(record));
  }

  private ended(record: SessionRecord, snapshot: SessionSnapshot, now: number): void {
    const { context } = snapshot;
    record.endedAt = now;
    // Deferred: routing may hand the freed agent to another session, whose actor must not be entered
    // from inside this one's transition.
    queueMicrotask(() => this.opts.router.sessionEnded(record.id));
    this.keepLeftMessage(record, snapshot);
    record.log.info({ outcome: context.outcome ?? null, error: context.error ?? null }, 'chat ended');
    this.announce(record, 'chat.ended', {
      sessionId: record.id,
      outcome: context.outcome ?? null,
      startedAt: new Date(record.createdAt).toISOString(),
      endedAt: new Date(now).toISOString(),
      customer: { ...context.customer },
      agents: [...record.announced.values()],
      transcript: record.transcript.slice(),
    });
    // Written, the session leaves memory after a grace period (late callbacks still find it until then).
    const persistence = this.opts.persistence;
    if (persistence) {
      this.opts.clock.at(now + (this.opts.endedGraceMs ?? DEFAULT_ENDED_GRACE_MS), () => this.evict(record));
    }
  }

  /** The ended session leaves memory (written already; from now on it is read from the store). */
  private evict(record: SessionRecord): void {
    if (this.remove(record)) void this.opts.persistence?.forget(record.id);
  }

  /**
   * What a live session holds on the platform, to check against it after a restart (see ./reconcile.ts):
   * the customer's conversation, the meeting, and the agents in it. Waits for a resumed session to settle.
   */
  async holdings(sessionId: string): Promise<PlatformHoldings | undefined> {
    const record = this.sessions.get(sessionId);
    if (!record) return undefined;
    if (record.settling) await record.settling;
    const snapshot = record.actor.getSnapshot();
    return snapshot.status === 'active' ? holdingsOf(snapshot.context) : undefined;
  }

  /**
   * Events the SA missed while it was down (reconciliation), applied as the callbacks they would have been;
   * resolves once the session is written.
   */
  async applyMissed(sessionId: string, events: CallbackEvent[]): Promise<void> {
    const record = this.sessions.get(sessionId);
    if (!record) return;
    for (const event of events) {
      if (record.actor.getSnapshot().status !== 'active') break;
      record.log.info({ event: event.type }, 'missed while the SA was down: applied');
      this.apply(record, event);
    }
    this.persist(record);
    await this.opts.persistence?.flushed(sessionId);
  }

  /** The session was taken over by another instance: drop this copy without touching the platform. */
  dropTakenOver(sessionId: string): void {
    const record = this.sessions.get(sessionId);
    if (record && this.remove(record)) this.opts.router.sessionMoved(sessionId);
  }

  private remove(record: SessionRecord): boolean {
    if (this.sessions.get(record.id) !== record) return false;
    for (const timer of record.timers.values()) timer.cancel();
    this.sessions.delete(record.id);
    for (const key of record.indexed)
      if (this.byConversation.get(key) === record.id) this.byConversation.delete(key);
    if (this.byInvitation.get(record.invitationKey) === record.id)
      this.byInvitation.delete(record.invitationKey);
    record.actor.stop();
    return true;
  }

  /** Schedule the session's next write (no-op without a store). */
  private persist(record: SessionRecord): void {
    this.opts.persistence?.schedule(record.id, () => sessionChanges(record));
  }

  /** chat.assigned once for each agent who joined (first, second, transferred-to), in the order they joined. */
  private announceAgents(record: SessionRecord, context: SessionSnapshot['context']): void {
    for (const agent of context.joinedAgents) {
      if (record.announced.has(agent.uri)) continue;
      const member = { uri: agent.uri, name: agent.name };
      record.announced.set(agent.uri, member);
      this.announce(record, 'chat.assigned', {
        sessionId: record.id,
        agent: member,
        customer: { ...context.customer },
      });
    }
  }

  /** Left messages of customers no agent served (queue timeout, no agent, failure, left while waiting). */
  leftMessages(): LeftMessage[] {
    if (this.opts.persistence)
      return [...this.sessions.values()].flatMap((record) => (record.left ? [cloneLeft(record.left)] : []));
    return this.left.map(cloneLeft);
  }

  /** Left messages newest first, from the store when there is one (paged), else from memory. */
  findLeftMessages(query: { since?: number; limit?: number; cursor?: string } = {}): Promise<{
    leftMessages: LeftMessage[];
    nextCursor: string | null;
  }> {
    if (!this.opts.persistence)
      return Promise.resolve({ leftMessages: this.leftMessages(), nextCursor: null });
    return storedLeftMessages(this.opts.persistence.store, query);
  }

  /**
   * A customer message can be reported after the chat ended (the meeting's callbacks and the customer's
   * leave travel separately): keep it in the transcript, and in the left message of an unserved chat.
   */
  private recordLate(
    record: SessionRecord,
    event: Extract<CallbackEvent, { type: 'callback.messageCompleted' }>,
  ): void {
    const { context } = record.actor.getSnapshot();
    const before = record.transcript.length;
    this.record(record, lateMessage(event));
    const entry = record.transcript[before];
    if (!entry || record.transcript.length === before) return;
    record.log.info({ operationId: event.operationId ?? null }, 'late message kept');
    const late = withLateLine(record.left, record.id, context, entry);
    if (late?.created) this.keep(record, late.left);
    else if (late) record.unsaved.left = true;
  }

  private keepLeftMessage(record: SessionRecord, snapshot: SessionSnapshot): void {
    const { context } = snapshot;
    const at = new Date(this.opts.clock.now()).toISOString();
    const left = leftMessageAtEnd(record.id, context, record.transcript, at);
    if (!left) return;
    this.keep(record, left);
    record.log.info({ outcome: left.outcome, messages: left.messages.length }, 'left message kept');
  }

  private keep(record: SessionRecord, left: LeftMessage): void {
    record.left = left;
    record.unsaved.left = true;
    if (!this.opts.persistence) this.left.push(left);
    this.announce(record, 'left_message.created', cloneLeft(left));
  }

  /** Deliver a routing answer to a session (ignored once it has ended). */
  deliver(sessionId: string, event: Parameters<SessionActor['send']>[0]): void {
    const record = this.sessions.get(sessionId);
    if (record?.actor.getSnapshot().status !== 'active') return;
    record!.actor.send(event);
  }

  private record(record: SessionRecord, emitted: ChatSessionEmitted): void {
    const now = this.opts.clock.now();
    const added = transcribe(record, emitted, new Date(now).toISOString());
    if (added && this.opts.persistence)
      record.unsaved.lines.push({ key: added.key, at: now, entry: added.entry as unknown as JsonObject });
  }
}

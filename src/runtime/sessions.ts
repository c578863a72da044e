/**
 * The actor registry: one live chat-session actor per chat, callbacks routed to their owner, deadlines
 * turned into timer events, and what the session emits kept as its transcript.
 *
 * Routing order for each callback event: our operationId (it names the session) → the conversation the
 * event belongs to (P2P leg or conference) → the callbackContext of the URL it was delivered to. A
 * customer's invitation that no session owns starts a new one; anything else that no session owns is
 * logged and acknowledged without touching any state.
 */
import { randomBytes } from 'node:crypto';
import type pino from 'pino';
import { type Actor, type AnyActorRef, createActor, type SnapshotFrom, type StateValue } from 'xstate';
import {
  type ChatSessionEmitted,
  type ChatSettings,
  chatSessionMachine,
  sessionIdOfOperation,
} from '../../machines/chatSession/index.ts';
import type { CallbackEvent, InvitationReceived } from '../../machines/events.ts';
import { enteredStates } from '../../machines/stateIds.ts';
import type { NormalisedEvent } from '../callbacks/toEvents.ts';
import { sanitizeHtml } from '../text/sanitize.ts';
import { hrefKey } from '../wire/href.ts';
import type { ChatCustomer, ChatEvents } from './chatEvents.ts';
import type { Clock } from './clock.ts';
import type { ProvidedChatSession } from './effects.ts';
import type { LeftMessage, TranscriptEntry } from './records.ts';
import type { Router } from './router.ts';

type SessionActor = Actor<ProvidedChatSession>;
type SessionSnapshot = SnapshotFrom<ProvidedChatSession>;

export type { LeftMessage, TranscriptEntry } from './records.ts';

const UNSERVED: ReadonlySet<string> = new Set(['queueTimeout', 'noAgent', 'failed', 'abandoned']);

export interface SessionView {
  id: string;
  /** The top-level state (invited, adhocMeeting, …, terminated). */
  state: string;
  /** The full state value, e.g. `{ "conferenced": "awaitingBridge" }`. */
  stateValue: StateValue;
  status: 'active' | 'done' | 'error';
  outcome: string | null;
  createdAt: string;
  updatedAt: string;
  customer: { name?: string; uri?: string; subject?: string };
  agents: Array<{ uri: string; name: string; joined: boolean }>;
  participants: Array<{ uri?: string; name?: string; leg: 'p2p' | 'conference'; present: boolean }>;
  /** Every state (leaf path) the session went through, with when. */
  history: Array<{ state: string; at: string }>;
  operations: string[];
  /** Why each agent was chosen (candidates, scores, winner), in order. */
  assignments: unknown[];
  /** The agent being offered the chat right now, if any. */
  offering: { uri: string; name: string } | null;
  /** Position in the queue while queued. */
  queuePosition: number | null;
  deadlines: Record<string, string>;
  conversations: { p2p?: string; conference?: string };
  error: { step: string; code: string; message: string } | null;
}

interface SessionRecord {
  id: string;
  actor: SessionActor;
  createdAt: number;
  updatedAt: number;
  history: Array<{ state: string; at: number }>;
  transcript: TranscriptEntry[];
  participants: Map<string, { uri?: string; name?: string; leg: 'p2p' | 'conference'; present: boolean }>;
  /** Scheduled deadlines, keyed `<actor>/<timer>`: the session's own and its child actors'. */
  timers: Map<string, { at: number; cancel: () => void }>;
  children: Set<AnyActorRef>;
  lastValue?: StateValue;
  /** Message hrefs already in the transcript (duplicated callbacks). */
  seenMessages: Set<string>;
  /** Deadlines that already fired (`<actor>/<timer>@<at>`). */
  fired: Set<string>;
  indexed: Set<string>;
  /** Agents already reported by chat.assigned, by URI. */
  announced: Map<string, { uri: string; name: string }>;
  log: pino.Logger;
}

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
}

export function newSessionId(): string {
  return `c${randomBytes(8).toString('hex')}`;
}

/** `{ conferenced: 'awaitingBridge' }` → `conferenced.awaitingBridge`. */
export function stateId(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) =>
      child && (typeof child === 'string' || Object.keys(child).length)
        ? `${key}.${stateId(child as StateValue)}`
        : key,
    )
    .join(',');
}

export class SessionManager {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly byConversation = new Map<string, string>();
  private readonly byInvitation = new Map<string, string>();
  private readonly left: LeftMessage[] = [];
  private readonly listeners = new Set<(event: CallbackEvent, sessionId: string | undefined) => void>();

  constructor(private readonly opts: SessionManagerOptions) {}

  /** Route the events of one callback; returns the callbackContext to echo for a new chat. */
  dispatch(
    events: NormalisedEvent[],
    ctx: { callbackContext?: string; correlationId?: string },
  ): { callbackContext?: string } | undefined {
    let reply: { callbackContext?: string } | undefined;
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
        session = this.create(event);
      }
      for (const listener of this.listeners) listener(event, session?.id);
      if (!session) {
        this.opts.logger.info(
          { ...base, operationId: event.operationId ?? null, event: event.type },
          'callback for no known session acknowledged and ignored',
        );
        continue;
      }
      if (event.type === 'callback.invitationReceived') reply = { callbackContext: session.id };
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
      // A message the platform did not time-stamp is stamped when it reached the SA (relays show the time).
      session.actor.send(
        event.type === 'callback.messageCompleted' && !event.timestamp
          ? { ...event, timestamp: new Date(this.opts.clock.now()).toISOString() }
          : event,
      );
    }
    return reply;
  }

  /** Observe every routed callback event and the session it went to (metrics, audits, tests). */
  onCallbackEvent(listener: (event: CallbackEvent, sessionId: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(id: string): SessionView | undefined {
    const record = this.sessions.get(id);
    return record ? this.view(record) : undefined;
  }

  list(): SessionView[] {
    return [...this.sessions.values()].map((record) => this.view(record));
  }

  transcript(id: string): TranscriptEntry[] | undefined {
    return this.sessions.get(id)?.transcript.slice();
  }

  snapshot(id: string): SessionSnapshot | undefined {
    return this.sessions.get(id)?.actor.getSnapshot();
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

  stop(): void {
    for (const record of this.sessions.values()) {
      for (const timer of record.timers.values()) timer.cancel();
      record.actor.stop();
    }
  }

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

  private create(invitation: InvitationReceived): SessionRecord {
    const id = newSessionId();
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
    const now = this.opts.clock.now();
    const record: SessionRecord = {
      id,
      actor,
      createdAt: now,
      updatedAt: now,
      history: [],
      transcript: [],
      participants: new Map(),
      timers: new Map(),
      children: new Set(),
      seenMessages: new Set(),
      fired: new Set(),
      indexed: new Set(),
      announced: new Map(),
      log,
    };
    this.sessions.set(id, record);
    this.byInvitation.set(hrefKey(invitation.invitationHref), id);
    this.index(record, invitation.conversationHref);
    log.info(
      { operationId: invitation.operationId ?? null, customer: invitation.from.name ?? null },
      'new chat',
    );
    actor.on('*', (emitted) => this.record(record, emitted as ChatSessionEmitted));
    this.connectRouting(record);
    this.opts.events?.emit('chat.started', {
      sessionId: id,
      customer: customerOf(invitation.from, invitation),
    });
    actor.subscribe({
      next: (snapshot) => this.observe(record, snapshot),
      error: (error) => log.error({ error: String(error) }, 'session actor failed'),
    });
    actor.start();
    return record;
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
      id.slice(chatSessionMachine.id.length + 1),
    );
    record.lastValue = snapshot.value;
    for (const state of entered) record.history.push({ state, at: now });
    if (entered.length) {
      record.log.info(
        { state: stateId(snapshot.value), operationId: context.operations.at(-1) ?? null },
        'state',
      );
    }
    this.syncTimers(
      record,
      'session',
      record.actor,
      snapshot.status === 'active' ? snapshot.context.deadlines : {},
    );
    this.watchChildren(record, snapshot);
    this.announceAgents(record, context);
    if (snapshot.status === 'done') {
      // Deferred: routing may hand the freed agent to another session, whose actor must not be entered
      // from inside this one's transition.
      queueMicrotask(() => this.opts.router.sessionEnded(record.id));
      this.keepLeftMessage(record, snapshot);
      record.log.info({ outcome: context.outcome ?? null, error: context.error ?? null }, 'chat ended');
      this.opts.events?.emit('chat.ended', {
        sessionId: record.id,
        outcome: context.outcome ?? null,
        startedAt: new Date(record.createdAt).toISOString(),
        endedAt: new Date(now).toISOString(),
        customer: { ...context.customer },
        agents: [...record.announced.values()],
        transcript: record.transcript.slice(),
      });
    }
    this.opts.onChange?.(this.view(record));
  }

  /** chat.assigned once for each agent who joined (first, second, transferred-to), in the order they joined. */
  private announceAgents(record: SessionRecord, context: SessionSnapshot['context']): void {
    for (const agent of context.joinedAgents) {
      if (record.announced.has(agent.uri)) continue;
      const member = { uri: agent.uri, name: agent.name };
      record.announced.set(agent.uri, member);
      this.opts.events?.emit('chat.assigned', {
        sessionId: record.id,
        agent: member,
        customer: { ...context.customer },
      });
    }
  }

  /** Left messages of customers no agent served (queue timeout, no agent, failure, left while waiting). */
  leftMessages(): LeftMessage[] {
    return this.left.slice();
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
    this.record(record, {
      type: 'chat.message',
      direction: event.direction,
      leg: 'conference',
      messageHref: event.messageHref,
      ...(event.text !== undefined ? { text: event.text } : {}),
      ...(event.html !== undefined ? { html: event.html } : {}),
      ...(event.sender?.name ? { from: event.sender.name } : {}),
    });
    const entry = record.transcript[before];
    if (!entry || record.transcript.length === before) return;
    record.log.info({ operationId: event.operationId ?? null }, 'late message kept');
    const fromCustomer = !context.customer.name || entry.from === context.customer.name;
    if (!fromCustomer) return;
    const left = this.left.find((l) => l.sessionId === record.id);
    const message = {
      at: entry.at,
      ...(entry.text !== undefined ? { text: entry.text } : {}),
      ...(entry.html !== undefined ? { html: entry.html } : {}),
    };
    if (left) left.messages.push(message);
    else if (context.outcome && UNSERVED.has(context.outcome) && context.joinedAgents.length === 0) {
      this.keep({
        sessionId: record.id,
        at: entry.at,
        outcome: context.outcome,
        customer: { ...context.customer },
        messages: [message],
      });
    }
  }

  private keepLeftMessage(record: SessionRecord, snapshot: SessionSnapshot): void {
    const { context } = snapshot;
    if (!context.outcome || !UNSERVED.has(context.outcome) || context.joinedAgents.length > 0) return;
    const customerName = context.customer.name;
    const messages = record.transcript
      .filter(
        (e) =>
          e.kind === 'message' && e.direction === 'Incoming' && (!customerName || e.from === customerName),
      )
      .map((e) => ({
        at: e.at,
        ...(e.text !== undefined ? { text: e.text } : {}),
        ...(e.html !== undefined ? { html: e.html } : {}),
      }));
    if (messages.length === 0 && context.outcome === 'abandoned') return;
    this.keep({
      sessionId: record.id,
      at: new Date(this.opts.clock.now()).toISOString(),
      outcome: context.outcome,
      customer: { ...context.customer },
      messages,
    });
    record.log.info({ outcome: context.outcome, messages: messages.length }, 'left message kept');
  }

  private keep(left: LeftMessage): void {
    this.left.push(left);
    this.opts.events?.emit('left_message.created', { ...left, messages: left.messages.slice() });
  }

  /** The session's routing requests go to the router; its answers come back as events, deferred. */
  private connectRouting(record: SessionRecord): void {
    const { actor } = record;
    const router = this.opts.router;
    actor.on('routing.request', (e) =>
      queueMicrotask(() =>
        router.request(e.sessionId, { exclude: e.exclude, ...(e.topic ? { topic: e.topic } : {}) }),
      ),
    );
    actor.on('routing.status', (e) => queueMicrotask(() => router.status(e.sessionId)));
    actor.on('routing.offerEnded', (e) => {
      record.log.info({ agent: e.agent.uri, result: e.result, reason: e.reason ?? null }, 'offer ended');
      queueMicrotask(() => router.offerEnded(e.sessionId, e.agent, e.result, e.reason));
    });
    actor.on('routing.agentLeft', (e) => {
      record.log.info({ agent: e.agent.uri }, 'agent left the chat');
      queueMicrotask(() => router.agentLeft(e.sessionId, e.agent));
    });
  }

  /** Deliver a routing answer to a session (ignored once it has ended). */
  deliver(sessionId: string, event: Parameters<SessionActor['send']>[0]): void {
    const record = this.sessions.get(sessionId);
    if (record?.actor.getSnapshot().status !== 'active') return;
    record!.actor.send(event);
  }

  /** Child actors (agent offers) keep deadlines of their own: follow them while they live. */
  private watchChildren(record: SessionRecord, snapshot: SessionSnapshot): void {
    for (const child of Object.values(snapshot.children) as AnyActorRef[]) {
      if (!child || record.children.has(child)) continue;
      const context = (child.getSnapshot() as { context?: { deadlines?: unknown } }).context;
      if (!context || typeof context.deadlines !== 'object') continue;
      record.children.add(child);
      const sync = (childSnapshot: { status: string; context?: { deadlines?: Record<string, number> } }) =>
        this.syncTimers(
          record,
          child.id,
          child,
          childSnapshot.status === 'active' ? (childSnapshot.context?.deadlines ?? {}) : {},
        );
      sync(child.getSnapshot());
      child.subscribe({
        next: sync,
        complete: () => {
          this.syncTimers(record, child.id, child, {});
          record.children.delete(child);
        },
        error: () => {
          this.syncTimers(record, child.id, child, {});
          record.children.delete(child);
        },
      });
    }
  }

  /** Deadlines live in a context; schedule each one once, drop the ones that went away. */
  private syncTimers(
    record: SessionRecord,
    owner: string,
    target: AnyActorRef,
    deadlines: Record<string, number | undefined>,
  ): void {
    const prefix = `${owner}/`;
    for (const [key, timer] of record.timers) {
      if (!key.startsWith(prefix)) continue;
      if (deadlines[key.slice(prefix.length)] !== timer.at) {
        timer.cancel();
        record.timers.delete(key);
      }
    }
    for (const [name, at] of Object.entries(deadlines)) {
      // A deadline fires once: one still in the context after firing is not armed again.
      if (at === undefined || record.timers.has(prefix + name) || record.fired.has(`${prefix}${name}@${at}`))
        continue;
      const cancel = this.opts.clock.at(at, () => {
        record.timers.delete(prefix + name);
        record.fired.add(`${prefix}${name}@${at}`);
        if (record.actor.getSnapshot().status !== 'active') return;
        record.log.debug({ timer: name, at, actor: owner }, 'deadline due');
        target.send({ type: name, at });
      });
      record.timers.set(prefix + name, { at, cancel });
    }
  }

  private record(record: SessionRecord, emitted: ChatSessionEmitted): void {
    const at = new Date(this.opts.clock.now()).toISOString();
    switch (emitted.type) {
      case 'chat.message': {
        // Duplicated callbacks must not duplicate the transcript; our own messages' delivery reports carry
        // no text (the text was recorded when it was sent).
        if (emitted.direction === 'Outgoing' && emitted.text === undefined && emitted.html === undefined)
          break;
        if (emitted.messageHref) {
          const key = hrefKey(emitted.messageHref);
          if (record.seenMessages.has(key)) break;
          record.seenMessages.add(key);
        }
        // HTML is stored only sanitised (allowlisted tags, escaped text) with a plain-text rendition;
        // plain text is kept as sent (it is text: whoever shows it escapes it).
        const safe = emitted.html !== undefined ? sanitizeHtml(emitted.html) : undefined;
        const text = emitted.text ?? safe?.text;
        record.transcript.push({
          at,
          kind: 'message',
          direction: emitted.direction,
          leg: emitted.leg,
          ...(emitted.from ? { from: emitted.from } : {}),
          ...(text !== undefined ? { text } : {}),
          ...(safe ? { html: safe.html } : {}),
          ...(emitted.relayed ? { relayed: true as const } : {}),
        });
        record.log.info(
          { leg: emitted.leg, direction: emitted.direction, relayed: emitted.relayed ?? false },
          'message',
        );
        record.log.debug({ text }, 'message body');
        break;
      }
      case 'chat.typing':
        record.transcript.push({
          at,
          kind: 'typing',
          leg: emitted.leg,
          isTyping: emitted.isTyping,
          ...(emitted.from ? { from: emitted.from } : {}),
        });
        break;
      case 'chat.participant': {
        const key = (emitted.uri ?? emitted.name ?? '?').toLowerCase();
        const known = record.participants.get(key);
        if (known && known.present === (emitted.change !== 'deleted') && emitted.change !== 'updated') break;
        record.participants.set(key, {
          ...(emitted.uri ? { uri: emitted.uri } : {}),
          ...(emitted.name ? { name: emitted.name } : {}),
          leg: emitted.leg,
          present: emitted.change !== 'deleted',
        });
        record.transcript.push({
          at,
          kind: 'participant',
          leg: emitted.leg,
          change: emitted.change,
          ...(emitted.name ? { from: emitted.name } : {}),
        });
        break;
      }
      case 'chat.ignored':
        record.log.debug({ event: emitted.eventType, why: emitted.why }, 'callback event ignored');
        break;
      case 'chat.relayFailed':
        record.log.warn(
          { lines: emitted.lines, error: emitted.error },
          'messages for the joining agent could not be relayed (they stay in the transcript)',
        );
        break;
    }
  }

  private view(record: SessionRecord): SessionView {
    const snapshot = record.actor.getSnapshot();
    const { context } = snapshot;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      id: record.id,
      state: typeof snapshot.value === 'string' ? snapshot.value : (Object.keys(snapshot.value)[0] ?? ''),
      stateValue: snapshot.value,
      status: snapshot.status === 'active' ? 'active' : snapshot.status === 'done' ? 'done' : 'error',
      outcome: context.outcome ?? null,
      createdAt: iso(record.createdAt),
      updatedAt: iso(record.updatedAt),
      customer: {
        ...(context.customer.name ? { name: context.customer.name } : {}),
        ...(context.customer.uri ? { uri: context.customer.uri } : {}),
        ...(context.customer.subject ? { subject: context.customer.subject } : {}),
      },
      agents: context.joinedAgents.map((agent) => ({ uri: agent.uri, name: agent.name, joined: true })),
      participants: [...record.participants.values()],
      history: record.history.map((h) => ({ state: h.state, at: iso(h.at) })),
      operations: context.operations,
      assignments: context.assignments,
      offering:
        snapshot.matches({ welcomed: 'offering' }) && context.currentAgent
          ? { ...context.currentAgent }
          : null,
      queuePosition: context.queue.position ?? null,
      deadlines: Object.fromEntries(
        Object.entries(context.deadlines).map(([name, at]) => [name, iso(at as number)]),
      ),
      conversations: {
        ...(context.p2p.conversationHref ? { p2p: context.p2p.conversationHref } : {}),
        ...(context.conference.conversationHref ? { conference: context.conference.conversationHref } : {}),
      },
      error: context.error
        ? { step: context.error.step, code: context.error.code, message: context.error.message }
        : null,
    };
  }
}

function customerOf(from: { name?: string; uri?: string }, invitation: { subject?: string }): ChatCustomer {
  return {
    ...(from.name ? { name: from.name } : {}),
    ...(from.uri ? { uri: from.uri } : {}),
    ...(invitation.subject ? { subject: invitation.subject } : {}),
  };
}

/**
 * What the SA keeps of one live chat besides its actor: history, transcript, participants, deadlines,
 * the left message, and what its next write to the store must carry (`sessionChanges`): the snapshot,
 * transcript lines, effects, webhook events and the widget thread the chat came from.
 */
import type pino from 'pino';
import type { Actor, AnyActorRef, StateValue } from 'xstate';
import { CHAT_SESSION_MACHINE_VERSION, chatSessionMachine } from '../../machines/chatSession/index.ts';
import { enqueueChatEvent } from '../ops/webhooks.ts';
import type { JsonObject, Lease, PersistedSnapshot, StoreOps, TranscriptLine } from '../store/index.ts';
import type { DeadlineHolder } from './deadlines.ts';
import type { ProvidedChatSession } from './effects.ts';
import type { SessionChanges } from './persistence.ts';
import type { LeftMessage, TranscriptEntry } from './records.ts';
import type { Summary } from './storedSessions.ts';
import type { TranscriptHolder } from './transcribe.ts';
import { buildView, type SessionView } from './view.ts';

export type SessionActor = Actor<ProvidedChatSession>;
export type StartedEffect = SessionChanges['effectsStarted'][number];
export type FinishedEffect = SessionChanges['effectsFinished'][number];

export interface SessionRecord extends TranscriptHolder, DeadlineHolder {
  id: string;
  actor: SessionActor;
  createdAt: number;
  updatedAt: number;
  history: Array<{ state: string; at: number }>;
  lastValue?: StateValue;
  /** Conversation hrefs (keys) routed to this session. */
  indexed: Set<string>;
  invitationKey: string;
  /** Agents already reported by chat.assigned, by URI. */
  announced: Map<string, { uri: string; name: string }>;
  /** The left message of a customer nobody served (late messages are added to it). */
  left?: LeftMessage;
  endedAt?: number;
  /** Resumed: the side effects it re-issued have not all answered yet (callbacks wait for them). */
  settling?: Promise<void>;
  /** What the next write must carry besides the snapshot; removed once committed. */
  unsaved: {
    lines: Array<{ key: string; at: number; entry: JsonObject }>;
    started: StartedEffect[];
    finished: FinishedEffect[];
    left: boolean;
    /** Chat events for the webhook outbox (written with the step that caused them, in order). */
    events: Array<{ type: string; data: unknown; at: number }>;
    /** Inbox events applied (recorded by another instance): removed from the inbox with this write. */
    inbox: Array<{ id: number; key: string }>;
    /** The customer widget's thread this chat came from, until linked in the store (the survey's key). */
    thread?: string;
  };
  /** The inbox being drained (one drain at a time per session). */
  draining?: Promise<void>;
}

export function newRecord(
  id: string,
  actor: SessionActor,
  log: pino.Logger,
  createdAt: number,
  invitationKey: string,
): SessionRecord {
  return {
    id,
    actor,
    createdAt,
    updatedAt: createdAt,
    history: [],
    transcript: [],
    participants: new Map(),
    timers: new Map(),
    children: new Set(),
    seenMessages: new Set(),
    fired: new Set(),
    indexed: new Set(),
    invitationKey,
    announced: new Map(),
    log,
    unsaved: { lines: [], started: [], finished: [], left: false, events: [], inbox: [] },
  };
}

/** A record restored from the store: its transcript, participants, history, announced agents, fired timers. */
export function restoredRecord(
  record: SessionRecord,
  stored: { lines: TranscriptLine[]; summary: Summary },
): SessionRecord {
  const { lines, summary } = stored;
  record.transcript = lines.map((line) => line.entry as unknown as TranscriptEntry);
  for (const line of lines) if (line.key.startsWith('m:')) record.seenMessages.add(line.key);
  for (const participant of summary.participants)
    record.participants.set((participant.uri ?? participant.name ?? '?').toLowerCase(), participant);
  record.history = summary.history;
  for (const agent of summary.agents) record.announced.set(agent.uri, agent);
  for (const fired of summary.fired) record.fired.add(fired);
  record.lastValue = record.actor.getSnapshot().value;
  return record;
}

/** How a live session looks to the HTTP API, the console and listeners. */
export function recordView(record: SessionRecord): SessionView {
  const snapshot = record.actor.getSnapshot();
  return buildView({
    id: record.id,
    value: snapshot.value,
    status: snapshot.status,
    context: snapshot.context,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    participants: record.participants.values(),
    history: record.history,
  });
}

/**
 * The session's next write: its persisted snapshot and pending deadlines, the summary a listing and a
 * resume read, and what happened since the last write (transcript lines, effects, the left message).
 * `committed()` drops exactly what was written, so anything recorded meanwhile goes with the next write.
 */
export function sessionChanges(record: SessionRecord): SessionChanges {
  const { context, value } = record.actor.getSnapshot();
  const { unsaved } = record;
  const counts = {
    lines: unsaved.lines.length,
    started: unsaved.started.length,
    finished: unsaved.finished.length,
    events: unsaved.events.length,
    inbox: unsaved.inbox.length,
  };
  const leftDirty = unsaved.left;
  const thread = unsaved.thread;
  const deadlines: Record<string, number> = {};
  for (const [key, timer] of record.timers) deadlines[key] = timer.at;
  const summary: Summary = {
    stateValue: value,
    error: context.error
      ? { step: context.error.step, code: context.error.code, message: context.error.message }
      : null,
    customer: { ...context.customer },
    agents: [...record.announced.values()],
    history: record.history,
    participants: [...record.participants.values()],
    fired: [...record.fired],
  };
  const left = record.left;
  return {
    write: {
      machineId: chatSessionMachine.id,
      machineVersion: CHAT_SESSION_MACHINE_VERSION,
      snapshot: record.actor.getPersistedSnapshot() as PersistedSnapshot,
      outcome: context.outcome ?? null,
      deadlines,
      summary: summary as unknown as JsonObject,
    },
    transcript: unsaved.lines.slice(0, counts.lines),
    effectsStarted: unsaved.started.slice(0, counts.started),
    effectsFinished: unsaved.finished.slice(0, counts.finished),
    extra: [
      ...(thread ? [(tx: StoreOps, lease: Lease) => tx.surveys.linkThread(lease, thread)] : []),
      ...unsaved.events
        .slice(0, counts.events)
        .map(
          (event) => (tx: StoreOps, lease: Lease) =>
            enqueueChatEvent(tx, lease, event.type, event.data, event.at),
        ),
      ...(counts.inbox
        ? [(tx: StoreOps, lease: Lease) => tx.inbox.done(lease, unsaved.inbox.slice(0, counts.inbox))]
        : []),
    ],
    ...(leftDirty && left
      ? {
          leftMessage: {
            at: Date.parse(left.at),
            outcome: left.outcome,
            content: { customer: left.customer, messages: left.messages } as unknown as JsonObject,
          },
        }
      : {}),
    committed: () => {
      unsaved.lines.splice(0, counts.lines);
      unsaved.started.splice(0, counts.started);
      unsaved.finished.splice(0, counts.finished);
      unsaved.events.splice(0, counts.events);
      unsaved.inbox.splice(0, counts.inbox);
      if (leftDirty && record.left === left) unsaved.left = false;
      if (thread && unsaved.thread === thread) delete unsaved.thread;
    },
  };
}

/**
 * Resolves once every side effect (promise actor) running in `actor` or in its child machines has
 * settled, or after `timeoutMs` (how long callbacks for a resumed session wait for it at most).
 */
export function settled(actor: AnyActorRef, timeoutMs = 10_000): Promise<void> {
  const running: AnyActorRef[] = [];
  const collect = (ref: AnyActorRef) => {
    for (const child of Object.values(
      (ref.getSnapshot() as { children?: Record<string, AnyActorRef> }).children ?? {},
    )) {
      const snapshot = child.getSnapshot() as { status: string; value?: unknown };
      if (snapshot.status !== 'active') continue;
      if ('value' in snapshot) collect(child);
      else running.push(child);
    }
  };
  collect(actor);
  if (running.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = running.length;
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref?.();
    for (const child of running) {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        left -= 1;
        if (left === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.subscribe({
        next: (s: { status: string }) => s.status !== 'active' && finish(),
        complete: finish,
        error: finish,
      });
      if ((child.getSnapshot() as { status: string }).status !== 'active') finish();
    }
  });
}

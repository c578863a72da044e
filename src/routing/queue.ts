/**
 * The waiting queue: chats nobody could take yet, ordered by priority (higher first), then by the time
 * they entered, then by arrival sequence. Pure and JSON-serialisable like the pool.
 */
import { checkText, checkTime, RoutingError, show } from './errors.ts';
import { checkPool, load, type Pool } from './pool.ts';
import { type Assignment, type SelectOptions, type Strategy, selectAgent } from './select.ts';

/** Default interval between position/wait messages to a queued customer. */
export const DEFAULT_WAIT_UPDATE_MS = 30_000;
/** Default longest wait before the customer gets the fallback message. */
export const DEFAULT_MAX_WAIT_MS = 5 * 60_000;

export interface QueueEntry {
  sessionId: string;
  /** Higher first; 0 by default. */
  priority: number;
  enqueuedAt: number;
  topic?: string;
  /** Arrival order; breaks ties between equal priority and equal enqueuedAt. */
  seq: number;
}

/** `entries` are kept in queue order: entries[0] is served first. */
export interface ChatQueue {
  entries: QueueEntry[];
  nextSeq: number;
}

export function createQueue(): ChatQueue {
  return { entries: [], nextSeq: 0 };
}

/**
 * Adds a chat. Idempotent per sessionId: a chat already queued keeps its place, priority and time. To put
 * a chat back with its original waiting time (say, after a missed offer), pass that time as `now`.
 */
export function enqueue(
  q: ChatQueue,
  entry: { sessionId: string; priority?: number; topic?: string; now: number },
): ChatQueue {
  checkQueue(q);
  if (!entry || typeof entry !== 'object')
    throw new RoutingError(`enqueue needs an object, got ${show(entry)}`);
  const sessionId = checkText(entry.sessionId, 'sessionId');
  const now = checkTime(entry.now);
  const priority = entry.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new RoutingError(
      `priority must be a finite number (higher is served first), got ${show(priority)}`,
    );
  }
  if (entry.topic !== undefined) checkText(entry.topic, 'topic');
  if (q.entries.some((e) => e.sessionId === sessionId)) return q;
  const added: QueueEntry = {
    sessionId,
    priority,
    enqueuedAt: now,
    ...(entry.topic === undefined ? {} : { topic: entry.topic }),
    seq: q.nextSeq,
  };
  const at = q.entries.findIndex((e) => before(added, e));
  const entries =
    at === -1 ? [...q.entries, added] : [...q.entries.slice(0, at), added, ...q.entries.slice(at)];
  return { entries, nextSeq: q.nextSeq + 1 };
}

/** Removes a chat; a chat that is not queued leaves the queue unchanged. */
export function dequeue(q: ChatQueue, sessionId: string): ChatQueue {
  checkQueue(q);
  checkText(sessionId, 'sessionId');
  if (!q.entries.some((e) => e.sessionId === sessionId)) return q;
  return { ...q, entries: q.entries.filter((e) => e.sessionId !== sessionId) };
}

/** 1-based place in the queue (priority, then FIFO); null when the chat is not queued. */
export function position(q: ChatQueue, sessionId: string): number | null {
  checkQueue(q);
  checkText(sessionId, 'sessionId');
  const i = q.entries.findIndex((e) => e.sessionId === sessionId);
  return i === -1 ? null : i + 1;
}

/**
 * The first queued chat, in queue order, that some agent can take now, with its assignment and the pool
 * after selection (round-robin moves its cursor). A chat nobody can take (say, its topic's skill is missing
 * and skillsFallback is off) does not block the chats behind it. Neither dequeues nor reserves: the
 * caller does both. `exclude` maps a session id to the agents already tried for it.
 */
export function nextFor(
  q: ChatQueue,
  pool: Pool,
  strategy: Strategy,
  now: number,
  opts: SelectOptions & { exclude?: Record<string, string[]> } = {},
): { sessionId: string; assignment: Assignment; pool: Pool } | null {
  checkQueue(q);
  checkPool(pool);
  checkTime(now);
  for (const entry of q.entries) {
    const exclude = opts.exclude?.[entry.sessionId];
    const { assignment, pool: next } = selectAgent(
      pool,
      strategy,
      {
        sessionId: entry.sessionId,
        now,
        ...(entry.topic === undefined ? {} : { topic: entry.topic }),
        ...(exclude === undefined ? {} : { exclude }),
      },
      opts,
    );
    if (assignment.winner !== null) return { sessionId: entry.sessionId, assignment, pool: next };
  }
  return null;
}

/**
 * A rough wait for a queued chat: 0 when a free slot exists for it now, otherwise the chats that must
 * finish first times `avgHandleMs`, shared across the capacity of the available agents. Null when the
 * chat is not queued, or when no agent is available, so no estimate can be made.
 */
export function estimatedWaitMs(
  q: ChatQueue,
  pool: Pool,
  sessionId: string,
  avgHandleMs: number,
): number | null {
  checkPool(pool);
  if (typeof avgHandleMs !== 'number' || !Number.isFinite(avgHandleMs) || avgHandleMs <= 0) {
    throw new RoutingError(`avgHandleMs must be a positive number of milliseconds, got ${show(avgHandleMs)}`);
  }
  const place = position(q, sessionId);
  if (place === null) return null;
  const available = Object.values(pool.agents).filter((a) => a.presence === 'available');
  const slots = available.reduce((sum, a) => sum + a.capacity, 0);
  if (slots === 0) return null;
  const free = available.reduce((sum, a) => sum + Math.max(0, a.capacity - load(a)), 0);
  if (place <= free) return 0;
  return Math.round(((place - free) * avgHandleMs) / slots);
}

/** Entries that have waited `maxWaitMs` or longer at `now` (they get the fallback message), in queue order. */
export function overdue(q: ChatQueue, now: number, maxWaitMs: number = DEFAULT_MAX_WAIT_MS): QueueEntry[] {
  checkQueue(q);
  checkTime(now);
  if (typeof maxWaitMs !== 'number' || !Number.isFinite(maxWaitMs) || maxWaitMs <= 0) {
    throw new RoutingError(`maxWaitMs must be a positive number of milliseconds, got ${show(maxWaitMs)}`);
  }
  return q.entries.filter((e) => now - e.enqueuedAt >= maxWaitMs);
}

/**
 * What a queued customer reads, e.g. "You are number 2 in the queue. Estimated wait: about 3 minutes."
 * A null estimate (nobody available) promises no time.
 */
export function waitMessage(place: number, estimatedWait: number | null): string {
  if (typeof place !== 'number' || !Number.isInteger(place) || place < 1) {
    throw new RoutingError(`the queue position must be an integer of at least 1, got ${show(place)}`);
  }
  if (
    estimatedWait !== null &&
    (typeof estimatedWait !== 'number' || !Number.isFinite(estimatedWait) || estimatedWait < 0)
  ) {
    throw new RoutingError(
      `the estimated wait must be null or milliseconds of at least 0, got ${show(estimatedWait)}`,
    );
  }
  const where = place === 1 ? 'You are next in the queue.' : `You are number ${place} in the queue.`;
  if (estimatedWait === null)
    return `${where} All our agents are busy; we will connect you as soon as one is free.`;
  return `${where} Estimated wait: ${roughly(estimatedWait)}.`;
}

function roughly(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 90) return minutes === 1 ? 'about 1 minute' : `about ${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  return `about ${hours} hours`;
}

function before(a: QueueEntry, b: QueueEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.enqueuedAt !== b.enqueuedAt) return a.enqueuedAt < b.enqueuedAt;
  return a.seq < b.seq;
}

function checkQueue(q: ChatQueue): void {
  if (!q || typeof q !== 'object' || !Array.isArray(q.entries) || !Number.isInteger(q.nextSeq)) {
    throw new RoutingError(`expected a ChatQueue from createQueue, got ${show(q)}`);
  }
}

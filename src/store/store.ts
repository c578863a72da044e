/**
 * The store: everything the SA must not lose when it is killed, behind one interface with two engines
 * (PGlite in `DATA_DIR`, a PostgreSQL server at `DATABASE_URL`) that share one schema and one set of
 * migrations.
 *
 * Shape of use ("write-ahead, then act"): per callback envelope, the owner of a session opens one
 * {@link Store.transaction}, writes the new snapshot, the effects it is about to start, the transcript lines
 * and the webhook events, commits, and only then runs the effects and answers the callback. Every write
 * that belongs to one session takes that session's {@link Lease}: the store checks the lease's fencing
 * generation inside the same transaction and throws {@link LeaseLostError} (rolling everything back) when
 * another instance has taken the session over.
 *
 * Times are epoch milliseconds everywhere, taken from the store's clock (`now` in the open options) unless
 * a method takes them as a parameter. Strings are stored as PostgreSQL text, which cannot hold U+0000 or
 * lone surrogates: those become U+FFFD.
 */
import type { Snapshot } from 'xstate';
import type { ChatQueue, Pool, Presence } from '../routing/index.ts';

/** Any JSON value; what the store keeps in JSONB columns. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
/** A JSON object. `undefined` members are dropped, as JSON.stringify does. */
export type JsonObject = { [key: string]: Json | undefined };

/** A persisted XState snapshot, as `actor.getPersistedSnapshot()` returns it (and as it comes back). */
export type PersistedSnapshot = Snapshot<unknown>;

/** One page of a listing; pass `nextCursor` back to get the next page (null: this was the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Listing pages hold 100 items unless asked otherwise, never more than 1000. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

// ── sessions ──────────────────────────────────────────────────────────────────────────────────────────

/**
 * The right to write one session, held by one SA instance (`owner`) until `expiresAt` unless renewed.
 * `generation` grows by one each time the session changes hands; a write carrying an older generation is
 * refused (fencing), so an instance that stalled past its lease cannot overwrite its successor.
 */
export interface Lease {
  sessionId: string;
  owner: string;
  generation: number;
  expiresAt: number;
}

/** What the owner writes for a session after each step. */
export interface SessionWrite {
  /** The machine that produced `snapshot` (kept beside it: a reader checks both before restoring). */
  machineId: string;
  machineVersion: number;
  /**
   * `actor.getPersistedSnapshot()`. Stored as JSONB: it must survive `JSON.stringify` (the store refuses
   * one that does not). Its `status` and top-level `value` are indexed for listing.
   */
  snapshot: PersistedSnapshot;
  /** The session's outcome once known; omitted (or null), the stored one is kept. */
  outcome?: string | null;
  /** Pending deadlines, `<actor>/<timer>` → epoch ms; replaces what was stored. */
  deadlines: Record<string, number>;
  /** What a listing shows without loading the snapshot (customer name, agents, …); small. Omitted: kept. */
  summary?: JsonObject;
}

/** What a save writes: a SessionWrite whose snapshot may be left out when it is the stored one. */
export type SessionSave = Omit<SessionWrite, 'snapshot'> & { snapshot?: PersistedSnapshot };

/** The snapshot's status: `active` sessions are resumed on start; the others have ended. */
export type SessionStatus = 'active' | 'done' | 'error' | 'stopped';

/** A session row without its snapshot: what listings return. */
export interface SessionSummary {
  id: string;
  /** Top-level state of the snapshot (`invited`, `bridged`, …, `terminated`). */
  state: string;
  status: SessionStatus;
  outcome: string | null;
  summary: JsonObject;
  createdAt: number;
  updatedAt: number;
  /** When the snapshot first stopped being `active`; null while it is. */
  endedAt: number | null;
}

/** A session as stored, snapshot and deadlines included. */
export interface StoredSession extends SessionSummary {
  machineId: string;
  machineVersion: number;
  snapshot: PersistedSnapshot;
  deadlines: Record<string, number>;
  /** Who holds the session now (null owner: released, free to acquire). */
  lease: { owner: string | null; generation: number; expiresAt: number };
}

/** Filters for {@link SessionOps.list}; newest first. */
export interface SessionQuery {
  state?: string;
  outcome?: string;
  /** Sessions created at or after this time (epoch ms). */
  since?: number;
  /** 1 to {@link MAX_PAGE_LIMIT}; default {@link DEFAULT_PAGE_LIMIT}. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface SessionOps {
  /**
   * Stores a new session and gives its lease to `owner` (generation 1). Null when a session with this id
   * already exists: someone else created it, so this caller is not its owner.
   */
  create(owner: string, sessionId: string, write: SessionWrite): Promise<Lease | null>;
  /**
   * Replaces the session's snapshot, deadlines, outcome and summary. Fenced by `lease`. A write without a
   * snapshot keeps the stored one (the caller knows it is unchanged: nothing to send again).
   */
  save(lease: Lease, write: SessionSave): Promise<void>;
  /** The session as stored, or undefined for an unknown id (purged sessions are unknown). */
  load(sessionId: string): Promise<StoredSession | undefined>;
  /** Sessions newest first, filtered; throws StoreInputError for a bad limit or cursor. */
  list(query?: SessionQuery): Promise<Page<SessionSummary>>;
  /**
   * Deletes sessions that ended more than `RETENTION_DAYS` ago (by the store's clock), with everything
   * kept for them: callbacks, effects, transcript, left message, inbox, lease, webhook events, survey
   * answer and widget thread. At most `limit` sessions per call (default 1000); returns how many went,
   * so a caller loops until 0.
   */
  purgeEnded(options?: { limit?: number }): Promise<number>;
}

// ── leases ────────────────────────────────────────────────────────────────────────────────────────────

export interface LeaseOps {
  /**
   * Takes the session when it is free (released, or expired for `LEASE_MS`) or already `owner`'s; renews it
   * in the second case. Null when another owner holds a live lease or the session does not exist.
   */
  acquire(sessionId: string, owner: string): Promise<Lease | null>;
  /** Extends every lease `owner` still holds; returns them (a session missing from it was taken over). */
  renew(owner: string): Promise<Lease[]>;
  /** Gives the session up so another instance can take it at once. False if the lease was already lost. */
  release(lease: Lease): Promise<boolean>;
  /**
   * Of `leases`, the session ids whose lease is still held as given (same owner and generation): one read,
   * no write. What a fenced write would find, had it run at this moment.
   */
  check(leases: readonly Lease[]): Promise<Set<string>>;
  /** Gives up every lease `owner` holds (graceful stop); returns how many. */
  releaseAll(owner: string): Promise<number>;
  /**
   * Takes over sessions that have not ended and whose lease expired or was released (another instance
   * died or stopped), up to `limit` (default 100). Each comes back with a new generation.
   */
  takeOver(owner: string, options?: { limit?: number }): Promise<Lease[]>;
}

// ── callbacks, effects, transcripts, left messages ───────────────────────────────────────────────────

export interface CallbackOps {
  /**
   * Records that the session took the callback event identified by `key`. True the first time; false when
   * it was taken before (a redelivery): then the caller must not apply it again. Fenced.
   */
  take(lease: Lease, key: string): Promise<boolean>;
}

export type EffectStatus = 'started' | 'done' | 'failed';

/** A side effect the session started; its operationId doubles as the platform's idempotency key. */
export interface EffectRecord {
  operationId: string;
  sessionId: string;
  kind: string;
  input: Json | null;
  status: EffectStatus;
  /** The output (`done`) or the error (`failed`). */
  result: Json | null;
  /** Times it was started: 1, plus one per restart after a failure. */
  attempts: number;
  startedAt: number;
  finishedAt: number | null;
}

export interface EffectOps {
  /**
   * Records that the effect is about to run (write-ahead). `fresh` is true when the caller should run it:
   * it is new, or its last attempt failed (then `attempts` grows). An effect that is `started` already
   * (re-issued after a crash: run it again with the same operationId) or `done` comes back with
   * `fresh: false` and its stored record. Fenced.
   */
  start(
    lease: Lease,
    effect: { operationId: string; kind: string; input?: Json },
  ): Promise<{ effect: EffectRecord; fresh: boolean }>;
  /** Records how the effect ended. False for an unknown operationId. Fenced. */
  finish(
    lease: Lease,
    operationId: string,
    end: { status: 'done'; result?: Json } | { status: 'failed'; error: Json },
  ): Promise<boolean>;
  /** The session's effects still `started`, oldest first: what to re-issue when resuming it. */
  inFlight(sessionId: string): Promise<EffectRecord[]>;
}

/** One transcript line as stored; `seq` orders lines (it grows, with gaps, across all sessions). */
export interface TranscriptLine {
  seq: number;
  key: string;
  at: number;
  entry: JsonObject;
}

export interface TranscriptOps {
  /**
   * Appends a line unless one with the same `key` is stored for the session (a message href, a callback
   * key): true when stored, false for a duplicate. Fenced.
   */
  append(lease: Lease, line: { key: string; at: number; entry: JsonObject }): Promise<boolean>;
  /**
   * A line that reached the SA after its session ended (a message the platform delivered late): appended
   * to an ended session's transcript, once per `key`, by any instance (an ended session has no owner).
   * False for a duplicate, an unknown session or one still going (whose owner writes its lines).
   */
  appendLate(sessionId: string, line: { key: string; at: number; entry: JsonObject }): Promise<boolean>;
  /** The session's transcript in append order (empty for an unknown session). */
  read(sessionId: string): Promise<TranscriptLine[]>;
}

/** What a customer nobody served left behind: contact and messages, kept for follow-up. */
export interface LeftMessageRecord {
  sessionId: string;
  at: number;
  outcome: string;
  content: JsonObject;
}

export interface LeftMessageOps {
  /** Stores or replaces the session's left message (late messages replace it). Fenced. */
  save(lease: Lease, message: { at: number; outcome: string; content: JsonObject }): Promise<void>;
  /** Newest first, like {@link SessionOps.list}. */
  list(query?: { since?: number; limit?: number; cursor?: string }): Promise<Page<LeftMessageRecord>>;
}

// ── agent pool and queue ─────────────────────────────────────────────────────────────────────────────

/** A roster entry as configured (AGENTS); capacity falls back to the pool default. */
export interface RosterAgent {
  uri: string;
  name: string;
  skills?: string[];
  capacity?: number;
}

/**
 * Outcome of {@link PoolOps.reserve}: `reserved` (the offer now counts against the agent's capacity),
 * `held` (this agent already holds the session: nothing changed), `full` (at capacity), `offeredElsewhere`
 * (the session has a pending offer with another agent: a chat is offered to one agent at a time),
 * `unknownAgent`.
 */
export type ReserveResult = 'reserved' | 'held' | 'full' | 'offeredElsewhere' | 'unknownAgent';

/**
 * The agent pool, shared by every instance. Capacity is enforced by the database (a conditional update of
 * the agent's load), so concurrent reservations from any number of instances never exceed it.
 */
export interface PoolOps {
  /**
   * Makes the stored roster match `roster` (names, skills, capacity, order); new agents start `available`.
   * Agents no longer listed go `offline` and keep the chats they hold.
   */
  syncRoster(roster: readonly RosterAgent[], defaults: { capacity: number }): Promise<void>;
  /** The pool in the routing core's shape (roster order), for `selectAgent` and friends. */
  load(): Promise<Pool>;
  /** Coming back to `available` clears the missed-offer count. False for an unknown agent. */
  setPresence(uri: string, presence: Presence): Promise<boolean>;
  /** Puts an offer of the session on the agent if it has room; see {@link ReserveResult}. */
  reserve(uri: string, sessionId: string): Promise<ReserveResult>;
  /** The agent accepted: its offer becomes an active chat. False when it holds no offer for the session. */
  confirm(uri: string, sessionId: string): Promise<boolean>;
  /** Takes the session off the agent (offer withdrawn or chat ended). False when it did not hold it. */
  release(uri: string, sessionId: string): Promise<boolean>;
  /** Counts a missed offer; at `maxMissedInRow` in a row an available agent is set `away`. */
  recordMissedOffer(uri: string, options: { maxMissedInRow: number }): Promise<{ madeUnavailable: boolean }>;
  /** Where round-robin selection left off (`Pool.rrCursor`), shared by every instance. */
  setRoundRobinCursor(cursor: number): Promise<void>;
}

export interface QueueOps {
  /** Adds a waiting chat; a chat already queued keeps its place. True when added. */
  enqueue(entry: { sessionId: string; priority?: number; topic?: string; at: number }): Promise<boolean>;
  /** Takes the chat off the queue; true for exactly one caller, however many try at once. */
  dequeue(sessionId: string): Promise<boolean>;
  /** The queue in the routing core's shape (served first at `entries[0]`). */
  load(): Promise<ChatQueue>;
}

// ── inbox ────────────────────────────────────────────────────────────────────────────────────────────

/** A callback event recorded by an instance that does not own its session, waiting for the owner. */
export interface InboxItem {
  id: number;
  sessionId: string;
  key: string;
  payload: Json;
  recordedAt: number;
}

export interface InboxOps {
  /**
   * Records an event for the session's owner and signals it (on commit). Not recorded (false) when the
   * same `key` is already waiting or was already taken by the session ({@link CallbackOps.take}), or when the
   * session is unknown. `owner` is who holds the session now (null: nobody; whoever takes it over drains
   * the inbox).
   */
  record(
    sessionId: string,
    item: { key: string; payload: Json },
  ): Promise<{ recorded: boolean; owner: string | null; known: boolean }>;
  /** Removes and returns the session's waiting events, oldest first. Fenced: take them in the transaction that applies them. */
  take(lease: Lease): Promise<InboxItem[]>;
  /** The session's waiting events, oldest first, left in place (see `done`). Fenced. */
  pending(lease: Lease): Promise<InboxItem[]>;
  /**
   * Removes the given events (by id) once applied, and marks their keys taken (a redelivery is not
   * recorded again): in the transaction that writes the session's new state. Fenced.
   */
  done(lease: Lease, items: ReadonlyArray<Pick<InboxItem, 'id' | 'key'>>): Promise<number>;
  /** Sessions `owner` holds that have waiting events (signals can be lost: look now and then). */
  owned(owner: string): Promise<string[]>;
}

// ── webhook outbox ───────────────────────────────────────────────────────────────────────────────────

/** An event for the operator's webhook, written in the transaction of the change that caused it. */
export interface WebhookRecord {
  id: number;
  sessionId: string | null;
  type: string;
  payload: Json;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  deliveredAt: number | null;
  lastError: string | null;
}

export interface WebhookOps {
  /**
   * Adds an event to the outbox. With a lease it is the session's event: fenced, and delivered after the
   * session's earlier events. Returns its id.
   */
  enqueue(event: { type: string; payload: Json }, lease?: Lease): Promise<number>;
  /**
   * Claims events due for delivery, oldest first: only the oldest undelivered event of each session (so a
   * session's events go out in order), and none another claimer holds. A claimed event is hidden for
   * `visibilityMs` (default 30 s): mark it delivered or failed before then, or it is claimed again.
   */
  claim(options?: { limit?: number; visibilityMs?: number }): Promise<WebhookRecord[]>;
  delivered(id: number): Promise<void>;
  /** Records a failed attempt; the event is due again at `retryAt`. */
  failed(id: number, failure: { error: string; retryAt: number }): Promise<void>;
}

// ── post-chat survey ────────────────────────────────────────────────────────────────────────────────

/** A customer's answer to the post-chat survey, as stored: one per chat. */
export interface SurveyRecord {
  sessionId: string;
  /** 1 to 5. */
  score: number;
  comment: string | null;
  submittedAt: number;
}

/** `saved`; `duplicate`: the chat has an answer already (the first one stays); `unknown`: no such session. */
export type SurveySaveResult = 'saved' | 'duplicate' | 'unknown';

export interface SurveyOps {
  /**
   * Records that the customer widget's thread `threadId` (signed into its survey token) became this session,
   * so any instance, before or after a restart, finds the chat an answer is for. A thread linked already
   * keeps its session. Fenced.
   */
  linkThread(lease: Lease, threadId: string): Promise<void>;
  /** The session a widget thread became, or undefined. */
  sessionOfThread(threadId: string): Promise<string | undefined>;
  /**
   * Stores the chat's answer. One answer per chat is enforced by the database (its primary key): a second
   * one, from any instance, comes back `duplicate` and changes nothing. With `event`, that event goes into
   * the webhook outbox as the session's event (delivered after the chat's earlier events) in the same
   * transaction, and only when the answer was saved. Not fenced: answers arrive after the chat ended,
   * whoever holds it.
   */
  save(
    sessionId: string,
    answer: { score: number; comment?: string | null; submittedAt: number },
    event?: { type: string; payload: Json },
  ): Promise<SurveySaveResult>;
  /** The chat's answer, or undefined (none yet, or an unknown session). */
  get(sessionId: string): Promise<SurveyRecord | undefined>;
}

// ── the store ────────────────────────────────────────────────────────────────────────────────────────

/** Every operation, grouped; available on the store (each call commits on its own) and in a transaction. */
export interface StoreOps {
  readonly sessions: SessionOps;
  readonly leases: LeaseOps;
  readonly callbacks: CallbackOps;
  readonly effects: EffectOps;
  readonly transcripts: TranscriptOps;
  readonly leftMessages: LeftMessageOps;
  readonly pool: PoolOps;
  readonly queue: QueueOps;
  readonly inbox: InboxOps;
  readonly webhooks: WebhookOps;
  readonly surveys: SurveyOps;
}

/** A migration the store knows, and whether this start applied it. */
export interface MigrationInfo {
  version: number;
  name: string;
}

export interface Store extends StoreOps {
  /** `pglite` (embedded, in DATA_DIR) or `postgres` (DATABASE_URL). */
  readonly engine: 'pglite' | 'postgres';
  /** Where the data lives, for messages: the data directory, or the URL without its password. */
  readonly location: string;
  /** The schema: migrations applied by this open (empty when it was up to date), and the current version. */
  readonly schema: { applied: MigrationInfo[]; version: number };
  /**
   * Runs `fn` in one transaction: everything it writes through `tx` commits together, or nothing does
   * (it throws). Use `tx`, never the store itself, inside `fn` (on PGlite that would wait forever for the
   * one connection). `fn` may run again when the database reports a deadlock or a serialisation failure, so
   * keep it free of other side effects; do those after the transaction commits.
   */
  transaction<T>(fn: (tx: StoreOps) => Promise<T>): Promise<T>;
  /**
   * Calls `handler(sessionId)` when an event is recorded in the inbox of a session `owner` holds, by any
   * instance (PostgreSQL LISTEN/NOTIFY; in-process on PGlite). Signals can be lost (a dropped connection):
   * drain the inbox on takeover and now and then as well. Returns a function that stops listening.
   */
  onInbox(owner: string, handler: (sessionId: string) => void): Promise<() => Promise<void>>;
  /** Closes the connections (and releases DATA_DIR). Leases are left as they are: release them first. */
  close(): Promise<void>;
}

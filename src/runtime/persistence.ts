/**
 * Write-ahead persistence of chat sessions: after each step the session's new snapshot, the transcript
 * lines and side effects it produced are committed in one transaction, and nothing that depends on them
 * (a side effect's HTTP request, the 200 answering a callback) goes ahead before that commit.
 *
 * Steps coalesce: every change a session makes in one turn of the event loop lands in one write. Writes go
 * out in batches, one at a time: the sessions that changed while the previous batch was being committed
 * are written together in the next one, in one transaction (each session's part exactly as it would be on
 * its own), so a session's writes stay strictly ordered and a busy SA commits once for many sessions. When a
 * batch of several fails, each of its sessions is written again on its own, so one session's failure (a
 * lost lease) is not another's.
 *
 * What is unchanged since the last commit is not sent again: a write whose snapshot (or summary) is the one
 * committed last leaves it out, and the store keeps the stored one. A write that would change nothing at
 * all (snapshot, summary, deadlines and outcome as committed; no transcript lines, effects, left message
 * or other writes: a callback the session ignored) is not written: the store holds that state already.
 * Only its lease is checked, with one read: if it was lost, the session is dropped and the step fails
 * (its callback is answered 503), exactly as the write would have; if it is held, the state the step
 * acknowledges is the committed one.
 *
 * Each write is fenced by the session's lease: when another instance has taken the session over, the write
 * is refused and the session is handed to `onLeaseLost` (the caller drops its copy).
 */
import { createHash } from 'node:crypto';
import type pino from 'pino';
import {
  type Json,
  type JsonObject,
  jsonTextOnce,
  type Lease,
  LeaseLostError,
  type SessionWrite,
  type Store,
  type StoreOps,
} from '../store/index.ts';

/** What a session hands over for one write; `committed()` is called once it is durable. */
export interface SessionChanges {
  write: SessionWrite;
  transcript: Array<{ key: string; at: number; entry: JsonObject }>;
  /** Side effects about to start (write-ahead), by operationId. */
  effectsStarted: Array<{ operationId: string; kind: string; input?: Json }>;
  effectsFinished: Array<{
    operationId: string;
    end: { status: 'done'; result?: Json } | { status: 'failed'; error: Json };
  }>;
  leftMessage?: { at: number; outcome: string; content: JsonObject };
  /** More writes in the same transaction (webhook events, a survey answer). */
  extra?: Array<(tx: StoreOps, lease: Lease) => Promise<unknown>>;
  committed(): void;
}

/** A session's state could not be made durable: the step it belongs to must not be acknowledged. */
export class PersistenceError extends Error {
  override readonly name: string = 'PersistenceError';
}

/** A new chat's first write found its id stored already: another instance started the same chat. */
class StoredElsewhereError extends PersistenceError {
  override readonly name = 'StoredElsewhereError';
  constructor(sessionId: string) {
    super(`session ${sessionId} is stored already by another instance`);
  }
}

interface Slot {
  lease?: Lease;
  chain: Promise<void>;
  queued: boolean;
  build?: () => SessionChanges;
  /** The last write's failure, until a later write succeeds. */
  failure?: PersistenceError;
  /** What the store holds of the session as last committed: see {@link Digests}. */
  committed?: Digests;
}

export interface PersistenceOptions {
  store: Store;
  /** This instance's name in leases (INSTANCE_ID). */
  owner: string;
  logger: pino.Logger;
  /** Another instance took the session over: stop running it here. */
  onLeaseLost?: (sessionId: string) => void;
}

/**
 * SHA-256 of a JSON text: what a slot keeps of its last committed snapshot (32 bytes, not the 3-10 KB of
 * JSON, for every live session).
 */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

/** Digests of a write's snapshot and summary JSON, and its other session columns as JSON (small). */
interface Digests {
  snapshot: string;
  /** Undefined: the write leaves the summary as stored. */
  summary: string | undefined;
  /** Machine id and version, outcome, deadlines. */
  rest: string;
}

function digestsOf(write: SessionWrite): Digests {
  // Serialised once: the store reuses these texts for the same objects (jsonTextOnce).
  return {
    snapshot: digest(jsonTextOnce(write.snapshot, 'the snapshot')),
    summary: write.summary === undefined ? undefined : digest(jsonTextOnce(write.summary, 'the summary')),
    rest: JSON.stringify([write.machineId, write.machineVersion, write.outcome ?? null, write.deadlines]),
  };
}

/** One session's part of a batch. */
interface Part {
  sessionId: string;
  slot: Slot;
  changes: SessionChanges;
  /** What this write carries (the store's once it commits). */
  written: Digests;
}

/** Nothing in the part that the store does not hold already (see the module comment). */
function changesNothing({ slot, changes, written }: Part): boolean {
  const before = slot.committed;
  return (
    slot.lease !== undefined &&
    before !== undefined &&
    written.snapshot === before.snapshot &&
    (written.summary === undefined || written.summary === before.summary) &&
    written.rest === before.rest &&
    changes.transcript.length === 0 &&
    changes.effectsStarted.length === 0 &&
    changes.effectsFinished.length === 0 &&
    changes.leftMessage === undefined &&
    (changes.extra?.length ?? 0) === 0
  );
}

export class SessionPersistence {
  private readonly slots = new Map<string, Slot>();
  /** Sessions whose changes wait for the next batch. */
  private readonly due = new Set<string>();
  /** The batch being written (or the last one), and the next one if sessions wait for it. */
  private tail: Promise<void> = Promise.resolve();
  private next: Promise<void> | undefined;
  readonly store: Store;
  readonly owner: string;

  constructor(private readonly opts: PersistenceOptions) {
    this.store = opts.store;
    this.owner = opts.owner;
  }

  /** A session this instance holds already (resumed or taken over). */
  adopt(lease: Lease): void {
    const slot = this.slot(lease.sessionId);
    slot.lease = lease;
    // Written by someone else meanwhile, perhaps: the next write sends everything.
    slot.committed = undefined;
  }

  /** The lease this instance holds on a session (undefined before its first write, or once dropped). */
  leaseOf(sessionId: string): Lease | undefined {
    return this.slots.get(sessionId)?.lease;
  }

  /**
   * The session changed: write it (with whatever else changes before the write starts). The first write
   * of a session without a lease creates it.
   */
  schedule(sessionId: string, build: () => SessionChanges): void {
    const slot = this.slot(sessionId);
    slot.build = build;
    if (slot.queued) return;
    slot.queued = true;
    this.due.add(sessionId);
    slot.chain = this.nextBatch();
  }

  /** The batch that starts once the current one is done; it writes whatever is due by then. */
  private nextBatch(): Promise<void> {
    if (this.next) return this.next;
    const batch = this.tail.then(() => {
      this.next = undefined;
      return this.writeDue();
    });
    this.next = batch;
    this.tail = batch;
    return batch;
  }

  /**
   * Writes every session that is due: one transaction for all of them (never rejects). Sessions whose
   * write would change nothing only have their lease checked.
   */
  private async writeDue(): Promise<void> {
    const parts: Part[] = [];
    const idle: Part[] = [];
    for (const sessionId of this.due) {
      const slot = this.slots.get(sessionId);
      if (!slot) continue;
      slot.queued = false;
      const changes = slot.build?.();
      if (!changes) continue;
      const part = { sessionId, slot, changes, written: digestsOf(changes.write) };
      (changesNothing(part) ? idle : parts).push(part);
    }
    this.due.clear();
    if (idle.length > 0) await this.confirm(idle);
    if (parts.length === 1) return this.writeOne(parts[0]!);
    if (parts.length === 0) return;
    let leases: Lease[];
    try {
      leases = await this.store.transaction(async (tx) => {
        const taken: Lease[] = [];
        for (const part of parts) taken.push(await this.writePart(tx, part));
        return taken;
      });
    } catch {
      // Written one by one, each session's failure is its own.
      for (const part of parts) await this.writeOne(part);
      return;
    }
    for (const [i, part] of parts.entries()) this.committed(part, leases[i]!);
  }

  /** Resolves once everything scheduled for the session so far is durable; rejects if it could not be. */
  async flushed(sessionId: string): Promise<void> {
    const slot = this.slots.get(sessionId);
    if (!slot) return;
    await slot.chain;
    if (slot.failure) throw slot.failure;
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.slots.values()].map((slot) => slot.chain));
  }

  /** The session ended and is written: forget it (its lease stays in the store, released). */
  async forget(sessionId: string): Promise<void> {
    const slot = this.slots.get(sessionId);
    if (!slot) return;
    this.slots.delete(sessionId);
    await slot.chain;
    if (slot.lease && !slot.failure) {
      await this.store.leases.release(slot.lease).catch((error: unknown) => {
        this.opts.logger.warn({ sessionId, error: String(error) }, 'lease not released');
      });
    }
  }

  /** Keeps this instance's leases alive; a session missing from the answer was taken over. */
  async renew(): Promise<void> {
    // Only leases held before the query are judged by its answer: a session created (or adopted) while it
    // ran is not in it, and is not lost.
    const before = new Map<string, Lease>();
    for (const [sessionId, slot] of this.slots) if (slot.lease) before.set(sessionId, slot.lease);
    const held = await this.store.leases.renew(this.owner);
    const live = new Map(held.map((lease) => [lease.sessionId, lease]));
    for (const [sessionId, lease] of before) {
      const slot = this.slots.get(sessionId);
      if (!slot || slot.lease !== lease) continue;
      const renewed = live.get(sessionId);
      if (renewed && renewed.generation === lease.generation) slot.lease = renewed;
      else if (!slot.queued) this.lost(sessionId);
    }
  }

  /** Graceful stop: everything written, every lease given up so another instance takes over at once. */
  async releaseAll(): Promise<number> {
    await this.flushAll();
    this.slots.clear();
    return this.store.leases.releaseAll(this.owner);
  }

  private slot(sessionId: string): Slot {
    let slot = this.slots.get(sessionId);
    if (!slot) {
      slot = { chain: Promise.resolve(), queued: false };
      this.slots.set(sessionId, slot);
    }
    return slot;
  }

  /** One session's part of a transaction: its snapshot, transcript lines, effects and the rest. */
  private async writePart(tx: StoreOps, { sessionId, slot, changes, written }: Part): Promise<Lease> {
    let lease = slot.lease;
    if (lease) {
      const before = slot.committed;
      const { snapshot, summary, ...rest } = changes.write;
      await tx.sessions.save(lease, {
        ...rest,
        ...(before?.snapshot === written.snapshot ? {} : { snapshot }),
        ...(summary === undefined || before?.summary === written.summary ? {} : { summary }),
      });
    } else {
      const created = await tx.sessions.create(this.owner, sessionId, changes.write);
      if (!created) throw new StoredElsewhereError(sessionId);
      lease = created;
    }
    for (const line of changes.transcript) await tx.transcripts.append(lease, line);
    for (const effect of changes.effectsStarted) await tx.effects.start(lease, effect);
    for (const { operationId, end } of changes.effectsFinished)
      await tx.effects.finish(lease, operationId, end);
    if (changes.leftMessage) await tx.leftMessages.save(lease, changes.leftMessage);
    for (const extra of changes.extra ?? []) await extra(tx, lease);
    return lease;
  }

  private committed({ slot, changes, written }: Part, lease: Lease): void {
    slot.lease = lease;
    slot.failure = undefined;
    slot.committed = { ...written, summary: written.summary ?? slot.committed?.summary };
    changes.committed();
  }

  /**
   * Sessions whose write would change nothing: the store holds their state already, so each counts as
   * committed if its lease is still held (one read for all of them), and as lost if not, as its write
   * would have been refused.
   */
  private async confirm(parts: Part[]): Promise<void> {
    let held: Set<string>;
    try {
      held = await this.store.leases.check(parts.map((part) => part.slot.lease!));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      for (const { sessionId, slot } of parts) {
        this.opts.logger.error({ sessionId, error: message }, 'session lease not checked');
        slot.failure = new PersistenceError(`session ${sessionId} could not be checked: ${message}`, {
          cause: error,
        });
      }
      return;
    }
    for (const part of parts) {
      if (held.has(part.sessionId)) {
        this.committed(part, part.slot.lease!);
        continue;
      }
      this.lost(part.sessionId);
      part.slot.failure = new PersistenceError(
        `session ${part.sessionId} was taken over by another instance`,
      );
    }
  }

  /** One session's write in a transaction of its own; a failure is recorded on its slot. */
  private async writeOne(part: Part): Promise<void> {
    const { sessionId, slot } = part;
    try {
      const lease = await this.store.transaction((tx) => this.writePart(tx, part));
      this.committed(part, lease);
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.lost(sessionId);
        slot.failure = new PersistenceError(`session ${sessionId} was taken over by another instance`);
        return;
      }
      if (error instanceof StoredElsewhereError) {
        // The same invitation reached two instances at once: the other one's chat is the chat (this copy
        // has done nothing yet: its side effects wait for this write); the platform's retry finds it.
        this.lost(sessionId, 'chat started by another instance first: dropped here');
        slot.failure = error;
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      this.opts.logger.error({ sessionId, error: message }, 'session state not written');
      slot.failure = new PersistenceError(`session ${sessionId} could not be written: ${message}`, {
        cause: error,
      });
    }
  }

  private lost(sessionId: string, why = 'session taken over by another instance: dropped here'): void {
    this.slots.delete(sessionId);
    this.opts.logger.warn({ sessionId }, why);
    this.opts.onLeaseLost?.(sessionId);
  }
}

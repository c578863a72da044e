/**
 * What every group of SQL store operations shares: the runner (single statements, and atomic groups of
 * them), the options, the clock as timestamptz text, and the lease fence. Session-owned writes are fenced:
 * the first one in a transaction locks the session's lease row (FOR UPDATE) and checks owner and
 * generation, so a takeover waits for that transaction and every later write of the old owner is refused.
 * A session's save does that check in its own UPDATE (`fencedWrite`): one statement instead of two.
 */
import type { Sql } from '../engines/engine.ts';
import { LeaseLostError } from '../errors.ts';
import type { Lease } from '../store.ts';
import { checkLease } from './checks.ts';
import type { LeaseLedger } from './ledger.ts';
import { iso } from './rows.ts';

export interface SqlStoreOptions {
  leaseMs: number;
  retentionDays: number;
  /** The clock every stored time comes from (epoch ms). */
  now: () => number;
}

export const DAY_MS = 86_400_000;

/** How one group of operations reaches the database: single statements, and atomic groups of them. */
export interface Runner {
  sql: Sql;
  /** Runs `fn` atomically: in the caller's transaction, or in a new one. `fenced` lists leases checked in it. */
  atomic<T>(fn: (sql: Sql, fenced: Set<string>) => Promise<T>): Promise<T>;
}

export interface OpsContext {
  /** Single statements, outside any transaction of the caller's unless the runner is one. */
  sql: Sql;
  /** The embedded store's lease ledger (sql/ledger.ts); none for PostgreSQL. */
  ledger?: LeaseLedger;
  run: Runner;
  options: SqlStoreOptions;
  /** Now, as a timestamptz parameter. */
  now(): string;
  /** When a lease taken or renewed now expires, as a timestamptz parameter. */
  leaseExpiry(): string;
  /** Runs `fn` after checking `lease`, atomically with the check. */
  fenced<T>(lease: Lease, fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Runs `fn`, a statement that checks `lease` itself: it locks the lease row with `lock` (`FOR UPDATE`,
   * or nothing where one connection runs every transaction) where the row is owner and generation's, and
   * changes rows only then. No rows back: the lease is checked as `fenced` does (LeaseLostError when it was
   * lost; else the statement simply found nothing to change). Rows back: the lease counts as checked for
   * the rest of the transaction.
   */
  fencedWrite<T>(lease: Lease, fn: (tx: Sql, lock: string) => Promise<T[]>): Promise<T[]>;
}

/**
 * `rowLocks`: whether a fence locks the lease row. PostgreSQL needs it (a takeover by another instance must
 * wait for the transaction that checked the lease). PGlite runs one transaction at a time on its one
 * connection, in one process: nothing can change the lease between the check and the commit, and a row
 * lock would only cost a write.
 */
export function opsContext(
  run: Runner,
  options: SqlStoreOptions,
  { rowLocks, ledger }: { rowLocks: boolean; ledger?: LeaseLedger } = { rowLocks: true },
): OpsContext {
  const lock = rowLocks ? 'FOR UPDATE' : '';
  const keyOf = (lease: Lease) => `${lease.sessionId}\u0000${lease.owner}\u0000${lease.generation}`;
  async function fence(tx: Sql, fenced: Set<string>, lease: Lease): Promise<void> {
    checkLease(lease);
    const key = keyOf(lease);
    if (fenced.has(key)) return;
    const [row] = await tx.query<{ owner: string | null; generation: string }>(
      `SELECT owner, generation::text AS generation FROM session_leases WHERE session_id = $1 ${lock}`,
      [lease.sessionId],
    );
    if (!row || row.owner !== lease.owner || Number(row.generation) !== lease.generation) {
      throw new LeaseLostError(
        lease.sessionId,
        { owner: lease.owner, generation: lease.generation },
        row ? { owner: row.owner, generation: Number(row.generation) } : null,
      );
    }
    fenced.add(key);
  }

  return {
    sql: run.sql,
    ...(ledger ? { ledger } : {}),
    run,
    options,
    now: () => iso(options.now()),
    leaseExpiry: () => iso(options.now() + options.leaseMs),
    fenced: (lease, fn) =>
      run.atomic(async (tx, checked) => {
        await fence(tx, checked, lease);
        return fn(tx);
      }),
    fencedWrite: (lease, fn) =>
      run.atomic(async (tx, checked) => {
        checkLease(lease);
        const rows = await fn(tx, lock);
        if (rows.length > 0) checked.add(keyOf(lease));
        else await fence(tx, checked, lease);
        return rows;
      }),
  };
}

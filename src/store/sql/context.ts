/**
 * What every group of SQL store operations shares: the runner (single statements, and atomic groups of
 * them), the options, the clock as timestamptz text, and the lease fence. Session-owned writes are fenced:
 * the first one in a transaction locks the session's lease row (FOR UPDATE) and checks owner and
 * generation, so a takeover waits for that transaction and every later write of the old owner is refused.
 */
import type { Sql } from '../engines/engine.ts';
import { LeaseLostError } from '../errors.ts';
import type { Lease } from '../store.ts';
import { checkLease } from './checks.ts';
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
  run: Runner;
  options: SqlStoreOptions;
  /** Now, as a timestamptz parameter. */
  now(): string;
  /** When a lease taken or renewed now expires, as a timestamptz parameter. */
  leaseExpiry(): string;
  /** Runs `fn` after checking `lease`, atomically with the check. */
  fenced<T>(lease: Lease, fn: (tx: Sql) => Promise<T>): Promise<T>;
}

export function opsContext(run: Runner, options: SqlStoreOptions): OpsContext {
  async function fence(tx: Sql, fenced: Set<string>, lease: Lease): Promise<void> {
    checkLease(lease);
    const key = `${lease.sessionId}\u0000${lease.owner}\u0000${lease.generation}`;
    if (fenced.has(key)) return;
    const [row] = await tx.query<{ owner: string | null; generation: string }>(
      'SELECT owner, generation::text AS generation FROM session_leases WHERE session_id = $1 FOR UPDATE',
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
    run,
    options,
    now: () => iso(options.now()),
    leaseExpiry: () => iso(options.now() + options.leaseMs),
    fenced: (lease, fn) =>
      run.atomic(async (tx, checked) => {
        await fence(tx, checked, lease);
        return fn(tx);
      }),
  };
}

/**
 * What the shared SQL implementation needs from a database: statements with `$n` parameters, transactions,
 * and notifications. The PGlite and PostgreSQL engines implement it; nothing above this file knows which
 * one it talks to.
 */

/** Runs one statement (or, without params, a script) and returns its rows. */
export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface Engine extends Sql {
  readonly kind: 'pglite' | 'postgres';
  /** Where the data lives, for messages (no password). */
  readonly location: string;
  /** The setting that points at the data, for setup errors. */
  readonly setting: 'DATA_DIR' | 'DATABASE_URL';
  /** Runs `fn` in a transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** Calls `handler(payload)` for each NOTIFY on `channel`; returns a function that stops listening. */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The SQLSTATE of a database error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

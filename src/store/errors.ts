/**
 * The errors the store throws on purpose. Each message is one line that says what was wrong and, where it
 * helps, what to do. Anything else escaping `src/store/` is a bug (or the database going away mid-run).
 */

/** The store settings the user controls; a setup error always names one of them. */
export type StoreSetting = 'DATA_DIR' | 'DATABASE_URL' | 'LEASE_MS' | 'RETENTION_DAYS';

/**
 * The store cannot start with this configuration: an unreachable or wrong `DATABASE_URL`, an unwritable or
 * busy `DATA_DIR`, a store written by a newer carechat, a bad `LEASE_MS`/`RETENTION_DAYS`. The message names
 * the setting; print it as it is and exit 1 (no stack trace).
 */
export class StoreSetupError extends Error {
  override readonly name = 'StoreSetupError';
  constructor(
    readonly setting: StoreSetting,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A write for a session whose lease this caller no longer holds: another instance took the session over
 * (its fencing generation moved on) or the lease was released. The transaction it was part of is rolled
 * back; the caller must drop the session from memory and must not act on what it was about to write.
 */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly sessionId: string,
    readonly held: { owner: string; generation: number },
    readonly current: { owner: string | null; generation: number } | null,
  ) {
    super(
      current === null
        ? `session ${sessionId}: no lease (owner ${held.owner}, generation ${held.generation}); the session does not exist`
        : `session ${sessionId}: lease lost by ${held.owner} (generation ${held.generation}); ` +
            `now ${current.owner === null ? 'released' : `held by ${current.owner}`} at generation ${current.generation}`,
    );
  }
}

/**
 * A caller passed something the store cannot take: a cursor it did not issue, a limit out of range, an
 * empty id, a snapshot that is not JSON. Safe to show as a 400 reason.
 */
export class StoreInputError extends Error {
  override readonly name = 'StoreInputError';
}

/** A short, safe rendering of a bad value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

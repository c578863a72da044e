/**
 * Input checks of the SQL store: every value a caller passes is checked here before it reaches a
 * statement, and refused with a StoreInputError that names it. Also the listings' opaque page cursors.
 */
import { agentKey } from '../../routing/index.ts';
import { StoreInputError, show } from '../errors.ts';
import { jsonText } from '../json.ts';
import {
  DEFAULT_PAGE_LIMIT,
  type Lease,
  MAX_PAGE_LIMIT,
  type SessionSave,
  type SessionStatus,
  type SessionWrite,
} from '../store.ts';
import { iso } from './rows.ts';

const STATUSES: readonly SessionStatus[] = ['active', 'done', 'error', 'stopped'];

/**
 * The columns a SessionWrite becomes; the snapshot's status and top-level state are read from it. A save
 * without a snapshot (it is unchanged) has null snapshot, state and status: the stored ones are kept.
 */
export function sessionColumns(sessionId: string, write: SessionWrite): SessionColumns;
export function sessionColumns(sessionId: string, write: SessionSave): SessionColumns | KeptSnapshotColumns;
export function sessionColumns(sessionId: string, write: SessionSave): SessionColumns | KeptSnapshotColumns {
  if (!write || typeof write !== 'object') {
    throw new StoreInputError(`session ${sessionId}: a session write must be an object, got ${show(write)}`);
  }
  const machineId = checkText(write.machineId, 'machineId');
  if (!Number.isInteger(write.machineVersion) || write.machineVersion < 0) {
    throw new StoreInputError(
      `session ${sessionId}: machineVersion must be a non-negative integer, got ${show(write.machineVersion)}`,
    );
  }
  const deadlines = write.deadlines ?? {};
  if (typeof deadlines !== 'object' || Array.isArray(deadlines)) {
    throw new StoreInputError(
      `session ${sessionId}: deadlines must be an object of epoch ms, got ${show(deadlines)}`,
    );
  }
  for (const [name, at] of Object.entries(deadlines)) checkTime(at, `deadline ${name}`);
  const times = Object.values(deadlines);
  if (write.outcome !== undefined && write.outcome !== null) checkText(write.outcome, 'outcome');
  const rest = {
    machineId,
    machineVersion: write.machineVersion,
    outcome: write.outcome ?? null,
    summary:
      write.summary === undefined
        ? null
        : jsonText(checkObject(write.summary, 'summary'), `session ${sessionId}: the summary`),
    deadlines: jsonText(deadlines, `session ${sessionId}: the deadlines`),
    nextDeadline: times.length > 0 ? iso(Math.min(...times)) : null,
  };
  if (write.snapshot === undefined) return { ...rest, snapshot: null, state: null, status: null };
  const snapshot = write.snapshot as { status?: unknown; value?: unknown } | null;
  if (!snapshot || typeof snapshot !== 'object' || !STATUSES.includes(snapshot.status as SessionStatus)) {
    throw new StoreInputError(
      `session ${sessionId}: expected a persisted XState snapshot (status ${STATUSES.join('/')}), got ${show(snapshot)}`,
    );
  }
  const value = snapshot.value;
  const state =
    typeof value === 'string'
      ? value
      : value && typeof value === 'object' && !Array.isArray(value)
        ? Object.keys(value)[0]
        : undefined;
  if (state === undefined || state === '') {
    throw new StoreInputError(`session ${sessionId}: the snapshot has no state value, got ${show(value)}`);
  }
  return {
    ...rest,
    snapshot: jsonText(write.snapshot, `session ${sessionId}: the snapshot`),
    state,
    status: snapshot.status as SessionStatus,
  };
}

interface SessionColumns {
  machineId: string;
  machineVersion: number;
  snapshot: string;
  state: string;
  status: SessionStatus;
  outcome: string | null;
  summary: string | null;
  deadlines: string;
  nextDeadline: string | null;
}

type KeptSnapshotColumns = Omit<SessionColumns, 'snapshot' | 'state' | 'status'> & {
  snapshot: null;
  state: null;
  status: null;
};

export function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 2000) {
    throw new StoreInputError(
      `${what} must be a non-empty string of at most 2000 characters, got ${show(value)}`,
    );
  }
  return value;
}

export function checkText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new StoreInputError(`${what} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

export function checkTime(value: unknown, what: string): number {
  // Years 1970–9999: what a timestamptz and Date both hold.
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 253_402_300_799_999) {
    throw new StoreInputError(`${what} must be epoch milliseconds, got ${show(value)}`);
  }
  return value;
}

export function checkObject(value: unknown, what: string): object {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new StoreInputError(`${what} must be a JSON object, got ${show(value)}`);
  }
  return value;
}

export function checkLease(lease: Lease): void {
  if (!lease || typeof lease !== 'object') throw new StoreInputError(`expected a lease, got ${show(lease)}`);
  checkId(lease.sessionId, 'lease.sessionId');
  checkId(lease.owner, 'lease.owner');
  if (!Number.isInteger(lease.generation) || lease.generation < 1) {
    throw new StoreInputError(`lease.generation must be a positive integer, got ${show(lease.generation)}`);
  }
}

export function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new StoreInputError(`${what} must be a positive integer, got ${show(value)}`);
  }
  return value;
}

export function capacityOf(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10_000) {
    throw new StoreInputError(`${what} must be an integer from 1 to 10000, got ${show(value)}`);
  }
  return value;
}

export function keyOf(uri: string): string {
  return agentKey(checkText(uri, 'agent uri'));
}

export function pageLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new StoreInputError(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${show(limit)}`);
  }
  return limit;
}

/** Cursors are opaque to callers: base64url of [epoch ms, id] of the last item of the page before. */
export function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

export function decodeCursor(cursor: unknown): [number, string] {
  const bad = () => new StoreInputError(`cursor ${show(cursor)} is not one this listing returned`);
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]{1,4000}$/.test(cursor)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'number' ||
    !Number.isFinite(value[0]) ||
    value[0] < 0 ||
    value[0] > 253_402_300_799_999 ||
    typeof value[1] !== 'string' ||
    value[1] === ''
  ) {
    throw bad();
  }
  return [value[0], value[1]];
}

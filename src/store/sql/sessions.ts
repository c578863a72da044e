/**
 * Sessions: create with the first lease, fenced saves, load with the lease, paged listing, purge of
 * ended sessions past the retention period (with what they still hold in the queue and the pool).
 */
import { StoreInputError, show } from '../errors.ts';
import type { SessionQuery, StoredSession, StoreOps } from '../store.ts';
import {
  checkId,
  checkText,
  checkTime,
  decodeCursor,
  encodeCursor,
  pageLimit,
  positiveInt,
  sessionColumns,
} from './checks.ts';
import { DAY_MS, type OpsContext } from './context.ts';
import {
  iso,
  LEASE_COLUMNS,
  type LeaseRow,
  ms,
  type SessionRow,
  type StoredRow,
  SUMMARY_COLUMNS,
  toLease,
  toSummary,
} from './rows.ts';

export function sessionOps({
  sql,
  run,
  options,
  now,
  leaseExpiry,
  fencedWrite,
  ledger,
}: OpsContext): StoreOps['sessions'] {
  return {
    async create(owner, sessionId, write) {
      checkId(owner, 'owner');
      checkId(sessionId, 'sessionId');
      const w = sessionColumns(sessionId, write);
      ledger?.gave(owner);
      return run.atomic(async (tx) => {
        const at = now();
        const inserted = await tx.query(
          `INSERT INTO sessions (id, machine_id, machine_version, snapshot, state, status, outcome, summary,
             deadlines, next_deadline_at, created_at, updated_at, ended_at)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8::jsonb, $9::jsonb, $10::timestamptz, $11::timestamptz,
             $11::timestamptz, $12::timestamptz)
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [
            sessionId,
            w.machineId,
            w.machineVersion,
            w.snapshot,
            w.state,
            w.status,
            w.outcome,
            w.summary ?? '{}',
            w.deadlines,
            w.nextDeadline,
            at,
            w.status === 'active' ? null : at,
          ],
        );
        if (inserted.length === 0) return null;
        const [lease] = await tx.query<LeaseRow>(
          `INSERT INTO session_leases (session_id, owner, generation, expires_at)
           VALUES ($1, $2, 1, $3::timestamptz) RETURNING ${LEASE_COLUMNS}`,
          [sessionId, owner, leaseExpiry()],
        );
        const given = toLease(lease as LeaseRow);
        ledger?.gave(owner, given);
        return given;
      });
    },

    async save(lease, write) {
      const w = sessionColumns(lease.sessionId, write);
      // The lease is checked (and locked) by the UPDATE itself: see OpsContext.fencedWrite.
      await fencedWrite(lease, (tx, lock) =>
        tx.query(
          `WITH fence AS (SELECT 1 FROM session_leases
             WHERE session_id = $1 AND owner = $12 AND generation = $13 ${lock})
           UPDATE sessions SET machine_id = $2, machine_version = $3,
             snapshot = COALESCE($4::jsonb, snapshot), state = COALESCE($5, state),
             status = COALESCE($6, status), outcome = COALESCE($7, outcome), summary = COALESCE($8::jsonb, summary),
             deadlines = $9::jsonb, next_deadline_at = $10::timestamptz, updated_at = $11::timestamptz,
             ended_at = CASE WHEN COALESCE($6::text, status) = 'active' THEN NULL
               ELSE COALESCE(ended_at, $11::timestamptz) END
           WHERE id = $1 AND EXISTS (SELECT 1 FROM fence) RETURNING id`,
          [
            lease.sessionId,
            w.machineId,
            w.machineVersion,
            w.snapshot,
            w.state,
            w.status,
            w.outcome,
            w.summary,
            w.deadlines,
            w.nextDeadline,
            now(),
            lease.owner,
            lease.generation,
          ],
        ),
      );
    },

    async load(sessionId) {
      checkId(sessionId, 'sessionId');
      const [row] = await sql.query<SessionRow & StoredRow>(
        `SELECT ${SUMMARY_COLUMNS}, s.machine_id, s.machine_version, s.snapshot, s.deadlines,
           l.owner AS lease_owner, l.generation::text AS lease_generation,
           ${ms('l.expires_at')} AS lease_expires_at
         FROM sessions s LEFT JOIN session_leases l ON l.session_id = s.id WHERE s.id = $1`,
        [sessionId],
      );
      if (!row) return undefined;
      return {
        ...toSummary(row),
        machineId: row.machine_id,
        machineVersion: row.machine_version,
        snapshot: row.snapshot as StoredSession['snapshot'],
        deadlines: row.deadlines,
        lease: {
          owner: row.lease_owner,
          generation: Number(row.lease_generation ?? 0),
          expiresAt: Math.round(row.lease_expires_at ?? 0),
        },
      };
    },

    async list(query: SessionQuery = {}) {
      if (query === null || typeof query !== 'object') {
        throw new StoreInputError(`a session query must be an object, got ${show(query)}`);
      }
      const limit = pageLimit(query.limit);
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (value: unknown) => {
        params.push(value);
        return `$${params.length}`;
      };
      if (query.state !== undefined) where.push(`s.state = ${param(checkText(query.state, 'state'))}`);
      if (query.outcome !== undefined) {
        where.push(`s.outcome = ${param(checkText(query.outcome, 'outcome'))}`);
      }
      if (query.since !== undefined) {
        where.push(`s.created_at >= ${param(iso(checkTime(query.since, 'since')))}::timestamptz`);
      }
      if (query.cursor !== undefined) {
        const [at, id] = decodeCursor(query.cursor);
        where.push(`(s.created_at, s.id) < (${param(iso(at))}::timestamptz, ${param(id)}::text)`);
      }
      const rows = await sql.query<SessionRow>(
        `SELECT ${SUMMARY_COLUMNS} FROM sessions s ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY s.created_at DESC, s.id DESC LIMIT ${param(limit + 1)}`,
        params,
      );
      const items = rows.slice(0, limit).map(toSummary);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },

    async purgeEnded(purgeOptions = {}) {
      const limit = positiveInt(purgeOptions.limit ?? 1000, 'limit');
      const before = iso(options.now() - options.retentionDays * DAY_MS);
      return run.atomic(async (tx) => {
        const gone = await tx.query<{ id: string }>(
          `DELETE FROM sessions WHERE id IN (
             SELECT id FROM sessions WHERE ended_at < $1::timestamptz ORDER BY ended_at LIMIT $2)
           RETURNING id`,
          [before, limit],
        );
        const ids = gone.map((row) => row.id);
        for (const id of ids) ledger?.forget(id);
        if (ids.length > 0) {
          await tx.query('DELETE FROM queue WHERE session_id = ANY($1::text[])', [ids]);
          // An ended chat an agent still holds is a leak; after the retention period, free the agent.
          await tx.query(
            `WITH freed AS (DELETE FROM agent_chats WHERE session_id = ANY($1::text[]) RETURNING agent_key)
             UPDATE agents a SET load = GREATEST(a.load - f.n, 0)
             FROM (SELECT agent_key, count(*)::int AS n FROM freed GROUP BY agent_key) f
             WHERE a.key = f.agent_key`,
            [ids],
          );
        }
        await tx.query(
          'DELETE FROM webhook_outbox WHERE session_id IS NULL AND delivered_at < $1::timestamptz',
          [before],
        );
        return ids.length;
      });
    },
  };
}

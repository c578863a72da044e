/**
 * Leases: who owns a session. Acquire, renew, release, and take over the sessions whose owner stopped
 * renewing; every takeover raises the generation, which fences the old owner's writes.
 */
import type { StoreOps } from '../store.ts';
import { checkId, checkLease, positiveInt } from './checks.ts';
import type { OpsContext } from './context.ts';
import { LEASE_COLUMNS, type LeaseRow, toLease } from './rows.ts';

export function leaseOps({ sql, now, leaseExpiry, ledger }: OpsContext): StoreOps['leases'] {
  return {
    async acquire(sessionId, owner) {
      checkId(sessionId, 'sessionId');
      checkId(owner, 'owner');
      const [row] = await sql.query<LeaseRow>(
        `UPDATE session_leases SET
           generation = CASE WHEN owner = $2 THEN generation ELSE generation + 1 END,
           owner = $2, expires_at = $3::timestamptz
         WHERE session_id = $1 AND (owner = $2 OR owner IS NULL OR expires_at <= $4::timestamptz)
         RETURNING ${LEASE_COLUMNS}`,
        [sessionId, owner, leaseExpiry(), now()],
      );
      const lease = row ? toLease(row) : null;
      ledger?.gave(owner, lease ?? undefined);
      if (!lease) ledger?.forget(sessionId);
      return lease;
    },

    async renew(owner) {
      checkId(owner, 'owner');
      const rows = await sql.query<LeaseRow>(
        `UPDATE session_leases SET expires_at = $2::timestamptz WHERE owner = $1 RETURNING ${LEASE_COLUMNS}`,
        [owner, leaseExpiry()],
      );
      const leases = rows.map(toLease);
      ledger?.gave(owner);
      for (const lease of leases) ledger?.gave(owner, lease);
      return leases.sort((a, b) => a.sessionId.localeCompare(b.sessionId));
    },

    async release(lease) {
      checkLease(lease);
      ledger?.gave(lease.owner);
      ledger?.forget(lease.sessionId);
      const rows = await sql.query(
        `UPDATE session_leases SET owner = NULL, expires_at = $4::timestamptz
         WHERE session_id = $1 AND owner = $2 AND generation = $3 RETURNING session_id`,
        [lease.sessionId, lease.owner, lease.generation, now()],
      );
      return rows.length > 0;
    },

    async check(leases) {
      for (const lease of leases) checkLease(lease);
      if (leases.length === 0) return new Set();
      const vouched = ledger?.held(leases);
      if (vouched) return vouched;
      const rows = await sql.query<{ session_id: string; owner: string | null; generation: string }>(
        `SELECT session_id, owner, generation::text AS generation FROM session_leases
         WHERE session_id = ANY($1::text[])`,
        [leases.map((lease) => lease.sessionId)],
      );
      const held = new Set<string>();
      const asked = new Map(leases.map((lease) => [lease.sessionId, lease]));
      for (const row of rows) {
        const lease = asked.get(row.session_id);
        if (lease && row.owner === lease.owner && Number(row.generation) === lease.generation)
          held.add(row.session_id);
      }
      return held;
    },

    async releaseAll(owner) {
      checkId(owner, 'owner');
      ledger?.gave(owner);
      ledger?.forgetAll();
      const rows = await sql.query(
        `UPDATE session_leases SET owner = NULL, expires_at = $2::timestamptz WHERE owner = $1
         RETURNING session_id`,
        [owner, now()],
      );
      return rows.length;
    },

    async takeOver(owner, takeOptions = {}) {
      checkId(owner, 'owner');
      const limit = positiveInt(takeOptions.limit ?? 100, 'limit');
      const rows = await sql.query<LeaseRow>(
        `UPDATE session_leases l SET owner = $1, generation = l.generation + 1, expires_at = $2::timestamptz
         WHERE l.session_id IN (
           SELECT x.session_id FROM session_leases x JOIN sessions s ON s.id = x.session_id
           WHERE s.ended_at IS NULL
             AND (x.owner IS NULL OR (x.expires_at <= $3::timestamptz AND x.owner <> $1))
           ORDER BY x.expires_at, x.session_id LIMIT $4
           FOR UPDATE OF x SKIP LOCKED)
         RETURNING ${LEASE_COLUMNS}`,
        [owner, leaseExpiry(), now(), limit],
      );
      const leases = rows.map(toLease);
      ledger?.gave(owner);
      for (const lease of leases) ledger?.gave(owner, lease);
      return leases.sort((a, b) => a.sessionId.localeCompare(b.sessionId));
    },
  };
}

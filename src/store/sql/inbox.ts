/**
 * The inbox: callbacks recorded for a session another instance owns, signalled to that owner when the
 * transaction commits (pg_notify on INBOX_CHANNEL), and taken by the owner under its lease.
 */
import { StoreInputError, show } from '../errors.ts';
import { jsonText } from '../json.ts';
import type { InboxItem, Json, StoreOps } from '../store.ts';
import { checkId } from './checks.ts';
import type { OpsContext } from './context.ts';
import { ms } from './rows.ts';

/** The notification channel inbox signals travel on. */
export const INBOX_CHANNEL = 'carechat_inbox';

export function inboxOps({ run, now, fenced }: OpsContext): StoreOps['inbox'] {
  return {
    async record(sessionId, item) {
      checkId(sessionId, 'sessionId');
      if (!item || typeof item !== 'object') {
        throw new StoreInputError(`an inbox item must be an object, got ${show(item)}`);
      }
      checkId(item.key, 'callback key');
      const payload = jsonText(item.payload, 'inbox payload');
      return run.atomic(async (tx) => {
        const [session] = await tx.query<{ owner: string | null }>(
          `SELECT l.owner FROM sessions s LEFT JOIN session_leases l ON l.session_id = s.id WHERE s.id = $1`,
          [sessionId],
        );
        if (!session) return { recorded: false, owner: null, known: false };
        const inserted = await tx.query(
          `INSERT INTO inbox (session_id, key, payload, recorded_at)
           SELECT $1, $2, $3::jsonb, $4::timestamptz
           WHERE NOT EXISTS (SELECT 1 FROM callbacks_taken WHERE session_id = $1 AND key = $2)
           ON CONFLICT (session_id, key) DO NOTHING RETURNING id`,
          [sessionId, item.key, payload, now()],
        );
        const recorded = inserted.length > 0;
        if (recorded && session.owner !== null) {
          // Delivered when this transaction commits, to every listener on every instance.
          await tx.query('SELECT pg_notify($1, $2)', [
            INBOX_CHANNEL,
            JSON.stringify({ o: session.owner, s: sessionId }),
          ]);
        }
        return { recorded, owner: session.owner, known: true };
      });
    },

    async take(lease) {
      const rows = await fenced(lease, (tx) =>
        tx.query<InboxRow>(
          `DELETE FROM inbox WHERE session_id = $1
           RETURNING id::text AS id, session_id, key, payload, ${ms('recorded_at')} AS recorded_at`,
          [lease.sessionId],
        ),
      );
      return toItems(rows);
    },

    async pending(lease) {
      const rows = await fenced(lease, (tx) =>
        tx.query<InboxRow>(
          `SELECT id::text AS id, session_id, key, payload, ${ms('recorded_at')} AS recorded_at
           FROM inbox WHERE session_id = $1 ORDER BY id`,
          [lease.sessionId],
        ),
      );
      return toItems(rows);
    },

    async done(lease, items) {
      if (!Array.isArray(items))
        throw new StoreInputError(`inbox items must be an array, got ${show(items)}`);
      if (items.length === 0) return 0;
      for (const item of items) {
        if (!Number.isSafeInteger(item?.id))
          throw new StoreInputError(`an inbox item id must be an integer, got ${show(item?.id)}`);
        checkId(item.key, 'callback key');
      }
      return fenced(lease, async (tx) => {
        const removed = await tx.query(
          'DELETE FROM inbox WHERE session_id = $1 AND id = ANY($2::bigint[]) RETURNING id',
          [lease.sessionId, items.map((item) => String(item.id))],
        );
        await tx.query(
          `INSERT INTO callbacks_taken (session_id, key, taken_at)
           SELECT $1, k, $3::timestamptz FROM unnest($2::text[]) AS k
           ON CONFLICT DO NOTHING`,
          [lease.sessionId, items.map((item) => item.key), now()],
        );
        return removed.length;
      });
    },

    async owned(owner) {
      checkId(owner, 'owner');
      const rows = await run.atomic((tx) =>
        tx.query<{ session_id: string }>(
          `SELECT DISTINCT i.session_id FROM inbox i JOIN session_leases l ON l.session_id = i.session_id
           WHERE l.owner = $1 ORDER BY i.session_id`,
          [owner],
        ),
      );
      return rows.map((row) => row.session_id);
    },
  };
}

interface InboxRow {
  id: string;
  session_id: string;
  key: string;
  payload: Json;
  recorded_at: number;
}

function toItems(rows: InboxRow[]): InboxItem[] {
  return rows
    .map(
      (row): InboxItem => ({
        id: Number(row.id),
        sessionId: row.session_id,
        key: row.key,
        payload: row.payload,
        recordedAt: Math.round(row.recorded_at),
      }),
    )
    .sort((a, b) => a.id - b.id);
}

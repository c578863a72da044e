/**
 * What the customer and agents wrote: transcript lines (once per key, in order) and the messages left
 * by customers whose chat ended without an agent (one per session, paged listing).
 */
import { StoreInputError, show } from '../errors.ts';
import { jsonText } from '../json.ts';
import type { JsonObject, LeftMessageRecord, StoreOps, TranscriptLine } from '../store.ts';
import {
  checkId,
  checkObject,
  checkText,
  checkTime,
  decodeCursor,
  encodeCursor,
  pageLimit,
} from './checks.ts';
import type { OpsContext } from './context.ts';
import { iso, ms } from './rows.ts';

export function transcriptOps({ sql, fenced }: OpsContext): Pick<StoreOps, 'transcripts' | 'leftMessages'> {
  return {
    transcripts: {
      async append(lease, line) {
        if (!line || typeof line !== 'object') {
          throw new StoreInputError(`a transcript line must be an object, got ${show(line)}`);
        }
        checkId(line.key, 'transcript key');
        const at = iso(checkTime(line.at, 'at'));
        const entry = jsonText(checkObject(line.entry, 'transcript entry'), 'transcript entry');
        const rows = await fenced(lease, (tx) =>
          tx.query(
            `INSERT INTO transcripts (session_id, key, at, entry) VALUES ($1, $2, $3::timestamptz, $4::jsonb)
             ON CONFLICT (session_id, key) DO NOTHING RETURNING seq`,
            [lease.sessionId, line.key, at, entry],
          ),
        );
        return rows.length > 0;
      },

      async appendLate(sessionId, line) {
        checkId(sessionId, 'sessionId');
        if (!line || typeof line !== 'object') {
          throw new StoreInputError(`a transcript line must be an object, got ${show(line)}`);
        }
        checkId(line.key, 'transcript key');
        const at = iso(checkTime(line.at, 'at'));
        const entry = jsonText(checkObject(line.entry, 'transcript entry'), 'transcript entry');
        const rows = await sql.query(
          `INSERT INTO transcripts (session_id, key, at, entry)
           SELECT $1, $2, $3::timestamptz, $4::jsonb
           WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND status <> 'active')
           ON CONFLICT (session_id, key) DO NOTHING RETURNING seq`,
          [sessionId, line.key, at, entry],
        );
        return rows.length > 0;
      },

      async read(sessionId) {
        checkId(sessionId, 'sessionId');
        const rows = await sql.query<{ seq: string; key: string; at: number; entry: JsonObject }>(
          `SELECT seq::text AS seq, key, ${ms('at')} AS at, entry FROM transcripts WHERE session_id = $1
           ORDER BY seq`,
          [sessionId],
        );
        return rows.map(
          (row): TranscriptLine => ({
            seq: Number(row.seq),
            key: row.key,
            at: Math.round(row.at),
            entry: row.entry,
          }),
        );
      },
    },
    leftMessages: {
      async save(lease, message) {
        if (!message || typeof message !== 'object') {
          throw new StoreInputError(`a left message must be an object, got ${show(message)}`);
        }
        const at = iso(checkTime(message.at, 'at'));
        const outcome = checkText(message.outcome, 'outcome');
        const content = jsonText(
          checkObject(message.content, 'left message content'),
          'left message content',
        );
        await fenced(lease, (tx) =>
          tx.query(
            `INSERT INTO left_messages (session_id, at, outcome, content)
             VALUES ($1, $2::timestamptz, $3, $4::jsonb)
             ON CONFLICT (session_id) DO UPDATE SET at = EXCLUDED.at, outcome = EXCLUDED.outcome,
               content = EXCLUDED.content`,
            [lease.sessionId, at, outcome, content],
          ),
        );
      },

      async list(query = {}) {
        const limit = pageLimit(query.limit);
        const where: string[] = [];
        const params: unknown[] = [];
        const param = (value: unknown) => {
          params.push(value);
          return `$${params.length}`;
        };
        if (query.since !== undefined)
          where.push(`at >= ${param(iso(checkTime(query.since, 'since')))}::timestamptz`);
        if (query.cursor !== undefined) {
          const [at, id] = decodeCursor(query.cursor);
          where.push(`(at, session_id) < (${param(iso(at))}::timestamptz, ${param(id)}::text)`);
        }
        const rows = await sql.query<{
          session_id: string;
          at: number;
          outcome: string;
          content: JsonObject;
        }>(
          `SELECT session_id, ${ms('at')} AS at, outcome, content FROM left_messages
           ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY at DESC, session_id DESC LIMIT ${param(limit + 1)}`,
          params,
        );
        const items = rows.slice(0, limit).map(
          (row): LeftMessageRecord => ({
            sessionId: row.session_id,
            at: Math.round(row.at),
            outcome: row.outcome,
            content: row.content,
          }),
        );
        const last = items[items.length - 1];
        return {
          items,
          nextCursor: rows.length > limit && last ? encodeCursor(last.at, last.sessionId) : null,
        };
      },
    },
  };
}

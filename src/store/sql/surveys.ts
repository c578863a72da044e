/**
 * Post-chat survey answers, one per chat (the table's primary key decides between concurrent answers),
 * saved with their webhook event in one transaction; and the widget threads chats came from, by which a
 * survey token finds its chat.
 */
import { StoreInputError, show } from '../errors.ts';
import type { StoreOps } from '../store.ts';
import { checkId, checkTime } from './checks.ts';
import type { OpsContext } from './context.ts';
import { iso, ms } from './rows.ts';
import { insertOutbox, outboxEvent } from './webhooks.ts';

/** Longest survey comment the store keeps, in characters. */
const MAX_COMMENT = 10_000;

export function surveyOps({ sql, run, now, fenced }: OpsContext): StoreOps['surveys'] {
  return {
    async linkThread(lease, threadId) {
      checkId(threadId, 'threadId');
      await fenced(lease, (tx) =>
        tx.query(
          `INSERT INTO chat_threads (thread_id, session_id) VALUES ($1, $2) ON CONFLICT (thread_id) DO NOTHING`,
          [threadId, lease.sessionId],
        ),
      );
    },

    async sessionOfThread(threadId) {
      checkId(threadId, 'threadId');
      const [row] = await sql.query<{ session_id: string }>(
        'SELECT session_id FROM chat_threads WHERE thread_id = $1',
        [threadId],
      );
      return row?.session_id;
    },

    async save(sessionId, answer, event) {
      checkId(sessionId, 'sessionId');
      if (!answer || typeof answer !== 'object') {
        throw new StoreInputError(`a survey answer must be an object, got ${show(answer)}`);
      }
      if (!Number.isInteger(answer.score) || answer.score < 1 || answer.score > 5) {
        throw new StoreInputError(`a survey score must be an integer from 1 to 5, got ${show(answer.score)}`);
      }
      const comment = answer.comment ?? null;
      if (comment !== null && (typeof comment !== 'string' || comment.length > MAX_COMMENT)) {
        throw new StoreInputError(
          `a survey comment must be a string of at most ${MAX_COMMENT} characters, got ${show(comment)}`,
        );
      }
      const submittedAt = iso(checkTime(answer.submittedAt, 'submittedAt'));
      const checked = event === undefined ? undefined : outboxEvent(event);
      return run.atomic(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO survey_answers (session_id, score, comment, submitted_at)
           SELECT $1, $2, $3, $4::timestamptz WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $1)
           ON CONFLICT (session_id) DO NOTHING RETURNING session_id`,
          [sessionId, answer.score, comment, submittedAt],
        );
        if (inserted.length === 0) {
          const [known] = await tx.query('SELECT 1 FROM sessions WHERE id = $1', [sessionId]);
          return known ? 'duplicate' : 'unknown';
        }
        if (checked) await insertOutbox(tx, sessionId, checked, now());
        return 'saved';
      });
    },

    async get(sessionId) {
      checkId(sessionId, 'sessionId');
      const [row] = await sql.query<{
        session_id: string;
        score: number;
        comment: string | null;
        submitted_at: number;
      }>(
        `SELECT session_id, score, comment, ${ms('submitted_at')} AS submitted_at
         FROM survey_answers WHERE session_id = $1`,
        [sessionId],
      );
      if (!row) return undefined;
      return {
        sessionId: row.session_id,
        score: Number(row.score),
        comment: row.comment,
        submittedAt: Math.round(row.submitted_at),
      };
    },
  };
}

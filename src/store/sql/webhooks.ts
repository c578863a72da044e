/**
 * The webhook outbox: events enqueued (with the session's writes when a lease is given), claimed for
 * delivery in order per session with a visibility timeout, and marked delivered or failed with a retry time.
 */
import type { Sql } from '../engines/engine.ts';
import { StoreInputError, show } from '../errors.ts';
import { jsonText } from '../json.ts';
import type { Json, StoreOps } from '../store.ts';
import { checkText, checkTime, positiveInt } from './checks.ts';
import type { OpsContext } from './context.ts';
import { iso, toWebhook, WEBHOOK_COLUMNS, type WebhookRow } from './rows.ts';

/** A webhook event checked for the outbox: its type and its payload as JSON text. */
export function outboxEvent(event: { type: string; payload: Json }): { type: string; payload: string } {
  if (!event || typeof event !== 'object') {
    throw new StoreInputError(`a webhook event must be an object, got ${show(event)}`);
  }
  return {
    type: checkText(event.type, 'webhook event type'),
    payload: jsonText(event.payload, 'webhook payload'),
  };
}

/** Adds a checked event to the outbox (the session's when `sessionId` is given); returns its id. */
export async function insertOutbox(
  tx: Sql,
  sessionId: string | null,
  event: { type: string; payload: string },
  at: string,
): Promise<number> {
  const [row] = await tx.query<{ id: string }>(
    `INSERT INTO webhook_outbox (session_id, event_type, payload, created_at, next_attempt_at)
     VALUES ($1, $2, $3::jsonb, $4::timestamptz, $4::timestamptz) RETURNING id::text AS id`,
    [sessionId, event.type, event.payload, at],
  );
  return Number(row?.id);
}

export function webhookOps({ sql, options, now, fenced }: OpsContext): StoreOps['webhooks'] {
  return {
    async enqueue(event, lease) {
      const checked = outboxEvent(event);
      const insert = (tx: Sql) => insertOutbox(tx, lease?.sessionId ?? null, checked, now());
      return lease ? fenced(lease, insert) : insert(sql);
    },

    async claim(claimOptions = {}) {
      const limit = positiveInt(claimOptions.limit ?? 50, 'limit');
      const visibilityMs = positiveInt(claimOptions.visibilityMs ?? 30_000, 'visibilityMs');
      const rows = await sql.query<WebhookRow>(
        `UPDATE webhook_outbox w SET attempts = w.attempts + 1, next_attempt_at = $3::timestamptz
         WHERE w.id IN (
           SELECT o.id FROM webhook_outbox o
           WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1::timestamptz
             AND (o.session_id IS NULL OR NOT EXISTS (
               SELECT 1 FROM webhook_outbox p
               WHERE p.session_id = o.session_id AND p.delivered_at IS NULL AND p.id < o.id))
           ORDER BY o.id LIMIT $2
           FOR UPDATE SKIP LOCKED)
         RETURNING ${WEBHOOK_COLUMNS}`,
        [now(), limit, iso(options.now() + visibilityMs)],
      );
      return rows.map(toWebhook).sort((a, b) => a.id - b.id);
    },

    async delivered(id) {
      await sql.query(
        'UPDATE webhook_outbox SET delivered_at = $2::timestamptz WHERE id = $1 AND delivered_at IS NULL',
        [positiveInt(id, 'webhook id'), now()],
      );
    },

    async failed(id, failure) {
      if (!failure || typeof failure !== 'object') {
        throw new StoreInputError(`a webhook failure must be an object, got ${show(failure)}`);
      }
      await sql.query(
        `UPDATE webhook_outbox SET last_error = $2, next_attempt_at = $3::timestamptz
         WHERE id = $1 AND delivered_at IS NULL`,
        [positiveInt(id, 'webhook id'), String(failure.error), iso(checkTime(failure.retryAt, 'retryAt'))],
      );
    },
  };
}

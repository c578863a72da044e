/**
 * Callbacks taken and effects started, both fenced by the session's lease: a callback is taken once,
 * an effect starts once per operationId (again only after a failure) and is finished with its result.
 */
import { StoreInputError, show } from '../errors.ts';
import { jsonText } from '../json.ts';
import type { StoreOps } from '../store.ts';
import { checkId } from './checks.ts';
import type { OpsContext } from './context.ts';
import { EFFECT_COLUMNS, type EffectRow, toEffect } from './rows.ts';

export function effectOps({ sql, now, fenced }: OpsContext): Pick<StoreOps, 'callbacks' | 'effects'> {
  return {
    callbacks: {
      async take(lease, key) {
        checkId(key, 'callback key');
        const rows = await fenced(lease, (tx) =>
          tx.query(
            `INSERT INTO callbacks_taken (session_id, key, taken_at) VALUES ($1, $2, $3::timestamptz)
             ON CONFLICT DO NOTHING RETURNING key`,
            [lease.sessionId, key, now()],
          ),
        );
        return rows.length > 0;
      },
    },
    effects: {
      async start(lease, effect) {
        if (!effect || typeof effect !== 'object') {
          throw new StoreInputError(`an effect must be an object, got ${show(effect)}`);
        }
        checkId(effect.operationId, 'operationId');
        checkId(effect.kind, 'effect kind');
        const input = effect.input === undefined ? null : jsonText(effect.input, 'effect input');
        return fenced(lease, async (tx) => {
          const [started] = await tx.query<EffectRow>(
            `INSERT INTO effects (operation_id, session_id, kind, input, status, attempts, started_at)
             VALUES ($1, $2, $3, $4::jsonb, 'started', 1, $5::timestamptz)
             ON CONFLICT (operation_id) DO UPDATE SET status = 'started', attempts = effects.attempts + 1,
               started_at = EXCLUDED.started_at, finished_at = NULL, result = NULL
             WHERE effects.status = 'failed' AND effects.session_id = EXCLUDED.session_id
             RETURNING ${EFFECT_COLUMNS}`,
            [effect.operationId, lease.sessionId, effect.kind, input, now()],
          );
          if (started) return { effect: toEffect(started), fresh: true };
          const [existing] = await tx.query<EffectRow>(
            `SELECT ${EFFECT_COLUMNS} FROM effects WHERE operation_id = $1`,
            [effect.operationId],
          );
          if (!existing || existing.session_id !== lease.sessionId) {
            throw new StoreInputError(
              `operationId ${show(effect.operationId)} belongs to session ${show(existing?.session_id)}, not ${show(lease.sessionId)}`,
            );
          }
          return { effect: toEffect(existing), fresh: false };
        });
      },

      async finish(lease, operationId, end) {
        checkId(operationId, 'operationId');
        if (!end || (end.status !== 'done' && end.status !== 'failed')) {
          throw new StoreInputError(
            `an effect ends 'done' or 'failed', got ${show((end as { status?: unknown } | null)?.status)}`,
          );
        }
        const value = end.status === 'done' ? end.result : end.error;
        const result = value === undefined ? null : jsonText(value, 'effect result');
        const rows = await fenced(lease, (tx) =>
          tx.query(
            `UPDATE effects SET status = $3, result = $4::jsonb, finished_at = $5::timestamptz
             WHERE operation_id = $1 AND session_id = $2 RETURNING operation_id`,
            [operationId, lease.sessionId, end.status, result, now()],
          ),
        );
        return rows.length > 0;
      },

      async inFlight(sessionId) {
        checkId(sessionId, 'sessionId');
        const rows = await sql.query<EffectRow>(
          `SELECT ${EFFECT_COLUMNS} FROM effects WHERE session_id = $1 AND status = 'started'
           ORDER BY started_at, operation_id`,
          [sessionId],
        );
        return rows.map(toEffect);
      },
    },
  };
}

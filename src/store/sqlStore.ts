/**
 * The Store over SQL: one implementation for both engines (they differ only in how statements reach the
 * database). Session-owned writes are fenced: the first one in a transaction locks the session's lease row
 * (FOR UPDATE) and checks owner and generation, so a takeover waits for that transaction and every later
 * write of the old owner is refused.
 */
import { agentKey, type ChatQueue, type Pool, PRESENCES, type Presence } from '../routing/index.ts';
import type { Engine, Sql } from './engines/engine.ts';
import { LeaseLostError, StoreInputError, show } from './errors.ts';
import { jsonText, storableText } from './json.ts';
import {
  DEFAULT_PAGE_LIMIT,
  type EffectRecord,
  type InboxItem,
  type Json,
  type JsonObject,
  type Lease,
  type LeftMessageRecord,
  MAX_PAGE_LIMIT,
  type MigrationInfo,
  type ReserveResult,
  type SessionQuery,
  type SessionStatus,
  type SessionSummary,
  type SessionWrite,
  type Store,
  type StoredSession,
  type StoreOps,
  type TranscriptLine,
  type WebhookRecord,
} from './store.ts';

export interface SqlStoreOptions {
  leaseMs: number;
  retentionDays: number;
  /** The clock every stored time comes from (epoch ms). */
  now: () => number;
}

const INBOX_CHANNEL = 'carechat_inbox';
const DAY_MS = 86_400_000;
const STATUSES: readonly SessionStatus[] = ['active', 'done', 'error', 'stopped'];

/** How one group of operations reaches the database: single statements, and atomic groups of them. */
interface Runner {
  sql: Sql;
  /** Runs `fn` atomically: in the caller's transaction, or in a new one. `fenced` lists leases checked in it. */
  atomic<T>(fn: (sql: Sql, fenced: Set<string>) => Promise<T>): Promise<T>;
}

export function createSqlStore(
  engine: Engine,
  schema: { applied: MigrationInfo[]; version: number },
  options: SqlStoreOptions,
): Store {
  const top: Runner = {
    sql: paramsCleaned(engine),
    atomic: (fn) => engine.transaction((sql) => fn(paramsCleaned(sql), new Set())),
  };
  const ops = makeOps(top, options);
  return {
    ...ops,
    engine: engine.kind,
    location: engine.location,
    schema,
    transaction(fn) {
      return engine.transaction((raw) => {
        const sql = paramsCleaned(raw);
        const fenced = new Set<string>();
        return fn(makeOps({ sql, atomic: (inner) => inner(sql, fenced) }, options));
      });
    },
    async onInbox(owner, handler) {
      checkId(owner, 'owner');
      return engine.listen(INBOX_CHANNEL, (payload) => {
        let signal: { o?: unknown; s?: unknown };
        try {
          signal = JSON.parse(payload);
        } catch {
          return;
        }
        if (signal.o === owner && typeof signal.s === 'string') handler(signal.s);
      });
    },
    close: () => engine.close(),
  };
}

/** Every string parameter made storable (no U+0000, no lone surrogates). */
function paramsCleaned(sql: Sql): Sql {
  return {
    query: (text, params) =>
      sql.query(
        text,
        params?.map((p) => (typeof p === 'string' ? storableText(p) : p)),
      ),
  };
}

function makeOps(run: Runner, options: SqlStoreOptions): StoreOps {
  const { sql } = run;
  const now = () => iso(options.now());
  const leaseExpiry = () => iso(options.now() + options.leaseMs);

  async function fence(tx: Sql, fenced: Set<string>, lease: Lease): Promise<void> {
    checkLease(lease);
    const key = `${lease.sessionId}\u0000${lease.owner}\u0000${lease.generation}`;
    if (fenced.has(key)) return;
    const [row] = await tx.query<{ owner: string | null; generation: string }>(
      'SELECT owner, generation::text AS generation FROM session_leases WHERE session_id = $1 FOR UPDATE',
      [lease.sessionId],
    );
    if (!row || row.owner !== lease.owner || Number(row.generation) !== lease.generation) {
      throw new LeaseLostError(
        lease.sessionId,
        { owner: lease.owner, generation: lease.generation },
        row ? { owner: row.owner, generation: Number(row.generation) } : null,
      );
    }
    fenced.add(key);
  }

  /** Runs `fn` after checking `lease`, atomically with the check. */
  const fenced = <T>(lease: Lease, fn: (tx: Sql) => Promise<T>) =>
    run.atomic(async (tx, checked) => {
      await fence(tx, checked, lease);
      return fn(tx);
    });

  return {
    sessions: {
      async create(owner, sessionId, write) {
        checkId(owner, 'owner');
        checkId(sessionId, 'sessionId');
        const w = sessionColumns(sessionId, write);
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
          return toLease(lease as LeaseRow);
        });
      },

      async save(lease, write) {
        const w = sessionColumns(lease.sessionId, write);
        await fenced(lease, (tx) =>
          tx.query(
            `UPDATE sessions SET machine_id = $2, machine_version = $3, snapshot = $4::jsonb, state = $5,
               status = $6, outcome = COALESCE($7, outcome), summary = COALESCE($8::jsonb, summary),
               deadlines = $9::jsonb, next_deadline_at = $10::timestamptz, updated_at = $11::timestamptz,
               ended_at = CASE WHEN $6::text = 'active' THEN NULL ELSE COALESCE(ended_at, $11::timestamptz) END
             WHERE id = $1`,
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
    },

    leases: {
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
        return row ? toLease(row) : null;
      },

      async renew(owner) {
        checkId(owner, 'owner');
        const rows = await sql.query<LeaseRow>(
          `UPDATE session_leases SET expires_at = $2::timestamptz WHERE owner = $1 RETURNING ${LEASE_COLUMNS}`,
          [owner, leaseExpiry()],
        );
        return rows.map(toLease).sort((a, b) => a.sessionId.localeCompare(b.sessionId));
      },

      async release(lease) {
        checkLease(lease);
        const rows = await sql.query(
          `UPDATE session_leases SET owner = NULL, expires_at = $4::timestamptz
           WHERE session_id = $1 AND owner = $2 AND generation = $3 RETURNING session_id`,
          [lease.sessionId, lease.owner, lease.generation, now()],
        );
        return rows.length > 0;
      },

      async releaseAll(owner) {
        checkId(owner, 'owner');
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
        return rows.map(toLease).sort((a, b) => a.sessionId.localeCompare(b.sessionId));
      },
    },

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

    pool: {
      async syncRoster(roster, defaults) {
        if (!Array.isArray(roster))
          throw new StoreInputError(`the roster must be an array, got ${show(roster)}`);
        const fallback = capacityOf(defaults?.capacity, 'the default capacity');
        const entries = roster.map((agent, index) => {
          const where = `roster entry ${index}`;
          if (!agent || typeof agent !== 'object') {
            throw new StoreInputError(`${where} must be an object, got ${show(agent)}`);
          }
          const uri = checkText(agent.uri, `${where}: uri`).trim();
          const skills = agent.skills ?? [];
          if (!Array.isArray(skills) || skills.some((s) => typeof s !== 'string')) {
            throw new StoreInputError(`${where} (${uri}): skills must be an array of strings`);
          }
          return {
            key: agentKey(uri),
            uri,
            name: checkText(agent.name, `${where} (${uri}): name`),
            skills: [...new Set(skills.map((s) => s.trim().toLowerCase()).filter(Boolean))],
            capacity:
              agent.capacity === undefined
                ? fallback
                : capacityOf(agent.capacity, `${where} (${uri}): capacity`),
          };
        });
        const keys = entries.map((e) => e.key);
        const twice = keys.find((key, index) => keys.indexOf(key) !== index);
        if (twice !== undefined) throw new StoreInputError(`the roster lists agent ${twice} twice`);
        await run.atomic(async (tx) => {
          for (const [index, agent] of entries.entries()) {
            await tx.query(
              `INSERT INTO agents (key, uri, name, skills, presence, capacity, roster_order, in_roster)
               VALUES ($1, $2, $3, $4::jsonb, 'available', $5, $6, true)
               ON CONFLICT (key) DO UPDATE SET uri = EXCLUDED.uri, name = EXCLUDED.name,
                 skills = EXCLUDED.skills, capacity = EXCLUDED.capacity, roster_order = EXCLUDED.roster_order,
                 presence = CASE WHEN agents.in_roster THEN agents.presence ELSE 'available' END,
                 in_roster = true`,
              [agent.key, agent.uri, agent.name, JSON.stringify(agent.skills), agent.capacity, index],
            );
          }
          await tx.query(
            `UPDATE agents SET in_roster = false, presence = 'offline'
             WHERE in_roster AND NOT (key = ANY($1::text[]))`,
            [keys],
          );
        });
      },

      async load() {
        // One statement: the agents and the chats they hold are one consistent picture.
        const rows = await sql.query<AgentRow>(
          `SELECT a.key, a.uri, a.name, a.skills, a.presence, a.capacity, a.missed_offers_in_row,
             ${ms('a.last_assigned_at')} AS last_assigned_at, ${ms('a.last_chat_ended_at')} AS last_chat_ended_at,
             COALESCE(json_agg(json_build_array(c.session_id, c.status) ORDER BY c.since, c.session_id)
               FILTER (WHERE c.session_id IS NOT NULL), '[]') AS chats
           FROM agents a LEFT JOIN agent_chats c ON c.agent_key = a.key
           GROUP BY a.key ORDER BY a.in_roster DESC, a.roster_order, a.key`,
        );
        const [state] = await sql.query<{ rr_cursor: number }>('SELECT rr_cursor FROM routing_state');
        const pool: Pool = { agents: {}, rrCursor: state?.rr_cursor ?? -1 };
        for (const row of rows) {
          pool.agents[row.key] = {
            uri: row.uri,
            name: row.name,
            skills: row.skills,
            presence: row.presence,
            capacity: row.capacity,
            activeChats: row.chats
              .filter(([, status]) => status === 'active')
              .map(([sessionId]) => sessionId),
            pendingOffers: row.chats
              .filter(([, status]) => status === 'offered')
              .map(([sessionId]) => sessionId),
            lastAssignedAt: row.last_assigned_at === null ? null : Math.round(row.last_assigned_at),
            lastChatEndedAt: row.last_chat_ended_at === null ? null : Math.round(row.last_chat_ended_at),
            missedOffersInRow: row.missed_offers_in_row,
          };
        }
        return pool;
      },

      async setPresence(uri, presence) {
        if (!PRESENCES.includes(presence)) {
          throw new StoreInputError(`presence must be one of ${PRESENCES.join(', ')}, got ${show(presence)}`);
        }
        const rows = await sql.query(
          `UPDATE agents SET presence = $2,
             missed_offers_in_row = CASE WHEN $2::text = 'available' AND presence <> 'available' THEN 0
                                         ELSE missed_offers_in_row END
           WHERE key = $1 RETURNING key`,
          [keyOf(uri), presence],
        );
        return rows.length > 0;
      },

      async reserve(uri, sessionId): Promise<ReserveResult> {
        const key = keyOf(uri);
        checkId(sessionId, 'sessionId');
        return run.atomic(async (tx) => {
          const known = await tx.query('SELECT key FROM agents WHERE key = $1', [key]);
          if (known.length === 0) return 'unknownAgent';
          // The unique indexes decide "held" and "offered elsewhere"; the conditional update decides capacity.
          const offered = await tx.query(
            `INSERT INTO agent_chats (session_id, agent_key, status, since)
             VALUES ($1, $2, 'offered', $3::timestamptz) ON CONFLICT DO NOTHING RETURNING session_id`,
            [sessionId, key, now()],
          );
          if (offered.length === 0) {
            const holders = await tx.query<{ agent_key: string }>(
              'SELECT agent_key FROM agent_chats WHERE session_id = $1 AND agent_key = $2',
              [sessionId, key],
            );
            return holders.length > 0 ? 'held' : 'offeredElsewhere';
          }
          const room = await tx.query(
            'UPDATE agents SET load = load + 1 WHERE key = $1 AND load < capacity RETURNING key',
            [key],
          );
          if (room.length > 0) return 'reserved';
          await tx.query('DELETE FROM agent_chats WHERE session_id = $1 AND agent_key = $2', [
            sessionId,
            key,
          ]);
          return 'full';
        });
      },

      async confirm(uri, sessionId) {
        const key = keyOf(uri);
        checkId(sessionId, 'sessionId');
        return run.atomic(async (tx) => {
          const at = now();
          const confirmed = await tx.query(
            `UPDATE agent_chats SET status = 'active', since = $3::timestamptz
             WHERE session_id = $1 AND agent_key = $2 AND status = 'offered' RETURNING session_id`,
            [sessionId, key, at],
          );
          if (confirmed.length > 0) {
            await tx.query(
              `UPDATE agents SET last_assigned_at = $2::timestamptz, missed_offers_in_row = 0 WHERE key = $1`,
              [key, at],
            );
            return true;
          }
          const active = await tx.query(
            `SELECT session_id FROM agent_chats WHERE session_id = $1 AND agent_key = $2 AND status = 'active'`,
            [sessionId, key],
          );
          return active.length > 0;
        });
      },

      async release(uri, sessionId) {
        const key = keyOf(uri);
        checkId(sessionId, 'sessionId');
        return run.atomic(async (tx) => {
          const [gone] = await tx.query<{ status: 'offered' | 'active' }>(
            'DELETE FROM agent_chats WHERE session_id = $1 AND agent_key = $2 RETURNING status',
            [sessionId, key],
          );
          if (!gone) return false;
          await tx.query(
            `UPDATE agents SET load = load - 1,
               last_chat_ended_at = CASE WHEN $2::text = 'active' THEN $3::timestamptz ELSE last_chat_ended_at END
             WHERE key = $1`,
            [key, gone.status, now()],
          );
          return true;
        });
      },

      async recordMissedOffer(uri, missOptions) {
        const max = missOptions?.maxMissedInRow;
        if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
          throw new StoreInputError(`maxMissedInRow must be an integer of at least 1, got ${show(max)}`);
        }
        const [row] = await sql.query<{ before: Presence; after: Presence }>(
          `WITH old AS (SELECT key, presence FROM agents WHERE key = $1 FOR UPDATE)
           UPDATE agents a SET missed_offers_in_row = a.missed_offers_in_row + 1,
             presence = CASE WHEN a.missed_offers_in_row + 1 >= $2 AND a.presence = 'available' THEN 'away'
                             ELSE a.presence END
           FROM old WHERE a.key = old.key
           RETURNING old.presence AS before, a.presence AS after`,
          [keyOf(uri), max],
        );
        if (!row) throw new StoreInputError(`unknown agent ${uri}: not in the stored roster`);
        return { madeUnavailable: row.before === 'available' && row.after === 'away' };
      },

      async setRoundRobinCursor(cursor) {
        if (!Number.isInteger(cursor) || cursor < -1) {
          throw new StoreInputError(
            `the round-robin cursor must be an integer of at least -1, got ${show(cursor)}`,
          );
        }
        await sql.query('UPDATE routing_state SET rr_cursor = $1', [cursor]);
      },
    },

    queue: {
      async enqueue(entry) {
        if (!entry || typeof entry !== 'object') {
          throw new StoreInputError(`a queue entry must be an object, got ${show(entry)}`);
        }
        checkId(entry.sessionId, 'sessionId');
        const priority = entry.priority ?? 0;
        if (!Number.isInteger(priority) || Math.abs(priority) > 1_000_000) {
          throw new StoreInputError(
            `priority must be an integer (higher is served first), got ${show(priority)}`,
          );
        }
        const rows = await sql.query(
          `INSERT INTO queue (session_id, priority, enqueued_at, topic) VALUES ($1, $2, $3::timestamptz, $4)
           ON CONFLICT (session_id) DO NOTHING RETURNING session_id`,
          [entry.sessionId, priority, iso(checkTime(entry.at, 'at')), entry.topic ?? null],
        );
        return rows.length > 0;
      },

      async dequeue(sessionId) {
        checkId(sessionId, 'sessionId');
        const rows = await sql.query('DELETE FROM queue WHERE session_id = $1 RETURNING session_id', [
          sessionId,
        ]);
        return rows.length > 0;
      },

      async load(): Promise<ChatQueue> {
        const rows = await sql.query<{
          session_id: string;
          priority: number;
          enqueued_at: number;
          topic: string | null;
          seq: string;
        }>(
          `SELECT session_id, priority, ${ms('enqueued_at')} AS enqueued_at, topic, seq::text AS seq FROM queue
           ORDER BY priority DESC, enqueued_at, seq`,
        );
        const entries = rows.map((row) => ({
          sessionId: row.session_id,
          priority: row.priority,
          enqueuedAt: Math.round(row.enqueued_at),
          ...(row.topic !== null ? { topic: row.topic } : {}),
          seq: Number(row.seq),
        }));
        return { entries, nextSeq: Math.max(-1, ...entries.map((e) => e.seq)) + 1 };
      },
    },

    inbox: {
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
          tx.query<{ id: string; session_id: string; key: string; payload: Json; recorded_at: number }>(
            `DELETE FROM inbox WHERE session_id = $1
             RETURNING id::text AS id, session_id, key, payload, ${ms('recorded_at')} AS recorded_at`,
            [lease.sessionId],
          ),
        );
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
      },
    },

    webhooks: {
      async enqueue(event, lease) {
        if (!event || typeof event !== 'object') {
          throw new StoreInputError(`a webhook event must be an object, got ${show(event)}`);
        }
        const type = checkText(event.type, 'webhook event type');
        const payload = jsonText(event.payload, 'webhook payload');
        const insert = (tx: Sql) =>
          tx.query<{ id: string }>(
            `INSERT INTO webhook_outbox (session_id, event_type, payload, created_at, next_attempt_at)
             VALUES ($1, $2, $3::jsonb, $4::timestamptz, $4::timestamptz) RETURNING id::text AS id`,
            [lease?.sessionId ?? null, type, payload, now()],
          );
        const [row] = lease ? await fenced(lease, insert) : await insert(sql);
        return Number(row?.id);
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
    },
  };
}

// ── rows and conversions ─────────────────────────────────────────────────────────────────────────────

/** A timestamptz column as epoch milliseconds (float8: exact for any millisecond time). */
function ms(column: string): string {
  return `(extract(epoch from ${column}) * 1000)::float8`;
}

/** An epoch-ms time as a timestamptz parameter (ISO text: exact, and the same on both engines). */
function iso(time: number): string {
  return new Date(time).toISOString();
}

const SUMMARY_COLUMNS = `s.id, s.state, s.status, s.outcome, s.summary, ${ms('s.created_at')} AS created_at,
  ${ms('s.updated_at')} AS updated_at, ${ms('s.ended_at')} AS ended_at`;

interface SessionRow {
  id: string;
  state: string;
  status: SessionStatus;
  outcome: string | null;
  summary: JsonObject;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}

interface StoredRow {
  machine_id: string;
  machine_version: number;
  snapshot: unknown;
  deadlines: Record<string, number>;
  lease_owner: string | null;
  lease_generation: string | null;
  lease_expires_at: number | null;
}

function toSummary(row: SessionRow): SessionSummary {
  return {
    id: row.id,
    state: row.state,
    status: row.status,
    outcome: row.outcome,
    summary: row.summary,
    createdAt: Math.round(row.created_at),
    updatedAt: Math.round(row.updated_at),
    endedAt: row.ended_at === null ? null : Math.round(row.ended_at),
  };
}

const LEASE_COLUMNS = `session_id, owner, generation::text AS generation, ${ms('expires_at')} AS expires_at`;

interface LeaseRow {
  session_id: string;
  owner: string;
  generation: string;
  expires_at: number;
}

function toLease(row: LeaseRow): Lease {
  return {
    sessionId: row.session_id,
    owner: row.owner,
    generation: Number(row.generation),
    expiresAt: Math.round(row.expires_at),
  };
}

const EFFECT_COLUMNS = `operation_id, session_id, kind, input, status, result, attempts,
  ${ms('started_at')} AS started_at, ${ms('finished_at')} AS finished_at`;

interface EffectRow {
  operation_id: string;
  session_id: string;
  kind: string;
  input: Json | null;
  status: EffectRecord['status'];
  result: Json | null;
  attempts: number;
  started_at: number;
  finished_at: number | null;
}

function toEffect(row: EffectRow): EffectRecord {
  return {
    operationId: row.operation_id,
    sessionId: row.session_id,
    kind: row.kind,
    input: row.input,
    status: row.status,
    result: row.result,
    attempts: row.attempts,
    startedAt: Math.round(row.started_at),
    finishedAt: row.finished_at === null ? null : Math.round(row.finished_at),
  };
}

interface AgentRow {
  key: string;
  uri: string;
  name: string;
  skills: string[];
  presence: Presence;
  capacity: number;
  missed_offers_in_row: number;
  last_assigned_at: number | null;
  last_chat_ended_at: number | null;
  /** [sessionId, status] in the order the agent took them. */
  chats: Array<[string, 'offered' | 'active']>;
}

const WEBHOOK_COLUMNS = `w.id::text AS id, w.session_id, w.event_type, w.payload, ${ms('w.created_at')} AS created_at,
  w.attempts, ${ms('w.next_attempt_at')} AS next_attempt_at, ${ms('w.delivered_at')} AS delivered_at, w.last_error`;

interface WebhookRow {
  id: string;
  session_id: string | null;
  event_type: string;
  payload: Json;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  last_error: string | null;
}

function toWebhook(row: WebhookRow): WebhookRecord {
  return {
    id: Number(row.id),
    sessionId: row.session_id,
    type: row.event_type,
    payload: row.payload,
    createdAt: Math.round(row.created_at),
    attempts: row.attempts,
    nextAttemptAt: Math.round(row.next_attempt_at),
    deliveredAt: row.delivered_at === null ? null : Math.round(row.delivered_at),
    lastError: row.last_error,
  };
}

// ── input checks ─────────────────────────────────────────────────────────────────────────────────────

/** The columns a SessionWrite becomes; the snapshot's status and top-level state are read from it. */
function sessionColumns(sessionId: string, write: SessionWrite) {
  if (!write || typeof write !== 'object') {
    throw new StoreInputError(`session ${sessionId}: a session write must be an object, got ${show(write)}`);
  }
  const machineId = checkText(write.machineId, 'machineId');
  if (!Number.isInteger(write.machineVersion) || write.machineVersion < 0) {
    throw new StoreInputError(
      `session ${sessionId}: machineVersion must be a non-negative integer, got ${show(write.machineVersion)}`,
    );
  }
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
  const deadlines = write.deadlines ?? {};
  if (typeof deadlines !== 'object' || Array.isArray(deadlines)) {
    throw new StoreInputError(
      `session ${sessionId}: deadlines must be an object of epoch ms, got ${show(deadlines)}`,
    );
  }
  for (const [name, at] of Object.entries(deadlines)) checkTime(at, `deadline ${name}`);
  const times = Object.values(deadlines);
  if (write.outcome !== undefined && write.outcome !== null) checkText(write.outcome, 'outcome');
  return {
    machineId,
    machineVersion: write.machineVersion,
    snapshot: jsonText(write.snapshot, `session ${sessionId}: the snapshot`),
    state,
    status: snapshot.status as SessionStatus,
    outcome: write.outcome ?? null,
    summary:
      write.summary === undefined
        ? null
        : jsonText(checkObject(write.summary, 'summary'), `session ${sessionId}: the summary`),
    deadlines: jsonText(deadlines, `session ${sessionId}: the deadlines`),
    nextDeadline: times.length > 0 ? iso(Math.min(...times)) : null,
  };
}

function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 2000) {
    throw new StoreInputError(
      `${what} must be a non-empty string of at most 2000 characters, got ${show(value)}`,
    );
  }
  return value;
}

function checkText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new StoreInputError(`${what} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

function checkTime(value: unknown, what: string): number {
  // Years 1970–9999: what a timestamptz and Date both hold.
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 253_402_300_799_999) {
    throw new StoreInputError(`${what} must be epoch milliseconds, got ${show(value)}`);
  }
  return value;
}

function checkObject(value: unknown, what: string): object {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new StoreInputError(`${what} must be a JSON object, got ${show(value)}`);
  }
  return value;
}

function checkLease(lease: Lease): void {
  if (!lease || typeof lease !== 'object') throw new StoreInputError(`expected a lease, got ${show(lease)}`);
  checkId(lease.sessionId, 'lease.sessionId');
  checkId(lease.owner, 'lease.owner');
  if (!Number.isInteger(lease.generation) || lease.generation < 1) {
    throw new StoreInputError(`lease.generation must be a positive integer, got ${show(lease.generation)}`);
  }
}

function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new StoreInputError(`${what} must be a positive integer, got ${show(value)}`);
  }
  return value;
}

function capacityOf(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10_000) {
    throw new StoreInputError(`${what} must be an integer from 1 to 10000, got ${show(value)}`);
  }
  return value;
}

function keyOf(uri: string): string {
  return agentKey(checkText(uri, 'agent uri'));
}

function pageLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new StoreInputError(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${show(limit)}`);
  }
  return limit;
}

/** Cursors are opaque to callers: base64url of [epoch ms, id] of the last item of the page before. */
function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(cursor: unknown): [number, string] {
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

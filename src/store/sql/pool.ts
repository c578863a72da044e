/**
 * The agent pool and the queue as stored: the roster, presence, offers and chats held within
 * capacity (the unique indexes decide who holds a chat), missed offers, the round-robin cursor, and the
 * chats waiting in priority and arrival order.
 */
import { agentKey, type ChatQueue, type Pool, PRESENCES, type Presence } from '../../routing/index.ts';
import { StoreInputError, show } from '../errors.ts';
import type { ReserveResult, StoreOps } from '../store.ts';
import { capacityOf, checkId, checkText, checkTime, keyOf } from './checks.ts';
import type { OpsContext } from './context.ts';
import { type AgentRow, iso, ms } from './rows.ts';

export function poolOps({ sql, run, now }: OpsContext): Pick<StoreOps, 'pool' | 'queue'> {
  return {
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
  };
}

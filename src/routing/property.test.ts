/**
 * Property test: thousands of random operations on a pool and a queue, checking after every step that no
 * agent holds more chats than its capacity and that selection only ever picks an agent an independent
 * oracle also finds eligible (and the best one for the strategy). Seeded, so a failure names its seed and
 * step and replays exactly.
 */
import { describe, expect, it } from 'vitest';
import { deepFreeze, mulberry32 } from '../../test/helpers/routingFixtures.ts';
import { RoutingError } from './errors.ts';
import {
  type AgentState,
  confirm,
  createPool,
  load,
  type Pool,
  type Presence,
  recordMissedOffer,
  release,
  reserve,
  setPresence,
} from './pool.ts';
import { dequeue, enqueue, nextFor, overdue, position } from './queue.ts';
import { type Assignment, type SelectionRequest, type Strategy, selectAgent } from './select.ts';

const STEPS = 10_000;
const PRESENCES: Presence[] = ['available', 'available', 'available', 'busy', 'away', 'offline'];
const STRATEGIES: Strategy[] = ['longest-idle', 'round-robin', 'skills'];
const SKILLS = ['billing', 'technical', 'general', 'vip'];

interface Counts {
  selections: number;
  assigned: number;
  unassigned: number;
  fallbacks: number;
  confirms: number;
  releases: number;
  missed: number;
  madeUnavailable: number;
  refusedOverCapacity: number;
  fromQueue: number;
  gaveUp: number;
}

function run(seed: number): Counts {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;

  const roster = Array.from({ length: 3 + Math.floor(random() * 4) }, (_, i) => ({
    uri: `sip:agent${i}@contoso.com`,
    name: `Agent ${i}`,
    skills: SKILLS.filter(() => chance(0.4)),
    capacity: 1 + Math.floor(random() * 3),
  }));
  let pool: Pool = deepFreeze(createPool(roster));
  let queue = deepFreeze(enqueue({ entries: [], nextSeq: 0 }, { sessionId: 'q-seed', now: 0 }));
  let now = Date.UTC(2026, 0, 1);
  let nextSession = 0;
  const topics = new Map<string, string | undefined>();
  const tried = new Map<string, string[]>();
  const counts: Counts = {
    selections: 0,
    assigned: 0,
    unassigned: 0,
    fallbacks: 0,
    confirms: 0,
    releases: 0,
    missed: 0,
    madeUnavailable: 0,
    refusedOverCapacity: 0,
    fromQueue: 0,
    gaveUp: 0,
  };

  const agents = () => Object.values(pool.agents);
  const held = (kind: 'activeChats' | 'pendingOffers') =>
    agents().flatMap((a) => a[kind].map((sessionId) => ({ uri: a.uri, sessionId })));

  for (let step = 0; step < STEPS; step++) {
    const where = `seed ${seed}, step ${step}`;
    now += Math.floor(random() * 60_000);
    const roll = random();

    if (roll < 0.12) {
      pool = setPresence(pool, pick(roster).uri, pick(PRESENCES));
    } else if (roll < 0.45) {
      // A new chat, or a queued one, is routed; the winner is reserved, nobody → the queue.
      const fromQueue = queue.entries.length > 0 && chance(0.4);
      const sessionId = fromQueue ? (pick(queue.entries).sessionId as string) : `s${nextSession++}`;
      if (!topics.has(sessionId)) topics.set(sessionId, chance(0.6) ? pick(SKILLS) : undefined);
      const topic = topics.get(sessionId);
      const strategy = pick(STRATEGIES);
      const skillsFallback = chance(0.7);
      const exclude = tried.get(sessionId) ?? [];
      const req: SelectionRequest = { sessionId, now, exclude, ...(topic ? { topic } : {}) };
      const result = selectAgent(pool, strategy, req, { skillsFallback });
      checkSelection(pool, strategy, req, skillsFallback, result.assignment, where);
      counts.selections++;
      if (result.assignment.why.includes('fell back')) counts.fallbacks++;
      pool = result.pool;
      const winner = result.assignment.winner;
      if (winner) {
        pool = reserve(pool, winner, sessionId);
        queue = dequeue(queue, sessionId);
        counts.assigned++;
      } else {
        queue = enqueue(queue, {
          sessionId,
          now,
          ...(topic ? { topic } : {}),
          priority: chance(0.2) ? 1 : 0,
        });
        must(position(queue, sessionId) !== null, `${where}: an unassigned chat is queued`);
        counts.unassigned++;
      }
    } else if (roll < 0.55) {
      const next = nextFor(queue, pool, pick(STRATEGIES), now, { exclude: Object.fromEntries(tried) });
      if (next) {
        const winner = pool.agents[String(next.assignment.winner).toLowerCase()];
        must(winner !== undefined, `${where}: nextFor names a winner from the roster`);
        const w = winner as AgentState;
        must(
          w.presence === 'available' && load(w) < w.capacity,
          `${where}: nextFor picked ${w.uri}, not free`,
        );
        pool = reserve(next.pool, w.uri, next.sessionId);
        queue = dequeue(queue, next.sessionId);
        counts.fromQueue++;
      }
    } else if (roll < 0.7) {
      const offers = held('pendingOffers');
      if (offers.length > 0) {
        const { uri, sessionId } = pick(offers);
        pool = confirm(pool, uri, sessionId, now);
        counts.confirms++;
      }
    } else if (roll < 0.85) {
      const all = [...held('activeChats'), ...held('pendingOffers')];
      if (all.length > 0) {
        const { uri, sessionId } = pick(all);
        pool = release(pool, uri, sessionId, now);
        counts.releases++;
      }
    } else if (roll < 0.95) {
      const offers = held('pendingOffers');
      if (offers.length > 0) {
        const { uri, sessionId } = pick(offers);
        const r = recordMissedOffer(pool, uri, now, { maxMissedInRow: 2 });
        pool = release(r.pool, uri, sessionId, now);
        tried.set(sessionId, [...(tried.get(sessionId) ?? []), uri]);
        queue = enqueue(queue, { sessionId, now });
        counts.missed++;
        if (r.madeUnavailable) counts.madeUnavailable++;
      }
    } else {
      // Someone tries to push a chat onto a full agent: refused, and the pool is unchanged.
      const full = agents().filter((a) => load(a) >= a.capacity);
      if (full.length > 0) {
        const agent = pick(full);
        const before = pool;
        let refused: unknown = null;
        try {
          pool = reserve(before, agent.uri, `overflow-${step}`);
        } catch (error) {
          refused = error;
        }
        must(
          refused instanceof RoutingError,
          `${where}: reserve on full ${agent.uri} must throw a RoutingError`,
        );
        must(pool === before, `${where}: a refused reserve leaves the pool as it was`);
        counts.refusedOverCapacity++;
      }
    }

    // Customers who waited too long get the fallback message and leave the queue.
    for (const gone of overdue(queue, now)) {
      queue = dequeue(queue, gone.sessionId);
      counts.gaveUp++;
    }
    pool = deepFreeze(pool);
    queue = deepFreeze(queue);
    for (const a of agents()) {
      if (load(a) > a.capacity) {
        throw new Error(`${where}: ${a.uri} holds ${load(a)} chats, capacity ${a.capacity}`);
      }
      const sessions = [...a.activeChats, ...a.pendingOffers];
      must(new Set(sessions).size === sessions.length, `${where}: ${a.uri} holds a session twice`);
    }
  }
  return counts;
}

/** An oracle written apart from select.ts: who may take the chat, and who should win. */
function checkSelection(
  pool: Pool,
  strategy: Strategy,
  req: SelectionRequest,
  skillsFallback: boolean,
  assignment: Assignment,
  where: string,
): void {
  const list = Object.values(pool.agents);
  const tried = new Set((req.exclude ?? []).map((u) => u.toLowerCase()));
  const base = (a: AgentState) =>
    a.presence === 'available' &&
    load(a) < a.capacity &&
    !tried.has(a.uri.toLowerCase()) &&
    !a.activeChats.includes(req.sessionId) &&
    !a.pendingOffers.includes(req.sessionId);
  const topic = strategy === 'skills' ? req.topic : undefined;
  const skilled = list.filter((a) => base(a) && (topic === undefined || a.skills.includes(topic)));
  const eligible = skilled.length > 0 || !skillsFallback ? skilled : list.filter(base);

  const flags = JSON.stringify(assignment.candidates.map((c) => c.eligible));
  const expected = JSON.stringify(list.map((a) => eligible.includes(a)));
  must(flags === expected, `${where}: eligibility flags ${flags}, oracle ${expected}`);
  if (eligible.length === 0) {
    must(assignment.winner === null, `${where}: nobody is eligible, yet ${assignment.winner} won`);
    return;
  }
  const winner = list.find((a) => a.uri === assignment.winner);
  must(
    winner !== undefined && eligible.includes(winner),
    `${where}: winner ${assignment.winner} is not eligible`,
  );
  let best: AgentState | undefined;
  if (strategy === 'round-robin') {
    const n = list.length;
    best = list
      .map((_, k) => list[(pool.rrCursor + 1 + k + n) % n] as AgentState)
      .find((a) => eligible.includes(a));
  } else {
    const last = (a: AgentState) => {
      const times = [a.lastAssignedAt, a.lastChatEndedAt].filter((t): t is number => t !== null);
      return times.length === 0 ? Number.NEGATIVE_INFINITY : Math.max(...times);
    };
    best = [...eligible].sort(
      (a, b) => last(a) - last(b) || load(a) - load(b) || list.indexOf(a) - list.indexOf(b),
    )[0];
  }
  must(
    assignment.winner === best?.uri,
    `${where}: ${strategy} picked ${assignment.winner}, oracle ${best?.uri}`,
  );
}

/** A plain check for the hot loop (expect() per step would dominate the run time). */
function must(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

describe('routing under 10 000 random operations', () => {
  it.each([1, 42, 20260601])(
    'never lets an agent exceed its capacity nor picks an ineligible agent (seed %d)',
    (seed) => {
      const counts = run(seed);
      // The run must have exercised every path, or the assertions above prove little.
      expect(counts.selections).toBeGreaterThan(2_000);
      expect(counts.assigned).toBeGreaterThan(300);
      expect(counts.unassigned).toBeGreaterThan(300);
      expect(counts.fallbacks).toBeGreaterThan(10);
      expect(counts.confirms).toBeGreaterThan(300);
      expect(counts.releases).toBeGreaterThan(300);
      expect(counts.missed).toBeGreaterThan(100);
      expect(counts.madeUnavailable).toBeGreaterThan(5);
      expect(counts.refusedOverCapacity).toBeGreaterThan(50);
      expect(counts.fromQueue).toBeGreaterThan(100);
      expect(counts.gaveUp).toBeGreaterThan(50);
    },
  );
});

/**
 * Choosing an agent for a chat. Pure: the pool, the strategy and the request (with `now`) go in; an
 * Assignment that records every candidate, its score, why it could or could not take the chat, and the
 * winner comes out, together with the pool (round-robin moves its cursor). Nothing is reserved here: the
 * caller reserves the winner with `reserve` in the same synchronous step.
 */
import { checkText, checkTime, RoutingError, show } from './errors.ts';
import { type AgentState, agentKey, checkPool, listed, load, type Pool } from './pool.ts';

export type Strategy = 'longest-idle' | 'round-robin' | 'skills';
export const STRATEGIES: readonly Strategy[] = ['longest-idle', 'round-robin', 'skills'];
export const DEFAULT_STRATEGY: Strategy = 'longest-idle';

export interface SelectionRequest {
  sessionId: string;
  /** The topic the customer chose in the page; only the `skills` strategy routes on it. */
  topic?: string;
  /** Uris already tried for this chat (they missed or declined the offer); unknown uris are ignored. */
  exclude?: string[];
  now: number;
}

/**
 * One agent as the selection saw it. `score` is null for an ineligible agent; otherwise a higher score
 * wins: idle milliseconds for longest-idle and skills (an agent with no chat yet scores
 * Number.MAX_SAFE_INTEGER), and for round-robin the number of agents minus the places after the cursor.
 */
export interface CandidateScore {
  uri: string;
  eligible: boolean;
  reason: string;
  score: number | null;
}

export interface Assignment {
  strategy: Strategy;
  at: number;
  topic?: string;
  /**
   * Every agent of the roster, in roster order, when it has at most LIST_EVERY_AGENT_UP_TO agents; for a
   * larger roster the TOP_CANDIDATES best-ranked eligible agents, winner first (the rest are counted in
   * `others`). A chat's record stays the same size however large the centre grows.
   */
  candidates: CandidateScore[];
  /** Only for a roster larger than LIST_EVERY_AGENT_UP_TO: the agents not listed, counted by reason. */
  others?: OtherCandidates;
  winner: string | null;
  why: string;
}

/** The agents a large roster's assignment does not list: how many, and how many for each reason. */
export interface OtherCandidates {
  count: number;
  /** Reason → agents, e.g. `{ "eligible": 30, "busy": 12, "at capacity": 40, "already tried": 1 }`. */
  reasons: Record<string, number>;
}

/** Rosters up to this many agents have every agent in an assignment's candidates. */
export const LIST_EVERY_AGENT_UP_TO = 10;
/** How many eligible agents, best first, a larger roster's assignment lists. */
export const TOP_CANDIDATES = 5;

export interface SelectOptions {
  /** Under `skills`, when nobody with the topic's skill can take the chat, take any eligible agent. Default true. */
  skillsFallback?: boolean;
}

const NEVER = Number.MAX_SAFE_INTEGER;

interface Row {
  agent: AgentState;
  index: number;
  /** Why the agent cannot take the chat whatever its skills; null when it can. */
  blocked: string | null;
  hasSkill: boolean;
}

export function selectAgent(
  pool: Pool,
  strategy: Strategy,
  req: SelectionRequest,
  opts: SelectOptions = {},
): { assignment: Assignment; pool: Pool } {
  checkPool(pool);
  if (!STRATEGIES.includes(strategy)) {
    throw new RoutingError(`unknown strategy ${show(strategy)}; use one of ${STRATEGIES.join(', ')}`);
  }
  if (!req || typeof req !== 'object')
    throw new RoutingError(`a selection request must be an object, got ${show(req)}`);
  const sessionId = checkText(req.sessionId, 'sessionId');
  const now = checkTime(req.now);
  const topic = req.topic === undefined ? undefined : checkText(req.topic, 'topic').trim().toLowerCase();
  const excluded = new Set(checkExclude(req.exclude).map(agentKey));
  const fallbackAllowed = opts?.skillsFallback ?? true;

  const rows: Row[] = Object.values(pool.agents).map((agent, index) => ({
    agent,
    index,
    blocked: blockedBecause(agent, sessionId, excluded),
    hasSkill: topic !== undefined && agent.skills.includes(topic),
  }));
  const open = rows.filter((r) => r.blocked === null);
  const needsSkill = strategy === 'skills' && topic !== undefined;
  const skilled = needsSkill ? open.filter((r) => r.hasSkill) : open;
  const fellBack = needsSkill && skilled.length === 0 && open.length > 0 && fallbackAllowed;
  const eligible = fellBack ? open : skilled;
  const isEligible = new Set(eligible);

  const n = rows.length;
  const start = n === 0 ? 0 : (((pool.rrCursor + 1) % n) + n) % n;
  const turn = (r: Row) => (r.index - start + n) % n; // 0 = next in turn
  const score = (r: Row): number => {
    if (strategy === 'round-robin') return n - turn(r);
    const last = lastActivity(r.agent);
    return last === null ? NEVER : now - last;
  };
  const ranked = [...eligible].sort(
    (a, b) => score(b) - score(a) || load(a.agent) - load(b.agent) || a.index - b.index,
  );
  const winner = ranked[0];

  const scored = (r: Row): CandidateScore => {
    const not = notEligibleBecause(r, isEligible, topic);
    if (not !== null) return { uri: r.agent.uri, eligible: false, reason: not, score: null };
    const parts = [`available, load ${load(r.agent)}/${r.agent.capacity}`];
    parts.push(strategy === 'round-robin' ? `turn ${turn(r) + 1}` : idleText(r.agent, now));
    if (needsSkill) parts.push(r.hasSkill ? `has skill ${topic}` : `lacks skill ${topic} (fallback)`);
    return { uri: r.agent.uri, eligible: true, reason: parts.join(', '), score: score(r) };
  };
  const everyone = n <= LIST_EVERY_AGENT_UP_TO;
  const shown = everyone ? rows : ranked.slice(0, TOP_CANDIDATES);
  const candidates = shown.map(scored);
  const others = everyone ? undefined : countOthers(rows, new Set(shown), isEligible, topic);

  let why: string;
  if (n === 0) {
    why = 'nobody can take the chat: the roster is empty';
  } else if (!winner) {
    const list = reasonsList(rows, isEligible, topic);
    why = needsSkill
      ? `nobody with skill ${topic} can take the chat${fallbackAllowed ? ' and nobody else can either' : ' (fallback to other agents is off)'}: ${list}`
      : `nobody can take the chat: ${list}`;
  } else if (strategy === 'round-robin') {
    const last = n > 0 && pool.rrCursor >= 0 ? rows[(start - 1 + n) % n]?.agent.uri : undefined;
    const skipped = rows.filter((r) => turn(r) < turn(winner)).map((r) => r.agent.uri);
    why =
      `${winner.agent.uri} is next in turn after ${last ?? 'the start of the roster'}` +
      (skipped.length > 0 ? ` (skipped ${skipped.join(', ')}: not eligible)` : '') +
      ` among ${eligible.length} eligible of ${n}`;
  } else {
    const core =
      `${winner.agent.uri} has been idle longest (${idleText(winner.agent, now)}) among ${eligible.length} eligible` +
      tieNote(winner, ranked, score);
    if (!needsSkill) {
      why = strategy === 'skills' ? `no topic given, so by longest idle: ${core}` : core;
    } else if (!fellBack) {
      why = `${winner.agent.uri} has skill ${topic}; ${core} with that skill`;
    } else {
      const withSkill = rows.filter((r) => r.agent.skills.includes(topic as string));
      const because =
        withSkill.length === 0
          ? `no agent in the roster has skill ${topic}`
          : `nobody with skill ${topic} can take the chat (${withSkill.map((r) => `${r.agent.uri} ${r.blocked}`).join('; ')})`;
      why = `${because}; fell back to any eligible agent: ${core}`;
    }
  }

  const assignment: Assignment = {
    strategy,
    at: now,
    ...(topic === undefined ? {} : { topic }),
    candidates,
    ...(others ? { others } : {}),
    winner: winner ? winner.agent.uri : null,
    why,
  };
  const next = strategy === 'round-robin' && winner ? { ...pool, rrCursor: winner.index } : pool;
  return { assignment, pool: next };
}

/** Why each agent cannot take the chat (nobody can), the first LIST_EVERY_AGENT_UP_TO by name, the rest counted. */
function reasonsList(rows: Row[], eligible: Set<Row>, topic: string | undefined): string {
  const named = rows
    .slice(0, LIST_EVERY_AGENT_UP_TO)
    .map((r) => `${r.agent.uri} ${notEligibleBecause(r, eligible, topic) ?? 'available'}`);
  if (rows.length <= LIST_EVERY_AGENT_UP_TO) return named.join('; ');
  const rest = countOthers(rows, new Set(rows.slice(0, LIST_EVERY_AGENT_UP_TO)), eligible, topic);
  const counts = Object.entries(rest.reasons).map(([reason, count]) => `${count} ${reason}`);
  return `${named.join('; ')}; and ${rest.count} more (${counts.join(', ')})`;
}

/** The agents of `rows` not in `shown`, counted by reason (`at capacity 3/3` counts as `at capacity`). */
function countOthers(
  rows: Row[],
  shown: Set<Row>,
  eligible: Set<Row>,
  topic: string | undefined,
): OtherCandidates {
  const reasons: Record<string, number> = {};
  let count = 0;
  for (const r of rows) {
    if (shown.has(r)) continue;
    count += 1;
    const not = notEligibleBecause(r, eligible, topic);
    const reason = not === null ? 'eligible' : not.startsWith('at capacity') ? 'at capacity' : not;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  return { count, reasons };
}

/** Why the row's agent cannot take the chat; null when it is eligible. */
function notEligibleBecause(r: Row, eligible: Set<Row>, topic: string | undefined): string | null {
  return r.blocked ?? (eligible.has(r) ? null : `lacks skill ${topic}`);
}

/** Whether the agent could take this chat if it has the right skill; the reason when it cannot. */
function blockedBecause(agent: AgentState, sessionId: string, excluded: Set<string>): string | null {
  if (excluded.has(agentKey(agent.uri))) return 'already tried';
  if (listed(agent.activeChats, sessionId)) return 'already in this chat';
  if (listed(agent.pendingOffers, sessionId)) return 'already offered this chat';
  if (agent.presence !== 'available') return agent.presence;
  if (load(agent) >= agent.capacity) return `at capacity ${load(agent)}/${agent.capacity}`;
  return null;
}

/** max(lastAssignedAt, lastChatEndedAt), null when both are null (idle forever). */
export function lastActivity(agent: AgentState): number | null {
  const { lastAssignedAt: a, lastChatEndedAt: e } = agent;
  if (a === null) return e;
  if (e === null) return a;
  return Math.max(a, e);
}

function idleText(agent: AgentState, now: number): string {
  const last = lastActivity(agent);
  return last === null ? 'no chat yet' : `idle ${formatDuration(now - last)}`;
}

/** How a tie on idle time was broken: by fewer chats, then by roster order. Empty when there was no tie. */
function tieNote(winner: Row, ranked: Row[], score: (r: Row) => number): string {
  const tied = ranked.filter((r) => r !== winner && score(r) === score(winner));
  if (tied.length === 0) return '';
  const busier = tied.filter((r) => load(r.agent) > load(winner.agent));
  const later = tied.filter((r) => load(r.agent) === load(winner.agent));
  const notes: string[] = [];
  if (busier.length > 0) {
    const loads = busier.map((r) => `${r.agent.uri} (${load(winner.agent)} vs ${load(r.agent)})`).join(', ');
    notes.push(`fewer chats than ${loads}`);
  }
  if (later.length > 0) notes.push(`earlier in the roster than ${later.map((r) => r.agent.uri).join(', ')}`);
  return `; tied on idle time with ${tied.map((r) => r.agent.uri).join(', ')}, won by ${notes.join(' and ')}`;
}

/** 42s, 5m 3s, 2h 4m, 3d 2h (negative durations, from clock skew, read as 0s). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

function checkExclude(exclude: unknown): string[] {
  if (exclude === undefined) return [];
  if (!Array.isArray(exclude))
    throw new RoutingError(`exclude must be an array of agent uris, got ${show(exclude)}`);
  return exclude.map((uri) => checkText(uri, 'each excluded agent uri'));
}

/**
 * The agent pool as plain, JSON-serialisable data and pure functions over it. Every update returns a new
 * Pool and leaves its input untouched; nothing here reads the clock or does I/O (time is a parameter).
 *
 * Capacity is the invariant: an agent's load (active chats + pending offers) never exceeds its capacity,
 * because `reserve` is the only way a chat gets onto an agent and it refuses when the agent is full.
 */
import { checkText, checkTime, RoutingError, show } from './errors.ts';

export type Presence = 'available' | 'busy' | 'away' | 'offline';
export const PRESENCES: readonly Presence[] = ['available', 'busy', 'away', 'offline'];

/** Concurrent chats per agent when neither the roster entry nor the pool defaults say otherwise. */
export const DEFAULT_CAPACITY = 2;
/** Missed offers in a row after which an agent is set away (the lead's offer lifecycle passes it in). */
export const DEFAULT_MAX_MISSED_IN_ROW = 2;

export interface AgentState {
  uri: string;
  name: string;
  /** Lower-cased, trimmed, without duplicates. */
  skills: string[];
  presence: Presence;
  capacity: number;
  /** Session ids of the chats the agent is in. */
  activeChats: string[];
  /** Session ids currently offered to the agent (they count against capacity until confirmed or released). */
  pendingOffers: string[];
  /** Epoch ms of the last accepted offer (`confirm`); null = never. */
  lastAssignedAt: number | null;
  /** Epoch ms at which the agent's last chat ended (`release` of an active chat); null = never. */
  lastChatEndedAt: number | null;
  missedOffersInRow: number;
}

/**
 * `agents` is keyed by the lower-cased, trimmed uri, in roster order (the order round-robin and tie-breaks
 * use). `rrCursor` is the roster index of the agent round-robin picked last; -1 before its first pick.
 */
export interface Pool {
  agents: Record<string, AgentState>;
  rrCursor: number;
}

export interface RosterEntry {
  uri: string;
  name: string;
  skills?: string[];
  capacity?: number;
  /** Starting presence; `available` when absent (the emulator's default too). */
  presence?: Presence;
}

/** The key an agent uri has in `Pool.agents`: trimmed and lower-cased (SIP URIs compare case-insensitively). */
export function agentKey(uri: string): string {
  return checkText(uri, 'agent uri').trim().toLowerCase();
}

/** Builds a pool from a roster. Throws a RoutingError naming the entry on a bad uri, capacity or skill. */
export function createPool(roster: readonly RosterEntry[], defaults: { capacity?: number } = {}): Pool {
  if (!Array.isArray(roster))
    throw new RoutingError(`the roster must be an array of agents, got ${show(roster)}`);
  const fallbackCapacity = checkCapacity(defaults?.capacity ?? DEFAULT_CAPACITY, 'the default capacity');
  const agents: Record<string, AgentState> = {};
  roster.forEach((entry, index) => {
    const where = `roster entry ${index}`;
    if (!entry || typeof entry !== 'object')
      throw new RoutingError(`${where} must be an object, got ${show(entry)}`);
    const key = agentKey(checkText(entry.uri, `${where}: uri`));
    if (/\s/.test(key)) throw new RoutingError(`${where}: uri ${show(entry.uri)} contains whitespace`);
    if (/^\d+$/.test(key)) {
      throw new RoutingError(`${where}: uri ${show(entry.uri)} is a bare number; use the agent's SIP URI`);
    }
    if (agents[key]) throw new RoutingError(`${where}: agent ${entry.uri} is listed twice`);
    agents[key] = {
      uri: entry.uri.trim(),
      name: checkText(entry.name, `${where} (${entry.uri}): name`),
      skills: normaliseSkills(entry.skills, `${where} (${entry.uri})`),
      presence:
        entry.presence === undefined ? 'available' : checkPresence(entry.presence, `${where} (${entry.uri})`),
      capacity: checkCapacity(entry.capacity ?? fallbackCapacity, `${where} (${entry.uri}): capacity`),
      activeChats: [],
      pendingOffers: [],
      lastAssignedAt: null,
      lastChatEndedAt: null,
      missedOffersInRow: 0,
    };
  });
  return { agents, rrCursor: -1 };
}

/** The agent's state; throws a RoutingError for a uri that is not in the roster. */
export function getAgent(pool: Pool, uri: string): AgentState {
  checkPool(pool);
  const agent = pool.agents[agentKey(uri)];
  if (!agent) {
    const known = Object.values(pool.agents).map((a) => a.uri);
    throw new RoutingError(
      `unknown agent ${uri}: not in the roster (${known.length === 0 ? 'the roster is empty' : known.join(', ')})`,
    );
  }
  return agent;
}

/**
 * Membership of agents' chat lists (`activeChats`, `pendingOffers`), a Set per list, built the first time a
 * long list is asked about. Lists are never changed in place (every change makes a new list), so a list's
 * Set stays right; it goes with its list. With 100 agents of 100 chats each, a routing step asked each list
 * by scanning it (20,000 string comparisons per chat routed).
 */
const members = new WeakMap<readonly string[], Set<string>>();
const SCAN_UP_TO = 16;

/** Whether an agent's chat list (`activeChats` or `pendingOffers`) holds `sessionId`. */
export function listed(list: readonly string[], sessionId: string): boolean {
  if (list.length <= SCAN_UP_TO) return list.includes(sessionId);
  let set = members.get(list);
  if (!set) {
    set = new Set(list);
    members.set(list, set);
  }
  return set.has(sessionId);
}

/** Whether the agent holds `sessionId`, as an active chat or a pending offer. */
export function holds(agent: AgentState, sessionId: string): boolean {
  return listed(agent.activeChats, sessionId) || listed(agent.pendingOffers, sessionId);
}

/** Active chats plus pending offers: what counts against capacity. */
export function load(agent: AgentState): number {
  return agent.activeChats.length + agent.pendingOffers.length;
}

/** The uris of the agents that hold `sessionId`, as an active chat or a pending offer. */
export function holdersOf(pool: Pool, sessionId: string): string[] {
  checkPool(pool);
  checkText(sessionId, 'sessionId');
  return Object.values(pool.agents)
    .filter((a) => holds(a, sessionId))
    .map((a) => a.uri);
}

/**
 * Sets an agent's presence. Coming back to `available` from anything else clears the missed-offer count,
 * so an agent who was set away for missing offers starts afresh. Chats the agent holds are not touched:
 * releasing them is the caller's decision.
 */
export function setPresence(pool: Pool, uri: string, presence: Presence): Pool {
  const agent = getAgent(pool, uri);
  checkPresence(presence, `agent ${agent.uri}`);
  if (agent.presence === presence) return pool;
  const comesBack = presence === 'available';
  return put(pool, { ...agent, presence, missedOffersInRow: comesBack ? 0 : agent.missedOffersInRow });
}

/**
 * Puts an offer of `sessionId` on the agent; it counts against capacity from now on. Idempotent: an agent
 * that already holds the session (pending or active) is returned unchanged. Throws when the agent is at
 * capacity. Presence is not checked here: choosing an eligible agent is `selectAgent`'s job.
 */
export function reserve(pool: Pool, uri: string, sessionId: string): Pool {
  const agent = getAgent(pool, uri);
  checkText(sessionId, 'sessionId');
  if (holds(agent, sessionId)) return pool;
  if (load(agent) >= agent.capacity) {
    throw new RoutingError(
      `agent ${agent.uri} is at capacity (${load(agent)}/${agent.capacity}); cannot offer session ${sessionId}`,
    );
  }
  return put(pool, { ...agent, pendingOffers: [...agent.pendingOffers, sessionId] });
}

/**
 * The agent accepted the offer: the pending offer becomes an active chat, `lastAssignedAt` becomes `now`
 * and the missed-offer count restarts. Idempotent for a chat that is already active; throws when the agent
 * has no pending offer for the session (it was never reserved, or was released meanwhile).
 */
export function confirm(pool: Pool, uri: string, sessionId: string, now: number): Pool {
  const agent = getAgent(pool, uri);
  checkText(sessionId, 'sessionId');
  checkTime(now);
  if (listed(agent.activeChats, sessionId)) return pool;
  if (!listed(agent.pendingOffers, sessionId)) {
    throw new RoutingError(
      `agent ${agent.uri} has no pending offer for session ${sessionId}; reserve it before confirming`,
    );
  }
  return put(pool, {
    ...agent,
    pendingOffers: agent.pendingOffers.filter((s) => s !== sessionId),
    activeChats: [...agent.activeChats, sessionId],
    lastAssignedAt: now,
    missedOffersInRow: 0,
  });
}

/**
 * Takes `sessionId` off the agent: a chat that ended (then `lastChatEndedAt` becomes `now`) or an offer that
 * was withdrawn, declined or missed (idle times are left alone). Idempotent: releasing a session the agent
 * does not hold returns the pool unchanged.
 */
export function release(pool: Pool, uri: string, sessionId: string, now: number): Pool {
  const agent = getAgent(pool, uri);
  checkText(sessionId, 'sessionId');
  checkTime(now);
  if (listed(agent.activeChats, sessionId)) {
    return put(pool, {
      ...agent,
      activeChats: agent.activeChats.filter((s) => s !== sessionId),
      lastChatEndedAt: now,
    });
  }
  if (listed(agent.pendingOffers, sessionId)) {
    return put(pool, { ...agent, pendingOffers: agent.pendingOffers.filter((s) => s !== sessionId) });
  }
  return pool;
}

/**
 * Counts an offer the agent let expire. At `maxMissedInRow` misses in a row an available agent is set
 * `away` (`madeUnavailable` is true for exactly that call). The offer itself stays reserved: release it
 * too. `confirm` and coming back to `available` restart the count.
 */
export function recordMissedOffer(
  pool: Pool,
  uri: string,
  now: number,
  opts: { maxMissedInRow: number },
): { pool: Pool; madeUnavailable: boolean } {
  const agent = getAgent(pool, uri);
  checkTime(now);
  const max = opts?.maxMissedInRow;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new RoutingError(`maxMissedInRow must be an integer of at least 1, got ${show(max)}`);
  }
  const missed = agent.missedOffersInRow + 1;
  const madeUnavailable = missed >= max && agent.presence === 'available';
  return {
    pool: put(pool, {
      ...agent,
      missedOffersInRow: missed,
      presence: madeUnavailable ? 'away' : agent.presence,
    }),
    madeUnavailable,
  };
}

/** Throws a RoutingError unless `pool` has the shape createPool gives. */
export function checkPool(pool: Pool): void {
  if (!pool || typeof pool !== 'object' || !pool.agents || typeof pool.agents !== 'object') {
    throw new RoutingError(`expected a Pool from createPool, got ${show(pool)}`);
  }
  if (!Number.isInteger(pool.rrCursor) || pool.rrCursor < -1) {
    throw new RoutingError(`pool.rrCursor must be an integer of at least -1, got ${show(pool.rrCursor)}`);
  }
}

function put(pool: Pool, agent: AgentState): Pool {
  return { ...pool, agents: { ...pool.agents, [agentKey(agent.uri)]: agent } };
}

function checkCapacity(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RoutingError(`${what} must be an integer of at least 1, got ${show(value)}`);
  }
  return value;
}

function checkPresence(value: unknown, what: string): Presence {
  if (!PRESENCES.includes(value as Presence)) {
    throw new RoutingError(`${what}: presence must be one of ${PRESENCES.join(', ')}, got ${show(value)}`);
  }
  return value as Presence;
}

function normaliseSkills(skills: unknown, what: string): string[] {
  if (skills === undefined) return [];
  if (!Array.isArray(skills))
    throw new RoutingError(`${what}: skills must be an array of strings, got ${show(skills)}`);
  const out: string[] = [];
  for (const skill of skills) {
    const s = checkText(skill, `${what}: each skill`).trim().toLowerCase();
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

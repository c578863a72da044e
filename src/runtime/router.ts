/**
 * Routing for the running SA: the agent pool and the queue (pure functions in src/routing) kept in one
 * place, answering the sessions' `routing.*` requests with `agent.assigned`, `queue.update` or
 * `routing.unavailable`. Capacity is enforced by `reserve`, which refuses a full agent.
 */
import type pino from 'pino';
import { matchesState, type StateValue } from 'xstate';
import type { OfferResult } from '../../machines/agentOffer.ts';
import type { AgentCandidate, ChatSessionContext, RoutingEvent } from '../../machines/chatSession/index.ts';
import {
  type Assignment,
  type ChatQueue,
  confirm,
  createPool,
  createQueue,
  dequeue,
  enqueue,
  estimatedWaitMs,
  getAgent,
  holdersOf,
  holds,
  load,
  nextFor,
  type Pool,
  type Presence,
  position,
  type RosterEntry,
  recordMissedOffer,
  release,
  reserve,
  type Strategy,
  setPresence,
  waitMessage,
} from '../routing/index.ts';
import type { Clock } from './clock.ts';
import type { SessionActor } from './sessionRecord.ts';

export interface RouterOptions {
  roster: RosterEntry[];
  strategy: Strategy;
  capacity: number;
  maxMissedInRow: number;
  /** Average chat length, for wait estimates. */
  avgHandleMs: number;
  skillsFallback: boolean;
  clock: Clock;
  logger: pino.Logger;
  /** Deliver a routing answer to a session's actor. */
  send: (sessionId: string, event: RoutingEvent) => void;
  /**
   * Several instances: the shared pool in the store, which has the last word on capacity (an instance
   * only sees its own chats). An agent it refuses is skipped until the next try.
   */
  gate?: AgentGate;
  /** An operator set an agent's presence here: written to the store (kept across restarts, seen by every instance). */
  onPresence?: (uri: string, presence: Presence) => void;
}

/** The store's agent pool as the router uses it (see `PoolOps`). */
export interface AgentGate {
  reserve(
    uri: string,
    sessionId: string,
  ): Promise<'reserved' | 'held' | 'full' | 'offeredElsewhere' | 'unknownAgent'>;
  confirm(uri: string, sessionId: string): Promise<unknown>;
  release(uri: string, sessionId: string): Promise<unknown>;
}

/** How often chats waiting here try the shared pool again (other instances free agents unseen). */
const GATE_RETRY_MS = 500;

/** Where a chat stood with routing: the agents in it, the one it is offered to, or that it waits for one. */
export interface RoutingState {
  joined: AgentCandidate[];
  offering?: AgentCandidate;
  waiting?: { topic?: string; exclude: string[] };
}

/** A stored chat's routing state, read from its context and state (to resume it). */
export function routingStateOf(context: ChatSessionContext, value: StateValue): RoutingState {
  return {
    joined: context.joinedAgents.map(({ uri, name }) => ({ uri, name })),
    ...(matchesState({ welcomed: 'offering' }, value) && context.currentAgent
      ? { offering: { ...context.currentAgent } }
      : {}),
    ...(matchesState({ welcomed: 'routing' }, value) || matchesState({ welcomed: 'queued' }, value)
      ? { waiting: { exclude: context.tried, ...(context.topic ? { topic: context.topic } : {}) } }
      : {}),
  };
}

export interface AgentView {
  uri: string;
  name: string;
  skills: string[];
  presence: Presence;
  capacity: number;
  load: number;
  activeChats: string[];
  pendingOffers: string[];
  missedOffersInRow: number;
}

export class Router {
  private pool: Pool;
  private queue: ChatQueue = createQueue();
  private readonly excluded = new Map<string, string[]>();
  private readonly assignments = new Map<string, Assignment[]>();
  /** Each agent's presence as last read from (or written to) the store, by lower-cased URI. */
  private readonly storedPresence = new Map<string, Presence>();
  /** The largest load each agent ever had: what the capacity checks read. */
  private readonly peakLoad = new Map<string, number>();

  constructor(private readonly opts: RouterOptions) {
    this.pool = createPool(opts.roster, { capacity: opts.capacity });
  }

  /** A session's routing requests come here; the answers go back as events, deferred (never mid-transition). */
  follow(actor: SessionActor, log: pino.Logger): void {
    actor.on('routing.request', (e) =>
      queueMicrotask(() =>
        this.request(e.sessionId, { exclude: e.exclude, ...(e.topic ? { topic: e.topic } : {}) }),
      ),
    );
    actor.on('routing.status', (e) => queueMicrotask(() => this.status(e.sessionId)));
    actor.on('routing.offerEnded', (e) => {
      log.info({ agent: e.agent.uri, result: e.result, reason: e.reason ?? null }, 'offer ended');
      queueMicrotask(() => this.offerEnded(e.sessionId, e.agent, e.result, e.reason));
    });
    actor.on('routing.agentLeft', (e) => {
      log.info({ agent: e.agent.uri }, 'agent left the chat');
      queueMicrotask(() => this.agentLeft(e.sessionId, e.agent));
    });
  }

  /** A session asks for an agent (first time, or after a failed offer). */
  request(sessionId: string, req: { topic?: string; exclude: string[] }): void {
    const now = this.opts.clock.now();
    this.excluded.set(sessionId, req.exclude);
    const rosterUris = Object.values(this.pool.agents).map((a) => a.uri.toLowerCase());
    if (
      rosterUris.length === 0 ||
      rosterUris.every((uri) => req.exclude.some((e) => e.toLowerCase() === uri))
    ) {
      this.forget(sessionId);
      this.opts.send(sessionId, {
        type: 'routing.unavailable',
        reason:
          rosterUris.length === 0 ? 'no agents are configured' : 'every agent declined or did not answer',
      });
      return;
    }
    this.queue = enqueue(this.queue, { sessionId, now, ...(req.topic ? { topic: req.topic } : {}) });
    this.pump();
    if (position(this.queue, sessionId) !== null) this.status(sessionId);
  }

  /** Tell a queued session where it stands. */
  status(sessionId: string): void {
    const pos = position(this.queue, sessionId);
    if (pos === null) return;
    const wait = estimatedWaitMs(this.queue, this.pool, sessionId, this.opts.avgHandleMs);
    this.opts.send(sessionId, { type: 'queue.update', position: pos, message: waitMessage(pos, wait) });
  }

  /**
   * An offer ended. Only a ring nobody answered (`expired`) counts as a missed offer; a decline is the
   * agent's choice and a `failed` offer is the platform's fault, so neither counts against the agent.
   */
  offerEnded(sessionId: string, agent: AgentCandidate, result: OfferResult, reason?: string): void {
    const now = this.opts.clock.now();
    const log = this.opts.logger.child({ sessionId, agent: agent.uri, result, reason: reason ?? null });
    if (!this.known(agent.uri)) return;
    if (result === 'accepted') {
      this.pool = confirm(this.pool, agent.uri, sessionId, now);
      this.share('confirm', agent.uri, sessionId);
      log.info('offer accepted');
    } else {
      if (result === 'expired') {
        const missed = recordMissedOffer(this.pool, agent.uri, now, {
          maxMissedInRow: this.opts.maxMissedInRow,
        });
        this.pool = missed.pool;
        if (missed.madeUnavailable) log.warn('agent missed too many offers in a row: set away');
      }
      this.pool = release(this.pool, agent.uri, sessionId, now);
      this.share('release', agent.uri, sessionId);
      if (result === 'failed') log.warn('offer failed on the platform: not counted as a missed offer');
      else log.info('offer not taken');
    }
    this.trackPeaks();
    this.pump();
  }

  /**
   * A session resumed after a restart tells routing where it stood: the agents in its chat, the agent it
   * was being offered to, or that it waits for one (it is queued again, keeping its exclusions).
   */
  restore(sessionId: string, state: RoutingState): void {
    const now = this.opts.clock.now();
    const hold = (agent: AgentCandidate, active: boolean) => {
      if (!this.known(agent.uri)) return;
      try {
        const reserved = reserve(this.pool, agent.uri, sessionId);
        this.pool = active ? confirm(reserved, agent.uri, sessionId, now) : reserved;
      } catch (error) {
        // Over capacity (the capacity was lowered while the SA was down): the chat stays with its agent.
        this.opts.logger.warn(
          { sessionId, agent: agent.uri, error: String(error) },
          'resumed chat not counted',
        );
      }
    };
    for (const agent of state.joined) hold(agent, true);
    if (state.offering) hold(state.offering, false);
    this.trackPeaks();
    if (state.waiting) queueMicrotask(() => this.request(sessionId, state.waiting!));
  }

  agentLeft(sessionId: string, agent: AgentCandidate): void {
    if (!this.known(agent.uri)) return;
    this.pool = release(this.pool, agent.uri, sessionId, this.opts.clock.now());
    this.share('release', agent.uri, sessionId);
    this.pump();
  }

  /** The chat is over: every agent it held is free, and it leaves the queue. */
  sessionEnded(sessionId: string): void {
    this.letGo(sessionId, true);
  }

  /**
   * The chat moved to another instance (its lease was taken over: this one stalled past LEASE_MS). This
   * instance's pool no longer counts it, and it leaves the local queue; the shared pool is the new owner's
   * to keep, so nothing is released there. Without this, each moved chat held one of an agent's places
   * here for good, and once they added up, chats queued here while the agents were free.
   */
  sessionMoved(sessionId: string): void {
    this.letGo(sessionId, false);
  }

  /** The agents holding the chat are free here (and in the shared pool when `shared`); it leaves the queue. */
  private letGo(sessionId: string, shared: boolean): void {
    const now = this.opts.clock.now();
    for (const uri of holdersOf(this.pool, sessionId)) {
      this.pool = release(this.pool, uri, sessionId, now);
      if (shared) this.share('release', uri, sessionId);
    }
    this.forget(sessionId);
    this.pump();
  }

  setPresence(uri: string, presence: Presence): AgentView {
    this.pool = setPresence(this.pool, uri, presence);
    this.storedPresence.set(uri.toLowerCase(), presence);
    this.opts.onPresence?.(uri, presence);
    this.pump();
    return this.agentView(uri);
  }

  /**
   * Presence as stored (set by an operator through this or another instance, before or after a restart):
   * each agent's stored presence that changed since the last look is taken. A change made here meanwhile
   * (an agent set away after missed offers) stands until the stored one changes.
   */
  adoptStoredPresence(stored: Array<{ uri: string; presence: Presence }>): void {
    let changed = false;
    for (const { uri, presence } of stored) {
      const key = uri.toLowerCase();
      if (this.storedPresence.get(key) === presence) continue;
      this.storedPresence.set(key, presence);
      const agent = Object.values(this.pool.agents).find((a) => a.uri.toLowerCase() === key);
      if (!agent || agent.presence === presence) continue;
      this.pool = setPresence(this.pool, agent.uri, presence);
      this.opts.logger.info({ agent: agent.uri, presence }, 'presence set elsewhere taken');
      changed = true;
    }
    if (changed) this.pump();
  }

  /**
   * An operator names the agent (transfer, second agent): reserve them for the session if they are
   * available and have room. Returns why not otherwise. Someone outside the roster (a supervisor) needs
   * no reservation.
   */
  reserveNamed(
    sessionId: string,
    uri: string,
  ): { ok: true; agent: AgentCandidate; inRoster: boolean } | { ok: false; reason: string } {
    if (!this.known(uri))
      return { ok: true, agent: { uri, name: uri.replace(/^sip:/, '') }, inRoster: false };
    const agent = getAgent(this.pool, uri);
    if (agent.presence !== 'available') return { ok: false, reason: `${agent.name} is ${agent.presence}` };
    if (holds(agent, sessionId)) {
      return { ok: false, reason: `${agent.name} is already in this chat` };
    }
    if (load(agent) >= agent.capacity)
      return { ok: false, reason: `${agent.name} is at capacity (${load(agent)}/${agent.capacity})` };
    this.pool = reserve(this.pool, agent.uri, sessionId);
    this.trackPeaks();
    return { ok: true, agent: { uri: agent.uri, name: agent.name }, inRoster: true };
  }

  agents(): AgentView[] {
    return Object.values(this.pool.agents).map((agent) => this.agentView(agent.uri));
  }

  agentView(uri: string): AgentView {
    const agent = getAgent(this.pool, uri);
    return {
      uri: agent.uri,
      name: agent.name,
      skills: agent.skills,
      presence: agent.presence,
      capacity: agent.capacity,
      load: load(agent),
      activeChats: agent.activeChats,
      pendingOffers: agent.pendingOffers,
      missedOffersInRow: agent.missedOffersInRow,
    };
  }

  queued(): Array<{ sessionId: string; position: number; enqueuedAt: string; topic?: string }> {
    return this.queue.entries.map((entry) => ({
      sessionId: entry.sessionId,
      position: position(this.queue, entry.sessionId) ?? 0,
      enqueuedAt: new Date(entry.enqueuedAt).toISOString(),
      ...(entry.topic ? { topic: entry.topic } : {}),
    }));
  }

  assignmentsOf(sessionId: string): Assignment[] {
    return this.assignments.get(sessionId) ?? [];
  }

  /** For each agent, the highest number of chats (held + offered) it ever had at once. */
  peaks(): Record<string, { peak: number; capacity: number }> {
    return Object.fromEntries(
      Object.values(this.pool.agents).map((a) => [
        a.uri,
        { peak: this.peakLoad.get(a.uri) ?? 0, capacity: a.capacity },
      ]),
    );
  }

  /** Hand free agents to queued chats, first in line first. */
  private pump(): void {
    if (this.opts.gate) {
      void this.pumpGated();
      return;
    }
    for (;;) {
      const now = this.opts.clock.now();
      // Only queued chats are looked up (the map holds every live chat that asked: O(queue), not O(chats)).
      const exclude: Record<string, string[]> = {};
      for (const { sessionId } of this.queue.entries) {
        const agents = this.excluded.get(sessionId);
        if (agents) exclude[sessionId] = agents;
      }
      const next = nextFor(this.queue, this.pool, this.opts.strategy, now, {
        exclude,
        skillsFallback: this.opts.skillsFallback,
      });
      if (!next?.assignment.winner) return;
      const winner = getAgent(next.pool, next.assignment.winner);
      this.pool = reserve(next.pool, winner.uri, next.sessionId);
      this.trackPeaks();
      this.queue = dequeue(this.queue, next.sessionId);
      this.assignments.set(next.sessionId, [...this.assignmentsOf(next.sessionId), next.assignment]);
      this.opts.logger.info(
        {
          sessionId: next.sessionId,
          agent: winner.uri,
          strategy: next.assignment.strategy,
          why: next.assignment.why,
        },
        'agent assigned',
      );
      this.opts.send(next.sessionId, {
        type: 'agent.assigned',
        agent: { uri: winner.uri, name: winner.name },
        assignment: next.assignment,
      });
    }
  }

  /**
   * With a shared pool: each pick is reserved in the store before the chat hears of it. An agent the store
   * refuses (full with other instances' chats) is left out for this round, and the chat keeps its place;
   * while chats wait, the round is tried again every GATE_RETRY_MS.
   */
  private pumping = false;
  private pumpAgain = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  private async pumpGated(): Promise<void> {
    const gate = this.opts.gate!;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const refused = new Set<string>();
        for (;;) {
          const now = this.opts.clock.now();
          const exclude: Record<string, string[]> = {};
          for (const entry of this.queue.entries) {
            exclude[entry.sessionId] = [...(this.excluded.get(entry.sessionId) ?? []), ...refused];
          }
          const next = nextFor(this.queue, this.pool, this.opts.strategy, now, {
            exclude,
            skillsFallback: this.opts.skillsFallback,
          });
          if (!next?.assignment.winner) break;
          const winner = getAgent(next.pool, next.assignment.winner);
          const entry = this.queue.entries.find((e) => e.sessionId === next.sessionId);
          const answer = await gate.reserve(winner.uri, next.sessionId).catch((error: unknown) => {
            this.opts.logger.warn(
              { sessionId: next.sessionId, agent: winner.uri, error: String(error) },
              'shared agent pool not reachable: agent not reserved',
            );
            return 'unavailable' as const;
          });
          // The world may have moved while the store answered: the chat left the queue (ended), or the
          // agent is no longer free here.
          const stillQueued = this.queue.entries.some((e) => e.sessionId === next.sessionId);
          if (answer !== 'reserved' && answer !== 'held') {
            refused.add(winner.uri);
            continue;
          }
          if (!stillQueued || !entry) {
            void gate.release(winner.uri, next.sessionId).catch(() => {});
            continue;
          }
          this.pool = reserve(this.pool, winner.uri, next.sessionId);
          this.trackPeaks();
          this.queue = dequeue(this.queue, next.sessionId);
          this.assign(next.sessionId, winner, next.assignment);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    if (this.queue.entries.length > 0 && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, GATE_RETRY_MS);
      this.retryTimer.unref?.();
    }
  }

  private assign(sessionId: string, winner: { uri: string; name: string }, assignment: Assignment): void {
    this.assignments.set(sessionId, [...this.assignmentsOf(sessionId), assignment]);
    this.opts.logger.info(
      { sessionId, agent: winner.uri, strategy: assignment.strategy, why: assignment.why },
      'agent assigned',
    );
    this.opts.send(sessionId, {
      type: 'agent.assigned',
      agent: { uri: winner.uri, name: winner.name },
      assignment,
    });
  }

  /** Tell the shared pool (when there is one); a failure is logged, the local pool stays as it is. */
  private share(what: 'confirm' | 'release', uri: string, sessionId: string): void {
    const gate = this.opts.gate;
    if (!gate) return;
    gate[what](uri, sessionId).catch((error: unknown) => {
      this.opts.logger.warn(
        { sessionId, agent: uri, error: String(error) },
        `shared agent pool: ${what} failed`,
      );
    });
  }

  private trackPeaks(): void {
    for (const agent of Object.values(this.pool.agents)) {
      const current = load(agent);
      if (current > (this.peakLoad.get(agent.uri) ?? 0)) this.peakLoad.set(agent.uri, current);
    }
  }

  private forget(sessionId: string): void {
    this.queue = dequeue(this.queue, sessionId);
    this.excluded.delete(sessionId);
    this.assignments.delete(sessionId);
  }

  private known(uri: string): boolean {
    return Object.values(this.pool.agents).some((a) => a.uri.toLowerCase() === uri.toLowerCase());
  }
}

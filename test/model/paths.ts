/**
 * Which paths of the chat model get driven, and how each is named.
 *
 * 1. `getShortestPaths()` of the test model gives the shortest way into every model snapshot.
 * 2. Every model transition (model state × event) gets one candidate: the shortest way into a snapshot
 *    where it is enabled, the transition itself, then the shortest continuation to `terminated` (over
 *    the model's `getAdjacencyMap()`, happy steps preferred), so every driven chat ends and releases its
 *    meeting. When that candidate cannot run over HTTP, a detour through another snapshot that can is
 *    taken instead, if there is one.
 * 3. `getSimplePaths()`, bounded to the agent-offer lifecycle: from the first offer, only agent answers,
 *    offer timeouts and successful steps, stopping as soon as the chat leaves `welcomed` — the offer
 *    scenarios (declined then accepted, timed out twice, …). These are always kept.
 * 4. A greedy cover then keeps, from the candidates, the fewest paths that still take every model
 *    transition at least once.
 *
 * Paths that cannot be caused over HTTP (`notOverHttp`) run against the real machines with fake effects
 * instead; the coverage line counts them separately.
 */
import { createTestModel, getAdjacencyMap, type StatePath } from '@xstate/graph';
import type { SnapshotFrom } from 'xstate';
import { type ChatModelEvent, type ChatModelEventType, chatModel, MODEL_EVENTS } from './chatModel.ts';
import { leafOf, type PathStep, pathSteps, STALLS, stepLabel } from './steps.ts';

export type ModelSnapshot = SnapshotFrom<typeof chatModel>;
export type ModelPath = StatePath<ModelSnapshot, ChatModelEvent>;

export const chatTestModel = createTestModel(chatModel);

/**
 * The events to try in a state: only those it takes. (By default the graph tries every event the state
 * names, and one whose guard fails would show up as a step that changes nothing.)
 */
export const takenEvents = (snapshot: ModelSnapshot): ChatModelEvent[] =>
  (Object.keys(MODEL_EVENTS) as ChatModelEventType[])
    .map((type) => ({ type }))
    .filter((event) => snapshot.can(event));

/** Snapshots are told apart by state and context only (not by the transition that reached them). */
export const serializeSnapshot = (snapshot: ModelSnapshot) =>
  JSON.stringify([snapshot.value, snapshot.context]);

const traversal = { events: takenEvents, serializeState: serializeSnapshot };

export interface ChatPath {
  /** Readable and unique; see README.md, "Model-based tests" ("Reading a path name"). */
  name: string;
  origin: 'offer' | 'transition';
  graphPath: ModelPath;
  steps: PathStep[];
  /** Why the path cannot be driven over HTTP; it then runs against the machines with fake effects. */
  notOverHttp?: string;
}

/** Platform outcomes the emulator and the runtime cannot produce, with the reason. */
export const NOT_CAUSABLE_OVER_HTTP: Partial<Record<ChatModelEventType, string>> = {
  MEETING_FAILS:
    'the emulator always completes the onlineMeetingInvitation with Success; no fault makes it report Failure',
  WELCOME_NOT_DELIVERED:
    "the emulator always completes the SA's outgoing messages with Success; no fault makes it report Failure",
  OFFER_CRASHES:
    'the agent offer handles every error of its own steps; nothing from outside makes the actor fail',
  UNASKED_QUEUE_UPDATE:
    "the SA's router sends a queue position only in answer to a request or a routing.status, and a waiting chat has none outstanding",
  ROUTING_GIVES_UP:
    "the SA's router answers routing.unavailable only to a routing request, and a queued chat makes none",
  EFFECT_FAILS:
    "the runtime's ejectParticipants is best effort: it catches every failed eject or removal, so it never rejects",
  RING_OUT:
    "the emulator's ring timeout runs on its own real-time scheduler (ringTimeoutMs), which a path cannot move like the SA's clock; test/routing/offerFaults.test.ts rings one out over HTTP",
};

const AWAITING_MESSAGING_REASON =
  "the customer's messaging-Connected callback reads exactly like the conference's ('conversation: messaging updated'), " +
  'which may still be on its way when the test arms the drop; only when the last trigger is the retry of acceptAndBridge ' +
  'is the conference one surely delivered';

/** Why a path cannot be driven over HTTP with the emulator, or undefined when it can. */
export function notOverHttp(steps: readonly PathStep[]): string | undefined {
  for (const step of steps) {
    const reason = NOT_CAUSABLE_OVER_HTTP[step.event];
    if (reason) return `${MODEL_EVENTS[step.event].label}: ${reason}`;
  }
  let lastTrigger: PathStep | undefined;
  for (const step of steps) {
    if (MODEL_EVENTS[step.event].kind !== 'trigger') continue;
    if (
      step.source === 'bridged.awaitingMessaging' &&
      !(lastTrigger?.event === 'RETRY_TIMER' && lastTrigger.source === 'conferenced.bridgingBackoff')
    ) {
      return `${MODEL_EVENTS[step.event].label} while ${STALLS[step.source]?.callback} is missing: ${AWAITING_MESSAGING_REASON}`;
    }
    lastTrigger = step;
  }
  return undefined;
}

export function pathName(steps: readonly PathStep[], final: ModelSnapshot): string {
  const labels = steps.map(stepLabel).filter((label): label is string => label !== undefined);
  const end = leafOf(final.value);
  const outcome = final.context.outcome === 'none' ? '' : ` (${final.context.outcome})`;
  return `${labels.join(' · ')} ⇒ ${end}${outcome}`;
}

const isTerminated = (snapshot: ModelSnapshot) => snapshot.matches('terminated');

/** Shorter first; among equals, fewer remarkable steps (happy continuations), then by name. */
function preference(a: ModelPath, b: ModelPath): number {
  const remarkable = (p: ModelPath) => pathSteps(p.steps).filter((s) => stepLabel(s) !== undefined).length;
  const name = (p: ModelPath) => pathName(pathSteps(p.steps), p.state);
  // Plain code-unit order (not localeCompare): the same on every machine.
  const byName = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return a.steps.length - b.steps.length || remarkable(a) - remarkable(b) || byName(name(a), name(b));
}

type Adjacency = Record<
  string,
  { state: ModelSnapshot; transitions: Record<string, { event: ChatModelEvent; state: ModelSnapshot }> }
>;

let adjacencyCache: Adjacency | undefined;
/** The model's adjacency map over snapshots (state + context), computed once. */
export function modelAdjacency(): Adjacency {
  adjacencyCache ??= getAdjacencyMap(chatModel, traversal) as unknown as Adjacency;
  return adjacencyCache;
}

let towardEndCache: Map<string, ChatModelEvent> | undefined;
/**
 * For every snapshot, the first event of a shortest way to `terminated` (breadth-first, backwards from
 * the end); among equally short ways, an unremarkable (happy) event first.
 */
function towardEnd(): Map<string, ChatModelEvent> {
  if (towardEndCache) return towardEndCache;
  const adjacency = modelAdjacency();
  const distance = new Map<string, number>();
  const incoming = new Map<string, string[]>();
  for (const [from, { transitions }] of Object.entries(adjacency)) {
    for (const { state } of Object.values(transitions)) {
      const to = serializeSnapshot(state);
      incoming.set(to, [...(incoming.get(to) ?? []), from]);
    }
  }
  let frontier = Object.entries(adjacency)
    .filter(([, { state }]) => isTerminated(state))
    .map(([key]) => key);
  for (const key of frontier) distance.set(key, 0);
  for (let d = 1; frontier.length; d++) {
    const next: string[] = [];
    for (const key of frontier) {
      for (const from of incoming.get(key) ?? []) {
        if (distance.has(from)) continue;
        distance.set(from, d);
        next.push(from);
      }
    }
    frontier = next;
  }
  const order = Object.keys(MODEL_EVENTS) as ChatModelEventType[];
  const rank = (type: ChatModelEventType) =>
    (stepLabel({ source: '', event: type, target: '' }) === undefined ? 0 : 1000) + order.indexOf(type);
  const choice = new Map<string, ChatModelEvent>();
  for (const [from, { transitions }] of Object.entries(adjacency)) {
    const d = distance.get(from);
    if (d === undefined || d === 0) continue;
    const best = Object.values(transitions)
      .filter(({ state }) => distance.get(serializeSnapshot(state)) === d - 1)
      .map(({ event }) => event)
      .sort((a, b) => rank(a.type) - rank(b.type))[0];
    if (best) choice.set(from, best);
  }
  towardEndCache = choice;
  return choice;
}

type Step = ModelPath['steps'][number];

/** The snapshot an event leads to (the model's adjacency). */
function after(state: ModelSnapshot, event: ChatModelEvent): ModelSnapshot {
  const next = modelAdjacency()[serializeSnapshot(state)]?.transitions[JSON.stringify(event)]?.state;
  if (!next) throw new Error(`${event.type} is not taken in model state ${leafOf(state.value)}`);
  return next;
}

/** The path followed by its shortest continuation to `terminated`. */
export function completed(path: ModelPath): ModelPath {
  const steps: Step[] = [...path.steps];
  const choice = towardEnd();
  let state = path.state;
  while (!isTerminated(state)) {
    const event = choice.get(serializeSnapshot(state));
    if (!event) throw new Error(`model state ${leafOf(state.value)} cannot reach terminated`);
    state = after(state, event);
    steps.push({ state, event });
  }
  return { state, steps, weight: steps.length - 1 };
}

function toChatPath(graphPath: ModelPath, origin: ChatPath['origin']): ChatPath {
  const steps = pathSteps(graphPath.steps);
  const reason = notOverHttp(steps);
  return {
    name: pathName(steps, graphPath.state),
    origin,
    graphPath,
    steps,
    ...(reason ? { notOverHttp: reason } : {}),
  };
}

/** Model transition = model state (leaf path) × event → model state. */
export const transitionKey = (step: PathStep) => `${step.source} --${step.event}--> ${step.target}`;

/** Every transition of the model, read from its adjacency map (over all reachable snapshots). */
export function modelTransitions(): Set<string> {
  const out = new Set<string>();
  for (const { state, transitions } of Object.values(getAdjacencyMap(chatModel, traversal))) {
    const edges = Object.values(transitions) as Array<{ event: ChatModelEvent; state: ModelSnapshot }>;
    for (const { event, state: next } of edges) {
      out.add(transitionKey({ source: leafOf(state.value), event: event.type, target: leafOf(next.value) }));
    }
  }
  return out;
}

/** The offer scenarios: bounded simple paths through the chat's own offers, each completed to `terminated`. */
function offerPaths(): ModelPath[] {
  const [toOffer] = chatTestModel
    .getShortestPaths({
      ...traversal,
      toState: (s) => s.matches({ welcomed: { offering: 'bridging' } }) && s.context.agentTries === 0,
    })
    .sort(preference);
  if (!toOffer) throw new Error('the model never offers the chat to an agent');
  const answers: ChatModelEventType[] = [
    'API_OK',
    'AGENT_ACCEPTS',
    'AGENT_DECLINES',
    'OFFER_TIMEOUT',
    'AGENT_ASSIGNED',
    'NO_AGENT_LEFT',
  ];
  const leftOffers = (s: ModelSnapshot) => !s.matches('welcomed');
  return chatTestModel
    .getSimplePathsFrom([toOffer], {
      ...traversal,
      events: (s: ModelSnapshot) => takenEvents(s).filter((e) => answers.includes(e.type)),
      stopWhen: leftOffers,
      toState: leftOffers,
    })
    .map(completed);
}

/** The shortest event sequence from one snapshot to another (breadth-first over the adjacency map). */
function eventsBetween(from: ModelSnapshot, to: string): ChatModelEvent[] | undefined {
  const adjacency = modelAdjacency();
  const start = serializeSnapshot(from);
  const back = new Map<string, { prev: string; event: ChatModelEvent }>();
  const seen = new Set([start]);
  let frontier = [start];
  while (frontier.length && !seen.has(to)) {
    const next: string[] = [];
    for (const key of frontier) {
      for (const { event, state } of Object.values(adjacency[key]?.transitions ?? {})) {
        const k = serializeSnapshot(state);
        if (seen.has(k)) continue;
        seen.add(k);
        back.set(k, { prev: key, event });
        next.push(k);
      }
    }
    frontier = next;
  }
  if (!seen.has(to)) return undefined;
  const events: ChatModelEvent[] = [];
  for (let key = to; key !== start; key = back.get(key)!.prev) events.unshift(back.get(key)!.event);
  return events;
}

/** A path extended by events (states from the adjacency map). */
function extend(path: ModelPath, events: readonly ChatModelEvent[]): ModelPath {
  const steps: Step[] = [...path.steps];
  let state = path.state;
  for (const event of events) {
    state = after(state, event);
    steps.push({ state, event });
  }
  return { state, steps, weight: steps.length - 1 };
}

/**
 * One candidate per model transition: the shortest way in, the transition, the shortest way out. When
 * that cannot run over HTTP, a detour through another snapshot first (the shortest way there, then on to
 * the transition) may: the first such detour, in order of the way's length, replaces it.
 */
function transitionCandidates(): ModelPath[] {
  const ways = chatTestModel.getShortestPaths({ ...traversal, allowDuplicatePaths: true }).sort(preference);
  const firstWays = new Map<string, { way: ModelPath; event: ChatModelEvent }>();
  for (const way of ways) {
    for (const event of takenEvents(way.state)) {
      const state = after(way.state, event);
      const key = transitionKey({
        source: leafOf(way.state.value),
        event: event.type,
        target: leafOf(state.value),
      });
      if (!firstWays.has(key)) firstWays.set(key, { way, event });
    }
  }
  return [...firstWays.values()].map(({ way, event }) => {
    const direct = completed(extend(way, [event]));
    if (!notOverHttp(pathSteps(direct.steps)) || NOT_CAUSABLE_OVER_HTTP[event.type]) return direct;
    const target = serializeSnapshot(way.state);
    for (const detour of ways) {
      if (detour.steps.length >= 2 && NOT_CAUSABLE_OVER_HTTP[detour.steps.at(-1)!.event.type]) continue;
      const onward = eventsBetween(detour.state, target);
      if (!onward) continue;
      const candidate = completed(extend(detour, [...onward, event]));
      if (!notOverHttp(pathSteps(candidate.steps))) return candidate;
    }
    return direct;
  });
}

function select(): ChatPath[] {
  const chosen = new Map<string, ChatPath>();
  const covered = new Set<string>();
  const take = (path: ChatPath) => {
    if (chosen.has(path.name)) return;
    chosen.set(path.name, path);
    for (const step of path.steps) covered.add(transitionKey(step));
  };
  for (const path of offerPaths().sort(preference)) take(toChatPath(path, 'offer'));
  const candidates = transitionCandidates().map((path) => ({ path: toChatPath(path, 'transition') }));
  // Greedy cover: the candidate that takes the most transitions not yet taken, until none is left.
  for (;;) {
    let best: ChatPath | undefined;
    let bestGain = 0;
    for (const { path } of candidates) {
      const gain = new Set(path.steps.map(transitionKey).filter((k) => !covered.has(k))).size;
      if (
        gain > bestGain ||
        (gain === bestGain && gain > 0 && best && preference(path.graphPath, best.graphPath) < 0)
      ) {
        best = path;
        bestGain = gain;
      }
    }
    if (!best) break;
    take(best);
  }
  return [...chosen.values()];
}

/** The paths the model-based suite drives, in a stable order. */
export const CHAT_PATHS: readonly ChatPath[] = select();

/**
 * A static view of an XState v5 machine, read from its definition only (no actor is started, no guard
 * or action runs): the state nodes, the transitions between them, and a liveness check over the
 * configurations the machine can be in.
 *
 * How edges are read (all from `machine.root`, which XState has already normalised):
 * - `on` events, `after` delays, `invoke` onDone/onError/onSnapshot and a compound/parallel state's own
 *   `onDone` all live in `stateNode.transitions`; event-less (`always`) transitions in `stateNode.always`.
 * - A transition with several targets (into parallel regions) gives one edge per target.
 * - Targetless transitions (actions only, the state does not change) are not edges.
 *
 * How the liveness check treats what it cannot know statically:
 * - **Guards are conservative**: a guarded transition may or may not be taken, so every guarded
 *   candidate counts as possible, and so does every candidate after it in the same list, up to and
 *   including the first unguarded one (which always wins, so later candidates can never run).
 * - Every external event, every `after` delay and every invoke's onDone/onError can happen whenever the
 *   state that declares it is active. A compound state's `onDone` is possible only once one of its
 *   final children is active (a parallel state's once every region has reached a final child).
 * - Event-less steps take priority: in a configuration where an unguarded `always` (or an unguarded
 *   `onDone` of a finished state) is enabled, only those internal steps are explored, because the
 *   machine cannot rest there long enough to receive an event.
 * - History targets may restore any child of their parent, entered through its initial states.
 * So "reachable" and "can reach a final state" mean: along *some* choice of events and guard outcomes.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { allStateNodes, resolveStateNode } from '../../machines/stateIds.ts';

/** State ids and their errors live beside the machines (the runtime needs them without the renderer). */
export { activeStateIds, resolveStateNode, UnknownStateError } from '../../machines/stateIds.ts';

export type StateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface GraphNode {
  /** XState state node id, e.g. `chatSession.agentsJoined.waiting`. */
  id: string;
  /** The key within its parent, e.g. `waiting`. */
  key: string;
  /** Keys from the root, e.g. `['agentsJoined', 'waiting']`. */
  path: string[];
  /** Parent node id; undefined for top-level states (whose parent is the machine root). */
  parent: string | undefined;
  type: StateType;
  /** For compound states: the ids of the initial child state(s). */
  initial: string[];
  /** Child ids in document order. */
  children: string[];
  /** For history states. */
  history?: 'shallow' | 'deep';
  description?: string;
}

export type EdgeKind =
  | 'event'
  | 'always'
  | 'after'
  | 'invoke.done'
  | 'invoke.error'
  | 'invoke.snapshot'
  | 'state.done'
  | 'route';

export interface GraphEdge {
  /** The state that declares the transition; the machine id for one declared on the machine itself (any state). */
  source: string;
  target: string;
  /** The XState event descriptor (`callback.x`, `xstate.done.actor.id`, …); `''` for `always`. */
  event: string;
  /** Human-readable event: `callback.x`, `done(createMeeting)`, `error(createMeeting)`, `after 5s`, `always`, `done`. */
  label: string;
  kind: EdgeKind;
  /** Guard name (`isAllowed`, `and(a, b)`, `!a`, `inline`) when the transition is guarded. */
  guard?: string;
  reenter: boolean;
}

export interface MachineGraph {
  /** The machine id (= id of the root node). */
  id: string;
  /** Root type: `compound` or `parallel`. */
  rootType: StateType;
  /** The initial top-level state id(s). */
  initial: string[];
  /** Every state node except the root, in document order. */
  nodes: GraphNode[];
  /** Every transition with a target, in document order of their source then declaration order. */
  edges: GraphEdge[];
}

type StateNode = AnyStateNode;
type Transition = AnyTransitionDefinition;

function childNodes(node: StateNode): StateNode[] {
  return Object.values(node.states as Record<string, StateNode>);
}

function initialTargets(node: StateNode): StateNode[] {
  if (node.type !== 'compound') return [];
  return [...(node.initial?.target ?? [])];
}

/** A readable name for a guard: named guards by name, combinators spelled out, inline functions as `inline`. */
export function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const fn = guard as { name?: string; guards?: unknown[]; stateValue?: unknown };
    if (Array.isArray(fn.guards)) {
      const inner = fn.guards.map(guardName);
      if (fn.name === 'not') return `!${inner[0] ?? '?'}`;
      if (fn.name === 'and' || fn.name === 'or') return `${fn.name}(${inner.join(', ')})`;
    }
    if (fn.name === 'stateIn') return `in(${JSON.stringify(fn.stateValue)})`;
    return fn.name && fn.name !== 'guard' ? fn.name : 'inline';
  }
  if (guard && typeof guard === 'object' && 'type' in guard && typeof guard.type === 'string')
    return guard.type;
  return 'inline';
}

function formatDelay(delay: unknown): string {
  if (typeof delay === 'number') {
    if (delay > 0 && delay % 60_000 === 0) return `${delay / 60_000}min`;
    if (delay > 0 && delay % 1000 === 0) return `${delay / 1000}s`;
    return `${delay}ms`;
  }
  if (typeof delay === 'string') return delay;
  return 'delay';
}

function describeEvent(
  node: StateNode,
  descriptor: string,
  transition: Transition,
): { kind: EdgeKind; label: string } {
  if (descriptor === '') return { kind: 'always', label: 'always' };
  if (descriptor === 'xstate.route') return { kind: 'route', label: 'route' };
  const prefixes: Array<[string, EdgeKind, (rest: string) => string]> = [
    ['xstate.done.actor.', 'invoke.done', (id) => `done(${id})`],
    ['xstate.error.actor.', 'invoke.error', (id) => `error(${id})`],
    ['xstate.snapshot.', 'invoke.snapshot', (id) => `snapshot(${id})`],
    ['xstate.done.state.', 'state.done', () => 'done'],
  ];
  for (const [prefix, kind, label] of prefixes) {
    if (descriptor.startsWith(prefix)) return { kind, label: label(descriptor.slice(prefix.length)) };
  }
  if (descriptor.startsWith('xstate.after.')) {
    const delay = (transition as Transition & { delay?: unknown }).delay;
    return {
      kind: 'after',
      label: `after ${formatDelay(delay ?? descriptor.slice(13, -node.id.length - 1))}`,
    };
  }
  return { kind: 'event', label: descriptor };
}

/** Every transition a node declares, in declaration order, with its event descriptor (`''` for always). */
function declaredTransitions(node: StateNode): Array<{ descriptor: string; list: Transition[] }> {
  const out: Array<{ descriptor: string; list: Transition[] }> = [];
  for (const [descriptor, list] of node.transitions as Map<string, Transition[]>)
    out.push({ descriptor, list });
  if (node.always?.length) out.push({ descriptor: '', list: node.always as Transition[] });
  return out;
}

/** The static transition graph of a machine: nodes = state nodes, edges = transitions with a target. */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = machine.root as StateNode;
  const nodes: GraphNode[] = allStateNodes(root).map((node) => {
    const graphNode: GraphNode = {
      id: node.id,
      key: node.key,
      path: [...node.path],
      parent: node.parent && node.parent !== root ? node.parent.id : undefined,
      type: node.type,
      initial: initialTargets(node).map((t) => t.id),
      children: childNodes(node).map((c) => c.id),
    };
    if (node.type === 'history') graphNode.history = node.history === 'deep' ? 'deep' : 'shallow';
    if (node.description) graphNode.description = node.description;
    return graphNode;
  });
  const edges: GraphEdge[] = [];
  for (const node of [root, ...allStateNodes(root)]) {
    for (const { descriptor, list } of declaredTransitions(node)) {
      for (const transition of list) {
        if (!transition.target?.length) continue;
        const { kind, label } = describeEvent(node, descriptor, transition);
        for (const target of transition.target) {
          const edge: GraphEdge = {
            source: node.id,
            target: target.id,
            event: descriptor,
            label,
            kind,
            reenter: transition.reenter,
          };
          if (transition.guard !== undefined) edge.guard = guardName(transition.guard);
          edges.push(edge);
        }
      }
    }
  }
  return {
    id: root.id,
    rootType: root.type,
    initial: initialTargets(root).map((t) => t.id),
    nodes,
    edges,
  };
}

// ---------------------------------------------------------------------------------------------------
// Liveness: explore every configuration (set of active state nodes) the machine can reach.
// ---------------------------------------------------------------------------------------------------

export interface LivenessOptions {
  /**
   * The states that count as "the end". Each entry is a state id (`chatSession.terminated`), a path from
   * the root (`terminated`, `closing.done`) or `#id`. Default: the machine is done (a top-level final
   * state is active).
   */
  finalStates?: string[];
  /** Safety limit on the number of configurations explored (default 100 000). */
  maxConfigurations?: number;
}

export interface LivenessReport {
  /** State ids never active in any reachable configuration, in document order. */
  unreachable: string[];
  /** Reachable state ids from which no final state can be reached (no configuration containing the state reaches one). */
  stuck: string[];
}

function isDescendant(node: StateNode, ancestor: StateNode): boolean {
  for (let p = node.parent; p; p = p.parent) if (p === ancestor) return true;
  return false;
}

function properAncestors(node: StateNode): StateNode[] {
  const out: StateNode[] = [];
  for (let p = node.parent; p; p = p.parent) out.push(p);
  return out;
}

/**
 * A history target may stand for any child of its parent (the last one active, or its default when there
 * is none): each is entered through its initial states.
 */
function historyAlternatives(history: StateNode): StateNode[] {
  const parent = history.parent;
  if (!parent) return [];
  return childNodes(parent).filter((c) => c.type !== 'history');
}

function cartesian<T>(options: T[][]): T[][] {
  return options.reduce<T[][]>((acc, opts) => acc.flatMap((prefix) => opts.map((o) => [...prefix, o])), [[]]);
}

/** The v5 transition domain (mirrors xstate's getTransitionDomain). */
function transitionDomain(
  source: StateNode,
  targets: StateNode[],
  reenter: boolean,
  root: StateNode,
): StateNode {
  if (!reenter && targets.every((t) => t === source || isDescendant(t, source))) return source;
  const [head, ...tail] = [...targets, source];
  if (head) {
    for (const ancestor of properAncestors(head)) {
      if (tail.every((n) => isDescendant(n, ancestor))) return ancestor;
    }
  }
  return root;
}

class ConfigurationSpace {
  private readonly root: StateNode;

  constructor(machine: AnyStateMachine) {
    this.root = machine.root as StateNode;
  }

  /** Completes a set of active nodes: ancestors active, compounds enter their initial child, parallels all regions. */
  normalize(active: Set<StateNode>): Set<StateNode> {
    for (const node of [...active]) for (const a of properAncestors(node)) if (a !== this.root) active.add(a);
    const queue = [...active, this.root];
    while (queue.length) {
      const node = queue.shift()!;
      const children = childNodes(node).filter((c) => c.type !== 'history');
      if (node.type === 'parallel') {
        for (const child of children) {
          if (!active.has(child)) {
            active.add(child);
            queue.push(child);
          }
        }
      } else if (node.type === 'compound' && !children.some((c) => active.has(c))) {
        for (const target of initialTargets(node)) {
          for (const n of [target, ...properAncestors(target)]) {
            if (n === node || !isDescendant(n, node) || active.has(n)) continue;
            active.add(n);
            queue.push(n);
          }
        }
      }
    }
    return active;
  }

  key(active: Set<StateNode>): string {
    return [...active]
      .map((n) => n.id)
      .sort()
      .join('|');
  }

  initial(): Set<StateNode> {
    return this.normalize(new Set());
  }

  /** A compound state is done when a final child is active; a parallel state when every region is done. */
  isDone(node: StateNode, active: Set<StateNode>): boolean {
    const children = childNodes(node);
    if (node.type === 'parallel') return children.every((c) => this.isDone(c, active));
    if (node.type === 'compound') return children.some((c) => c.type === 'final' && active.has(c));
    return false;
  }

  /** The candidate transitions of a list: every guarded one up to and including the first unguarded one. */
  private candidates(list: Transition[]): { possible: Transition[]; certain: boolean } {
    const possible: Transition[] = [];
    for (const t of list) {
      possible.push(t);
      if (t.guard === undefined) return { possible, certain: true };
    }
    return { possible, certain: false };
  }

  enabled(active: Set<StateNode>): Transition[] {
    const internal: Transition[] = [];
    const external: Transition[] = [];
    let forced = false;
    for (const node of [this.root, ...active]) {
      for (const { descriptor, list } of declaredTransitions(node)) {
        const isAlways = descriptor === '';
        const isStateDone = descriptor.startsWith('xstate.done.state.');
        if (isStateDone && !this.isDone(node, active)) continue;
        const { possible, certain } = this.candidates(list);
        if (isAlways || isStateDone) {
          internal.push(...possible);
          if (certain && possible.at(-1)?.target?.length) forced = true;
        } else {
          external.push(...possible);
        }
      }
    }
    return forced ? internal : [...internal, ...external];
  }

  apply(active: Set<StateNode>, transition: Transition): Set<StateNode>[] {
    const targets = [...(transition.target ?? [])] as StateNode[];
    if (!targets.length) return [];
    const options = targets.map((t) => (t.type === 'history' ? historyAlternatives(t) : [t]));
    return cartesian(options).map((resolved) => {
      const domain = transitionDomain(
        transition.source as StateNode,
        resolved,
        transition.reenter,
        this.root,
      );
      const next = new Set([...active].filter((n) => !isDescendant(n, domain)));
      for (const target of resolved) {
        next.add(target);
        for (const a of properAncestors(target)) {
          if (a === domain || !isDescendant(a, domain)) break;
          next.add(a);
        }
      }
      return this.normalize(next);
    });
  }
}

export function checkLiveness(machine: AnyStateMachine, opts: LivenessOptions = {}): LivenessReport {
  const space = new ConfigurationSpace(machine);
  const root = machine.root as StateNode;
  const finals = opts.finalStates?.map((ref) => resolveStateNode(machine, ref));
  const limit = opts.maxConfigurations ?? 100_000;
  const isFinal = (active: Set<StateNode>) =>
    finals ? finals.some((f) => active.has(f)) : space.isDone(root, active);
  const machineStops = (active: Set<StateNode>) => space.isDone(root, active);

  const configs = new Map<string, Set<StateNode>>();
  const successors = new Map<string, Set<string>>();
  const start = space.initial();
  const queue: string[] = [space.key(start)];
  configs.set(queue[0]!, start);
  while (queue.length) {
    const key = queue.shift()!;
    const active = configs.get(key)!;
    const next = new Set<string>();
    successors.set(key, next);
    if (machineStops(active)) continue;
    for (const transition of space.enabled(active)) {
      for (const result of space.apply(active, transition)) {
        const resultKey = space.key(result);
        next.add(resultKey);
        if (!configs.has(resultKey)) {
          if (configs.size >= limit) {
            throw new Error(
              `machine '${root.id}': more than ${limit} configurations; the liveness check cannot finish (raise maxConfigurations)`,
            );
          }
          configs.set(resultKey, result);
          queue.push(resultKey);
        }
      }
    }
  }

  // Backward search from final configurations.
  const predecessors = new Map<string, string[]>();
  for (const [from, tos] of successors) {
    for (const to of tos) predecessors.set(to, [...(predecessors.get(to) ?? []), from]);
  }
  const live = new Set<string>();
  const pending = [...configs].filter(([, active]) => isFinal(active)).map(([key]) => key);
  for (const key of pending) live.add(key);
  while (pending.length) {
    const key = pending.pop()!;
    for (const from of predecessors.get(key) ?? []) {
      if (!live.has(from)) {
        live.add(from);
        pending.push(from);
      }
    }
  }

  const reached = new Set<StateNode>();
  const liveNodes = new Set<StateNode>();
  for (const [key, active] of configs) {
    for (const node of active) {
      reached.add(node);
      if (live.has(key)) liveNodes.add(node);
    }
  }
  const states = allStateNodes(root).filter((n) => n.type !== 'history');
  return {
    unreachable: states.filter((n) => !reached.has(n)).map((n) => n.id),
    stuck: states.filter((n) => reached.has(n) && !liveNodes.has(n)).map((n) => n.id),
  };
}

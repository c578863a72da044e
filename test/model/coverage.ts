/**
 * What a driven path did to the REAL chat-session actor, read from its inspection API, and the coverage
 * of the real machine's graph (`machineGraph`) accumulated over all paths.
 *
 * Why inspection and not snapshots: an actor's subscribers see one snapshot per macrostep, so states the
 * machine passes through inside one macrostep (`always` decisions such as `bridged.checkingAgents`) are
 * invisible to them, and two transitions with the same source, target and event (told apart only by
 * their guards) look alike. Every `@xstate.microstep` inspection event carries the transitions XState
 * actually took (`_transitions`, the machine's own transition definitions) and the snapshot after them,
 * so each visited state and each taken edge is recorded exactly.
 */
import {
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyTransitionDefinition,
  type InspectionEvent,
  isMachineSnapshot,
} from 'xstate';
import {
  activeStateIds,
  type GraphEdge,
  type GraphNode,
  guardName,
  machineGraph,
} from '../../src/viz/graph.ts';
import { leafOf } from './steps.ts';

/** An edge of the real machine: source, event descriptor (`always` for ''), guard, target. */
export function edgeKey(edge: Pick<GraphEdge, 'source' | 'event' | 'target' | 'guard'>): string {
  return `${edge.source} --${edge.event || 'always'}${edge.guard ? ` [${edge.guard}]` : ''}--> ${edge.target}`;
}

function transitionEdgeKeys(transition: AnyTransitionDefinition): string[] {
  const guard = transition.guard === undefined ? undefined : guardName(transition.guard);
  return (transition.target ?? []).map((target) =>
    edgeKey({
      source: transition.source.id,
      event: transition.eventType,
      target: target.id,
      ...(guard ? { guard } : {}),
    }),
  );
}

/**
 * The real actors' run: the chat session's states in order (consecutive repeats folded), its offer
 * children's states in order (each new offer starts with its initial state), and every state and edge
 * seen, of either machine.
 */
export class RealTrail {
  readonly chat: string[] = [];
  readonly offer: string[] = [];
  readonly states = new Set<string>();
  readonly edges = new Set<string>();
  private readonly machines: ReadonlyMap<string, AnyStateMachine>;

  /** `chat` is the session's machine; `others` are the machines of its children (the agent offer). */
  constructor(
    private readonly chatMachine: AnyStateMachine,
    others: AnyStateMachine[],
  ) {
    this.machines = new Map([chatMachine, ...others].map((m) => [m.id, m]));
  }

  /** An inspection observer: pass it to `createActor(…, { inspect })` or `actor.system.inspect(…)`. */
  readonly observe = (event: InspectionEvent): void => {
    if (event.type === '@xstate.snapshot' && event.event.type === 'xstate.init') {
      // A machine actor started: its initial state (a new offer, or the session itself).
      if (isMachineSnapshot(event.snapshot)) this.visit(event.snapshot as AnyMachineSnapshot);
      return;
    }
    if (event.type !== '@xstate.microstep') return;
    const snapshot = event.snapshot as AnyMachineSnapshot;
    const machine = this.machines.get(snapshot.machine.id);
    if (!machine) return;
    const trail = machine === this.chatMachine ? this.chat : this.offer;
    for (const transition of event._transitions) {
      // A transition's source was active: this also records states left inside the very first
      // macrostep (an initial `always` decision), before any snapshot showed them.
      this.states.add(transition.source.id);
      if (trail.length === 0 && transition.source.type === 'atomic')
        trail.push(transition.source.path.join('.'));
      for (const key of transitionEdgeKeys(transition)) this.edges.add(key);
    }
    this.visit(snapshot);
  };

  private visit(snapshot: AnyMachineSnapshot): void {
    const machine = this.machines.get(snapshot.machine.id);
    if (!machine || snapshot.status === 'stopped') return;
    for (const id of activeStateIds(machine, snapshot.value)) this.states.add(id);
    const trail = machine === this.chatMachine ? this.chat : this.offer;
    const leaf = leafOf(snapshot.value);
    if (trail.at(-1) !== leaf) trail.push(leaf);
  }
}

export type Backend = 'http' | 'machine';

export interface CoverageReport {
  states: { total: number; covered: number; missing: string[] };
  edges: { total: number; covered: number; missing: string[] };
}

/** Coverage of the machines' graphs (all of them together), per backend. */
export class CoverageRecorder {
  private readonly graph: { nodes: GraphNode[]; edges: GraphEdge[] };
  private readonly seen: Record<Backend, { states: Set<string>; edges: Set<string>; paths: number }> = {
    http: { states: new Set(), edges: new Set(), paths: 0 },
    machine: { states: new Set(), edges: new Set(), paths: 0 },
  };

  constructor(machines: AnyStateMachine[]) {
    const graphs = machines.map((machine) => machineGraph(machine));
    this.graph = { nodes: graphs.flatMap((g) => g.nodes), edges: graphs.flatMap((g) => g.edges) };
  }

  /** Edge keys that two edges of the real machine share (then coverage could not tell them apart). */
  ambiguousEdges(): string[] {
    const keys = this.graph.edges.map(edgeKey);
    return keys.filter((key, i) => keys.indexOf(key) !== i);
  }

  allStates(): string[] {
    return this.graph.nodes.map((node) => node.id);
  }

  allEdges(): string[] {
    return this.graph.edges.map(edgeKey);
  }

  add(backend: Backend, trail: RealTrail): void {
    const seen = this.seen[backend];
    for (const state of trail.states) seen.states.add(state);
    for (const edge of trail.edges) seen.edges.add(edge);
    seen.paths += 1;
  }

  paths(backend?: Backend): number {
    return backend ? this.seen[backend].paths : this.seen.http.paths + this.seen.machine.paths;
  }

  /** Coverage by the given backends together (default: both). */
  report(backends: Backend[] = ['http', 'machine']): CoverageReport {
    const states = new Set(backends.flatMap((b) => [...this.seen[b].states]));
    const edges = new Set(backends.flatMap((b) => [...this.seen[b].edges]));
    const allStates = this.allStates();
    const allEdges = this.allEdges();
    return {
      states: {
        total: allStates.length,
        covered: allStates.filter((s) => states.has(s)).length,
        missing: allStates.filter((s) => !states.has(s)),
      },
      edges: {
        total: allEdges.length,
        covered: allEdges.filter((e) => edges.has(e)).length,
        missing: allEdges.filter((e) => !edges.has(e)),
      },
    };
  }

  /** Edges taken that the static graph does not list (would mean the key scheme is out of step). */
  unknownEdges(): string[] {
    const known = new Set(this.allEdges());
    const taken = new Set([...this.seen.http.edges, ...this.seen.machine.edges]);
    return [...taken].filter((e) => !known.has(e));
  }
}

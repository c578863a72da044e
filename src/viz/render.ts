/**
 * Charts of a machine, generated from its definition: Graphviz DOT (→ SVG through @hpcc-js/wasm-graphviz,
 * offline) and Mermaid `stateDiagram-v2`. Output is deterministic: it follows the machine's document
 * order only, so the same machine always gives byte-identical files.
 *
 * How to read the DOT/SVG chart:
 * - a rounded box is a state; a box with a double border is a final state;
 * - a framed area (cluster) is a compound state, its small black dot marks its initial child;
 *   a dashed frame is a parallel state (its regions are the frames inside);
 * - an arrow to a frame's border enters that state at its initial child; an arrow from a frame's border
 *   leaves it: declared on the compound state itself (possible from any state inside), or merged from
 *   several inner states, each label line then naming its inner state (`awaitingBridge: …`);
 *   `(any state)` marks transitions declared on the machine itself;
 * - arrows between the same two states are merged into one, one label line per transition:
 *   `event [guard]`, `done(invokeId)` / `error(invokeId)` for an invoked side effect, `after 5s`,
 *   `always [guard]` for an event-less transition, `done` for a compound state that finished.
 * - In a per-session chart the current state is filled orange, states visited before are light blue,
 *   and the transitions the session took are thick orange arrows.
 */
import type { AnyStateMachine } from 'xstate';
import { type GraphEdge, type GraphNode, type MachineGraph, machineGraph } from './graph.ts';

export interface PathStep {
  from: string;
  to: string;
  event?: string;
}

export interface DotOptions {
  /** Active state ids (compound ancestors may be included); the atomic ones are filled. */
  current?: string[];
  /** Transitions taken, in order; their edges are drawn thick and coloured, their states tinted. */
  path?: PathStep[];
  /** Caption above the chart. */
  title?: string;
  /** Layout direction (default `TB`: the main flow runs down the middle, side exits settle beside it). */
  rankdir?: 'LR' | 'TB';
}

const COLORS = {
  text: '#263238',
  border: '#546e7a',
  cluster: '#90a4ae',
  edge: '#78909c',
  currentFill: '#ffcc80',
  current: '#e65100',
  visitedFill: '#e3f2fd',
  path: '#e65100',
};

/** Quotes a DOT id or string (double quotes and backslashes escaped, newlines as `\n`). */
function q(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function attrs(list: Record<string, string | number | undefined>): string {
  const parts = Object.entries(list)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? v : q(v as string)}`);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

export function edgeLabel(edge: GraphEdge): string {
  if (edge.guard === undefined) return edge.label;
  const guard = edge.guard === 'inline' ? 'guarded' : edge.guard;
  return `${edge.label} [${guard}]`;
}

interface EdgeGroup {
  source: string;
  target: string;
  edges: GraphEdge[];
}

/** Transitions between the same two states, merged in order of first appearance. */
function groupEdges(graph: MachineGraph): EdgeGroup[] {
  const groups = new Map<string, EdgeGroup>();
  for (const edge of graph.edges) {
    const key = `${edge.source}\u0000${edge.target}`;
    const group = groups.get(key) ?? { source: edge.source, target: edge.target, edges: [] };
    group.edges.push(edge);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * Layout hints. Arrows that go forward between top-level states (in document order) pull harder, so the
 * main flow forms a straight spine; a top-level state entered from this many other top-level states is a
 * side exit (`failed`, `abandoned`) and gets no extra pull, so it settles beside the spine.
 */
const SIDE_EXIT_FAN_IN = 3;
const MAIN_WEIGHT = 5;

interface DrawnEdge {
  source: string;
  target: string;
  edges: GraphEdge[];
  lines: string[];
}

/**
 * The arrows of the chart: a transition leaving a compound state is drawn from the border of the
 * outermost state it leaves (the child of the innermost state holding both ends), labelled with the
 * inner state it starts from (`awaitingBridge: timer.stepTimeout`); arrows between the same two
 * states are merged, one label line per transition.
 */
function drawnEdges(tree: Tree): DrawnEdge[] {
  const lifted = new Map<string, { source: string; target: string; edges: GraphEdge[] }>();
  for (const edge of tree.graph.edges) {
    const sourceChain = tree.selfAndAncestors(edge.source);
    const targetChain = tree.selfAndAncestors(edge.target);
    let source = edge.source;
    const fromRoot = edge.source === tree.graph.id;
    if (!fromRoot && !targetChain.includes(edge.source) && !sourceChain.includes(edge.target)) {
      const scope = sourceChain.slice(1).find((id) => targetChain.includes(id));
      source = sourceChain[(scope ? sourceChain.indexOf(scope) : sourceChain.length) - 1] ?? edge.source;
    }
    const key = `${source}\u0000${edge.target}`;
    const entry = lifted.get(key) ?? { source, target: edge.target, edges: [] };
    entry.edges.push(edge);
    lifted.set(key, entry);
  }
  return [...lifted.values()].map(({ source, target, edges }) => {
    // All from one inner state: draw the arrow from that state itself.
    const sources = new Set(edges.map((e) => e.source));
    const drawnFrom = sources.size === 1 ? edges[0]!.source : source;
    const lines: string[] = [];
    for (const edge of edges) {
      const depth = tree.node(drawnFrom)?.path.length ?? 0;
      const inner = (tree.node(edge.source)?.path ?? []).slice(depth).join('.');
      // A compound state's own transition into one of its children can fire from any state inside it.
      // (One declared on the machine itself starts from the "(any state)" marker, which says so.)
      const fromAnyChild = isCluster(tree.node(drawnFrom)) && tree.isWithin(target, drawnFrom);
      const line = inner
        ? `${inner}: ${edgeLabel(edge)}`
        : `${fromAnyChild ? '(any state) ' : ''}${edgeLabel(edge)}`;
      if (!lines.includes(line)) lines.push(line);
    }
    return { source: drawnFrom, target, edges, lines };
  });
}

function isCluster(node: GraphNode | undefined): boolean {
  return node?.type === 'compound' || node?.type === 'parallel';
}

class Tree {
  readonly byId: Map<string, GraphNode>;
  constructor(readonly graph: MachineGraph) {
    this.byId = new Map(graph.nodes.map((n) => [n.id, n]));
  }
  node(id: string): GraphNode | undefined {
    return this.byId.get(id);
  }
  /** `id` itself, then its parents, outwards. */
  selfAndAncestors(id: string): string[] {
    const out: string[] = [];
    for (let n = this.byId.get(id); n; n = n.parent ? this.byId.get(n.parent) : undefined) out.push(n.id);
    return out;
  }
  isWithin(id: string, ancestor: string): boolean {
    return this.selfAndAncestors(id).includes(ancestor);
  }
  /** The atomic state a cluster is entered at (its initial child, recursively; a parallel state's first region). */
  entryLeaf(id: string): string {
    const node = this.byId.get(id);
    if (!node || !isCluster(node)) return id;
    const next = node.type === 'compound' ? node.initial[0] : node.children[0];
    return next ? this.entryLeaf(next) : id;
  }
  /** The last atomic state inside a cluster, in document order: where arrows leaving the cluster start. */
  exitLeaf(id: string): string {
    const node = this.byId.get(id);
    if (!node || !isCluster(node)) return id;
    const inner = this.graph.nodes.filter(
      (n) => !isCluster(n) && n.type !== 'history' && this.isWithin(n.id, id),
    );
    return inner.at(-1)?.id ?? id;
  }
  order(id: string): number {
    return this.graph.nodes.findIndex((n) => n.id === id);
  }
  topLevel(): GraphNode[] {
    return this.graph.nodes.filter((n) => n.parent === undefined);
  }
  children(node: GraphNode): GraphNode[] {
    return node.children.map((id) => this.byId.get(id)).filter((n): n is GraphNode => !!n);
  }
}

/**
 * Which edge groups a path step took. A step goes from the atomic state that was active to the one
 * that became active, so it matches a transition declared on that state or on one of its ancestors,
 * whose target is the new state or a compound containing it. Steps that passed through transient
 * (`always`) states match the chain of edges through them.
 */
function pathGroups<G extends EdgeGroup>(
  tree: Tree,
  groups: G[],
  steps: PathStep[],
): { taken: Set<G>; passedThrough: Set<string>; unmatched: PathStep[] } {
  const taken = new Set<G>();
  const passedThrough = new Set<string>();
  const unmatched: PathStep[] = [];
  const targetMatches = (group: EdgeGroup, to: string) => {
    const target = tree.node(group.target);
    if (target?.type === 'history' && target.parent) return tree.isWithin(to, target.parent);
    return tree.isWithin(to, group.target);
  };
  const candidatesFrom = (from: string, event?: string) => {
    const sources = [...tree.selfAndAncestors(from), tree.graph.id];
    return groups
      .filter((g) => sources.includes(g.source))
      .filter((g) => !event || g.edges.some((e) => e.event === event || e.label === event))
      .sort((a, b) => sources.indexOf(a.source) - sources.indexOf(b.source));
  };
  for (const step of steps) {
    const direct = candidatesFrom(step.from, step.event).find((g) => targetMatches(g, step.to));
    if (direct) {
      taken.add(direct);
      continue;
    }
    // Through transient states: from → (always-only hops) → to, at most three hops.
    let chain: G[] | undefined;
    const search = (at: string, hops: G[], event?: string) => {
      if (chain || hops.length > 3) return;
      for (const group of candidatesFrom(at, event)) {
        if (targetMatches(group, step.to)) {
          chain = [...hops, group];
          return;
        }
        const next = tree.node(group.target);
        const nextId = next && isCluster(next) ? next.initial[0] : next?.id;
        if (nextId && groups.some((g) => g.edges.some((e) => e.source === nextId && e.kind === 'always'))) {
          search(nextId, [...hops, group]);
          if (chain) passedThrough.add(nextId);
        }
      }
    };
    search(step.from, [], step.event);
    if (chain) for (const group of chain) taken.add(group);
    else unmatched.push(step);
  }
  return { taken, passedThrough, unmatched };
}

/** Where transitions declared on the machine itself (possible from any state) start. */
const ANY_STATE = '__any';

function anchorId(id: string): string {
  return `${id}.__anchor`;
}
function initialId(id: string): string {
  return `${id}.__initial`;
}

/** The DOT source of a machine's chart, optionally with a session's current state and path lit. */
export function toDot(machine: AnyStateMachine, opts: DotOptions = {}): string {
  const graph = machineGraph(machine);
  const tree = new Tree(graph);
  const groups = drawnEdges(tree);
  const current = new Set(opts.current ?? []);
  const { taken, passedThrough, unmatched } = pathGroups(tree, groups, opts.path ?? []);
  const visited = new Set([...(opts.path ?? []).flatMap((s) => [s.from, s.to]), ...passedThrough]);
  const activeClusters = new Set([...current].flatMap((id) => tree.selfAndAncestors(id)));

  // Clusters with an arrow from their own border to a state inside them need an anchor node to start from.
  const anchored = new Set(
    groups
      .filter((g) => isCluster(tree.node(g.source)) && tree.isWithin(g.target, g.source))
      .map((g) => g.source),
  );
  const lines: string[] = [];
  const out = (depth: number, line: string) => lines.push(`${'  '.repeat(depth)}${line}`);
  out(0, `digraph ${q(graph.id)} {`);
  out(
    1,
    `graph${attrs({
      rankdir: opts.rankdir ?? 'TB',
      compound: 'true',
      newrank: 'true',
      nodesep: 0.25,
      ranksep: 0.45,
      fontname: 'Helvetica',
      fontsize: 12,
      fontcolor: COLORS.text,
      label: opts.title,
      labelloc: opts.title ? 't' : undefined,
      labeljust: opts.title ? 'l' : undefined,
    })};`,
  );
  out(
    1,
    `node${attrs({ shape: 'box', style: 'rounded', fontname: 'Helvetica', fontsize: 11, color: COLORS.border, fontcolor: COLORS.text, height: 0.3, margin: '0.12,0.04' })};`,
  );
  out(
    1,
    `edge${attrs({ fontname: 'Helvetica', fontsize: 9, color: COLORS.edge, fontcolor: COLORS.text, arrowsize: 0.6 })};`,
  );
  out(1, `${q('__start')}${attrs({ shape: 'point', width: 0.15, label: '', color: COLORS.text })};`);

  const emitNode = (node: GraphNode, depth: number) => {
    if (isCluster(node)) {
      const active = activeClusters.has(node.id);
      out(depth, `subgraph ${q(`cluster_${node.id}`)} {`);
      out(
        depth + 1,
        `graph${attrs({
          id: `state:${node.id}`,
          class: `state ${node.type}${active ? ' current' : ''}`,
          label: node.type === 'parallel' ? `${node.key} (parallel)` : node.key,
          style: node.type === 'parallel' ? 'rounded,dashed' : 'rounded',
          color: active ? COLORS.current : COLORS.cluster,
          penwidth: active ? 2 : 1,
          fontcolor: COLORS.text,
          fontsize: 12,
          labeljust: 'c',
          margin: 10,
        })};`,
      );
      if (anchored.has(node.id)) {
        out(
          depth + 1,
          `${q(anchorId(node.id))}${attrs({ shape: 'point', style: 'invis', width: 0.01, label: '' })};`,
        );
      }
      if (node.type === 'compound') {
        out(
          depth + 1,
          `${q(initialId(node.id))}${attrs({ shape: 'point', width: 0.1, label: '', color: COLORS.text })};`,
        );
      }
      for (const child of tree.children(node)) emitNode(child, depth + 1);
      if (node.type === 'compound') {
        for (const initial of node.initial)
          out(depth + 1, `${q(initialId(node.id))} -> ${q(initial)}${attrs({ weight: 10 })};`);
      }
      out(depth, '}');
      return;
    }
    const isCurrent = current.has(node.id);
    const isVisited = !isCurrent && visited.has(node.id);
    const label = node.type === 'history' ? (node.history === 'deep' ? 'H*' : 'H') : node.key;
    out(
      depth,
      `${q(node.id)}${attrs({
        id: `state:${node.id}`,
        class: `state ${node.type}${isCurrent ? ' current' : isVisited ? ' visited' : ''}`,
        label,
        shape: node.type === 'history' ? 'circle' : undefined,
        peripheries: node.type === 'final' ? 2 : undefined,
        style: isCurrent || isVisited ? 'rounded,filled' : undefined,
        fillcolor: isCurrent ? COLORS.currentFill : isVisited ? COLORS.visitedFill : undefined,
        color: isCurrent ? COLORS.current : undefined,
        penwidth: isCurrent ? 2.5 : undefined,
        tooltip: node.description ?? node.id,
      })};`,
    );
  };
  for (const node of tree.topLevel()) emitNode(node, 1);

  for (const initial of graph.initial) {
    const target = tree.node(initial);
    const head = target?.type === 'compound' ? initialId(initial) : tree.entryLeaf(initial);
    out(
      1,
      `${q('__start')} -> ${q(head)}${attrs({ lhead: isCluster(target) ? `cluster_${initial}` : undefined })};`,
    );
  }

  if (groups.some((g) => g.source === graph.id)) {
    out(
      1,
      `${q(ANY_STATE)}${attrs({ shape: 'plaintext', label: '(any state)', fontcolor: COLORS.border })};`,
    );
  }
  const topLevel = tree.topLevel().map((n) => n.id);
  const topOf = (id: string) => tree.selfAndAncestors(id).at(-1) ?? id;
  const incoming = new Map<string, Set<string>>();
  for (const group of groups) {
    const from = topOf(group.source);
    const to = topOf(group.target);
    if (from !== to) incoming.set(to, new Set([...(incoming.get(to) ?? []), from]));
  }
  for (const group of groups) {
    const source = tree.node(group.source);
    const target = tree.node(group.target);
    const sourceCluster = isCluster(source) && !tree.isWithin(group.target, group.source);
    const targetCluster = isCluster(target) && !tree.isWithin(group.source, group.target);
    const tails = group.edges.map((e) =>
      isCluster(tree.node(e.source)) ? tree.exitLeaf(e.source) : e.source,
    );
    const tail =
      group.source === graph.id
        ? ANY_STATE
        : sourceCluster
          ? tails.reduce((a, b) => (tree.order(b) > tree.order(a) ? b : a))
          : isCluster(source)
            ? anchorId(group.source)
            : group.source;
    const head =
      target?.type === 'compound' && targetCluster ? initialId(group.target) : tree.entryLeaf(group.target);
    const label = [...new Set(group.lines)].join('\n');
    const onPath = taken.has(group);
    const from = topLevel.indexOf(topOf(group.source));
    const to = topLevel.indexOf(topOf(group.target));
    const sideExit = (incoming.get(topOf(group.target))?.size ?? 0) >= SIDE_EXIT_FAN_IN;
    out(
      1,
      `${q(tail)} -> ${q(head)}${attrs({
        class: onPath ? 'transition taken' : 'transition',
        label,
        ltail: sourceCluster ? `cluster_${group.source}` : undefined,
        lhead: targetCluster ? `cluster_${group.target}` : undefined,
        weight: to > from && !sideExit ? MAIN_WEIGHT : undefined,
        color: onPath ? COLORS.path : undefined,
        fontcolor: onPath ? COLORS.path : undefined,
        penwidth: onPath ? 2.5 : undefined,
        style: group.edges.every((e) => e.kind === 'always') ? 'dashed' : undefined,
      })};`,
    );
  }
  // Steps no transition explains (e.g. a history from an older machine version) are still shown, dotted.
  for (const step of unmatched) {
    if (!tree.node(step.from) || !tree.node(step.to)) continue;
    out(
      1,
      `${q(step.from)} -> ${q(step.to)}${attrs({ class: 'transition taken unexplained', style: 'dotted', color: COLORS.path, penwidth: 2, constraint: 'false', label: step.event })};`,
    );
  }
  out(0, '}');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------
// Mermaid stateDiagram-v2
// ---------------------------------------------------------------------------------------------------

function mermaidIds(graph: MachineGraph): Map<string, string> {
  const keyCount = new Map<string, number>();
  for (const node of graph.nodes) keyCount.set(node.key, (keyCount.get(node.key) ?? 0) + 1);
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const node of graph.nodes) {
    let id =
      keyCount.get(node.key) === 1 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(node.key)
        ? node.key
        : node.path.join('_').replace(/[^A-Za-z0-9_]/g, '_');
    while (used.has(id)) id = `${id}_`;
    used.add(id);
    ids.set(node.id, id);
  }
  return ids;
}

function mermaidText(text: string): string {
  return text.replace(/[;:#\n]/g, ' ').trim();
}

/**
 * A Mermaid `stateDiagram-v2` of the machine (composite states nested, parallel regions split by `--`).
 *
 * Mermaid cannot draw a transition between states nested in different composites, so each transition
 * is lifted to the states that are siblings under the innermost composite holding both ends (a
 * transition from `invited.starting` to `adhocMeeting` is drawn from `invited`). A transition between a
 * composite and its own descendant, or one declared on the machine itself (from any state), cannot be
 * drawn at all and is kept as a `%%` comment. The Graphviz
 * chart (DOT/SVG) has no such limits and is the one to read for detail.
 */
export function toMermaid(machine: AnyStateMachine): string {
  const graph = machineGraph(machine);
  const tree = new Tree(graph);
  const ids = mermaidIds(graph);
  const idOf = (stateId: string) => ids.get(stateId)!;
  const lifted = new Map<string | undefined, Map<string, { from: string; to: string; labels: string[] }>>();
  const comments = new Map<string | undefined, string[]>();
  for (const group of groupEdges(graph)) {
    // Mermaid has no history pseudo-state: a transition to one goes to its parent composite.
    const targetNode = tree.node(group.target);
    const target = targetNode?.type === 'history' && targetNode.parent ? targetNode.parent : group.target;
    const sourceChain = tree.selfAndAncestors(group.source);
    const targetChain = tree.selfAndAncestors(target);
    const labels = group.edges.map(edgeLabel);
    if (group.source === graph.id) {
      const at = comments.get(undefined) ?? [];
      at.push(`%% (any state) --> ${idOf(target)} : ${mermaidText(labels.join(', '))}`);
      comments.set(undefined, at);
      continue;
    }
    if (group.source !== target && (sourceChain.includes(target) || targetChain.includes(group.source))) {
      const outer = sourceChain.includes(target) ? target : group.source;
      const at = comments.get(outer) ?? [];
      at.push(`%% ${idOf(group.source)} --> ${idOf(target)} : ${mermaidText(labels.join(', '))}`);
      comments.set(outer, at);
      continue;
    }
    let scope = sourceChain.slice(1).find((id) => targetChain.includes(id));
    while (scope && tree.node(scope)?.type === 'parallel') scope = tree.node(scope)?.parent;
    const childOf = (chain: string[]) =>
      chain[(scope ? chain.indexOf(scope) : chain.length) - 1] ?? chain[0]!;
    const from = childOf(sourceChain);
    const to = childOf(targetChain);
    const inScope = lifted.get(scope) ?? new Map();
    const entry = inScope.get(`${from}\u0000${to}`) ?? { from, to, labels: [] };
    entry.labels.push(...labels);
    inScope.set(`${from}\u0000${to}`, entry);
    lifted.set(scope, inScope);
  }

  const lines: string[] = ['stateDiagram-v2', '  direction LR'];
  const out = (depth: number, line: string) => lines.push(`${'  '.repeat(depth)}${line}`);
  // scope: the composite whose block this is (undefined = top level, null = a parallel region wrapper).
  const emitScope = (
    scope: string | undefined | null,
    initials: string[],
    members: GraphNode[],
    depth: number,
  ) => {
    for (const initial of initials) out(depth, `[*] --> ${idOf(initial)}`);
    for (const node of members) {
      if (node.type === 'history') continue;
      const id = idOf(node.id);
      if (id !== node.key) out(depth, `state "${mermaidText(node.key)}" as ${id}`);
      if (isCluster(node)) {
        out(depth, `state ${id} {`);
        const children = tree.children(node);
        if (node.type === 'parallel') {
          children.forEach((region, index) => {
            if (index > 0) out(depth + 1, '--');
            emitScope(null, [], [region], depth + 1);
          });
        } else {
          emitScope(node.id, node.initial, children, depth + 1);
        }
        for (const comment of comments.get(node.id) ?? []) out(depth + 1, comment);
        out(depth, '}');
      }
      if (node.type === 'final') out(depth, `${id} --> [*]`);
    }
    if (scope === null) return;
    if (scope === undefined) for (const comment of comments.get(undefined) ?? []) out(depth, comment);
    for (const { from, to, labels } of lifted.get(scope)?.values() ?? []) {
      const label = mermaidText([...new Set(labels)].join(', '));
      out(depth, `${idOf(from)} --> ${idOf(to)}${label ? ` : ${label}` : ''}`);
    }
  };
  emitScope(undefined, graph.initial, tree.topLevel(), 1);
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------
// SVG through Graphviz compiled to WebAssembly (loaded once, reused)
// ---------------------------------------------------------------------------------------------------

type GraphvizInstance = Awaited<ReturnType<typeof import('@hpcc-js/wasm-graphviz')['Graphviz']['load']>>;
let graphvizLoading: Promise<GraphvizInstance> | undefined;

function graphviz(): Promise<GraphvizInstance> {
  graphvizLoading ??= import('@hpcc-js/wasm-graphviz')
    .then(({ Graphviz }) => Graphviz.load())
    .catch((error: unknown) => {
      graphvizLoading = undefined; // let the next call try again
      throw error;
    });
  return graphvizLoading;
}

/** Lays out DOT source with Graphviz `dot` and returns the SVG document text. */
export async function renderSvg(dot: string): Promise<string> {
  const instance = await graphviz();
  return instance.layout(dot, 'svg', 'dot');
}

/**
 * State ids of a machine, read from its definition (no actor is started): which states a state value
 * makes active, and which atomic states a snapshot change entered.
 *
 * The runtime records a session's history as the atomic state ids it entered, in order: call
 * `enteredStates(machine, previousValue, value)` on every snapshot change to get the ids to append. The
 * chart renderer (src/viz) reads the same history to light the path a session took.
 */
import type { AnyStateMachine, AnyStateNode, StateValue } from 'xstate';

/** A state id or state value names a state the machine does not have (e.g. recorded by an older version). */
export class UnknownStateError extends Error {
  override readonly name = 'UnknownStateError';
}

function childNodes(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states as Record<string, AnyStateNode>);
}

/** Every state node below `root` (not `root` itself), in document order. */
export function allStateNodes(root: AnyStateNode): AnyStateNode[] {
  const out: AnyStateNode[] = [];
  const visit = (node: AnyStateNode) => {
    for (const child of childNodes(node)) {
      out.push(child);
      visit(child);
    }
  };
  visit(root);
  return out;
}

/** Finds a state node from an id, `#id`, or a dotted path from the root; throws naming it when unknown. */
export function resolveStateNode(machine: AnyStateMachine, ref: string): AnyStateNode {
  const root = machine.root as AnyStateNode;
  const nodes = allStateNodes(root);
  const wanted = ref.startsWith('#') ? ref.slice(1) : ref;
  const byId = nodes.find((n) => n.id === wanted);
  if (byId) return byId;
  const byPath = nodes.find((n) => n.path.join('.') === wanted);
  if (byPath) return byPath;
  const prefixed = nodes.find((n) => n.id === `${root.id}.${wanted}`);
  if (prefixed) return prefixed;
  throw new UnknownStateError(
    `machine '${root.id}' has no state '${ref}' (use a state id like '${nodes[0]?.id ?? root.id}' or a path from the root)`,
  );
}

/** Ids of every state active in a state value (compound and parallel ancestors included), in document order. */
export function activeStateIds(machine: AnyStateMachine, stateValue: unknown): string[] {
  const root = machine.root as AnyStateNode;
  const active = new Set<AnyStateNode>();
  const walk = (node: AnyStateNode, value: unknown) => {
    if (typeof value === 'string') {
      const child = (node.states as Record<string, AnyStateNode>)[value];
      if (!child)
        throw new UnknownStateError(`machine '${root.id}': state '${node.id}' has no child '${value}'`);
      active.add(child);
      return;
    }
    if (value && typeof value === 'object') {
      for (const [key, sub] of Object.entries(value)) {
        const child = (node.states as Record<string, AnyStateNode>)[key];
        if (!child)
          throw new UnknownStateError(`machine '${root.id}': state '${node.id}' has no child '${key}'`);
        active.add(child);
        walk(child, sub);
      }
      return;
    }
    throw new UnknownStateError(`machine '${root.id}': not a state value: ${JSON.stringify(value)}`);
  };
  walk(root, stateValue);
  return allStateNodes(root)
    .filter((n) => active.has(n))
    .map((n) => n.id);
}

function isAtomic(machine: AnyStateMachine, id: string): boolean {
  const node = resolveStateNode(machine, id);
  return node.type === 'atomic' || node.type === 'final';
}

/** More distinct entries than this per machine (a machine with many parallel regions) are not cached. */
const CACHE_LIMIT = 4096;

/**
 * A per-machine cache: `key` → `make()`, worked out once. A machine has few state values and state ids, and
 * the runtime asks on every snapshot change of every session.
 */
function cachedPerMachine<T>(
  caches: WeakMap<AnyStateMachine, Map<string, T>>,
  machine: AnyStateMachine,
  key: string,
  make: () => T,
): T {
  let cache = caches.get(machine);
  if (!cache) {
    cache = new Map();
    caches.set(machine, cache);
  }
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    if (cache.size < CACHE_LIMIT) cache.set(key, value);
  }
  return value;
}

const atomicIds = new WeakMap<AnyStateMachine, Map<string, readonly string[]>>();

/** The atomic state ids of a state value, shared: not to be changed. */
function sharedAtomicStateIds(machine: AnyStateMachine, stateValue: StateValue): readonly string[] {
  const key = typeof stateValue === 'string' ? stateValue : JSON.stringify(stateValue);
  return cachedPerMachine(atomicIds, machine, key, () =>
    activeStateIds(machine, stateValue).filter((id) => isAtomic(machine, id)),
  );
}

/** The atomic states active in a state value, as ids in document order. */
export function atomicStateIds(machine: AnyStateMachine, stateValue: StateValue): string[] {
  return sharedAtomicStateIds(machine, stateValue).slice();
}

const localIds = new WeakMap<AnyStateMachine, Map<string, string>>();

/** `chatSession.invited.starting` → `invited.starting`: a state id as the history and the logs show it. */
export function localStateId(machine: AnyStateMachine, id: string): string {
  return cachedPerMachine(localIds, machine, id, () =>
    id.startsWith(`${machine.id}.`) ? id.slice(machine.id.length + 1) : id,
  );
}

/** The atomic states active in `value` that were not active in `previous`: what to append to the history. */
export function enteredStates(
  machine: AnyStateMachine,
  previous: StateValue | undefined,
  value: StateValue,
): string[] {
  const before = previous === undefined ? [] : sharedAtomicStateIds(machine, previous);
  return sharedAtomicStateIds(machine, value).filter((id) => !before.includes(id));
}

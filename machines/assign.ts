/**
 * XState's `assign`, with the next context built by object spread. Import `assign` from here, not from
 * 'xstate', in every machine of carechat.
 *
 * Why: XState builds the next context with `Object.assign({}, context, update)`. For an object of more than
 * about 19 properties V8 makes the result a dictionary-mode object (a hash table), and the chat session's
 * context has 34: every context after the first update was one, each read of it a hash lookup, each copy a
 * rehash, and each live session's context ~1.6 KB larger. `{ ...context, ...update }` keeps V8's fast
 * properties (`npm run bench`: the machine alone 1.75 → 0.9 ms per chat; heap per live session −1.3 KB).
 *
 * How: the action is XState's own (same type, same typing, same warnings); only its `resolve` step is
 * replaced, by one that does what XState's does (call the assignment, or each property assigner, with the
 * context, event, self and system) and returns the snapshot with the new context. A snapshot's other fields
 * do not change on an assignment, so it is copied as it is, without XState's recomputing its state value and
 * tags. That step is XState's internal protocol for built-in actions: at load, a probe machine checks that
 * the replacement gives the same snapshot as XState's own step, and where it does not (a future XState),
 * XState's own step is kept. `spawn` inside an assignment is not supported (carechat's machines do not
 * spawn; the probe's check would not cover it).
 */
import { type AnyActorScope, createActor, createMachine, assign as xstateAssign } from 'xstate';

type Assignment =
  | ((args: AssignArgs, params: unknown) => Record<string, unknown>)
  | Record<string, unknown | ((args: AssignArgs, params: unknown) => unknown)>;

interface AssignArgs {
  context: Record<string, unknown>;
  event: unknown;
  self: unknown;
  system: unknown;
  spawn: () => never;
}

interface MachineSnapshotLike {
  context?: Record<string, unknown>;
}

type Resolve = (
  actorScope: AnyActorScope,
  snapshot: MachineSnapshotLike,
  actionArgs: { event: unknown },
  actionParams: unknown,
  action: { assignment: Assignment },
) => [MachineSnapshotLike, undefined, undefined];

const spawn = (): never => {
  throw new Error("carechat's assign does not spawn actors; spawn them with spawnChild");
};

const resolveBySpread: Resolve = (actorScope, snapshot, actionArgs, actionParams, { assignment }) => {
  const context = snapshot.context;
  if (!context) {
    throw new Error(
      'Cannot assign to undefined `context`. Ensure that `context` is defined in the machine config.',
    );
  }
  const args: AssignArgs = {
    context,
    event: actionArgs.event,
    self: actorScope.self,
    system: actorScope.system,
    spawn,
  };
  let update: Record<string, unknown>;
  if (typeof assignment === 'function') update = assignment(args, actionParams);
  else {
    update = {};
    for (const key of Object.keys(assignment)) {
      const value = assignment[key];
      update[key] = typeof value === 'function' ? value(args, actionParams) : value;
    }
  }
  return [{ ...snapshot, context: { ...context, ...update } }, undefined, undefined];
};

/** Whether `resolveBySpread` gives what XState's own step gives, on a probe machine. */
function spreadMatchesXState(): boolean {
  try {
    const run = (fast: boolean) => {
      const step = (n: number) => {
        const action = xstateAssign(({ context }: { context: { n: number } }) => ({ n: context.n + n }));
        if (fast) (action as unknown as { resolve: Resolve }).resolve = resolveBySpread;
        return action as never;
      };
      const machine = createMachine({
        context: { n: 0, keep: 'kept' },
        initial: 'a',
        states: {
          a: { tags: ['first'], on: { go: { target: 'b', actions: step(2) } } },
          b: { on: { again: { actions: [step(3), step(4)] } } },
        },
      });
      const actor = createActor(machine).start();
      actor.send({ type: 'go' });
      actor.send({ type: 'again' });
      const snapshot = actor.getSnapshot();
      actor.stop();
      return snapshot;
    };
    const theirs = run(false);
    const ours = run(true);
    return (
      JSON.stringify(Object.keys(ours).sort()) === JSON.stringify(Object.keys(theirs).sort()) &&
      JSON.stringify(ours) === JSON.stringify(theirs) &&
      (ours.context as { n: number }).n === 9 &&
      ours.matches('b' as never) &&
      !ours.hasTag('first') &&
      ours.can({ type: 'again' })
    );
  } catch {
    return false;
  }
}

/** Whether this XState's built-in action step is the one `resolveBySpread` stands in for. */
export const assignBySpread = spreadMatchesXState();

/** XState's `assign` (same signature and typing), building the next context by spread: see above. */
export const assign: typeof xstateAssign = ((assignment: Assignment) => {
  const action = (xstateAssign as (a: Assignment) => unknown)(assignment) as { resolve: Resolve };
  if (assignBySpread) action.resolve = resolveBySpread;
  return action;
}) as unknown as typeof xstateAssign;

/**
 * A session's deadlines as timers: the machine (and each agent offer it runs) keeps its deadlines in its
 * context as epoch milliseconds; here each one is scheduled once on the runtime's clock and sent back as a
 * `{ type: <timer>, at }` event when due. A deadline already past (a session resumed after a restart)
 * fires at once.
 */
import type pino from 'pino';
import type { AnyActorRef } from 'xstate';
import type { Clock } from './clock.ts';

/** The part of a session's record its deadlines are kept in. */
export interface DeadlineHolder {
  /** The session's own actor: a deadline of a session that has ended does not fire. */
  actor: AnyActorRef;
  /** Scheduled deadlines, keyed `<actor>/<timer>`: the session's own and its child actors'. */
  timers: Map<string, { at: number; cancel: () => void }>;
  /** Child actors followed for their own deadlines. */
  children: Set<AnyActorRef>;
  /** Deadlines that already fired (`<actor>/<timer>@<at>`). */
  fired: Set<string>;
  log: pino.Logger;
}

/** Deadlines live in a context; schedule each one once, drop the ones that went away. */
export function syncTimers(
  holder: DeadlineHolder,
  clock: Clock,
  owner: string,
  target: AnyActorRef,
  deadlines: Record<string, number | undefined>,
): void {
  const prefix = `${owner}/`;
  for (const [key, timer] of holder.timers) {
    if (!key.startsWith(prefix)) continue;
    if (deadlines[key.slice(prefix.length)] !== timer.at) {
      timer.cancel();
      holder.timers.delete(key);
    }
  }
  for (const [name, at] of Object.entries(deadlines)) {
    // A deadline fires once: one still in the context after firing is not armed again.
    if (at === undefined || holder.timers.has(prefix + name) || holder.fired.has(`${prefix}${name}@${at}`))
      continue;
    const cancel = clock.at(at, () => {
      holder.timers.delete(prefix + name);
      holder.fired.add(`${prefix}${name}@${at}`);
      if (holder.actor.getSnapshot().status !== 'active') return;
      holder.log.debug({ timer: name, at, actor: owner }, 'deadline due');
      target.send({ type: name, at });
    });
    holder.timers.set(prefix + name, { at, cancel });
  }
}

/** Child actors (agent offers) keep deadlines of their own: follow them while they live. */
export function watchChildren(
  holder: DeadlineHolder,
  snapshot: { children: Record<string, AnyActorRef | undefined> },
  clock: Clock,
): void {
  for (const child of Object.values(snapshot.children)) {
    if (!child || holder.children.has(child)) continue;
    const context = (child.getSnapshot() as { context?: { deadlines?: unknown } }).context;
    if (!context || typeof context.deadlines !== 'object') continue;
    holder.children.add(child);
    const sync = (childSnapshot: { status: string; context?: { deadlines?: Record<string, number> } }) =>
      syncTimers(
        holder,
        clock,
        child.id,
        child,
        childSnapshot.status === 'active' ? (childSnapshot.context?.deadlines ?? {}) : {},
      );
    sync(child.getSnapshot());
    const stop = () => {
      syncTimers(holder, clock, child.id, child, {});
      holder.children.delete(child);
    };
    child.subscribe({ next: sync, complete: stop, error: stop });
  }
}

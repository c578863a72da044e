/**
 * Inspection of actors the runtime creates. The SessionManager calls `createActor(logic, { id, input })`
 * without an inspection observer, and the first microsteps of a session (its `always` decision on
 * business hours) happen inside that call. The model suite therefore wraps `createActor` (a `vi.mock` of
 * `xstate` in the test file) so that every actor created with an `id` gets an `inspect` observer that
 * forwards to whoever claims that id — from the actor's very first microstep on.
 *
 * This module must not import `xstate` (it is loaded from inside the mock factory).
 */

/** The part of an inspection event this module handles (the full type lives in xstate). */
type Inspected = { type: string };
type Observer = (event: Inspected) => void;

const claimed = new Map<string, Observer>();
const early = new Map<string, Inspected[]>();
/** Actors nobody claimed are kept only this long (ids of sessions other tests created). */
const MAX_UNCLAIMED = 200;

function deliver(id: string, event: Inspected): void {
  const observer = claimed.get(id);
  if (observer) {
    observer(event);
    return;
  }
  let buffered = early.get(id);
  if (!buffered) {
    if (early.size >= MAX_UNCLAIMED) early.delete(early.keys().next().value as string);
    buffered = [];
    early.set(id, buffered);
  }
  buffered.push(event);
}

/** Options for `createActor` with an inspection observer added for actors that have an `id`. */
export function withInspection<O extends { id?: string; inspect?: unknown } | undefined>(options: O): O {
  const id = options?.id;
  if (typeof id !== 'string') return options;
  const own = options?.inspect;
  const inspect = (event: Inspected) => {
    if (typeof own === 'function') own(event);
    else if (own && typeof (own as { next?: unknown }).next === 'function')
      (own as { next: Observer }).next(event);
    deliver(id, event);
  };
  return { ...options, inspect } as O;
}

/** Receive the inspection events of the actor created with `id`: those so far, then each new one. */
export function claimInspection(id: string, observer: Observer): () => void {
  claimed.set(id, observer);
  const buffered = early.get(id) ?? [];
  early.delete(id);
  for (const event of buffered) observer(event);
  return () => claimed.delete(id);
}

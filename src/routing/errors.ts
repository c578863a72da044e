/**
 * The one error the routing core throws. Every message says what was wrong (and, where it helps, what to
 * do), so a caller can pass it to a 4xx body unchanged. Anything else thrown from `src/routing/` is a bug.
 */
export class RoutingError extends Error {
  override readonly name = 'RoutingError';
}

/** Throws a RoutingError unless `now` is a usable epoch-milliseconds value. */
export function checkTime(value: unknown, what = 'now'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RoutingError(`${what} must be a finite number of epoch milliseconds, got ${show(value)}`);
  }
  return value;
}

/** Throws a RoutingError unless `value` is a non-empty string (after trimming). */
export function checkText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new RoutingError(`${what} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/** A short, safe rendering of a bad value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

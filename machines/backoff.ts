/**
 * Exponential backoff with deterministic jitter: the same session, step and attempt always wait the
 * same time, so a restored actor reschedules exactly what it had (no Math.random in machines).
 */
export function backoffDelay(seed: string, attempt: number, baseMs: number, capMs = 30_000): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  // FNV-1a over seed+attempt → jitter in [0.5, 1.0) of the exponential step ("equal jitter").
  let hash = 0x811c9dc5;
  const text = `${seed}#${attempt}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const unit = hash / 0x1_0000_0000;
  return Math.round(exp * (0.5 + unit / 2));
}

/**
 * Retries are machine states (design: the HTTP client never retries). Both machines keep their retry
 * deadline as `timer.retry` in their context, clear it with a `clearDeadline` action and test it with a
 * `deadlineDue` guard; these are the pieces of their backoff states, written once.
 */
export interface ClearRetryDeadline {
  type: 'clearDeadline';
  params: { timer: 'timer.retry' };
}

export const clearRetryDeadline: ClearRetryDeadline = {
  type: 'clearDeadline',
  params: { timer: 'timer.retry' },
};

export interface RetryWhenDue<T extends string> {
  on: { 'timer.retry': { guard: 'deadlineDue'; target: T; actions: ClearRetryDeadline } };
}

/** A backoff state's transition: when the retry deadline is due, clear it and go back to `target`. */
export function retryWhenDue<T extends string>(target: T): RetryWhenDue<T> {
  return { on: { 'timer.retry': { guard: 'deadlineDue', target, actions: clearRetryDeadline } } };
}

/**
 * Readiness (GET /readyz): whether this SA should be sent traffic now. Ready when it has started, is not
 * stopping, and every check passes (the platform answers, the store answers, …). Liveness stays with
 * /healthz, which only says the process serves requests.
 */

/** A named check: resolves when the dependency is usable, throws (with a short message) when it is not. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface ReadinessOptions {
  checks: () => readonly ReadinessCheck[];
  /** Why the SA is not ready whatever the checks say (starting, stopping), or undefined. */
  state: () => string | undefined;
  /** How long one check may take before it counts as failed (default 3 s). */
  timeoutMs?: number;
}

/** Runs every check at once; the reason names each one that failed. */
export async function checkReadiness(opts: ReadinessOptions): Promise<Readiness> {
  const state = opts.state();
  if (state) return { ready: false, reason: state };
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const failures = await Promise.all(
    opts.checks().map(async ({ name, check }) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return undefined;
      } catch (error) {
        return `${name}: ${error instanceof Error ? error.message : String(error)}`;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const failed = failures.filter((f): f is string => f !== undefined);
  return failed.length ? { ready: false, reason: failed.join('; ') } : { ready: true };
}

/**
 * The platform check: its discovery URL answers HTTP (any status below 500) within the timeout. A refused
 * connection, a DNS failure or a 5xx means the SA could not run a chat now.
 */
export function httpReachable(url: string, timeoutMs = 3_000): () => Promise<void> {
  return async () => {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new Error(`${new URL(url).host} unreachable${cause ? ` (${cause})` : ''}`);
    }
    await response.body?.cancel();
    if (response.status >= 500) throw new Error(`${new URL(url).host} answered ${response.status}`);
  };
}

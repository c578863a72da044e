/**
 * Per-client rate limiting for the SA's public endpoints (`POST /chat/token`): a token bucket per key,
 * pure and driven by an injected clock, with bounded memory.
 *
 * Each key (a client address) owns a bucket of `limit` tokens that refills continuously at `limit` per
 * `windowMs`: a client may burst `limit` requests, and a full window after its last request it has all
 * of them again. A key idle for a whole window has a full bucket, the same as no bucket, so it is
 * forgotten: keys are kept in least-recently-used order, idle ones are dropped as requests come in, and
 * there are never more than `maxKeys` (the least recently used go first).
 */
import { addressKey, normaliseAddress, type ProxyTrust } from '../config/proxies.ts';
import type { RateLimitSpec } from '../config/rateLimit.ts';

export { normaliseAddress, type ProxyTrust, parseTrustProxy, TrustedProxies } from '../config/proxies.ts';
/** The setting's parsing lives with the configuration; the SA's callers keep finding it here. */
export {
  DEFAULT_CHAT_TOKEN_RATE_LIMIT,
  formatRateLimit,
  parseRateLimit,
  type RateLimitSpec,
} from '../config/rateLimit.ts';

export type RateDecision =
  | { allowed: true; remaining: number }
  | { allowed: false; remaining: 0; retryAfterMs: number };

export interface RateLimiterOptions extends RateLimitSpec {
  /** Epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** Most keys kept at once; default 10 000. */
  maxKeys?: number;
}

export interface RateLimiter {
  /** Take one token for `key`: allowed (and how many remain) or refused (and when to retry). */
  take(key: string): RateDecision;
  /** Keys currently tracked (for tests and metrics). */
  readonly size: number;
  readonly spec: Readonly<RateLimitSpec>;
}

const DEFAULT_MAX_KEYS = 10_000;
/** Refill is fractional (window/limit need not divide): forgive floating-point dust. */
const EPSILON = 1e-9;
interface Bucket {
  tokens: number;
  at: number;
}

export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const { limit, windowMs } = opts;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('rate limit: limit must be >= 1');
  if (!Number.isSafeInteger(windowMs) || windowMs < 1)
    throw new RangeError('rate limit: windowMs must be >= 1');
  const now = opts.now ?? Date.now;
  const maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError('rate limit: maxKeys must be >= 1');
  /** Milliseconds for one token to come back. */
  const perToken = windowMs / limit;
  /** Least recently used first: a key is re-inserted each time it is used. */
  const buckets = new Map<string, Bucket>();

  const refill = (bucket: Bucket, t: number): number =>
    Math.min(limit, bucket.tokens + Math.max(0, t - bucket.at) / perToken);

  /** Forget keys idle for a whole window (their bucket is full again); they sit at the front, oldest first. */
  const sweep = (t: number) => {
    for (const [key, bucket] of buckets) {
      if (t - bucket.at < windowMs) break;
      buckets.delete(key);
    }
  };

  return {
    spec: { limit, windowMs },
    get size() {
      return buckets.size;
    },
    take(key) {
      const t = now();
      sweep(t);
      const existing = buckets.get(key);
      const tokens = existing ? refill(existing, t) : limit;
      buckets.delete(key);
      if (tokens >= 1 - EPSILON) {
        buckets.set(key, { tokens: Math.max(0, tokens - 1), at: t });
        while (buckets.size > maxKeys) {
          const oldest = buckets.keys().next().value as string;
          buckets.delete(oldest);
        }
        return { allowed: true, remaining: Math.max(0, Math.floor(tokens - 1 + EPSILON)) };
      }
      buckets.set(key, { tokens, at: t });
      return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, Math.ceil((1 - tokens) * perToken)) };
    },
  };
}

/**
 * The address a request is limited by. The socket's remote address, unless the SA sits behind a proxy it
 * trusts (see ProxyTrust): then the client address that proxy reported in `X-Forwarded-For` (entries
 * further left than the trusted hops are whatever the client chose to send). IPv4-mapped IPv6 addresses
 * are unmapped, and an IPv6 client is keyed by its /64 network (one host usually owns a whole /64).
 */
export function clientKey(
  remoteAddress: string | undefined,
  forwardedFor: string | undefined,
  trustProxy: ProxyTrust,
): string {
  const remote = normaliseAddress(remoteAddress ?? '');
  const fallback = remote ? addressKey(remote) : 'unknown';
  if (!trustProxy || !forwardedFor) return fallback;
  const entries = forwardedFor.split(',');
  if (trustProxy === true) {
    const nearest = normaliseAddress(entries.at(-1) ?? '');
    return nearest ? addressKey(nearest) : fallback;
  }
  if (!remote || !trustProxy.has(remote)) return fallback;
  // From the right: each listed proxy vouches for the entry before it; the first unlisted one is the client.
  let client = remote;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = normaliseAddress(entries[i]!);
    if (!entry) break;
    client = entry;
    if (!trustProxy.has(entry)) break;
  }
  return addressKey(client);
}

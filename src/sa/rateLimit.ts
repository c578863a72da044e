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
import { isIP } from 'node:net';
import type { RateLimitSpec } from '../config/rateLimit.ts';

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
 * trusts (`trustProxy`): then the right-most `X-Forwarded-For` entry, the address that proxy saw (entries
 * further left are whatever the client chose to send). IPv4-mapped IPv6 addresses are unmapped, and an
 * IPv6 client is keyed by its /64 network (one host usually owns a whole /64).
 */
export function clientKey(
  remoteAddress: string | undefined,
  forwardedFor: string | undefined,
  trustProxy: boolean,
): string {
  if (trustProxy && forwardedFor) {
    const entries = forwardedFor.split(',');
    const nearest = normaliseAddress(entries.at(-1) ?? '');
    if (nearest) return addressKey(nearest);
  }
  const remote = normaliseAddress(remoteAddress ?? '');
  return remote ? addressKey(remote) : 'unknown';
}

/** `1.2.3.4:5678`, `[::1]:80`, `::ffff:1.2.3.4` → a bare IP address; undefined when it is not one. */
export function normaliseAddress(raw: string): string | undefined {
  let text = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  text = text.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(text);
  if (mapped) text = mapped[1]!;
  return isIP(text) ? text.toLowerCase() : undefined;
}

function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function expandIpv6(address: string): string[] {
  let text = address;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}

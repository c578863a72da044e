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

export interface RateLimitSpec {
  /** Requests allowed in a burst (and per window). */
  limit: number;
  /** The window over which `limit` requests refill, in milliseconds. */
  windowMs: number;
}

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

/**
 * CHAT_TOKEN_RATE_LIMIT when unset: generous enough for a busy office behind one NAT address (each chat
 * takes one token), tight enough to stop one address from opening chats in bulk.
 */
export const DEFAULT_CHAT_TOKEN_RATE_LIMIT = '120/60s';

const DEFAULT_MAX_KEYS = 10_000;
/** Refill is fractional (window/limit need not divide): forgive floating-point dust. */
const EPSILON = 1e-9;
const MAX_LIMIT = 1_000_000;
const MAX_WINDOW_MS = 24 * 60 * 60 * 1000;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `20/60s`, `5/s`, `100/10m`, `1000/1h`, `50/500ms` → `{ limit, windowMs }`; `off` → `null` (no limit).
 * Throws an Error whose message states the expected form.
 */
export function parseRateLimit(value: string): RateLimitSpec | null {
  const text = value.trim().toLowerCase();
  if (text === 'off') return null;
  const match = /^(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)$/.exec(text);
  const expected = "expected 'off' or <count>/<window> like 20/60s, 5/s, 100/10m or 1000/1h";
  if (!match) throw new Error(expected);
  const limit = Number(match[1]);
  const windowMs = (match[2] === '' ? 1 : Number(match[2])) * UNITS[match[3]!]!;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new Error(`${expected}; the count must be from 1 to ${MAX_LIMIT}`);
  }
  if (!Number.isSafeInteger(windowMs) || windowMs < 1 || windowMs > MAX_WINDOW_MS) {
    throw new Error(`${expected}; the window must be from 1ms to 24h`);
  }
  return { limit, windowMs };
}

/** `{ limit: 20, windowMs: 60000 }` → `20/60s` (for logs and messages). */
export function formatRateLimit(spec: RateLimitSpec | null): string {
  if (!spec) return 'off';
  const { limit, windowMs } = spec;
  if (windowMs % 3_600_000 === 0) return `${limit}/${windowMs / 3_600_000}h`;
  if (windowMs % 1000 === 0) return `${limit}/${windowMs / 1000}s`;
  return `${limit}/${windowMs}ms`;
}

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
 * Which peers may tell the client's address in `X-Forwarded-For` (TRUST_PROXY):
 * - `false`: nobody; the socket's address is the client's.
 * - `true`: whoever connects (only safe when nothing but the proxy can reach the SA): the right-most entry.
 * - a list of addresses and CIDR blocks: only a peer inside the list is believed; the entries are read
 *   from the right, skipping those that are themselves listed proxies (a chain), and the first one that
 *   is not is the client.
 */
export type ProxyTrust = boolean | TrustedProxies;

/** A list of proxy addresses and networks (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`). */
export class TrustedProxies {
  private readonly nets: Array<{ version: 4 | 6; bits: bigint; prefix: number }>;

  /** Throws an Error whose message names the entry and the expected form. */
  constructor(readonly entries: readonly string[]) {
    if (entries.length === 0) throw new Error('expected at least one proxy address or CIDR block');
    this.nets = entries.map((entry) => parseCidr(entry));
  }

  has(address: string): boolean {
    const normal = normaliseAddress(address);
    if (!normal) return false;
    const version = isIP(normal) as 4 | 6;
    const bits = addressBits(normal);
    return this.nets.some((net) => {
      if (net.version !== version) return false;
      const width = version === 4 ? 32 : 128;
      const shift = BigInt(width - net.prefix);
      return bits >> shift === net.bits >> shift;
    });
  }

  toString(): string {
    return this.entries.join(',');
  }
}

/**
 * TRUST_PROXY: `true`, `false`, or comma-separated proxy addresses / CIDR blocks. Throws an Error whose
 * message states the expected form.
 */
export function parseTrustProxy(value: string): ProxyTrust {
  const text = value.trim();
  if (/^true$/i.test(text)) return true;
  if (/^false$/i.test(text) || text === '') return false;
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  try {
    return new TrustedProxies(entries);
  } catch (error) {
    throw new Error(
      `expected true, false, or proxy addresses / CIDR blocks like 10.0.0.0/8,192.0.2.7,2001:db8::/32 (${(error as Error).message})`,
    );
  }
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

/** `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32` → the network's bits and prefix length. */
function parseCidr(entry: string): { version: 4 | 6; bits: bigint; prefix: number } {
  const slash = entry.indexOf('/');
  const address = normaliseAddress(slash < 0 ? entry : entry.slice(0, slash));
  if (!address || (slash >= 0 && entry.slice(0, slash).includes('['))) {
    throw new Error(`${JSON.stringify(entry)} is not an IP address or CIDR block`);
  }
  const version = isIP(address) as 4 | 6;
  const width = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(width) : entry.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > width) {
    throw new Error(`${JSON.stringify(entry)}: the prefix length must be from 0 to ${width}`);
  }
  return { version, bits: addressBits(address), prefix };
}

/** An IP address as an unsigned integer (32 bits for IPv4, 128 for IPv6). */
function addressBits(address: string): bigint {
  if (isIP(address) === 4) {
    return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  }
  return expandIpv6(address).reduce((acc, group) => (acc << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/**
 * The rate-limit setting as written in configuration (`CHAT_TOKEN_RATE_LIMIT=20/60s`): its parsed form, its
 * default, and the parser and formatter. A leaf module: the SA's limiter and the configuration loader both
 * use it.
 */
export interface RateLimitSpec {
  /** Requests allowed in a burst (and per window). */
  limit: number;
  /** The window over which `limit` requests refill, in milliseconds. */
  windowMs: number;
}

/**
 * CHAT_TOKEN_RATE_LIMIT when unset: generous enough for a busy office behind one NAT address (each chat
 * takes one token), tight enough to stop one address from opening chats in bulk.
 */
export const DEFAULT_CHAT_TOKEN_RATE_LIMIT = '120/60s';

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

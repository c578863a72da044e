import { describe, expect, it } from 'vitest';
import {
  clientKey,
  createRateLimiter,
  formatRateLimit,
  normaliseAddress,
  parseRateLimit,
  parseTrustProxy,
  TrustedProxies,
} from './rateLimit.ts';

/** A clock the tests move by hand. */
function manualTime(start = 1_700_000_000_000) {
  let time = start;
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

describe('parseRateLimit', () => {
  it.each([
    ['20/60s', { limit: 20, windowMs: 60_000 }],
    ['10/60s', { limit: 10, windowMs: 60_000 }],
    ['5/s', { limit: 5, windowMs: 1000 }],
    ['100/10m', { limit: 100, windowMs: 600_000 }],
    ['1000/1h', { limit: 1000, windowMs: 3_600_000 }],
    ['50/500ms', { limit: 50, windowMs: 500 }],
    [' 7 / 30S ', { limit: 7, windowMs: 30_000 }],
  ])('reads %s as a count per window', (text, spec) => {
    expect(parseRateLimit(text)).toEqual(spec);
  });

  it('reads off (any case) as no limit', () => {
    expect(parseRateLimit('off')).toBeNull();
    expect(parseRateLimit('OFF')).toBeNull();
  });

  it.each([
    ['20', /expected 'off' or <count>\/<window> like 20\/60s/],
    ['20/60', /expected 'off' or <count>\/<window>/],
    ['twenty/60s', /expected 'off'/],
    ['-1/60s', /expected 'off'/],
    ['0/60s', /the count must be from 1 to 1000000/],
    ['20/0s', /the window must be from 1ms to 24h/],
    ['20/25h', /the window must be from 1ms to 24h/],
    ['20/60d', /expected 'off'/],
  ])('refuses %s with a message stating the expected form', (text, message) => {
    expect(() => parseRateLimit(text)).toThrow(message);
  });

  it('formats a limit back the way it is usually written', () => {
    expect(formatRateLimit({ limit: 20, windowMs: 60_000 })).toBe('20/60s');
    expect(formatRateLimit({ limit: 3, windowMs: 7_200_000 })).toBe('3/2h');
    expect(formatRateLimit({ limit: 3, windowMs: 250 })).toBe('3/250ms');
    expect(formatRateLimit(null)).toBe('off');
  });
});

describe('createRateLimiter (token bucket per key)', () => {
  it('allows `limit` requests at once, then refuses with the time until one token is back', () => {
    const clock = manualTime();
    const limiter = createRateLimiter({ limit: 3, windowMs: 60_000, now: clock.now });
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 2 });
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 1 });
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 0 });
    expect(limiter.take('a')).toEqual({ allowed: false, remaining: 0, retryAfterMs: 20_000 });
    clock.advance(5_000);
    expect(limiter.take('a')).toEqual({ allowed: false, remaining: 0, retryAfterMs: 15_000 });
  });

  it('gives one request back per window/limit, and all of them after a whole window', () => {
    const clock = manualTime();
    const limiter = createRateLimiter({ limit: 3, windowMs: 60_000, now: clock.now });
    for (let i = 0; i < 3; i++) expect(limiter.take('a').allowed).toBe(true);
    clock.advance(19_999);
    expect(limiter.take('a').allowed).toBe(false);
    clock.advance(1);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    clock.advance(60_000);
    expect([1, 2, 3, 4].map(() => limiter.take('a').allowed)).toEqual([true, true, true, false]);
  });

  it('keeps keys apart: one key over its limit does not limit another', () => {
    const limiter = createRateLimiter({ limit: 1, windowMs: 60_000, now: manualTime().now });
    expect(limiter.take('10.0.0.1').allowed).toBe(true);
    expect(limiter.take('10.0.0.1').allowed).toBe(false);
    expect(limiter.take('10.0.0.2').allowed).toBe(true);
    expect(limiter.take('10.0.0.3').allowed).toBe(true);
  });

  it('forgets keys idle for a whole window (their bucket is full again)', () => {
    const clock = manualTime();
    const limiter = createRateLimiter({ limit: 2, windowMs: 1_000, now: clock.now });
    for (let i = 0; i < 100; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(100);
    clock.advance(1_000);
    limiter.take('fresh');
    expect(limiter.size).toBe(1);
  });

  it('never holds more than maxKeys, evicting the least recently used', () => {
    const clock = manualTime();
    const limiter = createRateLimiter({ limit: 1, windowMs: 60_000, now: clock.now, maxKeys: 3 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    expect(limiter.take('a').allowed).toBe(false); // `a` is now the most recently used
    limiter.take('d'); // evicts `b`
    expect(limiter.size).toBe(3);
    expect(limiter.take('b').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('stays bounded under a flood of distinct addresses', () => {
    const clock = manualTime();
    const limiter = createRateLimiter({ limit: 5, windowMs: 60_000, now: clock.now, maxKeys: 1_000 });
    for (let i = 0; i < 50_000; i++) {
      limiter.take(`203.0.${i >> 8}.${i & 255}`);
      if (i % 1000 === 0) clock.advance(1);
    }
    expect(limiter.size).toBe(1_000);
  });

  it('refuses nonsensical settings', () => {
    expect(() => createRateLimiter({ limit: 0, windowMs: 1000 })).toThrow(/limit must be >= 1/);
    expect(() => createRateLimiter({ limit: 1, windowMs: 0 })).toThrow(/windowMs must be >= 1/);
    expect(() => createRateLimiter({ limit: 1, windowMs: 1, maxKeys: 0 })).toThrow(/maxKeys must be >= 1/);
  });
});

describe('clientKey (which address a request is limited by)', () => {
  it('uses the socket address and ignores X-Forwarded-For unless the proxy is trusted', () => {
    expect(clientKey('192.0.2.10', '198.51.100.1', false)).toBe('192.0.2.10');
    expect(clientKey('192.0.2.10', undefined, true)).toBe('192.0.2.10');
  });

  it('with a trusted proxy, uses the right-most X-Forwarded-For entry (the one the proxy added)', () => {
    expect(clientKey('10.0.0.1', '198.51.100.1', true)).toBe('198.51.100.1');
    expect(clientKey('10.0.0.1', '1.1.1.1, 198.51.100.1', true)).toBe('198.51.100.1');
    expect(clientKey('10.0.0.1', '1.1.1.1,198.51.100.1:4711', true)).toBe('198.51.100.1');
  });

  it('falls back to the socket address when the forwarded entry is not an address', () => {
    expect(clientKey('10.0.0.1', 'unknown', true)).toBe('10.0.0.1');
    expect(clientKey('10.0.0.1', '198.51.100.1, <script>', true)).toBe('10.0.0.1');
    expect(clientKey(undefined, undefined, false)).toBe('unknown');
  });

  it('unmaps IPv4-mapped IPv6 addresses and keys IPv6 clients by their /64', () => {
    expect(clientKey('::ffff:127.0.0.1', undefined, false)).toBe('127.0.0.1');
    expect(clientKey('2001:db8:1:2:aaaa::1', undefined, false)).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee', undefined, false)).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1', undefined, false)).toBe('2001:db8:0:0::/64');
    expect(clientKey('10.0.0.1', '[2001:db8:1:3::5]:443', true)).toBe('2001:db8:1:3::/64');
  });

  it('normalises address spellings', () => {
    expect(normaliseAddress(' 192.0.2.1 ')).toBe('192.0.2.1');
    expect(normaliseAddress('192.0.2.1:80')).toBe('192.0.2.1');
    expect(normaliseAddress('[::1]:80')).toBe('::1');
    expect(normaliseAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(normaliseAddress('example.com')).toBeUndefined();
    expect(normaliseAddress('')).toBeUndefined();
  });
});

describe('TRUST_PROXY as a list of proxy addresses and CIDR blocks', () => {
  it('reads true, false and lists; refuses what is not an address or a block, naming it', () => {
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('FALSE')).toBe(false);
    const list = parseTrustProxy(' 10.0.0.0/8 , 192.0.2.7,2001:db8::/32 ');
    expect(list).toBeInstanceOf(TrustedProxies);
    expect(String(list)).toBe('10.0.0.0/8,192.0.2.7,2001:db8::/32');
    expect(() => parseTrustProxy('yes')).toThrow(/"yes" is not an IP address or CIDR block/);
    expect(() => parseTrustProxy('10.0.0.0/33')).toThrow(
      /"10.0.0.0\/33": the prefix length must be from 0 to 32/,
    );
    expect(() => parseTrustProxy('10.0.0.0/-1')).toThrow(/prefix length/);
    expect(() => parseTrustProxy('2001:db8::/129')).toThrow(/from 0 to 128/);
    expect(() => parseTrustProxy(',')).toThrow(/at least one proxy address/);
  });

  it('matches addresses inside the listed networks only, IPv4 and IPv6 apart', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '0.0.0.0/0']);
    expect(proxies.has('10.255.1.2')).toBe(true);
    expect(proxies.has('192.0.2.7')).toBe(true);
    expect(proxies.has('2001:db8:ffff::1')).toBe(true);
    expect(proxies.has('2001:db9::1')).toBe(false);
    expect(proxies.has('::ffff:203.0.113.1')).toBe(true); // mapped IPv4, inside 0.0.0.0/0
    const narrow = new TrustedProxies(['10.0.0.0/8', '192.0.2.7']);
    expect(narrow.has('11.0.0.1')).toBe(false);
    expect(narrow.has('192.0.2.8')).toBe(false);
    expect(narrow.has('::1')).toBe(false);
    expect(narrow.has('not an address')).toBe(false);
  });

  it('believes X-Forwarded-For only from a listed peer, and skips listed proxies in a chain', () => {
    const proxies = new TrustedProxies(['10.0.0.0/8']);
    // The peer is not a listed proxy: its own address counts, whatever the header says.
    expect(clientKey('198.51.100.9', '203.0.113.5', proxies)).toBe('198.51.100.9');
    // A listed proxy: the entry it added.
    expect(clientKey('10.0.0.1', '203.0.113.5', proxies)).toBe('203.0.113.5');
    // Two listed proxies in a row (CDN → load balancer → SA): the first unlisted entry from the right.
    expect(clientKey('10.0.0.1', '1.1.1.1, 203.0.113.5, 10.1.2.3', proxies)).toBe('203.0.113.5');
    // Every entry is a listed proxy: the left-most one.
    expect(clientKey('10.0.0.1', '10.9.9.9, 10.1.2.3', proxies)).toBe('10.9.9.9');
    // A garbled entry stops the walk at the last address a listed proxy vouched for.
    expect(clientKey('10.0.0.1', '203.0.113.5, <script>, 10.1.2.3', proxies)).toBe('10.1.2.3');
    expect(clientKey('10.0.0.1', undefined, proxies)).toBe('10.0.0.1');
  });
});

describe('createRateLimiter with a window the limit does not divide', () => {
  it('gives a request back exactly when its share of the window has passed', () => {
    let time = 0;
    const limiter = createRateLimiter({ limit: 7, windowMs: 1_000, now: () => time });
    for (let i = 0; i < 7; i++) expect(limiter.take('a').allowed).toBe(true);
    for (let k = 1; k <= 7; k++) {
      time = Math.ceil((1_000 * k) / 7);
      expect(limiter.take('a').allowed, `after ${time} ms`).toBe(true);
      expect(limiter.take('a').allowed).toBe(false);
    }
  });
});

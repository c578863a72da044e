/**
 * Which proxies' `X-Forwarded-For` the SA believes (TRUST_PROXY), and IP address helpers: parsing
 * addresses and CIDR blocks, IPv4-mapped IPv6, /64 keys for IPv6 clients.
 */
import { isIP } from 'node:net';

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

/** The rate-limit key of an address: itself, or its /64 network for IPv6. */
export function addressKey(address: string): string {
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

/** Fixtures for the routing unit tests: the demo roster and pool, a seeded PRNG, deep freezing of inputs. */
import { createPool, type Pool, type RosterEntry } from '../../src/routing/pool.ts';

/** Freezes a value and everything inside it, so a test fails if a function mutates its input. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

export const ALICE = 'sip:alice@contoso.com';
export const BOB = 'sip:bob@contoso.com';
export const CAROL = 'sip:carol@contoso.com';

/** The demo roster's shape: Alice (billing, general), Bob (technical, general), Carol (billing, technical). */
export const ROSTER: RosterEntry[] = [
  { uri: ALICE, name: 'Alice Agent', skills: ['billing', 'general'] },
  { uri: BOB, name: 'Bob Agent', skills: ['technical', 'general'] },
  { uri: CAROL, name: 'Carol Agent', skills: ['billing', 'technical'] },
];

/** A frozen pool of the three demo agents (capacity 2, all available), optionally reshaped per agent. */
export function demoPool(overrides: Partial<Record<string, Partial<RosterEntry>>> = {}): Pool {
  return deepFreeze(createPool(ROSTER.map((entry) => ({ ...entry, ...overrides[entry.uri] }))));
}

/** mulberry32: a tiny seeded PRNG, so property tests are reproducible from their seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

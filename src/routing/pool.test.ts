import { describe, expect, it } from 'vitest';
import { ALICE, BOB, CAROL, deepFreeze, demoPool } from '../../test/helpers/routingFixtures.ts';
import { DEMO_AGENTS } from '../config/tenant.ts';
import { RoutingError } from './errors.ts';
import {
  agentKey,
  confirm,
  createPool,
  DEFAULT_CAPACITY,
  getAgent,
  holdersOf,
  holds,
  listed,
  load,
  type Pool,
  recordMissedOffer,
  release,
  reserve,
  setPresence,
} from './pool.ts';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const MISS = { maxMissedInRow: 2 };

describe('createPool', () => {
  it('builds every roster agent available, idle, with the default capacity of 2', () => {
    const pool = createPool(DEMO_AGENTS);
    expect(DEFAULT_CAPACITY).toBe(2);
    expect(Object.keys(pool.agents)).toEqual([ALICE, BOB, CAROL]);
    expect(pool.rrCursor).toBe(-1);
    expect(pool.agents[ALICE]).toEqual({
      uri: ALICE,
      name: 'Alice Agent',
      skills: ['billing', 'general'],
      presence: 'available',
      capacity: 2,
      activeChats: [],
      pendingOffers: [],
      lastAssignedAt: null,
      lastChatEndedAt: null,
      missedOffersInRow: 0,
    });
  });

  it('takes capacity from the entry first, then from the defaults', () => {
    const pool = createPool(
      [
        { uri: ALICE, name: 'A', capacity: 5 },
        { uri: BOB, name: 'B' },
      ],
      { capacity: 3 },
    );
    expect(pool.agents[ALICE]?.capacity).toBe(5);
    expect(pool.agents[BOB]?.capacity).toBe(3);
  });

  it('keys agents by lower-cased trimmed uri but keeps the uri as written', () => {
    const pool = createPool([{ uri: '  sip:Alice@Contoso.com ', name: 'A' }]);
    expect(Object.keys(pool.agents)).toEqual([ALICE]);
    expect(pool.agents[ALICE]?.uri).toBe('sip:Alice@Contoso.com');
    expect(getAgent(pool, 'SIP:ALICE@CONTOSO.COM').name).toBe('A');
    expect(agentKey(' SIP:Bob@x ')).toBe('sip:bob@x');
  });

  it('normalises skills to lower case without duplicates and accepts a starting presence', () => {
    const pool = createPool([
      { uri: ALICE, name: 'A', skills: ['Billing', ' billing ', 'VIP'], presence: 'offline' },
    ]);
    expect(pool.agents[ALICE]?.skills).toEqual(['billing', 'vip']);
    expect(pool.agents[ALICE]?.presence).toBe('offline');
  });

  it('produces plain data that survives a JSON round trip unchanged', () => {
    const pool = reserve(createPool(DEMO_AGENTS), ALICE, 's1');
    expect(JSON.parse(JSON.stringify(pool))).toEqual(pool);
  });

  it.each([
    [[{ uri: ALICE, name: 'A', capacity: 0 }], {}, /capacity must be an integer of at least 1, got 0/],
    [[{ uri: ALICE, name: 'A', capacity: 1.5 }], {}, /capacity must be an integer of at least 1, got 1\.5/],
    [
      [{ uri: ALICE, name: 'A' }],
      { capacity: -1 },
      /the default capacity must be an integer of at least 1, got -1/,
    ],
    [[{ uri: '', name: 'A' }], {}, /roster entry 0: uri must be a non-empty string/],
    [[{ uri: 'sip:a b@x', name: 'A' }], {}, /contains whitespace/],
    [[{ uri: '42', name: 'A' }], {}, /is a bare number; use the agent's SIP URI/],
    [
      [{ uri: ALICE, name: '' }],
      {},
      /roster entry 0 \(sip:alice@contoso.com\): name must be a non-empty string/,
    ],
    [
      [
        { uri: ALICE, name: 'A' },
        { uri: 'SIP:alice@contoso.com', name: 'A2' },
      ],
      {},
      /roster entry 1: agent SIP:alice@contoso.com is listed twice/,
    ],
    [[{ uri: ALICE, name: 'A', skills: 'billing' }], {}, /skills must be an array of strings, got "billing"/],
    [[{ uri: ALICE, name: 'A', skills: [''] }], {}, /each skill must be a non-empty string/],
    [
      [{ uri: ALICE, name: 'A', presence: 'dnd' }],
      {},
      /presence must be one of available, busy, away, offline, got "dnd"/,
    ],
  ])('rejects a bad roster %# with a RoutingError naming the problem', (roster, defaults, message) => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed input
    const build = () => createPool(roster as any, defaults);
    expect(build).toThrow(RoutingError);
    expect(build).toThrow(message);
  });

  it('rejects a roster that is not an array', () => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed input
    expect(() => createPool({} as any)).toThrow('the roster must be an array of agents, got an object');
  });

  it('accepts an empty roster', () => {
    expect(createPool([])).toEqual({ agents: {}, rrCursor: -1 });
  });
});

describe('getAgent', () => {
  it('names the unknown uri and the roster when the agent does not exist', () => {
    expect(() => getAgent(demoPool(), 'sip:dave@contoso.com')).toThrow(
      'unknown agent sip:dave@contoso.com: not in the roster (sip:alice@contoso.com, sip:bob@contoso.com, sip:carol@contoso.com)',
    );
    expect(() => getAgent(createPool([]), ALICE)).toThrow('the roster is empty');
  });

  it('rejects something that is not a pool', () => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed input
    expect(() => getAgent(null as any, ALICE)).toThrow('expected a Pool from createPool, got null');
    // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed input
    expect(() => getAgent({ agents: {}, rrCursor: 0.5 } as any, ALICE)).toThrow(
      'pool.rrCursor must be an integer',
    );
  });
});

describe('reserve, confirm and release', () => {
  it('counts a pending offer against capacity, then moves it to the active chats on confirm', () => {
    const pool = demoPool();
    const offered = reserve(pool, ALICE, 's1');
    expect(offered.agents[ALICE]?.pendingOffers).toEqual(['s1']);
    expect(load(offered.agents[ALICE] as never)).toBe(1);

    const accepted = confirm(offered, ALICE, 's1', T0);
    expect(accepted.agents[ALICE]).toMatchObject({
      pendingOffers: [],
      activeChats: ['s1'],
      lastAssignedAt: T0,
    });
    expect(load(accepted.agents[ALICE] as never)).toBe(1);
  });

  it('never mutates the pool it was given and leaves other agents as the same objects', () => {
    const pool = demoPool();
    const next = reserve(pool, ALICE, 's1');
    expect(next).not.toBe(pool);
    expect(pool.agents[ALICE]?.pendingOffers).toEqual([]);
    expect(next.agents[BOB]).toBe(pool.agents[BOB]);
    expect(Object.keys(next.agents)).toEqual([ALICE, BOB, CAROL]);
  });

  it('refuses an offer to an agent at capacity and says which agent and how full', () => {
    const full = reserve(confirm(reserve(demoPool(), ALICE, 's1'), ALICE, 's1', T0), ALICE, 's2');
    const over = () => reserve(full, ALICE, 's3');
    expect(over).toThrow(RoutingError);
    expect(over).toThrow('agent sip:alice@contoso.com is at capacity (2/2); cannot offer session s3');
  });

  it('treats a repeated reserve of the same session as a no-op, pending or active', () => {
    const once = reserve(demoPool(), ALICE, 's1');
    expect(reserve(once, ALICE, 's1')).toBe(once);
    const active = confirm(once, ALICE, 's1', T0);
    expect(reserve(active, ALICE, 's1')).toBe(active);
  });

  it('confirms idempotently but refuses to confirm a session that was never offered', () => {
    const active = confirm(reserve(demoPool(), ALICE, 's1'), ALICE, 's1', T0);
    expect(confirm(active, ALICE, 's1', T0 + 5)).toBe(active);
    expect(() => confirm(active, ALICE, 's2', T0)).toThrow(
      'agent sip:alice@contoso.com has no pending offer for session s2; reserve it before confirming',
    );
  });

  it('confirm restarts the missed-offer count', () => {
    const missed = recordMissedOffer(reserve(demoPool(), ALICE, 's1'), ALICE, T0, { maxMissedInRow: 3 }).pool;
    expect(missed.agents[ALICE]?.missedOffersInRow).toBe(1);
    expect(confirm(missed, ALICE, 's1', T0).agents[ALICE]?.missedOffersInRow).toBe(0);
  });

  it('release of an active chat frees the slot and records when the chat ended', () => {
    const active = confirm(reserve(demoPool(), ALICE, 's1'), ALICE, 's1', T0);
    const ended = release(active, ALICE, 's1', T0 + 60_000);
    expect(ended.agents[ALICE]).toMatchObject({
      activeChats: [],
      lastAssignedAt: T0,
      lastChatEndedAt: T0 + 60_000,
    });
  });

  it('release of a pending offer frees the slot without touching idle times', () => {
    const offered = reserve(demoPool(), ALICE, 's1');
    const withdrawn = release(offered, ALICE, 's1', T0);
    expect(withdrawn.agents[ALICE]).toMatchObject({
      pendingOffers: [],
      lastAssignedAt: null,
      lastChatEndedAt: null,
    });
  });

  it('release of a session the agent does not hold returns the same pool', () => {
    const pool = demoPool();
    expect(release(pool, ALICE, 'never', T0)).toBe(pool);
  });

  it('lists which agents hold a session', () => {
    const pool = confirm(reserve(reserve(demoPool(), ALICE, 's1'), BOB, 's1'), BOB, 's1', T0);
    expect(holdersOf(pool, 's1')).toEqual([ALICE, BOB]);
    expect(holdersOf(pool, 's2')).toEqual([]);
  });

  it.each([
    ['an unknown agent', (p: Pool) => reserve(p, 'sip:nobody@x', 's1'), /unknown agent sip:nobody@x/],
    [
      'an empty session id',
      (p: Pool) => reserve(p, ALICE, ''),
      /sessionId must be a non-empty string, got ""/,
    ],
    ['a non-numeric now', (p: Pool) => confirm(p, ALICE, 's1', Number.NaN), /now must be a finite number/],
    [
      'a missing now',
      (p: Pool) => release(p, ALICE, 's1', undefined as never),
      /now must be a finite number.*undefined/,
    ],
  ])('rejects %s with a RoutingError', (_name, call, message) => {
    const pool = demoPool();
    expect(() => call(pool)).toThrow(RoutingError);
    expect(() => call(pool)).toThrow(message);
  });
});

describe('holds and listed (chat lists of any length)', () => {
  it('answers for long lists as for short ones, through every reserve, confirm and release', () => {
    let pool = createPool([{ uri: ALICE, name: 'Alice' }], { capacity: 100 });
    const ids = Array.from({ length: 40 }, (_, i) => `chat-${i}`);
    for (const [i, id] of ids.entries()) {
      pool = reserve(pool, ALICE, id);
      if (i % 2 === 0) pool = confirm(pool, ALICE, id, T0);
      const alice = getAgent(pool, ALICE)!;
      // Asked of each new list version (long ones through their Set), right for every chat so far.
      for (const [j, other] of ids.entries()) {
        expect(holds(alice, other)).toBe(j <= i);
        expect(listed(alice.activeChats, other)).toBe(j <= i && j % 2 === 0);
        expect(listed(alice.pendingOffers, other)).toBe(j <= i && j % 2 === 1);
      }
    }
    for (const id of ids.slice(0, 30)) pool = release(pool, ALICE, id, T0);
    const alice = getAgent(pool, ALICE)!;
    for (const [j, id] of ids.entries()) expect(holds(alice, id)).toBe(j >= 30);
    expect(holdersOf(pool, 'chat-35')).toEqual([ALICE]);
    expect(holdersOf(pool, 'chat-3')).toEqual([]);
  });
});

describe('setPresence', () => {
  it('changes presence immutably and returns the same pool when nothing changes', () => {
    const pool = demoPool();
    const away = setPresence(pool, BOB, 'away');
    expect(away.agents[BOB]?.presence).toBe('away');
    expect(pool.agents[BOB]?.presence).toBe('available');
    expect(setPresence(away, BOB, 'away')).toBe(away);
  });

  it('keeps the chats an agent holds when it goes offline (releasing them is the caller’s call)', () => {
    const pool = setPresence(confirm(reserve(demoPool(), ALICE, 's1'), ALICE, 's1', T0), ALICE, 'offline');
    expect(pool.agents[ALICE]).toMatchObject({ presence: 'offline', activeChats: ['s1'] });
  });

  it('rejects a presence that does not exist', () => {
    expect(() => setPresence(demoPool(), ALICE, 'lunch' as never)).toThrow(
      'agent sip:alice@contoso.com: presence must be one of available, busy, away, offline, got "lunch"',
    );
  });
});

describe('recordMissedOffer', () => {
  it('sets an available agent away at the second miss in a row, and reports it exactly once', () => {
    const first = recordMissedOffer(demoPool(), ALICE, T0, MISS);
    expect(first.madeUnavailable).toBe(false);
    expect(first.pool.agents[ALICE]).toMatchObject({ presence: 'available', missedOffersInRow: 1 });

    const second = recordMissedOffer(first.pool, ALICE, T0 + 1, MISS);
    expect(second.madeUnavailable).toBe(true);
    expect(second.pool.agents[ALICE]).toMatchObject({ presence: 'away', missedOffersInRow: 2 });

    const third = recordMissedOffer(second.pool, ALICE, T0 + 2, MISS);
    expect(third.madeUnavailable).toBe(false);
    expect(third.pool.agents[ALICE]?.presence).toBe('away');
  });

  it('honours a configured threshold of 1 and of 3', () => {
    expect(recordMissedOffer(demoPool(), ALICE, T0, { maxMissedInRow: 1 }).madeUnavailable).toBe(true);
    let pool = demoPool();
    const made: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const r = recordMissedOffer(pool, ALICE, T0, { maxMissedInRow: 3 });
      pool = r.pool;
      made.push(r.madeUnavailable);
    }
    expect(made).toEqual([false, false, true]);
  });

  it('leaves the missed offer reserved: the caller releases it', () => {
    const { pool } = recordMissedOffer(reserve(demoPool(), ALICE, 's1'), ALICE, T0, MISS);
    expect(pool.agents[ALICE]?.pendingOffers).toEqual(['s1']);
  });

  it('starts the count afresh when the agent comes back to available', () => {
    const twice = recordMissedOffer(
      recordMissedOffer(demoPool(), ALICE, T0, MISS).pool,
      ALICE,
      T0,
      MISS,
    ).pool;
    const back = setPresence(twice, ALICE, 'available');
    expect(back.agents[ALICE]).toMatchObject({ presence: 'available', missedOffersInRow: 0 });
    expect(recordMissedOffer(back, ALICE, T0, MISS).madeUnavailable).toBe(false);
  });

  it('does not count as making unavailable an agent that was already busy', () => {
    const busy = setPresence(demoPool(), ALICE, 'busy');
    const r = recordMissedOffer(recordMissedOffer(busy, ALICE, T0, MISS).pool, ALICE, T0, MISS);
    expect(r.madeUnavailable).toBe(false);
    expect(r.pool.agents[ALICE]?.presence).toBe('busy');
  });

  it.each([0, 1.5, undefined])('rejects maxMissedInRow %s', (max) => {
    expect(() => recordMissedOffer(demoPool(), ALICE, T0, { maxMissedInRow: max as number })).toThrow(
      `maxMissedInRow must be an integer of at least 1, got ${max}`,
    );
  });
});

describe('purity', () => {
  it('every update works on a deeply frozen pool (nothing is mutated in place)', () => {
    let pool = deepFreeze(createPool(DEMO_AGENTS));
    pool = deepFreeze(reserve(pool, ALICE, 's1'));
    pool = deepFreeze(confirm(pool, ALICE, 's1', T0));
    pool = deepFreeze(recordMissedOffer(pool, BOB, T0, MISS).pool);
    pool = deepFreeze(setPresence(pool, CAROL, 'busy'));
    pool = deepFreeze(release(pool, ALICE, 's1', T0 + 1));
    expect(pool.agents[ALICE]).toMatchObject({ activeChats: [], lastChatEndedAt: T0 + 1 });
  });
});

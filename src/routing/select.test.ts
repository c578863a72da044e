import { describe, expect, it } from 'vitest';
import { ALICE, BOB, CAROL, deepFreeze, demoPool } from '../../test/helpers/routingFixtures.ts';
import { RoutingError } from './errors.ts';
import { confirm, createPool, type Pool, release, reserve, setPresence } from './pool.ts';
import {
  type Assignment,
  DEFAULT_STRATEGY,
  formatDuration,
  LIST_EVERY_AGENT_UP_TO,
  type SelectionRequest,
  selectAgent,
  TOP_CANDIDATES,
} from './select.ts';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);
const req = (over: Partial<SelectionRequest> = {}): SelectionRequest => ({
  sessionId: 'new',
  now: T0,
  ...over,
});

/** Gives `uri` a chat that was assigned at `assignedAt` and ended at `endedAt` (or is still running). */
function history(pool: Pool, uri: string, assignedAt: number, endedAt?: number): Pool {
  const id = `past-${uri}-${assignedAt}`;
  const active = confirm(reserve(pool, uri, id), uri, id, assignedAt);
  return endedAt === undefined ? active : release(active, uri, id, endedAt);
}

function candidate(a: Assignment, uri: string) {
  return a.candidates.find((c) => c.uri === uri);
}

describe('longest-idle (the default strategy)', () => {
  it('is the default', () => {
    expect(DEFAULT_STRATEGY).toBe('longest-idle');
  });

  it('picks the agent whose last assignment or chat end is oldest', () => {
    let pool = demoPool();
    pool = history(pool, ALICE, T0 - 60_000, T0 - 10_000); // idle 10s
    pool = history(pool, BOB, T0 - 600_000, T0 - 300_000); // idle 5m
    pool = history(pool, CAROL, T0 - 120_000, T0 - 42_000); // idle 42s
    const { assignment } = selectAgent(pool, 'longest-idle', req());
    expect(assignment.winner).toBe(BOB);
    expect(assignment.why).toBe('sip:bob@contoso.com has been idle longest (idle 5m 0s) among 3 eligible');
    expect(candidate(assignment, CAROL)).toEqual({
      uri: CAROL,
      eligible: true,
      reason: 'available, load 0/2, idle 42s',
      score: 42_000,
    });
  });

  it('uses the later of lastAssignedAt and lastChatEndedAt: a running chat assigned long ago still counts', () => {
    let pool = demoPool();
    pool = history(pool, ALICE, T0 - 900_000); // assigned 15m ago, still chatting
    pool = history(pool, BOB, T0 - 100_000, T0 - 60_000); // ended 1m ago
    pool = setPresence(pool, CAROL, 'offline');
    const { assignment } = selectAgent(pool, 'longest-idle', req());
    expect(assignment.winner).toBe(ALICE);
    expect(candidate(assignment, ALICE)?.reason).toBe('available, load 1/2, idle 15m 0s');
  });

  it('treats an agent who never had a chat as idle forever (best), scored Number.MAX_SAFE_INTEGER', () => {
    let pool = demoPool();
    pool = history(pool, ALICE, T0 - 86_400_000 * 3, T0 - 86_400_000 * 2);
    pool = history(pool, BOB, T0 - 5_000, T0 - 1_000);
    const { assignment } = selectAgent(pool, 'longest-idle', req());
    expect(assignment.winner).toBe(CAROL);
    expect(candidate(assignment, CAROL)).toMatchObject({
      reason: 'available, load 0/2, no chat yet',
      score: Number.MAX_SAFE_INTEGER,
    });
    expect(candidate(assignment, ALICE)?.reason).toBe('available, load 0/2, idle 2d 0h');
  });

  it('breaks a tie on idle time by fewer chats, and says so', () => {
    const pool = reserve(demoPool(), ALICE, 'other');
    const { assignment } = selectAgent(pool, 'longest-idle', req());
    expect(assignment.winner).toBe(BOB);
    expect(assignment.why).toBe(
      'sip:bob@contoso.com has been idle longest (no chat yet) among 3 eligible; tied on idle time with sip:carol@contoso.com, sip:alice@contoso.com, won by fewer chats than sip:alice@contoso.com (0 vs 1) and earlier in the roster than sip:carol@contoso.com',
    );
  });

  it('breaks a tie on idle time and load by roster order', () => {
    const { assignment } = selectAgent(demoPool(), 'longest-idle', req());
    expect(assignment.winner).toBe(ALICE);
    expect(assignment.why).toBe(
      'sip:alice@contoso.com has been idle longest (no chat yet) among 3 eligible; tied on idle time with sip:bob@contoso.com, sip:carol@contoso.com, won by earlier in the roster than sip:bob@contoso.com, sip:carol@contoso.com',
    );
  });

  it('says when fewer chats decided the tie', () => {
    let pool = reserve(reserve(demoPool({ [BOB]: { capacity: 3 } }), ALICE, 'x'), BOB, 'y');
    pool = reserve(pool, BOB, 'z');
    pool = setPresence(pool, CAROL, 'away');
    const { assignment } = selectAgent(pool, 'longest-idle', req());
    expect(assignment.winner).toBe(ALICE);
    expect(assignment.why).toBe(
      'sip:alice@contoso.com has been idle longest (no chat yet) among 2 eligible; tied on idle time with sip:bob@contoso.com, won by fewer chats than sip:bob@contoso.com (1 vs 2)',
    );
  });

  it('ignores the topic (only the skills strategy routes on it) but records it', () => {
    const pool = setPresence(demoPool(), ALICE, 'offline');
    const { assignment } = selectAgent(pool, 'longest-idle', req({ topic: 'Billing' }));
    expect(assignment.topic).toBe('billing');
    expect(assignment.winner).toBe(BOB);
  });
});

describe('eligibility', () => {
  it('explains every ineligible agent: presence, capacity, already tried, already holding the chat', () => {
    let pool = createPool([
      { uri: 'sip:off@x', name: 'Off', presence: 'offline' },
      { uri: 'sip:busy@x', name: 'Busy', presence: 'busy' },
      { uri: 'sip:away@x', name: 'Away', presence: 'away' },
      { uri: 'sip:full@x', name: 'Full', capacity: 1 },
      { uri: 'sip:tried@x', name: 'Tried' },
      { uri: 'sip:offered@x', name: 'Offered' },
      { uri: 'sip:in@x', name: 'In' },
    ]);
    pool = reserve(pool, 'sip:full@x', 'other');
    pool = reserve(pool, 'sip:offered@x', 'new');
    pool = confirm(reserve(pool, 'sip:in@x', 'new'), 'sip:in@x', 'new', T0);
    const { assignment } = selectAgent(pool, 'longest-idle', req({ exclude: ['SIP:TRIED@X', 'sip:gone@x'] }));
    expect(assignment.candidates).toEqual([
      { uri: 'sip:off@x', eligible: false, reason: 'offline', score: null },
      { uri: 'sip:busy@x', eligible: false, reason: 'busy', score: null },
      { uri: 'sip:away@x', eligible: false, reason: 'away', score: null },
      { uri: 'sip:full@x', eligible: false, reason: 'at capacity 1/1', score: null },
      { uri: 'sip:tried@x', eligible: false, reason: 'already tried', score: null },
      { uri: 'sip:offered@x', eligible: false, reason: 'already offered this chat', score: null },
      { uri: 'sip:in@x', eligible: false, reason: 'already in this chat', score: null },
    ]);
    expect(assignment.winner).toBeNull();
    expect(assignment.why).toBe(
      'nobody can take the chat: sip:off@x offline; sip:busy@x busy; sip:away@x away; sip:full@x at capacity 1/1; sip:tried@x already tried; sip:offered@x already offered this chat; sip:in@x already in this chat',
    );
  });

  it('says the roster is empty when it is', () => {
    const { assignment } = selectAgent(createPool([]), 'round-robin', req());
    expect(assignment).toEqual({
      strategy: 'round-robin',
      at: T0,
      candidates: [],
      winner: null,
      why: 'nobody can take the chat: the roster is empty',
    });
  });

  it('never picks an agent at capacity even when it has been idle longest', () => {
    let pool = history(demoPool(), ALICE, T0 - 999_999);
    pool = reserve(pool, ALICE, 'two');
    pool = history(pool, BOB, T0 - 10, T0 - 5);
    const { assignment } = selectAgent(pool, 'longest-idle', req());
    expect(assignment.winner).toBe(CAROL);
    expect(candidate(assignment, ALICE)).toMatchObject({ eligible: false, reason: 'at capacity 2/2' });
  });
});

describe('round-robin', () => {
  it('walks the roster in order, wrapping around, and moves the cursor in the returned pool', () => {
    let pool: Pool = demoPool();
    const winners: Array<string | null> = [];
    for (let i = 0; i < 4; i++) {
      const r = selectAgent(pool, 'round-robin', req({ sessionId: `s${i}` }));
      winners.push(r.assignment.winner);
      pool = r.pool;
    }
    expect(winners).toEqual([ALICE, BOB, CAROL, ALICE]);
    expect(pool.rrCursor).toBe(0);
  });

  it('skips ineligible agents and names them', () => {
    let pool = setPresence(demoPool(), BOB, 'offline');
    pool = { ...pool, rrCursor: 0 };
    const { assignment, pool: next } = selectAgent(pool, 'round-robin', req());
    expect(assignment.winner).toBe(CAROL);
    expect(next.rrCursor).toBe(2);
    expect(assignment.why).toBe(
      'sip:carol@contoso.com is next in turn after sip:alice@contoso.com (skipped sip:bob@contoso.com: not eligible) among 2 eligible of 3',
    );
  });

  it('scores the next in turn highest and shows the turn in the reason', () => {
    const { assignment } = selectAgent({ ...demoPool(), rrCursor: 1 }, 'round-robin', req());
    expect(assignment.candidates.map((c) => [c.uri, c.score, c.reason])).toEqual([
      [ALICE, 2, 'available, load 0/2, turn 2'],
      [BOB, 1, 'available, load 0/2, turn 3'],
      [CAROL, 3, 'available, load 0/2, turn 1'],
    ]);
    expect(assignment.why).toBe(
      'sip:carol@contoso.com is next in turn after sip:bob@contoso.com among 3 eligible of 3',
    );
  });

  it('leaves the cursor (and the pool object) alone when nobody can take the chat', () => {
    const pool = {
      ...setPresence(setPresence(setPresence(demoPool(), ALICE, 'away'), BOB, 'away'), CAROL, 'away'),
      rrCursor: 1,
    };
    const r = selectAgent(pool, 'round-robin', req());
    expect(r.assignment.winner).toBeNull();
    expect(r.pool).toBe(pool);
  });

  it('copes with a cursor beyond a roster that shrank', () => {
    const { assignment } = selectAgent({ ...demoPool(), rrCursor: 7 }, 'round-robin', req());
    expect(assignment.winner).toBe(CAROL); // (7 + 1) mod 3 = 2
  });

  it('does not move the cursor for the other strategies', () => {
    const pool = demoPool();
    expect(selectAgent(pool, 'longest-idle', req()).pool).toBe(pool);
    expect(selectAgent(pool, 'skills', req({ topic: 'billing' })).pool).toBe(pool);
  });
});

describe('skills', () => {
  it('picks among the agents with the topic skill by longest idle', () => {
    const pool = history(demoPool(), ALICE, T0 - 50_000, T0 - 20_000);
    const { assignment } = selectAgent(pool, 'skills', req({ topic: 'billing' }));
    expect(assignment.winner).toBe(CAROL);
    expect(assignment.why).toBe(
      'sip:carol@contoso.com has skill billing; sip:carol@contoso.com has been idle longest (no chat yet) among 2 eligible with that skill',
    );
    expect(candidate(assignment, BOB)).toEqual({
      uri: BOB,
      eligible: false,
      reason: 'lacks skill billing',
      score: null,
    });
    expect(candidate(assignment, ALICE)?.reason).toBe('available, load 0/2, idle 20s, has skill billing');
  });

  it('matches the topic case-insensitively', () => {
    const { assignment } = selectAgent(demoPool(), 'skills', req({ topic: '  TECHNICAL ' }));
    expect(assignment.topic).toBe('technical');
    expect(assignment.winner).toBe(BOB);
  });

  it('falls back to any eligible agent when nobody with the skill can take the chat, and says why', () => {
    let pool = setPresence(demoPool(), ALICE, 'offline');
    pool = reserve(reserve(pool, CAROL, 'a'), CAROL, 'b');
    const { assignment } = selectAgent(pool, 'skills', req({ topic: 'billing' }));
    expect(assignment.winner).toBe(BOB);
    expect(assignment.why).toBe(
      'nobody with skill billing can take the chat (sip:alice@contoso.com offline; sip:carol@contoso.com at capacity 2/2); fell back to any eligible agent: sip:bob@contoso.com has been idle longest (no chat yet) among 1 eligible',
    );
    expect(candidate(assignment, BOB)).toMatchObject({
      eligible: true,
      reason: 'available, load 0/2, no chat yet, lacks skill billing (fallback)',
    });
  });

  it('says when no agent in the roster has the skill at all', () => {
    const { assignment } = selectAgent(demoPool(), 'skills', req({ topic: 'french' }));
    expect(assignment.winner).toBe(ALICE);
    expect(assignment.why).toMatch(
      /^no agent in the roster has skill french; fell back to any eligible agent: /,
    );
  });

  it('with skillsFallback off, leaves the chat unassigned rather than give it to the wrong agent', () => {
    const pool = setPresence(setPresence(demoPool(), ALICE, 'offline'), CAROL, 'busy');
    const { assignment } = selectAgent(pool, 'skills', req({ topic: 'billing' }), { skillsFallback: false });
    expect(assignment.winner).toBeNull();
    expect(candidate(assignment, BOB)).toMatchObject({ eligible: false, reason: 'lacks skill billing' });
    expect(assignment.why).toBe(
      'nobody with skill billing can take the chat (fallback to other agents is off): sip:alice@contoso.com offline; sip:bob@contoso.com lacks skill billing; sip:carol@contoso.com busy',
    );
  });

  it('without a topic ranks everyone by longest idle and says so', () => {
    const { assignment } = selectAgent(history(demoPool(), ALICE, T0 - 2, T0 - 1), 'skills', req());
    expect(assignment.winner).toBe(BOB);
    expect(assignment.why).toMatch(
      /^no topic given, so by longest idle: sip:bob@contoso.com has been idle longest/,
    );
    expect(assignment).not.toHaveProperty('topic');
  });
});

describe('the assignment record', () => {
  it('is plain data: it survives JSON as GET /sessions/:id would show it', () => {
    const { assignment } = selectAgent(demoPool(), 'skills', req({ topic: 'billing' }));
    expect(JSON.parse(JSON.stringify(assignment))).toEqual(assignment);
    expect(assignment.at).toBe(T0);
    expect(assignment.strategy).toBe('skills');
    expect(assignment.candidates.map((c) => c.uri)).toEqual([ALICE, BOB, CAROL]);
  });

  it('does not mutate a frozen pool', () => {
    const pool = deepFreeze({ ...demoPool(), rrCursor: 0 });
    expect(() => selectAgent(pool, 'round-robin', req())).not.toThrow();
    expect(pool.rrCursor).toBe(0);
  });
});

describe('a large roster', () => {
  // 40 agents: agent0–9 offline, agent10–19 busy, agent20–39 available, agent20 and agent21 full.
  const uri = (i: number) => `sip:agent${i}@contoso.com`;
  function largePool(): Pool {
    let pool = createPool(
      Array.from({ length: 40 }, (_, i) => ({
        uri: uri(i),
        name: `Agent ${i}`,
        presence: i < 10 ? ('offline' as const) : i < 20 ? ('busy' as const) : ('available' as const),
        capacity: 1,
      })),
    );
    pool = history(pool, uri(20), T0 - 5_000);
    pool = history(pool, uri(21), T0 - 6_000);
    // The others idle 1s (agent22) to 18s (agent39): agent39 has been idle longest.
    for (let i = 22; i < 40; i++) pool = history(pool, uri(i), T0 - 100_000, T0 - (i - 21) * 1_000);
    return pool;
  }

  it('lists the best-ranked eligible agents, winner first, and counts the others by reason', () => {
    const { assignment } = selectAgent(largePool(), 'longest-idle', req({ exclude: [uri(25)] }));
    expect(assignment.winner).toBe(uri(39));
    expect(assignment.candidates.map((c) => c.uri)).toEqual([uri(39), uri(38), uri(37), uri(36), uri(35)]);
    expect(assignment.candidates.length).toBe(TOP_CANDIDATES);
    expect(assignment.candidates[0]).toEqual({
      uri: uri(39),
      eligible: true,
      reason: 'available, load 0/1, idle 18s',
      score: 18_000,
    });
    expect(assignment.others).toEqual({
      count: 35,
      reasons: { offline: 10, busy: 10, 'at capacity': 2, 'already tried': 1, eligible: 12 },
    });
    expect(JSON.parse(JSON.stringify(assignment))).toEqual(assignment);
  });

  it('names the first agents and counts the rest when nobody can take the chat', () => {
    let pool = largePool();
    for (let i = 20; i < 40; i++) pool = setPresence(pool, uri(i), 'away');
    const { assignment } = selectAgent(pool, 'longest-idle', req());
    expect(assignment.winner).toBeNull();
    expect(assignment.candidates).toEqual([]);
    expect(assignment.others).toEqual({ count: 40, reasons: { offline: 10, busy: 10, away: 20 } });
    const named = Array.from({ length: LIST_EVERY_AGENT_UP_TO }, (_, i) => `${uri(i)} offline`).join('; ');
    expect(assignment.why).toBe(`nobody can take the chat: ${named}; and 30 more (10 busy, 20 away)`);
  });

  it('lists every agent up to LIST_EVERY_AGENT_UP_TO, with no others', () => {
    const { assignment } = selectAgent(demoPool(), 'longest-idle', req());
    expect(assignment.candidates.length).toBe(3);
    expect(assignment).not.toHaveProperty('others');
  });
});

describe('bad requests', () => {
  it.each([
    [
      'an unknown strategy',
      () => selectAgent(demoPool(), 'random' as never, req()),
      'unknown strategy "random"; use one of longest-idle, round-robin, skills',
    ],
    [
      'a missing session id',
      () => selectAgent(demoPool(), 'skills', req({ sessionId: '' })),
      'sessionId must be a non-empty string, got ""',
    ],
    [
      'a missing time',
      () => selectAgent(demoPool(), 'skills', req({ now: undefined as never })),
      'now must be a finite number of epoch milliseconds, got undefined',
    ],
    [
      'an empty topic',
      () => selectAgent(demoPool(), 'skills', req({ topic: ' ' })),
      'topic must be a non-empty string, got " "',
    ],
    [
      'an exclude that is not a list',
      () => selectAgent(demoPool(), 'skills', req({ exclude: ALICE as never })),
      'exclude must be an array of agent uris, got "sip:alice@contoso.com"',
    ],
    [
      'a request that is not an object',
      () => selectAgent(demoPool(), 'skills', null as never),
      'a selection request must be an object, got null',
    ],
  ])('rejects %s with a RoutingError', (_name, call, message) => {
    expect(call).toThrow(RoutingError);
    expect(call).toThrow(message);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [42_000, '42s'],
    [303_000, '5m 3s'],
    [7_440_000, '2h 4m'],
    [266_400_000, '3d 2h'],
    [-5_000, '0s'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

import { describe, expect, it } from 'vitest';
import { ALICE, BOB, CAROL, deepFreeze, demoPool } from '../../test/helpers/routingFixtures.ts';
import { RoutingError } from './errors.ts';
import { confirm, createPool, reserve, setPresence } from './pool.ts';
import {
  type ChatQueue,
  createQueue,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_WAIT_UPDATE_MS,
  dequeue,
  enqueue,
  estimatedWaitMs,
  nextFor,
  overdue,
  position,
  waitMessage,
} from './queue.ts';

const T0 = Date.UTC(2026, 5, 1, 9, 0, 0);

function queueOf(...items: Array<{ id: string; priority?: number; at?: number; topic?: string }>): ChatQueue {
  let q = createQueue();
  items.forEach((item, i) => {
    q = enqueue(q, {
      sessionId: item.id,
      now: item.at ?? T0 + i,
      ...(item.priority === undefined ? {} : { priority: item.priority }),
      ...(item.topic === undefined ? {} : { topic: item.topic }),
    });
  });
  return deepFreeze(q);
}

const ids = (q: ChatQueue) => q.entries.map((e) => e.sessionId);
const allAway = () =>
  deepFreeze(setPresence(setPresence(setPresence(demoPool(), ALICE, 'away'), BOB, 'away'), CAROL, 'away'));

describe('ordering', () => {
  it('serves first in, first out at equal priority', () => {
    const q = queueOf({ id: 'a' }, { id: 'b' }, { id: 'c' });
    expect(ids(q)).toEqual(['a', 'b', 'c']);
    expect([position(q, 'a'), position(q, 'b'), position(q, 'c')]).toEqual([1, 2, 3]);
  });

  it('serves higher priority first, FIFO within a priority', () => {
    const q = queueOf(
      { id: 'low1' },
      { id: 'high1', priority: 5 },
      { id: 'low2' },
      { id: 'high2', priority: 5 },
      { id: 'neg', priority: -1 },
    );
    expect(ids(q)).toEqual(['high1', 'high2', 'low1', 'low2', 'neg']);
  });

  it('puts a chat re-queued with its original time back in front of later arrivals', () => {
    let q = queueOf({ id: 'a', at: T0 + 10 }, { id: 'b', at: T0 + 20 });
    q = enqueue(q, { sessionId: 'returning', now: T0 + 5 });
    expect(ids(q)).toEqual(['returning', 'a', 'b']);
  });

  it('breaks ties on equal time by arrival sequence', () => {
    const q = queueOf({ id: 'x', at: T0 }, { id: 'y', at: T0 }, { id: 'z', at: T0 });
    expect(q.entries.map((e) => [e.sessionId, e.seq])).toEqual([
      ['x', 0],
      ['y', 1],
      ['z', 2],
    ]);
    expect(q.nextSeq).toBe(3);
  });

  it('is idempotent per session: a second enqueue keeps the first place, priority and time', () => {
    const q = queueOf({ id: 'a' }, { id: 'b' });
    const again = enqueue(q, { sessionId: 'a', priority: 99, now: T0 + 1000 });
    expect(again).toBe(q);
    expect(q.entries[0]).toEqual({ sessionId: 'a', priority: 0, enqueuedAt: T0, seq: 0 });
  });

  it('keeps the topic on the entry', () => {
    expect(queueOf({ id: 'a', topic: 'billing' }).entries[0]?.topic).toBe('billing');
  });

  it('removes a chat with dequeue, and ignores one that is not queued', () => {
    const q = queueOf({ id: 'a' }, { id: 'b' }, { id: 'c' });
    const less = dequeue(q, 'b');
    expect(ids(less)).toEqual(['a', 'c']);
    expect(position(less, 'c')).toBe(2);
    expect(position(less, 'b')).toBeNull();
    expect(dequeue(less, 'b')).toBe(less);
  });

  it('survives a JSON round trip', () => {
    const q = queueOf({ id: 'a', topic: 't' }, { id: 'b', priority: 2 });
    expect(JSON.parse(JSON.stringify(q))).toEqual(q);
  });
});

describe('nextFor', () => {
  it('returns the head of the queue with its assignment and the pool after selection', () => {
    const q = queueOf({ id: 'a' }, { id: 'b' });
    const next = nextFor(q, demoPool(), 'round-robin', T0);
    expect(next?.sessionId).toBe('a');
    expect(next?.assignment.winner).toBe(ALICE);
    expect(next?.pool.rrCursor).toBe(0);
    expect(q.entries).toHaveLength(2); // nothing dequeued
  });

  it('returns null when nobody can take any queued chat, or the queue is empty', () => {
    expect(nextFor(queueOf({ id: 'a' }), allAway(), 'longest-idle', T0)).toBeNull();
    expect(nextFor(createQueue(), demoPool(), 'longest-idle', T0)).toBeNull();
  });

  it('does not let a chat nobody can take block the chats behind it', () => {
    const pool = setPresence(setPresence(demoPool(), ALICE, 'offline'), CAROL, 'offline'); // only Bob: technical, general
    const q = queueOf({ id: 'billing-chat', topic: 'billing' }, { id: 'tech-chat', topic: 'technical' });
    const next = nextFor(q, pool, 'skills', T0, { skillsFallback: false });
    expect(next?.sessionId).toBe('tech-chat');
    expect(next?.assignment.winner).toBe(BOB);
  });

  it('with the skills fallback on, serves the head with whoever is free', () => {
    const pool = setPresence(setPresence(demoPool(), ALICE, 'offline'), CAROL, 'offline');
    const q = queueOf({ id: 'billing-chat', topic: 'billing' }, { id: 'tech-chat', topic: 'technical' });
    const next = nextFor(q, pool, 'skills', T0);
    expect(next?.sessionId).toBe('billing-chat');
    expect(next?.assignment.why).toMatch(/fell back to any eligible agent/);
  });

  it('skips the agents already tried for a chat', () => {
    const q = queueOf({ id: 'a' });
    const next = nextFor(q, demoPool(), 'longest-idle', T0, { exclude: { a: [ALICE, BOB] } });
    expect(next?.assignment.winner).toBe(CAROL);
  });
});

describe('estimatedWaitMs', () => {
  const AVG = 6 * 60_000;

  it('is 0 while a free slot exists for the chat', () => {
    const q = queueOf({ id: 'a' }, { id: 'b' });
    expect(estimatedWaitMs(q, demoPool(), 'b', AVG)).toBe(0);
  });

  it('shares the chats ahead across the capacity of the available agents', () => {
    // Alice and Bob available, capacity 2 each, all four slots taken; Carol away.
    let pool = setPresence(demoPool(), CAROL, 'away');
    for (const [uri, s] of [
      [ALICE, 'x1'],
      [ALICE, 'x2'],
      [BOB, 'y1'],
      [BOB, 'y2'],
    ] as const) {
      pool = confirm(reserve(pool, uri, s), uri, s, T0);
    }
    const q = queueOf({ id: 'a' }, { id: 'b' }, { id: 'c' });
    expect(estimatedWaitMs(q, pool, 'a', AVG)).toBe(AVG / 4);
    expect(estimatedWaitMs(q, pool, 'c', AVG)).toBe((3 * AVG) / 4);
  });

  it('counts only the slots still free', () => {
    const pool = reserve(reserve(reserve(demoPool(), ALICE, 'x'), ALICE, 'y'), BOB, 'z'); // 3 of 6 free
    const q = queueOf({ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }, { id: 'e' });
    expect(estimatedWaitMs(q, pool, 'c', AVG)).toBe(0);
    expect(estimatedWaitMs(q, pool, 'e', AVG)).toBe((2 * AVG) / 6);
  });

  it('is null when the chat is not queued, or nobody is available to estimate from', () => {
    expect(estimatedWaitMs(queueOf({ id: 'a' }), demoPool(), 'zzz', AVG)).toBeNull();
    expect(estimatedWaitMs(queueOf({ id: 'a' }), allAway(), 'a', AVG)).toBeNull();
    expect(estimatedWaitMs(queueOf({ id: 'a' }), createPool([]), 'a', AVG)).toBeNull();
  });

  it('rejects a non-positive average handling time', () => {
    expect(() => estimatedWaitMs(queueOf({ id: 'a' }), demoPool(), 'a', 0)).toThrow(
      'avgHandleMs must be a positive number of milliseconds, got 0',
    );
  });
});

describe('waitMessage', () => {
  it.each([
    [2, 3 * 60_000, 'You are number 2 in the queue. Estimated wait: about 3 minutes.'],
    [1, 0, 'You are next in the queue. Estimated wait: less than a minute.'],
    [4, 29_000, 'You are number 4 in the queue. Estimated wait: less than a minute.'],
    [3, 60_000, 'You are number 3 in the queue. Estimated wait: about 1 minute.'],
    [3, 89 * 60_000, 'You are number 3 in the queue. Estimated wait: about 89 minutes.'],
    [9, 150 * 60_000, 'You are number 9 in the queue. Estimated wait: about 3 hours.'],
    [
      2,
      null,
      'You are number 2 in the queue. All our agents are busy; we will connect you as soon as one is free.',
    ],
  ])('position %d with estimate %s reads %j', (place, wait, text) => {
    expect(waitMessage(place, wait)).toBe(text);
  });

  it('rejects a position below 1 and a negative estimate', () => {
    expect(() => waitMessage(0, 0)).toThrow('the queue position must be an integer of at least 1, got 0');
    expect(() => waitMessage(1, -1)).toThrow(
      'the estimated wait must be null or milliseconds of at least 0, got -1',
    );
  });
});

describe('overdue', () => {
  it('lists the chats that waited the maximum or longer (default 5 minutes), in queue order', () => {
    expect(DEFAULT_MAX_WAIT_MS).toBe(300_000);
    expect(DEFAULT_WAIT_UPDATE_MS).toBe(30_000);
    const q = queueOf(
      { id: 'old', at: T0 },
      { id: 'new', at: T0 + 200_000 },
      { id: 'vip-old', at: T0 + 1, priority: 1 },
    );
    expect(overdue(q, T0 + 299_999).map((e) => e.sessionId)).toEqual([]);
    expect(overdue(q, T0 + 300_001).map((e) => e.sessionId)).toEqual(['vip-old', 'old']);
    expect(overdue(q, T0 + 200_000, 60_000).map((e) => e.sessionId)).toEqual(['vip-old', 'old']);
  });
});

describe('bad input', () => {
  it.each([
    [
      'an empty session id',
      () => enqueue(createQueue(), { sessionId: '', now: T0 }),
      'sessionId must be a non-empty string, got ""',
    ],
    [
      'a missing time',
      () => enqueue(createQueue(), { sessionId: 'a', now: undefined as never }),
      'now must be a finite number of epoch milliseconds, got undefined',
    ],
    [
      'a non-numeric priority',
      () => enqueue(createQueue(), { sessionId: 'a', now: T0, priority: 'high' as never }),
      'priority must be a finite number (higher is served first), got "high"',
    ],
    [
      'an empty topic',
      () => enqueue(createQueue(), { sessionId: 'a', now: T0, topic: '' }),
      'topic must be a non-empty string, got ""',
    ],
    [
      'something that is not a queue',
      () => position({} as never, 'a'),
      'expected a ChatQueue from createQueue, got an object',
    ],
    [
      'an unknown strategy',
      () => nextFor(queueOf({ id: 'a' }), demoPool(), 'fastest' as never, T0),
      'unknown strategy "fastest"',
    ],
    [
      'a bad max wait',
      () => overdue(createQueue(), T0, -5),
      'maxWaitMs must be a positive number of milliseconds, got -5',
    ],
  ])('rejects %s with a RoutingError', (_name, call, message) => {
    expect(call).toThrow(RoutingError);
    expect(call).toThrow(message);
  });
});

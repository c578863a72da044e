/**
 * The store contract: one suite, run against every engine (test/store/pglite.test.ts and
 * test/store/postgres.test.ts). An engine passes when it behaves the same as the other on every test here;
 * engine-specific behaviour (setup errors, real concurrency between connections) is tested in the engine's
 * own file.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActor, fromPromise, setup } from 'xstate';
import { createPool, selectAgent } from '../../src/routing/index.ts';
import {
  type Lease,
  LeaseLostError,
  type PersistedSnapshot,
  type SessionWrite,
  type Store,
  StoreInputError,
  StoreSetupError,
} from '../../src/store/index.ts';
import { knownMigrations } from '../../src/store/migrate.ts';

export interface HarnessOptions {
  now?: () => number;
  leaseMs?: number;
  retentionDays?: number;
}

/** A store on a database this test may reopen, and raw SQL on that database while no store is open. */
export interface PersistentDb {
  open(options?: HarnessOptions): Promise<Store>;
  exec(sql: string): Promise<void>;
}

export interface StoreHarness {
  engine: 'pglite' | 'postgres';
  /** A store on a new, empty database; closed after the test. */
  fresh(options?: HarnessOptions): Promise<Store>;
  /**
   * Another store instance on the same database as `store` (as a second SA process would have). PGlite is
   * embedded, one process per database: there the peer is `store` itself.
   */
  peer(store: Store, options?: HarnessOptions): Promise<Store>;
  persistent(): Promise<PersistentDb>;
  /** One store per file, for tests that only touch ids of their own. */
  shared(): Promise<Store>;
  /** Slow one-time work (PGlite: initdb), done before the tests so none of them pays for it. */
  prepare(): Promise<void>;
  /** Closes what the test opened (after each test). */
  cleanup(): Promise<void>;
  /** Closes everything and drops what the run created (after all tests). */
  teardown(): Promise<void>;
}

/** Time the tests move by hand. */
export class TestClock {
  constructor(public time = Date.UTC(2026, 0, 15, 9, 0, 0)) {}
  now = (): number => this.time;
  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }
}

const DAY = 86_400_000;
let counter = 0;
/** An id no other test uses (the shared store outlives tests). */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A persisted-snapshot-shaped value for tests that do not need a real machine. */
function snap(value: unknown, status: 'active' | 'done' | 'error' = 'active', context: object = {}) {
  return {
    status,
    value,
    context,
    children: {},
    historyValue: {},
    output: undefined,
    error: undefined,
  } as unknown as PersistedSnapshot;
}

function write(value: unknown = 'waiting', extra: Partial<SessionWrite> = {}): SessionWrite {
  return { machineId: 'chatSession', machineVersion: 1, snapshot: snap(value), deadlines: {}, ...extra };
}

function ended(outcome = 'terminated', extra: Partial<SessionWrite> = {}): SessionWrite {
  return write('terminated', { snapshot: snap('terminated', 'done'), outcome, ...extra });
}

async function created(
  store: Store,
  owner: string,
  id = uid('s'),
  w: SessionWrite = write(),
): Promise<Lease> {
  const lease = await store.sessions.create(owner, id, w);
  if (!lease) throw new Error(`session ${id} already existed`);
  return lease;
}

/** Resolves with the first value pushed, or fails the test after `ms` (not a timing assertion: a hang guard). */
function signal<T>(ms = 10_000): { push: (value: T) => void; values: T[]; next: () => Promise<T> } {
  const values: T[] = [];
  const waiters: Array<(value: T) => void> = [];
  let read = 0;
  return {
    values,
    push(value) {
      values.push(value);
      waiters.shift()?.(value);
    },
    next() {
      if (values.length > read) return Promise.resolve(values[read++] as T);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no signal within ${ms} ms`)), ms);
        waiters.push((value) => {
          clearTimeout(timer);
          read++;
          resolve(value);
        });
      });
    },
  };
}

export function storeContract(h: StoreHarness): void {
  beforeAll(() => h.prepare(), 180_000);
  afterEach(() => h.cleanup());
  afterAll(() => h.teardown(), 120_000);

  describe('sessions', () => {
    it('stores a real XState persisted snapshot as JSON and restores an actor from it', async () => {
      const store = await h.shared();
      const offer = setup({ types: { context: {} as { tries: number } } }).createMachine({
        id: 'offer',
        context: { tries: 2 },
        initial: 'waiting',
        states: { waiting: { on: { accept: 'accepted' } }, accepted: { type: 'final' } },
      });
      const machine = setup({
        types: { context: {} as { text: string; list: unknown[]; deadlines: Record<string, number> } },
        actors: { offer, work: fromPromise(() => new Promise<string>(() => {})) },
      }).createMachine({
        id: 'roundTrip',
        context: {
          text: 'Grüße, "quoted" \\ back\\slash, emoji 😀, line\nbreak',
          list: [1, 2.5, null, true, { nested: ['a', { deeper: -0.25 }] }],
          deadlines: { 'session/timer.retry': 1_768_467_600_123 },
        },
        initial: 'busy',
        states: {
          busy: {
            type: 'parallel',
            states: {
              call: {
                invoke: { id: 'work', src: 'work', onDone: '.done', onError: '.failed' },
                initial: 'pending',
                states: { pending: {}, done: {}, failed: {} },
              },
              agent: {
                invoke: { id: 'offer', src: 'offer', onDone: '.joined', onError: '.failed' },
                initial: 'offered',
                states: { offered: { on: { next: 'ringing' } }, ringing: {}, joined: {}, failed: {} },
              },
            },
          },
        },
      });
      const actor = createActor(machine).start();
      actor.send({ type: 'next' });
      const persisted = actor.getPersistedSnapshot();
      actor.stop();
      const lease = await created(store, 'A', uid('rt'), {
        machineId: 'roundTrip',
        machineVersion: 7,
        snapshot: persisted,
        deadlines: { 'session/timer.retry': 1_768_467_600_123 },
      });

      const loaded = await store.sessions.load(lease.sessionId);
      expect(loaded?.snapshot).toEqual(JSON.parse(JSON.stringify(persisted)));
      expect(loaded).toMatchObject({
        machineId: 'roundTrip',
        machineVersion: 7,
        state: 'busy',
        status: 'active',
      });
      expect(loaded?.deadlines).toEqual({ 'session/timer.retry': 1_768_467_600_123 });

      const restored = createActor(machine, { snapshot: loaded?.snapshot }).start();
      expect(restored.getSnapshot().value).toEqual({ busy: { call: 'pending', agent: 'ringing' } });
      expect(restored.getSnapshot().context).toEqual(actor.getSnapshot().context);
      const child = restored.getSnapshot().children.offer;
      const childSnapshot = child?.getSnapshot();
      expect(childSnapshot && 'context' in childSnapshot ? childSnapshot.context : undefined).toEqual({
        tries: 2,
      });
      child?.send({ type: 'accept' });
      expect(restored.getSnapshot().value).toEqual({ busy: { call: 'pending', agent: 'joined' } });
      restored.stop();
    });

    it('creates a session once, with its lease at generation 1; an unknown id loads as undefined', async () => {
      const store = await h.shared();
      const id = uid('s');
      const lease = await created(store, 'owner-a', id);
      expect(lease).toMatchObject({ sessionId: id, owner: 'owner-a', generation: 1 });
      expect(await store.sessions.create('owner-b', id, write('other'))).toBeNull();
      const loaded = await store.sessions.load(id);
      expect(loaded).toMatchObject({ state: 'waiting', lease: { owner: 'owner-a', generation: 1 } });
      expect(await store.sessions.load(uid('missing'))).toBeUndefined();
    });

    it('saves state, deadlines, outcome and summary; an ended session keeps its end time and outcome', async () => {
      const store = await h.shared();
      const lease = await created(store, 'A');
      await store.sessions.save(
        lease,
        write(
          { bridged: 'idle' },
          { deadlines: { 'session/timer.a': 5_000, 'offer/timer.b': 4_000 }, summary: { customer: 'Jane' } },
        ),
      );
      let loaded = await store.sessions.load(lease.sessionId);
      expect(loaded).toMatchObject({
        state: 'bridged',
        status: 'active',
        outcome: null,
        endedAt: null,
        summary: { customer: 'Jane' },
        deadlines: { 'session/timer.a': 5_000, 'offer/timer.b': 4_000 },
      });
      expect(loaded?.snapshot).toMatchObject({ value: { bridged: 'idle' } });

      await store.sessions.save(lease, ended('customerLeft'));
      loaded = await store.sessions.load(lease.sessionId);
      expect(loaded).toMatchObject({
        state: 'terminated',
        status: 'done',
        outcome: 'customerLeft',
        deadlines: {},
      });
      const endedAt = loaded?.endedAt;
      expect(endedAt).toEqual(expect.any(Number));
      // A late write (no outcome, no summary given) keeps both, and the first end time.
      await store.sessions.save(lease, write('terminated', { snapshot: snap('terminated', 'done') }));
      loaded = await store.sessions.load(lease.sessionId);
      expect(loaded).toMatchObject({ outcome: 'customerLeft', endedAt, summary: { customer: 'Jane' } });
    });

    it('keeps the stored snapshot, state and status when a save leaves the snapshot out', async () => {
      const store = await h.shared();
      const lease = await created(store, 'A');
      await store.sessions.save(lease, write({ bridged: 'idle' }, { summary: { customer: 'Jane' } }));
      const { snapshot: _, ...rest } = write('ignored', { deadlines: { 'session/timer.a': 7_000 } });
      await store.sessions.save(lease, rest);
      const loaded = await store.sessions.load(lease.sessionId);
      expect(loaded).toMatchObject({
        state: 'bridged',
        status: 'active',
        endedAt: null,
        summary: { customer: 'Jane' },
        deadlines: { 'session/timer.a': 7_000 },
      });
      expect(loaded?.snapshot).toMatchObject({ value: { bridged: 'idle' } });
      // Ended, then a save without a snapshot: still ended, end time kept.
      await store.sessions.save(lease, ended('customerLeft'));
      const endedAt = (await store.sessions.load(lease.sessionId))?.endedAt;
      await store.sessions.save(lease, rest);
      expect(await store.sessions.load(lease.sessionId)).toMatchObject({
        state: 'terminated',
        status: 'done',
        outcome: 'customerLeft',
        endedAt,
      });
    });

    it('stores text PostgreSQL cannot hold (U+0000, lone surrogates) as U+FFFD, and nothing else changes', async () => {
      const store = await h.shared();
      const tricky = 'a\u0000b \ud800 c\udc00 ok😀 literal \\u0000 and \\\\u0000';
      const lease = await created(store, 'A', uid('nul'), {
        ...write('waiting'),
        snapshot: snap('waiting', 'active', { text: tricky }),
        summary: { customer: tricky },
      });
      const expected = 'a\uFFFDb \uFFFD c\uFFFD ok😀 literal \\u0000 and \\\\u0000';
      const loaded = await store.sessions.load(lease.sessionId);
      expect(loaded?.snapshot).toMatchObject({ context: { text: expected } });
      expect(loaded?.summary).toEqual({ customer: expected });
      expect(await store.transcripts.append(lease, { key: 'k\u0000', at: 1, entry: { text: tricky } })).toBe(
        true,
      );
      expect(await store.transcripts.read(lease.sessionId)).toMatchObject([
        { key: 'k\uFFFD', entry: { text: expected } },
      ]);
    });

    it('refuses what it cannot store faithfully, with a StoreInputError naming the problem', async () => {
      const store = await h.shared();
      const id = uid('bad');
      await expect(store.sessions.create('A', id, { ...write(), snapshot: snap(undefined) })).rejects.toThrow(
        /has no state value/,
      );
      await expect(
        store.sessions.create('A', id, {
          ...write(),
          snapshot: { value: 'x' } as unknown as PersistedSnapshot,
        }),
      ).rejects.toThrow(StoreInputError);
      await expect(
        store.sessions.create('A', id, { ...write(), snapshot: snap('x', 'active', { n: 10n }) }),
      ).rejects.toThrow(/not JSON-serialisable/);
      await expect(
        store.sessions.create('A', id, write('x', { deadlines: { t: Number.NaN } })),
      ).rejects.toThrow(/deadline t must be epoch milliseconds/);
      await expect(store.sessions.create('', id, write())).rejects.toThrow(
        /owner must be a non-empty string/,
      );
      expect(await store.sessions.load(id)).toBeUndefined();
    });
  });

  describe('listing', () => {
    it('pages newest first through an opaque cursor, ties broken by id, filtered by state, outcome and since', async () => {
      const clock = new TestClock();
      const store = await h.fresh({ now: clock.now });
      const t0 = clock.time;
      const all: Array<{ id: string; createdAt: number; state: string; outcome: string | null }> = [];
      await store.transaction(async (tx) => {
        for (let i = 0; i < 23; i++) {
          // Three sessions share each creation time, so the order must fall back on the id.
          clock.time = t0 + Math.floor(i / 3) * 1000;
          const id = `s-${String(i).padStart(2, '0')}`;
          const state = i % 2 === 0 ? 'bridged' : 'queued';
          const isEnded = i % 5 === 0;
          const lease = await tx.sessions.create('A', id, write(state));
          if (isEnded && lease) await tx.sessions.save(lease, ended(i % 10 === 0 ? 'served' : 'abandoned'));
          all.push({
            id,
            createdAt: clock.time,
            state: isEnded ? 'terminated' : state,
            outcome: isEnded ? (i % 10 === 0 ? 'served' : 'abandoned') : null,
          });
        }
      });
      const newestFirst = [...all].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));

      const pageThrough = async (
        query: { state?: string; outcome?: string; since?: number },
        limit: number,
      ) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.sessions.list({ ...query, limit, ...(cursor ? { cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          ids.push(...page.items.map((s) => s.id));
          cursor = page.nextCursor ?? undefined;
          pages += 1;
        } while (cursor && pages < 100);
        return { ids, pages };
      };

      const everything = await pageThrough({}, 7);
      expect(everything.ids).toEqual(newestFirst.map((s) => s.id));
      expect(everything.pages).toBe(4);
      expect((await pageThrough({ state: 'queued' }, 4)).ids).toEqual(
        newestFirst.filter((s) => s.state === 'queued').map((s) => s.id),
      );
      expect((await pageThrough({ outcome: 'served' }, 1)).ids).toEqual(
        newestFirst.filter((s) => s.outcome === 'served').map((s) => s.id),
      );
      const since = t0 + 4000;
      expect((await pageThrough({ since, state: 'terminated' }, 2)).ids).toEqual(
        newestFirst.filter((s) => s.createdAt >= since && s.state === 'terminated').map((s) => s.id),
      );
      const first = await store.sessions.list({ limit: 1 });
      expect(first.items[0]).toMatchObject({
        id: 's-22',
        state: 'bridged',
        status: 'active',
        createdAt: t0 + 7000,
      });
      expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('returns 100 by default and at most 1000; refuses other limits and cursors it did not issue', async () => {
      const store = await h.fresh();
      await store.transaction(async (tx) => {
        for (let i = 0; i < 101; i++)
          await tx.sessions.create('A', `s-${String(i).padStart(3, '0')}`, write());
      });
      const firstPage = await store.sessions.list();
      expect(firstPage.items).toHaveLength(100);
      expect(firstPage.nextCursor).not.toBeNull();
      const rest = await store.sessions.list({ cursor: firstPage.nextCursor as string });
      expect(rest.items).toHaveLength(1);
      expect(rest.nextCursor).toBeNull();
      const max = await store.sessions.list({ limit: 1000 });
      expect(max.items).toHaveLength(101);
      expect(max.nextCursor).toBeNull();

      for (const limit of [0, 1001, 2.5, -1, '10' as unknown as number]) {
        await expect(store.sessions.list({ limit })).rejects.toThrow(
          /limit must be an integer from 1 to 1000/,
        );
      }
      for (const cursor of ['nope!', 'bm9wZQ', Buffer.from('[1]').toString('base64url'), '']) {
        await expect(store.sessions.list({ cursor })).rejects.toThrow(StoreInputError);
      }
    });
  });

  describe('write-ahead transactions', () => {
    it("commits one envelope's snapshot, effects, transcript, callback and webhook together", async () => {
      const store = await h.shared();
      const lease = await created(store, 'A');
      const op = uid('op');
      await store.transaction(async (tx) => {
        expect(await tx.callbacks.take(lease, 'cb-1')).toBe(true);
        await tx.sessions.save(lease, write({ conferenced: 'awaitingBridge' }));
        await tx.effects.start(lease, { operationId: op, kind: 'addMessaging', input: { href: '/x' } });
        await tx.transcripts.append(lease, { key: 'm-1', at: 10, entry: { text: 'hello' } });
        await tx.webhooks.enqueue({ type: 'session.state', payload: { state: 'conferenced' } }, lease);
      });
      expect(await store.sessions.load(lease.sessionId)).toMatchObject({ state: 'conferenced' });
      expect(await store.effects.inFlight(lease.sessionId)).toMatchObject([
        { operationId: op, kind: 'addMessaging' },
      ]);
      expect(await store.transcripts.read(lease.sessionId)).toMatchObject([
        { key: 'm-1', entry: { text: 'hello' } },
      ]);
      expect(await store.callbacks.take(lease, 'cb-1')).toBe(false);
    });

    it('rolls every write back when the transaction throws', async () => {
      const store = await h.fresh();
      const lease = await created(store, 'A');
      const op = uid('op');
      await expect(
        store.transaction(async (tx) => {
          await tx.callbacks.take(lease, 'cb-1');
          await tx.sessions.save(lease, write('bridged'));
          await tx.effects.start(lease, { operationId: op, kind: 'sendMessage' });
          await tx.transcripts.append(lease, { key: 'm-1', at: 10, entry: { text: 'hello' } });
          await tx.webhooks.enqueue({ type: 'session.state', payload: {} }, lease);
          await tx.pool.syncRoster([{ uri: 'sip:a@x.test', name: 'A' }], { capacity: 1 });
          throw new Error('crash before commit');
        }),
      ).rejects.toThrow('crash before commit');
      expect(await store.sessions.load(lease.sessionId)).toMatchObject({ state: 'waiting' });
      expect(await store.effects.inFlight(lease.sessionId)).toEqual([]);
      expect(await store.transcripts.read(lease.sessionId)).toEqual([]);
      expect(await store.webhooks.claim()).toEqual([]);
      expect((await store.pool.load()).agents).toEqual({});
      expect(await store.callbacks.take(lease, 'cb-1')).toBe(true);
    });
  });

  describe('deduplication', () => {
    it('takes a callback once per session and key', async () => {
      const store = await h.shared();
      const a = await created(store, 'A');
      const b = await created(store, 'A');
      expect(await store.callbacks.take(a, 'evt-1')).toBe(true);
      expect(await store.callbacks.take(a, 'evt-1')).toBe(false);
      expect(await store.callbacks.take(b, 'evt-1')).toBe(true);
      const results = await Promise.all([1, 2, 3, 4].map(() => store.callbacks.take(a, 'evt-2')));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('stores a transcript line once per key, in append order', async () => {
      const store = await h.shared();
      const lease = await created(store, 'A');
      const other = await created(store, 'A');
      expect(await store.transcripts.append(lease, { key: 'msg/1', at: 100, entry: { text: 'one' } })).toBe(
        true,
      );
      expect(await store.transcripts.append(lease, { key: 'msg/2', at: 50, entry: { text: 'two' } })).toBe(
        true,
      );
      expect(await store.transcripts.append(lease, { key: 'msg/1', at: 300, entry: { text: 'again' } })).toBe(
        false,
      );
      expect(
        await store.transcripts.append(other, { key: 'msg/1', at: 100, entry: { text: 'elsewhere' } }),
      ).toBe(true);
      const lines = await store.transcripts.read(lease.sessionId);
      expect(lines.map((l) => [l.key, l.at, l.entry.text])).toEqual([
        ['msg/1', 100, 'one'],
        ['msg/2', 50, 'two'],
      ]);
      expect((lines[0]?.seq ?? 0) < (lines[1]?.seq ?? 0)).toBe(true);
      expect(await store.transcripts.read(uid('nobody'))).toEqual([]);
    });

    it('appends a late line to an ended session only, once per key, without its lease', async () => {
      const store = await h.shared();
      const going = await created(store, 'A');
      const done = await created(store, 'A');
      await store.transcripts.append(done, { key: 'm:1', at: 10, entry: { text: 'during' } });
      await store.sessions.save(done, ended('completed'));
      await store.leases.release(done);
      // A session still going is written by its owner only.
      expect(
        await store.transcripts.appendLate(going.sessionId, { key: 'm:2', at: 20, entry: { text: 'x' } }),
      ).toBe(false);
      expect(await store.transcripts.read(going.sessionId)).toEqual([]);
      expect(
        await store.transcripts.appendLate(done.sessionId, { key: 'm:2', at: 20, entry: { text: 'late' } }),
      ).toBe(true);
      expect(
        await store.transcripts.appendLate(done.sessionId, { key: 'm:2', at: 30, entry: { text: 'again' } }),
      ).toBe(false);
      expect(
        await store.transcripts.appendLate(uid('nobody'), { key: 'm:2', at: 20, entry: { text: 'x' } }),
      ).toBe(false);
      expect((await store.transcripts.read(done.sessionId)).map((l) => [l.key, l.at, l.entry.text])).toEqual([
        ['m:1', 10, 'during'],
        ['m:2', 20, 'late'],
      ]);
      await expect(
        store.transcripts.appendLate(done.sessionId, { key: 'm:3', at: 1, entry: 'text' as never }),
      ).rejects.toBeInstanceOf(StoreInputError);
    });

    it('starts an effect once: a re-issue keeps its operationId, a failure may restart it, a done one never reruns', async () => {
      const store = await h.shared();
      const lease = await created(store, 'A');
      const op = `${lease.sessionId}/welcome`;
      const first = await store.effects.start(lease, {
        operationId: op,
        kind: 'sendMessage',
        input: { text: 'Hi' },
      });
      expect(first).toMatchObject({
        fresh: true,
        effect: { status: 'started', attempts: 1, input: { text: 'Hi' } },
      });
      // After a crash the same effect is found in flight and re-issued with the same operationId.
      expect(await store.effects.inFlight(lease.sessionId)).toMatchObject([
        { operationId: op, status: 'started' },
      ]);
      expect(await store.effects.start(lease, { operationId: op, kind: 'sendMessage' })).toMatchObject({
        fresh: false,
        effect: { status: 'started', attempts: 1 },
      });
      expect(await store.effects.finish(lease, op, { status: 'failed', error: { code: 'Timeout' } })).toBe(
        true,
      );
      expect(await store.effects.inFlight(lease.sessionId)).toEqual([]);
      expect(await store.effects.start(lease, { operationId: op, kind: 'sendMessage' })).toMatchObject({
        fresh: true,
        effect: { status: 'started', attempts: 2, result: null },
      });
      expect(await store.effects.finish(lease, op, { status: 'done', result: { location: '/m/1' } })).toBe(
        true,
      );
      expect(await store.effects.start(lease, { operationId: op, kind: 'sendMessage' })).toMatchObject({
        fresh: false,
        effect: { status: 'done', attempts: 2, result: { location: '/m/1' }, finishedAt: expect.any(Number) },
      });
      const concurrent = await Promise.all(
        [1, 2, 3].map(() => store.effects.start(lease, { operationId: `${op}-2`, kind: 'teardown' })),
      );
      expect(concurrent.filter((r) => r.fresh)).toHaveLength(1);
      const other = await created(store, 'A');
      await expect(store.effects.start(other, { operationId: op, kind: 'sendMessage' })).rejects.toThrow(
        /belongs to session/,
      );
      expect(await store.effects.finish(lease, 'no-such-op', { status: 'done' })).toBe(false);
    });
  });

  describe('leases and fencing', () => {
    it('acquires a free session, renews and releases it; a live lease is not taken', async () => {
      const clock = new TestClock();
      const store = await h.fresh({ now: clock.now, leaseMs: 10_000 });
      const peer = await h.peer(store, { now: clock.now, leaseMs: 10_000 });
      const a = await created(store, 'A');
      expect(a.expiresAt).toBe(clock.time + 10_000);
      expect(await peer.leases.acquire(a.sessionId, 'B')).toBeNull();
      clock.advance(6_000);
      const renewed = await store.leases.renew('A');
      expect(renewed).toEqual([{ ...a, expiresAt: clock.time + 10_000 }]);
      clock.advance(6_000); // past the first expiry, within the renewed one
      expect(await peer.leases.acquire(a.sessionId, 'B')).toBeNull();
      expect(await store.leases.acquire(a.sessionId, 'A')).toMatchObject({ generation: 1 });
      expect(await store.leases.release(a)).toBe(true);
      const b = await peer.leases.acquire(a.sessionId, 'B');
      expect(b).toMatchObject({ owner: 'B', generation: 2 });
      expect(await store.leases.release(a)).toBe(false);
      expect(await store.leases.acquire(uid('missing'), 'A')).toBeNull();
      // check: what a fenced write would find now, without writing.
      const unknown = { ...a, sessionId: uid('missing') };
      expect(await store.leases.check([a, unknown])).toEqual(new Set());
      expect(await peer.leases.check([b as Lease, unknown])).toEqual(new Set([a.sessionId]));
      expect(await store.leases.check([{ ...(b as Lease), owner: 'A' }])).toEqual(new Set());
      expect(await store.leases.check([])).toEqual(new Set());
      expect(await peer.leases.releaseAll('B')).toBe(1);
      expect(await store.sessions.load(a.sessionId)).toMatchObject({ lease: { owner: null, generation: 2 } });
    });

    it('takes over sessions whose lease expired after LEASE_MS and refuses every later write of the stale owner', async () => {
      const clock = new TestClock();
      const store = await h.fresh({ now: clock.now, leaseMs: 10_000 });
      const peer = await h.peer(store, { now: clock.now, leaseMs: 10_000 });
      const stale = await created(store, 'A', 's-1');
      await store.transcripts.append(stale, { key: 'm-0', at: 1, entry: { text: 'before' } });
      const endedLease = await created(store, 'A', 's-ended');
      await store.sessions.save(endedLease, ended());
      expect(await peer.leases.takeOver('B')).toEqual([]);

      clock.advance(9_999);
      expect(await peer.leases.takeOver('B')).toEqual([]);
      clock.advance(1);
      const taken = await peer.leases.takeOver('B');
      expect(taken).toEqual([
        { sessionId: 's-1', owner: 'B', generation: 2, expiresAt: clock.time + 10_000 },
      ]);
      const fresh = taken[0] as Lease;

      const refused = [
        () => store.sessions.save(stale, write('bridged')),
        () => store.transcripts.append(stale, { key: 'm-1', at: 2, entry: { text: 'late' } }),
        () => store.callbacks.take(stale, 'cb-9'),
        () => store.effects.start(stale, { operationId: 'op-9', kind: 'sendMessage' }),
        () => store.effects.finish(stale, 'op-9', { status: 'done' }),
        () => store.webhooks.enqueue({ type: 'session.state', payload: {} }, stale),
        () => store.inbox.take(stale),
        () => store.leftMessages.save(stale, { at: 1, outcome: 'abandoned', content: {} }),
        () =>
          store.transaction(async (tx) => {
            await tx.webhooks.enqueue({ type: 'unfenced.first', payload: {} });
            await tx.sessions.save(stale, write('bridged'));
          }),
      ];
      for (const attempt of refused) {
        const error = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(LeaseLostError);
        expect((error as LeaseLostError).message).toMatch(
          /lease lost by A \(generation 1\); now held by B at generation 2/,
        );
      }
      const loaded = await peer.sessions.load('s-1');
      expect(loaded).toMatchObject({ state: 'waiting', lease: { owner: 'B', generation: 2 } });
      expect(await peer.transcripts.read('s-1')).toMatchObject([{ key: 'm-0' }]);
      expect(await peer.effects.inFlight('s-1')).toEqual([]);
      expect(await peer.webhooks.claim()).toEqual([]);
      expect(await store.leases.renew('A')).toEqual([expect.objectContaining({ sessionId: 's-ended' })]);

      await peer.sessions.save(fresh, write('bridged'));
      expect(await peer.callbacks.take(fresh, 'cb-9')).toBe(true);
      expect(await store.sessions.load('s-1')).toMatchObject({ state: 'bridged' });
      // The new owner releases on a graceful stop: taken over again at once, with the next generation.
      await peer.leases.releaseAll('B');
      expect(await store.leases.takeOver('A')).toMatchObject([
        { sessionId: 's-1', owner: 'A', generation: 3 },
      ]);
    });
  });

  describe('agent pool', () => {
    it('keeps the roster, presence, missed offers and chats in the routing core shape', async () => {
      const clock = new TestClock();
      const store = await h.fresh({ now: clock.now });
      const roster = [
        { uri: 'sip:Alice@contoso.test', name: 'Alice', skills: ['Billing', 'billing ', 'general'] },
        { uri: 'sip:bob@contoso.test', name: 'Bob', capacity: 1 },
      ];
      await store.pool.syncRoster(roster, { capacity: 2 });
      let pool = await store.pool.load();
      expect(pool).toEqual(createPool(roster, { capacity: 2 }));
      // The stored pool works with the pure selection functions as it is.
      expect(selectAgent(pool, 'round-robin', { sessionId: 's-1', now: clock.time }).assignment.winner).toBe(
        'sip:Alice@contoso.test',
      );

      expect(await store.pool.reserve('sip:alice@contoso.test', 's-1')).toBe('reserved');
      expect(await store.pool.reserve('sip:alice@contoso.test', 's-1')).toBe('held');
      expect(await store.pool.reserve('sip:bob@contoso.test', 's-1')).toBe('offeredElsewhere');
      expect(await store.pool.reserve('sip:nobody@contoso.test', 's-2')).toBe('unknownAgent');
      expect(await store.pool.confirm('sip:alice@contoso.test', 's-1')).toBe(true);
      expect(await store.pool.confirm('sip:alice@contoso.test', 's-1')).toBe(true);
      expect(await store.pool.confirm('sip:bob@contoso.test', 's-1')).toBe(false);
      expect(await store.pool.reserve('sip:bob@contoso.test', 's-1')).toBe('reserved'); // a second agent joins
      expect(await store.pool.reserve('sip:bob@contoso.test', 's-3')).toBe('full');
      pool = await store.pool.load();
      expect(pool.agents['sip:alice@contoso.test']).toMatchObject({
        activeChats: ['s-1'],
        pendingOffers: [],
        lastAssignedAt: clock.time,
        skills: ['billing', 'general'],
      });
      expect(pool.agents['sip:bob@contoso.test']).toMatchObject({ pendingOffers: ['s-1'], capacity: 1 });

      clock.advance(60_000);
      expect(await store.pool.release('sip:alice@contoso.test', 's-1')).toBe(true);
      expect(await store.pool.release('sip:alice@contoso.test', 's-1')).toBe(false);
      expect(await store.pool.release('sip:bob@contoso.test', 's-1')).toBe(true);
      expect(await store.pool.recordMissedOffer('sip:bob@contoso.test', { maxMissedInRow: 2 })).toEqual({
        madeUnavailable: false,
      });
      expect(await store.pool.recordMissedOffer('sip:bob@contoso.test', { maxMissedInRow: 2 })).toEqual({
        madeUnavailable: true,
      });
      await expect(
        store.pool.recordMissedOffer('sip:nobody@contoso.test', { maxMissedInRow: 2 }),
      ).rejects.toThrow(/unknown agent/);
      pool = await store.pool.load();
      expect(pool.agents['sip:alice@contoso.test']).toMatchObject({
        activeChats: [],
        lastChatEndedAt: clock.time,
      });
      expect(pool.agents['sip:bob@contoso.test']).toMatchObject({ presence: 'away', missedOffersInRow: 2 });
      expect(await store.pool.setPresence('sip:bob@contoso.test', 'available')).toBe(true);
      expect((await store.pool.load()).agents['sip:bob@contoso.test']).toMatchObject({
        missedOffersInRow: 0,
      });
      expect(await store.pool.setPresence('sip:nobody@contoso.test', 'busy')).toBe(false);
      await expect(store.pool.setPresence('sip:bob@contoso.test', 'gone' as 'away')).rejects.toThrow(
        /presence must be/,
      );
      await store.pool.setRoundRobinCursor(1);

      // Dropped from the roster: offline, keeping its chats; back in it: available again.
      expect(await store.pool.reserve('sip:bob@contoso.test', 's-4')).toBe('reserved');
      await store.pool.syncRoster([roster[0] as (typeof roster)[0]], { capacity: 2 });
      pool = await store.pool.load();
      expect(pool.rrCursor).toBe(1);
      expect(pool.agents['sip:bob@contoso.test']).toMatchObject({
        presence: 'offline',
        pendingOffers: ['s-4'],
      });
      await store.pool.syncRoster(roster, { capacity: 2 });
      expect((await store.pool.load()).agents['sip:bob@contoso.test']).toMatchObject({
        presence: 'available',
      });
      await expect(
        store.pool.syncRoster([roster[1], roster[1]] as typeof roster, { capacity: 2 }),
      ).rejects.toThrow(/lists agent sip:bob@contoso.test twice/);
    });

    it('never exceeds an agent capacity nor offers one chat twice, under concurrent claims from two instances', async () => {
      const store = await h.fresh();
      const peer = await h.peer(store);
      const agents = ['sip:a1@x.test', 'sip:a2@x.test', 'sip:a3@x.test', 'sip:a4@x.test'];
      await store.pool.syncRoster(
        agents.map((uri) => ({ uri, name: uri })),
        { capacity: 3 },
      );
      const sessions = Array.from({ length: 40 }, (_, i) => `s-${i}`);
      // Every chat tries every agent, starting at a different one, through one instance or the other.
      const placed = await Promise.all(
        sessions.map(async (sessionId, i) => {
          const via = i % 2 === 0 ? store : peer;
          for (let k = 0; k < agents.length; k++) {
            const uri = agents[(i + k) % agents.length] as string;
            if ((await via.pool.reserve(uri, sessionId)) === 'reserved') return uri;
          }
          return null;
        }),
      );
      expect(placed.filter((p) => p !== null)).toHaveLength(12);
      let pool = await store.pool.load();
      for (const agent of Object.values(pool.agents)) {
        expect(agent.pendingOffers.length + agent.activeChats.length).toBe(3);
      }
      const offered = Object.values(pool.agents).flatMap((a) => a.pendingOffers);
      expect(new Set(offered).size).toBe(offered.length);

      // Room enough everywhere: race each new chat onto two different agents from the two instances at once.
      // Exactly one offer wins; the other finds the chat offered elsewhere.
      const roomy = ['sip:b1@x.test', 'sip:b2@x.test'];
      await store.pool.syncRoster(
        roomy.map((uri) => ({ uri, name: uri })),
        { capacity: 100 },
      );
      const racing = Array.from({ length: 20 }, (_, i) => `race-${i}`);
      const raced = await Promise.all(
        racing.map((sessionId, i) =>
          Promise.all([
            store.pool.reserve(roomy[i % 2] as string, sessionId),
            peer.pool.reserve(roomy[(i + 1) % 2] as string, sessionId),
          ]),
        ),
      );
      for (const results of raced) expect([...results].sort()).toEqual(['offeredElsewhere', 'reserved']);
      pool = await peer.pool.load();
      const holders = roomy.flatMap((uri) => pool.agents[uri]?.pendingOffers ?? []);
      expect([...holders].sort()).toEqual([...racing].sort());
    });
  });

  describe('queue', () => {
    it('orders waiting chats by priority, then time, then arrival; a chat is queued and dequeued once', async () => {
      const store = await h.fresh();
      const peer = await h.peer(store);
      expect(await store.queue.enqueue({ sessionId: 's-late', at: 2_000 })).toBe(true);
      expect(await store.queue.enqueue({ sessionId: 's-early', at: 1_000, topic: 'billing' })).toBe(true);
      expect(await store.queue.enqueue({ sessionId: 's-vip', at: 3_000, priority: 5 })).toBe(true);
      expect(await store.queue.enqueue({ sessionId: 's-tie', at: 2_000 })).toBe(true);
      expect(await store.queue.enqueue({ sessionId: 's-early', at: 9_000, priority: 9 })).toBe(false);
      const queue = await store.queue.load();
      expect(queue.entries.map((e) => e.sessionId)).toEqual(['s-vip', 's-early', 's-late', 's-tie']);
      expect(queue.entries[1]).toMatchObject({
        sessionId: 's-early',
        enqueuedAt: 1_000,
        topic: 'billing',
        priority: 0,
      });
      expect(queue.entries[0]).not.toHaveProperty('topic');
      expect(queue.nextSeq).toBeGreaterThan(Math.max(...queue.entries.map((e) => e.seq)));
      const takes = await Promise.all([store, peer, store, peer].map((s) => s.queue.dequeue('s-vip')));
      expect(takes.filter(Boolean)).toHaveLength(1);
      expect((await peer.queue.load()).entries.map((e) => e.sessionId)).toEqual([
        's-early',
        's-late',
        's-tie',
      ]);
      await expect(store.queue.enqueue({ sessionId: 's-x', at: 1, priority: 0.5 })).rejects.toThrow(
        /priority/,
      );
    });
  });

  describe('inbox', () => {
    it("records a callback for the session's owner, signals the owner's instance on commit, and hands it over once", async () => {
      const store = await h.fresh();
      const peer = await h.peer(store);
      const lease = await created(store, 'A', 's-1');
      const forA = signal<string>();
      const forC = signal<string>();
      const stopA = await store.onInbox('A', forA.push);
      const stopC = await store.onInbox('C', forC.push);

      expect(await peer.inbox.record('s-1', { key: 'cb-1', payload: { type: 'callback.x', n: 1 } })).toEqual({
        recorded: true,
        owner: 'A',
        known: true,
      });
      expect(await forA.next()).toBe('s-1');
      expect(await peer.inbox.record('s-1', { key: 'cb-1', payload: { n: 1 } })).toMatchObject({
        recorded: false,
      });
      expect(await peer.inbox.record('s-unknown', { key: 'cb-1', payload: {} })).toEqual({
        recorded: false,
        owner: null,
        known: false,
      });
      // A record in a transaction that rolls back is neither kept nor signalled.
      await expect(
        peer.transaction(async (tx) => {
          await tx.inbox.record('s-1', { key: 'cb-rolled-back', payload: {} });
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      expect(await peer.inbox.record('s-1', { key: 'cb-2', payload: { n: 2 } })).toMatchObject({
        recorded: true,
      });
      expect(await forA.next()).toBe('s-1');

      const items = await store.transaction(async (tx) => {
        const taken = await tx.inbox.take(lease);
        for (const item of taken) expect(await tx.callbacks.take(lease, item.key)).toBe(true);
        return taken;
      });
      expect(items.map((i) => [i.key, i.payload])).toEqual([
        ['cb-1', { type: 'callback.x', n: 1 }],
        ['cb-2', { n: 2 }],
      ]);
      expect(await store.inbox.take(lease)).toEqual([]);
      // Taken already: a redelivery to another instance is not recorded again.
      expect(await peer.inbox.record('s-1', { key: 'cb-1', payload: {} })).toMatchObject({ recorded: false });
      expect(forA.values).toEqual(['s-1', 's-1']);
      expect(forC.values).toEqual([]);
      await stopA();
      await stopC();
    });

    it('leaves waiting events in place until the owner has applied them (pending, then done), and names the sessions that have some', async () => {
      const store = await h.fresh();
      const peer = await h.peer(store);
      const lease = await created(store, 'A', 's-1');
      await created(store, 'B', 's-2');
      await peer.inbox.record('s-1', { key: 'cb-1', payload: { n: 1 } });
      await peer.inbox.record('s-1', { key: 'cb-2', payload: { n: 2 } });
      await peer.inbox.record('s-2', { key: 'cb-1', payload: { n: 3 } });
      expect(await store.inbox.owned('A')).toEqual(['s-1']);
      expect(await store.inbox.owned('B')).toEqual(['s-2']);
      expect(await store.inbox.owned('C')).toEqual([]);

      const first = await store.inbox.pending(lease);
      expect(first.map((i) => [i.key, i.payload])).toEqual([
        ['cb-1', { n: 1 }],
        ['cb-2', { n: 2 }],
      ]);
      // Seen, not applied: still there.
      expect((await store.inbox.pending(lease)).map((i) => i.key)).toEqual(['cb-1', 'cb-2']);
      // One more arrives after the look: `done` removes only what was applied.
      await peer.inbox.record('s-1', { key: 'cb-3', payload: { n: 4 } });
      expect(await store.transaction((tx) => tx.inbox.done(lease, first))).toBe(2);
      expect((await store.inbox.pending(lease)).map((i) => i.key)).toEqual(['cb-3']);
      // Applied keys are taken: a redelivery is not recorded again.
      expect(await peer.inbox.record('s-1', { key: 'cb-1', payload: {} })).toMatchObject({ recorded: false });
      expect(await store.inbox.done(lease, [])).toBe(0);
      await expect(store.inbox.done(lease, [{ id: Number.NaN, key: 'x' }])).rejects.toThrow(/inbox item id/);

      // Fenced: once another instance took the session over, the old owner can neither look nor apply.
      const taken = await peer.leases.takeOver('C');
      expect(taken).toEqual([]);
      await peer.leases.release(lease);
      const [mine] = await peer.leases.takeOver('C');
      expect(mine?.sessionId).toBe('s-1');
      await expect(store.inbox.pending(lease)).rejects.toThrow();
      await expect(store.inbox.done(lease, first)).rejects.toThrow();
      expect(await store.inbox.owned('C')).toEqual(['s-1']);
    });
  });

  describe('webhook outbox', () => {
    it("hands out each session's events in order, one at a time, with retries and a visibility timeout", async () => {
      const clock = new TestClock();
      const store = await h.fresh({ now: clock.now });
      const peer = await h.peer(store, { now: clock.now });
      const s1 = await created(store, 'A', 's-1');
      const s2 = await created(store, 'A', 's-2');
      const e1 = await store.webhooks.enqueue({ type: 'a', payload: { n: 1 } }, s1);
      const e2 = await store.webhooks.enqueue({ type: 'b', payload: { n: 2 } }, s1);
      const e3 = await store.webhooks.enqueue({ type: 'c', payload: { n: 3 } }, s2);
      const e4 = await store.webhooks.enqueue({ type: 'system', payload: { n: 4 } });
      const e5 = await store.webhooks.enqueue({ type: 'd', payload: { n: 5 } }, s1);
      expect([e1, e2, e3, e4, e5]).toEqual([...[e1, e2, e3, e4, e5]].sort((a, b) => a - b));

      const ids = (records: Array<{ id: number }>) => records.map((r) => r.id);
      const claimed = await store.webhooks.claim({ visibilityMs: 10_000 });
      expect(ids(claimed)).toEqual([e1, e3, e4]);
      expect(claimed[0]).toMatchObject({ sessionId: 's-1', type: 'a', payload: { n: 1 }, attempts: 1 });
      expect(await peer.webhooks.claim()).toEqual([]); // all in flight; s-1's next waits for its first

      await store.webhooks.delivered(e1);
      await store.webhooks.failed(e3, { error: 'HTTP 503', retryAt: clock.time + 5_000 });
      expect(ids(await peer.webhooks.claim({ visibilityMs: 10_000 }))).toEqual([e2]);
      clock.advance(5_000);
      const retried = await peer.webhooks.claim({ visibilityMs: 10_000 });
      expect(retried).toMatchObject([{ id: e3, attempts: 2, lastError: 'HTTP 503' }]);
      clock.advance(5_000); // e2 and e4 were claimed 10 s ago and never answered: due again
      expect(ids(await store.webhooks.claim({ limit: 1 }))).toEqual([e2]);
      expect(ids(await store.webhooks.claim())).toEqual([e4]);
      await store.webhooks.delivered(e2);
      await store.webhooks.delivered(e3);
      clock.advance(30_000);
      expect(ids(await store.webhooks.claim())).toEqual([e4, e5]);
    });
  });

  describe('survey answers', () => {
    it('links a widget thread to its session once, fenced, and finds the session by it', async () => {
      const store = await h.fresh();
      const a = await created(store, 'A', 's-a');
      const b = await created(store, 'A', 's-b');
      await store.surveys.linkThread(a, 'thread-1');
      await store.surveys.linkThread(b, 'thread-1'); // a thread already linked keeps its session
      await store.surveys.linkThread(a, 'thread-1'); // a redelivered step writes it again: no error
      expect(await store.surveys.sessionOfThread('thread-1')).toBe('s-a');
      expect(await store.surveys.sessionOfThread('thread-2')).toBeUndefined();
      await expect(
        store.surveys.linkThread({ ...b, generation: b.generation + 1 }, 'thread-2'),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.surveys.sessionOfThread('thread-2')).toBeUndefined();
    });

    it('keeps one answer per chat, the first, whichever instance takes the second; unknown chats none', async () => {
      const store = await h.fresh();
      const peer = await h.peer(store);
      const lease = await created(store, 'A', 's-rated');
      await store.sessions.save(lease, ended('completed'));
      expect(await store.surveys.get('s-rated')).toBeUndefined();
      expect(await store.surveys.save('s-rated', { score: 4, comment: 'quick', submittedAt: 1_000 })).toBe(
        'saved',
      );
      expect(await peer.surveys.save('s-rated', { score: 1, submittedAt: 2_000 })).toBe('duplicate');
      expect(await store.surveys.get('s-rated')).toEqual({
        sessionId: 's-rated',
        score: 4,
        comment: 'quick',
        submittedAt: 1_000,
      });
      expect(await store.surveys.save('s-nobody', { score: 3, submittedAt: 1_000 })).toBe('unknown');
      expect(await store.surveys.get('s-nobody')).toBeUndefined();

      // Several answers for one chat at once, from two instances: the database lets exactly one in.
      await created(store, 'A', 's-race');
      const results = await Promise.all(
        [1, 2, 3, 4, 5, 1, 2, 3].map((score, i) =>
          (i % 2 ? peer : store).surveys.save('s-race', { score, submittedAt: 1_000 + i }),
        ),
      );
      expect(results.filter((r) => r === 'saved')).toHaveLength(1);
      expect(results.filter((r) => r === 'duplicate')).toHaveLength(7);
      const kept = await store.surveys.get('s-race');
      expect(kept?.score).toBe([1, 2, 3, 4, 5, 1, 2, 3][results.indexOf('saved')]);
    });

    it("writes the answer and its webhook event together, as the chat's latest event, or neither", async () => {
      const store = await h.fresh();
      const lease = await created(store, 'A', 's-hooked');
      const started = await store.webhooks.enqueue({ type: 'chat.started', payload: {} }, lease);
      const event = { type: 'survey.submitted', payload: { data: { sessionId: 's-hooked', score: 5 } } };
      expect(await store.surveys.save('s-hooked', { score: 5, submittedAt: 1_000 }, event)).toBe('saved');
      expect(await store.surveys.save('s-hooked', { score: 2, submittedAt: 2_000 }, event)).toBe('duplicate');
      const first = await store.webhooks.claim();
      expect(first).toMatchObject([{ id: started, sessionId: 's-hooked', type: 'chat.started' }]);
      await store.webhooks.delivered(started);
      const second = await store.webhooks.claim();
      expect(second).toMatchObject([
        { sessionId: 's-hooked', type: 'survey.submitted', payload: event.payload },
      ]);
      expect(second[0]!.id).toBeGreaterThan(started);
      await store.webhooks.delivered(second[0]!.id);
      expect(await store.webhooks.claim()).toEqual([]); // the duplicate queued nothing

      // Rolled back with the transaction it is part of: no answer, no event.
      await created(store, 'A', 's-rolled');
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.surveys.save('s-rolled', { score: 3, submittedAt: 1_000 }, event)).toBe('saved');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.surveys.get('s-rolled')).toBeUndefined();
      expect(await store.webhooks.claim()).toEqual([]);
      expect(await store.surveys.save('s-rolled', { score: 3, submittedAt: 1_000 })).toBe('saved');
    });

    it('refuses scores outside 1–5 and malformed answers, with a StoreInputError', async () => {
      const store = await h.shared();
      const id = uid('s');
      await created(store, 'A', id);
      for (const answer of [
        { score: 0, submittedAt: 1 },
        { score: 6, submittedAt: 1 },
        { score: 2.5, submittedAt: 1 },
        { score: '5', submittedAt: 1 },
        { score: 3, submittedAt: -1 },
        { score: 3, comment: 42, submittedAt: 1 },
        null,
      ]) {
        await expect(store.surveys.save(id, answer as never), JSON.stringify(answer)).rejects.toBeInstanceOf(
          StoreInputError,
        );
      }
      expect(await store.surveys.get(id)).toBeUndefined();
    });
  });

  describe('left messages', () => {
    it('keeps the latest left message per session, newest first, paged', async () => {
      const store = await h.fresh();
      const a = await created(store, 'A', 's-a');
      const b = await created(store, 'A', 's-b');
      await store.leftMessages.save(a, { at: 1_000, outcome: 'queueTimeout', content: { messages: ['hi'] } });
      await store.leftMessages.save(b, { at: 2_000, outcome: 'noAgent', content: { messages: [] } });
      await store.leftMessages.save(a, {
        at: 3_000,
        outcome: 'queueTimeout',
        content: { messages: ['hi', 'late'] },
      });
      const first = await store.leftMessages.list({ limit: 1 });
      expect(first.items).toEqual([
        { sessionId: 's-a', at: 3_000, outcome: 'queueTimeout', content: { messages: ['hi', 'late'] } },
      ]);
      const second = await store.leftMessages.list({ limit: 1, cursor: first.nextCursor as string });
      expect(second.items.map((m) => m.sessionId)).toEqual(['s-b']);
      expect(second.nextCursor).toBeNull();
      expect((await store.leftMessages.list({ since: 2_500 })).items.map((m) => m.sessionId)).toEqual([
        's-a',
      ]);
    });
  });

  describe('retention', () => {
    it('purges sessions that ended more than RETENTION_DAYS ago, with everything kept for them', async () => {
      const clock = new TestClock();
      const store = await h.fresh({ now: clock.now, retentionDays: 30 });
      const t0 = clock.time;
      const old = await created(store, 'A', 's-old');
      await store.transaction(async (tx) => {
        await tx.transcripts.append(old, { key: 'm', at: t0, entry: { text: 'hi' } });
        await tx.effects.start(old, { operationId: 'op-old', kind: 'teardown' });
        await tx.callbacks.take(old, 'cb');
        await tx.leftMessages.save(old, { at: t0, outcome: 'abandoned', content: {} });
        await tx.webhooks.enqueue({ type: 'session.ended', payload: {} }, old);
        await tx.surveys.linkThread(old, 'thread-old');
        await tx.sessions.save(old, ended('abandoned'));
      });
      expect(await store.surveys.save('s-old', { score: 2, submittedAt: t0 })).toBe('saved');
      await store.inbox.record('s-old', { key: 'late', payload: {} });
      await store.pool.syncRoster([{ uri: 'sip:a@x.test', name: 'A' }], { capacity: 1 });
      await store.pool.reserve('sip:a@x.test', 's-old'); // a leaked offer of an ended chat
      await store.queue.enqueue({ sessionId: 's-old', at: t0 });
      const systemEvent = await store.webhooks.enqueue({ type: 'system', payload: {} });
      await store.webhooks.claim();
      await store.webhooks.delivered(systemEvent);

      clock.advance(20 * DAY);
      const recent = await created(store, 'A', 's-recent');
      await store.sessions.save(recent, ended());
      await created(store, 'A', 's-active');
      const recent2 = await created(store, 'A', 's-recent-2');
      await store.sessions.save(recent2, ended());

      const remaining = async () => (await store.sessions.list()).items.map((s) => s.id).sort();
      clock.time = t0 + 30 * DAY;
      expect(await store.sessions.purgeEnded()).toBe(0);
      clock.time = t0 + 30 * DAY + 1;
      expect(await store.sessions.purgeEnded()).toBe(1);
      expect(await store.sessions.load('s-old')).toBeUndefined();
      expect(await remaining()).toEqual(['s-active', 's-recent', 's-recent-2']);
      clock.time = t0 + 50 * DAY + 1;
      expect(await store.sessions.purgeEnded({ limit: 1 })).toBe(1);
      expect(await store.sessions.purgeEnded({ limit: 1 })).toBe(1);
      expect(await store.sessions.purgeEnded()).toBe(0);
      expect(await remaining()).toEqual(['s-active']);
      expect(await store.transcripts.read('s-old')).toEqual([]);
      expect(await store.effects.inFlight('s-old')).toEqual([]);
      expect((await store.leftMessages.list()).items).toEqual([]);
      expect(await store.surveys.get('s-old')).toBeUndefined();
      expect(await store.surveys.sessionOfThread('thread-old')).toBeUndefined();
      expect((await store.queue.load()).entries).toEqual([]);
      expect((await store.pool.load()).agents['sip:a@x.test']?.pendingOffers).toEqual([]);
      expect(await store.pool.reserve('sip:a@x.test', 's-new')).toBe('reserved');
      clock.advance(DAY);
      expect(await store.webhooks.claim()).toEqual([]);
    });
  });

  describe('migrations', () => {
    it('applies every known migration to a new database, once: reopening applies nothing and keeps the data', async () => {
      const db = await h.persistent();
      const first = await db.open();
      const known = knownMigrations().map(({ version, name }) => ({ version, name }));
      expect(known.length).toBeGreaterThan(0);
      expect(first.schema).toEqual({ applied: known, version: known.length });
      await created(first, 'A', 's-kept');
      await first.close();

      const second = await db.open();
      expect(second.schema).toEqual({ applied: [], version: known.length });
      expect(await second.sessions.load('s-kept')).toMatchObject({ id: 's-kept', state: 'waiting' });
      await second.close();
    });

    it('upgrades a store of schema 1 by applying only what it lacks (the survey tables), keeping its data', async () => {
      const db = await h.persistent();
      const first = await db.open();
      await created(first, 'A', 's-before');
      await first.close();
      await db.exec(
        'DROP TABLE survey_answers, chat_threads; DELETE FROM schema_migrations WHERE version >= 2',
      );
      const upgraded = await db.open();
      const known = knownMigrations();
      expect(upgraded.schema).toEqual({
        applied: known.filter((m) => m.version >= 2).map(({ version, name }) => ({ version, name })),
        version: known.length,
      });
      expect(upgraded.schema.applied[0]).toEqual({ version: 2, name: 'surveys' });
      expect(await upgraded.sessions.load('s-before')).toMatchObject({ id: 's-before' });
      expect(await upgraded.surveys.save('s-before', { score: 5, submittedAt: 1_000 })).toBe('saved');
      await upgraded.close();
    });

    it('refuses a store written by a newer carechat, naming the setting and the migration', async () => {
      const db = await h.persistent();
      await (await db.open()).close();
      await db.exec("INSERT INTO schema_migrations (version, name) VALUES (999, 'from_the_future')");
      const error = await db.open().then(
        (store) => store.close(),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreSetupError);
      const setting = h.engine === 'pglite' ? 'DATA_DIR' : 'DATABASE_URL';
      expect((error as StoreSetupError).setting).toBe(setting);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^${setting} .*written by a newer carechat \\(schema migration 999_from_the_future; this version knows up to 00\\d\\); upgrade carechat`,
        ),
      );
      expect((error as Error).message).not.toContain('\n');
    });
  });
}

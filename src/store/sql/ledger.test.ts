import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../engines/engine.ts';
import { openPglite } from '../engines/pglite.ts';
import { openStore, type Store, type StoreOps } from '../index.ts';
import { migrate } from '../migrate.ts';
import { createSqlStore } from '../sqlStore.ts';
import { LeaseLedger } from './ledger.ts';

const WRITE = {
  machineId: 'chatSession',
  machineVersion: 1,
  snapshot: { status: 'active', value: 'invited', context: {} } as never,
  deadlines: {},
};

describe('LeaseLedger', () => {
  it('vouches for the leases it gave while one owner alone has taken leases', () => {
    const ledger = new LeaseLedger();
    ledger.gave('me', { sessionId: 'a', owner: 'me', generation: 1 });
    ledger.gave('me', { sessionId: 'b', owner: 'me', generation: 3 });
    expect(ledger.held([{ sessionId: 'a', owner: 'me', generation: 1 }])).toEqual(new Set(['a']));
    expect(
      ledger.held([
        { sessionId: 'a', owner: 'me', generation: 1 },
        { sessionId: 'b', owner: 'me', generation: 3 },
      ]),
    ).toEqual(new Set(['a', 'b']));
    // Anything else is for the database to answer.
    expect(ledger.held([{ sessionId: 'a', owner: 'me', generation: 2 }])).toBeUndefined();
    expect(ledger.held([{ sessionId: 'c', owner: 'me', generation: 1 }])).toBeUndefined();
    ledger.forget('a');
    expect(ledger.held([{ sessionId: 'a', owner: 'me', generation: 1 }])).toBeUndefined();
    expect(ledger.held([{ sessionId: 'b', owner: 'me', generation: 3 }])).toEqual(new Set(['b']));
    ledger.forgetAll();
    expect(ledger.held([{ sessionId: 'b', owner: 'me', generation: 3 }])).toBeUndefined();
  });

  it('vouches for nothing once a second owner was seen, even one that got no lease', () => {
    const ledger = new LeaseLedger();
    ledger.gave('me', { sessionId: 'a', owner: 'me', generation: 1 });
    ledger.gave('other');
    expect(ledger.held([{ sessionId: 'a', owner: 'me', generation: 1 }])).toBeUndefined();
  });
});

describe('leases.check on the embedded store', () => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  const create = async (ops: StoreOps, owner: string, id: string) => {
    const lease = await ops.sessions.create(owner, id, WRITE);
    if (!lease) throw new Error(`${id} not created`);
    return lease;
  };

  it('answers as the database would through releases, takeovers and a second owner', async () => {
    store = await openStore({ dataDir: ':memory:', leaseMs: 60_000 });
    const a = await create(store, 'me', 'a');
    const b = await create(store, 'me', 'b');
    expect(await store.leases.check([a, b])).toEqual(new Set(['a', 'b']));
    expect(await store.leases.check([{ ...a, generation: 2 }])).toEqual(new Set());
    // Released: no longer held.
    expect(await store.leases.release(a)).toBe(true);
    expect(await store.leases.check([a, b])).toEqual(new Set(['b']));
    // Acquired again by its owner after the release: a new generation, held; the old one is not.
    const again = await store.leases.acquire('a', 'me');
    expect(again).toMatchObject({ owner: 'me', generation: 2 });
    expect(await store.leases.check([again!])).toEqual(new Set(['a']));
    expect(await store.leases.check([a])).toEqual(new Set());
    // Another owner takes a lease: from then on the database answers, and answers the same.
    await store.leases.release(again!);
    const theirs = await store.leases.acquire('a', 'other');
    expect(theirs).toMatchObject({ owner: 'other', generation: 3 });
    expect(await store.leases.check([again!, b])).toEqual(new Set(['b']));
    expect(await store.leases.check([theirs!])).toEqual(new Set(['a']));
  }, 60_000);

  it('answers a lease its one owner holds without a query, and asks the database once a second owner came', async () => {
    const engine = await openPglite(':memory:');
    let queries = 0;
    const counted: Engine = {
      ...engine,
      query: (text, params) => {
        queries += 1;
        return engine.query(text, params);
      },
    };
    store = createSqlStore(counted, await migrate(counted), {
      leaseMs: 60_000,
      retentionDays: 30,
      now: Date.now,
    });
    const a = await create(store, 'me', 'a');
    queries = 0;
    expect(await store.leases.check([a])).toEqual(new Set(['a']));
    expect(queries).toBe(0);
    await create(store, 'other', 'b');
    queries = 0;
    expect(await store.leases.check([a])).toEqual(new Set(['a']));
    expect(queries).toBe(1);
  }, 60_000);

  it('forgets what a failed transaction may have changed', async () => {
    store = await openStore({ dataDir: ':memory:', leaseMs: 60_000 });
    const s = store;
    await expect(
      s.transaction(async (tx) => {
        await create(tx, 'me', 'gone');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    // The session was never stored: its lease is not held, whatever the transaction saw.
    expect(await s.leases.check([{ sessionId: 'gone', owner: 'me', generation: 1, expiresAt: 0 }])).toEqual(
      new Set(),
    );
    expect(await s.sessions.load('gone')).toBeUndefined();
  }, 60_000);
});

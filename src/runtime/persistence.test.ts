/**
 * Session writes go out in batches (one transaction for the sessions that changed meanwhile), yet each
 * session's write stands alone: a session whose lease was taken over fails on its own, the others in
 * its batch are written, and each session's changes are committed before `flushed` resolves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.ts';
import { silentLogger } from './logger.ts';
import { PersistenceError, type SessionChanges, SessionPersistence } from './persistence.ts';

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

function changes(state: string, text: string | null, onCommit: () => void = () => {}): () => SessionChanges {
  return () => ({
    write: {
      machineId: 'chatSession',
      machineVersion: 1,
      snapshot: { status: 'active', value: state, context: {} } as never,
      deadlines: {},
    },
    transcript: text === null ? [] : [{ key: `m:${text}`, at: 1_700_000_000_000, entry: { text } }],
    effectsStarted: [],
    effectsFinished: [],
    committed: onCommit,
  });
}

describe('SessionPersistence', () => {
  it('writes sessions that change together in one transaction, each as it would be on its own', async () => {
    store = await openStore({ dataDir: ':memory:' });
    let transactions = 0;
    const counted: Store = {
      ...store,
      transaction: (fn) => {
        transactions += 1;
        return store!.transaction(fn);
      },
    };
    const persistence = new SessionPersistence({ store: counted, owner: 'me', logger: silentLogger });
    for (const id of ['a', 'b', 'c']) persistence.schedule(id, changes('waiting', `${id}1`));
    await Promise.all(['a', 'b', 'c'].map((id) => persistence.flushed(id)));
    expect(transactions).toBe(1);
    for (const id of ['a', 'b', 'c']) {
      expect(await store.sessions.load(id)).toMatchObject({ state: 'waiting', status: 'active' });
      expect((await store.transcripts.read(id)).map((line) => line.key)).toEqual([`m:${id}1`]);
    }
    // A later step of one session: its snapshot replaced, its new line after the first.
    persistence.schedule('b', changes('bridged', 'b2'));
    await persistence.flushed('b');
    expect(await store.sessions.load('b')).toMatchObject({ state: 'bridged' });
    expect((await store.transcripts.read('b')).map((line) => line.key)).toEqual(['m:b1', 'm:b2']);
  }, 60_000);

  it('leaves out of a save the snapshot the store holds already, and sends a changed one', async () => {
    store = await openStore({ dataDir: ':memory:' });
    const saves: Array<{ snapshot?: unknown }> = [];
    const watched: Store = {
      ...store,
      transaction: (fn) =>
        store!.transaction((tx) =>
          fn({
            ...tx,
            sessions: {
              ...tx.sessions,
              save: (lease, write) => {
                saves.push(write);
                return tx.sessions.save(lease, write);
              },
            },
          }),
        ),
    };
    const persistence = new SessionPersistence({ store: watched, owner: 'me', logger: silentLogger });
    for (const [state, text] of [
      ['waiting', 'a1'],
      ['waiting', 'a2'],
      ['bridged', 'a3'],
    ] as const) {
      persistence.schedule('a', changes(state, text));
      await persistence.flushed('a');
    }
    expect(saves.map((write) => write.snapshot !== undefined)).toEqual([false, true]);
    expect(await store.sessions.load('a')).toMatchObject({ state: 'bridged' });
    expect((await store.transcripts.read('a')).map((line) => line.key)).toEqual(['m:a1', 'm:a2', 'm:a3']);
  }, 60_000);

  it('writes nothing for a step that changed nothing, once its lease is checked; a lost lease fails it', async () => {
    store = await openStore({ dataDir: ':memory:' });
    let transactions = 0;
    const counted: Store = {
      ...store,
      transaction: (fn) => {
        transactions += 1;
        return store!.transaction(fn);
      },
    };
    const lost: string[] = [];
    const persistence = new SessionPersistence({
      store: counted,
      owner: 'me',
      logger: silentLogger,
      onLeaseLost: (id) => lost.push(id),
    });
    persistence.schedule('a', changes('waiting', 'a1'));
    await persistence.flushed('a');
    const before = (await store.sessions.load('a'))!.updatedAt;
    // The same state, nothing else: acknowledged without a transaction (the store holds it already).
    let committed = false;
    persistence.schedule(
      'a',
      changes('waiting', null, () => {
        committed = true;
      }),
    );
    await persistence.flushed('a');
    expect(committed).toBe(true);
    expect(transactions).toBe(1);
    expect((await store.sessions.load('a'))!.updatedAt).toBe(before);
    // A transcript line is a change: written.
    persistence.schedule('a', changes('waiting', 'a2'));
    await persistence.flushed('a');
    expect(transactions).toBe(2);
    expect((await store.transcripts.read('a')).map((line) => line.key)).toEqual(['m:a1', 'm:a2']);
    // Taken over by another instance: even a step that changed nothing fails, as its write would have.
    await store.leases.release(persistence.leaseOf('a')!);
    expect(await store.leases.acquire('a', 'other')).toMatchObject({ generation: 2 });
    persistence.schedule('a', changes('waiting', null));
    await expect(persistence.flushed('a')).rejects.toBeInstanceOf(PersistenceError);
    expect(lost).toEqual(['a']);
    expect(transactions).toBe(2);
  }, 60_000);

  it('fails only the session whose lease was taken over; the others in its batch are written', async () => {
    store = await openStore({ dataDir: ':memory:' });
    const lost: string[] = [];
    const persistence = new SessionPersistence({
      store,
      owner: 'me',
      logger: silentLogger,
      onLeaseLost: (id) => lost.push(id),
    });
    persistence.schedule('a', changes('waiting', 'a1'));
    persistence.schedule('b', changes('waiting', 'b1'));
    await Promise.all([persistence.flushed('a'), persistence.flushed('b')]);
    // Another instance takes 'a' over.
    const [held] = (await store.leases.renew('me')).filter((lease) => lease.sessionId === 'a');
    await store.leases.release(held!);
    expect(await store.leases.acquire('a', 'other')).toMatchObject({ owner: 'other', generation: 2 });

    let bCommitted = false;
    persistence.schedule('a', changes('bridged', 'a2'));
    persistence.schedule(
      'b',
      changes('bridged', 'b2', () => {
        bCommitted = true;
      }),
    );
    await expect(persistence.flushed('a')).rejects.toBeInstanceOf(PersistenceError);
    await persistence.flushed('b');
    expect(bCommitted).toBe(true);
    expect(lost).toEqual(['a']);
    expect(await store.sessions.load('a')).toMatchObject({ state: 'waiting' });
    expect(await store.sessions.load('b')).toMatchObject({ state: 'bridged' });
    expect((await store.transcripts.read('a')).map((line) => line.key)).toEqual(['m:a1']);
  }, 60_000);
});

it('a session created while a lease renewal runs is not taken for lost', async () => {
  store = await openStore({ dataDir: ':memory:' });
  const lost: string[] = [];
  const persistence = new SessionPersistence({
    store,
    owner: 'A',
    logger: silentLogger,
    onLeaseLost: (id) => lost.push(id),
  });
  persistence.schedule('s-old', changes('invited', 'old'));
  await persistence.flushed('s-old');
  // The renewal's query runs first (one connection): its answer cannot name the session created after it.
  const renewing = persistence.renew();
  persistence.schedule('s-new', changes('invited', 'new'));
  await Promise.all([renewing, persistence.flushed('s-new')]);
  expect(lost).toEqual([]);
  expect(persistence.leaseOf('s-new')).toBeDefined();
  // A lease another instance took is lost at the next renewal.
  await store.leases.release(persistence.leaseOf('s-old')!);
  await store.leases.takeOver('B');
  await persistence.renew();
  expect(lost).toEqual(['s-old']);
}, 30_000);

it('a chat another instance stored first is dropped here, its first write refused, the stored one untouched', async () => {
  store = await openStore({ dataDir: ':memory:' });
  const lost: string[] = [];
  const first = new SessionPersistence({ store, owner: 'A', logger: silentLogger });
  const second = new SessionPersistence({
    store,
    owner: 'B',
    logger: silentLogger,
    onLeaseLost: (id) => lost.push(id),
  });
  first.schedule('same', changes('invited', 'from A'));
  await first.flushed('same');
  let committed = false;
  second.schedule(
    'same',
    changes('adhocMeeting', 'from B', () => {
      committed = true;
    }),
  );
  await expect(second.flushed('same')).rejects.toThrow(/stored already by another instance/);
  expect(committed).toBe(false);
  expect(lost).toEqual(['same']);
  expect(second.leaseOf('same')).toBeUndefined();
  expect(await store.sessions.load('same')).toMatchObject({ state: 'invited' });
  expect((await store.transcripts.read('same')).map((line) => line.key)).toEqual(['m:from A']);
  expect(first.leaseOf('same')).toMatchObject({ owner: 'A' });
}, 30_000);

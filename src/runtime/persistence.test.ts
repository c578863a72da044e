import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.ts';
import { type SessionChanges, SessionPersistence } from './persistence.ts';

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const changes = (): SessionChanges => ({
  write: {
    machineId: 'chatSession',
    machineVersion: 1,
    snapshot: { status: 'active', value: 'invited', context: {} } as never,
    deadlines: {},
  },
  transcript: [],
  effectsStarted: [],
  effectsFinished: [],
  committed: () => {},
});

it('a session created while a lease renewal runs is not taken for lost', async () => {
  store = await openStore({ dataDir: ':memory:' });
  const lost: string[] = [];
  const persistence = new SessionPersistence({
    store,
    owner: 'A',
    logger: pino({ level: 'silent' }),
    onLeaseLost: (id) => lost.push(id),
  });
  persistence.schedule('s-old', changes);
  await persistence.flushed('s-old');
  // The renewal's query runs first (one connection): its answer cannot name the session created after it.
  const renewing = persistence.renew();
  persistence.schedule('s-new', changes);
  await Promise.all([renewing, persistence.flushed('s-new')]);
  expect(lost).toEqual([]);
  expect(persistence.leaseOf('s-new')).toBeDefined();
  // A lease another instance took is lost at the next renewal.
  await store.leases.release(persistence.leaseOf('s-old')!);
  await store.leases.takeOver('B');
  await persistence.renew();
  expect(lost).toEqual(['s-old']);
}, 30_000);

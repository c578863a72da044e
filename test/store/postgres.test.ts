/**
 * The store contract on a PostgreSQL server, plus what only a server shows: several instances on separate
 * connections, and DATABASE_URL errors. Each run creates its own databases and drops them afterwards.
 * No server: the suite fails when CI=true and is skipped (saying how to enable it) otherwise.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store, StoreSetupError } from '../../src/store/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { findTestPostgres, missingPostgresPolicy, type TestPostgres } from '../helpers/postgres.ts';
import {
  type HarnessOptions,
  type StoreHarness,
  storeContract,
  TestClock,
} from '../helpers/storeContract.ts';

const found = await findTestPostgres();

function postgresHarness(server: TestPostgres): StoreHarness {
  const urls = new WeakMap<Store, string>();
  let opened: Store[] = [];
  let databases: string[] = [];
  let shared: Promise<Store> | undefined;
  const open = async (databaseUrl: string, options: HarnessOptions = {}) => {
    const store = await openStore({ ...options, databaseUrl });
    urls.set(store, databaseUrl);
    opened.push(store);
    return store;
  };
  const database = async () => {
    const url = await server.createDatabase();
    databases.push(url);
    return url;
  };
  return {
    engine: 'postgres',
    fresh: async (options) => open(await database(), options),
    peer: (store, options) => open(urls.get(store) as string, options),
    async persistent() {
      const url = await database();
      return { open: (options) => open(url, options), exec: (sql) => server.exec(url, sql) };
    },
    shared: () => {
      shared ??= server.createDatabase().then((databaseUrl) => openStore({ databaseUrl }));
      return shared;
    },
    async prepare() {
      await this.shared();
    },
    async cleanup() {
      const stores = opened;
      const dropped = databases;
      opened = [];
      databases = [];
      await Promise.all(stores.map((s) => s.close()));
      await Promise.all(dropped.map((url) => server.drop(url)));
    },
    async teardown() {
      await (await shared)?.close();
      await server.dropAll();
    },
  };
}

if ('unavailable' in found) {
  const policy = missingPostgresPolicy(found.unavailable);
  if (policy.fail) {
    it('PostgreSQL is reachable for the store tests', () => {
      throw new Error(policy.message);
    });
  } else {
    console.warn(policy.message);
    it.skip(policy.message, () => {});
  }
} else {
  const server = found;

  describe('store contract on PostgreSQL', () => {
    storeContract(postgresHarness(server));
  });

  describe('PostgreSQL specifics', () => {
    const h = postgresHarness(server);
    afterEach(() => h.cleanup());
    afterAll(() => h.teardown(), 120_000);

    const setupError = (promise: Promise<Store>) =>
      promise.then(
        async (store) => {
          await store.close();
          throw new Error('expected the store to refuse to open');
        },
        (error: unknown) => error as StoreSetupError,
      );

    it('says in one line what is wrong with DATABASE_URL, naming it and hiding the password', async () => {
      const base = new URL(server.adminUrl);
      const at = (change: (url: URL) => void) => {
        const url = new URL(base);
        change(url);
        return url.toString();
      };
      const cases: Array<[string, RegExp]> = [
        [
          at((u) => {
            u.port = '1';
            u.password = 'secret';
          }),
          /^DATABASE_URL postgres:\/\/[^ ]*:\*\*\*@127\.0\.0\.1:1\/test: cannot connect to 127\.0\.0\.1:1 \(connection refused\); is PostgreSQL running there\?$/,
        ],
        [
          at((u) => {
            u.pathname = '/carechat_no_such_database';
          }),
          /^DATABASE_URL .*: database "carechat_no_such_database" does not exist; create it \(createdb carechat_no_such_database\) or fix the URL$/,
        ],
        [
          at((u) => {
            u.username = 'carechat_no_such_role';
          }),
          /^DATABASE_URL .*: .*carechat_no_such_role.*; check the user name and pg_hba\.conf$/,
        ],
        [
          'localhost:5432/test',
          /^DATABASE_URL localhost:5432\/test: expected a URL like postgres:\/\/user:password@host:5432\/database$/,
        ],
        [
          'mysql://root:pw@127.0.0.1/test',
          /^DATABASE_URL mysql:\/\/root:\*\*\*@127\.0\.0\.1\/test: expected a postgres:\/\//,
        ],
        [
          'not a url',
          /^DATABASE_URL not a url: expected a URL like postgres:\/\/user:password@host:5432\/database$/,
        ],
      ];
      for (const [databaseUrl, message] of cases) {
        const error = await setupError(openStore({ databaseUrl }));
        expect(error).toBeInstanceOf(StoreSetupError);
        expect(error.setting).toBe('DATABASE_URL');
        expect(error.message).toMatch(message);
        expect(error.message).not.toContain('secret');
      }
    });

    it('migrates a new database once when several instances start on it at the same time', async () => {
      const db = await h.persistent();
      const stores = await Promise.all([db.open(), db.open(), db.open()]);
      const applied = stores.map((s) => s.schema.applied.length);
      expect(applied.filter((n) => n > 0)).toHaveLength(1);
      expect(stores.every((s) => s.schema.version === stores[0]?.schema.version)).toBe(true);
    });

    it("does not take a session over while its owner's write is in flight, and fences the owner once it has", async () => {
      const clock = new TestClock();
      const owner = await h.fresh({ now: clock.now, leaseMs: 10_000 });
      const other = await h.peer(owner, { now: clock.now, leaseMs: 10_000 });
      const lease = await owner.sessions.create('A', 's-1', {
        machineId: 'm',
        machineVersion: 1,
        snapshot: { status: 'active', value: 'a', context: {} } as never,
        deadlines: {},
      });
      if (!lease) throw new Error('not created');
      clock.advance(10_000);
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let fenced!: () => void;
      const inside = new Promise<void>((resolve) => {
        fenced = resolve;
      });
      const write = owner.transaction(async (tx) => {
        await tx.transcripts.append(lease, { key: 'm-1', at: 1, entry: { text: 'written under the lease' } });
        fenced();
        await held;
      });
      await inside;
      expect(await other.leases.takeOver('B')).toEqual([]); // the lease row is locked: skipped, not waited for
      release();
      await write;
      const [taken] = await other.leases.takeOver('B');
      expect(taken).toMatchObject({ sessionId: 's-1', owner: 'B', generation: 2 });
      expect(await other.transcripts.read('s-1')).toMatchObject([{ key: 'm-1' }]);
      await expect(owner.transcripts.append(lease, { key: 'm-2', at: 2, entry: {} })).rejects.toThrow(
        /lease lost/,
      );
    });

    it('gets inbox signals again after the notification connection drops', async () => {
      const warnings: string[] = [];
      const url = await server.createDatabase();
      const owner = await openStore({ databaseUrl: url, onWarning: (w) => warnings.push(w) });
      const other = await openStore({ databaseUrl: url });
      try {
        const lease = await owner.sessions.create('A', 's-1', {
          machineId: 'm',
          machineVersion: 1,
          snapshot: { status: 'active', value: 'a', context: {} } as never,
          deadlines: {},
        });
        expect(lease).not.toBeNull();
        const seen: string[] = [];
        await owner.onInbox('A', (sessionId) => seen.push(sessionId));
        await server.exec(
          url,
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`,
        );
        await eventually(
          () => warnings,
          (w) => expect(w.join('\n')).toMatch(/notification connection dropped/),
        );
        let n = 0;
        await eventually(
          async () => {
            await other.inbox.record('s-1', { key: `cb-${++n}`, payload: {} });
            return seen;
          },
          (s) => expect(s).toContain('s-1'),
          { timeout: 15_000, interval: 200 },
        );
      } finally {
        await owner.close();
        await other.close();
      }
    });
  });
}

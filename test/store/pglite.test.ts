/**
 * The store contract on the embedded engine (PGlite), plus what only it has: DATA_DIR.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newMemoryDb, pgliteEngine } from '../../src/store/engines/pglite.ts';
import {
  DEFAULT_LEASE_MS,
  DEFAULT_RETENTION_DAYS,
  openStore,
  type Store,
  StoreSetupError,
} from '../../src/store/index.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createSqlStore } from '../../src/store/sqlStore.ts';
import { type HarnessOptions, type StoreHarness, storeContract } from '../helpers/storeContract.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'carechat-store-'));
  dirs.push(dir);
  return dir;
}

/**
 * Starting a PGlite database costs seconds (WASM), so `fresh` stores of this file share one in-memory
 * database, emptied (schema dropped, listeners removed) and migrated anew for each: the same result as a
 * new database, at a fraction of the cost. `shared`, `persistent` and the DATA_DIR tests go through
 * openStore itself.
 */
function pgliteHarness(): StoreHarness {
  let opened: Store[] = [];
  let shared: Promise<Store> | undefined;
  let reusable: Promise<PGlite> | undefined;
  let reusableInUse = false;
  const open = async (options: HarnessOptions & { dataDir: string }) => {
    const store = await openStore(options);
    opened.push(store);
    return store;
  };
  return {
    engine: 'pglite',
    async fresh(options = {}) {
      if (reusableInUse) return open({ ...options, dataDir: ':memory:' });
      reusableInUse = true;
      reusable ??= newMemoryDb();
      const db = await reusable;
      await db.unlisten('carechat_inbox');
      await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
      const engine = pgliteEngine(db, ':memory:', async () => {
        reusableInUse = false;
      });
      const store = createSqlStore(engine, await migrate(engine), {
        leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
        retentionDays: options.retentionDays ?? DEFAULT_RETENTION_DAYS,
        now: options.now ?? Date.now,
      });
      opened.push(store);
      return store;
    },
    peer: async (store) => store,
    async persistent() {
      const dataDir = await tempDir();
      return {
        open: (options = {}) => open({ ...options, dataDir }),
        async exec(sql) {
          const db = await PGlite.create({ dataDir: join(dataDir, 'pglite') });
          try {
            await db.exec(sql);
          } finally {
            await db.close();
          }
        },
      };
    },
    shared: () => {
      shared ??= openStore({ dataDir: ':memory:' });
      return shared;
    },
    async prepare() {
      await this.shared();
    },
    async cleanup() {
      const stores = opened;
      opened = [];
      await Promise.all(stores.map((s) => s.close()));
    },
    async teardown() {
      await (await shared)?.close();
      await (await reusable)?.close();
      await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

describe('store contract on PGlite', () => {
  storeContract(pgliteHarness());
});

describe('PGlite DATA_DIR', () => {
  const stores: Store[] = [];
  // New data directories start from this process's initdb template: make it once, before any test.
  beforeAll(async () => (await newMemoryDb()).close(), 180_000);
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  const setupError = (promise: Promise<Store>) =>
    promise.then(
      (store) => {
        stores.push(store);
        throw new Error('expected the store to refuse to open');
      },
      (error: unknown) => error as StoreSetupError,
    );

  it('is created on first start, nested directories included, and holds a lock while open', async () => {
    const dataDir = join(await tempDir(), 'var', 'carechat');
    const store = await openStore({ dataDir });
    stores.push(store);
    expect(store.engine).toBe('pglite');
    expect(store.location).toBe(dataDir);
    expect((await readdir(dataDir)).sort()).toEqual(['carechat.lock', 'pglite']);
    const error = await setupError(openStore({ dataDir }));
    expect(error).toBeInstanceOf(StoreSetupError);
    expect(error.message).toMatch(/^DATA_DIR .*: is already open in this process/);
    await store.close();
    stores.pop();
    expect(await readdir(dataDir)).toEqual(['pglite']);
  });

  it('refuses a DATA_DIR it cannot create, naming the setting, in one line', async () => {
    const file = join(await tempDir(), 'a-file');
    await writeFile(file, 'not a directory');
    for (const dataDir of [join(file, 'data'), file]) {
      const error = await setupError(openStore({ dataDir }));
      expect(error).toBeInstanceOf(StoreSetupError);
      expect(error.setting).toBe('DATA_DIR');
      expect(error.message).toMatch(
        /^DATA_DIR \/.*: (cannot create the directory \(ENOTDIR|cannot create the directory \(EEXIST|is not a directory)/,
      );
      expect(error.message).not.toContain('\n');
    }
  });

  it('refuses a DATA_DIR another live process holds, and takes over the lock of a process that died', async () => {
    const dataDir = await tempDir();
    await writeFile(
      join(dataDir, 'carechat.lock'),
      JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname() }),
    );
    const error = await setupError(openStore({ dataDir }));
    expect(error.message).toMatch(
      new RegExp(
        `^DATA_DIR .*: is in use by process ${process.ppid}; one process at a time can use an embedded store \\(set DATABASE_URL`,
      ),
    );

    // A pid that surely exited: a child we ran to completion.
    const deadPid = Number(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']),
    );
    await writeFile(
      join(dataDir, 'carechat.lock'),
      JSON.stringify({ pid: deadPid, host: (await import('node:os')).hostname() }),
    );
    const store = await openStore({ dataDir });
    stores.push(store);
    expect(store.schema.version).toBeGreaterThan(0);
  });

  it('refuses a lock held on another host, saying what to do', async () => {
    const dataDir = await tempDir();
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'carechat.lock'), JSON.stringify({ pid: 1, host: 'another-host.invalid' }));
    const error = await setupError(openStore({ dataDir }));
    expect(error.message).toMatch(
      /is in use by process 1 on another-host\.invalid .*delete the lock file if that process is gone/,
    );
  });
});

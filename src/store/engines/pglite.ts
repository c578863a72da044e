/**
 * The embedded engine: PGlite (PostgreSQL compiled to WebAssembly) in `DATA_DIR/pglite`, or in memory for
 * `:memory:`. One process at a time may use a data directory: a lock file (`DATA_DIR/carechat.lock`, with
 * the pid) keeps a second one out, and a lock left by a process that died (kill -9) is taken over.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { StoreSetupError } from '../errors.ts';
import { MEMORY } from '../settings.ts';
import type { Engine, Sql } from './engine.ts';

const LOCK_FILE = 'carechat.lock';
/** Data directories this process has open (a lock file naming our own pid is not stale for these). */
const openHere = new Set<string>();

/**
 * initdb is the slow part of a new PGlite database (seconds). Its result is the same every time, so a
 * process makes it once and starts each further new database (`:memory:` ones, tests) from a copy.
 */
let template: Promise<Blob> | undefined;

export async function openPglite(dataDir: string): Promise<Engine> {
  if (dataDir === MEMORY) {
    const db = await newMemoryDb();
    return pgliteEngine(db, MEMORY, () => db.close());
  }
  const dir = resolve(dataDir);
  const problem = (what: string, cause?: unknown) =>
    new StoreSetupError('DATA_DIR', `DATA_DIR ${dir}: ${what}`, { cause });
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw problem(`cannot create the directory (${reason(error)}); make it writable or set DATA_DIR`, error);
  }
  if (!(await stat(dir)).isDirectory()) throw problem('is not a directory; set DATA_DIR to a directory');
  const unlock = await lock(dir, problem);
  const pgDir = join(dir, 'pglite');
  let db: PGlite;
  try {
    db =
      !existsSync(join(pgDir, 'PG_VERSION')) && template
        ? await PGlite.create({ dataDir: pgDir, loadDataDir: await template })
        : await PGlite.create({ dataDir: pgDir });
  } catch (error) {
    await unlock();
    throw problem(`cannot open the embedded database in ${pgDir} (${reason(error)})`, error);
  }
  return pgliteEngine(db, dir, async () => {
    try {
      await db.close();
    } finally {
      await unlock();
    }
  });
}

/** A new in-memory database (from this process's initdb template after the first). */
export async function newMemoryDb(): Promise<PGlite> {
  if (!template) {
    const first = PGlite.create();
    template = first.then((db) => db.dumpDataDir('none'));
    template.catch(() => {
      template = undefined;
    });
    const db = await first;
    await template;
    return db;
  }
  return PGlite.create({ loadDataDir: await template });
}

/** The Engine over an open PGlite database; `close` runs once, on the first close(). */
export function pgliteEngine(db: PGlite, location: string, close: () => Promise<void>): Engine {
  const sqlOf = (target: Pick<PGlite, 'query' | 'exec'>): Sql => ({
    async query<R>(text: string, params?: readonly unknown[]) {
      if (params === undefined) {
        // A script (migrations) or a statement without parameters: the simple protocol runs both.
        const results = await target.exec(text);
        return (results[results.length - 1]?.rows ?? []) as R[];
      }
      return (await target.query<R>(text, params as unknown[])).rows;
    },
  });
  const top = sqlOf(db);
  let closing: Promise<void> | undefined;
  return {
    kind: 'pglite',
    location,
    setting: 'DATA_DIR',
    query: top.query,
    transaction: (fn) => db.transaction((tx) => fn(sqlOf(tx))),
    async listen(channel, handler) {
      const stop = await db.listen(channel, handler);
      return async () => {
        if (!db.closed) await stop();
      };
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}

/**
 * Takes `dir`'s lock file for this process. A lock naming a live process (on this host) is refused; one
 * whose process is gone is stale and taken over.
 */
async function lock(
  dir: string,
  problem: (what: string, cause?: unknown) => StoreSetupError,
): Promise<() => Promise<void>> {
  if (openHere.has(dir)) {
    throw problem('is already open in this process; open the store once and share it');
  }
  const file = join(dir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: hostname() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(mine);
      await handle.close();
      openHere.add(dir);
      return async () => {
        openHere.delete(dir);
        await rm(file, { force: true });
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw problem(`is not writable (${reason(error)}); make it writable or set DATA_DIR`, error);
      }
    }
    const holder = await readLock(file);
    if (holder && holder.host !== hostname()) {
      throw problem(
        `is in use by process ${holder.pid} on ${holder.host} (${file}); stop it, or delete the lock file if that process is gone`,
      );
    }
    if (holder && holder.pid !== process.pid && alive(holder.pid)) {
      throw problem(
        `is in use by process ${holder.pid}; one process at a time can use an embedded store (set DATABASE_URL to share a PostgreSQL server between several)`,
      );
    }
    await rm(file, { force: true }); // stale: its process is gone
  }
  throw problem(`cannot take the lock file ${file}; another process keeps creating it`);
}

async function readLock(file: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8'));
    return Number.isInteger(value?.pid) && typeof value?.host === 'string' ? value : undefined;
  } catch {
    return undefined; // unreadable or half-written: treated as stale
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code
    ? `${e.code}${e.message ? `: ${e.message.replace(/^\w+: /, '')}` : ''}`
    : String(e?.message ?? e);
}

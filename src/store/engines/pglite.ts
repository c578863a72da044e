/**
 * The embedded engine: PGlite (PostgreSQL compiled to WebAssembly) in `DATA_DIR/pglite`, or in memory for
 * `:memory:`. One process at a time may use a data directory: a lock file (`DATA_DIR/carechat.lock`, with
 * the pid) keeps a second one out, and a lock left by a process that died (kill -9) is taken over.
 *
 * Statements with parameters go to PGlite as one simple-protocol message with the parameters written in
 * as quoted literals (see inlineParams): PGlite's extended protocol crosses into WebAssembly six times per
 * statement (parse, describe, bind, describe, execute, sync) and costs three to four times as much CPU.
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
  // Literals are written for standard_conforming_strings = on (PostgreSQL's default): a backslash in a
  // quoted string is then an ordinary character. Checked once; if it is off, parameters stay parameters.
  // Asked at once, before any transaction can hold the one connection.
  const inline = db
    .query<{ standard_conforming_strings: string }>('SHOW standard_conforming_strings')
    .then((r) => r.rows[0]?.standard_conforming_strings === 'on')
    .catch(() => false);
  const canInline = () => inline;
  const sqlOf = (target: Pick<PGlite, 'query' | 'exec'>): Sql => ({
    async query<R>(text: string, params?: readonly unknown[]) {
      const statement =
        params === undefined ? text : (await canInline()) ? inlineParams(text, params) : undefined;
      if (statement !== undefined) {
        // A script (migrations), a statement without parameters, or one with its parameters written in:
        // the simple protocol runs all three.
        const results = await target.exec(statement);
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
 * `text` with each parameter `$n` outside quotes and comments replaced by `params[n - 1]` as a quoted
 * literal ('…', quotes doubled; NULL for null and undefined), for standard_conforming_strings = on. A quoted
 * literal is of unknown type until its context types it, exactly as an untyped parameter is, so the
 * statement means what it meant with parameters. Only strings, finite numbers, bigints and arrays of strings
 * are written in; for anything else (or a string PostgreSQL could not hold, with U+0000) the answer is
 * undefined and the caller sends the parameters as such.
 */
export function inlineParams(text: string, params: readonly unknown[]): string | undefined {
  const literals: string[] = [];
  for (const param of params) {
    const literal = literalOf(param);
    if (literal === undefined) return undefined;
    literals.push(literal);
  }
  let out = '';
  let from = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "'") {
      // A string; E'…' strings take backslash escapes.
      const escapes = i > 0 && (text[i - 1] === 'E' || text[i - 1] === 'e');
      i++;
      while (i < n) {
        if (escapes && text[i] === '\\') i += 2;
        else if (text[i] === "'") {
          if (text[i + 1] === "'") i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      i = end < 0 ? n : end + 1;
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '$') {
      const param = /^\$(\d+)/.exec(text.slice(i, i + 8));
      if (param) {
        const index = Number(param[1]) - 1;
        if (index < 0 || index >= literals.length) return undefined;
        out += text.slice(from, i) + literals[index];
        i += param[0].length;
        from = i;
        continue;
      }
      const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(i));
      if (tag) {
        const end = text.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? n : end + tag[0].length;
      } else i++;
    } else i++;
  }
  return out + text.slice(from);
}

function literalOf(value: unknown): string | undefined {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return value.includes('\0') ? undefined : `'${value.replaceAll("'", "''")}'`;
  if (typeof value === 'number') return Number.isFinite(value) ? `'${value}'` : undefined;
  if (typeof value === 'bigint') return `'${value}'`;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' && !item.includes('\0'))) {
    // An array literal: each element double-quoted, its backslashes and double quotes escaped.
    const items = value.map((item: string) => `"${item.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
    return `'{${items.join(',').replaceAll("'", "''")}}'`;
  }
  return undefined;
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

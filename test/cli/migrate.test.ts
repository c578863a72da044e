/**
 * `carechat migrate`: applies the schema, says what it did, and reports a bad store setting in one line.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/migrate.ts';
import { knownMigrations } from '../../src/store/index.ts';
import { findTestPostgres, missingPostgresPolicy } from '../helpers/postgres.ts';

const BIN = fileURLToPath(new URL('../../bin/carechat.js', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) } };
}

const latest = knownMigrations().at(-1);
const names = knownMigrations().map((m) => `applied ${String(m.version).padStart(3, '0')}_${m.name}`);

describe('carechat migrate', () => {
  it('applies the migrations to a new DATA_DIR, then finds nothing to apply', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carechat-migrate-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const first = io();
    expect(await run([], first.io, { DATA_DIR: dataDir })).toBe(0);
    expect(first.err).toEqual([]);
    expect(first.out).toEqual([
      `store: PGlite in ${dataDir}`,
      ...names,
      `schema at version ${latest?.version}: applied ${names.length} of ${names.length} migration${names.length === 1 ? '' : 's'}`,
    ]);
    const second = io();
    expect(await run([], second.io, { DATA_DIR: dataDir })).toBe(0);
    expect(second.out).toEqual([
      `store: PGlite in ${dataDir}`,
      `schema at version ${latest?.version}: up to date, nothing to apply`,
    ]);
  }, 180_000);

  it('reports a bad setting in one line naming it, and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carechat-migrate-'));
    dirs.push(dir);
    await writeFile(join(dir, 'file'), '');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { DATA_DIR: join(dir, 'file', 'data') },
        /^carechat migrate: DATA_DIR \S+: cannot create the directory/,
      ],
      [
        { DATABASE_URL: 'db.example.com/carechat' },
        /^carechat migrate: DATABASE_URL="db\.example\.com\/carechat": expected a URL/,
      ],
      [{ LEASE_MS: 'soon' }, /^carechat migrate: LEASE_MS="soon": expected an integer from 1000 to 3600000$/],
    ];
    for (const [env, message] of cases) {
      const result = io();
      expect(await run([], result.io, env)).toBe(1);
      expect(result.out).toEqual([]);
      expect(result.err).toHaveLength(1);
      expect(result.err[0]).toMatch(message);
    }
  });

  it('prints its usage for --help and refuses arguments', async () => {
    const help = io();
    expect(await run(['--help'], help.io, {})).toBe(0);
    expect(help.out.join('\n')).toMatch(/^usage: carechat migrate/);
    const bad = io();
    expect(await run(['--force'], bad.io, {})).toBe(2);
    expect(bad.err.join('\n')).toMatch(/^carechat migrate: unexpected --force; it takes no arguments/);
  });

  it('as a command: one line on stderr and exit 1 for an unreachable DATABASE_URL, no stack trace', async () => {
    const result = await promisify(execFile)(process.execPath, [BIN, 'migrate'], {
      env: { ...process.env, DATABASE_URL: 'postgres://carechat:hunter2@127.0.0.1:1/carechat' },
    }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'carechat migrate: DATABASE_URL postgres://carechat:***@127.0.0.1:1/carechat: cannot connect to 127.0.0.1:1 (connection refused); is PostgreSQL running there?\n',
    );
  });
});

const server = await findTestPostgres();
describe('carechat migrate on PostgreSQL', () => {
  if ('unavailable' in server) {
    const policy = missingPostgresPolicy(server.unavailable);
    if (policy.fail) {
      it('PostgreSQL is reachable', () => {
        throw new Error(policy.message);
      });
    } else {
      it.skip(policy.message, () => {});
    }
    return;
  }
  afterAll(() => server.dropAll());

  it('applies the migrations to the database DATABASE_URL names, once', async () => {
    const url = await server.createDatabase();
    const first = io();
    expect(await run([], first.io, { DATABASE_URL: url })).toBe(0);
    expect(first.out).toEqual([
      `store: PostgreSQL at ${url}`,
      ...names,
      expect.stringMatching(/^schema at version/),
    ]);
    const second = io();
    expect(await run([], second.io, { DATABASE_URL: url })).toBe(0);
    expect(second.out[1]).toBe(`schema at version ${latest?.version}: up to date, nothing to apply`);
  });
});

/**
 * A PostgreSQL server for tests: found at DATABASE_URL when set, else at 127.0.0.1:5432 (trust auth, user
 * postgres or root, database `test`). Each test run creates its own uniquely named databases and drops
 * them afterwards (`dropAll`), so runs never see each other's data.
 *
 * Unreachable: `requirePostgres` makes the suite fail when CI=true and skip (saying how to enable it)
 * otherwise.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestPostgres {
  /** The URL tests create their databases next to (redacted of nothing: test servers use trust auth). */
  adminUrl: string;
  /** Creates a new, empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Runs statements on one database (by URL), outside any store. */
  exec(url: string, sql: string): Promise<void>;
  /** Drops one database this run created (by URL). */
  drop(url: string): Promise<void>;
  /** Drops every database this run created and has not dropped yet. */
  dropAll(): Promise<void>;
}

export const DEFAULT_CANDIDATES = [
  'postgres://postgres@127.0.0.1:5432/test',
  'postgres://root@127.0.0.1:5432/test',
];

/** The first reachable server among DATABASE_URL (when set) and the local defaults, or why there is none. */
export async function findTestPostgres(): Promise<TestPostgres | { unavailable: string }> {
  const candidates = process.env.DATABASE_URL ? [process.env.DATABASE_URL] : DEFAULT_CANDIDATES;
  const problems: string[] = [];
  for (const url of candidates) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return testPostgres(url);
    } catch (error) {
      await client.end().catch(() => {});
      problems.push(
        `${url.replace(/:[^:@/]*@/, ':***@')}: ${(error as Error).message || (error as { code?: string }).code}`,
      );
    }
  }
  return { unavailable: `PostgreSQL not reachable (${problems.join('; ')})` };
}

function testPostgres(adminUrl: string): TestPostgres {
  const created: string[] = [];
  const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const withAdmin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const urlOf = (name: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  return {
    adminUrl,
    async createDatabase() {
      const name = `carechat_test_${run}_${created.length + 1}`;
      await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
      created.push(name);
      return urlOf(name);
    },
    async exec(url, sql) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async drop(url) {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      const index = created.indexOf(name);
      if (index === -1) return;
      created.splice(index, 1);
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
    async dropAll() {
      const names = created.splice(0);
      await Promise.all(
        names.map((name) =>
          withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
        ),
      );
    },
  };
}

/** How the suite reports a missing server: a failure when CI=true, a visible skip otherwise. */
export function missingPostgresPolicy(reason: string): { fail: boolean; message: string } {
  const how = 'start PostgreSQL on 127.0.0.1:5432 (trust auth, database test) or set DATABASE_URL';
  return process.env.CI === 'true'
    ? { fail: true, message: `${reason}; CI=true requires it: ${how}` }
    : { fail: false, message: `${reason}; PostgreSQL tests skipped: ${how} to run them` };
}

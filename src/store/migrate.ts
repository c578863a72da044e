/**
 * Versioned schema migrations: `migrations/NNN_name.sql`, applied in order, each recorded in
 * `schema_migrations`. The same files run on PGlite and on PostgreSQL. Applying takes an advisory lock, so
 * instances starting together on one database migrate it once. A database that records a migration this
 * version does not know was written by a newer carechat: refused, never touched.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Engine } from './engines/engine.ts';
import { StoreSetupError } from './errors.ts';
import type { MigrationInfo } from './store.ts';

export interface Migration extends MigrationInfo {
  sql: string;
}

const DIR = new URL('./migrations/', import.meta.url);
const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
/** pg_advisory_xact_lock key of the migration run ('carechat' in ASCII, as a number). */
const LOCK_KEY = '7161130662280847732';

let cached: Migration[] | undefined;

/** The migrations this version ships, by version; throws if the folder is inconsistent (a packaging bug). */
export function knownMigrations(): Migration[] {
  if (cached) return cached;
  const files = readdirSync(DIR).filter((name) => name.endsWith('.sql'));
  const migrations = files.map((file) => {
    const match = FILE.exec(file);
    if (!match) throw new Error(`store migrations: ${file} is not named NNN_name.sql`);
    return {
      version: Number(match[1]),
      name: match[2] as string,
      sql: readFileSync(new URL(file, DIR), 'utf8'),
    };
  });
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((m, index) => {
    if (m.version !== index + 1) {
      throw new Error(`store migrations: expected version ${index + 1}, found ${m.version}_${m.name}.sql`);
    }
  });
  cached = migrations;
  return migrations;
}

/** Applies the migrations the database lacks, in one transaction; returns what it applied and the version. */
export async function migrate(engine: Engine): Promise<{ applied: MigrationInfo[]; version: number }> {
  const known = knownMigrations();
  return engine.transaction(async (sql) => {
    await sql.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    await sql.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version     integer PRIMARY KEY,
      name        text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await sql.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    const unknown = rows.filter((row) => !known.some((m) => m.version === row.version));
    if (unknown.length > 0) {
      const newest = unknown[unknown.length - 1] as { version: number; name: string };
      throw new StoreSetupError(
        engine.setting,
        `${engine.setting} ${engine.location}: the store was written by a newer carechat ` +
          `(schema migration ${String(newest.version).padStart(3, '0')}_${newest.name}; this version knows up to ` +
          `${String(known.length).padStart(3, '0')}); upgrade carechat, or point ${engine.setting} at another store`,
      );
    }
    const applied: MigrationInfo[] = [];
    for (const migration of known) {
      if (rows.some((row) => row.version === migration.version)) continue;
      await sql.query(migration.sql);
      await sql.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      applied.push({ version: migration.version, name: migration.name });
    }
    return { applied, version: known.length };
  });
}

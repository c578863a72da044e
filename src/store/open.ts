/**
 * `openStore(settings)`: the PostgreSQL engine when `databaseUrl` is set, PGlite in `dataDir` otherwise;
 * migrations are applied before the store is returned.
 */
import type { Engine } from './engines/engine.ts';
import { openPglite } from './engines/pglite.ts';
import { openPostgres } from './engines/postgres.ts';
import { StoreSetupError } from './errors.ts';
import { migrate } from './migrate.ts';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_LEASE_MS,
  DEFAULT_RETENTION_DAYS,
  type StoreSettings,
} from './settings.ts';
import { createSqlStore } from './sqlStore.ts';
import type { Store } from './store.ts';

export interface OpenStoreOptions extends Partial<StoreSettings> {
  /** The clock for every stored time (default Date.now); the runtime passes its own. */
  now?: () => number;
  /** Trouble that does not stop the store (PostgreSQL: a dropped connection). */
  onWarning?: (message: string) => void;
}

/**
 * Opens the store the settings point at and brings its schema up to date. Throws a StoreSetupError (one
 * line naming the setting) for an unreachable or wrong DATABASE_URL, an unusable DATA_DIR, a store written
 * by a newer carechat, or a bad LEASE_MS/RETENTION_DAYS.
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  if (!Number.isInteger(leaseMs) || leaseMs < 1) {
    throw new StoreSetupError('LEASE_MS', `LEASE_MS=${leaseMs}: expected a positive integer (milliseconds)`);
  }
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new StoreSetupError(
      'RETENTION_DAYS',
      `RETENTION_DAYS=${retentionDays}: expected a positive integer (days)`,
    );
  }
  const engine: Engine = options.databaseUrl
    ? await openPostgres(options.databaseUrl, {
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      })
    : await openPglite(options.dataDir ?? DEFAULT_DATA_DIR);
  try {
    const schema = await migrate(engine);
    return createSqlStore(engine, schema, { leaseMs, retentionDays, now: options.now ?? Date.now });
  } catch (error) {
    await engine.close().catch(() => {});
    if (error instanceof StoreSetupError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StoreSetupError(
      engine.setting,
      `${engine.setting} ${engine.location}: cannot bring the store's schema up to date (${message})`,
      { cause: error },
    );
  }
}

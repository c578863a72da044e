/**
 * The store: sessions (persisted XState snapshots), leases, callbacks taken, effects, transcripts, left
 * messages, the agent pool and queue, the inbox and the webhook outbox; PGlite or PostgreSQL. See store.ts.
 */
export { LeaseLostError, StoreInputError, type StoreSetting, StoreSetupError } from './errors.ts';
export { jsonTextOnce } from './json.ts';
export { knownMigrations } from './migrate.ts';
export { type OpenStoreOptions, openStore } from './open.ts';
export {
  DEFAULT_DATA_DIR,
  DEFAULT_LEASE_MS,
  DEFAULT_RETENTION_DAYS,
  MEMORY,
  redactUrl,
  type StoreSettings,
  storeSettingsFromEnv,
} from './settings.ts';
export * from './store.ts';

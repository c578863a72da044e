/**
 * `carechat migrate`: brings the store's schema up to date and says what it did, without starting the SA
 * (the SA also migrates at start; run this first to migrate once before rolling out several instances).
 * The store comes from DATABASE_URL (a PostgreSQL server) or else DATA_DIR (the embedded store, default
 * ./data). A problem is one line on stderr naming the setting, exit 1; usage errors exit 2.
 */

import { knownMigrations, openStore, StoreSetupError, storeSettingsFromEnv } from '../store/index.ts';
import type { CommandHelp } from './help.ts';
import type { CliIo } from './io.ts';

const USAGE = [
  'usage: carechat migrate',
  '',
  'Applies the store schema migrations this version ships and prints what it applied.',
  'The store: DATABASE_URL (PostgreSQL server) if set, else DATA_DIR (embedded PGlite, default ./data).',
].join('\n');

export const help: CommandHelp = {
  usage: 'usage: carechat migrate',
  about: [
    'Applies the store schema migrations this version ships and prints what it applied, without',
    'starting the SA (run it once before rolling out several instances). The store: DATABASE_URL',
    '(a PostgreSQL server) if set, else DATA_DIR (embedded PGlite).',
  ],
  readSettings: (env) => storeSettingsFromEnv(env),
};

export async function run(
  args: string[],
  io: CliIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.length > 0) {
    io.stderr(`carechat migrate: unexpected ${args[0]}; it takes no arguments\n${USAGE}`);
    return 2;
  }
  const { settings, problems } = storeSettingsFromEnv(env);
  if (problems.length > 0) {
    for (const problem of problems) io.stderr(`carechat migrate: ${problem}`);
    return 1;
  }
  try {
    const store = await openStore(settings);
    try {
      const where =
        store.engine === 'postgres' ? `PostgreSQL at ${store.location}` : `PGlite in ${store.location}`;
      io.stdout(`store: ${where}`);
      for (const m of store.schema.applied)
        io.stdout(`applied ${String(m.version).padStart(3, '0')}_${m.name}`);
      const count = store.schema.applied.length;
      io.stdout(
        count === 0
          ? `schema at version ${store.schema.version}: up to date, nothing to apply`
          : `schema at version ${store.schema.version}: applied ${count} of ${knownMigrations().length} migration${count === 1 ? '' : 's'}`,
      );
    } finally {
      await store.close();
    }
    return 0;
  } catch (error) {
    const message = error instanceof StoreSetupError ? error.message : `unexpected failure: ${String(error)}`;
    io.stderr(`carechat migrate: ${message.replaceAll('\n', ' ')}`);
    return 1;
  }
}

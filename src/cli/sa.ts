/**
 * `carechat sa`: the SA alone, against a configured API (an emulator elsewhere, or a real tenant).
 * Every setting comes from environment variables (README, "Pointing the SA at a real API").
 */
import { loadSaConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import { startSa } from '../stack/index.ts';
import { webRoutes } from '../web/index.ts';
import type { CliIo } from './io.ts';
import { waitForSignal } from './start.ts';

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.stderr(
      `carechat sa: takes no arguments (got ${args.join(' ')}); configure it with environment variables (see README)`,
    );
    return 2;
  }
  try {
    const config = loadSaConfig(process.env);
    const logger = createLogger(config.logLevel);
    const sa = await startSa({
      config,
      logger,
      extraRoutes: webRoutes({ embedOrigins: config.allowedOrigins }),
    });
    io.stdout(`carechat sa ready: sa=${sa.url} callbacks=${sa.url}${config.callbackPath}`);
    await waitForSignal();
    await sa.close();
    return 0;
  } catch (error) {
    io.stderr(`carechat sa: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/**
 * `carechat sa`: the SA alone, against a configured API (an emulator elsewhere, or a real tenant).
 * Every setting comes from environment variables (README, "Pointing the SA at a real API").
 */
import { logFormatFrom } from '../config/logging.ts';
import { loadSaConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import { startSa } from '../stack/index.ts';
import { webRoutes } from '../web/index.ts';
import type { CommandHelp } from './help.ts';
import type { CliIo } from './io.ts';
import { describeListenError } from './listen.ts';
import { waitForSignal } from './start.ts';

export const help: CommandHelp = {
  usage: 'usage: carechat sa',
  about: [
    'Runs the SA alone against a configured API (an emulator elsewhere, or a real tenant): the platform',
    'callbacks, the chat token endpoint, the operator API and console, /metrics and /readyz. Every',
    'setting comes from the environment; those marked (required) have no default when the SA runs alone.',
  ],
  readSettings(env) {
    logFormatFrom(env, false);
    loadSaConfig(env);
  },
};

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.stderr(
      `carechat sa: takes no arguments (got ${args.join(' ')}); configure it with environment variables (carechat sa --help lists them)`,
    );
    return 2;
  }
  try {
    const format = logFormatFrom(process.env, process.stdout.isTTY === true);
    const config = loadSaConfig(process.env);
    const logger = createLogger(config.logLevel, undefined, format);
    const sa = await startSa({
      config,
      logger,
      extraRoutes: webRoutes({ embedOrigins: config.allowedOrigins }),
    }).catch((error: unknown) => {
      throw describeListenError(error, { PORT: config.port });
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

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

/** `--emulator <url>`: every API and sign-in setting defaults to that emulator's demo tenant. */
export function parseSaArgs(args: string[]): { emulatorUrl?: string } | string {
  const options: { emulatorUrl?: string } = {};
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (name !== '--emulator')
      return `unknown argument '${arg}' (the SA takes --emulator <url>; everything else is set with environment variables: carechat sa --help lists them)`;
    const url = inline ?? args[++i];
    if (!url || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      return `--emulator needs the emulator's http(s) URL, like http://127.0.0.1:3001, got '${url ?? ''}'`;
    options.emulatorUrl = url.replace(/\/+$/, '');
  }
  return options;
}

export const help: CommandHelp = {
  usage: 'usage: carechat sa [--emulator <url>]',
  about: [
    'Runs the SA alone against a configured API (an emulator elsewhere, or a real tenant): the platform',
    'callbacks, the chat token endpoint, the operator API and console, /metrics and /readyz. Every',
    'setting comes from the environment; those marked (required) have no default when the SA runs alone.',
    "With --emulator <url> every platform and sign-in setting defaults to that emulator's demo tenant.",
  ],
  readSettings(env) {
    logFormatFrom(env, false);
    loadSaConfig(env);
  },
};

export async function run(args: string[], io: CliIo): Promise<number> {
  const options = parseSaArgs(args);
  if (typeof options === 'string') {
    io.stderr(`carechat sa: ${options}`);
    return 2;
  }
  try {
    const format = logFormatFrom(process.env, process.stdout.isTTY === true);
    const config = loadSaConfig(
      process.env,
      options.emulatorUrl ? { emulatorUrl: options.emulatorUrl } : undefined,
    );
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

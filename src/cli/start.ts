/**
 * `carechat start`: emulator + SA + web pages in one process (SA on PORT, default 3000; emulator on
 * EMULATOR_PORT, default 3001), then the ready line
 * `carechat ready: sa=<url> emulator=<url> console=<one-time sign-in link>`.
 */
import { logFormatFrom } from '../config/logging.ts';
import { type Env, noteDefault } from '../config/settings.ts';
import { DEMO_SUPERVISOR } from '../config/tenant.ts';
import { ConfigError, loadSaConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import { type RunningStack, startStack } from '../stack/index.ts';
import { DEFAULT_DATA_DIR } from '../store/index.ts';
import { embedOriginsFrom, webRoutes } from '../web/index.ts';
import type { CommandHelp } from './help.ts';
import type { CliIo } from './io.ts';
import { describeListenError } from './listen.ts';

/** The settings `carechat start` reads itself (the SA's come from its configuration loader). */
export function startSettings(env: Env) {
  const problems: string[] = [];
  const port = (name: string, fallback: number): number => {
    noteDefault(env, name, String(fallback));
    const value = env[name]?.trim();
    if (value === undefined || value === '') return fallback;
    if (!/^\d+$/.test(value) || Number(value) > 65535) {
      problems.push(`${name}=${JSON.stringify(value)}: expected a port from 0 to 65535`);
      return fallback;
    }
    return Number(value);
  };
  noteDefault(env, 'LOG_LEVEL', 'info');
  const logLevel = env.LOG_LEVEL || 'info';
  let logFormat: ReturnType<typeof logFormatFrom> = 'json';
  try {
    logFormat = logFormatFrom(env, process.stdout.isTTY === true);
  } catch (error) {
    problems.push((error as Error).message);
  }
  const settings = { port: port('PORT', 3000), emulatorPort: port('EMULATOR_PORT', 3001) };
  noteDefault(env, 'HOST', '127.0.0.1');
  const host = env.HOST || '127.0.0.1';
  return { ...settings, host, logLevel, logFormat, problems };
}

export const help: CommandHelp = {
  usage: 'usage: carechat start',
  about: [
    'Runs the platform emulator, the SA and the web pages (customer page, operator console) in one',
    'process: the SA on PORT, the emulator on EMULATOR_PORT, the embedded store. Prints',
    '`carechat ready: sa=<url> emulator=<url> console=<sign-in link>` and runs until SIGINT/SIGTERM.',
    'The SA settings default to the emulated demo tenant; `carechat config` shows what is in force.',
  ],
  readSettings(env) {
    const { host, emulatorPort } = startSettings(env);
    loadSaConfig(env, { emulatorUrl: `http://${host}:${emulatorPort}` });
    embedOriginsFrom(env);
  },
};

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.stderr(
      `carechat start: takes no arguments (got ${args.join(' ')}); configure it with environment variables (carechat start --help lists them)`,
    );
    return 2;
  }
  const env = process.env;
  const settings = startSettings(env);
  try {
    if (settings.problems.length) throw new ConfigError(settings.problems);
    const logger = createLogger(settings.logLevel, undefined, settings.logFormat);
    const stack = await startStack({
      // The embedded store lives in ./data unless DATA_DIR or DATABASE_URL says otherwise.
      env: { DATA_DIR: DEFAULT_DATA_DIR, ...env },
      port: settings.port,
      emulatorPort: settings.emulatorPort,
      host: settings.host,
      logger,
      extraRoutes: webRoutes({ embedOrigins: embedOriginsFrom(env) }),
    }).catch((error: unknown) => {
      throw describeListenError(error, { PORT: settings.port, EMULATOR_PORT: settings.emulatorPort });
    });
    io.stdout(
      `carechat ready: sa=${stack.saUrl} emulator=${stack.emulatorUrl} console=${consoleLink(stack)}`,
    );
    await waitForSignal();
    await stack.close();
    return 0;
  } catch (error) {
    io.stderr(`carechat start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/**
 * Where to open the console: with the emulator as the sign-in provider, a one-time link that signs the
 * demo supervisor in through the real OpenID Connect flow; otherwise the console itself.
 */
export function consoleLink(stack: RunningStack): string {
  const page = `${stack.saUrl}/console`;
  const issuer = stack.sa.config.auth.oidc?.issuer;
  if (!issuer?.startsWith(`${stack.emulatorUrl}/`)) return page;
  return stack.emulator.aad.signInLink(
    DEMO_SUPERVISOR.username,
    `${stack.saUrl}/auth/login?returnTo=${encodeURIComponent('/console')}`,
  );
}

export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

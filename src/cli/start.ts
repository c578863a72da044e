/**
 * `carechat start`: emulator + SA + web pages in one process (SA on PORT, default 3000; emulator on
 * EMULATOR_PORT, default 3001), then the ready line
 * `carechat ready: sa=<url> emulator=<url> console=<one-time sign-in link>`.
 */
import { DEMO_SUPERVISOR } from '../config/tenant.ts';
import { ConfigError } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import { type RunningStack, startStack } from '../stack/index.ts';
import { DEFAULT_DATA_DIR } from '../store/index.ts';
import { embedOriginsFrom, webRoutes } from '../web/index.ts';
import type { CliIo } from './io.ts';

function port(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new ConfigError([`${name}=${JSON.stringify(value)}: expected a port from 0 to 65535`]);
  return Number(value);
}

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.stderr(
      `carechat start: takes no arguments (got ${args.join(' ')}); configure it with environment variables (see README)`,
    );
    return 2;
  }
  const env = process.env;
  try {
    const logger = createLogger(env.LOG_LEVEL ?? 'info');
    const stack = await startStack({
      // The embedded store lives in ./data unless DATA_DIR or DATABASE_URL says otherwise.
      env: { DATA_DIR: DEFAULT_DATA_DIR, ...env },
      port: port(env.PORT, 'PORT', 3000),
      emulatorPort: port(env.EMULATOR_PORT, 'EMULATOR_PORT', 3001),
      host: env.HOST || '127.0.0.1',
      logger,
      extraRoutes: webRoutes({ embedOrigins: embedOriginsFrom(env) }),
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

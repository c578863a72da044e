import { pino } from 'pino';
import { logFormatFrom } from '../config/logging.ts';
import { type Env, noteDefault } from '../config/settings.ts';
import { DEMO_TENANT } from '../config/tenant.ts';
import { defaultEmulatorConfig, type EmulatorConfig, startEmulator } from '../emulator/index.ts';
import { createLogger } from '../runtime/logger.ts';
import { isRelPrefix } from '../wire/rels.ts';
import type { CommandHelp } from './help.ts';
import type { CliIo } from './io.ts';
import { describeListenError } from './listen.ts';

const USAGE =
  'usage: carechat emulator [--port N] [--host H] [--rel-prefix service:|ms:rtc:saas:] [--callback-url URL] [--sign-in-redirect URL]... [--public-url URL] [--heartbeat-ms N] [--anonymous-idle-ms N] [--callback-retries N] [--callback-retry-max-ms N]';

/** The emulator's own settings: only its logs (everything else is a flag). */
function logSettings(env: Env) {
  noteDefault(env, 'LOG_LEVEL', 'info');
  const level = env.LOG_LEVEL || 'info';
  return { level, format: logFormatFrom(env, process.stderr.isTTY === true) };
}

export const help: CommandHelp = {
  usage: USAGE,
  about: [
    'Runs the platform emulator alone: discovery, the AAD token endpoint and JWKS, the SA-side platform',
    'routes, anonymous UCWA for customers, simulated agents, the agent desk, signed callbacks, faults and',
    'the control API. Logs go to stderr; prints `carechat emulator ready: <url>`.',
  ],
  options: [
    '--port N                 where to listen (default 3001; 0 picks a free port)',
    '--host H                 the address to listen on (default 127.0.0.1)',
    '--rel-prefix P           link relation prefix: service: (default) or ms:rtc:saas:',
    "--callback-url URL       where the demo application's callbacks go (the SA's /callbacks)",
    '--sign-in-redirect URL   an extra redirect URI for operator sign-in (repeatable)',
    '--public-url URL         the URL the emulator puts in the links it hands out',
    '--heartbeat-ms N         callback heartbeat interval (0 = off)',
    '--anonymous-idle-ms N    idle time before an anonymous customer is dropped (0 = never)',
  ],
  readSettings: (env) => logSettings(env),
};

interface Options {
  port: number;
  host: string;
  config: Partial<EmulatorConfig>;
  /**
   * Redirect URIs registered for operator sign-in (the SA's <url>/auth/callback): from --sign-in-redirect,
   * and derived from --callback-url (same origin).
   */
  redirectUris: string[];
}

/** Parse the arguments; a string is the one-line complaint about them. */
export function parseEmulatorArgs(args: string[]): Options | string {
  const options: Options = { port: 3001, host: '127.0.0.1', config: {}, redirectUris: [] };
  for (let i = 0; i < args.length; i += 1) {
    const flag = args[i]!;
    const [name, inline] = flag.includes('=')
      ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)]
      : [flag, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) return undefined;
      i += 1;
      return next;
    };
    switch (name) {
      case '--port': {
        const text = value();
        const port = Number(text);
        if (text === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
          return `--port needs a number between 0 and 65535, got '${text ?? ''}'`;
        }
        options.port = port;
        break;
      }
      case '--host': {
        const host = value();
        if (!host) return '--host needs a host name or address';
        options.host = host;
        break;
      }
      case '--rel-prefix': {
        const prefix = value();
        if (!prefix || !isRelPrefix(prefix))
          return `--rel-prefix must be service: or ms:rtc:saas:, got '${prefix ?? ''}'`;
        options.config.relPrefix = prefix;
        break;
      }
      case '--heartbeat-ms': {
        const text = value();
        const ms = Number(text);
        if (text === undefined || !Number.isInteger(ms) || ms < 0) {
          return `--heartbeat-ms needs a whole number of milliseconds (0 = off), got '${text ?? ''}'`;
        }
        options.config.heartbeatIntervalMs = ms;
        break;
      }
      case '--sign-in-redirect': {
        const url = value();
        if (!url || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
          return `--sign-in-redirect needs an absolute http(s) URL, got '${url ?? ''}'`;
        }
        options.redirectUris.push(url);
        break;
      }
      case '--callback-retries': {
        // How often an undelivered callback is tried again (backoff doubling from 500 ms, at most 30 s
        // apart), like the platform retrying an SA that is restarting.
        const text = value();
        const n = Number(text);
        if (text === undefined || !Number.isInteger(n) || n < 0 || n > 100) {
          return `--callback-retries needs a whole number from 0 to 100, got '${text ?? ''}'`;
        }
        options.config.callbackRetries = n;
        break;
      }
      case '--callback-retry-max-ms': {
        // The longest wait between two attempts of one callback (default 30 s).
        const text = value();
        const ms = Number(text);
        if (text === undefined || !Number.isInteger(ms) || ms < 1 || ms > 3_600_000) {
          return `--callback-retry-max-ms needs a whole number of milliseconds from 1 to 3600000, got '${text ?? ''}'`;
        }
        options.config.callbackRetryMaxMs = ms;
        break;
      }
      case '--anonymous-idle-ms': {
        const text = value();
        const ms = Number(text);
        if (text === undefined || !Number.isInteger(ms) || ms < 0) {
          return `--anonymous-idle-ms needs a whole number of milliseconds (0 = never), got '${text ?? ''}'`;
        }
        options.config.anonymousIdleTimeoutMs = ms;
        break;
      }
      case '--callback-url':
      case '--public-url': {
        const url = value();
        if (!url || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
          return `${name} needs an absolute http(s) URL, got '${url ?? ''}'`;
        }
        if (name === '--public-url') options.config.publicUrl = url;
        else {
          options.config.applications = defaultEmulatorConfig().applications.map((app) =>
            app.applicationId === DEMO_TENANT.applicationId ? { ...app, callbackUrl: url } : app,
          );
          // The SA whose callbacks come here signs its operators in here too.
          options.redirectUris.push(`${new URL(url).origin}/auth/callback`);
        }
        break;
      }
      default:
        return `unknown argument '${flag}'`;
    }
  }
  return options;
}

/** `carechat emulator`: run the platform emulator alone until SIGINT/SIGTERM. */
export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(USAGE);
    return 0;
  }
  const options = parseEmulatorArgs(args);
  if (typeof options === 'string') {
    io.stderr(`carechat emulator: ${options}\n${USAGE}`);
    return 2;
  }
  let started: Awaited<ReturnType<typeof startEmulator>>;
  try {
    const { level, format } = logSettings(process.env);
    const logger = createLogger(level, pino.destination(2), format);
    started = await startEmulator({ port: options.port, host: options.host, config: options.config, logger });
  } catch (error) {
    const described = describeListenError(error, { '--port': options.port });
    io.stderr(`carechat emulator: ${(described as Error).message}`);
    return 1;
  }
  for (const uri of options.redirectUris) started.emulator.aad.allowRedirect(uri);
  io.stdout(`carechat emulator ready: ${started.url}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await started.close();
  return 0;
}

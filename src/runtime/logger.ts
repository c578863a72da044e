import pino from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from '../config/logging.ts';

/**
 * One logger for the process. Tokens and secrets are redacted wherever they appear in a log object;
 * message bodies are only ever logged at debug level by the code that has them. `format`: `json` (one
 * object a line, the default) or `pretty` (human-readable lines, written synchronously to the destination,
 * default stdout).
 */
export function createLogger(
  level = 'info',
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'carechat' },
    redact: {
      paths: [
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'clientSecret',
        '*.clientSecret',
      ],
      censor: '[redacted]',
    },
  };
  if (format === 'pretty') {
    const stream = pretty({
      sync: true,
      colorize: !destination && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
      ...(destination ? { destination: destination as NodeJS.WritableStream } : {}),
    });
    return pino(options, stream);
  }
  return pino(options, destination);
}

/** A logger that writes nothing (tests that do not look at logs). */
export const silentLogger = pino({ level: 'silent' });

import pino from 'pino';

/**
 * One logger for the process. Tokens and secrets are redacted wherever they appear in a log object;
 * message bodies are only ever logged at debug level by the code that has them.
 */
export function createLogger(level = 'info', destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
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
    },
    destination,
  );
}

/** A logger that writes nothing (tests that do not look at logs). */
export const silentLogger = pino({ level: 'silent' });

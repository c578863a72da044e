/**
 * LOG_FORMAT: `json` (one JSON object a line, for log collectors) or `pretty` (human-readable, coloured
 * on a terminal). Unset: pretty when stdout is a terminal, JSON otherwise.
 */
import { type Env, noteDefault } from './settings.ts';

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** The format LOG_FORMAT asks for; throws an Error naming the setting for any other value. */
export function logFormatFrom(env: Env, stdoutIsTty: boolean): LogFormat {
  noteDefault(env, 'LOG_FORMAT', 'pretty on a terminal, else json');
  const raw = env.LOG_FORMAT?.trim().toLowerCase();
  if (!raw) return stdoutIsTty ? 'pretty' : 'json';
  if ((LOG_FORMATS as readonly string[]).includes(raw)) return raw as LogFormat;
  throw new Error(`LOG_FORMAT=${JSON.stringify(env.LOG_FORMAT)}: expected one of ${LOG_FORMATS.join(', ')}`);
}

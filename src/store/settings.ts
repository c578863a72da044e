/**
 * The store's settings from environment variables: `DATABASE_URL` (a PostgreSQL server; several SA
 * instances can share it) or else `DATA_DIR` (the embedded PGlite database; `:memory:` keeps it in memory),
 * `LEASE_MS` and `RETENTION_DAYS`. Problems are collected, one line each naming the variable, so the SA's
 * configuration loader can report them with the others.
 */
import { noteDefault } from '../config/settings.ts';
import { show } from './errors.ts';

export interface StoreSettings {
  /** A postgres:// URL; when set, DATA_DIR is not used. */
  databaseUrl?: string;
  /** The embedded store's directory (created on first start), or `:memory:`. */
  dataDir: string;
  /** How long a session's lease lasts without renewal before another instance may take it over. */
  leaseMs: number;
  /** Ended sessions are purged this many days after they ended. */
  retentionDays: number;
}

export const DEFAULT_DATA_DIR = './data';
export const MEMORY = ':memory:';
export const DEFAULT_LEASE_MS = 10_000;
export const DEFAULT_RETENTION_DAYS = 30;

type Env = Record<string, string | undefined>;

export function storeSettingsFromEnv(env: Env): { settings: StoreSettings; problems: string[] } {
  const problems: string[] = [];
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    noteDefault(env, name, String(fallback));
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (/^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max) return Number(raw);
    problems.push(`${name}=${show(raw)}: expected an integer from ${min} to ${max}`);
    return fallback;
  };
  noteDefault(env, 'DATA_DIR', DEFAULT_DATA_DIR);
  const databaseUrl = value('DATABASE_URL');
  if (databaseUrl !== undefined) {
    const problem = databaseUrlProblem(databaseUrl);
    if (problem) problems.push(`DATABASE_URL=${show(redactUrl(databaseUrl))}: ${problem}`);
  }
  const settings: StoreSettings = {
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    dataDir: value('DATA_DIR') ?? DEFAULT_DATA_DIR,
    leaseMs: integer('LEASE_MS', DEFAULT_LEASE_MS, 1000, 3_600_000),
    retentionDays: integer('RETENTION_DAYS', DEFAULT_RETENTION_DAYS, 1, 36_500),
  };
  return { settings, problems };
}

/** Why `url` cannot be a DATABASE_URL, or undefined when it can. */
export function databaseUrlProblem(url: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || !URL.canParse(url)) {
    return 'expected a URL like postgres://user:password@host:5432/database';
  }
  const parsed = new URL(url);
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    return `expected a postgres:// or postgresql:// URL, got ${parsed.protocol}//…`;
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) return 'the URL names no host';
  return undefined;
}

/** The URL with its password replaced by `***` (for messages and logs), whatever shape the text has. */
export function redactUrl(url: string): string {
  return url
    .replace(
      /^([a-z][a-z0-9+.-]*:\/\/)?([^:@/]*):[^@/?#]*@/i,
      (_match, scheme: string | undefined, user: string) => `${scheme ?? ''}${user}:***@`,
    )
    .replace(/([?&](?:password|sslpassword)=)[^&#]*/gi, '$1***');
}

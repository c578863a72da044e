/**
 * The server engine: a PostgreSQL server at `DATABASE_URL`, through node-postgres. Statements go through a
 * pool; notifications come in on one extra connection that LISTENs and reconnects when it drops.
 */
import pg from 'pg';
import { StoreSetupError } from '../errors.ts';
import { databaseUrlProblem, redactUrl } from '../settings.ts';
import { type Engine, type Sql, sqlState } from './engine.ts';

export interface PostgresOptions {
  /** Called for trouble that does not stop the store (a dropped idle connection, a listener reconnecting). */
  onWarning?: (message: string) => void;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

/** Transactions that failed on a deadlock or a serialisation conflict are run again this many times. */
const RETRIES = 3;
const RETRYABLE = new Set(['40001', '40P01']);
const CONNECT_TIMEOUT_MS = 10_000;

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Engine> {
  const location = redactUrl(url);
  const urlProblem = databaseUrlProblem(url);
  if (urlProblem) throw new StoreSetupError('DATABASE_URL', `DATABASE_URL ${location}: ${urlProblem}`);
  const warn = options.onWarning ?? (() => {});
  const config: pg.PoolConfig = {
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'carechat',
  };
  const pool = new pg.Pool(config);
  pool.on('error', (error) => warn(`PostgreSQL: an idle connection failed: ${error.message}`));
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new StoreSetupError('DATABASE_URL', `DATABASE_URL ${location}: ${connectProblem(url, error)}`, {
      cause: error,
    });
  }

  const listener = new Listener(config, warn);
  let closed = false;
  const sqlOf = (client: pg.Pool | pg.PoolClient): Sql => ({
    async query<R>(text: string, params?: readonly unknown[]) {
      const result = await client.query(text, params as unknown[] | undefined);
      // A script without parameters returns one result per statement.
      const last = Array.isArray(result) ? result[result.length - 1] : result;
      return (last?.rows ?? []) as R[];
    },
  });

  return {
    kind: 'postgres',
    location,
    setting: 'DATABASE_URL',
    // A statement on its own is its own transaction: one that lost a deadlock (say, to the backend of a killed
    // instance still finishing its statement) or a serialization conflict was rolled back whole; run it again.
    async query<R>(text: string, params?: readonly unknown[]) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await sqlOf(pool).query<R>(text, params);
        } catch (error) {
          if (attempt < RETRIES && RETRYABLE.has(sqlState(error) ?? '')) continue;
          throw error;
        }
      }
    },
    async transaction(fn) {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        let broken: Error | undefined;
        try {
          await client.query('BEGIN');
          const result = await fn(sqlOf(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch((rollbackError: Error) => {
            broken = rollbackError; // the connection is gone: do not give it back to the pool
          });
          if (attempt < RETRIES && RETRYABLE.has(sqlState(error) ?? '')) continue;
          throw error;
        } finally {
          client.release(broken);
        }
      }
    },
    listen: (channel, handler) => listener.add(channel, handler),
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      await pool.end();
    },
  };
}

/** One connection that LISTENs on every channel asked for, and comes back when it drops. */
class Listener {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly warn: (message: string) => void,
  ) {}

  async add(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      const client = await this.connect();
      await client.query(`LISTEN ${channel}`);
    } else {
      await this.connect();
    }
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size > 0 || this.handlers.get(channel) !== set) return;
      this.handlers.delete(channel);
      await this.client?.query(`UNLISTEN ${channel}`).catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client(this.config);
      client.on('notification', (message) => {
        for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '');
      });
      client.on('error', (error) => this.lost(client, error));
      client.on('end', () => this.lost(client));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
      } catch (error) {
        client.removeAllListeners('end');
        await client.end().catch(() => {});
        throw error;
      } finally {
        this.connecting = undefined;
      }
      if (this.closed) {
        await client.end().catch(() => {});
        throw new Error('the store is closed');
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  /** The listening connection dropped: reconnect (signals sent meanwhile are lost; owners also poll). */
  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.closed || this.handlers.size === 0) return;
    this.warn(
      `PostgreSQL: the notification connection dropped${error ? ` (${error.message})` : ''}; reconnecting`,
    );
    this.retry(500);
  }

  private retry(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.connect().catch((error: Error) => {
        this.warn(`PostgreSQL: cannot reconnect the notification connection (${error.message})`);
        if (!this.closed) this.retry(Math.min(delayMs * 2, 30_000));
      });
    }, delayMs);
    this.retryTimer.unref?.();
  }
}

/** One line saying why the server could not be used. */
function connectProblem(url: string, error: unknown): string {
  const parsed = new URL(url);
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  const where = `${host}:${parsed.port || '5432'}`;
  const database =
    decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || 'postgres';
  const e = error as { code?: string; message?: string };
  switch (e?.code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where} (connection refused); is PostgreSQL running there?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host ${host} not found; check the host name`;
    case 'ETIMEDOUT':
      return `no answer from ${where}; check the host, the port and the firewall`;
    case '3D000':
      return `database "${database}" does not exist; create it (createdb ${database}) or fix the URL`;
    case '28P01':
      return `password authentication failed for user "${decodeURIComponent(parsed.username)}"; check the user and password`;
    case '28000':
      return `${e.message ?? 'the server refused the connection'}; check the user name and pg_hba.conf`;
    default:
      if (/timeout/i.test(e?.message ?? '')) {
        return `no answer from ${where} within ${CONNECT_TIMEOUT_MS / 1000} s; check the host, the port and the firewall`;
      }
      return `cannot use the database (${sqlState(error) ? `${e.code}: ` : ''}${e?.message ?? String(error)})`;
  }
}

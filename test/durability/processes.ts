/**
 * The durability tests' stack: `carechat emulator` and `carechat sa --emulator <url>` as separate
 * processes, started as a user starts them, the SA on a fixed port so a restart keeps its callback URL;
 * simulated agents that answer at once; and a scripted customer over the anonymous UCWA wire.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { AnonCustomer, type ReceivedMessage } from '../../src/bench/customer.ts';
import { BenchChild, CARECHAT_BIN } from '../../src/bench/processes.ts';
import { baseEnv, control } from '../../src/bench/stack.ts';
import { DEMO_AGENTS, DEMO_TENANT } from '../../src/config/tenant.ts';
import type { SessionListing, SessionRow } from '../../src/runtime/sessions.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The emulator, retrying each callback every 2 s at most for a minute (so a restarted SA gets what it missed
 * soon after it is back), with agents answering at once.
 */
export async function startEmulatorProcess(
  dir: string,
  options: { callbackRetries?: number } = {},
): Promise<BenchChild> {
  return BenchChild.start({
    name: 'emulator',
    args: [
      CARECHAT_BIN,
      'emulator',
      '--port',
      '0',
      '--callback-retries',
      String(options.callbackRetries ?? 30),
      '--callback-retry-max-ms',
      '2000',
    ],
    env: baseEnv(),
    ready: /carechat emulator ready: (\S+)/,
    logFile: join(dir, 'emulator.log'),
  });
}

export interface SaProcess {
  url: string;
  /** Starts a fresh SA process with the same settings (the previous one must be gone). */
  start(): Promise<BenchChild>;
}

/** An SA for `emulator` on a fixed port; `env` adds the store settings and anything else. */
export async function saProcess(
  dir: string,
  emulator: BenchChild,
  env: Record<string, string>,
  options: { nodeFlags?: string[] } = {},
): Promise<SaProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let generation = 0;
  const saEnv = {
    ...baseEnv(),
    ...(operatorEnv() as Record<string, string>),
    PORT: String(port),
    HOST: '127.0.0.1',
    CHAT_TOKEN_RATE_LIMIT: 'off',
    LOG_LEVEL: process.env.DURABILITY_LOG_LEVEL ?? 'warn',
    ...env,
  };
  await control(emulator.url, 'PUT', `/control/applications/${DEMO_TENANT.applicationId}/callback`, {
    url: `${url}/callbacks`,
  });
  for (const agent of DEMO_AGENTS) {
    await control(emulator.url, 'PUT', `/control/agents/${encodeURIComponent(agent.uri)}/behaviour`, {
      answer: 'accept',
      acceptDelayMs: 0,
      typingMs: 0,
    });
  }
  return {
    url,
    start: () =>
      BenchChild.start({
        name: 'sa',
        args: [CARECHAT_BIN, 'sa', '--emulator', emulator.url],
        env: saEnv,
        ready: /carechat sa ready: sa=(\S+)/,
        logFile: join(dir, `sa-${++generation}.log`),
        ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
      }),
  };
}

export interface ChatOutcome {
  name: string;
  leaver: boolean;
  /** The customer's messages, each answered by the agent. */
  sent: string[];
  error?: string;
}

/**
 * One customer: a token (asked again while the SA is down, as the page would), the welcome, then either
 * leaving at once (`leaver`) or the agent's greeting and two questions, each answered, then leaving.
 */
export async function chat(
  saUrl: string,
  name: string,
  opts: {
    leaver?: boolean;
    waitMs?: number;
    /** Awaited before the customer leaves (after their answers), e.g. until the SA has seen the agent join. */
    beforeLeave?: () => Promise<void>;
  } = {},
): Promise<ChatOutcome> {
  const waitMs = opts.waitMs ?? 90_000;
  const outcome: ChatOutcome = { name, leaver: opts.leaver ?? false, sent: [] };
  let customer: AnonCustomer | undefined;
  try {
    for (let attempt = 0; !customer; attempt += 1) {
      try {
        customer = await AnonCustomer.start(saUrl, { name });
      } catch (error) {
        if (attempt > 300) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const c = customer;
    // The helpdesk ending the conversation (a chat that failed) ends the wait at once.
    const ended = c
      .waitForEvent((e) => e.rel === 'conversation' && e.type === 'deleted', waitMs * 4)
      .then(
        () => {
          throw new Error('the helpdesk ended the conversation');
        },
        () => new Promise<never>(() => {}),
      );
    const message = (match: (m: ReceivedMessage) => boolean) =>
      Promise.race([c.waitForMessage(match, waitMs), ended]);
    const welcome = await message(() => true);
    if (outcome.leaver) {
      await c.leave();
      return outcome;
    }
    const greeting = await message((m) => m.from !== welcome.from);
    for (const question of [`${name}: question 1`, `${name}: question 2`]) {
      await c.send(question);
      outcome.sent.push(question);
      await message((m) => m.from === greeting.from && m.text === `You said: "${question}"`);
    }
    await opts.beforeLeave?.();
    await c.leave();
  } catch (error) {
    outcome.error = error instanceof Error ? error.message : String(error);
    await customer?.leave().catch(() => undefined);
  } finally {
    await customer?.close();
  }
  return outcome;
}

/**
 * Runs `count` chats, `concurrency` at a time, and more while `more()` says so; `make(n)` runs the n-th
 * (1-based).
 */
export async function runChats<T>(
  count: number,
  concurrency: number,
  make: (n: number) => Promise<T>,
  more: () => boolean = () => false,
): Promise<T[]> {
  let next = 0;
  const results: T[] = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count || more()) {
        next += 1;
        results.push(await make(next));
      }
    }),
  );
  return results;
}

/** Every stored session, all pages of `GET /sessions`. */
export async function allSessions(saUrl: string): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const response = await operatorFetch(`${saUrl}/sessions?limit=1000${query}`);
    if (response.status !== 200) throw new Error(`GET /sessions answered ${response.status}`);
    const page = (await response.json()) as SessionListing;
    rows.push(...page.sessions);
    cursor = page.nextCursor;
  } while (cursor);
  return rows;
}

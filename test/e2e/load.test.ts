/**
 * Load: LOAD_CUSTOMERS (default 200) customers at once over real HTTP, each writing as soon
 * as they are welcomed (before an agent has joined, mostly), each waiting for the agent's answer quoting
 * their own text, then leaving. The demo roster (three agents) answering at once, AGENT_CAPACITY=10 (so
 * most chats queue first, their customers writing while queued), no rate limit on chat tokens. Expected: every chat completed, no customer sees another's text, every
 * agent saw each customer message exactly once, nothing left open. Prints one line:
 * load: customers=… completed=… failed=… crossTalk=… duplicates=… openMeetings=… seconds=… cpuSeconds=…
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentMessage } from '../../src/emulator/agents.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { SessionRow } from '../../src/runtime/sessions.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';

const CUSTOMERS = Math.max(1, Number(process.env.LOAD_CUSTOMERS ?? 200));

let stack: RunningStack;

beforeAll(async () => {
  stack = await startStack({
    logger: silentLogger,
    env: operatorEnv({
      CHAT_TOKEN_RATE_LIMIT: 'off',
      AGENT_CAPACITY: '10',
      QUEUE_UPDATE_MS: '60000',
      RETRY_BASE_MS: '50',
      // Correctness under concurrency is the point here, not latency: a machine busy with other work must
      // not fail a chat by a step deadline.
      STEP_TIMEOUT_MS: '90000',
    }),
    emulatorConfig: {
      // Agents answer at once (no greeting, no typing): every message is the customer's or its answer.
      agentBehaviour: { acceptDelayMs: 20, typingMs: 0, greeting: '' },
      // Retried for about 25 s (50 ms doubling, 2 s at most), as the platform keeps retrying: on a machine
      // this busy a callback can find the SA's store busy (503) a few times in a row.
      callbackRetryBaseMs: 50,
      callbackRetryMaxMs: 2_000,
      callbackRetries: 16,
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

const textOf = (i: number) => `question from customer ${i}`;

/** Chats started at once from one machine: how many customers open their chat at the same moment. */
const OPENING_AT_ONCE = 25;

/**
 * Every customer opens the chat; at most OPENING_AT_ONCE are in the middle of opening it at any moment
 * (token, discovery, application, invitation: a burst of 800 connections from one process is a test of
 * the machine's sockets, not of the SA), and all of them chat at the same time.
 */
async function startAll(count: number): Promise<AnonCustomer[]> {
  const customers: AnonCustomer[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(OPENING_AT_ONCE, count) }, async () => {
      while (next < count) {
        const i = next++;
        customers[i] = await AnonCustomer.start(stack.saUrl, { name: `Load ${i}` });
      }
    }),
  );
  return customers;
}

describe('load', () => {
  it(`${CUSTOMERS} customers at once, each writing before an agent joins: all completed, no cross-talk`, async () => {
    const started = Date.now();
    const cpu = process.cpuUsage();
    const customers = await startAll(CUSTOMERS);
    try {
      const welcome = stack.sa.config.chat.welcomeText;
      const problems: string[] = [];
      await Promise.all(
        customers.map(async (customer, i) => {
          try {
            await customer.waitForMessage((m) => m.text === welcome, 60_000);
            await customer.send(textOf(i));
            await customer.waitForMessage((m) => m.text === `You said: "${textOf(i)}"`, 90_000);
            await customer.leave();
          } catch (error) {
            problems.push(`Load ${i}: ${String(error).slice(0, 200)}`);
          }
        }),
      );
      const views = await eventually(
        async () => {
          const response = await operatorFetch(`${stack.saUrl}/sessions?limit=1000`);
          return ((await response.json()) as { sessions: SessionRow[] }).sessions;
        },
        (list) => {
          const open = list.filter((s) => s.state !== 'terminated');
          if (open.length)
            throw new Error(
              `${open.length} sessions not terminated yet: ${open
                .slice(0, 3)
                .map(
                  (s) =>
                    `${s.customer.name} ${JSON.stringify(s.stateValue)} (updated ${s.updatedAt.slice(11, 23)})`,
                )
                .join('; ')}`,
            );
        },
        { timeout: 30_000 },
      );
      const crossTalk = customers.filter((customer, i) =>
        customer.messages.some((m) =>
          [...m.text.matchAll(/question from customer (\d+)/g)].some((match) => Number(match[1]) !== i),
        ),
      ).length;
      const seen: AgentMessage[] = [];
      for (const uri of ['sip:alice@contoso.com', 'sip:bob@contoso.com', 'sip:carol@contoso.com']) {
        const desk = (await (
          await fetch(`${stack.emulatorUrl}/control/agents/${encodeURIComponent(uri)}`)
        ).json()) as { conversations: Array<{ messages: AgentMessage[] }> };
        seen.push(
          ...desk.conversations.flatMap((c) =>
            c.messages.filter((m) => m.direction === 'in' && m.origin === 'customer'),
          ),
        );
      }
      const counts = new Map<string, number>();
      for (const m of seen) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
      const duplicates = [...counts.values()].filter((n) => n > 1).length;
      const stats = (await (await fetch(`${stack.emulatorUrl}/control/stats`)).json()) as {
        openMeetings: number;
      };
      const completed = views.filter((s) => s.outcome === 'completed').length;
      for (const v of views.filter((s) => s.outcome !== 'completed')) {
        problems.push(`${v.customer.name}: ${v.outcome} ${JSON.stringify(v.error)} (session ${v.id})`);
      }
      console.log(
        `load: customers=${CUSTOMERS} completed=${completed} failed=${views.length - completed} ` +
          `crossTalk=${crossTalk} duplicates=${duplicates} openMeetings=${stats.openMeetings} ` +
          `seconds=${((Date.now() - started) / 1000).toFixed(1)} cpuSeconds=${(process.cpuUsage(cpu).user / 1e6).toFixed(1)}`,
      );
      expect(problems).toEqual([]);
      expect(views).toHaveLength(CUSTOMERS);
      expect(
        views.filter((s) => s.outcome !== 'completed').map((s) => `${s.customer.name}: ${s.outcome}`),
      ).toEqual([]);
      expect(crossTalk).toBe(0);
      expect(duplicates).toBe(0);
      await eventually(
        async () =>
          ((await (await fetch(`${stack.emulatorUrl}/control/stats`)).json()) as { openMeetings: number })
            .openMeetings,
        (open) => expect(open).toBe(0),
        { timeout: 15_000 },
      );
    } finally {
      await Promise.all(customers.map((customer) => customer.close()));
    }
  }, 180_000);
});

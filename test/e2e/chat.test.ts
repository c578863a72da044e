/**
 * The whole 22-step customer chat over real HTTP: scripted anonymous customer ⇄ emulator ⇄ SA.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackEvent } from '../../machines/events.ts';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import type { RequestLogEntry } from '../../src/emulator/index.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { SessionRow, SessionView } from '../../src/runtime/sessions.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';

let stack: RunningStack;

/** An AAD token for the demo application, as the SA gets one. */
async function platformToken(): Promise<string> {
  const response = await fetch(`${stack.emulatorUrl}/${DEMO_TENANT.tenantId}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: DEMO_TENANT.clientId,
      client_secret: DEMO_TENANT.clientSecret,
      resource: DEMO_TENANT.platformAudience,
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  // 3 agents × 17 chats each: all 50 chats of the concurrency test run at the same time; 51 chats start
  // from one address within seconds: above the default CHAT_TOKEN_RATE_LIMIT (20/60s).
  stack = await startStack({
    logger: silentLogger,
    env: operatorEnv({ AGENT_CAPACITY: '17', CHAT_TOKEN_RATE_LIMIT: '100/60s' }),
  });
});
afterAll(async () => {
  await stack?.close();
});

async function sessions(): Promise<SessionRow[]> {
  const response = await operatorFetch(`${stack.saUrl}/sessions?limit=1000`);
  return ((await response.json()) as { sessions: SessionRow[] }).sessions;
}

async function sessionOf(customerName: string): Promise<SessionRow> {
  return eventually(
    async () => (await sessions()).find((s) => s.customer.name === customerName),
    (s) => {
      if (!s) throw new Error(`no session for ${customerName} yet`);
    },
  ) as Promise<SessionRow>;
}

async function waitForState(id: string, state: string, timeout = 10_000): Promise<SessionView> {
  return eventually(
    async () => (await (await operatorFetch(`${stack.saUrl}/sessions/${id}`)).json()) as SessionView,
    (view) => expect(view.state).toBe(state),
    { timeout },
  );
}

const DOCUMENTED_ORDER = [
  'invited',
  'adhocMeeting',
  'conferenced',
  'bridged',
  'welcomed',
  'agentsJoined',
  'closed',
  'terminated',
];

function topLevel(view: SessionView): string[] {
  const states: string[] = [];
  for (const { state } of view.history) {
    const top = state.split('.')[0]!;
    if (states.at(-1) !== top) states.push(top);
  }
  return states;
}

describe('customer chat end to end', () => {
  it('runs all 22 steps: welcome, agent, typing and messages both ways, leave, conference terminated', async () => {
    const routed: Array<{ event: CallbackEvent; sessionId: string | undefined }> = [];
    const unsubscribe = stack.sa.sessions.onCallbackEvent((event, sessionId) =>
      routed.push({ event, sessionId }),
    );
    const logStart = stack.emulator.log.list({}).at(-1)?.seq ?? 0;
    const customer = await AnonCustomer.start(stack.saUrl, { name: 'Ada Customer' });
    try {
      const session = await sessionOf('Ada Customer');

      // Step 13: the welcome reaches the customer through the bridge.
      await customer.waitForMessage((m) => m.text === stack.sa.config.chat.welcomeText);
      // Steps 14–17: an agent joins and greets; the customer sees the agent typing first.
      const greeting = await customer.waitForMessage((m) => m.from !== stack.sa.config.chat.helpdeskName);
      expect(greeting.from).toBeTruthy();
      await waitForState(session.id, 'agentsJoined');
      expect(customer.typing.length).toBeGreaterThan(0);

      // Steps 18–19: the customer types and writes; the agent receives it and answers with the text.
      await customer.startTyping();
      await customer.send('my order 1234 is late');
      const reply = await customer.waitForMessage((m) => m.text.includes('my order 1234 is late'));
      expect(reply.from).toBe(greeting.from);
      await eventually(
        async () =>
          (
            (await (await operatorFetch(`${stack.saUrl}/sessions/${session.id}/transcript`)).json()) as {
              entries: Array<{
                kind: string;
                text?: string;
                leg?: string;
                isTyping?: boolean;
                from?: string;
              }>;
            }
          ).entries,
        (entries) => {
          expect(entries.some((e) => e.kind === 'message' && e.text === 'my order 1234 is late')).toBe(true);
          expect(entries.some((e) => e.kind === 'typing' && e.isTyping && e.from === 'Ada Customer')).toBe(
            true,
          );
          // The agent's answer, observed by the SA on the conference leg.
          expect(
            entries.some(
              (e) =>
                e.kind === 'message' &&
                e.text !== 'my order 1234 is late' &&
                !!e.text?.includes('my order 1234 is late'),
            ),
          ).toBe(true);
        },
      );

      // Steps 20–22: the customer leaves; the SA terminates the conference.
      await customer.leave();
      const done = await waitForState(session.id, 'terminated');
      expect(topLevel(done)).toEqual(DOCUMENTED_ORDER);
      expect(done.outcome).toBe('completed');

      // Every callback that echoes one of our operationIds answers the side effect that carried it.
      const ours = routed.filter(({ event }) => event.operationId?.startsWith(`${session.id}.`));
      expect(ours.every(({ sessionId }) => sessionId === session.id)).toBe(true);
      const echoed = new Map<string, Set<string>>();
      for (const { event } of ours) {
        const kind = 'kind' in event ? `${event.type}:${event.kind}` : event.type;
        echoed.set(event.operationId!, (echoed.get(event.operationId!) ?? new Set()).add(kind));
      }
      expect([...echoed.keys()].every((op) => done.operations.includes(op))).toBe(true);
      expect(echoed.get(`${session.id}.adhocMeeting`)).toEqual(
        new Set(['callback.invitationStarted:onlineMeeting', 'callback.invitationCompleted:onlineMeeting']),
      );
      expect(echoed.get(`${session.id}.addMessaging`)).toContain('callback.invitationStarted:messaging');
      expect(echoed.get(`${session.id}.welcome`)).toContain('callback.messageCompleted');
      expect(echoed.get(`${session.id}.offer.0`)).toContain('callback.invitationStarted:participant');
      // …and each of those side effects reached the platform carrying that operationId.
      const requests = stack.emulator.log.list({ kind: 'request', since: logStart }) as RequestLogEntry[];
      for (const op of done.operations) {
        expect(
          requests.some((r) => r.operationId === op && r.status < 300),
          `request with operationId ${op}`,
        ).toBe(true);
      }

      // The conference was deleted (204), and the platform no longer knows it.
      const conference = done.conversations.conference!;
      const conferencePath = new URL(conference).pathname;
      expect(
        requests.some((r) => r.method === 'DELETE' && r.path.startsWith(conferencePath) && r.status === 204),
      ).toBe(true);
      const token = await platformToken();
      const after = await fetch(conference, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
      expect(after.status).toBe(404);
      expect(((await after.json()) as { code: string }).code).toBe('NotFound');

      // The session's chart: the final state lit, the path it took highlighted.
      const chart = await operatorFetch(`${stack.saUrl}/sessions/${session.id}/chart.svg`);
      expect(chart.status).toBe(200);
      expect(chart.headers.get('content-type')).toContain('image/svg+xml');
      const svg = await chart.text();
      expect(svg).toMatch(/<g id="state:chatSession\.terminated" class="[^"]*\bcurrent\b/);
      expect(svg).toMatch(/class="[^"]*\btaken\b/);
    } finally {
      unsubscribe();
      await customer.close();
    }
  });

  it('runs 50 concurrent chats, each with its own messages and no cross-talk', async () => {
    const customers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => AnonCustomer.start(stack.saUrl, { name: `Parallel ${i}` })),
    );
    try {
      await Promise.all(
        customers.map(async (customer, i) => {
          await customer.waitForMessage((m) => m.text === stack.sa.config.chat.welcomeText, 30_000);
          await customer.waitForMessage((m) => m.from !== stack.sa.config.chat.helpdeskName, 30_000);
          await customer.send(`question from customer ${i}`);
          await customer.waitForMessage((m) => m.text.includes(`question from customer ${i}`), 30_000);
        }),
      );
      customers.forEach((customer, i) => {
        const numbers = customer.messages.flatMap((m) =>
          [...m.text.matchAll(/question from customer (\d+)/g)].map((match) => Number(match[1])),
        );
        expect(new Set(numbers), `customer ${i} saw another chat's text`).toEqual(new Set([i]));
      });
      await Promise.all(customers.map((customer) => customer.leave()));
      await eventually(
        async () => (await sessions()).filter((s) => s.customer.name?.startsWith('Parallel ')),
        (list) => {
          expect(list).toHaveLength(50);
          expect(
            list.filter((s) => s.state !== 'terminated').map((s) => `${s.customer.name}:${s.state}`),
          ).toEqual([]);
          expect(list.every((s) => s.outcome === 'completed')).toBe(true);
        },
        { timeout: 30_000 },
      );
    } finally {
      await Promise.all(customers.map((customer) => customer.close()));
    }
  }, 120_000);
});

/**
 * Webhook delivery from the store's outbox to a local receiver (node:http) that verifies every request with
 * the standardwebhooks library: every event arrives signed, a 500 is retried, a chat's events arrive in
 * order, events written before a restart are delivered after it, private targets are refused unless
 * allowed, and an event is given up after 24 h so the chat's later events still go.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import { Metrics } from '../../src/ops/metrics.ts';
import {
  enqueueChatEvent,
  isInternalAddress,
  type WebhookSettings,
  WebhookWorker,
  webhookSettingsFromEnv,
  webhookStatusBoard,
} from '../../src/ops/webhooks.ts';
import { loadSaConfig } from '../../src/runtime/config.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { startStack } from '../../src/stack/index.ts';
import { createOrchestrator } from '../../src/stack/orchestrator.ts';
import { type Lease, MEMORY, openStore, type PersistedSnapshot, type Store } from '../../src/store/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorHeaders } from '../helpers/operator.ts';
import { parsePrometheus } from '../helpers/prometheus.ts';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  payload: { type: string; timestamp: string; data: { sessionId: string; n: number } };
}

/** A receiver that verifies each request; `answer` picks the status (default 204). */
async function receiver(answer: (payload: Received['payload'], seen: number) => number = () => 204) {
  const verifier = new Webhook(SECRET);
  const received: Received[] = [];
  const invalid: string[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      try {
        const payload = verifier.verify(body, req.headers as Record<string, string>) as Received['payload'];
        const seen = received.filter((r) => r.headers['webhook-id'] === req.headers['webhook-id']).length;
        received.push({ headers: req.headers, body, payload });
        res.statusCode = answer(payload, seen);
      } catch (error) {
        invalid.push(String(error));
        res.statusCode = 400;
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, received, invalid };
}

function snapshot(): PersistedSnapshot {
  return { status: 'active', value: 'invited', context: {}, children: {} } as unknown as PersistedSnapshot;
}

async function memoryStore(now?: () => number): Promise<Store> {
  const store = await openStore({ dataDir: MEMORY, ...(now ? { now } : {}) });
  cleanup.push(() => store.close());
  return store;
}

async function session(store: Store, id: string): Promise<Lease> {
  const lease = await store.sessions.create('sa-1', id, {
    machineId: 'chatSession',
    machineVersion: 1,
    snapshot: snapshot(),
    deadlines: {},
  });
  if (!lease) throw new Error(`session ${id} exists`);
  return lease;
}

/** Writes `count` events for the session, each in its own transaction (as the runtime would). */
async function events(store: Store, lease: Lease, count: number) {
  for (let n = 1; n <= count; n += 1) {
    await store.transaction((tx) =>
      enqueueChatEvent(tx, lease, n === 1 ? 'chat.started' : 'chat.assigned', {
        sessionId: lease.sessionId,
        n,
      }),
    );
  }
}

function worker(store: Store, settings: Partial<WebhookSettings> & { urls: string[] }, extra = {}) {
  const metrics = new Metrics({ queueLength: () => 0, agents: () => [] });
  const w = new WebhookWorker({
    outbox: store.webhooks,
    settings: { secret: SECRET, allowPrivate: true, ...settings },
    logger: silentLogger,
    metrics,
    pollMs: 20,
    retryBaseMs: 20,
    ...extra,
  });
  cleanup.push(() => w.stop());
  return { worker: w, metrics };
}

const deliveries = async (metrics: Metrics) =>
  Object.fromEntries(
    (await metrics.webhookDeliveries.get()).values.map((v) => [
      `${v.labels.event}/${v.labels.result}`,
      v.value,
    ]),
  );

describe('webhook delivery', () => {
  it('delivers every event signed, retries after a 500, and keeps each chat in order', async () => {
    // The first attempt at chat A's second event fails with a 500.
    const hooks = await receiver((payload, seen) =>
      payload.data.sessionId === 'A' && payload.data.n === 2 && seen === 0 ? 500 : 204,
    );
    const store = await memoryStore();
    const [a, b] = [await session(store, 'A'), await session(store, 'B')];
    await events(store, a, 3);
    await events(store, b, 3);
    const { worker: w, metrics } = worker(store, { urls: [hooks.url] });
    w.start();

    await eventually(
      async () => hooks.received.filter((r) => r.payload.data.sessionId === 'A').length,
      (count) => expect(count).toBe(4),
    );
    await eventually(
      async () => hooks.received.length,
      (count) => expect(count).toBe(7),
    );
    expect(hooks.invalid).toEqual([]);
    const order = (id: string) =>
      hooks.received.filter((r) => r.payload.data.sessionId === id).map((r) => r.payload.data.n);
    // A's second event twice (the 500, then its retry), and its third only after the second got through.
    expect(order('A')).toEqual([1, 2, 2, 3]);
    expect(order('B')).toEqual([1, 2, 3]);
    const retried = hooks.received.filter((r) => r.payload.data.sessionId === 'A' && r.payload.data.n === 2);
    expect(retried[0]!.headers['webhook-id']).toBe(retried[1]!.headers['webhook-id']);

    const first = hooks.received[0]!;
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Object.keys(JSON.parse(first.body)).sort()).toEqual(['data', 'timestamp', 'type']);
    expect(first.payload.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);

    await eventually(
      () => deliveries(metrics),
      (counts) =>
        expect(counts).toEqual({
          'chat.started/delivered': 2,
          'chat.assigned/delivered': 4,
          'chat.assigned/failed': 1,
        }),
    );
  });

  it('delivers after a restart what was written before it (the outbox is in the store)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'carechat-webhooks-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const before = await openStore({ dataDir: dir });
    await events(before, await session(before, 'R'), 3);
    await before.close(); // the SA dies before it delivered anything

    const hooks = await receiver();
    const after = await openStore({ dataDir: dir });
    cleanup.push(() => after.close());
    worker(after, { urls: [hooks.url] }).worker.start();
    await eventually(
      async () => hooks.received.map((r) => r.payload.data.n),
      (order) => expect(order).toEqual([1, 2, 3]),
    );
  });

  it('refuses private and loopback targets unless WEBHOOK_ALLOW_PRIVATE, resolving host names', async () => {
    const hooks = await receiver();
    const store = await memoryStore();
    await events(store, await session(store, 'P'), 1);
    const resolved: string[] = [];
    const { worker: w, metrics } = worker(
      store,
      { urls: [hooks.url, 'http://hooks.internal.example/in'], allowPrivate: false },
      {
        resolve: async (host: string) => {
          resolved.push(host);
          return ['10.1.2.3'];
        },
      },
    );
    await w.deliverDue();
    expect(hooks.received).toEqual([]);
    expect(resolved).toEqual(['hooks.internal.example']);
    expect(await deliveries(metrics)).toEqual({ 'chat.started/refused': 1 });
  });

  it('gives an event up after 24 h, so the chat’s later events still go', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const hooks = await receiver((payload) => (payload.data.n === 1 ? 503 : 204));
    const store = await memoryStore(() => now);
    await events(store, await session(store, 'G'), 2);
    const { worker: w, metrics } = worker(store, { urls: [hooks.url] }, { now: () => now });
    await w.deliverDue(); // attempt 1 fails
    now += 25 * 3_600_000;
    await w.deliverDue(); // attempt 2 fails: 25 h old, given up
    await w.deliverDue(); // the next event of the chat
    expect(hooks.received.map((r) => r.payload.data.n)).toEqual([1, 1, 2]);
    expect(await deliveries(metrics)).toEqual({
      'chat.started/failed': 1,
      'chat.started/expired': 1,
      'chat.assigned/delivered': 1,
    });
  });
});

describe('the orchestrator', () => {
  it('runs the delivery worker once started when WEBHOOK_URLS is set, counted in /metrics', async () => {
    const hooks = await receiver();
    const emulator = await startEmulator({ logger: silentLogger });
    cleanup.push(() => emulator.close());
    const store = await memoryStore();
    const config = loadSaConfig(
      operatorEnv({ WEBHOOK_URLS: hooks.url, WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true' }),
      { emulatorUrl: emulator.url },
    );
    const sa = createOrchestrator(config, { logger: silentLogger, webhookOutbox: store.webhooks });
    cleanup.push(() => sa.stop());
    await events(store, await session(store, 'O'), 1);
    await sa.start();
    await eventually(
      async () => hooks.received.length,
      (count) => expect(count).toBe(1),
    );
    // Counted once the receiver's answer is back at the worker (just after the receiver saw the request).
    await eventually(
      async () =>
        parsePrometheus(await (await sa.fetch(new Request('http://sa.test/metrics'))).text()).value(
          'carechat_webhook_deliveries_total',
          { event: 'chat.started', result: 'delivered' },
        ),
      (delivered) => expect(delivered).toBe(1),
    );
    // The console's view of the deliveries (supervisors only).
    expect((await sa.fetch(new Request('http://sa.test/console/api/webhooks'))).status).toBe(401);
    const status = await sa.fetch(
      new Request('http://sa.test/console/api/webhooks', { headers: operatorHeaders }),
    );
    expect(await status.json()).toEqual({
      configured: true,
      targets: [hooks.url],
      totals: { delivered: 1, failed: 0, refused: 0, expired: 0 },
      recentFailures: [],
    });
  });
});

describe('the console webhook status', () => {
  it('keeps the totals and the latest failures, newest first', () => {
    const board = webhookStatusBoard(['https://user:pw@crm.example/hooks?key=1'], 2);
    const attempt = (id: number, result: 'delivered' | 'failed') => ({
      id,
      event: 'chat.ended',
      sessionId: 's',
      result,
      attempts: 1,
      ...(result === 'failed' ? { error: `answered 50${id}` } : {}),
      at: Date.parse('2026-01-01T00:00:00Z') + id,
    });
    for (const [id, result] of [
      [1, 'failed'],
      [2, 'delivered'],
      [3, 'failed'],
      [4, 'failed'],
    ] as const)
      board.record(attempt(id, result));
    const status = board.status();
    expect(status.targets).toEqual(['https://crm.example/hooks']);
    expect(status.totals).toEqual({ delivered: 1, failed: 3, refused: 0, expired: 0 });
    expect(status.recentFailures.map((f) => f.error)).toEqual(['answered 504', 'answered 503']);
  });
});

describe('webhook settings', () => {
  it('need a whsec_ secret with the URLs, and http(s) URLs', () => {
    const problems: string[] = [];
    expect(webhookSettingsFromEnv({}, problems)).toBeUndefined();
    expect(
      webhookSettingsFromEnv(
        { WEBHOOK_URLS: 'https://a.example/h, https://b.example/h', WEBHOOK_SECRET: SECRET },
        problems,
      ),
    ).toEqual({
      urls: ['https://a.example/h', 'https://b.example/h'],
      secret: SECRET,
      allowPrivate: false,
      retryBaseMs: 5_000,
    });
    expect(
      webhookSettingsFromEnv(
        { WEBHOOK_URLS: 'https://a.example/h', WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_BASE_MS: '250' },
        problems,
      )?.retryBaseMs,
    ).toBe(250);
    expect(problems).toEqual([]);
    webhookSettingsFromEnv({ WEBHOOK_URLS: 'https://a.example/h' }, problems);
    webhookSettingsFromEnv({ WEBHOOK_URLS: 'https://a.example/h', WEBHOOK_SECRET: 'hunter2' }, problems);
    webhookSettingsFromEnv(
      { WEBHOOK_URLS: 'https://a.example/h', WEBHOOK_SECRET: 'whsec_c2hvcnQ=' },
      problems,
    );
    webhookSettingsFromEnv(
      { WEBHOOK_URLS: 'ftp://a.example', WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'yes' },
      problems,
    );
    for (const wrong of ['50', '5s', '3600001'])
      webhookSettingsFromEnv(
        { WEBHOOK_URLS: 'https://a.example/h', WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_BASE_MS: wrong },
        problems,
      );
    expect(problems).toEqual([
      expect.stringMatching(/^WEBHOOK_SECRET is required when WEBHOOK_URLS is set: expected whsec_/),
      expect.stringMatching(/^WEBHOOK_SECRET: expected whsec_ followed by base64/),
      expect.stringMatching(/^WEBHOOK_SECRET: .*\(it decodes to 5 bytes\)$/),
      'WEBHOOK_ALLOW_PRIVATE="yes": expected true or false',
      'WEBHOOK_URLS: "ftp://a.example" is not an http(s) URL',
      ...['"50"', '"5s"', '"3600001"'].map(
        (wrong) => `WEBHOOK_RETRY_BASE_MS=${wrong}: expected milliseconds from 100 to 3600000 (default 5000)`,
      ),
    ]);
  });

  it('tell internal addresses from public ones', () => {
    for (const internal of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isInternalAddress(internal), internal).toBe(true);
    }
    for (const external of ['8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:1.1.1.1']) {
      expect(isInternalAddress(external), external).toBe(false);
    }
  });
});

describe('chat events over webhooks', () => {
  it('a chat nobody served sends left_message.created with the customer’s messages, then chat.ended', async () => {
    const hooks = await receiver();
    const stack = await startStack({
      logger: silentLogger,
      env: operatorEnv({ WEBHOOK_URLS: hooks.url, WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true' }),
    });
    cleanup.push(() => stack.close());
    // Every agent away: the chat waits in the queue.
    for (const agent of stack.sa.router.agents()) {
      const set = await fetch(`${stack.saUrl}/agents/${encodeURIComponent(agent.uri)}/presence`, {
        method: 'PUT',
        headers: { ...operatorHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ presence: 'away' }),
      });
      expect(set.status).toBe(200);
    }
    const customer = await AnonCustomer.start(stack.saUrl, { name: 'Unserved Customer' });
    cleanup.push(() => customer.close());
    await customer.waitForMessage(() => true);
    await customer.send('please call me back');
    await eventually(
      () => stack.sa.sessions.transcript(stack.sa.sessions.list()[0]?.id ?? '') ?? [],
      (entries) => expect(entries.map((e) => e.text)).toContain('please call me back'),
    );
    await customer.leave();
    const types = await eventually(
      async () => hooks.received.map((r) => r.payload.type),
      (seen) => expect(seen).toContain('chat.ended'),
      { timeout: 20_000 },
    );
    expect(hooks.invalid).toEqual([]);
    expect(types).toEqual(['chat.started', 'left_message.created', 'chat.ended']);
    const left = hooks.received[1]!.payload.data as unknown as {
      outcome: string;
      customer: { name: string };
      messages: Array<{ text?: string }>;
    };
    expect(left.outcome).toBe('abandoned');
    expect(left.customer.name).toBe('Unserved Customer');
    expect(left.messages.map((m) => m.text)).toEqual(['please call me back']);
  }, 60_000);

  it('a real chat sends chat.started, chat.assigned and chat.ended in order, signed, with the transcript', async () => {
    const hooks = await receiver();
    const stack = await startStack({
      logger: silentLogger,
      env: operatorEnv({ WEBHOOK_URLS: hooks.url, WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true' }),
    });
    cleanup.push(() => stack.close());
    const customer = await AnonCustomer.start(stack.saUrl, { name: 'Hooked Customer' });
    cleanup.push(() => customer.close());
    const welcome = await customer.waitForMessage(() => true);
    const greeting = await customer.waitForMessage((m) => m.from !== welcome.from);
    await customer.send('is this hooked?');
    await customer.waitForMessage((m) => m.from === greeting.from && m.text.includes('is this hooked?'));
    await customer.leave();
    const types = await eventually(
      async () => hooks.received.map((r) => r.payload.type),
      (seen) => expect(seen).toContain('chat.ended'),
      { timeout: 20_000 },
    );
    expect(hooks.invalid).toEqual([]);
    expect(types).toEqual(['chat.started', 'chat.assigned', 'chat.ended']);
    const ended = hooks.received.at(-1)!.payload.data as unknown as {
      sessionId: string;
      outcome: string;
      transcript: Array<{ kind: string; text?: string }>;
    };
    expect(new Set(hooks.received.map((r) => r.payload.data.sessionId))).toEqual(new Set([ended.sessionId]));
    expect(ended.outcome).toBe('completed');
    expect(ended.transcript.filter((e) => e.kind === 'message').map((e) => e.text)).toContain(
      'is this hooked?',
    );
  }, 60_000);
});

/**
 * Webhooks survive `kill -9`: the emulator and the SA run as separate processes (the SA on a PGlite store in
 * a temporary DATA_DIR) and a local receiver (node:http, verifying every request with the standardwebhooks
 * library) first answers 500 while chats run, the SA is killed with SIGKILL mid-chat, the receiver is down
 * while the SA restarts on the same DATA_DIR and the interrupted chat ends, then the receiver answers 200.
 * It must get every event of every chat (chat.started, chat.assigned, chat.ended), validly signed, none lost
 * (the store's outbox has nothing left to deliver), in order per chat; a redelivery of the same webhook-id
 * is allowed (at least once). Retries start at WEBHOOK_RETRY_BASE_MS=100 so the test waits seconds, not
 * minutes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, expect, it } from 'vitest';
import type { BenchChild } from '../../src/bench/processes.ts';
import { openStore } from '../../src/store/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { allSessions, chat, freePort, runChats, saProcess, startEmulatorProcess } from './processes.ts';

const SECRET = `whsec_${Buffer.from('kill-nine-webhook-secret-0123456').toString('base64')}`;
const dir = mkdtempSync(join(tmpdir(), 'carechat-webhooks-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Delivery {
  webhookId: string;
  type: string;
  sessionId: string;
  customer?: string;
  status: number;
}

/** The receiver: on `port`, answering `status()`; `close()` takes it down (connections refused). */
function receiver(port: number) {
  const verifier = new Webhook(SECRET);
  const deliveries: Delivery[] = [];
  const invalid: string[] = [];
  let status = 500;
  let server: Server | undefined;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    invalid,
    answer(code: number) {
      status = code;
    },
    open: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer((req, res) => {
          let body = '';
          req.on('data', (chunk: Buffer) => {
            body += chunk.toString('utf8');
          });
          req.on('end', () => {
            try {
              const event = verifier.verify(body, req.headers as Record<string, string>) as {
                type: string;
                data: { sessionId: string; customer?: { name?: string } };
              };
              deliveries.push({
                webhookId: String(req.headers['webhook-id']),
                type: event.type,
                sessionId: event.data.sessionId,
                ...(event.data.customer?.name ? { customer: event.data.customer.name } : {}),
                status,
              });
              res.statusCode = status;
            } catch (error) {
              invalid.push(String(error));
              res.statusCode = 400;
            }
            res.end();
          });
        });
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
        server = undefined;
      }),
  };
}

/** The outbox id in a webhook-id (`evt_<id>`): the order the SA wrote the events in. */
const seq = (webhookId: string) => Number(webhookId.replace(/^evt_/, ''));

it('delivers every chat event, signed, none lost and in order per chat, across 500s, a kill -9 and a restart', async () => {
  const hooks = receiver(await freePort());
  await hooks.open();
  const dataDir = join(dir, 'data');
  const emulator = await startEmulatorProcess(dir);
  let sa: BenchChild | undefined;
  try {
    const stack = await saProcess(dir, emulator, {
      DATA_DIR: dataDir,
      WEBHOOK_URLS: hooks.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_BASE_MS: '100',
    });
    sa = await stack.start();

    // 1. The receiver answers 500: two whole chats, and a third one interrupted after the agent's greeting.
    const outcomes = await runChats(2, 2, (n) => chat(stack.url, `Hooked ${n}`, { waitMs: 30_000 }));
    expect(outcomes.filter((o) => o.error).map((o) => `${o.name}: ${o.error}`)).toEqual([]);
    const interrupted = await AnonCustomer.start(stack.url, { name: 'Hooked 3' });
    try {
      const welcome = await interrupted.waitForMessage(() => true, 30_000);
      const greeting = await interrupted.waitForMessage((m) => m.from !== welcome.from, 30_000);
      await eventually(
        async () => hooks.deliveries.filter((d) => d.status === 500).map((d) => d.customer),
        (failed) => expect(failed).toContain('Hooked 3'),
        { timeout: 15_000 },
      );

      // 2. kill -9 with every event undelivered; the receiver is down while the SA restarts on the same
      //    DATA_DIR and the interrupted chat goes on to its end.
      await sa.kill();
      await hooks.close();
      sa = await stack.start();
      await interrupted.send('still there after the restart?');
      await interrupted.waitForMessage(
        (m) => m.from === greeting.from && m.text.includes('still there after the restart?'),
        30_000,
      );
      await interrupted.leave();
    } finally {
      await interrupted.close();
    }
    const sessions = await eventually(
      () => allSessions(stack.url),
      (rows) => {
        expect(rows).toHaveLength(3);
        expect(rows.map((r) => r.state)).toEqual(['terminated', 'terminated', 'terminated']);
      },
      { timeout: 30_000 },
    );
    const accepted = () => hooks.deliveries.filter((d) => d.status === 200);

    // 3. The receiver is back and answers 200: every event of every chat arrives.
    hooks.answer(200);
    await hooks.open();
    const expected = ['chat.started', 'chat.assigned', 'chat.ended'];
    await eventually(
      async () => sessions.map((s) => accepted().filter((d) => d.sessionId === s.id).length),
      (counts) => expect(counts.every((n) => n >= expected.length)).toBe(true),
      { timeout: 45_000, interval: 200 },
    );
    expect(hooks.invalid).toEqual([]);

    for (const session of sessions) {
      const mine = hooks.deliveries.filter((d) => d.sessionId === session.id);
      // At least once: a webhook-id may come again; each event once it is deduplicated.
      const firstSeen = [...new Map(mine.map((d) => [d.webhookId, d])).values()];
      expect(
        firstSeen.map((d) => d.type),
        session.customer.name,
      ).toEqual(expected);
      // In order per chat: a chat's next event is not sent before its previous one was accepted.
      const ids = mine.map((d) => seq(d.webhookId));
      expect(ids, session.customer.name).toEqual([...ids].sort((a, b) => a - b));
      const accepts = accepted().filter((d) => d.sessionId === session.id);
      expect([...new Set(accepts.map((d) => d.type))], session.customer.name).toEqual(expected);
      // Each event was refused with a 500 before the kill, or sent while the receiver was down: retried.
      expect(mine.some((d) => d.status === 500)).toBe(true);
    }
    expect(new Set(hooks.deliveries.map((d) => d.customer).filter(Boolean))).toEqual(
      new Set(['Hooked 1', 'Hooked 2', 'Hooked 3']),
    );

    // None lost: once the SA has stopped, its outbox holds nothing undelivered, even a day later.
    await sa.stop();
    sa = undefined;
    const store = await openStore({ dataDir, now: () => Date.now() + 86_400_000 });
    try {
      expect(await store.webhooks.claim({ limit: 1000 })).toEqual([]);
    } finally {
      await store.close();
    }
  } finally {
    await sa?.stop();
    await emulator.stop();
    await hooks.close();
  }
}, 120_000);

/**
 * Webhooks survive `kill -9`: the emulator and the SA run as separate processes (the SA on a PGlite store in
 * a temporary DATA_DIR) and a local receiver (node:http, verifying every request with the standardwebhooks
 * library) first answers 500 while chats run, the SA is killed with SIGKILL mid-chat, the receiver is down
 * while the SA restarts on the same DATA_DIR and the interrupted chat ends, then the receiver answers 200.
 * It must get every event of every chat (chat.started, chat.assigned, chat.ended), validly signed, none lost
 * (every event in the store's outbox accepted, nothing left to deliver), in order per chat; a redelivery of
 * the same webhook-id is allowed (at least once). Retries start at WEBHOOK_RETRY_BASE_MS=100 so the test
 * waits seconds, not minutes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Webhook } from 'standardwebhooks';
import { afterAll, expect, it } from 'vitest';
import type { BenchChild } from '../../src/bench/processes.ts';
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

/** Every event in the store's outbox, by id (read with PGlite directly, while no SA holds DATA_DIR). */
async function readOutbox(dataDir: string) {
  const db = await PGlite.create({ dataDir: join(dataDir, 'pglite') });
  try {
    const { rows } = await db.query<{ id: number; session_id: string | null; delivered: boolean }>(
      'SELECT id::int AS id, session_id, delivered_at IS NOT NULL AS delivered FROM webhook_outbox ORDER BY id',
    );
    return rows.map((row) => ({ id: row.id, sessionId: row.session_id, delivered: row.delivered }));
  } finally {
    await db.close();
  }
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
    // The agent's answers reach the customer through the meeting's bridge, perhaps before the SA has handled
    // the news of the agent joining: each customer leaves once the SA has the agent, so each chat is served.
    const served = (name: string) => () =>
      eventually(
        () => allSessions(stack.url),
        (rows) => expect(rows.find((r) => r.customer.name === name)?.agents.length ?? 0).toBeGreaterThan(0),
        { timeout: 30_000, interval: 100 },
      ).then(() => undefined);
    const outcomes = await runChats(2, 2, (n) =>
      chat(stack.url, `Hooked ${n}`, { waitMs: 30_000, beforeLeave: served(`Hooked ${n}`) }),
    );
    expect(outcomes.filter((o) => o.error).map((o) => `${o.name}: ${o.error}`)).toEqual([]);
    const interrupted = await AnonCustomer.start(stack.url, { name: 'Hooked 3' });
    try {
      const welcome = await interrupted.waitForMessage(() => true, 30_000);
      const greeting = await interrupted.waitForMessage((m) => m.from !== welcome.from, 30_000);
      // Killed once the store has the agent's join (and so chat.assigned in the outbox): a kill while the
      // offer is still in flight is the crash test's business (the chat may end before the platform's
      // retried callbacks tell the restarted SA the agent joined).
      await eventually(
        () => allSessions(stack.url),
        (rows) =>
          expect(rows.find((r) => r.customer.name === 'Hooked 3')?.agents.length ?? 0).toBeGreaterThan(0),
        { timeout: 15_000, interval: 100 },
      );
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
    await eventually(
      async () =>
        sessions.map((s) => accepted().some((d) => d.sessionId === s.id && d.type === 'chat.ended')),
      (ended) => expect(ended).toEqual([true, true, true]),
      { timeout: 45_000, interval: 200 },
    );
    // What the SA wrote to its outbox: read once it has stopped (it may still have had events to send, such
    // as a late left message: then it runs once more until the receiver has accepted every one).
    await sa.stop();
    sa = undefined;
    let outbox = await readOutbox(dataDir);
    if (outbox.some((row) => !row.delivered)) {
      sa = await stack.start();
      await eventually(
        async () => new Set(accepted().map((d) => d.webhookId)),
        (ids) => expect(outbox.filter((row) => !ids.has(`evt_${row.id}`))).toEqual([]),
        { timeout: 30_000, interval: 200 },
      );
      await sa.stop();
      sa = undefined;
      outbox = await readOutbox(dataDir);
    }
    expect(hooks.invalid).toEqual([]);
    // None lost: every event the SA wrote was accepted (once deduplicated by webhook-id), nothing else was.
    expect(outbox.filter((row) => !row.delivered)).toEqual([]);
    expect(new Set(accepted().map((d) => d.webhookId))).toEqual(
      new Set(outbox.map((row) => `evt_${row.id}`)),
    );

    for (const session of sessions) {
      const name = session.customer.name;
      const mine = hooks.deliveries.filter((d) => d.sessionId === session.id);
      // In order per chat: each event first arrived after every earlier event of its chat (at least once: a
      // webhook-id may come again, never an earlier one after a later one).
      const ids = mine.map((d) => seq(d.webhookId));
      expect(ids, name).toEqual([...ids].sort((a, b) => a - b));
      const firstSeen = [...new Set(ids)];
      expect(firstSeen, name).toEqual(
        outbox.filter((row) => row.sessionId === session.id).map((row) => row.id),
      );
      // Every chat was served by one agent: its three events, each once deduplicated.
      const types = [...new Map(mine.map((d) => [d.webhookId, d.type])).values()];
      expect(types, name).toEqual(['chat.started', 'chat.assigned', 'chat.ended']);
      expect(session.agents, name).toHaveLength(1);
      // Refused with a 500 before the kill, or sent while the receiver was down: retried until accepted.
      expect(mine.some((d) => d.status === 500)).toBe(true);
    }
    expect(sessions.map((s) => s.customer.name).sort()).toEqual(['Hooked 1', 'Hooked 2', 'Hooked 3']);
  } finally {
    await sa?.stop();
    await emulator.stop();
    await hooks.close();
  }
}, 120_000);

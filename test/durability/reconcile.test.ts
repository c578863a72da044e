/**
 * Reconciliation after a restart: a customer leaves while the SA is down and the platform gives up on the
 * callbacks saying so (an emulator that does not retry them). The restarted SA asks the platform about
 * each resumed chat, learns the customer's conversation is gone, and ends the chat (meeting released)
 * instead of waiting for the idle timeout.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { AnonCustomer } from '../../src/bench/customer.ts';
import type { BenchChild } from '../../src/bench/processes.ts';
import { control } from '../../src/bench/stack.ts';
import { eventually } from '../helpers/eventually.ts';
import { allSessions, saProcess, startEmulatorProcess } from './processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'carechat-reconcile-'));
afterAll(() => {
  if (process.env.CRASH_KEEP) console.warn(`reconcile test: logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

it('a chat whose customer left while the SA was down, unannounced, ends once the SA is back', async () => {
  const emulator = await startEmulatorProcess(dir, { callbackRetries: 0 });
  let sa: BenchChild | undefined;
  let customer: AnonCustomer | undefined;
  try {
    const stack = await saProcess(dir, emulator, {
      DATA_DIR: join(dir, 'data'),
      INSTANCE_ID: 'reconcile-test',
      LOG_LEVEL: 'info',
    });
    sa = await stack.start();
    customer = await AnonCustomer.start(stack.url, { name: 'Reconcile Customer' });
    const welcome = await customer.waitForMessage(() => true, 30_000);
    await customer.waitForMessage((m) => m.from !== welcome.from, 30_000);
    // The agent's greeting reaches the customer through the meeting's bridge, perhaps before the SA has
    // handled the meeting's news of the agent joining: wait for the SA to be there too.
    const [before] = await eventually(
      () => allSessions(stack.url),
      (rows) => expect(rows[0]?.state).toBe('agentsJoined'),
      { timeout: 10_000, interval: 100 },
    );

    await sa.kill();
    await customer.leave();
    // The platform tried once to say so, and gave up.
    await eventually(
      () => control(emulator.url, 'GET', '/control/log?kind=callback') as Promise<{ entries: unknown[] }>,
      ({ entries }) => {
        const failed = (entries as Array<{ events: string[]; status: number | null }>).filter(
          (e) => e.status === null && e.events.some((text) => text.includes('conversation deleted')),
        );
        expect(failed.length).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 100 },
    );

    sa = await stack.start();
    const [after] = await eventually(
      () => allSessions(stack.url),
      (rows) => expect(rows[0]?.state).toBe('terminated'),
      { timeout: 20_000, interval: 200 },
    );
    expect(after?.id).toBe(before?.id);
    expect(after?.outcome).toBe('completed');
    const stats = (await control(emulator.url, 'GET', '/control/stats')) as Record<string, number>;
    expect(stats.openMeetings).toBe(0);
    expect(stats.openConversations).toBe(0);
    const lines = readFileSync(sa.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('missed while the SA was down'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).toContain('callback.conversationDeleted');
    expect(lines.join('\n')).toContain(before?.id);
  } finally {
    await customer?.close();
    await sa?.stop();
    await emulator.stop();
  }
}, 120_000);

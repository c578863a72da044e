/**
 * An agent's presence an operator sets (PUT /agents/:uri/presence) is kept in the session store: an SA
 * restarted on the same DATA_DIR still has the agent away, and with several instances on one PostgreSQL,
 * presence set through one instance is taken by the others within about a second.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import { loadSaConfig } from '../../src/runtime/config.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { AgentView } from '../../src/runtime/router.ts';
import { type RunningSa, startSa } from '../../src/stack/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';
import { findTestPostgres, missingPostgresPolicy } from '../helpers/postgres.ts';

const BOB = 'sip:bob@contoso.com';
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});
const found = await findTestPostgres();
afterAll(async () => {
  if (!('unavailable' in found)) await found.dropAll();
});

async function sa(emulatorUrl: string, env: Record<string, string>): Promise<RunningSa> {
  const started = await startSa({
    config: loadSaConfig(
      { ...(operatorEnv(env) as Record<string, string>), PORT: '0', HOST: '127.0.0.1' },
      { emulatorUrl },
    ),
    logger: silentLogger,
  });
  cleanup.push(() => started.close());
  return started;
}

async function presenceOf(saUrl: string, uri: string): Promise<string | undefined> {
  const { agents } = (await (await operatorFetch(`${saUrl}/agents`)).json()) as { agents: AgentView[] };
  return agents.find((agent) => agent.uri === uri)?.presence;
}

async function setPresence(saUrl: string, uri: string, presence: string): Promise<void> {
  const response = await operatorFetch(`${saUrl}/agents/${encodeURIComponent(uri)}/presence`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ presence }),
  });
  expect(response.status).toBe(200);
}

it('keeps presence an operator set across an SA restart on the same DATA_DIR', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'carechat-presence-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const emulator = await startEmulator({ logger: silentLogger });
  cleanup.push(() => emulator.close());

  const first = await sa(emulator.url, { DATA_DIR: dataDir });
  expect(await presenceOf(first.url, BOB)).toBe('available');
  await setPresence(first.url, BOB, 'away');
  expect(await presenceOf(first.url, BOB)).toBe('away');
  // A graceful stop waits for the presence write.
  await first.close();

  const second = await sa(emulator.url, { DATA_DIR: dataDir });
  expect(await presenceOf(second.url, BOB)).toBe('away');
  expect(await presenceOf(second.url, 'sip:alice@contoso.com')).toBe('available');
  await setPresence(second.url, BOB, 'available');
  await second.close();
  const third = await sa(emulator.url, { DATA_DIR: dataDir });
  expect(await presenceOf(third.url, BOB)).toBe('available');
}, 60_000);

if ('unavailable' in found) {
  const policy = missingPostgresPolicy(found.unavailable);
  if (policy.fail)
    it('several instances share presence (PostgreSQL)', () => {
      throw new Error(policy.message);
    });
  else it.skip(`several instances share presence (${policy.message})`, () => {});
} else {
  const server = found;
  it('several instances share presence (PostgreSQL): set through one, taken by the other', async () => {
    const databaseUrl = await server.createDatabase();
    const emulator = await startEmulator({ logger: silentLogger });
    cleanup.push(() => emulator.close());
    const a = await sa(emulator.url, { DATABASE_URL: databaseUrl, INSTANCE_ID: 'presence-a' });
    const b = await sa(emulator.url, { DATABASE_URL: databaseUrl, INSTANCE_ID: 'presence-b' });
    await setPresence(a.url, BOB, 'offline');
    await eventually(
      () => presenceOf(b.url, BOB),
      (presence) => expect(presence).toBe('offline'),
      { timeout: 10_000, interval: 100 },
    );
    await setPresence(b.url, BOB, 'available');
    await eventually(
      () => presenceOf(a.url, BOB),
      (presence) => expect(presence).toBe('available'),
      { timeout: 10_000, interval: 100 },
    );
  }, 60_000);
}

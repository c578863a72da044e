/**
 * GET /readyz: 200 while the platform (and every injected check, e.g. the store) answers and the SA is
 * not stopping; 503 with the reason otherwise, and back to 200 when the platform is back. /healthz stays
 * a liveness check throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import { loadSaConfig } from '../../src/runtime/config.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { type RunningSa, startSa } from '../../src/stack/index.ts';
import { createOrchestrator } from '../../src/stack/orchestrator.ts';
import { operatorEnv } from '../helpers/operator.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function readyz(url: string) {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; reason?: string } };
}

async function startPair(readinessChecks?: Array<() => Promise<void>>) {
  let emulator = await startEmulator({ logger: silentLogger });
  const port = Number(new URL(emulator.url).port);
  cleanup.push(() => emulator.close());
  const config = loadSaConfig(operatorEnv({ PORT: '0' }), { emulatorUrl: emulator.url });
  const orchestrator = createOrchestrator(config, {
    logger: silentLogger,
    ...(readinessChecks ? { readinessChecks } : {}),
  });
  await orchestrator.start();
  const { serve } = await import('@hono/node-server');
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: orchestrator.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const address = server.address() as { port: number };
  cleanup.push(async () => {
    await orchestrator.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${address.port}`,
    orchestrator,
    stopPlatform: () => emulator.close(),
    async restartPlatform() {
      emulator = await startEmulator({ port, logger: silentLogger });
      cleanup.push(() => emulator.close());
    },
  };
}

describe('GET /readyz', () => {
  it('goes 503 naming the platform when the emulator is stopped, and back to 200 when it is back', async () => {
    const sa = await startPair();
    expect(await readyz(sa.url)).toEqual({ status: 200, body: { ready: true } });

    await sa.stopPlatform();
    const down = await readyz(sa.url);
    expect(down.status).toBe(503);
    expect(down.body.ready).toBe(false);
    expect(down.body.reason).toMatch(/^platform: 127\.0\.0\.1:\d+ unreachable/);
    // Liveness is not readiness: the process still serves.
    expect((await fetch(`${sa.url}/healthz`)).status).toBe(200);

    await sa.restartPlatform();
    expect(await readyz(sa.url)).toEqual({ status: 200, body: { ready: true } });
  });

  it('goes 503 with the reason an injected check (the store) gives, and 200 once it passes', async () => {
    let storeUp = false;
    const sa = await startPair([
      async function store() {
        if (!storeUp) throw new Error('connection refused');
      },
    ]);
    expect(await readyz(sa.url)).toEqual({
      status: 503,
      body: { ready: false, reason: 'store: connection refused' },
    });
    storeUp = true;
    expect(await readyz(sa.url)).toEqual({ status: 200, body: { ready: true } });
  });

  it('is 503 before start() has the callback keys and once stop() was called', async () => {
    const config = loadSaConfig(operatorEnv(), { emulatorUrl: 'http://127.0.0.1:9' });
    const orchestrator = createOrchestrator(config, { logger: silentLogger });
    const before = await orchestrator.fetch(new Request('http://sa.test/readyz'));
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({
      ready: false,
      reason: 'the SA is starting (store, callback keys and stored chats not loaded yet)',
    });
    await orchestrator.stop();
    const after = await orchestrator.fetch(new Request('http://sa.test/readyz'));
    expect(await after.json()).toEqual({ ready: false, reason: 'the SA is stopping' });
  });

  it('is 503 while a started SA stops', async () => {
    const sa: RunningSa = await startSa({
      config: loadSaConfig(operatorEnv({ PORT: '0' }), { emulatorUrl: (await platform()).url }),
      logger: silentLogger,
    });
    await sa.orchestrator.stop();
    const response = await sa.app.request('/readyz');
    expect(response.status).toBe(503);
    await sa.close();
  });
});

async function platform() {
  const emulator = await startEmulator({ logger: silentLogger });
  cleanup.push(() => emulator.close());
  return emulator;
}

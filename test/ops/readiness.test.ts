/**
 * GET /readyz: 200 while the platform, the store (and every injected check) answer and the SA is not
 * stopping; 503 with the reason otherwise, and back to 200 when the platform or the store is back (the
 * store on a real PostgreSQL server whose database stops taking connections). /healthz stays a liveness
 * check throughout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.ts';
import { loadSaConfig } from '../../src/runtime/config.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { type RunningSa, startSa } from '../../src/stack/index.ts';
import { createOrchestrator } from '../../src/stack/orchestrator.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv } from '../helpers/operator.ts';
import { findTestPostgres, missingPostgresPolicy } from '../helpers/postgres.ts';

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

describe('GET /readyz with the store on a PostgreSQL server', async () => {
  const found = await findTestPostgres();
  if ('unavailable' in found) {
    const policy = missingPostgresPolicy(found.unavailable);
    if (policy.fail)
      it('PostgreSQL is reachable for the readiness test', () => {
        throw new Error(policy.message);
      });
    else it.skip(policy.message, () => {});
    return;
  }
  const server = found;

  it('goes 503 naming the store while its database refuses connections, and back to 200', async () => {
    const databaseUrl = await server.createDatabase();
    cleanup.push(() => server.drop(databaseUrl));
    const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
    const emulator = await platform();
    const config = loadSaConfig(operatorEnv({ DATA_DIR: undefined, DATABASE_URL: databaseUrl }), {
      emulatorUrl: emulator.url,
    });
    const sa = createOrchestrator(config, { logger: silentLogger });
    await sa.start();
    cleanup.push(() => sa.stop());
    const readyz = async () => {
      const response = await sa.fetch(new Request('http://sa.test/readyz'));
      return {
        status: response.status,
        body: (await response.json()) as { ready: boolean; reason?: string },
      };
    };
    expect(await readyz()).toEqual({ status: 200, body: { ready: true } });

    // The database goes away: no new connections, and the SA's open ones are cut.
    await server.exec(
      server.adminUrl,
      `ALTER DATABASE "${name}" ALLOW_CONNECTIONS false;
       SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`,
    );
    let restored = false;
    cleanup.push(async () => {
      if (!restored) await server.exec(server.adminUrl, `ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    });
    const down = await eventually(readyz, (r) => expect(r.status).toBe(503), {
      timeout: 15_000,
      interval: 100,
    });
    expect(down.body.ready).toBe(false);
    // Named by the store; the database's own words: a pooled connection it cut, or a new one it refuses.
    expect(down.body.reason).toMatch(
      /^store: .*(terminating connection|not currently accepting connections)/,
    );
    expect((await sa.fetch(new Request('http://sa.test/healthz'))).status).toBe(200);

    await server.exec(server.adminUrl, `ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    restored = true;
    expect(
      await eventually(readyz, (r) => expect(r.status).toBe(200), { timeout: 15_000, interval: 100 }),
    ).toEqual({
      status: 200,
      body: { ready: true },
    });
  });
});

async function platform() {
  const emulator = await startEmulator({ logger: silentLogger });
  cleanup.push(() => emulator.close());
  return emulator;
}

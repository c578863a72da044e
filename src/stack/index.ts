/**
 * Starting the SA (alone, against a configured API) and the whole stack (emulator + SA in one process,
 * as `npm start` does and as the end-to-end tests do, on port 0).
 *
 * This is the wiring layer: it sits above src/sa, src/runtime and src/emulator, which never import it;
 * only the CLI and the tests do.
 */
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type pino from 'pino';
import type { PlatformClient } from '../api/index.ts';
import { DEMO_TENANT } from '../config/tenant.ts';
import { type Emulator, type EmulatorConfig, startEmulator } from '../emulator/index.ts';
import { type Clock, systemClock } from '../runtime/clock.ts';
import { loadSaConfig, type SaConfig } from '../runtime/config.ts';
import { createLogger } from '../runtime/logger.ts';
import type { Router } from '../runtime/router.ts';
import type { SessionManager } from '../runtime/sessions.ts';
import { CALLBACK_PATH as SIGN_IN_CALLBACK_PATH } from '../sa/auth/routes.ts';
import { MEMORY } from '../store/index.ts';
import { createOrchestrator, type Orchestrator } from './orchestrator.ts';

export interface RunningSa {
  url: string;
  app: Hono;
  orchestrator: Orchestrator;
  sessions: SessionManager;
  router: Router;
  client: PlatformClient;
  config: SaConfig;
  close(): Promise<void>;
}

export interface StartSaOptions {
  config: SaConfig;
  logger: pino.Logger;
  clock?: Clock;
  /** Mounted at `/` after the SA's own routes (customer page, charts). */
  extraRoutes?: Array<(app: Hono) => void>;
}

/**
 * How long an idle keep-alive connection stays open: longer than the idle timeouts of the clients and
 * proxies in front (60 s on common load balancers), so that one reusing a connection never meets a socket
 * the server is closing that instant (a reset the client cannot tell from a failure). Node's default is 5 s.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export function listen(app: Hono, port: number, host: string): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info: AddressInfo) => {
      resolve({ server, url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}` });
    });
    keepConnections(server);
    server.once('error', reject);
  });
}

/** Idle connections stay open KEEP_ALIVE_TIMEOUT_MS (headers must be allowed a little longer). */
export function keepConnections(server: ServerType): void {
  const s = server as ServerType & { keepAliveTimeout?: number; headersTimeout?: number };
  s.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  s.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
}

export function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    const s = server as ServerType & { closeAllConnections?: () => void };
    server.close(() => resolve());
    s.closeAllConnections?.();
  });
}

export async function startSa({
  config,
  logger,
  clock = systemClock,
  extraRoutes = [],
}: StartSaOptions): Promise<RunningSa> {
  const ownOrigins: string[] = [];
  let publicUrl = config.publicUrl ?? '';
  const orchestrator = createOrchestrator(config, {
    logger,
    clock,
    extraRoutes,
    allowedOrigins: () => ownOrigins,
    publicUrl: () => publicUrl,
  });
  await orchestrator.start();
  const { app } = orchestrator;
  const { router, sessionManager: sessions, client } = orchestrator.internals;
  // A port that cannot be had (busy, not allowed): the started SA stops (its store, timers and workers
  // would otherwise keep the process alive) before the error goes up.
  const { server, url } = await listen(app, config.port, config.host).catch(async (error: unknown) => {
    await orchestrator.stop().catch(() => {});
    throw error;
  });
  publicUrl = config.publicUrl ?? url;
  ownOrigins.push(new URL(publicUrl).origin, url.replace('127.0.0.1', 'localhost'));
  logger.info({ url: publicUrl, callbacks: `${publicUrl}${config.callbackPath}` }, 'SA listening');
  return {
    url: publicUrl,
    app,
    orchestrator,
    sessions,
    router,
    client,
    config,
    async close() {
      await orchestrator.stop();
      await closeServer(server);
    },
  };
}

export interface StackOptions {
  /**
   * Environment for the SA's configuration (defaults point at the in-process emulator). Without DATA_DIR
   * or DATABASE_URL the sessions are kept in an in-memory store (`carechat start` sets DATA_DIR).
   */
  env?: Record<string, string | undefined>;
  /** Ports; 0 picks a free one. Default 0 (tests); `carechat start` passes PORT / EMULATOR_PORT. */
  port?: number;
  emulatorPort?: number;
  host?: string;
  logger?: pino.Logger;
  clock?: Clock;
  emulatorConfig?: Partial<EmulatorConfig>;
  extraRoutes?: Array<(app: Hono) => void>;
}

export interface RunningStack {
  saUrl: string;
  emulatorUrl: string;
  emulator: Emulator;
  sa: RunningSa;
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<RunningStack> {
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? createLogger(opts.env?.LOG_LEVEL ?? 'info');
  const emulator = await startEmulator({
    port: opts.emulatorPort ?? 0,
    host,
    ...(opts.emulatorConfig ? { config: opts.emulatorConfig } : {}),
    logger: logger.child({ component: 'emulator' }),
  });
  let sa: RunningSa;
  try {
    const config = loadSaConfig(
      // Without a store named, a stack (tests, the bench) keeps its sessions in an in-memory PGlite.
      { DATA_DIR: MEMORY, ...opts.env, PORT: String(opts.port ?? 0), HOST: host },
      { emulatorUrl: emulator.url },
    );
    sa = await startSa({
      config,
      logger,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.extraRoutes ? { extraRoutes: opts.extraRoutes } : {}),
    });
    emulator.emulator.setCallbackUrl(DEMO_TENANT.applicationId, `${sa.url}${config.callbackPath}`);
    emulator.emulator.aad.allowRedirect(`${sa.url}${SIGN_IN_CALLBACK_PATH}`);
    emulator.emulator.aad.allowRedirect(`${sa.url}${SIGN_IN_CALLBACK_PATH}`);
  } catch (error) {
    await emulator.close();
    throw error;
  }
  return {
    saUrl: sa.url,
    emulatorUrl: emulator.url,
    emulator: emulator.emulator,
    sa,
    async close() {
      await sa.close();
      await emulator.close();
    },
  };
}

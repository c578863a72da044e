/**
 * Starting the SA (alone, against a configured API) and the whole stack (emulator + SA in one process,
 * as `npm start` does and as the end-to-end tests do, on port 0).
 */
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type pino from 'pino';
import { createPlatformClient, type PlatformClient } from '../api/index.ts';
import { verifierFromOpenIdMetadata } from '../callbacks/verify.ts';
import { DEMO_TENANT } from '../config/tenant.ts';
import { type Emulator, type EmulatorConfig, startEmulator } from '../emulator/index.ts';
import { isOpen } from '../routing/index.ts';
import { createSaApp } from '../sa/app.ts';
import { type Clock, systemClock } from './clock.ts';
import { loadSaConfig, type SaConfig } from './config.ts';
import { provideChatSession } from './effects.ts';
import { createLogger } from './logger.ts';
import { Router } from './router.ts';
import { SessionManager } from './sessions.ts';

export interface RunningSa {
  url: string;
  app: Hono;
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
  const client = createPlatformClient({
    discoverUrl: config.api.discoverUrl,
    endpointUri: config.api.endpointUri,
    auth: {
      tokenUrl: config.api.tokenUrl,
      clientId: config.api.clientId,
      clientSecret: config.api.clientSecret,
      resource: config.api.resource,
    },
    timeoutMs: config.api.timeoutMs,
    allowedHosts: config.api.allowedHosts,
    logger: logger.child({ component: 'api' }),
    now: () => clock.now(),
  });
  const verifier = await verifierFromOpenIdMetadata(config.callbackAuth.openIdMetadataUrl, {
    audience: config.callbackAuth.audience,
    issuers: config.callbackAuth.issuers,
    appId: config.callbackAuth.appId,
    now: () => new Date(clock.now()),
  });
  let sessions: SessionManager | undefined;
  const router = new Router({
    roster: config.agents.map((agent) => ({ ...agent, capacity: config.routing.capacity })),
    strategy: config.routing.strategy,
    capacity: config.routing.capacity,
    maxMissedInRow: config.routing.maxMissedInRow,
    avgHandleMs: config.routing.avgHandleMs,
    skillsFallback: config.routing.skillsFallback,
    clock,
    logger: logger.child({ component: 'routing' }),
    send: (sessionId, event) => queueMicrotask(() => sessions?.deliver(sessionId, event)),
  });
  const skills = new Set(config.agents.flatMap((agent) => agent.skills ?? []));
  sessions = new SessionManager({
    logic: provideChatSession({
      client,
      clock,
      logger,
      // Relayed messages show their time as the helpdesk's business hours read it.
      ...(config.routing.businessHours !== 'always'
        ? { timeZone: config.routing.businessHours.timeZone }
        : {}),
    }),
    clock,
    logger,
    settings: config.chat,
    router,
    // The customer page sends the chosen topic as the invitation's subject.
    topicOf: (invitation) => {
      const topic = invitation.subject?.trim().toLowerCase();
      return topic && skills.has(topic) ? topic : undefined;
    },
    isOpen: () => isOpen(config.routing.businessHours, clock.now()),
  });
  const ownOrigins: string[] = [];
  const app = createSaApp({
    sessions,
    router,
    client,
    verifier,
    logger,
    isOpen: () => isOpen(config.routing.businessHours, clock.now()),
    callbackPath: config.callbackPath,
    endpointUri: config.api.endpointUri,
    allowedOrigins: () => [...config.allowedOrigins, ...ownOrigins],
    extraRoutes,
    tokenRateLimit: config.chatTokenRateLimit,
    trustProxy: config.trustProxy,
    now: () => clock.now(),
  });
  const { server, url } = await listen(app, config.port, config.host);
  const publicUrl = config.publicUrl ?? url;
  ownOrigins.push(new URL(publicUrl).origin, url.replace('127.0.0.1', 'localhost'));
  logger.info({ url: publicUrl, callbacks: `${publicUrl}${config.callbackPath}` }, 'SA listening');
  return {
    url: publicUrl,
    app,
    sessions,
    router,
    client,
    config,
    async close() {
      sessions.stop();
      await closeServer(server);
    },
  };
}

export interface StackOptions {
  /** Environment for the SA's configuration (defaults point at the in-process emulator). */
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
      { ...opts.env, PORT: String(opts.port ?? 0), HOST: host },
      { emulatorUrl: emulator.url },
    );
    sa = await startSa({
      config,
      logger,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.extraRoutes ? { extraRoutes: opts.extraRoutes } : {}),
    });
    emulator.emulator.setCallbackUrl(DEMO_TENANT.applicationId, `${sa.url}${config.callbackPath}`);
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

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { type Logger, pino } from 'pino';
import { Aad, aadRoutes } from './aad.ts';
import { Agents } from './agents.ts';
import { Auth, jwksOf } from './auth.ts';
import { CallbackDispatcher } from './callbacks.ts';
import { type EmulatorConfig, resolveConfig } from './config.ts';
import { controlRoutes } from './control.ts';
import { deskRoutes } from './desk/routes.ts';
import { codeForStatus, EmulatorError } from './errors.ts';
import { AnonymousExpiry } from './expiry.ts';
import { Faults } from './faults.ts';
import { announceBridgedParticipants } from './guestRoster.ts';
import { type Core, type Env, errorResponse, json, queryOf } from './http.ts';
import { ActivityLog } from './log.ts';
import { platformRoutes } from './platform.ts';
import { Scheduler } from './scheduler.ts';
import { ucwaRoutes } from './ucwa.ts';
import { World } from './world/index.ts';

export { DEMO_TENANT } from '../config/tenant.ts';
export type {
  AgentBehaviour,
  EmulatorAgentSpec,
  EmulatorApplication,
  EmulatorConfig,
  Presence,
} from './config.ts';
export { DEFAULT_AGENT_BEHAVIOUR, defaultEmulatorConfig } from './config.ts';
export type { FaultSpec } from './faults.ts';
export type { CallbackLogEntry, LogEntry, RequestLogEntry } from './log.ts';

export interface Emulator {
  app: Hono<Env>;
  config: EmulatorConfig;
  /** Register (or change) the default callback URL of an application. */
  setCallbackUrl(applicationId: string, url: string): void;
  /** Origin used in absolute hrefs, `baseuri` and Location headers (set by startEmulator). */
  setPublicUrl(url: string): void;
  publicUrl(): string;
  stats(): { openMeetings: number; openConversations: number };
  /** The request + callback log (same data as `GET /control/log`). */
  log: ActivityLog;
  faults: Faults;
  agents: Agents;
  /** The tenant's Azure AD for people: operator sign-in (OpenID Connect). */
  aad: Aad;
  /** The JWKS that verifies callback JWTs (also served at /common/discovery/keys). */
  jwks(): { keys: Record<string, unknown>[] };
  /** True while callbacks are queued or in flight. */
  callbacksBusy(): boolean;
  /** Stops timers, long polls and pending deliveries. */
  close(): Promise<void>;
}

const CORS_METHODS = 'GET, POST, PUT, DELETE, OPTIONS';
const CORS_HEADERS =
  'Authorization, Content-Type, Accept, Client-Request-Id, X-Ms-Namespace, X-Ms-SDK-Instance, X-MS-Correlation-Id';
const CORS_EXPOSE = 'Location, X-MS-Correlation-Id, X-MS-Server-Fqdn, client-request-id';

function isCorsPath(path: string): boolean {
  const lower = path.toLowerCase();
  return (
    lower.startsWith('/ucwa/') ||
    lower === '/platformservice/discover' ||
    lower === '/platformservice/discover/'
  );
}

export function createEmulator(opts: { config?: Partial<EmulatorConfig>; logger?: Logger } = {}): Emulator {
  const config = resolveConfig(opts.config);
  const logger = opts.logger ?? pino({ level: process.env.CARECHAT_EMULATOR_LOG ?? 'warn' });
  let publicUrl = config.publicUrl;
  const scheduler = new Scheduler(logger);
  const auth = new Auth(config);
  const faults = new Faults();
  const log = new ActivityLog(config.logLimit);
  const getPublicUrl = () => publicUrl ?? 'http://127.0.0.1';
  const callbacks = new CallbackDispatcher({
    config,
    auth,
    faults,
    log,
    logger,
    publicUrl: getPublicUrl,
    schedule: (ms, task) => scheduler.after(ms, task),
    every: (ms, task) => scheduler.every(ms, task),
  });
  const world = new World({ config, scheduler, callbacks, logger, publicUrl: getPublicUrl });
  announceBridgedParticipants(world);
  const agents = new Agents(config, scheduler, logger);
  agents.bind(world);
  world.agents = agents;
  const expiry = new AnonymousExpiry({ world, scheduler, logger, idleMs: config.anonymousIdleTimeoutMs });
  expiry.start();
  const core: Core = {
    config,
    logger,
    auth,
    world,
    agents,
    callbacks,
    faults,
    log,
    scheduler,
    expiry,
    publicUrl: getPublicUrl,
    knownOrigins: new Set(),
  };
  const platform = platformRoutes(core);
  const ucwa = ucwaRoutes(core);
  const serverFqdn = () => {
    try {
      return new URL(getPublicUrl()).hostname;
    } catch {
      return 'emulator.carechat.invalid';
    }
  };

  const app = new Hono<Env>();

  app.onError((error, c) => {
    if (error instanceof EmulatorError) return errorResponse(error);
    if (error instanceof HTTPException) return error.getResponse();
    if (error instanceof URIError) {
      return errorResponse(new EmulatorError(400, 'BadRequest', `malformed URL encoding: ${error.message}`));
    }
    logger.error({ err: error, path: c.req.path }, 'emulator handler failed');
    return json({ code: 'ServiceFailure', message: 'the emulator failed internally; see its log' }, 500);
  });

  // Correlation headers, request log, public URL.
  app.use('*', async (c, next) => {
    const started = Date.now();
    c.set('note', {});
    publicUrl ??= new URL(c.req.url).origin;
    await next();
    const note = c.get('note');
    const url = new URL(c.req.url);
    const headers = new Headers(c.res.headers);
    headers.set('X-MS-Correlation-Id', String(Math.floor(Math.random() * 4_000_000_000)));
    headers.set('X-MS-Server-Fqdn', serverFqdn());
    const requestId = c.req.header('client-request-id');
    if (requestId) headers.set('client-request-id', requestId);
    const origin = c.req.header('origin');
    if (origin && isCorsPath(url.pathname)) {
      const allowed = note.corsOrigins ? note.corsOrigins.includes(origin) : core.knownOrigins.has(origin);
      if (allowed) {
        headers.set('Access-Control-Allow-Origin', origin);
        headers.set('Access-Control-Expose-Headers', CORS_EXPOSE);
      }
      headers.append('Vary', 'Origin');
    }
    c.res = new Response(c.res.body, { status: c.res.status, statusText: c.res.statusText, headers });
    const operationId = note.operationId ?? queryOf(url, 'operationId');
    log.add({
      kind: 'request',
      method: c.req.method,
      path: url.pathname,
      status: c.res.status,
      ...(operationId ? { operationId } : {}),
      ...(note.replayed ? { replayed: true as const } : {}),
      durationMs: Date.now() - started,
      ...(note.fault ? { fault: note.fault } : {}),
    });
    logger.debug({ method: c.req.method, path: url.pathname, status: c.res.status }, 'emulator request');
  });

  // CORS preflight (wire-spec 4.4): allowed origins come from the token when the URL carries one,
  // else from every token issued so far (a preflight has no Authorization header).
  app.use('*', async (c, next) => {
    const url = new URL(c.req.url);
    if (c.req.method !== 'OPTIONS' || !isCorsPath(url.pathname)) return next();
    const origin = c.req.header('origin');
    let allowed = origin !== undefined && core.knownOrigins.has(origin);
    const appId = /^\/ucwa\/psanon\/v1\/applications\/([^/]+)/i.exec(url.pathname)?.[1];
    const anon = appId ? world.anonApps.get(appId) : undefined;
    if (anon && origin) allowed = anon.origins.includes(origin);
    if (!allowed) {
      throw new EmulatorError(
        403,
        'Forbidden',
        `origin ${origin ?? '(none)'} is not allowed for ${url.pathname}`,
      );
    }
    c.get('note').corsOrigins = [origin as string];
    return new Response(null, {
      status: 204,
      headers: {
        'Access-Control-Allow-Methods': CORS_METHODS,
        'Access-Control-Allow-Headers': c.req.header('access-control-request-headers') ?? CORS_HEADERS,
        'Access-Control-Max-Age': '600',
      },
    });
  });

  // Fault injection: per-route status and latency (not on the control API itself).
  app.use('*', async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (path.startsWith('/control')) return next();
    const fault = faults.takeHttp(c.req.method, path);
    if (!fault) return next();
    c.get('note').fault = fault.id;
    if (fault.latencyMs) {
      await new Promise<void>((resolve) => {
        if (scheduler.isClosed) resolve();
        else scheduler.after(fault.latencyMs ?? 0, resolve);
      });
    }
    if (fault.status) {
      throw new EmulatorError(
        fault.status,
        fault.code ?? codeForStatus(fault.status),
        `fault ${fault.id} injected through the emulator control API`,
        'InjectedFault',
      );
    }
    return next();
  });

  app.route('/control', controlRoutes(core));
  const aad = new Aad(core);
  app.route('/', aadRoutes(core, aad));
  app.route('/', deskRoutes(core));

  app.all('*', async (c) => {
    const response = (await platform.dispatch(c)) ?? (await ucwa.dispatch(c));
    if (response) return response;
    throw new EmulatorError(
      404,
      'NotFound',
      `${new URL(c.req.url).pathname} is not a resource of this emulator`,
    );
  });

  callbacks.startHeartbeats(() => [...world.apps.values()]);

  return {
    app,
    config,
    setCallbackUrl(applicationId, url) {
      const target = world.apps.get(applicationId);
      if (!target) throw new Error(`emulator: no application ${applicationId}`);
      target.callbackUrl = url;
    },
    setPublicUrl(url) {
      publicUrl = url.replace(/\/+$/, '');
    },
    publicUrl: getPublicUrl,
    stats: () => world.stats(),
    log,
    faults,
    agents,
    aad,
    jwks: () => jwksOf(auth.keys.aad),
    callbacksBusy: () => callbacks.busy,
    async close() {
      expiry.close();
      scheduler.close();
      callbacks.close();
      world.close();
    },
  };
}

export async function startEmulator(
  opts: { port?: number; host?: string; config?: Partial<EmulatorConfig>; logger?: Logger } = {},
): Promise<{ url: string; emulator: Emulator; close(): Promise<void> }> {
  const host = opts.host ?? '127.0.0.1';
  const emulator = createEmulator({ config: opts.config, logger: opts.logger });
  // A server that cannot listen (a busy port) leaves nothing running: the emulator's timers stop too.
  const { server, address } = await new Promise<{ server: ReturnType<typeof serve>; address: AddressInfo }>(
    (resolve, reject) => {
      const server = serve({ fetch: emulator.app.fetch, port: opts.port ?? 0, hostname: host }, (info) =>
        resolve({ server, address: info }),
      );
      // Idle keep-alive connections stay open longer than clients keep them (Node's default is 5 s): a
      // client reusing one never meets a socket being closed that instant.
      const s = server as typeof server & { keepAliveTimeout?: number; headersTimeout?: number };
      s.keepAliveTimeout = 65_000;
      s.headersTimeout = 66_000;
      server.once('error', reject);
    },
  ).catch(async (error: unknown) => {
    await emulator.close();
    throw error;
  });
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${address.port}`;
  if (!opts.config?.publicUrl) emulator.setPublicUrl(url);
  let closed: Promise<void> | undefined;
  return {
    url,
    emulator,
    close() {
      closed ??= (async () => {
        await emulator.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          if ('closeAllConnections' in server) server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}

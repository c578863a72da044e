/**
 * The SA as a library: everything `carechat sa` runs, built from a validated configuration, without a
 * server of its own. The host mounts `app` (a Hono app) or calls `fetch` from any Fetch-API server,
 * calls `start()` before serving callbacks and `stop()` when it shuts down.
 */
import type { Hono } from 'hono';
import type pino from 'pino';
import { createPlatformClient, instrumentClient, type PlatformClient } from '../api/index.ts';
import {
  CallbackKeysUnavailableError,
  type CallbackVerifier,
  verifierFromOpenIdMetadata,
} from '../callbacks/verify.ts';
import { chatTimings } from '../ops/chatTimings.ts';
import { Metrics, metricsAuthorized } from '../ops/metrics.ts';
import { checkReadiness, httpReachable, type ReadinessCheck } from '../ops/readiness.ts';
import { enqueueChatEvent, type WebhookOutbox, WebhookWorker, webhookStatusBoard } from '../ops/webhooks.ts';
import { isOpen } from '../routing/index.ts';
import { type ChatEvent, ChatEvents, type ChatEventType } from '../runtime/chatEvents.ts';
import { type Clock, systemClock } from '../runtime/clock.ts';
import type { SaConfig } from '../runtime/config.ts';
import { provideChatSession } from '../runtime/effects.ts';
import { createLogger } from '../runtime/logger.ts';
import { createOperations, type Operations } from '../runtime/operations.ts';
import { SessionPersistence } from '../runtime/persistence.ts';
import { reconcile } from '../runtime/reconcile.ts';
import type { LeftMessage, TranscriptEntry } from '../runtime/records.ts';
import { type AgentView, Router } from '../runtime/router.ts';
import { type SessionListing, SessionManager, type SessionView } from '../runtime/sessions.ts';
import { createSaApp } from '../sa/app.ts';
import { type SurveyStore, storeSurveyStore, surveyTokens } from '../sa/survey.ts';
import { openStore, type SessionQuery, type Store } from '../store/index.ts';

export interface OrchestratorOptions {
  /** Any pino logger (or a child of the host's); default: a pino logger at `config.logLevel`. */
  logger?: pino.Logger;
  /** Time source for deadlines and timestamps (tests move it by hand); default: the system clock. */
  clock?: Clock;
  /** Routes mounted after the SA's own (e.g. the customer page: `webRoutes()`). */
  extraRoutes?: Array<(app: Hono) => void>;
  /** Origins allowed to call the SA from a browser, besides `config.allowedOrigins`. */
  allowedOrigins?: () => string[];
  /** Where the SA is reachable (sign-in redirects); default `config.publicUrl`. */
  publicUrl?: () => string;
  /**
   * The session store: one the host opened already (it stays the host's to close), or by default the one
   * `config.store` names (PGlite in DATA_DIR, or DATABASE_URL), opened by `start()` and closed by `stop()`.
   */
  store?: Store;
  /**
   * Extra readiness checks for GET /readyz (e.g. the store): each resolves when its dependency is usable and
   * throws (its message becomes the reason) when not. The platform check is always there.
   */
  readinessChecks?: Array<() => Promise<void>>;
  /**
   * The store's webhook outbox (`store.webhooks`): with WEBHOOK_URLS configured, a delivery worker runs
   * from start() to stop(). Events get into it with `enqueueChatEvent` (src/ops/webhooks.ts).
   */
  webhookOutbox?: WebhookOutbox;
  /**
   * Where post-chat survey answers are kept; default the session store (kept across restarts, one answer
   * per chat enforced by the database, `survey.submitted` queued in the answer's transaction).
   */
  surveyStore?: SurveyStore;
}

/** Reading sessions, their transcripts and the messages of customers no agent served. */
export interface SessionsReader {
  /** The sessions in memory: every live one, and those that ended in the last half minute. */
  list(): SessionView[];
  /** A session in memory (see `list`); `find` also reads ended ones from the store. */
  get(id: string): SessionView | undefined;
  transcript(id: string): TranscriptEntry[] | undefined;
  /** Any stored session, live or ended (until purged after RETENTION_DAYS). */
  find(id: string): Promise<SessionView | undefined>;
  findTranscript(id: string): Promise<TranscriptEntry[] | undefined>;
  /** Stored sessions newest first, filtered and paged. */
  page(query?: SessionQuery): Promise<SessionListing>;
  /** Left messages of the sessions in memory; `findLeftMessages` pages through the stored ones. */
  leftMessages(): LeftMessage[];
  findLeftMessages(query?: {
    since?: number;
    limit?: number;
    cursor?: string;
  }): Promise<{ leftMessages: LeftMessage[]; nextCursor: string | null }>;
  agents(): AgentView[];
  queue(): ReturnType<Router['queued']>;
}

export interface Orchestrator {
  /** The SA's HTTP surface (callbacks, chat token, operator API, and `extraRoutes`): mount it in a host app. */
  readonly app: Hono;
  /** `app.fetch`, for any Fetch-API server (Bun, Deno, node:http adapters, workers). */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly config: SaConfig;
  readonly sessions: SessionsReader;
  /** Operator actions; each throws an `OperationError` (status 400/404/409, code, message) when refused. */
  readonly operate: Operations;
  /** Subscribe to chat events (`'*'` for all); returns the function that unsubscribes. */
  on<K extends ChatEventType>(type: K | '*', listener: (event: ChatEvent<K>) => void): () => void;
  /** Fetches the platform's callback signing keys; callbacks are answered 503 (retried) until it resolves. */
  start(): Promise<void>;
  /**
   * Graceful stop: no new callbacks are taken (503, so the platform retries them), every session is
   * written, its timers stopped and its lease released so another instance takes over at once; the store
   * is closed if `start()` opened it. In-flight HTTP requests are the host server's to drain.
   */
  stop(): Promise<void>;
  /** Internals for the CLI and tests; not part of the public API. */
  readonly internals: {
    router: Router;
    sessionManager: SessionManager;
    client: PlatformClient;
    /** The session store once `start()` resolved. */
    store(): Store | undefined;
    metrics: Metrics;
  };
}

export function createOrchestrator(config: SaConfig, options: OrchestratorOptions = {}): Orchestrator {
  const clock = options.clock ?? systemClock;
  let presenceWrites: Promise<void> = Promise.resolve();
  const logger = options.logger ?? createLogger(config.logLevel);
  // Filled in once the router exists: the gauges read it on each scrape.
  let router: Router | undefined;
  const metrics = new Metrics({
    queueLength: () => router?.queued().length ?? 0,
    agents: async () => {
      const local = router?.agents() ?? [];
      if (!config.store.databaseUrl || !store) return local;
      // Several instances: each agent's load is every instance's chats, from the shared pool (presence stays
      // this instance's view).
      const shared = await store.pool.load().catch(() => undefined);
      if (!shared) return local;
      const loads = new Map(
        Object.values(shared.agents).map((a) => [
          a.uri.toLowerCase(),
          a.activeChats.length + a.pendingOffers.length,
        ]),
      );
      return local.map((agent) => ({ ...agent, load: loads.get(agent.uri.toLowerCase()) ?? agent.load }));
    },
  });
  const platformClient = createPlatformClient({
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
    // The client names its own component in its log lines.
    logger,
    now: () => clock.now(),
  });
  const client = instrumentClient(platformClient, ({ operation, status, seconds }) =>
    metrics.apiRequest(operation, status, seconds),
  );
  // Callbacks that arrive before start() has the signing keys are answered 503, so the platform retries them.
  let verifier: CallbackVerifier | undefined;
  const verify: CallbackVerifier = (header) =>
    verifier
      ? verifier(header)
      : Promise.reject(
          new CallbackKeysUnavailableError(
            stopping ? 'the SA is stopping' : 'the SA is starting: callback keys not loaded yet',
            { expected: true },
          ),
        );
  let sessions: SessionManager | undefined;
  router = new Router({
    roster: config.agents.map((agent) => ({ ...agent, capacity: config.routing.capacity })),
    strategy: config.routing.strategy,
    capacity: config.routing.capacity,
    maxMissedInRow: config.routing.maxMissedInRow,
    avgHandleMs: config.routing.avgHandleMs,
    skillsFallback: config.routing.skillsFallback,
    clock,
    logger: logger.child({ component: 'routing' }),
    send: (sessionId, event) => queueMicrotask(() => sessions?.deliver(sessionId, event)),
    // Written in order, and awaited by a graceful stop.
    onPresence: (uri, presence) => {
      const opened = store;
      if (!opened) return;
      presenceWrites = presenceWrites.then(() =>
        opened.pool.setPresence(uri, presence).then(
          () => undefined,
          (error: unknown) =>
            storeLog.warn({ agent: uri, presence, error: String(error) }, 'presence not stored'),
        ),
      );
    },
    // Several instances share one PostgreSQL: agent capacity is decided in it (see Router, `gate`).
    ...(config.store.databaseUrl
      ? {
          gate: {
            reserve: (uri: string, sessionId: string) => openedStore().pool.reserve(uri, sessionId),
            confirm: (uri: string, sessionId: string) => openedStore().pool.confirm(uri, sessionId),
            release: (uri: string, sessionId: string) => openedStore().pool.release(uri, sessionId),
          },
        }
      : {}),
  });
  const routing = router;
  const events = new ChatEvents(logger, () => clock.now());
  events.on(
    '*',
    chatTimings(metrics, {
      welcomedAt: (id) => {
        const welcomed = sessions?.get(id)?.history.find((h) => h.state.startsWith('welcomed'));
        return welcomed ? Date.parse(welcomed.at) : undefined;
      },
    }),
  );
  const skills = new Set(config.agents.flatMap((agent) => agent.skills ?? []));
  const open = () => isOpen(config.routing.businessHours, clock.now());
  sessions = new SessionManager({
    logic: provideChatSession({
      client,
      clock,
      logger,
      journal: {
        before: (sessionId, effect) => sessions?.beforeEffect(sessionId, effect) ?? Promise.resolve(),
        after: (sessionId, operationId, end) => sessions?.afterEffect(sessionId, operationId, end),
      },
      // Relayed messages show their time as the helpdesk's business hours read it.
      ...(config.routing.businessHours !== 'always'
        ? { timeZone: config.routing.businessHours.timeZone }
        : {}),
    }),
    clock,
    logger,
    settings: config.chat,
    router,
    endedGraceMs: config.endedLingerMs,
    events,
    // The customer page sends the chosen topic as the invitation's subject.
    topicOf: (invitation) => {
      const topic = invitation.subject?.trim().toLowerCase();
      return topic && skills.has(topic) ? topic : undefined;
    },
    isOpen: open,
  });
  const manager: SessionManager = sessions;
  // Survey answers live in the session store: the widget's threadId → its chat is written with the chat's
  // first step, and an answer with its survey.submitted event in one transaction.
  const surveyStore =
    options.surveyStore ?? storeSurveyStore(() => store, { webhooks: config.webhooks !== undefined });
  // Pages served from the SA's own public origin may call it (the customer page asks it for a token).
  let readiness: () => ReturnType<typeof checkReadiness> = async () => ({ ready: true });
  const ownOrigin = config.publicUrl ? [new URL(config.publicUrl).origin] : [];
  const app = createSaApp({
    sessions: manager,
    router: routing,
    client,
    verifier: verify,
    logger,
    isOpen: open,
    callbackPath: config.callbackPath,
    endpointUri: config.api.endpointUri,
    allowedOrigins: () => [...config.allowedOrigins, ...ownOrigin, ...(options.allowedOrigins?.() ?? [])],
    extraRoutes: options.extraRoutes ?? [],
    tokenRateLimit: config.chatTokenRateLimit,
    trustProxy: config.trustProxy,
    now: () => clock.now(),
    auth: config.auth,
    publicUrl: options.publicUrl ?? (() => config.publicUrl ?? ''),
    metrics: {
      scrape: () => metrics.scrape(),
      authorized: (authorization) => metricsAuthorized(config.metricsToken, authorization),
    },
    observeCallback: (result, seconds) => metrics.callback(result, seconds),
    readiness: () => readiness(),
    webhookStatus: () =>
      webhookBoard ? { configured: true, ...webhookBoard.status() } : { configured: false },
    survey: {
      store: surveyStore,
      tokens: surveyTokens(config.auth.sessionSecret, () => clock.now()),
      onSubmitted: (sessionId, answer) => {
        metrics.surveyResponses.inc({ score: String(answer.score) });
        events.emit('survey.submitted', { sessionId, ...answer });
        // A survey store of the host's own: the event is queued after the answer was kept (not atomically).
        if (config.webhooks && store && !surveyStore.queuesWebhookEvent) {
          enqueueChatEvent(store, undefined, 'survey.submitted', { sessionId, ...answer }, clock.now()).catch(
            (error: unknown) =>
              webhookLog.error(
                { sessionId, error: String(error) },
                'survey.submitted not queued for webhooks',
              ),
          );
        }
      },
    },
  });
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let store: Store | undefined;
  function openedStore(): Store {
    if (!store) throw new Error('the session store is not open');
    return store;
  }
  let persistence: SessionPersistence | undefined;
  const timers: NodeJS.Timeout[] = [];
  let stopInbox: (() => Promise<void>) | undefined;
  const storeLog = logger.child({ component: 'store' });

  /** Store, then the callback keys, then the stored sessions; callbacks are taken only after all three. */
  async function startUp(): Promise<void> {
    const opened =
      options.store ??
      (await openStore({
        ...config.store,
        now: () => clock.now(),
        onWarning: (message) => storeLog.warn(message),
      }));
    store = opened;
    // The stored agent pool: this instance's roster and capacity (with several instances, the last one
    // started wins); presence operators set is kept there, across restarts and instances.
    await opened.pool.syncRoster(
      config.agents.map((agent) => ({ ...agent, capacity: config.routing.capacity })),
      { capacity: config.routing.capacity },
    );
    const adoptPresence = async () =>
      router?.adoptStoredPresence(Object.values((await opened.pool.load()).agents));
    await adoptPresence();
    try {
      storeLog.info(
        {
          engine: opened.engine,
          location: opened.location,
          schema: opened.schema.version,
          instance: config.instanceId,
        },
        'session store open',
      );
      const loaded = await verifierFromOpenIdMetadata(config.callbackAuth.openIdMetadataUrl, {
        audience: config.callbackAuth.audience,
        issuers: config.callbackAuth.issuers,
        appId: config.callbackAuth.appId,
        now: () => new Date(clock.now()),
      });
      persistence = new SessionPersistence({
        store: opened,
        owner: config.instanceId,
        logger: storeLog,
        onLeaseLost: (sessionId) => manager.dropTakenOver(sessionId),
      });
      manager.attach(persistence, { webhooks: config.webhooks !== undefined });
      const resumed = await manager.resume();
      if (resumed.length) {
        storeLog.info({ sessions: resumed.length }, 'stored chats resumed');
        // What ended on the platform while the SA was down, in the background (callbacks flow meanwhile).
        void reconcile(resumed, { sessions: manager, client, logger: storeLog }).then((missed) => {
          if (missed) storeLog.info({ sessions: missed }, 'resumed chats reconciled with the platform');
        });
      }
      // Callbacks other instances recorded for chats held here: applied when signalled, and swept now and
      // then (a signal can be lost); chats whose owner died or stopped are taken over by the same sweep.
      stopInbox = await opened.onInbox(config.instanceId, (id) => void manager.drainInbox(id));
      const sweep = async () => {
        const taken = await manager.takeOverExpired();
        if (taken.length) {
          storeLog.info({ sessions: taken.length }, 'chats taken over from an instance that stopped');
          void reconcile(taken, { sessions: manager, client, logger: storeLog });
        }
        for (const id of await opened.inbox.owned(config.instanceId)) await manager.drainInbox(id);
        // Presence an operator set through another instance.
        if (config.store.databaseUrl) await adoptPresence();
      };
      let sweeping = false;
      timers.push(
        setInterval(
          () => {
            if (sweeping || stopping) return;
            sweeping = true;
            void sweep()
              .catch((error: unknown) => storeLog.warn({ error: String(error) }, 'takeover sweep failed'))
              .finally(() => {
                sweeping = false;
              });
          },
          Math.max(100, Math.min(1_000, Math.floor(config.store.leaseMs / 4))),
        ),
      );
      const keep = persistence;
      // Leases are renewed well within LEASE_MS; a session another instance took meanwhile is dropped.
      timers.push(
        setInterval(
          () => {
            keep
              .renew()
              .catch((error: unknown) => storeLog.warn({ error: String(error) }, 'leases not renewed'));
          },
          Math.max(250, Math.floor(config.store.leaseMs / 3)),
        ),
      );
      // Ended chats older than RETENTION_DAYS are purged hourly (and once now).
      const purge = async () => {
        let total = 0;
        for (let gone = -1; gone !== 0; total += gone) gone = await opened.sessions.purgeEnded();
        if (total) storeLog.info({ sessions: total }, 'ended chats purged');
      };
      void purge().catch((error: unknown) => storeLog.warn({ error: String(error) }, 'purge failed'));
      timers.push(setInterval(() => void purge().catch(() => {}), 3_600_000));
      for (const timer of timers) timer.unref();
      const outbox = options.webhookOutbox ?? opened.webhooks;
      webhooks = config.webhooks
        ? new WebhookWorker({
            outbox,
            settings: config.webhooks,
            logger: webhookLog,
            metrics,
            now: () => clock.now(),
            onAttempt: (attempt) => webhookBoard?.record(attempt),
          })
        : undefined;
      verifier = loaded;
      webhooks?.start();
    } catch (error) {
      for (const timer of timers.splice(0)) clearInterval(timer);
      if (!options.store) await opened.close().catch(() => {});
      store = undefined;
      throw error;
    }
  }

  async function shutDown(): Promise<void> {
    verifier = undefined;
    await starting?.catch(() => {});
    for (const timer of timers.splice(0)) clearInterval(timer);
    await stopInbox?.().catch(() => {});
    stopInbox = undefined;
    await webhooks?.stop();
    await presenceWrites;
    await manager.flush();
    manager.stop();
    if (persistence) {
      const released = await persistence.releaseAll().catch((error: unknown) => {
        storeLog.warn({ error: String(error) }, 'leases not released');
        return 0;
      });
      if (released) storeLog.info({ sessions: released }, 'leases released for another instance');
    }
    if (store && !options.store) await store.close();
    store = undefined;
  }

  const webhookLog = logger.child({ component: 'webhooks' });
  const webhookBoard = config.webhooks ? webhookStatusBoard(config.webhooks.urls) : undefined;
  let webhooks: WebhookWorker | undefined;
  const readinessChecks: ReadinessCheck[] = [
    { name: 'platform', check: httpReachable(config.api.discoverUrl) },
    {
      name: 'store',
      check: async () => {
        if (!store) throw new Error('not open');
        await store.sessions.list({ limit: 1 });
      },
    },
    ...(options.readinessChecks ?? []).map((check, i) => ({
      name: check.name || `check ${i + 1}`,
      check,
    })),
  ];
  readiness = () =>
    checkReadiness({
      checks: () => readinessChecks,
      state: () =>
        stopping
          ? 'the SA is stopping'
          : verifier
            ? undefined
            : 'the SA is starting (store, callback keys and stored chats not loaded yet)',
    });
  return {
    app,
    fetch: (request) => app.fetch(request),
    config,
    sessions: {
      list: () => manager.list(),
      get: (id) => manager.get(id),
      transcript: (id) => manager.transcript(id),
      find: (id) => manager.find(id),
      findTranscript: (id) => manager.findTranscript(id),
      page: (query) => manager.page(query),
      leftMessages: () => manager.leftMessages(),
      findLeftMessages: (query) => manager.findLeftMessages(query),
      agents: () => routing.agents(),
      queue: () => routing.queued(),
    },
    operate: createOperations(manager, routing),
    on: (type, listener) => events.on(type, listener),
    start() {
      if (stopping) return Promise.reject(new Error('the orchestrator was stopped'));
      starting ??= startUp().catch((error: unknown) => {
        starting = undefined;
        throw error;
      });
      return starting;
    },
    stop() {
      stopping ??= shutDown();
      return stopping;
    },
    internals: { router: routing, sessionManager: manager, client, store: () => store, metrics },
  };
}

/**
 * The SA's HTTP surface: the platform's callbacks, the web client's token endpoint, session views for
 * operators and dashboards, health, and the customer page.
 */
import { randomUUID } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type pino from 'pino';
import { z } from 'zod';
import { chatSessionMachine } from '../../machines/chatSession/index.ts';
import { type ApiError, isApiError } from '../api/errors.ts';
import type { PlatformClient } from '../api/index.ts';
import { type CallbackResult, callbackRoute } from '../callbacks/route.ts';
import type { CallbackVerifier } from '../callbacks/verify.ts';
import { PersistenceError } from '../runtime/persistence.ts';
import type { Router } from '../runtime/router.ts';
import type { SessionManager } from '../runtime/sessions.ts';
import { MAX_PAGE_LIMIT, StoreInputError } from '../store/index.ts';
import { sessionChartSvg } from '../viz/sessionChart.ts';
import { describeZodError } from '../wire/envelope.ts';
import { parseJsonText } from '../wire/json.ts';
import { type AuthConfig, createAuth } from './auth/index.ts';
import { agentsOf } from './console/data.ts';
import { consoleRoutes } from './console/routes.ts';
import { businessHoursGate, operatorRoutes } from './operator.ts';
import {
  clientKey,
  createRateLimiter,
  DEFAULT_CHAT_TOKEN_RATE_LIMIT,
  formatRateLimit,
  type ProxyTrust,
  parseRateLimit,
  type RateLimitSpec,
} from './rateLimit.ts';
import { type SurveyAnswer, SurveyRequestSchema, type SurveyStore, type SurveyTokens } from './survey.ts';
import {
  formatTranscriptText,
  isTranscriptFormat,
  mergeTranscript,
  TRANSCRIPT_FORMATS,
} from './transcript.ts';

export interface SaAppOptions {
  sessions: SessionManager;
  client: PlatformClient;
  verifier: CallbackVerifier;
  logger: pino.Logger;
  callbackPath: string;
  endpointUri: string;
  /** Origins allowed to ask for a chat token; a function so the SA's own origin can be added once it listens. */
  allowedOrigins: () => string[];
  router: Router;
  /** Business hours: false → POST /chat/token answers 503. */
  isOpen: () => boolean;
  /** Extra routes mounted at `/` (the customer page, charts). */
  extraRoutes?: Array<(app: Hono) => void>;
  /** POST /chat/token requests per client address; default 20/60s, null: no limit. */
  tokenRateLimit?: RateLimitSpec | null;
  /** Whose X-Forwarded-For is believed when limiting (TRUST_PROXY): nobody, anyone, or listed proxies. */
  trustProxy?: ProxyTrust;
  /** Time for the rate limiter and the session cookies (epoch ms); default Date.now. */
  now?: () => number;
  /** Sign-in, roles, session cookie, API token. */
  auth: AuthConfig;
  /** The SA's public URL (known once it listens): redirect URI, cookie Secure flag, CSRF origin. */
  publicUrl: () => string;
  /** GET /metrics: the Prometheus text; absent: no such route. */
  metrics?: {
    scrape(): Promise<{ text: string; contentType: string }>;
    /** Whether this Authorization header may read them (METRICS_TOKEN). */
    authorized(authorization: string | undefined): boolean;
  };
  /** GET /readyz: 200 `{ ready: true }` or 503 `{ ready: false, reason }`; absent: always ready. */
  readiness?: () => Promise<{ ready: true } | { ready: false; reason: string }>;
  /** The post-chat survey (POST /chat/survey, GET /sessions/:id/survey); absent: no survey. */
  survey?: {
    store: SurveyStore;
    tokens: SurveyTokens;
    /** After an answer was saved (metrics, the survey.submitted event). */
    onSubmitted(sessionId: string, answer: SurveyAnswer): void;
  };
  /** GET /console/api/webhooks: delivery totals and the latest failures, for the console. */
  webhookStatus?: () => object;
  /** Told how each platform callback ended and how long it took. */
  observeCallback?: (result: CallbackResult, seconds: number) => void;
}

/** Largest request body any route other than the callbacks (1 MiB, own limit) accepts. */
export const MAX_BODY_BYTES = 64 * 1024;
const MAX_TOKEN_BODY_BYTES = 4 * 1024;

const SessionQuerySchema = z.strictObject({
  state: z
    .string()
    .regex(/^[a-zA-Z]{1,40}$/, 'expected a state name like bridged')
    .optional(),
  outcome: z
    .string()
    .regex(/^[a-zA-Z]{1,40}$/, 'expected an outcome like completed')
    .optional(),
  since: z.iso
    .datetime({ offset: true, message: 'expected an ISO 8601 time like 2026-12-03T10:00:00Z' })
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT, `at most ${MAX_PAGE_LIMIT}`).optional(),
  cursor: z.string().max(200).optional(),
});

const TokenRequestSchema = z.strictObject({
  displayName: z.string().trim().min(1).max(250).optional(),
});

function jsonError(
  status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 502 | 503,
  error: string,
  message: string,
  headers?: Record<string, string>,
): HTTPException {
  return new HTTPException(status, {
    res: Response.json({ error, message }, { status, ...(headers ? { headers } : {}) }),
  });
}

/** The socket's remote address (undefined when the app is called without a Node server, as in app.request). */
function remoteAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

export function createSaApp(opts: SaAppOptions): Hono {
  const app = new Hono();
  const log = opts.logger;

  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    log.error({ error: String(error), path: c.req.path }, 'unhandled error');
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  app.notFound((c) =>
    c.json({ error: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` }, 404),
  );

  // Every body is bounded: the callbacks have their own (larger) limit, every other route this one.
  const generalBodyLimit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw jsonError(413, 'payload_too_large', `request body over ${MAX_BODY_BYTES / 1024} KiB`);
    },
  });
  app.use('*', (c, next) => (c.req.path === opts.callbackPath ? next() : generalBodyLimit(c, next)));

  // Everything that is not public needs a signed-in user or the API token, and the right role.
  const auth = createAuth({
    config: opts.auth,
    callbackPath: opts.callbackPath,
    publicUrl: opts.publicUrl,
    logger: log,
    ownsSession: (id, agentUri) => {
      const view = opts.sessions.get(id);
      return !!view && agentsOf(view).includes(agentUri);
    },
    ...(opts.now ? { now: opts.now } : {}),
  });
  app.use('*', auth.guard);
  app.route('/', auth.routes);

  app.route(
    '/',
    callbackRoute({
      path: opts.callbackPath,
      verifier: opts.verifier,
      // The route names its own component in its log lines.
      logger: log,
      ...(opts.observeCallback ? { observe: opts.observeCallback } : {}),
      dispatch: async (events, ctx) => {
        try {
          return await opts.sessions.dispatch(events, {
            ...(ctx.callbackContext ? { callbackContext: ctx.callbackContext } : {}),
            ...(ctx.correlationId ? { correlationId: ctx.correlationId } : {}),
          });
        } catch (error) {
          // Not acknowledged: the platform delivers the callback again once the store is back.
          if (error instanceof PersistenceError)
            throw jsonError(503, 'store_unavailable', `${error.message}; deliver the callback again`, {
              'Retry-After': '1',
            });
          throw error;
        }
      },
    }),
  );

  operatorRoutes(app, { sessions: opts.sessions, router: opts.router, isOpen: opts.isOpen });
  businessHoursGate(app, opts.isOpen);

  // POST /chat/token: a web page asks for an anonymous token before it talks to the platform.
  // CORS only for allowlisted origins (echoed, never `*`); any other origin gets no CORS header at all,
  // a 403 for its preflight and a 403 for its POST.
  const tokenCors = cors({
    origin: (origin) => origin,
    allowMethods: ['POST', 'OPTIONS'],
    allowHeaders: ['Content-Type'],
    exposeHeaders: ['Retry-After'],
    maxAge: 600,
  });
  const chatCors: Parameters<typeof app.use>[1] = async (c, next) => {
    const origin = c.req.header('origin');
    if (origin && opts.allowedOrigins().includes(origin)) return tokenCors(c, next);
    c.res.headers.append('Vary', 'Origin');
    if (c.req.method !== 'OPTIONS') return next();
    throw jsonError(
      403,
      'origin_not_allowed',
      origin
        ? `origin ${origin} is not allowed to start chats (see CHAT_ALLOWED_ORIGINS)`
        : 'a CORS preflight needs an Origin header',
    );
  };
  app.use('/chat/token', chatCors);
  app.use('/chat/survey', chatCors);
  // Preflights are answered by the CORS layer above; this only gives the route a name in the policy.
  app.options('/chat/token', (c) => c.body(null, 204));
  app.options('/chat/survey', (c) => c.body(null, 204));
  const tokenLimit =
    opts.tokenRateLimit === undefined ? parseRateLimit(DEFAULT_CHAT_TOKEN_RATE_LIMIT) : opts.tokenRateLimit;
  const tokenLimiter = tokenLimit
    ? createRateLimiter({ ...tokenLimit, ...(opts.now ? { now: opts.now } : {}) })
    : undefined;
  app.post(
    '/chat/token',
    async (c, next) => {
      if (!tokenLimiter) return next();
      const client = clientKey(remoteAddress(c), c.req.header('x-forwarded-for'), opts.trustProxy ?? false);
      const decision = tokenLimiter.take(client);
      if (decision.allowed) return next();
      const seconds = Math.ceil(decision.retryAfterMs / 1000);
      log.info({ client, limit: formatRateLimit(tokenLimiter.spec) }, 'chat token refused: rate limited');
      throw jsonError(
        429,
        'rate_limited',
        `too many chat token requests from your address (limit ${formatRateLimit(tokenLimiter.spec)}); try again in ${seconds} s`,
        { 'Retry-After': String(seconds) },
      );
    },
    bodyLimit({
      maxSize: MAX_TOKEN_BODY_BYTES,
      onError: () => {
        throw jsonError(413, 'payload_too_large', `request body over ${MAX_TOKEN_BODY_BYTES / 1024} KiB`);
      },
    }),
    async (c) => {
      const origin = c.req.header('origin');
      if (!origin)
        throw jsonError(400, 'origin_required', 'the Origin header is required: call this from a web page');
      if (!opts.allowedOrigins().includes(origin)) {
        throw jsonError(
          403,
          'origin_not_allowed',
          `origin ${origin} is not allowed to start chats (see CHAT_ALLOWED_ORIGINS)`,
        );
      }
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/json\b/i.test(type))
        throw jsonError(415, 'unsupported_media_type', 'send JSON (Content-Type: application/json)');
      let body: unknown;
      try {
        const text = await c.req.text();
        body = text.trim() === '' ? {} : parseJsonText(text);
      } catch (error) {
        throw jsonError(
          400,
          'bad_request',
          error instanceof Error ? error.message : 'body is not valid JSON',
        );
      }
      const parsed = TokenRequestSchema.safeParse(body);
      if (!parsed.success) throw jsonError(400, 'bad_request', describeZodError(parsed.error));
      const applicationSessionId = randomUUID();
      try {
        const token = await opts.client.createAnonToken({ applicationSessionId, allowedOrigins: [origin] });
        log.info({ applicationSessionId, origin }, 'chat token issued');
        // The widget puts threadId in its invitation; the survey token later names that chat.
        const threadId = opts.survey ? randomUUID() : undefined;
        return c.json({
          token: token.token,
          discoverUri: token.discoverUri,
          expiresAt: token.expiresAt,
          helpdeskUri: opts.endpointUri,
          ...(threadId && opts.survey ? { threadId, surveyToken: opts.survey.tokens.issue(threadId) } : {}),
        });
      } catch (error) {
        const detail = isApiError(error) ? describeApiError(error) : String(error);
        log.error({ applicationSessionId, error: detail }, 'chat token not issued');
        throw jsonError(
          502,
          'platform_unavailable',
          'the chat service could not issue a token right now; try again shortly',
        );
      }
    },
  );

  const survey = opts.survey;
  if (survey) {
    app.post(
      '/chat/survey',
      bodyLimit({
        maxSize: MAX_TOKEN_BODY_BYTES,
        onError: () => {
          throw jsonError(413, 'payload_too_large', `request body over ${MAX_TOKEN_BODY_BYTES / 1024} KiB`);
        },
      }),
      async (c) => {
        const type = c.req.header('content-type') ?? '';
        if (!/^application\/json\b/i.test(type))
          throw jsonError(415, 'unsupported_media_type', 'send JSON (Content-Type: application/json)');
        let body: unknown;
        try {
          body = parseJsonText(await c.req.text());
        } catch (error) {
          throw jsonError(400, 'bad_request', error instanceof Error ? error.message : 'body is not JSON');
        }
        const parsed = SurveyRequestSchema.safeParse(body);
        if (!parsed.success) throw jsonError(400, 'bad_request', describeZodError(parsed.error));
        const verified = survey.tokens.verify(parsed.data.token);
        if ('problem' in verified) throw jsonError(401, 'invalid_token', verified.problem);
        const sessionId = await survey.store.sessionOfThread(verified.threadId);
        const view = sessionId ? await opts.sessions.find(sessionId) : undefined;
        if (!sessionId || !view) throw jsonError(404, 'not_found', 'no chat started with this survey token');
        // Not refused while the SA is still tearing the chat down: the widget asks as soon as it sees the end.
        const answer: SurveyAnswer = {
          score: parsed.data.score as SurveyAnswer['score'],
          ...(parsed.data.comment ? { comment: parsed.data.comment } : {}),
          submittedAt: new Date(opts.now?.() ?? Date.now()).toISOString(),
        };
        const saved = await survey.store.save(sessionId, answer);
        if (saved === 'duplicate')
          throw jsonError(409, 'already_answered', 'this chat has been rated already: one answer per chat');
        if (saved === 'unknown') throw jsonError(404, 'not_found', 'no chat started with this survey token');
        log.info({ sessionId, score: answer.score }, 'survey answered');
        survey.onSubmitted(sessionId, answer);
        return c.json({ saved: true }, 201);
      },
    );
    app.get('/sessions/:id/survey', async (c) => {
      const id = c.req.param('id');
      if (!(await opts.sessions.find(id))) throw jsonError(404, 'not_found', `no session ${id}`);
      return c.json({ survey: (await survey.store.get(id)) ?? null });
    });
  }

  const webhookStatus = opts.webhookStatus;
  if (webhookStatus) {
    app.get('/console/api/webhooks', (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json(webhookStatus());
    });
  }

  // Readiness, not liveness: whether to send this SA traffic now (platform, store, not stopping).
  app.get('/readyz', async (c) => {
    const readiness = opts.readiness ? await opts.readiness() : { ready: true as const };
    c.header('Cache-Control', 'no-store');
    return c.json(readiness, readiness.ready ? 200 : 503);
  });

  const metrics = opts.metrics;
  if (metrics) {
    app.get('/metrics', async (c) => {
      if (!metrics.authorized(c.req.header('authorization'))) {
        throw jsonError(401, 'unauthorized', 'the metrics need Authorization: Bearer <METRICS_TOKEN>', {
          'WWW-Authenticate': 'Bearer realm="metrics"',
        });
      }
      const { text, contentType } = await metrics.scrape();
      return c.body(text, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
    });
  }

  app.get('/healthz', (c) => c.json({ status: 'ok', sessions: opts.sessions.activeCount() }));

  // Stored sessions newest first: ?state=&outcome=&since=<ISO time>&limit=<1..1000, default 100>&cursor=
  app.get('/sessions', async (c) => {
    const query = SessionQuerySchema.safeParse(c.req.query());
    if (!query.success) throw jsonError(400, 'bad_request', describeZodError(query.error));
    const { since, ...rest } = query.data;
    try {
      const page = await opts.sessions.page({ ...rest, ...(since ? { since: Date.parse(since) } : {}) });
      return c.json(page);
    } catch (error) {
      if (error instanceof StoreInputError) throw jsonError(400, 'bad_request', error.message);
      throw error;
    }
  });
  app.get('/sessions/:id', async (c) => {
    const view = await opts.sessions.find(c.req.param('id'));
    if (!view) throw jsonError(404, 'not_found', `no session ${c.req.param('id')}`);
    return c.json(view);
  });
  // The transcript with the session's system events: JSON (default) or text lines (?format=text).
  app.get('/sessions/:id/transcript', async (c) => {
    const formats = c.req.queries('format') ?? [];
    const allowed = TRANSCRIPT_FORMATS.join(', ');
    if (formats.length > 1)
      throw jsonError(400, 'bad_request', `give the query parameter format once (one of ${allowed})`);
    const format = formats[0] ?? 'json';
    if (!isTranscriptFormat(format)) {
      throw jsonError(
        400,
        'bad_request',
        `unknown transcript format ${JSON.stringify(format)}: the query parameter format must be one of ${allowed}`,
      );
    }
    const id = c.req.param('id');
    const view = await opts.sessions.find(id);
    const transcript = view && (await opts.sessions.findTranscript(id));
    if (!transcript || !view) throw jsonError(404, 'not_found', `no session ${id}`);
    const entries = mergeTranscript(transcript, view);
    c.header('Cache-Control', 'no-store');
    if (format === 'json') return c.json({ id, entries });
    return c.body(formatTranscriptText(entries), 200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
    });
  });

  app.get('/sessions/:id/chart.svg', async (c) => {
    const view = await opts.sessions.find(c.req.param('id'));
    if (!view) throw jsonError(404, 'not_found', `no session ${c.req.param('id')}`);
    const svg = await sessionChartSvg(chatSessionMachine, {
      stateValue: view.stateValue,
      history: view.history.map((h) => h.state),
      title: `chat ${view.id}: ${view.state}`,
    });
    return c.body(svg, 200, { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': 'no-store' });
  });

  app.route(
    '/',
    consoleRoutes({ sessions: opts.sessions, router: opts.router, now: opts.now ?? (() => Date.now()) }),
  );

  for (const mount of opts.extraRoutes ?? []) mount(app);
  return app;
}

function describeApiError(error: ApiError): string {
  return `${error.method} ${error.status} ${error.code}${error.subcode ? `/${error.subcode}` : ''}`;
}

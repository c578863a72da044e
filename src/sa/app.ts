/**
 * The SA's HTTP surface: the platform's callbacks, the web client's token endpoint, session views for
 * operators and dashboards, health, and the customer page.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type pino from 'pino';
import { z } from 'zod';
import { chatSessionMachine } from '../../machines/chatSession.ts';
import { type ApiError, isApiError } from '../api/errors.ts';
import type { PlatformClient } from '../api/index.ts';
import { callbackRoute } from '../callbacks/route.ts';
import type { CallbackVerifier } from '../callbacks/verify.ts';
import type { Router } from '../runtime/router.ts';
import type { SessionManager } from '../runtime/sessions.ts';
import { sessionChartSvg } from '../viz/sessionChart.ts';
import { describeZodError } from '../wire/envelope.ts';
import { parseJsonText } from '../wire/json.ts';
import { businessHoursGate, operatorRoutes } from './operator.ts';

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
}

const TokenRequestSchema = z.strictObject({
  displayName: z.string().trim().min(1).max(250).optional(),
});

function jsonError(
  status: 400 | 403 | 404 | 413 | 415 | 502 | 503,
  error: string,
  message: string,
): HTTPException {
  return new HTTPException(status, { res: Response.json({ error, message }, { status }) });
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

  app.route(
    '/',
    callbackRoute({
      path: opts.callbackPath,
      verifier: opts.verifier,
      logger: log.child({ component: 'callbacks' }),
      dispatch: (events, ctx) =>
        opts.sessions.dispatch(events, {
          ...(ctx.callbackContext ? { callbackContext: ctx.callbackContext } : {}),
          ...(ctx.correlationId ? { correlationId: ctx.correlationId } : {}),
        }),
    }),
  );

  operatorRoutes(app, { sessions: opts.sessions, router: opts.router, isOpen: opts.isOpen });
  businessHoursGate(app, opts.isOpen);

  // POST /chat/token: a web page asks for an anonymous token before it talks to the platform.
  app.use(
    '/chat/token',
    cors({
      origin: (origin) => (opts.allowedOrigins().includes(origin) ? origin : null),
      allowMethods: ['POST', 'OPTIONS'],
      allowHeaders: ['Content-Type'],
      maxAge: 600,
    }),
  );
  app.post(
    '/chat/token',
    bodyLimit({
      maxSize: 4 * 1024,
      onError: () => {
        throw jsonError(413, 'payload_too_large', 'request body over 4 KiB');
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
        return c.json({
          token: token.token,
          discoverUri: token.discoverUri,
          expiresAt: token.expiresAt,
          helpdeskUri: opts.endpointUri,
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

  app.get('/healthz', (c) =>
    c.json({ status: 'ok', sessions: opts.sessions.list().filter((s) => s.status === 'active').length }),
  );

  app.get('/sessions', (c) => c.json({ sessions: opts.sessions.list() }));
  app.get('/sessions/:id', (c) => {
    const view = opts.sessions.get(c.req.param('id'));
    if (!view) throw jsonError(404, 'not_found', `no session ${c.req.param('id')}`);
    return c.json(view);
  });
  app.get('/sessions/:id/transcript', (c) => {
    const transcript = opts.sessions.transcript(c.req.param('id'));
    if (!transcript) throw jsonError(404, 'not_found', `no session ${c.req.param('id')}`);
    return c.json({ id: c.req.param('id'), entries: transcript });
  });

  app.get('/sessions/:id/chart.svg', async (c) => {
    const view = opts.sessions.get(c.req.param('id'));
    if (!view) throw jsonError(404, 'not_found', `no session ${c.req.param('id')}`);
    const svg = await sessionChartSvg(chatSessionMachine, {
      stateValue: view.stateValue,
      history: view.history.map((h) => h.state),
      title: `chat ${view.id}: ${view.state}`,
    });
    return c.body(svg, 200, { 'content-type': 'image/svg+xml; charset=utf-8', 'cache-control': 'no-store' });
  });

  for (const mount of opts.extraRoutes ?? []) mount(app);
  return app;
}

function describeApiError(error: ApiError): string {
  return `${error.method} ${error.status} ${error.code}${error.subcode ? `/${error.subcode}` : ''}`;
}

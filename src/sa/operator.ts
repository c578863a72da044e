/**
 * Operator routes: the agent pool (presence, load), the queue, closing a chat; and the business-hours
 * gate in front of POST /chat/token.
 */
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { PRESENCES } from '../routing/index.ts';
import { createOperations, OperationError } from '../runtime/operations.ts';
import type { Router } from '../runtime/router.ts';
import type { SessionManager } from '../runtime/sessions.ts';
import { StoreInputError } from '../store/index.ts';
import { describeZodError } from '../wire/envelope.ts';
import { parseJsonText } from '../wire/json.ts';

export interface OperatorRouteOptions {
  sessions: SessionManager;
  router: Router;
  isOpen: () => boolean;
}

const PresenceBody = z.strictObject({ presence: z.enum(PRESENCES) });
const CloseBody = z.strictObject({ reason: z.string().trim().min(1).max(200).optional() });
const SipBody = z.strictObject({
  uri: z.string().regex(/^sip:[^@\s]+@[^@\s]+$/, 'expected a SIP URI like sip:alice@contoso.com'),
});

function fail(
  status: 400 | 404 | 409 | 413 | 415 | 503,
  error: string,
  message: string,
  headers: Record<string, string> = {},
): HTTPException {
  return new HTTPException(status, { res: Response.json({ error, message }, { status, headers }) });
}

async function jsonBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  if (!/^application\/json\b/i.test(request.headers.get('content-type') ?? '')) {
    throw fail(415, 'unsupported_media_type', 'send JSON (Content-Type: application/json)');
  }
  const text = await request.text();
  if (text.length > 4096) throw fail(413, 'payload_too_large', 'request body over 4 KiB');
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : parseJsonText(text);
  } catch (error) {
    throw fail(400, 'bad_request', error instanceof Error ? error.message : 'body is not valid JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw fail(400, 'bad_request', describeZodError(parsed.error));
  return parsed.data;
}

/** Outside business hours the token endpoint says so, and no chat starts. Mount before the token route. */
export function businessHoursGate(app: Hono, isOpen: () => boolean): void {
  app.post('/chat/token', async (_c, next) => {
    if (!isOpen()) {
      throw fail(
        503,
        'outside_business_hours',
        'Our support team is not available right now. Please come back during business hours.',
        {
          'retry-after': '600',
        },
      );
    }
    await next();
  });
}

export function operatorRoutes(app: Hono, opts: OperatorRouteOptions): void {
  const operations = createOperations(opts.sessions, opts.router);
  app.get('/agents', (c) => c.json({ agents: opts.router.agents() }));
  app.put('/agents/:uri/presence', async (c) => {
    const { presence } = await jsonBody(c.req.raw, PresenceBody);
    return c.json(act(() => operations.setPresence(c.req.param('uri'), presence)));
  });
  app.get('/queue', (c) => c.json({ queue: opts.router.queued() }));
  // Newest first, paged: ?limit=<1..1000>&cursor=<nextCursor of the page before>
  app.get('/left-messages', async (c) => {
    const limitText = c.req.query('limit');
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 1000))
      throw fail(
        400,
        'bad_request',
        `limit=${JSON.stringify(limitText)}: expected an integer from 1 to 1000`,
      );
    const cursor = c.req.query('cursor');
    try {
      return c.json(
        await opts.sessions.findLeftMessages({
          ...(limit !== undefined ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
    } catch (error) {
      if (error instanceof StoreInputError) throw fail(400, 'bad_request', error.message);
      throw error;
    }
  });
  app.get('/sessions/:id/assignments', async (c) => {
    const view = await opts.sessions.find(c.req.param('id'));
    if (!view) throw fail(404, 'not_found', `no session ${c.req.param('id')}`);
    return c.json({ id: view.id, assignments: view.assignments });
  });
  // Staffing actions on a running chat: transfer to a named agent, add a second agent, a supervisor who
  // monitors (the customer does not see them), and barge-in (the supervisor becomes visible).
  for (const path of ['transfer', 'agents', 'monitor'] as const) {
    app.post(`/sessions/:id/${path}`, async (c) => {
      const { uri } = await jsonBody(c.req.raw, SipBody);
      const id = c.req.param('id');
      const { agentUri } = act(() => operations.staff(id, path, uri));
      return c.json({ id, [path]: agentUri, offering: true }, 202);
    });
  }
  app.post('/sessions/:id/barge', async (c) => {
    const id = c.req.param('id');
    act(() => operations.barge(id));
    return c.json({ id, barging: true }, 202);
  });
  app.post('/sessions/:id/close', async (c) => {
    const { reason } = await jsonBody(c.req.raw, CloseBody);
    const id = c.req.param('id');
    act(() => operations.close(id, reason));
    return c.json({ id, closing: true }, 202);
  });
}

/** Runs an operator action; its refusal becomes the HTTP answer with the same status, code and message. */
function act<T>(action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (error instanceof OperationError) throw fail(error.status, error.code, error.message);
    throw error;
  }
}

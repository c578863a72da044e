/**
 * The callback route (wire-spec 7): the platform POSTs signed event envelopes here.
 *
 * In order, and nothing is parsed before the caller is authenticated:
 *   body limit (413) → bearer JWT verified (401) → JSON content type (415) → JSON parse (400) →
 *   envelope schema (400, naming the field) → heartbeat answered `{}` → toEvents → dispatch → 200.
 * Every failure is an `HTTPException` carrying a JSON `{error, message}` response; `onError` passes those
 * through untouched and turns only unknown errors into a 500.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type pino from 'pino';
import { type CallbackEnvelope, CallbackEnvelopeSchema, isHeartbeat } from '../wire/envelope.ts';
import { queryParam } from '../wire/href.ts';
import { JsonTextError, parseJsonText } from '../wire/json.ts';
import { describeEnvelopeProblem } from './envelope.ts';
import { type NormalisedEvent, toEvents } from './toEvents.ts';
import { CallbackAuthError, CallbackKeysUnavailableError, type CallbackVerifier } from './verify.ts';

export interface CallbackDispatchContext {
  /** The `callbackContext` query parameter of the URL this callback was delivered to. */
  callbackContext?: string;
  envelope: CallbackEnvelope;
  /** The platform's `X-MS-Correlation-Id` header, for support cases and logs. */
  correlationId?: string;
}

export type CallbackDispatch = (
  events: NormalisedEvent[],
  ctx: CallbackDispatchContext,
) => { callbackContext?: string } | undefined | Promise<{ callbackContext?: string } | undefined>;

export interface CallbackRouteOptions {
  /** Default `/callbacks`. */
  path?: string;
  verifier: CallbackVerifier;
  /** Default 1 MiB; larger bodies get 413. */
  maxBodyBytes?: number;
  /**
   * Receives the events of one callback, in envelope order. Return `{ callbackContext }` to have it echoed
   * to the platform (later callbacks of that conversation then carry it in their URL). Throw an
   * `HTTPException` to answer with its status; anything else thrown becomes a 500.
   */
  dispatch: CallbackDispatch;
  logger: pino.Logger;
  /** Told how each callback ended and how long it took (metrics). */
  observe?: (result: CallbackResult, seconds: number) => void;
}

/**
 * accepted: dispatched; ignored: a heartbeat or events nothing maps; rejected_auth: 401; rejected_body:
 * any other 4xx; unavailable: 503 (keys not loaded yet); failed: a 500.
 */
export type CallbackResult =
  | 'accepted'
  | 'ignored'
  | 'rejected_auth'
  | 'rejected_body'
  | 'unavailable'
  | 'failed';

function resultOf(status: number, ignored: boolean): CallbackResult {
  if (status === 401) return 'rejected_auth';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'failed';
  if (status >= 400) return 'rejected_body';
  return ignored ? 'ignored' : 'accepted';
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export function callbackRoute(opts: CallbackRouteOptions): Hono {
  const path = opts.path ?? '/callbacks';
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!path.startsWith('/'))
    throw new Error(`callbackRoute: path must start with '/', got ${JSON.stringify(path)}`);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new Error('callbackRoute: maxBodyBytes must be a positive integer');
  }
  if (typeof opts.verifier !== 'function') throw new Error('callbackRoute: a verifier is required');
  if (typeof opts.dispatch !== 'function') throw new Error('callbackRoute: a dispatch function is required');
  const { verifier, dispatch } = opts;
  const log = opts.logger.child({ component: 'callbacks' });

  const app = new Hono();
  /** Requests answered without dispatching anything (heartbeats, events nothing maps). */
  const ignored = new WeakSet<Request>();
  if (opts.observe) {
    const observe = opts.observe;
    app.use(path, async function observeCallback(c, next) {
      const started = performance.now();
      await next();
      if (c.req.method !== 'POST') return;
      try {
        observe(resultOf(c.res.status, ignored.has(c.req.raw)), (performance.now() - started) / 1000);
      } catch (error) {
        log.warn({ err: error }, 'callback observer failed');
      }
    });
  }

  app.onError(function callbackErrors(error, c) {
    if (error instanceof HTTPException) return error.getResponse();
    log.error({ err: error, path: c.req.path }, 'callback failed with an internal error');
    return c.json({ error: 'internal' }, 500);
  });

  app.post(
    path,
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        log.warn({ maxBodyBytes }, 'callback rejected: body too large');
        throw failure(413, 'payload_too_large', `callback body exceeds the limit of ${maxBodyBytes} bytes`);
      },
    }),
    async function authenticateCallback(c, next) {
      try {
        await verifier(c.req.header('authorization'));
      } catch (error) {
        if (error instanceof CallbackAuthError) {
          log.warn({ reason: error.reason }, 'callback rejected: caller not authenticated');
          throw failure(401, 'invalid_token', error.reason, {
            headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
            cause: error,
          });
        }
        if (error instanceof CallbackKeysUnavailableError) {
          if (error.expected) log.warn({ reason: error.message }, 'callback answered 503');
          else log.error({ err: error }, 'callback not verified: signing keys unavailable');
          throw failure(503, 'unavailable', 'cannot verify the callback token right now; retry later', {
            headers: { 'Retry-After': '5' },
            cause: error,
          });
        }
        throw error;
      }
      await next();
    },
    async function receiveCallback(c) {
      const contentType = c.req.header('content-type');
      if (!isJsonContentType(contentType)) {
        throw failure(
          415,
          'unsupported_media_type',
          contentType
            ? `content type ${JSON.stringify(contentType)} is not supported; send application/json`
            : 'content type is missing; send application/json',
        );
      }
      let body: unknown;
      try {
        body = parseJsonText(await c.req.text());
      } catch (error) {
        if (error instanceof JsonTextError)
          throw failure(400, 'bad_request', error.message, { cause: error });
        throw error;
      }
      const parsed = CallbackEnvelopeSchema.safeParse(body);
      if (!parsed.success) {
        throw failure(
          400,
          'bad_request',
          `not a callback envelope: ${describeEnvelopeProblem(parsed.error, body)}`,
        );
      }
      const envelope = parsed.data;
      if (isHeartbeat(envelope)) {
        log.debug('callback heartbeat');
        ignored.add(c.req.raw);
        return c.json({});
      }
      const callbackContext = queryParam(c.req.url, 'callbackContext');
      const correlationId = c.req.header('x-ms-correlation-id');
      const events = toEvents(envelope, callbackContext === undefined ? {} : { callbackContext });
      log.info(
        {
          correlationId,
          callbackContext,
          events: events.map((e) => `${e.wire.rel} ${e.wire.type}`),
          mapped: events.filter((e) => e.event !== null).length,
        },
        'callback received',
      );
      if (!events.some((e) => e.event !== null)) ignored.add(c.req.raw);
      const answer = await dispatch(events, {
        envelope,
        ...(callbackContext === undefined ? {} : { callbackContext }),
        ...(correlationId === undefined ? {} : { correlationId }),
      });
      const echoed = answer?.callbackContext;
      return c.json(typeof echoed === 'string' ? { callbackContext: echoed } : {});
    },
  );

  app.on(['GET', 'PUT', 'PATCH', 'DELETE'], path, () => {
    throw failure(405, 'method_not_allowed', 'callbacks are delivered with POST', {
      headers: { Allow: 'POST' },
    });
  });

  return app;
}

/** `application/json` with any parameters (the platform sends `; type="…ucwa+json"; charset=utf-8`), or `*+json`. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const mediaType = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[\w.+-]+\+json$/.test(mediaType);
}

function failure(
  status: ContentfulStatusCode,
  error: string,
  message: string,
  extra: { headers?: Record<string, string>; cause?: unknown } = {},
): HTTPException {
  const res = new Response(JSON.stringify({ error, message }), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...extra.headers },
  });
  return new HTTPException(status, { res, message, cause: extra.cause });
}

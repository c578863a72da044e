import type { Context } from 'hono';
import type { Logger } from 'pino';
import type { Agents } from './agents.ts';
import type { Auth } from './auth.ts';
import type { CallbackDispatcher } from './callbacks.ts';
import type { EmulatorConfig } from './config.ts';
import { EmulatorError, readBodyText } from './errors.ts';
import type { AnonymousExpiry } from './expiry.ts';
import type { Faults } from './faults.ts';
import type { ActivityLog } from './log.ts';
import type { Scheduler } from './scheduler.ts';
import type { StoredResponse, World } from './world/index.ts';

/** Everything the route modules share. */
export interface Core {
  config: EmulatorConfig;
  logger: Logger;
  auth: Auth;
  world: World;
  agents: Agents;
  callbacks: CallbackDispatcher;
  faults: Faults;
  log: ActivityLog;
  scheduler: Scheduler;
  /** Ends anonymous applications whose event channel is no longer polled. */
  expiry: AnonymousExpiry;
  publicUrl(): string;
  /** Every origin named in an issued psat token (answers CORS preflights, which carry no token). */
  knownOrigins: Set<string>;
}

/** What a handler notes about its request for the log and the CORS layer. */
export interface Note {
  operationId?: string;
  /** Origins allowed by the verified psat token of this request. */
  corsOrigins?: string[];
  fault?: string;
  /** Answered from the idempotency record: a repeated operationId the platform did not act on again. */
  replayed?: true;
}

export type Env = { Variables: { note: Note } };

export interface Req {
  c: Context<Env>;
  raw: Request;
  method: string;
  url: URL;
  path: string;
  params: Record<string, string>;
  note: Note;
  /** Query parameter, name compared case-insensitively. */
  query(name: string): string | undefined;
  header(name: string): string | undefined;
}

export type Handler = (req: Req) => Promise<Response> | Response;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/** A tiny case-insensitive router: the platform treats paths case-insensitively (wire-spec 2.1). */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string | string[], pattern: string, handler: Handler): this {
    for (const m of Array.isArray(method) ? method : [method]) {
      this.routes.push({ method: m, pattern: new RegExp(`^${pattern}/?$`, 'i'), handler });
    }
    return this;
  }

  /** undefined when no route has this path; 405 when the path exists for other methods. */
  async dispatch(c: Context<Env>): Promise<Response | undefined> {
    const url = new URL(c.req.url);
    const path = url.pathname;
    const method = c.req.method.toUpperCase();
    let pathKnown = false;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      pathKnown = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      for (const [key, value] of Object.entries(match.groups ?? {})) {
        if (value !== undefined) params[key] = safeDecode(value);
      }
      const req: Req = {
        c,
        raw: c.req.raw,
        method,
        url,
        path,
        params,
        note: c.get('note'),
        query: (name) => queryOf(url, name),
        header: (name) => c.req.header(name) ?? undefined,
      };
      return route.handler(req);
    }
    if (pathKnown) {
      const allowed = this.routes.filter((r) => r.pattern.test(path)).map((r) => r.method);
      throw new EmulatorError(405, 'MethodNotAllowed', `${method} is not allowed on ${path}`, undefined, {
        Allow: [...new Set(allowed)].join(', '),
      });
    }
    return undefined;
  }
}

export function queryOf(url: URL, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of url.searchParams) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export const JSON_TYPE = 'application/json; charset=utf-8';

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': JSON_TYPE, ...headers } });
}

export function empty(status = 204, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}

export function errorResponse(error: EmulatorError): Response {
  const headers = new Headers({ 'Content-Type': JSON_TYPE });
  for (const [name, value] of Object.entries(error.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Response(JSON.stringify(error.body()), { status: error.status, headers });
}

export function stored(response: StoredResponse): Response {
  if (response.body === undefined) return empty(response.status, response.headers);
  return json(response.body, response.status, response.headers);
}

/** A `sendMessage` body: raw `text/plain` or `text/html` (wire-spec 5.6/6.6); anything else is 415. */
export async function readMessageBody(req: Req): Promise<{ text?: string; html?: string }> {
  const contentType = req.header('content-type');
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  if (media !== 'text/plain' && media !== 'text/html') {
    throw new EmulatorError(
      415,
      'UnsupportedMediaType',
      `a message must be sent as text/plain or text/html, got ${contentType ? `'${contentType}'` : 'no Content-Type'}`,
    );
  }
  const text = await readBodyText(req.raw);
  if (text.length === 0) {
    throw new EmulatorError(400, 'BadRequest', 'message: the body is empty', 'ParameterValidationFailure');
  }
  return media === 'text/html' ? { html: text } : { text };
}

/** `operationId` of a query (any case), ≤50 characters. */
export function queryOperationId(req: Req): string | undefined {
  const value = req.query('operationId');
  if (value !== undefined && value.length > 50) {
    throw new EmulatorError(
      400,
      'BadRequest',
      'operationId: is longer than 50 characters',
      'ParameterValidationFailure',
    );
  }
  return value || undefined;
}

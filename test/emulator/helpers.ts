import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { pino } from 'pino';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import { type EmulatorConfig, startEmulator } from '../../src/emulator/index.ts';
import { findLink, type Resource } from '../../src/wire/hal.ts';
import { resolveHref, withQuery } from '../../src/wire/href.ts';
import { localRel } from '../../src/wire/rels.ts';

/** Settings that keep the suite fast: short agent delays, quick retries. */
export const FAST: Partial<EmulatorConfig> = {
  agentBehaviour: { acceptDelayMs: 10, typingMs: 10 },
  callbackRetryBaseMs: 10,
  callbackTimeoutMs: 2_000,
  ringTimeoutMs: 5_000,
};

type Closer = () => Promise<void>;
const closers: Closer[] = [];

/** Close everything started by the helpers (call in afterEach). */
export async function closeAll(): Promise<void> {
  while (closers.length) await closers.pop()!().catch(() => {});
}

export async function emulator(config: Partial<EmulatorConfig> = {}) {
  const started = await startEmulator({ config: { ...FAST, ...config }, logger: pino({ level: 'silent' }) });
  closers.push(() => started.close());
  return started;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: Resource & Record<string, unknown>;
}

export async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = {};
  }
  return { status: response.status, headers: response.headers, text, json: parsed as HttpResult['json'] };
}

export const jsonInit = (method: string, body: unknown, headers: Record<string, string> = {}) => ({
  method,
  headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json', ...headers },
  body: JSON.stringify(body),
});

// ---------------------------------------------------------------- SA side

export async function aadToken(
  url: string,
  overrides: Partial<{ clientId: string; clientSecret: string; resource: string; tenant: string }> = {},
) {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: overrides.clientId ?? DEMO_TENANT.clientId,
    client_secret: overrides.clientSecret ?? DEMO_TENANT.clientSecret,
    resource: overrides.resource ?? DEMO_TENANT.platformAudience,
  });
  return http(`${url}/${overrides.tenant ?? DEMO_TENANT.tenantId}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
}

/** An SA client that follows links: GET/POST/DELETE with the bearer token, hrefs resolved against a base. */
export class SaClient {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  static async connect(url: string): Promise<SaClient> {
    const token = await aadToken(url);
    if (token.status !== 200) throw new Error(`token request failed: ${token.status} ${token.text}`);
    return new SaClient(url, String(token.json.access_token));
  }

  private headers(extra: Record<string, string> = {}) {
    return { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...extra };
  }

  get(href: string, base = this.base) {
    return http(resolveHref(href, base), { headers: this.headers() });
  }
  post(href: string, body: unknown, base = this.base) {
    return http(resolveHref(href, base), jsonInit('POST', body, { Authorization: `Bearer ${this.token}` }));
  }
  put(href: string, body: unknown, base = this.base) {
    return http(resolveHref(href, base), jsonInit('PUT', body, { Authorization: `Bearer ${this.token}` }));
  }
  postText(href: string, text: string, base = this.base, type = 'text/plain; charset=utf-8') {
    return http(resolveHref(href, base), {
      method: 'POST',
      headers: this.headers({ 'Content-Type': type }),
      body: text,
    });
  }
  delete(href: string, base = this.base) {
    return http(resolveHref(href, base), { method: 'DELETE', headers: this.headers() });
  }

  /** Steps 1–2: discover → applications?endpointId → application (capabilities). */
  async application(): Promise<{ resource: Resource; base: string }> {
    const discover = await http(`${this.base}/platformservice/discover`);
    const applicationsHref = findLink(discover.json, 'applications')!.href;
    const apps = await this.get(withQuery(applicationsHref, { endpointId: DEMO_TENANT.endpointUri }));
    const base = new URL(applicationsHref).origin;
    const app = await this.get(findLink(apps.json, 'application')!.href, base);
    return { resource: app.json, base };
  }

  /** Step 3: a psat token and its discover link for the guest. */
  async anonToken(allowedOrigins = 'https://contoso.com;https://litware.com', sessionId = 'session-1') {
    const { resource, base } = await this.application();
    const href = findLink(resource, 'anonApplicationTokens')!.href;
    const result = await this.post(href, { applicationSessionId: sessionId, allowedOrigins }, base);
    return {
      result,
      token: String(result.json.token),
      discover: findLink(result.json, 'discover')?.href ?? '',
    };
  }
}

// ---------------------------------------------------------------- callbacks (the scripted SA's receiver)

export interface ReceivedCallback {
  url: URL;
  body: { _links: Record<string, { href: string }>; sender: WireSender[]; baseuri: string };
  claims?: JWTPayload;
  /** The raw bearer token. */
  token: string;
  contentType: string;
}
interface WireSender {
  rel: string;
  href: string;
  events: WireEventLike[];
}
interface WireEventLike {
  link: { rel: string; href: string; title?: string };
  in?: { rel: string; href: string; title?: string };
  status?: string;
  reason?: { code: string; subcode?: string; message?: string };
  _embedded?: Record<string, Resource>;
  type: string;
}

/** One callback event, rels reduced to local names and hrefs resolved against the callback's baseuri. */
export interface FlatEvent {
  sender: string;
  rel: string;
  href: string;
  title?: string;
  in?: string;
  type: string;
  status?: string;
  reason?: { code: string; subcode?: string; message?: string };
  resource?: Resource;
  baseuri: string;
  callbackContext?: string;
  index: number;
}

export function flatten(callback: ReceivedCallback, start = 0): FlatEvent[] {
  const events: FlatEvent[] = [];
  for (const sender of callback.body.sender) {
    for (const event of sender.events) {
      events.push({
        sender: localRel(sender.rel),
        rel: localRel(event.link.rel),
        href: resolveHref(event.link.href, callback.body.baseuri),
        title: event.link.title,
        in: event.in ? localRel(event.in.rel) : undefined,
        type: event.type,
        status: event.status,
        reason: event.reason,
        resource: event._embedded ? (Object.values(event._embedded)[0] as Resource) : undefined,
        baseuri: callback.body.baseuri,
        callbackContext: callback.url.searchParams.get('callbackContext') ?? undefined,
        index: start + events.length,
      });
    }
  }
  return events;
}

export interface CallbackServer {
  url: string;
  received: ReceivedCallback[];
  rejected: string[];
  events(): FlatEvent[];
  /** How the next callbacks are answered (default 200 with an empty body). */
  respond: (callback: ReceivedCallback) => Response | Promise<Response>;
}

/** A tiny Hono callback receiver that verifies each JWT against the emulator's JWKS like an SA must. */
export async function callbackServer(
  emulatorUrl: string,
  options: { audience?: string; tenantId?: string; verify?: boolean } = {},
): Promise<CallbackServer> {
  const jwks = createRemoteJWKSet(new URL(`${emulatorUrl}/common/discovery/keys`));
  const tenantId = options.tenantId ?? DEMO_TENANT.tenantId;
  const state: CallbackServer = {
    url: '',
    received: [],
    rejected: [],
    events: () => {
      let index = 0;
      return state.received.flatMap((callback) => {
        const flat = flatten(callback, index);
        index += flat.length;
        return flat;
      });
    },
    respond: () => new Response(null, { status: 200 }),
  };
  const app = new Hono();
  app.post('*', async (c) => {
    const auth = c.req.header('authorization') ?? '';
    let claims: JWTPayload | undefined;
    if (options.verify !== false) {
      try {
        ({ payload: claims } = await jwtVerify(auth.replace(/^Bearer /, ''), jwks, {
          audience: options.audience ?? DEMO_TENANT.appIdUri,
          issuer: `https://sts.windows.net/${tenantId}/`,
          algorithms: ['RS256'],
        }));
        if (claims.appid !== DEMO_TENANT.skypeAppId || claims.tid !== tenantId) throw new Error('appid/tid');
      } catch (error) {
        state.rejected.push((error as Error).message);
        return c.json({ error: 'invalid token' }, 401);
      }
    }
    const callback: ReceivedCallback = {
      url: new URL(c.req.url),
      body: JSON.parse(await c.req.text()),
      claims,
      token: auth.replace(/^Bearer /, ''),
      contentType: c.req.header('content-type') ?? '',
    };
    state.received.push(callback);
    return state.respond(callback);
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  );
  return state;
}

// ---------------------------------------------------------------- the anonymous guest (UCWA)

export interface GuestEvent {
  sender: string;
  rel: string;
  href: string;
  title?: string;
  in?: string;
  type: string;
  status?: string;
  resource?: Resource;
}

/** A customer widget: discover → anonymous application → event channel (long poll) → invitation → chat. */
export class Guest {
  events: GuestEvent[] = [];
  app?: Resource;
  base = '';
  private controller = new AbortController();
  private polling?: Promise<void>;
  pollError?: string;

  constructor(
    readonly token: string,
    readonly origin?: string,
  ) {
    closers.push(() => this.stop());
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.token}`,
      Accept: 'application/json',
      ...extra,
    };
    if (this.origin) headers.Origin = this.origin;
    return headers;
  }

  /** Steps 4–5: discover (no token), create the application, start the long poll. */
  async start(discoverHref: string, name = 'Janardhan'): Promise<HttpResult> {
    const discover = await http(discoverHref, { headers: this.origin ? { Origin: this.origin } : {} });
    if (discover.status !== 200) return discover;
    const anonHref = findLink(discover.json, 'anonApplications')!.href;
    this.base = new URL(anonHref).origin;
    const created = await http(
      anonHref,
      jsonInit(
        'POST',
        { UserAgent: 'carechat-test/1.0', Culture: 'en-us', AnonymousDisplayName: name },
        this.headers(),
      ),
    );
    if (created.status !== 201) return created;
    this.app = created.json;
    this.polling = this.poll(findLink(this.app, 'events')!.href);
    return created;
  }

  private async poll(first: string): Promise<void> {
    let href = first;
    while (!this.controller.signal.aborted) {
      try {
        const response = await fetch(resolveHref(href, this.base), {
          headers: this.headers(),
          signal: this.controller.signal,
        });
        if (response.status !== 200) {
          this.pollError = `${response.status} ${await response.text()}`;
          return;
        }
        const body = (await response.json()) as {
          _links: Record<string, { href: string }>;
          sender: WireSender[];
        };
        href = body._links.next?.href ?? body._links.resync?.href ?? href;
        for (const sender of body.sender) {
          for (const event of sender.events) {
            this.events.push({
              sender: sender.rel,
              rel: event.link.rel,
              href: event.link.href,
              title: event.link.title,
              in: event.in?.rel,
              type: event.type,
              status: event.status,
              resource: event._embedded ? (Object.values(event._embedded)[0] as Resource) : undefined,
            });
          }
        }
      } catch (error) {
        if (!this.controller.signal.aborted) this.pollError = String(error);
        return;
      }
    }
  }

  startMessagingHref(): string {
    const communication = this.app?._embedded?.communication as Resource;
    return findLink(communication, 'startMessaging')!.href;
  }

  invite(to: string = DEMO_TENANT.endpointUri, extra: Record<string, unknown> = {}) {
    return http(
      resolveHref(this.startMessagingHref(), this.base),
      jsonInit('POST', { to, operationId: 'guest-op-1', subject: 'Order 1234', ...extra }, this.headers()),
    );
  }

  /** The latest messaging resource the channel delivered (its links: sendMessage, setIsTyping, stopMessaging). */
  messaging(): Resource | undefined {
    return [...this.events].reverse().find((e) => e.rel === 'messaging' && e.resource)?.resource;
  }

  send(text: string, type = 'text/plain; charset=utf-8', operationId = 'guest-msg-1') {
    const href = withQuery(findLink(this.messaging(), 'sendMessage')!.href, { operationId });
    return http(resolveHref(href, this.base), {
      method: 'POST',
      headers: this.headers({ 'Content-Type': type }),
      body: text,
    });
  }

  post(local: 'setIsTyping' | 'stopMessaging') {
    return http(resolveHref(findLink(this.messaging(), local)!.href, this.base), {
      method: 'POST',
      headers: this.headers(),
    });
  }

  /** Incoming message texts, decoded from their data URIs, with the author title. */
  incomingMessages(): Array<{ text: string; title?: string }> {
    return this.events
      .filter((e) => e.rel === 'message' && e.type === 'completed' && e.resource?.direction === 'Incoming')
      .map((e) => {
        const links = e.resource?._links ?? {};
        const body = links.plainMessage?.href ?? links.htmlMessage?.href ?? '';
        const text = decodeURIComponent(body.slice(body.indexOf(',') + 1).replaceAll('+', ' '));
        return { text, title: links.participant?.title };
      });
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.polling?.catch(() => {});
  }
}

export async function control(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpResult> {
  return http(`${url}/control${path}`, body === undefined ? { method } : jsonInit(method, body));
}

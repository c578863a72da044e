/**
 * A scripted stand-in for the customer's side of the world, for browser tests of the widget that need
 * exact control: an SA stand-in (the customer page + `POST /chat/token`), a discovery host and a pool host
 * serving anonymous UCWA, each on its own port, so the page really talks across origins with CORS.
 *
 * The pool host answers with host-relative hrefs (as captured), so a widget that resolved them against the
 * wrong URL would send its requests to the wrong server. Events are pushed by the test; the event channel
 * holds each GET until something is pushed. Every request is recorded.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { customerPageRoutes } from '../../src/web/customer/routes.ts';

export const HELPDESK_URI = 'sip:helpdesk@contoso.com';
export const HELPDESK_NAME = 'Contoso Help Desk';
export const TOKEN = 'psat=scripted.token.value';
export const APP = '/ucwa/psanon/v1/applications/4242';
export const CONV = `${APP}/communication/conversations/c0ffee`;
/** sendMessage carries a query of its own, which the widget must keep when it adds `operationId`. */
export const SEND_PATH = `${CONV}/messaging/messages`;
export const SEND_QUERY = 'ref=p2p';

export interface RecordedRequest {
  host: 'sa' | 'discovery' | 'pool';
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
}

/** What the event channel does for the next GET instead of answering normally. */
export type PollFault =
  | { kind: 'drop' }
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'body'; body: unknown };

export interface ScriptedOptions {
  /** Prefix put on every non-bare rel (discover, application, events): '' (UCWA plain) by default. */
  relPrefix?: '' | 'service:' | 'ms:rtc:saas:';
  /** What the outgoing `message` completed event says after a send: default Success; 'none' sends nothing. */
  sendOutcome?: 'Success' | 'Failure' | 'none';
  /** Echo the operationId in the outgoing message resource (default true); false → correlate by Location. */
  echoOperationId?: boolean;
  /** Answer of `POST /chat/token` instead of a grant. */
  tokenFailure?: { status: number; body: unknown };
  /** Answer of the `startMessaging` POST instead of 201; 'drop' closes the connection. */
  inviteFailure?: { status: number; body: unknown } | 'drop';
}

type Json = Record<string, unknown>;
type Event = Json;
type Sender = { rel: string; href: string; events: Event[] };

const BARE = new Set(['self', 'next', 'resync', 'resume', 'plainMessage', 'htmlMessage', 'anonApplications']);

function listen(app: Hono): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve({ server, url: `http://127.0.0.1:${info.port}` }),
    );
  });
}

function close(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}

export class ScriptedPlatform {
  readonly requests: RecordedRequest[] = [];
  readonly options: Required<Omit<ScriptedOptions, 'tokenFailure' | 'inviteFailure'>> &
    Pick<ScriptedOptions, 'tokenFailure' | 'inviteFailure'>;
  saUrl = '';
  discoveryUrl = '';
  poolUrl = '';
  private servers: ServerType[] = [];
  private pending: Sender[] = [];
  private readonly issued = new Map<number, Json>();
  private readonly faults: PollFault[] = [];
  private readonly waiters = new Set<() => void>();
  private messageCounter = 0;
  private conversationGone = false;

  private constructor(options: ScriptedOptions) {
    this.options = { relPrefix: '', sendOutcome: 'Success', echoOperationId: true, ...options };
  }

  static async start(options: ScriptedOptions = {}): Promise<ScriptedPlatform> {
    const platform = new ScriptedPlatform(options);
    const pool = await listen(platform.poolApp());
    const discovery = await listen(platform.discoveryApp());
    const sa = await listen(platform.saApp());
    platform.servers = [pool.server, discovery.server, sa.server];
    platform.poolUrl = pool.url;
    platform.discoveryUrl = discovery.url;
    platform.saUrl = sa.url;
    return platform;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map(close));
  }

  rel(local: string): string {
    return BARE.has(local) ? local : this.options.relPrefix + local;
  }

  // ------------------------------------------------------------------------------------ test controls

  /** Queue senders for the event channel (released to the pending GET, or the next one). */
  push(...senders: Sender[]): void {
    this.pending.push(...senders);
    this.wake();
  }

  /** The next answers of the event channel (including a GET held right now) are these faults, in order. */
  failPolls(...faults: PollFault[]): void {
    this.faults.push(...faults);
    this.wake();
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiters) resolve();
  }

  requestsTo(path: string, method?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.path.toLowerCase() === path.toLowerCase() && (!method || r.method === method),
    );
  }

  eventPolls(): RecordedRequest[] {
    return this.requestsTo(`${APP}/events`, 'GET');
  }

  // ------------------------------------------------------------------------------------ event builders

  event(type: string, local: string, href: string, extra: Json = {}): Event {
    return {
      link: { rel: this.rel(local), href, ...(extra.title ? { title: extra.title } : {}) },
      ...extra,
      type,
    };
  }

  conversationSender(...events: Event[]): Sender {
    return { rel: this.rel('conversation'), href: CONV, events };
  }

  communicationSender(...events: Event[]): Sender {
    return { rel: this.rel('communication'), href: `${APP}/communication`, events };
  }

  /** How the platform reports the customer's next messages (e.g. a failure, then a retry that succeeds). */
  setSendOutcome(outcome: 'Success' | 'Failure' | 'none'): void {
    this.options.sendOutcome = outcome;
  }

  /** The helpdesk accepted: participant added, messaging Connected with its action links. */
  connect(): void {
    this.push(
      this.conversationSender(
        this.participantAdded(HELPDESK_NAME, 'helpdesk@contoso.com'),
        this.messaging('Connected'),
      ),
      this.communicationSender(
        this.event('completed', 'messagingInvitation', `${APP}/communication/messagingInvitations/inv1`, {
          status: 'Success',
        }),
      ),
    );
  }

  messaging(state: 'Connecting' | 'Connected' | 'Disconnected'): Event {
    const connected = state === 'Connected';
    const links: Json = { self: { href: `${CONV}/messaging` }, [this.rel('conversation')]: { href: CONV } };
    if (connected) {
      links[this.rel('sendMessage')] = { href: `${SEND_PATH}?${SEND_QUERY}` };
      links[this.rel('setIsTyping')] = { href: `${CONV}/messaging/typing` };
      links[this.rel('typingParticipants')] = { href: `${CONV}/messaging/typingParticipants` };
      links[this.rel('stopMessaging')] = { href: `${CONV}/messaging/terminate` };
    }
    return this.event('updated', 'messaging', `${CONV}/messaging`, {
      _embedded: { [this.rel('messaging')]: { state, _links: links, rel: this.rel('messaging') } },
    });
  }

  participantAdded(name: string, user: string): Event {
    const href = `${CONV}/participants/${user}`;
    return this.event('added', 'participant', href, {
      title: name,
      _embedded: { [this.rel('participant')]: { name, uri: `sip:${user}`, _links: { self: { href } } } },
    });
  }

  participantDeleted(name: string, user: string): Event {
    return this.event('deleted', 'participant', `${CONV}/participants/${user}`, { title: name });
  }

  typing(name: string, user: string, on: boolean): Event {
    return this.event(on ? 'added' : 'deleted', 'participant', `${CONV}/participants/${user}`, {
      title: name,
      in: { rel: this.rel('typingParticipants'), href: `${CONV}/messaging/typingParticipants` },
    });
  }

  /** An incoming message (completed, Success) with its body as a data URI. */
  incoming(opts: { body: string; html?: boolean; author: string; user: string; timeStamp?: string }): Event {
    this.messageCounter += 1;
    const href = `${CONV}/messaging/messages/${this.messageCounter}`;
    const bodyRel = opts.html ? 'htmlMessage' : 'plainMessage';
    const media = opts.html ? 'text/html' : 'text/plain';
    return this.event('completed', 'message', href, {
      status: 'Success',
      _embedded: {
        [this.rel('message')]: {
          direction: 'Incoming',
          timeStamp: opts.timeStamp ?? `/Date(${Date.now()})/`,
          _links: {
            self: { href },
            [this.rel('participant')]: { href: `${CONV}/participants/${opts.user}`, title: opts.author },
            [this.rel('messaging')]: { href: `${CONV}/messaging` },
            [bodyRel]: { href: `data:${media};charset=utf-8,${opts.body}` },
          },
          rel: this.rel('message'),
        },
      },
    });
  }

  conversationDeleted(): Event {
    return this.event('deleted', 'conversation', CONV);
  }

  // ------------------------------------------------------------------------------------ servers

  private record(host: RecordedRequest['host'], c: Context, body: string): void {
    const url = new URL(c.req.url);
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    this.requests.push({
      host,
      method: c.req.method,
      path: url.pathname,
      query: url.searchParams,
      headers,
      body,
    });
  }

  /** CORS as the platform does it for the token's allowed origin (the SA stand-in's origin). */
  private cors(app: Hono, host: RecordedRequest['host']): void {
    app.use('*', async (c, next) => {
      const origin = c.req.header('origin');
      const allowed = origin !== undefined && origin === this.saUrl;
      if (c.req.method === 'OPTIONS') {
        if (!allowed) return c.text('origin not allowed', 403);
        return new Response(null, {
          status: 204,
          headers: {
            'Access-Control-Allow-Origin': origin,
            'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE',
            'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept',
            'Access-Control-Max-Age': '600',
            Vary: 'Origin',
          },
        });
      }
      this.record(host, c, c.req.method === 'GET' ? '' : await c.req.raw.clone().text());
      await next();
      if (allowed) {
        c.res.headers.set('Access-Control-Allow-Origin', origin);
        c.res.headers.set('Access-Control-Expose-Headers', 'Location');
        c.res.headers.append('Vary', 'Origin');
      }
    });
    app.use('*', async (c, next) => {
      if (c.req.header('authorization') !== `Bearer ${TOKEN}`) {
        return c.json({ code: 'Unauthorized', message: 'a Bearer psat token is required' }, 401);
      }
      return next();
    });
  }

  private saApp(): Hono {
    const app = new Hono();
    app.post('/chat/token', async (c) => {
      this.record('sa', c, await c.req.text());
      const failure = this.options.tokenFailure;
      if (failure) return c.json(failure.body as Json, failure.status as 400);
      return c.json({
        token: TOKEN,
        discoverUri: `${this.discoveryUrl}/platformService/discover?anonymousContext=psat%253dscripted.token.value`,
        expiresAt: new Date(Date.now() + 8 * 3600_000).toISOString(),
        helpdeskUri: HELPDESK_URI,
      });
    });
    app.route('/', customerPageRoutes({ title: 'Contoso Support' }));
    return app;
  }

  private discoveryApp(): Hono {
    const app = new Hono();
    this.cors(app, 'discovery');
    app.get('/platformService/discover', (c) =>
      c.json({
        _links: {
          self: { href: c.req.url },
          [this.rel('applications')]: { href: `${this.discoveryUrl}/platformService/v1/applications` },
          [this.options.relPrefix ? `${this.options.relPrefix}anonApplications` : 'anonApplications']: {
            href: `${this.poolUrl}/ucwa/psanon/v1/applications`,
          },
        },
        rel: this.rel('discover'),
      }),
    );
    return app;
  }

  private poolApp(): Hono {
    const app = new Hono();
    this.cors(app, 'pool');
    const rel = (local: string) => this.rel(local);

    app.post('/ucwa/psanon/v1/applications', (c) =>
      c.json(
        {
          culture: 'en-us',
          userAgent: 'carechat-widget/1.0',
          type: 'Browser',
          id: '4242',
          _links: {
            self: { href: APP },
            [rel('policies')]: { href: `${APP}/policies` },
            [rel('events')]: { href: `${APP}/events?ack=1&key=k3y` },
          },
          _embedded: {
            [rel('me')]: {
              uri: 'sip:1546268894@anonymous.invalid',
              name: 'Guest',
              _links: { self: { href: `${APP}/me` } },
            },
            [rel('communication')]: {
              _links: {
                self: { href: `${APP}/communication` },
                [rel('startMessaging')]: { href: `${APP}/communication/messagingInvitations`, revision: '2' },
              },
              rel: rel('communication'),
            },
          },
          rel: rel('application'),
        },
        201,
      ),
    );

    app.post(`${APP}/communication/messagingInvitations`, (c) => {
      const failure = this.options.inviteFailure;
      if (failure === 'drop') {
        (c.env as { incoming: IncomingMessage }).incoming.socket.destroy();
        return new Promise<Response>(() => {});
      }
      if (failure) return c.json(failure.body as Json, failure.status as 403);
      this.push(
        this.communicationSender(
          this.event('started', 'messagingInvitation', `${APP}/communication/messagingInvitations/inv1`, {
            _embedded: {
              [rel('messagingInvitation')]: {
                direction: 'Outgoing',
                state: 'Connecting',
                _links: {
                  self: { href: `${APP}/communication/messagingInvitations/inv1` },
                  [rel('conversation')]: { href: CONV },
                },
              },
            },
          }),
          this.event('added', 'conversation', CONV),
        ),
        this.conversationSender(this.messaging('Connecting')),
      );
      return c.body(null, 201, { Location: `${APP}/communication/messagingInvitations/inv1` });
    });

    app.get(`${APP}/events`, async (c) => {
      const ack = Number(c.req.query('ack'));
      for (;;) {
        const fault = this.faults.shift();
        if (fault?.kind === 'drop') {
          (c.env as { incoming: IncomingMessage }).incoming.socket.destroy();
          return new Promise<Response>(() => {});
        }
        if (fault?.kind === 'status') {
          return c.json((fault.body ?? { code: 'ServiceFailure' }) as Json, fault.status as 500);
        }
        if (fault?.kind === 'body') return c.json(fault.body as Json);
        const kept = this.issued.get(ack);
        if (kept) return c.json(kept);
        if (this.pending.length > 0) {
          const body = {
            _links: {
              self: { href: `${APP}/events?ack=${ack}&key=k3y` },
              next: { href: `${APP}/events?ack=${ack + 1}&key=k3y` },
            },
            sender: this.pending,
          };
          this.pending = [];
          this.issued.set(ack, body);
          return c.json(body);
        }
        await new Promise<void>((resolve) => this.waiters.add(resolve));
      }
    });

    app.post(SEND_PATH, (c) => {
      this.messageCounter += 1;
      const href = `${CONV}/messaging/messages/${this.messageCounter}`;
      const operationId = c.req.query('operationId');
      const outcome = this.options.sendOutcome;
      if (outcome !== 'none') {
        const message: Json = { direction: 'Outgoing', _links: { self: { href } }, rel: rel('message') };
        if (this.options.echoOperationId && operationId) message.operationId = operationId;
        this.push(
          this.conversationSender(
            this.event('completed', 'message', href, {
              status: outcome,
              ...(outcome === 'Failure'
                ? { reason: { code: 'RemoteFailure', subcode: 'Timeout', message: 'nobody picked it up' } }
                : {}),
              _embedded: { [rel('message')]: message },
            }),
          ),
        );
      }
      return c.body(null, 201, { Location: href });
    });

    app.post(`${CONV}/messaging/typing`, (c) => c.body(null, 204));

    app.post(`${CONV}/messaging/terminate`, (c) => {
      this.push(
        this.conversationSender(this.messaging('Disconnected')),
        this.communicationSender(this.conversationDeleted()),
      );
      this.conversationGone = true;
      return c.body(null, 204);
    });

    app.delete(CONV, (c) => {
      if (this.conversationGone)
        return c.json({ code: 'NotFound', message: 'conversation c0ffee was not found' }, 404);
      this.conversationGone = true;
      return c.body(null, 204);
    });

    app.delete(APP, (c) => c.body(null, 204));
    return app;
  }
}

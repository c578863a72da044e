import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { PlatformClientOptions } from '../../src/api/client.ts';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import type { Resource } from '../../src/wire/hal.ts';
import { findLink } from '../../src/wire/hal.ts';
import { queryParam } from '../../src/wire/href.ts';
import { parseJsonText } from '../../src/wire/json.ts';
import { FIXTURES_PRESENT, fixtureText } from './fixtures.ts';

/**
 * A small stand-in for the platform, used by the client's tests (the real emulator lives in
 * src/emulator). It serves the captured fixtures as the discovery → applications → application →
 * anonApplicationTokens chain, with this server as the host, plus an AAD client-credentials token
 * endpoint. Anything else is scripted per test with `on(method, path, handler)`. Every request is
 * recorded; every `/platformservice/**` request except discovery needs a bearer token it issued.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: string;
}

export type Handler = (request: RecordedRequest) => Response | Promise<Response>;

export type FixtureRole = 'discover' | 'applications' | 'application' | 'anonToken';

export interface FixtureServing {
  fixture: string;
  status?: number;
  /** Serve the rels with this prefix (the SDK's tests convert fixtures the same way, by text replacement). */
  prefix?: 'ms:rtc:saas:' | 'service:';
  /** Edit the parsed fixture before it is served. */
  transform?: (json: Record<string, unknown>) => unknown;
}

export interface PlatformDoubleOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  resource?: string;
  endpointUri?: string;
  tokenLifetimeSec?: number;
  /** Which lifetime fields the token endpoint answers with (AAD v1 sends both, as strings). */
  tokenLifetimeFields?: 'expires_in' | 'expires_on' | 'both';
  /** Clock used for `expires_on` (epoch ms). */
  now?: () => number;
}

export interface PlatformDouble {
  origin: string;
  discoverUrl: string;
  tokenUrl: string;
  options: Required<Omit<PlatformDoubleOptions, 'now'>>;
  requests: RecordedRequest[];
  /** Requests to a path (case-insensitive), optionally one method only. */
  count(path: string, method?: string): number;
  tokenRequests(): number;
  issuedTokens: string[];
  /** Every token issued so far stops being accepted (the platform's 401 for an expired token). */
  revokeTokens(): void;
  serveFixture(role: FixtureRole, serving: FixtureServing): void;
  /** Path of a fixture role as currently served (derived from the links of the fixtures themselves). */
  rolePath(role: FixtureRole): string | undefined;
  on(method: string, path: string, handler: Handler): void;
  /** Remove a scripted handler (fixture serving takes over again). */
  off(method: string, path: string): void;
  /** A handler that never answers (until the double closes). */
  hang(): Handler;
  close(): Promise<void>;
}

const DISCOVER_PATH = '/platformservice/discover';
const LYNC_HOST = /https:\/\/[a-z0-9.-]+\.lync\.com(:\d+)?/gi;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** The platform's own headers (wire-spec 2.5). */
export const PLATFORM_HEADERS = {
  'X-MS-Correlation-Id': '4242',
  'X-MS-Server-Fqdn': 'double.pool.test',
};

export async function startPlatformDouble(opts: PlatformDoubleOptions = {}): Promise<PlatformDouble> {
  const options = {
    tenantId: opts.tenantId ?? DEMO_TENANT.tenantId,
    clientId: opts.clientId ?? DEMO_TENANT.clientId,
    clientSecret: opts.clientSecret ?? DEMO_TENANT.clientSecret,
    resource: opts.resource ?? DEMO_TENANT.platformAudience,
    endpointUri: opts.endpointUri ?? DEMO_TENANT.endpointUri,
    tokenLifetimeSec: opts.tokenLifetimeSec ?? 3600,
    tokenLifetimeFields: opts.tokenLifetimeFields ?? 'both',
  };
  const now = opts.now ?? Date.now;
  const requests: RecordedRequest[] = [];
  const handlers = new Map<string, Handler>();
  const valid = new Set<string>();
  const issuedTokens: string[] = [];
  const hanging: Array<() => void> = [];
  const servings: Record<FixtureRole, FixtureServing> = {
    discover: { fixture: 'Discover.json' },
    applications: { fixture: 'Applications.json' },
    application: { fixture: 'Application.json' },
    anonToken: { fixture: 'AnonApplicationToken.json', status: 201 },
  };
  let origin = '';
  const tokenPath = `/${options.tenantId}/oauth2/token`;

  function fixtureBody(serving: FixtureServing): string {
    let text = fixtureText(serving.fixture).replace(LYNC_HOST, origin);
    if (serving.prefix === 'service:') text = text.replaceAll('ms:rtc:saas:', 'service:');
    if (!serving.transform) return text;
    return JSON.stringify(serving.transform(parseJsonText(text) as Record<string, unknown>));
  }

  function linkPath(role: FixtureRole, rel: string): string | undefined {
    let resource: Resource;
    try {
      resource = parseJsonText(fixtureBody(servings[role])) as Resource;
    } catch {
      return undefined;
    }
    const href = findLink(resource, rel)?.href;
    return href ? new URL(href, origin).pathname : undefined;
  }

  function rolePath(role: FixtureRole): string | undefined {
    switch (role) {
      case 'discover':
        return DISCOVER_PATH;
      case 'applications':
        return linkPath('discover', 'applications');
      case 'application':
        return linkPath('applications', 'application');
      case 'anonToken':
        return linkPath('application', 'anonApplicationTokens');
    }
  }

  function unauthorized(): Response {
    return new Response('<html><body>401 - Unauthorized</body></html>', {
      status: 401,
      headers: {
        'content-type': 'text/html',
        'WWW-Authenticate': `Bearer client_id="${DEMO_TENANT.skypeAppId}", authorization_uri="${origin}/${options.tenantId}/oauth2/authorize"`,
        ...PLATFORM_HEADERS,
      },
    });
  }

  async function token(request: RecordedRequest): Promise<Response> {
    const form = new URLSearchParams(request.body);
    if (form.get('grant_type') !== 'client_credentials') {
      return json(400, {
        error: 'unsupported_grant_type',
        error_description: 'grant_type must be client_credentials',
      });
    }
    if (form.get('client_id') !== options.clientId || form.get('client_secret') !== options.clientSecret) {
      return json(401, { error: 'invalid_client', error_description: 'client id or secret is wrong' });
    }
    if (form.get('resource') !== options.resource) {
      return json(400, {
        error: 'invalid_resource',
        error_description: `unknown resource ${form.get('resource')}`,
      });
    }
    const accessToken = `aad-token-${issuedTokens.length + 1}`;
    issuedTokens.push(accessToken);
    valid.add(accessToken);
    const lifetime = options.tokenLifetimeSec;
    const fields = options.tokenLifetimeFields;
    return json(200, {
      token_type: 'Bearer',
      resource: options.resource,
      access_token: accessToken,
      ...(fields === 'expires_on' ? {} : { expires_in: String(lifetime) }),
      ...(fields === 'expires_in' ? {} : { expires_on: String(Math.floor(now() / 1000) + lifetime) }),
    });
  }

  async function dispatch(request: RecordedRequest): Promise<Response> {
    const path = request.path.toLowerCase();
    const handler = handlers.get(`${request.method} ${path}`);
    if (request.method === 'POST' && path === tokenPath.toLowerCase()) return (handler ?? token)(request);
    if (path !== DISCOVER_PATH) {
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (!bearer || !valid.has(bearer)) return unauthorized();
    }
    if (handler) return handler(request);
    if (FIXTURES_PRESENT && (request.method === 'GET' || request.method === 'POST')) {
      for (const role of ['discover', 'applications', 'application', 'anonToken'] as const) {
        if (rolePath(role)?.toLowerCase() !== path) continue;
        if ((role === 'anonToken') !== (request.method === 'POST')) continue;
        if (role === 'applications') {
          const endpointId = queryParam(`${request.path}${request.search}`, 'endpointId');
          if (endpointId !== options.endpointUri) {
            return json(403, {
              code: 'Forbidden',
              subcode: 'ApplicationNotFound',
              message: `no application for endpointId ${endpointId ?? '(missing)'}`,
            });
          }
        }
        const serving = servings[role];
        return new Response(fixtureBody(serving), {
          status: serving.status ?? 200,
          headers: { 'content-type': 'application/json; charset=utf-8', ...PLATFORM_HEADERS },
        });
      }
    }
    return json(404, { code: 'NotFound', message: `${request.method} ${request.path} is not scripted` });
  }

  const app = new Hono();
  app.all('*', async (c) => {
    const url = new URL(c.req.url);
    const recorded: RecordedRequest = {
      method: c.req.method,
      path: url.pathname,
      search: url.search,
      headers: Object.fromEntries(c.req.raw.headers),
      body: await c.req.text(),
    };
    requests.push(recorded);
    return dispatch(recorded);
  });

  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started as Server),
    );
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    discoverUrl: `${origin}${DISCOVER_PATH}`,
    tokenUrl: `${origin}${tokenPath}`,
    options,
    requests,
    count(path, method) {
      return requests.filter(
        (r) => r.path.toLowerCase() === path.toLowerCase() && (method === undefined || r.method === method),
      ).length;
    },
    tokenRequests() {
      return requests.filter((r) => r.path === tokenPath).length;
    },
    issuedTokens,
    revokeTokens() {
      valid.clear();
    },
    serveFixture(role, serving) {
      servings[role] = serving;
    },
    rolePath,
    on(method, path, handler) {
      handlers.set(`${method.toUpperCase()} ${path.toLowerCase()}`, handler);
    },
    off(method, path) {
      handlers.delete(`${method.toUpperCase()} ${path.toLowerCase()}`);
    },
    hang() {
      return () =>
        new Promise<Response>((resolve) => {
          hanging.push(() => resolve(json(503, { code: 'ServiceUnavailable', message: 'double closing' })));
        });
    },
    async close() {
      for (const release of hanging.splice(0)) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Client options pointing at the double, with its credentials. */
export function clientOptionsFor(double: PlatformDouble): PlatformClientOptions {
  return {
    discoverUrl: double.discoverUrl,
    endpointUri: double.options.endpointUri,
    auth: {
      tokenUrl: double.tokenUrl,
      clientId: double.options.clientId,
      clientSecret: double.options.clientSecret,
      resource: double.options.resource,
    },
  };
}

/** A port on 127.0.0.1 where nothing listens any more (a server was started there and closed). */
export async function closedPort(): Promise<number> {
  const server = await new Promise<Server>((resolve) => {
    const started = serve({ fetch: () => new Response(null), port: 0, hostname: '127.0.0.1' }, () =>
      resolve(started as Server),
    );
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

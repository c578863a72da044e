import type { Logger } from 'pino';
import { pino } from 'pino';
import { parseWireDate } from '../wire/dates.ts';
import type { Resource } from '../wire/hal.ts';
import { findEmbedded, findLink, stringProp } from '../wire/hal.ts';
import { cleanHref, isAbsoluteUrl, resolveHref, withQuery } from '../wire/href.ts';
import { parseJsonText } from '../wire/json.ts';
import { localRel } from '../wire/rels.ts';
import { ApiError, CapabilityNotAvailableError, safePath } from './errors.ts';
import type { HttpMethod, HttpResponse } from './http.ts';
import { createHttpTransport } from './http.ts';
import type { AadCredentials } from './token.ts';
import { createTokenProvider } from './token.ts';

export interface PlatformClientOptions {
  /** Discovery entry point, e.g. `http://127.0.0.1:3001/platformservice/discover`. */
  discoverUrl: string;
  /** The application endpoint, e.g. `sip:helpdesk@contoso.com`; sent as `?endpointId=` on applications. */
  endpointUri: string;
  auth: AadCredentials;
  /** Per request, the whole exchange including the body (default 30 000, the SDK's value). */
  timeoutMs?: number;
  /** Refresh the AAD token this long before it expires (default 300). */
  refreshSkewSec?: number;
  logger?: Logger;
  /** Clock for token expiry (epoch ms); default Date.now. */
  now?: () => number;
  /** fetch implementation handed to ofetch (tests, proxies). */
  fetch?: typeof fetch;
  /** Platform hosts the client may call (`host[:port]` or `*.suffix`); absent: any. See HttpTransportOptions. */
  allowedHosts?: string[];
}

export interface Capabilities {
  /** Absolute href of the application resource. */
  applicationHref: string;
  /**
   * Local rel → absolute href, from the application's `_links`, each embedded resource's `self`
   * (under the embedded resource's rel: `communication`, `adhocMeetings`, `myOnlineMeetings`) and each
   * embedded resource's other links (`startMessaging`, `joinOnlineMeeting`, `inviteUserToMeeting`, …).
   */
  links: Record<string, string>;
}

export interface AnonToken {
  /** The psat token, already carrying its `psat=` prefix (wire-spec 4.2). */
  token: string;
  /** Absolute href of the `discover` link the guest starts from (carries `anonymousContext`). */
  discoverUri: string;
  /** ISO 8601 (the wire may say ISO or `/Date(ms)/`). */
  expiresAt: string;
}

export type MessageFilterState = 'Enabled' | 'Disabled';

export interface BridgedParticipantInput {
  displayName: string;
  participantUri: string;
  messageFilterState: MessageFilterState;
}

export type DeclineReason = 'Local' | 'Global' | 'ApplicationInitiatedAction';

export interface PlatformClient {
  /** Discovery → applications (with `endpointId`) → application; cached after the first success. */
  capabilities(): Promise<Capabilities>;
  createAnonToken(input: { applicationSessionId: string; allowedOrigins?: string[] }): Promise<AnonToken>;
  startAdhocMeeting(
    href: string,
    input: { subject: string; operationId: string; callbackUrl?: string; callbackContext?: string },
  ): Promise<void>;
  addMessaging(
    href: string,
    input: { operationId: string; callbackUrl?: string; callbackContext?: string },
  ): Promise<void>;
  acceptAndBridge(
    href: string,
    input: { onlineMeetingUri: string; localUserDisplayName: string; operationId?: string },
  ): Promise<void>;
  addBridgedParticipant(href: string, input: BridgedParticipantInput): Promise<{ location?: string }>;
  updateBridgedParticipant(href: string, input: BridgedParticipantInput): Promise<void>;
  removeBridgedParticipant(href: string): Promise<void>;
  sendMessage(
    href: string,
    input: { text: string; contentType?: 'text/plain' | 'text/html'; operationId: string },
  ): Promise<{ location: string }>;
  setTyping(href: string): Promise<void>;
  addParticipant(href: string, input: { to: string; operationId: string; subject?: string }): Promise<void>;
  ejectParticipant(href: string): Promise<void>;
  decline(href: string, reason?: DeclineReason): Promise<void>;
  /** A 404 that carries the platform's correlation headers counts as "already gone" (wire-spec 6.9). */
  deleteConversation(href: string): Promise<void>;
  terminateOnlineMeeting(href: string): Promise<void>;
  /**
   * What the platform holds of a conversation now (GET, to reconcile after a restart): `gone` when it
   * answered 404 with its correlation headers, else the URIs of its participants.
   */
  conversationNow(href: string): Promise<{ gone: true } | { gone: false; participants: string[] }>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

interface CallSpec {
  method: HttpMethod;
  url: string;
  json?: Record<string, unknown>;
  text?: { body: string; contentType: string };
  operationId?: string;
}

/** The look-up of a capability the caller needs; throws CapabilityNotAvailableError naming the rel. */
export function requireCapability(caps: Capabilities, rel: string): string {
  const local = localRel(rel);
  const href = Object.hasOwn(caps.links, local) ? caps.links[local] : undefined;
  if (href) return href;
  throw new CapabilityNotAvailableError({ rel: local, resource: 'application', url: caps.applicationHref });
}

export function createPlatformClient(opts: PlatformClientOptions): PlatformClient {
  validateOptions(opts);
  const logger = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'platform-client' });
  const http = createHttpTransport({
    timeoutMs: opts.timeoutMs ?? 30_000,
    logger,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}),
  });
  const tokens = createTokenProvider({
    auth: opts.auth,
    http,
    logger,
    now: opts.now ?? Date.now,
    refreshSkewSec: opts.refreshSkewSec ?? 300,
  });

  /**
   * Every platform call: bearer token; on a 401, refresh the token once and send once more (that is
   * authentication, not a retry policy); a second 401 is the caller's ApiError.
   */
  async function call(spec: CallSpec): Promise<HttpResponse> {
    const request = {
      method: spec.method,
      url: spec.url,
      ...(spec.operationId === undefined ? {} : { operationId: spec.operationId }),
      ...(spec.json ? { body: JSON.stringify(spec.json), contentType: JSON_TYPE } : {}),
      ...(spec.text ? { body: spec.text.body, contentType: spec.text.contentType } : {}),
    };
    const token = await tokens.get();
    try {
      return await http.send({ ...request, token });
    } catch (error) {
      if (!(error instanceof ApiError && error.kind === 'http' && error.status === 401)) throw error;
      logger.debug(
        { method: spec.method, path: safePath(spec.url) },
        'platform answered 401: refreshing token once',
      );
      const renewed = await tokens.refresh(token);
      return http.send({ ...request, token: renewed });
    }
  }

  async function getResource(url: string, what: string, auth: boolean): Promise<Resource> {
    const response = auth ? await call({ method: 'GET', url }) : await http.send({ method: 'GET', url });
    return parseResource(response, what);
  }

  let capabilitiesPromise: Promise<Capabilities> | undefined;

  async function loadCapabilities(): Promise<Capabilities> {
    const discover = await getResource(opts.discoverUrl, 'discover', false);
    const applicationsLink = findLink(discover, 'applications');
    if (!hasHref(applicationsLink)) {
      throw new CapabilityNotAvailableError({
        rel: 'applications',
        resource: 'discover',
        url: opts.discoverUrl,
      });
    }
    const applicationsHref = resolveLinkHref(
      applicationsLink.href,
      opts.discoverUrl,
      'applications',
      opts.discoverUrl,
    );
    // Relative hrefs of everything fetched from the applications host resolve against its origin (2.4).
    const base = new URL(applicationsHref).origin;
    const applicationsUrl = withQuery(applicationsHref, { endpointId: opts.endpointUri });
    const applications = await getResource(applicationsUrl, 'applications', true);
    const applicationLink = findLink(applications, 'application');
    if (!hasHref(applicationLink)) {
      throw new CapabilityNotAvailableError({
        rel: 'application',
        resource: 'applications',
        url: applicationsUrl,
      });
    }
    const applicationHref = resolveLinkHref(applicationLink.href, base, 'application', applicationsUrl);
    const application = await getResource(applicationHref, 'application', true);
    const links = collectLinks(application, base, applicationHref);
    logger.debug(
      { path: safePath(applicationHref), rels: Object.keys(links).sort() },
      'platform capabilities discovered',
    );
    return { applicationHref, links };
  }

  function capabilities(): Promise<Capabilities> {
    if (!capabilitiesPromise) {
      const loading = loadCapabilities();
      capabilitiesPromise = loading;
      // A failure is not cached: the next caller starts discovery again.
      loading.catch(() => {
        if (capabilitiesPromise === loading) capabilitiesPromise = undefined;
      });
    }
    return capabilitiesPromise;
  }

  async function post(
    href: string,
    action: string,
    spec: Omit<CallSpec, 'method' | 'url'>,
  ): Promise<HttpResponse> {
    return call({ method: 'POST', url: actionUrl(href, action), ...spec });
  }

  return {
    capabilities,

    async createAnonToken(input) {
      const href = requireCapability(await capabilities(), 'anonApplicationTokens');
      const response = await call({
        method: 'POST',
        url: href,
        json: {
          applicationSessionId: input.applicationSessionId,
          ...(input.allowedOrigins && input.allowedOrigins.length > 0
            ? { allowedOrigins: input.allowedOrigins.join(';') }
            : {}),
        },
      });
      return parseAnonToken(response);
    },

    async startAdhocMeeting(href, input) {
      await post(href, 'startAdhocMeeting', {
        operationId: input.operationId,
        json: pick(input, ['subject', 'operationId', 'callbackUrl', 'callbackContext']),
      });
    },

    async addMessaging(href, input) {
      await post(href, 'addMessaging', {
        operationId: input.operationId,
        json: pick(input, ['operationId', 'callbackUrl', 'callbackContext']),
      });
    },

    async acceptAndBridge(href, input) {
      await post(href, 'acceptAndBridge', {
        ...(input.operationId === undefined ? {} : { operationId: input.operationId }),
        json: pick(input, ['onlineMeetingUri', 'localUserDisplayName', 'operationId']),
      });
    },

    async addBridgedParticipant(href, input) {
      const response = await post(href, 'addBridgedParticipant', { json: bridgedBody(input) });
      const location = locationOf(response);
      return location === undefined ? {} : { location };
    },

    async updateBridgedParticipant(href, input) {
      await call({
        method: 'PUT',
        url: actionUrl(href, 'updateBridgedParticipant', 'PUT'),
        json: bridgedBody(input),
      });
    },

    async removeBridgedParticipant(href) {
      await call({ method: 'DELETE', url: actionUrl(href, 'removeBridgedParticipant', 'DELETE') });
    },

    async sendMessage(href, input) {
      const url = withQuery(actionUrl(href, 'sendMessage'), { operationId: input.operationId });
      const contentType = input.contentType ?? 'text/plain';
      const response = await call({
        method: 'POST',
        url,
        operationId: input.operationId,
        text: { body: input.text, contentType: `${contentType}; charset=utf-8` },
      });
      const location = locationOf(response);
      if (location === undefined) {
        throw new ApiError({
          kind: 'http',
          status: response.status,
          code: 'InvalidResponse',
          message: `sendMessage ${safePath(url)} answered ${response.status} without a Location header; the message cannot be correlated with its delivery events`,
          url: response.url,
          method: 'POST',
          retryable: false,
        });
      }
      return { location };
    },

    async setTyping(href) {
      await post(href, 'setTyping', {});
    },

    async addParticipant(href, input) {
      await post(href, 'addParticipant', {
        operationId: input.operationId,
        json: pick(input, ['to', 'operationId', 'subject']),
      });
    },

    async ejectParticipant(href) {
      await post(href, 'ejectParticipant', {});
    },

    async decline(href, reason) {
      await post(href, 'decline', reason === undefined ? {} : { json: { reason } });
    },

    async deleteConversation(href) {
      try {
        await call({ method: 'DELETE', url: actionUrl(href, 'deleteConversation', 'DELETE') });
      } catch (error) {
        // The SDK's rule: a 404 is "already gone" only when the platform itself said so (its correlation
        // headers are present); a bare 404 (wrong host, proxy) stays an error.
        if (error instanceof ApiError && error.status === 404 && (error.correlationId || error.serverFqdn)) {
          logger.debug(
            { path: safePath(href), correlationId: error.correlationId },
            'conversation already gone (404)',
          );
          return;
        }
        throw error;
      }
    },

    async terminateOnlineMeeting(href) {
      await post(href, 'terminateOnlineMeeting', {});
    },

    async conversationNow(href) {
      let conversation: Resource;
      try {
        conversation = parseResource(await call({ method: 'GET', url: href }), 'conversation');
      } catch (error) {
        if (error instanceof ApiError && error.status === 404 && (error.correlationId || error.serverFqdn)) {
          return { gone: true };
        }
        throw error;
      }
      // Its participants link, else the participants path under the conversation (its query kept).
      const link = findLink(conversation, 'participants');
      const fallback = new URL(cleanHref(href));
      fallback.pathname = `${fallback.pathname.replace(/\/+$/, '')}/participants`;
      const participantsUrl = hasHref(link)
        ? resolveLinkHref(link.href, new URL(href).origin, 'participants', href)
        : fallback.toString();
      const participants = parseResource(await call({ method: 'GET', url: participantsUrl }), 'participants');
      const embedded = findEmbedded(participants, 'participant');
      const list = Array.isArray(embedded) ? embedded : embedded ? [embedded] : [];
      return {
        gone: false,
        participants: list.flatMap((p) => {
          const uri = stringProp(p, 'uri');
          return uri ? [uri] : [];
        }),
      };
    },
  };
}

function hasHref<T extends { href?: unknown }>(link: T | undefined): link is T & { href: string } {
  return link !== undefined && typeof link.href === 'string' && link.href.trim() !== '';
}

/** Action hrefs come from callbacks already resolved against their `baseuri`; a relative one is a caller bug. */
function actionUrl(href: string, action: string, method: HttpMethod = 'POST'): string {
  if (typeof href === 'string') {
    const clean = cleanHref(href.trim());
    if (isAbsoluteUrl(clean) && URL.canParse(clean)) return clean;
  }
  throw new ApiError({
    kind: 'http',
    status: 0,
    code: 'InvalidRequest',
    message: `${action}: href '${String(href)}' is not an absolute URL; resolve it against the callback's baseuri first`,
    url: String(href),
    method,
    retryable: false,
  });
}

/** Bad options fail when the client is built, not on the first chat. */
function validateOptions(opts: PlatformClientOptions): void {
  const problems: string[] = [];
  const httpUrl = (name: string, value: unknown) => {
    if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
      problems.push(`${name} must be an absolute http(s) URL (got ${JSON.stringify(value ?? null)})`);
    }
  };
  const text = (name: string, value: unknown) => {
    if (typeof value !== 'string' || value.trim() === '') problems.push(`${name} must be a non-empty string`);
  };
  httpUrl('discoverUrl', opts.discoverUrl);
  httpUrl('auth.tokenUrl', opts.auth?.tokenUrl);
  text('auth.clientId', opts.auth?.clientId);
  text('auth.clientSecret', opts.auth?.clientSecret);
  text('auth.resource', opts.auth?.resource);
  if (typeof opts.endpointUri !== 'string' || !/^sip:[^@\s]+@[^@\s]+$/i.test(opts.endpointUri)) {
    problems.push(
      `endpointUri must be a SIP URI like sip:helpdesk@contoso.com (got ${JSON.stringify(opts.endpointUri ?? null)})`,
    );
  }
  if (opts.timeoutMs !== undefined && !(Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0)) {
    problems.push('timeoutMs must be a positive number of milliseconds');
  }
  if (
    opts.refreshSkewSec !== undefined &&
    !(Number.isFinite(opts.refreshSkewSec) && opts.refreshSkewSec >= 0)
  ) {
    problems.push('refreshSkewSec must be zero or a positive number of seconds');
  }
  if (problems.length > 0) throw new TypeError(`platform client options: ${problems.join('; ')}`);
}

function pick<T extends object, K extends keyof T>(input: T, keys: K[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (input[key] !== undefined) out[key as string] = input[key];
  }
  return out;
}

function bridgedBody(input: BridgedParticipantInput): Record<string, unknown> {
  return {
    displayName: input.displayName,
    participantUri: input.participantUri,
    messageFilterState: input.messageFilterState,
  };
}

function locationOf(response: HttpResponse): string | undefined {
  const location = response.headers.get('location');
  if (!location) return undefined;
  try {
    return resolveHref(location, response.url);
  } catch {
    return undefined;
  }
}

function invalidResponse(response: HttpResponse, message: string, cause?: unknown): ApiError {
  return new ApiError({
    kind: 'http',
    status: response.status,
    code: 'InvalidResponse',
    message: `${safePath(response.url)}: ${message}`,
    url: response.url,
    method: 'GET',
    retryable: false,
    ...(cause === undefined ? {} : { cause }),
  });
}

function parseResource(response: HttpResponse, what: string): Resource {
  let body: unknown;
  try {
    body = parseJsonText(response.text);
  } catch (error) {
    throw invalidResponse(response, `the ${what} resource ${(error as Error).message}`, error);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidResponse(response, `the ${what} resource is not a JSON object`);
  }
  return body as Resource;
}

/**
 * An href is usable when it is an absolute http(s) URL or host-relative (`/…`); anything else (a bare
 * word like `http-no-so-good-uri`) would silently resolve to a nonsense path, so it is rejected.
 */
function resolveLinkHref(href: string, base: string, rel: string, from: string): string {
  const resolved = tryResolve(href, base);
  if (resolved) return resolved;
  throw new ApiError({
    kind: 'http',
    status: 200,
    code: 'InvalidResponse',
    message: `the '${rel}' link of ${safePath(from)} is not a usable URL: '${href}' (expected an absolute http(s) URL or a path starting with '/')`,
    url: from,
    method: 'GET',
    retryable: false,
  });
}

function tryResolve(href: string, base: string): string | undefined {
  const trimmed = href.trim();
  if (!isAbsoluteUrl(trimmed) && !trimmed.startsWith('/')) return undefined;
  if (trimmed.startsWith('//')) return undefined;
  try {
    const resolved = resolveHref(trimmed, base);
    const url = new URL(resolved);
    return url.protocol === 'http:' || url.protocol === 'https:' ? resolved : undefined;
  } catch {
    return undefined;
  }
}

function collectLinks(application: Resource, base: string, applicationHref: string): Record<string, string> {
  const links: Record<string, string> = {};
  const add = (rel: string, href: unknown) => {
    const local = localRel(rel);
    if (Object.hasOwn(links, local) || typeof href !== 'string') return;
    const resolved = tryResolve(href, base);
    if (resolved) links[local] = resolved;
  };
  for (const [rel, link] of Object.entries(application._links ?? {})) {
    if (localRel(rel) !== 'self') add(rel, link?.href);
  }
  for (const [rel, embedded] of Object.entries(application._embedded ?? {})) {
    if (!embedded || typeof embedded !== 'object' || Array.isArray(embedded)) continue;
    const resource = embedded as Resource;
    add(rel, findLink(resource, 'self')?.href);
    for (const [innerRel, link] of Object.entries(resource._links ?? {})) {
      if (localRel(innerRel) !== 'self') add(innerRel, link?.href);
    }
  }
  if (!Object.hasOwn(links, 'application')) links.application = applicationHref;
  return links;
}

function parseAnonToken(response: HttpResponse): AnonToken {
  let body: unknown;
  try {
    body = parseJsonText(response.text);
  } catch (error) {
    throw anonInvalid(response, (error as Error).message, error);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw anonInvalid(response, 'the body is not a JSON object');
  }
  const resource = body as Resource;
  const token = resource.token;
  if (typeof token !== 'string' || token.trim() === '') throw anonInvalid(response, 'it has no token');
  const expiryTime = resource.expiryTime;
  const expiry = typeof expiryTime === 'string' ? parseWireDate(expiryTime) : undefined;
  if (!expiry) {
    throw anonInvalid(
      response,
      `its expiryTime ${JSON.stringify(expiryTime ?? null)} is neither ISO 8601 nor /Date(ms)/`,
    );
  }
  const discover = findLink(resource, 'discover');
  if (!hasHref(discover)) throw anonInvalid(response, "it has no 'discover' link");
  const discoverUri = tryResolve(discover.href, new URL(response.url).origin);
  if (!discoverUri) {
    throw anonInvalid(
      response,
      `its 'discover' link '${discover.href}' is not a usable URL (expected an absolute http(s) URL or a path starting with '/')`,
    );
  }
  return { token, discoverUri, expiresAt: expiry.toISOString() };
}

function anonInvalid(response: HttpResponse, detail: string, cause?: unknown): ApiError {
  return new ApiError({
    kind: 'http',
    status: response.status,
    code: 'InvalidResponse',
    message: `anonApplicationTokens answer from ${safePath(response.url)} is unusable: ${detail}`,
    url: response.url,
    method: 'POST',
    retryable: false,
    ...(cause === undefined ? {} : { cause }),
  });
}

import { randomUUID } from 'node:crypto';
import { FetchError, ofetch } from 'ofetch';
import type { Logger } from 'pino';
import { resolveHref } from '../wire/href.ts';
import {
  ApiError,
  errorFromResponse,
  innermostMessage,
  isTransientNetworkError,
  networkErrorCode,
  safePath,
} from './errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  /** Absolute URL, used verbatim (query and all). */
  url: string;
  /** A string body is sent as is; URLSearchParams as a form. */
  body?: string | URLSearchParams;
  contentType?: string;
  /** Becomes `client-request-id` (and is logged); a fresh uuid otherwise. */
  operationId?: string;
  /** Bearer token for `Authorization`. */
  token?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Raw body text ('' when there is none). */
  text: string;
  /** The URL that finally answered (after a 307). */
  url: string;
}

export interface HttpTransportOptions {
  timeoutMs: number;
  logger: Logger;
  fetch?: typeof fetch;
  /**
   * Hosts the client may talk to (`host[:port]`, or `*.suffix` for any subdomain). Hrefs come from
   * callbacks and resources; one that points anywhere else is refused without a request. Absent: any host.
   */
  allowedHosts?: string[];
}

/** `pool.example:443` matches `pool.example:443`; `*.infra.lync.com` matches `a.infra.lync.com[:port]`. */
export function hostAllowed(url: string, patterns: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.host.toLowerCase();
  const hostname = parsed.hostname.toLowerCase();
  return patterns.some((raw) => {
    const pattern = raw.trim().toLowerCase();
    if (pattern.startsWith('*.'))
      return hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1;
    return pattern.includes(':') ? host === pattern : hostname === pattern;
  });
}

export interface HttpTransport {
  /** Send once (plus one re-issue on 307). Resolves with a 2xx answer; anything else throws ApiError. */
  send(request: HttpRequest): Promise<HttpResponse>;
}

/**
 * The one place that talks HTTP. ofetch with `retry: 0`: retries belong to the session machine, and
 * ofetch's default one-retry for GETs would silently double traffic and hide injected faults.
 * Redirects are not auto-followed (fetch would drop `Authorization` across hosts); a `307 Temporary
 * Redirect` is re-issued once to its `Location` with the same method, body and token, as the SDK does
 * (wire-spec 2.4).
 *
 * The timeout is our own abort signal rather than ofetch's `timeout` option: ofetch clears its timer as
 * soon as the headers arrive, so a body that never finishes would hang; ours covers the whole exchange.
 */
export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  const $fetch = ofetch.create(
    { retry: 0, redirect: 'manual', responseType: 'text' },
    opts.fetch ? { fetch: opts.fetch } : {},
  );
  const { logger, timeoutMs } = opts;

  async function exchange(request: HttpRequest, url: string, requestId: string): Promise<HttpResponse> {
    if (opts.allowedHosts && !hostAllowed(url, opts.allowedHosts)) {
      throw new ApiError({
        kind: 'http',
        status: 0,
        code: 'ForbiddenHost',
        retryable: false,
        message: `${request.method} ${safePath(url)}: host ${hostOf(url)} is not an allowed platform host (API_ALLOWED_HOSTS)`,
        url,
        method: request.method,
      });
    }
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'client-request-id': requestId,
    };
    if (request.token) headers.Authorization = `Bearer ${request.token}`;
    if (request.contentType) headers['Content-Type'] = request.contentType;

    const controller = new AbortController();
    const timer = setTimeout(() => {
      const reason = new Error(`no complete answer within ${timeoutMs} ms`);
      reason.name = 'TimeoutError';
      controller.abort(reason);
    }, timeoutMs);
    try {
      const response = await $fetch.raw<string, 'text'>(url, {
        method: request.method,
        headers,
        signal: controller.signal,
        ...(request.body === undefined ? {} : { body: request.body }),
      });
      return {
        status: response.status,
        headers: response.headers,
        text: typeof response._data === 'string' ? response._data : '',
        url,
      };
    } catch (error) {
      throw toApiError(error, request.method, url, controller.signal.aborted, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  async function send(request: HttpRequest): Promise<HttpResponse> {
    const requestId = request.operationId ?? randomUUID();
    const path = safePath(request.url);
    const log = { method: request.method, path, operationId: request.operationId, requestId };
    try {
      let response = await exchange(request, request.url, requestId);
      if (response.status === 307) {
        const target = redirectTarget(request, response);
        logger.debug(
          { ...log, status: 307, redirectPath: safePath(target) },
          'platform 307: re-issuing once',
        );
        response = await exchange(request, target, requestId);
        if (response.status === 307) {
          throw new ApiError({
            kind: 'http',
            status: 307,
            code: 'TooManyRedirects',
            message: `${request.method} ${path} was redirected twice (307); the client re-issues a request only once`,
            url: response.url,
            method: request.method,
          });
        }
      }
      if (response.status < 200 || response.status >= 300) {
        throw errorFromResponse({
          method: request.method,
          url: response.url,
          status: response.status,
          headers: response.headers,
          body: response.text,
        });
      }
      logger.debug({ ...log, status: response.status }, 'platform request');
      return response;
    } catch (error) {
      const apiError =
        error instanceof ApiError ? error : toApiError(error, request.method, request.url, false, timeoutMs);
      logger.debug(
        { ...log, status: apiError.status, code: apiError.code, kind: apiError.kind },
        'platform request failed',
      );
      throw apiError;
    }
  }

  return { send };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unparseable URL)';
  }
}

function redirectTarget(request: HttpRequest, response: HttpResponse): string {
  const location = response.headers.get('location');
  if (!location) {
    throw new ApiError({
      kind: 'http',
      status: 307,
      code: 'InvalidResponse',
      message: `${request.method} ${safePath(request.url)} answered 307 without a Location header`,
      url: response.url,
      method: request.method,
    });
  }
  try {
    return resolveHref(location, response.url);
  } catch (cause) {
    throw new ApiError({
      kind: 'http',
      status: 307,
      code: 'InvalidResponse',
      message: `${request.method} ${safePath(request.url)} answered 307 with an unusable Location`,
      url: response.url,
      method: request.method,
      cause,
    });
  }
}

/** FetchError (HTTP status ≥ 400, or a failed connection), our timeout, or a failed body read → ApiError. */
function toApiError(
  error: unknown,
  method: string,
  url: string,
  timedOut: boolean,
  timeoutMs: number,
): ApiError {
  if (error instanceof ApiError) return error;
  const response = error instanceof FetchError ? error.response : undefined;
  if (response) {
    const data: unknown = response._data;
    return errorFromResponse({
      method,
      url,
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      body: typeof data === 'string' ? data : undefined,
    });
  }
  if (timedOut) {
    return new ApiError({
      kind: 'timeout',
      status: 0,
      code: 'Timeout',
      message: `${method} ${safePath(url)} got no complete answer within ${timeoutMs} ms`,
      url,
      method,
      retryable: true,
      cause: error,
    });
  }
  const code = networkErrorCode(error);
  return new ApiError({
    kind: 'network',
    status: 0,
    code: 'NetworkError',
    message: `${method} ${safePath(url)} failed before an answer arrived: ${innermostMessage(error)}`,
    url,
    method,
    retryable: isTransientNetworkError(code),
    cause: error,
  });
}

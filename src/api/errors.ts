import { ErrorBodySchema } from '../wire/envelope.ts';
import { parseJsonText } from '../wire/json.ts';

/**
 * Everything the platform client throws is an ApiError, so the session machine can branch on
 * `retryable` (and, where it matters, `code`/`subcode`) and never on a raw status or an exception type.
 *
 * - `kind: 'http'`: the platform (or AAD) answered. `status` is the HTTP status; `code`/`subcode` come
 *   from the `{code, subcode, message}` error body (wire-spec 9.1), or `HttpError` when the body is not
 *   one (the 401 challenge is HTML). Two client-made codes also use this kind: `InvalidResponse` (a 2xx
 *   whose content is unusable, `status` = that 2xx) and `InvalidRequest` (the caller passed something the
 *   client refuses to send, `status` = 0, nothing went on the wire).
 * - `kind: 'timeout'`: no complete answer within `timeoutMs`; `status` 0, `code` `Timeout`.
 * - `kind: 'network'`: connection refused/reset, DNS, TLS; `status` 0, `code` `NetworkError`.
 */
export type ApiErrorKind = 'network' | 'timeout' | 'http';

export interface ApiErrorInit {
  kind: ApiErrorKind;
  status: number;
  code: string;
  message: string;
  url: string;
  method: string;
  subcode?: string;
  correlationId?: string;
  serverFqdn?: string;
  /** Defaults to the rule in {@link isRetryableStatus} (always true for timeouts and most network errors). */
  retryable?: boolean;
  cause?: unknown;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly kind: ApiErrorKind;
  /** HTTP status, or 0 when no HTTP answer was received (network failure, timeout, refused input). */
  readonly status: number;
  /** `code` of the error body, or `Timeout` / `NetworkError` / `HttpError` / `InvalidResponse` / `InvalidRequest`. */
  readonly code: string;
  readonly subcode?: string;
  readonly correlationId?: string;
  readonly serverFqdn?: string;
  readonly url: string;
  readonly method: string;
  /** True for 5xx, 408, 429, timeouts and transient network failures; false for every other 4xx. */
  readonly retryable: boolean;

  constructor(init: ApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.url = init.url;
    this.method = init.method;
    if (init.subcode !== undefined) this.subcode = init.subcode;
    if (init.correlationId !== undefined) this.correlationId = init.correlationId;
    if (init.serverFqdn !== undefined) this.serverFqdn = init.serverFqdn;
    this.retryable =
      init.retryable ?? (init.kind === 'http' ? isRetryableStatus(init.status) : init.kind === 'timeout');
  }

  /** A plain, JSON-safe copy (machine contexts and logs must not hold class instances). */
  toJSON(): ApiErrorJson {
    return {
      name: this.name,
      kind: this.kind,
      status: this.status,
      code: this.code,
      ...(this.subcode === undefined ? {} : { subcode: this.subcode }),
      message: this.message,
      method: this.method,
      url: this.url,
      retryable: this.retryable,
      ...(this.correlationId === undefined ? {} : { correlationId: this.correlationId }),
      ...(this.serverFqdn === undefined ? {} : { serverFqdn: this.serverFqdn }),
    };
  }
}

export interface ApiErrorJson {
  name: string;
  kind: ApiErrorKind;
  status: number;
  code: string;
  subcode?: string;
  message: string;
  method: string;
  url: string;
  retryable: boolean;
  correlationId?: string;
  serverFqdn?: string;
}

/**
 * The application lacks a link the SA needs: the permissions consented for the app decide which links
 * appear (wire-spec 2.2), so this is a configuration problem, never retryable.
 */
export class CapabilityNotAvailableError extends ApiError {
  override name = 'CapabilityNotAvailableError';
  /** The local rel name that is missing, e.g. `anonApplicationTokens`. */
  readonly rel: string;

  constructor(init: { rel: string; resource: string; url: string; method?: string; status?: number }) {
    super({
      kind: 'http',
      status: init.status ?? 200,
      code: 'CapabilityNotAvailable',
      message:
        `capability '${init.rel}' is not available: the ${init.resource} resource at ${init.url} has no ` +
        `'${init.rel}' link (with either the 'service:' or the 'ms:rtc:saas:' prefix); check the ` +
        `permissions consented for the application and its endpoint`,
      url: init.url,
      method: init.method ?? 'GET',
      retryable: false,
    });
    this.rel = init.rel;
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

/** 5xx, 408 Request Timeout and 429 Too Many Requests are worth retrying; other 4xx are not. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Node/undici error codes that mean "the connection failed, trying again may help". */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** The first `code` string found along an error's `cause` chain (undici hides it one or two levels down). */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost message along the cause chain: `connect ECONNREFUSED 127.0.0.1:9` rather than `fetch failed`. */
export function innermostMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.message) message = current.message;
    current = current.cause;
  }
  return message;
}

/** Transient unless the failure is one that repeating cannot fix (unknown host, bad certificate, bad URL). */
export function isTransientNetworkError(code: string | undefined): boolean {
  if (code === undefined) return true;
  return (
    TRANSIENT_NETWORK_CODES.has(code) ||
    !/^(ENOTFOUND|ERR_INVALID_URL|ERR_TLS|CERT_|DEPTH_ZERO|UNABLE_TO|SELF_SIGNED)/.test(code)
  );
}

export interface ErrorResponse {
  method: string;
  url: string;
  status: number;
  statusText?: string;
  headers?: Headers;
  body?: string;
}

/**
 * Turn a non-2xx answer into an ApiError: the platform's `{code, subcode, message}` body (wire-spec 9.1),
 * AAD's `{error, error_description}`, or anything else (HTML challenge, empty) as `HttpError`.
 */
export function errorFromResponse(res: ErrorResponse): ApiError {
  const parsed = parseErrorBody(res.body);
  const correlationId = res.headers?.get('x-ms-correlation-id') ?? undefined;
  const serverFqdn = res.headers?.get('x-ms-server-fqdn') ?? undefined;
  const path = safePath(res.url);
  const statusText = res.statusText ? ` ${res.statusText}` : '';
  const what = parsed
    ? `${parsed.code}${parsed.subcode ? `/${parsed.subcode}` : ''}${parsed.message ? `: ${parsed.message}` : ''}`
    : 'HttpError';
  return new ApiError({
    kind: 'http',
    status: res.status,
    code: parsed?.code ?? 'HttpError',
    message: `${res.method} ${path} answered ${res.status}${statusText} (${what})`,
    url: res.url,
    method: res.method,
    ...(parsed?.subcode === undefined ? {} : { subcode: parsed.subcode }),
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(serverFqdn === undefined ? {} : { serverFqdn }),
  });
}

interface ParsedErrorBody {
  code: string;
  subcode?: string;
  message?: string;
}

export function parseErrorBody(body: string | undefined): ParsedErrorBody | undefined {
  if (!body) return undefined;
  let json: unknown;
  try {
    json = parseJsonText(body);
  } catch {
    return undefined;
  }
  const platform = ErrorBodySchema.safeParse(json);
  if (platform.success) {
    return {
      code: platform.data.code,
      ...(platform.data.subcode === undefined ? {} : { subcode: platform.data.subcode }),
      ...(platform.data.message === undefined ? {} : { message: platform.data.message }),
    };
  }
  // AAD token endpoint: {"error":"invalid_client","error_description":"…"}
  if (json && typeof json === 'object') {
    const { error, error_description: description } = json as Record<string, unknown>;
    if (typeof error === 'string') {
      return { code: error, ...(typeof description === 'string' ? { message: description } : {}) };
    }
  }
  return undefined;
}

/** Path only: queries can carry tokens (`anonymousContext=psat…`), so logs and messages never show them. */
export function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(unparseable URL)';
  }
}

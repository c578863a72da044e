import { JsonTextError, parseJsonText } from '../wire/json.ts';

/** A platform error answer: `{code, subcode?, message}` (wire-spec 9.1). Thrown by handlers, rendered once. */
export class EmulatorError extends Error {
  override name = 'EmulatorError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly subcode?: string,
    readonly headers: Record<string, string | string[]> = {},
  ) {
    super(message);
  }

  body(): { code: string; subcode?: string; message: string } {
    return this.subcode
      ? { code: this.code, subcode: this.subcode, message: this.message }
      : { code: this.code, message: this.message };
  }
}

export const notFound = (what: string) => new EmulatorError(404, 'NotFound', `${what} was not found`);

export const badParameter = (field: string, problem: string) =>
  new EmulatorError(400, 'BadRequest', `${field}: ${problem}`, 'ParameterValidationFailure');

export const conflict = (message: string, subcode?: string) =>
  new EmulatorError(409, 'Conflict', message, subcode);

/** The `code` that goes with an HTTP status (used for injected faults). */
export function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    406: 'NotAcceptable',
    409: 'Conflict',
    410: 'Gone',
    412: 'PreconditionFailed',
    413: 'EntityTooLarge',
    415: 'UnsupportedMediaType',
    428: 'PreconditionRequired',
    429: 'TooManyRequests',
    500: 'ServiceFailure',
    502: 'ServiceFailure',
    503: 'ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? (status >= 500 ? 'ServiceFailure' : 'BadRequest');
}

export const MAX_BODY_BYTES = 64 * 1024;

export type JsonObject = Record<string, unknown>;

/** True for `application/json` and its variants (`application/vnd.microsoft.com.ucwa+json`, `; type=…`). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'));
}

/** Read a raw body, refusing anything over the limit before it is buffered in full. */
export async function readBodyText(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limit) {
    throw new EmulatorError(413, 'EntityTooLarge', `request body is larger than ${limit} bytes`);
  }
  const buffer = await request.arrayBuffer();
  if (buffer.byteLength > limit) {
    throw new EmulatorError(413, 'EntityTooLarge', `request body is larger than ${limit} bytes`);
  }
  return new TextDecoder('utf-8').decode(buffer);
}

/**
 * Parse a JSON object body: wrong content type → 415, malformed → 400 DeserializationFailure,
 * a non-object → 400. `optional` accepts an empty body (returns {}).
 */
export async function readJsonObject(request: Request, { optional = false } = {}): Promise<JsonObject> {
  const text = await readBodyText(request);
  if (optional && text.trim() === '') return {};
  const contentType = request.headers.get('content-type') ?? undefined;
  if (!isJsonContentType(contentType)) {
    throw new EmulatorError(
      415,
      'UnsupportedMediaType',
      `Content-Type must be application/json, got ${contentType ? `'${contentType}'` : 'none'}`,
    );
  }
  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch (error) {
    const detail = error instanceof JsonTextError ? error.message : 'body is not valid JSON';
    throw new EmulatorError(400, 'BadRequest', detail, 'DeserializationFailure');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new EmulatorError(400, 'BadRequest', 'body must be a JSON object', 'DeserializationFailure');
  }
  return value as JsonObject;
}

/** A member of a JSON object, name compared case-insensitively (the Web SDK sends `UserAgent`, docs `userAgent`). */
export function member(body: JsonObject, name: string): unknown {
  if (name in body) return body[name];
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(body)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

interface StringRule {
  required?: boolean;
  max?: number;
  /** The field is reported under this name (e.g. when two names are accepted). */
  label?: string;
}

export function optionalString(body: JsonObject, name: string, rule: StringRule = {}): string | undefined {
  const value = member(body, name);
  const label = rule.label ?? name;
  if (value === undefined || value === null) {
    if (rule.required) throw badParameter(label, 'is required');
    return undefined;
  }
  if (typeof value !== 'string') throw badParameter(label, `must be a string, got ${typeof value}`);
  if (rule.required && value.trim() === '') throw badParameter(label, 'must not be empty');
  if (rule.max !== undefined && value.length > rule.max) {
    throw badParameter(label, `is longer than ${rule.max} characters`);
  }
  return value;
}

export function requiredString(
  body: JsonObject,
  name: string,
  rule: Omit<StringRule, 'required'> = {},
): string {
  return optionalString(body, name, { ...rule, required: true }) as string;
}

export const SIP_URI = /^sip:[^@\s;]+@[^@\s;]+(;.*)?$/i;

export function sipUri(value: string, field: string): string {
  if (!SIP_URI.test(value)) throw badParameter(field, `must be a SIP URI (sip:user@domain), got '${value}'`);
  return value;
}

/** `callbackUrl` rule of the contract: HTTPS, ≤1024. Plain http is accepted for loopback hosts only. */
export function callbackUrlField(body: JsonObject): string | undefined {
  const value = optionalString(body, 'callbackUrl', { max: 1024 });
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badParameter('callbackUrl', 'must be an absolute URL');
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw badParameter('callbackUrl', 'must be an https URL');
  }
  return value;
}

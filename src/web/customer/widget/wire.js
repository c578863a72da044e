// @ts-check
/**
 * The customer widget's wire helpers: timing constants, link relations and links of HAL resources, hrefs
 * resolved against the response they came from, data URIs, wire dates, HTML reduced to text (never parsed
 * into the page), and reading a response or its failure.
 */

export const CULTURE = 'en-us';
export const USER_AGENT = 'carechat-widget/1.0';
/** At most one `setIsTyping` POST per this interval while the customer types. */
export const TYPING_INTERVAL_MS = 3000;
/** A typing indication stays up at least this long, so that a person can see it (and a message from the typist waits for it). */
export const MIN_TYPING_MS = 1000;
/** Waits between event-channel retries after a network error or a 5xx; then the widget gives up. */
export const POLL_RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
const REL_PREFIXES = ['ms:rtc:saas:', 'service:'];

/**
 * @typedef {{ href: string, title?: string }} Link
 * @typedef {{ _links?: Record<string, Link | undefined>, _embedded?: Record<string, unknown>,
 *   [property: string]: unknown }} Resource
 */

/** `service:messaging` / `ms:rtc:saas:messaging` / `messaging` → `messaging`. @param {unknown} rel */
export function localRel(rel) {
  if (typeof rel !== 'string') return '';
  for (const prefix of REL_PREFIXES) if (rel.startsWith(prefix)) return rel.slice(prefix.length);
  return rel;
}

/** @param {unknown} value @returns {value is Record<string, any>} */
export function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The link of `resource` whose local rel is `local`. @param {unknown} resource @param {string} local */
export function findLink(resource, local) {
  if (!isObject(resource) || !isObject(resource._links)) return undefined;
  for (const [rel, link] of Object.entries(resource._links)) {
    if (localRel(rel) === local && isObject(link) && typeof link.href === 'string') {
      return /** @type {Link} */ (link);
    }
  }
  return undefined;
}

/** The embedded resource of `resource` whose local rel is `local` (first one of an array). */
export function findEmbedded(/** @type {unknown} */ resource, /** @type {string} */ local) {
  if (!isObject(resource) || !isObject(resource._embedded)) return undefined;
  for (const [rel, value] of Object.entries(resource._embedded)) {
    if (localRel(rel) !== local) continue;
    const one = Array.isArray(value) ? value[0] : value;
    if (isObject(one)) return /** @type {Resource} */ (one);
  }
  return undefined;
}

/** Resolve `href` against the URL of the response it came from. @param {string} href @param {string} base */
export function resolveHref(href, base) {
  return new URL(href.replaceAll('\\u0026', '&'), base).toString();
}

/** Path of an absolute URL, decoded and lower-cased: what identifies a resource. @param {string} url */
export function hrefKey(url) {
  const { pathname } = new URL(url);
  try {
    return decodeURIComponent(pathname).toLowerCase();
  } catch {
    return pathname.toLowerCase();
  }
}

/**
 * A message body link: media type (and charset) before the first comma, then form-URL-encoded text
 * (`+` = space) or base64.
 * @param {string} href
 * @returns {{ mediaType: string, text: string }}
 */
export function decodeDataUri(href) {
  if (!href.startsWith('data:')) throw new Error('not a data URI');
  const comma = href.indexOf(',');
  if (comma < 0) throw new Error('data URI without a comma');
  const meta = href.slice(5, comma).split(';');
  const payload = href.slice(comma + 1);
  const mediaType = (meta[0] || 'text/plain').toLowerCase();
  if (meta.includes('base64')) {
    const bytes = Uint8Array.from(atob(payload), (ch) => ch.charCodeAt(0));
    return { mediaType, text: new TextDecoder().decode(bytes) };
  }
  const spaced = payload.replaceAll('+', ' ');
  try {
    return { mediaType, text: decodeURIComponent(spaced) };
  } catch {
    return { mediaType, text: spaced };
  }
}

const BLOCK_TAGS = new Set(['P', 'DIV', 'LI', 'TR', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'BLOCKQUOTE', 'PRE']);

/**
 * Plain text of an HTML message. The HTML is parsed into an inert document (no scripts run, nothing loads)
 * and only its text is kept; it is never inserted as markup.
 * @param {string} html
 */
export function htmlToText(html) {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  let out = '';
  /** @param {Node} node */
  const walk = (node) => {
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === Node.TEXT_NODE) out += child.textContent ?? '';
      else if (child.nodeType === Node.ELEMENT_NODE) {
        const tag = /** @type {Element} */ (child).tagName;
        if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'TEMPLATE') continue;
        if (tag === 'BR') out += '\n';
        else {
          if (BLOCK_TAGS.has(tag) && out && !out.endsWith('\n')) out += '\n';
          walk(child);
          if (BLOCK_TAGS.has(tag) && !out.endsWith('\n')) out += '\n';
        }
      }
    }
  };
  walk(doc.body);
  return out.replace(/\n{3,}/g, '\n\n').trim();
}

/** `"/Date(1489524122496)/"` or ISO-8601 → Date. @param {unknown} value @returns {Date | undefined} */
export function parseWireDate(value) {
  if (typeof value !== 'string') return undefined;
  const net = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
  const date = net ? new Date(Number(net[1])) : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A random UUID, also outside secure contexts (where crypto.randomUUID is missing). */
export function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** JSON of a response body, byte-order mark tolerated. @param {Response} res */
export async function readJson(res) {
  const text = (await res.text()).replace(/^\uFEFF/, '');
  return JSON.parse(text);
}

/**
 * A short, human message for a failed response: the body's `message` (SA and platform errors both carry
 * one), else the status.
 * @param {Response} res
 */
export async function describeFailure(res) {
  try {
    const body = await readJson(res);
    if (isObject(body)) {
      if (typeof body.message === 'string' && body.message) return body.message;
      if (typeof body.error === 'string' && body.error) return body.error;
    }
  } catch {
    // not JSON: fall through to the status
  }
  return `the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
}

/** @param {number} ms @param {AbortSignal} signal */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
      { once: true },
    );
  });
}

/** A failure of the start sequence, with the sentence to show. */
export class StartError extends Error {}

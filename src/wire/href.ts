/**
 * Hrefs are opaque: resolve them, compare them, add query parameters with a URL builder — never edit
 * them by string concatenation (wire-spec 2.4).
 */

const PLACEHOLDER_BASE = 'http://relative.invalid';

/** Undo the capture tool's double escaping (`\u0026` written literally inside an href). */
export function cleanHref(href: string): string {
  return href.includes('\\u0026') ? href.replaceAll('\\u0026', '&') : href;
}

export function isAbsoluteUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
}

/**
 * Resolve `href` against `base` (RFC 3986). An absolute href is returned as is. `base` may carry a path,
 * which a host-relative `/…` href ignores, as on the platform.
 */
export function resolveHref(href: string, base: string): string {
  const clean = cleanHref(href);
  if (isAbsoluteUrl(clean)) return clean;
  return new URL(clean, base).toString();
}

/** Add or replace query parameters on an absolute or relative href, keeping what is there. */
export function withQuery(href: string, params: Record<string, string | undefined>): string {
  const clean = cleanHref(href);
  const absolute = isAbsoluteUrl(clean);
  const url = new URL(clean, PLACEHOLDER_BASE);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  if (absolute) return url.toString();
  return url.pathname + url.search + url.hash;
}

/** A query parameter of an href, name compared case-insensitively (captures use both `endpointId` and `endpointid`). */
export function queryParam(href: string, name: string): string | undefined {
  const url = new URL(cleanHref(href), PLACEHOLDER_BASE);
  const wanted = name.toLowerCase();
  for (const [key, value] of url.searchParams) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The path of an href (absolute or relative), decoded, lower-cased: what identifies a resource. */
export function hrefKey(href: string): string {
  const url = new URL(cleanHref(href), PLACEHOLDER_BASE);
  return safeDecode(url.pathname).toLowerCase();
}

/** True when two hrefs name the same resource: same path, compared decoded and case-insensitively. */
export function sameResource(a: string, b: string): boolean {
  return hrefKey(a) === hrefKey(b);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

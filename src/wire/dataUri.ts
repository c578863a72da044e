/**
 * Message bodies travel as data URIs: media type and charset before the first comma, then the text
 * form-URL-encoded (`+` = space, lower-case hex) — wire-spec 5.5.
 */
export interface DataUri {
  mediaType: string;
  text: string;
}

export function encodeDataUri(text: string, mediaType = 'text/plain'): string {
  const encoded = new URLSearchParams({ x: text }).toString().slice(2);
  return `data:${mediaType};charset=utf-8,${encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`;
}

export function decodeDataUri(href: string): DataUri {
  if (!href.startsWith('data:')) throw new Error('not a data URI');
  const comma = href.indexOf(',');
  if (comma < 0) throw new Error('data URI has no comma');
  const meta = href.slice(5, comma);
  const payload = href.slice(comma + 1);
  const mediaType = meta.split(';')[0] || 'text/plain';
  if (meta.split(';').includes('base64')) {
    return { mediaType, text: Buffer.from(payload, 'base64').toString('utf8') };
  }
  let text: string;
  try {
    text = decodeURIComponent(payload.replaceAll('+', ' '));
  } catch {
    text = payload;
  }
  return { mediaType, text };
}

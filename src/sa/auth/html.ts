/** Small HTML pages of the sign-in routes (no script, no external resources, text escaped). */

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export const PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A short page: a heading, a sentence, and optionally a link and an immediate redirect to it. */
export function messagePage(
  status: 400 | 401 | 403 | 502 | 503,
  title: string,
  text: string,
  link?: { href: string; label: string; redirect?: boolean },
  headers: Record<string, string> = {},
): Response {
  const refresh = link?.redirect
    ? `<meta http-equiv="refresh" content="0; url=${escapeHtml(link.href)}">`
    : '';
  const anchor = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : '';
  return new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · carechat</title>${refresh}</head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${anchor}</main></body></html>`,
    {
      status,
      headers: {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy': PAGE_CSP,
        ...headers,
      },
    },
  );
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { CUSTOMER_PAGE_CSS, type CustomerPageOptions, customerPageHtml } from './page.ts';

/** The widget module, read once from next to this file and kept in memory. */
let widgetSource: { text: string; etag: string } | undefined;

function widget(): { text: string; etag: string } {
  if (!widgetSource) {
    const text = readFileSync(new URL('./widget.js', import.meta.url), 'utf8');
    widgetSource = { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
  }
  return widgetSource;
}

/**
 * The page may only run its own script and its own inline stylesheet (allowed by hash); it talks to the
 * SA (same origin) and to the platform (another origin, only known at run time, hence any http(s) origin).
 * Even a bug that put message text into markup could not run script.
 */
export function customerPageCsp(): string {
  const styleHash = createHash('sha256').update(CUSTOMER_PAGE_CSS).digest('base64');
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'sha256-${styleHash}'`,
    "connect-src 'self' http: https:",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * `GET /` (the customer chat page) and `GET /widget.js` (its script). Mount at the SA's root:
 * the page asks `POST /chat/token` for its token (the SA implements that route).
 */
export function customerPageRoutes(opts: CustomerPageOptions = {}): Hono {
  const { text, etag } = widget();
  const html = customerPageHtml(opts);
  const csp = customerPageCsp();
  const app = new Hono();

  app.get('/', (c) => {
    c.header('Content-Security-Policy', csp);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cache-Control', 'no-cache');
    return c.html(html);
  });

  app.get('/widget.js', (c) => {
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', etag);
    c.header('X-Content-Type-Options', 'nosniff');
    if (c.req.header('If-None-Match') === etag) return c.body(null, 304);
    return c.body(text, 200, { 'Content-Type': 'application/javascript; charset=utf-8' });
  });

  return app;
}

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { type Context, Hono } from 'hono';
import { CUSTOMER_PAGE_CSS, type CustomerPageOptions, customerPageHtml } from './page.ts';

/** The widget's modules, beside its entry in widget/: the only names GET /widget/:module serves. */
const WIDGET_MODULES = new Set(
  readdirSync(new URL('./widget/', import.meta.url)).filter((name) => name.endsWith('.js')),
);

/** The widget module, its modules and the launcher script, read once from next to this file and kept in memory. */
const sources = new Map<string, { text: string; etag: string }>();

function source(name: string): { text: string; etag: string } {
  let found = sources.get(name);
  if (!found) {
    const text = readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
    found = { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
    sources.set(name, found);
  }
  return found;
}

export interface CustomerRouteOptions extends CustomerPageOptions {
  /** Websites that may show the page in the launcher's frame (CHAT_ALLOWED_ORIGINS); the SA's own origin always may. */
  embedOrigins?: string[];
}

/**
 * The page may only run its own script and its own inline stylesheet (allowed by hash); it talks to the
 * SA (same origin) and to the platform (another origin, only known at run time, hence any http(s) origin).
 * Even a bug that put message text into markup could not run script.
 */
export function customerPageCsp(embedOrigins: string[] = []): string {
  const styleHash = createHash('sha256').update(CUSTOMER_PAGE_CSS).digest('base64');
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'sha256-${styleHash}'`,
    "connect-src 'self' http: https:",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${["'self'", ...embedOrigins].join(' ')}`,
  ].join('; ');
}

/**
 * `GET /` (the customer chat page), `GET /widget.js` (its script) and `GET /widget/:module` (the modules
 * widget.js imports, relative to itself), and `GET /launcher.js`. Mount at the SA's root:
 * the page asks `POST /chat/token` for its token (the SA implements that route).
 */
export function customerPageRoutes(opts: CustomerRouteOptions = {}): Hono {
  const html = customerPageHtml(opts);
  const csp = customerPageCsp(opts.embedOrigins);
  const app = new Hono();

  app.get('/', (c) => {
    c.header('Content-Security-Policy', csp);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cache-Control', 'no-cache');
    return c.html(html);
  });

  const script = (c: Context, name: string) => {
    const { text, etag } = source(name);
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', etag);
    c.header('X-Content-Type-Options', 'nosniff');
    if (name === 'launcher.js') c.header('Cross-Origin-Resource-Policy', 'cross-origin');
    if (c.req.header('If-None-Match') === etag) return c.body(null, 304);
    return c.body(text, 200, { 'Content-Type': 'application/javascript; charset=utf-8' });
  };
  // /launcher.js is loaded by other websites (one <script> tag): it opens this page in a frame.
  for (const name of ['widget.js', 'launcher.js'] as const) {
    app.get(`/${name}`, (c) => script(c, name));
  }
  app.get('/widget/:module', (c) => {
    const name = c.req.param('module');
    if (!WIDGET_MODULES.has(name)) return c.notFound();
    return script(c, `widget/${name}`);
  });

  return app;
}

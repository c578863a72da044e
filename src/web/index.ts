import type { Hono } from 'hono';
import { customerPageRoutes } from './customer/routes.ts';

export interface WebRoutesOptions {
  /** Where the SA's app is mounted in a host app (e.g. `/support`); default: at the root. */
  basePath?: string;
  /** Heading and document title of the customer page. */
  title?: string;
  /** Websites that may embed the chat with /launcher.js (CHAT_ALLOWED_ORIGINS). */
  embedOrigins?: string[];
}

/** The web pages the SA serves (customer page at `/`), mounted after the SA's API routes. */
export function webRoutes(opts: WebRoutesOptions = {}): Array<(app: Hono) => void> {
  const base = (opts.basePath ?? '').replace(/\/+$/, '');
  if (base && !base.startsWith('/'))
    throw new TypeError(`webRoutes: basePath must start with '/', got '${base}'`);
  const page = {
    tokenUrl: `${base}/chat/token`,
    scriptUrl: `${base}/widget.js`,
    ...(opts.title ? { title: opts.title } : {}),
    ...(opts.embedOrigins ? { embedOrigins: opts.embedOrigins } : {}),
  };
  return [(app) => app.route('/', customerPageRoutes(page))];
}

/** The origins of CHAT_ALLOWED_ORIGINS (checked by the SA's configuration; here only split). */
export function embedOriginsFrom(env: Record<string, string | undefined>): string[] {
  return (env.CHAT_ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => URL.canParse(o) && new URL(o).origin === o);
}

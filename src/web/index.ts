import type { Hono } from 'hono';
import { customerPageRoutes } from './customer/routes.ts';

export interface WebRouteOptions {
  /** Websites that may embed the chat with /launcher.js (CHAT_ALLOWED_ORIGINS). */
  embedOrigins?: string[];
}

/** The web pages the SA serves (customer page at `/`), mounted after the SA's API routes. */
export function webRoutes(opts: WebRouteOptions = {}): Array<(app: Hono) => void> {
  return [
    (app) => app.route('/', customerPageRoutes(opts.embedOrigins ? { embedOrigins: opts.embedOrigins } : {})),
  ];
}

/** The origins of CHAT_ALLOWED_ORIGINS (checked by the SA's configuration; here only split). */
export function embedOriginsFrom(env: Record<string, string | undefined>): string[] {
  return (env.CHAT_ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => URL.canParse(o) && new URL(o).origin === o);
}

import type { Hono } from 'hono';
import { customerPageRoutes } from './customer/routes.ts';

/** The web pages the SA serves (customer page at `/`), mounted after the SA's API routes. */
export function webRoutes(): Array<(app: Hono) => void> {
  return [(app) => app.route('/', customerPageRoutes())];
}

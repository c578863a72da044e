/**
 * The operator console, served by the SA behind sign-in (the guard in front of every route decides who may
 * see what): the page shell, its script with the modules it imports, its stylesheet, JSON reads, and live
 * updates as server-sent events. Each stream recomputes its view a few times a second and sends it when it
 * changed (and at least every few seconds, so waiting times move).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { streamSSE } from 'hono/streaming';
import { consoleAsset, consoleCsp, consoleModule, consolePageHtml } from '../../web/console/page.ts';
import { agentHome, type ConsoleSources, dashboard, sessionDetail } from './data.ts';

export interface ConsoleRouteOptions extends ConsoleSources {
  /** How often a stream looks for changes (ms). */
  pollMs?: number;
  /** A stream sends its view at least this often (ms), changed or not. */
  refreshMs?: number;
}

function notFound(id: string): HTTPException {
  return new HTTPException(404, {
    res: Response.json({ error: 'not_found', message: `no session ${id}` }, { status: 404 }),
  });
}

/** A server-sent event stream of `compute()`, sent whenever `key` of it changes. */
function live<T>(
  c: Context,
  event: string,
  compute: () => T | undefined,
  key: (value: T) => string,
  opts: { pollMs: number; refreshMs: number },
): Response {
  c.header('Cache-Control', 'no-store');
  c.header('X-Accel-Buffering', 'no');
  return streamSSE(c, async (stream) => {
    let lastKey = '';
    let lastSent = 0;
    let closed = false;
    stream.onAbort(() => {
      closed = true;
    });
    while (!closed) {
      const value = compute();
      if (value === undefined) {
        await stream.writeSSE({ event: 'gone', data: '{}' });
        break;
      }
      const k = key(value);
      const now = Date.now();
      if (k !== lastKey || now - lastSent >= opts.refreshMs) {
        lastKey = k;
        lastSent = now;
        await stream.writeSSE({ event, data: JSON.stringify(value) });
      }
      await stream.sleep(opts.pollMs);
    }
  });
}

export function consoleRoutes(opts: ConsoleRouteOptions): Hono {
  const app = new Hono();
  const timing = { pollMs: opts.pollMs ?? 300, refreshMs: opts.refreshMs ?? 5000 };
  const page = (c: Context) => {
    c.header('Content-Security-Policy', consoleCsp());
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
    c.header('Cache-Control', 'no-store');
    return c.html(consolePageHtml());
  };
  app.get('/console', page);
  app.get('/console/sessions/:id', page);
  const staticFile = (c: Context, asset: { text: string; etag: string; type: string }) => {
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', asset.etag);
    c.header('X-Content-Type-Options', 'nosniff');
    if (c.req.header('If-None-Match') === asset.etag) return c.body(null, 304);
    return c.body(asset.text, 200, { 'Content-Type': asset.type });
  };
  for (const name of ['console.js', 'console.css'] as const) {
    app.get(`/console/${name}`, (c) => staticFile(c, consoleAsset(name)));
  }
  // The modules console.js imports (relative to itself, so under /console/ui/).
  app.get('/console/ui/:module', (c) => {
    const asset = consoleModule(c.req.param('module'));
    return asset ? staticFile(c, asset) : c.notFound();
  });

  app.get('/console/api/dashboard', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(dashboard(opts));
  });
  app.get('/console/api/dashboard/events', (c) =>
    live(
      c,
      'dashboard',
      () => dashboard(opts),
      (d) =>
        JSON.stringify({
          ...d,
          at: '',
          sessions: d.sessions.map((s) => ({
            ...s,
            waitMs: s.answered || s.status !== 'active' ? s.waitMs : 0,
          })),
        }),
      timing,
    ),
  );

  const home = (c: Context) => {
    const principal = c.get('principal');
    return agentHome(opts, {
      name: principal.name,
      role: principal.role,
      ...(principal.agentUri ? { agentUri: principal.agentUri } : {}),
    });
  };
  app.get('/console/api/me', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(home(c));
  });
  app.get('/console/api/me/events', (c) =>
    live(
      c,
      'me',
      () => home(c),
      (h) => JSON.stringify({ ...h, at: '' }),
      timing,
    ),
  );

  app.get('/sessions/:id/events', (c) => {
    const id = c.req.param('id');
    if (!opts.sessions.get(id)) throw notFound(id);
    return live(
      c,
      'session',
      () => sessionDetail(opts, id),
      (d) => JSON.stringify({ ...d, row: { ...d.row, waitMs: d.row.answered ? d.row.waitMs : 0 } }),
      timing,
    );
  });
  return app;
}

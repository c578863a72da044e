/**
 * A small round-robin HTTP proxy for the scale-out test: each request goes to the next SA instance in
 * turn; an instance that refuses the connection is skipped (the next one gets the request), as a load
 * balancer with health checks would. Counts the requests each instance answered. `targets` may be filled
 * after the proxy started (the instances need its URL first).
 */
import { createServer, request, type Server } from 'node:http';

export interface RoundRobinProxy {
  url: string;
  /** Requests answered by each target, by its URL. */
  answered: Map<string, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targets: string[]): Promise<RoundRobinProxy> {
  let next = 0;
  const answered = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        if (targets.length === 0) {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end('proxy: no instance yet');
          return;
        }
        const target = targets[next++ % targets.length]!;
        const url = new URL(req.url ?? '/', target);
        const upstream = request(
          url,
          { method: req.method, headers: { ...req.headers, host: url.host } },
          (response) => {
            answered.set(target, (answered.get(target) ?? 0) + 1);
            res.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(res);
          },
        );
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          // Not reached (the instance is down): the next one, once round.
          if (error.code === 'ECONNREFUSED' && tries < targets.length) attempt(tries + 1);
          else if (!res.headersSent) {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(`proxy: ${error.message}`);
          } else res.destroy();
        });
        upstream.end(body);
      };
      attempt(1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    answered,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

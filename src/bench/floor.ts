/**
 * The HTTP floor: what one JSON exchange costs on this machine with nothing but node:http — a child
 * process that parses a JSON body and answers JSON, driven over keep-alive connections by the same
 * driver as the chats. The SA's cost per chat divided by this makes runs comparable across machines.
 */
import { join } from 'node:path';
import { keepAliveAgent, nodeHttpTransport } from './http.ts';
import { BenchChild } from './processes.ts';
import { baseEnv } from './stack.ts';
import { percentile } from './stats.ts';

/** The floor server: node:http, JSON in, JSON out, nothing else. */
const FLOOR_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    let value;
    try { value = body ? JSON.parse(body) : {}; } catch { res.writeHead(400).end(); return; }
    const out = JSON.stringify({ ok: true, events: Array.isArray(value.events) ? value.events.length : 0 });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log('floor ready: http://127.0.0.1:' + server.address().port));
process.on('SIGTERM', () => { server.close(); server.closeAllConnections(); });
`;

/** About the size of a callback envelope with two events (the SA's typical request body). */
const BODY = JSON.stringify({
  _links: { self: { href: '/callbacks?callbackContext=c0123456789abcdef' } },
  sender: [
    {
      rel: 'conversation',
      href: '/platformservice/tgt-0/v1/applications/1627259584/communication/conversations/0000-1111',
      events: Array.from({ length: 2 }, (_, i) => ({
        link: {
          rel: 'message',
          href: `/platformservice/tgt-0/v1/applications/1627259584/communication/conversations/0000-1111/messaging/messages/${i}`,
        },
        type: 'completed',
        status: 'Success',
        _embedded: { message: { direction: 'Incoming', text: 'x'.repeat(200) } },
      })),
    },
  ],
});

export interface FloorResult {
  exchanges: number;
  seconds: number;
  exchangesPerSec: number;
  /** The floor server's CPU per exchange, from its own accounting. */
  cpuMsPerExchange: number;
  p50Ms: number;
  p99Ms: number;
  bodyBytes: number;
}

export async function measureFloor(opts: {
  exchanges: number;
  concurrency: number;
  logDir: string;
  onProgress?: (done: number) => void;
}): Promise<FloorResult> {
  const server = await BenchChild.start({
    name: 'floor',
    args: ['-e', FLOOR_SERVER],
    env: baseEnv(),
    ready: /floor ready: (\S+)/,
    logFile: join(opts.logDir, 'floor.log'),
  });
  try {
    const agent = keepAliveAgent();
    const send = nodeHttpTransport(agent);
    const exchange = async () => {
      const response = await send({
        method: 'POST',
        url: `${server.url}/callbacks`,
        headers: { 'content-type': 'application/json' },
        body: BODY,
      });
      if (response.status !== 200) throw new Error(`the floor server answered ${response.status}`);
      JSON.parse(response.text);
    };
    // Warm up: connections open, JIT done on both sides.
    for (let done = 0; done < Math.min(2_000, opts.exchanges); done += opts.concurrency) {
      await Promise.all(Array.from({ length: opts.concurrency }, exchange));
    }
    const before = await server.sample();
    const latencies: number[] = [];
    let issued = 0;
    const started = performance.now();
    const worker = async () => {
      while (issued < opts.exchanges) {
        issued += 1;
        const t = performance.now();
        await exchange();
        latencies.push(performance.now() - t);
        if (latencies.length % 1000 === 0) opts.onProgress?.(latencies.length);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const after = await server.sample();
    agent.destroy();
    return {
      exchanges: latencies.length,
      seconds,
      exchangesPerSec: latencies.length / seconds,
      cpuMsPerExchange: (after.cpuUs - before.cpuUs) / 1000 / latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      bodyBytes: Buffer.byteLength(BODY),
    };
  } finally {
    await server.stop();
  }
}

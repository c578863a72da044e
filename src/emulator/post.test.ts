/** The emulator's POST: status and body as `fetch` gave them, no redirects followed, aborts at any point. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { Poster } from './post.ts';

let server: Server | undefined;
const poster = new Poster();
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const init = (signal = new AbortController().signal) => ({
  headers: { 'Content-Type': 'application/json', 'X-Test': 'yes' },
  body: '{"é":1}',
  signal,
});

it('sends the body and headers, and returns the status and the body text (a byte-order mark dropped)', async () => {
  const seen: Array<{ method?: string; headers: Record<string, unknown>; body: string }> = [];
  const url = await serve((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end('\uFEFF{"callbackContext":"ç"}');
    });
  });
  for (let i = 0; i < 2; i++) {
    expect(await poster.post(`${url}/cb?x=1`, init())).toEqual({
      status: 201,
      body: '{"callbackContext":"ç"}',
    });
  }
  expect(seen).toHaveLength(2);
  expect(seen[0]).toMatchObject({
    method: 'POST',
    body: '{"é":1}',
    headers: { 'x-test': 'yes', 'content-length': String(Buffer.byteLength('{"é":1}')) },
  });
});

it('does not follow a redirect: the 3xx is the answer', async () => {
  const url = await serve((req, res) => {
    if (req.url === '/elsewhere') throw new Error('followed');
    res.writeHead(307, { Location: '/elsewhere' });
    res.end('moved');
  });
  expect(await poster.post(url, init())).toEqual({ status: 307, body: 'moved' });
});

it('rejects with the signal reason when aborted before the answer or while the body arrives', async () => {
  const url = await serve((req, res) => {
    if (req.url === '/slow-body') {
      res.writeHead(200);
      res.write('part');
      return; // the rest never comes
    }
    // no answer at all
  });
  for (const path of ['/no-answer', '/slow-body']) {
    const controller = new AbortController();
    const posting = poster.post(url + path, init(controller.signal));
    setTimeout(() => controller.abort(new Error('timeout')), 50);
    await expect(posting).rejects.toThrow('timeout');
  }
  server?.closeAllConnections();
});

it('rejects an unreachable server, a bad URL and another protocol with the reason', async () => {
  const url = await serve((_req, res) => res.end());
  const port = new URL(url).port;
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
  await expect(poster.post(`http://127.0.0.1:${port}/`, init())).rejects.toThrow(/ECONNREFUSED/);
  await expect(poster.post('not a url', init())).rejects.toThrow(/invalid URL/);
  await expect(poster.post('ftp://127.0.0.1/', init())).rejects.toThrow(/unsupported protocol/);
});

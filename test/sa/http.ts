/**
 * Raw HTTP for the SA surface tests: node:http so a test can choose its source address (any 127.x.y.z is
 * loopback on Linux, which makes per-address rate limits testable) and send chunked bodies with no
 * Content-Length.
 */
import { type IncomingHttpHeaders, request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (throws with the text when it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Sent with a Content-Length. */
  body?: string;
  /** Sent as separate chunks with Transfer-Encoding: chunked (no Content-Length). */
  chunks?: string[];
  /** Source address of the connection, e.g. 127.0.0.2. */
  localAddress?: string;
}

export function send(url: string, opts: RawRequest = {}): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close', ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: opts.method ?? 'GET',
        headers,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json<T>() {
              try {
                return JSON.parse(text) as T;
              } catch {
                throw new Error(`not JSON (${res.statusCode}): ${text.slice(0, 200)}`);
              }
            },
          });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else if (opts.chunks) {
      for (const chunk of opts.chunks) req.write(chunk);
      req.end();
    } else req.end();
  });
}

/** POST /chat/token as a web page on `origin` would. */
export function requestToken(
  saUrl: string,
  opts: { origin?: string; localAddress?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return send(`${saUrl}/chat/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(opts.origin !== undefined ? { origin: opts.origin } : { origin: new URL(saUrl).origin }),
      ...opts.headers,
    },
    body: opts.body ?? JSON.stringify({ displayName: 'Rate Tester' }),
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
}

/** Every header of a response whose name starts with `access-control-`. */
export function corsHeaders(response: RawResponse): Record<string, string | string[] | undefined> {
  return Object.fromEntries(
    Object.entries(response.headers).filter(([name]) => name.startsWith('access-control-')),
  );
}

/**
 * The HTTP a scripted web customer speaks: a minimal request → response function, so the same client
 * runs over the global `fetch` (tests) or over node:http with a keep-alive agent (the bench: a browser
 * keeps its connections open, and node:http costs the load driver less CPU than fetch on a shared machine).
 */
import http from 'node:http';

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** The URL the answer came from (after redirects, for fetch). */
  url: string;
  headers: { get(name: string): string | null };
  text: string;
}

export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

/** The global fetch (follows redirects; undici keeps connections alive by itself). */
export const fetchTransport: HttpTransport = async (request) => {
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const text = await response.text();
  return { status: response.status, url: response.url || request.url, headers: response.headers, text };
};

/** A keep-alive agent with no socket limit (long polls hold one connection each). */
export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, scheduling: 'lifo' });
}

/**
 * node:http over `agent`; plain http only (the bench talks to local processes). Redirects are not
 * followed. A request that fails on a reused keep-alive connection before any answer (the server closed
 * it while idle) is sent once more on a fresh one, as browsers do.
 */
export function nodeHttpTransport(agent: http.Agent = keepAliveAgent()): HttpTransport {
  const send = (request: HttpRequest, retried: boolean): Promise<HttpResponse> =>
    once(agent, request).catch((error: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      const stale = error.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      if (!stale || retried || request.signal?.aborted) throw error;
      return send(request, true);
    });
  return (request) => send(request, false);
}

function once(agent: http.Agent, request: HttpRequest): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const url = new URL(request.url);
    if (url.protocol !== 'http:') {
      reject(new Error(`nodeHttpTransport speaks plain http only, not ${url.protocol} (${request.url})`));
      return;
    }
    const headers: Record<string, string | number> = { ...request.headers };
    let answered = false;
    if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
    const req = http.request(
      {
        agent,
        method: request.method,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port || 80,
        path: url.pathname + url.search,
        headers,
        ...(request.signal ? { signal: request.signal } : {}),
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            url: request.url,
            headers: {
              get(name) {
                const value = res.headers[name.toLowerCase()];
                if (value === undefined) return null;
                return Array.isArray(value) ? value.join(', ') : value;
              },
            },
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    // Only a request that got no answer at all may be sent again.
    req.on('error', (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket && !answered })));
    req.end(request.body);
  });
}

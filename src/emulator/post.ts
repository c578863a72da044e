/**
 * One HTTP POST with node:http(s) over keep-alive connections: what the emulator sends its callbacks with.
 * It does what the callbacks needed of `fetch` and nothing more, for a fraction of its CPU (undici's `fetch`
 * was a fifth of the emulator's time under load): the status and the body text (UTF-8, a byte-order mark
 * dropped, as `response.text()` does), redirects not followed (a 3xx is an answer), and an abort signal
 * that ends the request at any point, before the answer or while its body arrives.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostAnswer {
  status: number;
  body: string;
}

/**
 * Idle connections are closed after this long without use, before a server's usual keep-alive timeout
 * (Node's is 5 s), so a connection is not reused just as the server closes it.
 */
const IDLE_MS = 4_000;

/** Keep-alive connections for POSTs; `destroy()` closes them (and fails requests still running). */
export class Poster {
  private readonly http = new HttpAgent({ keepAlive: true, timeout: IDLE_MS });
  private readonly https = new HttpsAgent({ keepAlive: true, timeout: IDLE_MS });

  /**
   * POSTs `body` to `url`. Rejects on a network error, an unusable URL, or when `signal` aborts (with the
   * signal's reason).
   */
  post(
    url: string,
    init: { headers: Record<string, string>; body: string; signal: AbortSignal },
  ): Promise<PostAnswer> {
    return new Promise<PostAnswer>((resolve, reject) => {
      const { signal } = init;
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new Error(`invalid URL ${url}`));
        return;
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new Error(`unsupported protocol ${target.protocol} in ${url}`));
        return;
      }
      const payload = Buffer.from(init.body, 'utf8');
      let settled = false;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const send = secure ? httpsRequest : httpRequest;
      const req = send(target, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        headers: { ...init.headers, 'Content-Length': String(payload.length) },
      });
      const onAbort = () => {
        finish(() => reject(signal.reason));
        req.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => finish(() => reject(error)));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => finish(() => reject(error)));
        res.on('aborted', () => finish(() => reject(new Error('the answer was cut off'))));
        res.on('end', () =>
          finish(() =>
            resolve({
              status: res.statusCode ?? 0,
              body: new TextDecoder().decode(Buffer.concat(chunks)),
            }),
          ),
        );
      });
      req.end(payload);
    });
  }

  /** Closes every connection. */
  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

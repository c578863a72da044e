/**
 * Webhooks (Standard Webhooks): chat events go into the store's outbox in the transaction of the change
 * that caused them (`enqueueChatEvent`), and a delivery worker POSTs them to every WEBHOOK_URLS target,
 * signed with WEBHOOK_SECRET (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`). The
 * body is the event as stored, `{ "type", "timestamp", "data" }`. Delivery is at least once: a failed
 * attempt (any target answering non-2xx, timing out or refused) is retried with exponential backoff
 * until the event is 24 h old, then given up (logged, counted, kept with its last error). The store's
 * claim hands out only the oldest undelivered event of each chat, so a chat's events arrive in order.
 * Receivers deduplicate by `webhook-id`.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { type Env, noteDefault } from '../config/settings.ts';
import type { Metrics } from './metrics.ts';

export interface WebhookSettings {
  urls: string[];
  /** `whsec_<base64>`. */
  secret: string;
  /** Private, loopback and link-local targets allowed (WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
  /** The first retry's delay, doubled per attempt up to an hour (WEBHOOK_RETRY_BASE_MS, default 5 s). */
  retryBaseMs?: number;
}

/** WEBHOOK_RETRY_BASE_MS: default and bounds. */
export const DEFAULT_WEBHOOK_RETRY_BASE_MS = 5_000;
const RETRY_BASE_RANGE = [100, 3_600_000] as const;

/** The outbox operations the worker uses (the store's WebhookOps). */
export interface WebhookOutbox {
  claim(options?: { limit?: number; visibilityMs?: number }): Promise<OutboxRecord[]>;
  delivered(id: number): Promise<void>;
  failed(id: number, failure: { error: string; retryAt: number }): Promise<void>;
}

export interface OutboxRecord {
  id: number;
  sessionId: string | null;
  type: string;
  payload: unknown;
  createdAt: number;
  /** Attempts so far, this one included (the claim counts it). */
  attempts: number;
}

/** What `enqueueChatEvent` writes into: a store transaction (or the store), with the session's lease. */
export interface WebhookWriter<L> {
  webhooks: { enqueue(event: { type: string; payload: never }, lease?: L): Promise<number> };
}

/**
 * Writes a chat event into the outbox, inside the caller's transaction `tx` (so it commits with the change
 * that caused it, or not at all); `lease` makes it the session's event (fenced, delivered in order after
 * the session's earlier events). Returns the event's id.
 */
export function enqueueChatEvent<L>(
  tx: WebhookWriter<L>,
  lease: L | undefined,
  type: string,
  data: unknown,
  now: number = Date.now(),
): Promise<number> {
  const event = { type, payload: chatEventPayload(type, data, now) as never };
  return lease === undefined ? tx.webhooks.enqueue(event) : tx.webhooks.enqueue(event, lease);
}

/** The body of a chat event's deliveries, `{ type, timestamp, data }`, as plain JSON. */
export function chatEventPayload(type: string, data: unknown, now: number): unknown {
  // The store validates the payload as JSON (and refuses what JSON cannot hold).
  return JSON.parse(JSON.stringify({ type, timestamp: new Date(now).toISOString(), data }));
}

const SECRET_HELP =
  'expected whsec_ followed by base64 of 24 to 64 random bytes, e.g. whsec_$(openssl rand -base64 32)';

/** Why `secret` is not a usable Standard Webhooks secret, or undefined. */
export function webhookSecretProblem(secret: string): string | undefined {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!match) return SECRET_HELP;
  const bytes = Buffer.from(match[1]!, 'base64');
  if (bytes.length < 24 || bytes.length > 64) return `${SECRET_HELP} (it decodes to ${bytes.length} bytes)`;
  return undefined;
}

/**
 * WEBHOOK_URLS, WEBHOOK_SECRET, WEBHOOK_ALLOW_PRIVATE, WEBHOOK_RETRY_BASE_MS; undefined when no URL is set.
 * Problems are pushed.
 */
export function webhookSettingsFromEnv(env: Env, problems: string[]): WebhookSettings | undefined {
  noteDefault(env, 'WEBHOOK_URLS', '');
  noteDefault(env, 'WEBHOOK_SECRET', undefined);
  noteDefault(env, 'WEBHOOK_ALLOW_PRIVATE', 'false');
  noteDefault(env, 'WEBHOOK_RETRY_BASE_MS', String(DEFAULT_WEBHOOK_RETRY_BASE_MS));
  const retryText = env.WEBHOOK_RETRY_BASE_MS?.trim() || String(DEFAULT_WEBHOOK_RETRY_BASE_MS);
  const retryBaseMs = Number(retryText);
  const [least, most] = RETRY_BASE_RANGE;
  if (!/^\d+$/.test(retryText) || retryBaseMs < least || retryBaseMs > most) {
    problems.push(
      `WEBHOOK_RETRY_BASE_MS=${JSON.stringify(retryText)}: expected milliseconds from ${least} to ${most} (default ${DEFAULT_WEBHOOK_RETRY_BASE_MS})`,
    );
  }
  const urls = (env.WEBHOOK_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  const secret = env.WEBHOOK_SECRET?.trim() ?? '';
  const allowText = env.WEBHOOK_ALLOW_PRIVATE?.trim() || 'false';
  if (allowText !== 'true' && allowText !== 'false') {
    problems.push(`WEBHOOK_ALLOW_PRIVATE=${JSON.stringify(allowText)}: expected true or false`);
  }
  for (const url of urls) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      problems.push(`WEBHOOK_URLS: ${JSON.stringify(url)} is not an http(s) URL`);
    }
  }
  if (!urls.length) {
    if (secret) problems.push('WEBHOOK_SECRET is set but WEBHOOK_URLS is empty: set both, or neither');
    return undefined;
  }
  if (!secret) problems.push(`WEBHOOK_SECRET is required when WEBHOOK_URLS is set: ${SECRET_HELP}`);
  else {
    const problem = webhookSecretProblem(secret);
    if (problem) problems.push(`WEBHOOK_SECRET: ${problem}`);
  }
  return { urls, secret, allowPrivate: allowText === 'true', retryBaseMs };
}

/** Loopback, private (RFC 1918, CGNAT, unique local), link-local, unspecified and other internal ranges. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 198 && (b === 18 || b === 19)) ||
      a >= 224
    );
  }
  if (family === 6) {
    const lower = address.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return isInternalAddress(mapped[1]!);
    return (
      lower === '::' ||
      lower === '::1' ||
      /^f[cd]/.test(lower) || // unique local fc00::/7
      /^fe[89ab]/.test(lower) || // link-local fe80::/10
      /^ff/.test(lower) // multicast
    );
  }
  return true;
}

export interface WebhookWorkerOptions {
  outbox: WebhookOutbox;
  settings: WebhookSettings;
  logger: pino.Logger;
  metrics?: Metrics;
  now?: () => number;
  /** How often the outbox is polled when idle (default 1 s). */
  pollMs?: number;
  /** One attempt's time limit per target (default 10 s). */
  timeoutMs?: number;
  /** First retry delay (default `settings.retryBaseMs`, else 5 s); doubled per attempt, at most 1 h apart. */
  retryBaseMs?: number;
  /** How long an event is retried before it is given up (default 24 h). */
  giveUpAfterMs?: number;
  /** Host name → addresses (tests); default DNS. */
  resolve?: (host: string) => Promise<string[]>;
  fetch?: typeof fetch;
  /** Told the result of every attempt (the console's webhook status). */
  onAttempt?: (attempt: WebhookAttempt) => void;
}

export type WebhookResult = 'delivered' | 'failed' | 'refused' | 'expired';

export interface WebhookAttempt {
  id: number;
  event: string;
  sessionId: string | null;
  result: WebhookResult;
  attempts: number;
  /** What went wrong (targets without credentials or query), for anything but `delivered`. */
  error?: string;
  at: number;
}

/** What the console shows: totals by result and the latest failures, newest first. */
export interface WebhookStatus {
  targets: string[];
  totals: Record<WebhookResult, number>;
  recentFailures: Array<Omit<WebhookAttempt, 'at'> & { at: string }>;
}

/** Keeps the totals and the last `keep` failed attempts for the console. */
export function webhookStatusBoard(targets: readonly string[], keep = 20) {
  const totals: Record<WebhookResult, number> = { delivered: 0, failed: 0, refused: 0, expired: 0 };
  const failures: WebhookAttempt[] = [];
  return {
    record(attempt: WebhookAttempt): void {
      totals[attempt.result] += 1;
      if (attempt.result === 'delivered') return;
      failures.unshift(attempt);
      failures.length = Math.min(failures.length, keep);
    },
    status(): WebhookStatus {
      return {
        targets: targets.map(safeUrl),
        totals: { ...totals },
        recentFailures: failures.map((f) => ({ ...f, at: new Date(f.at).toISOString() })),
      };
    },
  };
}

const HOUR = 3_600_000;

/** The delay before attempt `attempts + 1`: base · 2^(attempts − 1), at most an hour. */
export function retryDelayMs(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), HOUR);
}

/** Delivers the outbox until stopped. */
export class WebhookWorker {
  private readonly signer: Webhook;
  private readonly now: () => number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly opts: WebhookWorkerOptions) {
    this.signer = new Webhook(opts.settings.secret);
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops polling and waits for the round in progress (claimed events not finished are claimed again later). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.deliverDue()
        .catch((error: unknown) => {
          this.opts.logger.error({ err: error }, 'webhook delivery round failed');
          return 0;
        })
        .then((count) => this.schedule(count > 0 ? 0 : (this.opts.pollMs ?? 1_000)));
    }, ms);
    this.timer.unref?.();
  }

  /** Claims the due events and delivers each (in parallel across chats); returns how many were claimed. */
  async deliverDue(): Promise<number> {
    const records = await this.opts.outbox.claim({ limit: 20 });
    await Promise.all(records.map((record) => this.deliver(record)));
    return records.length;
  }

  private async deliver(record: OutboxRecord): Promise<void> {
    const log = this.opts.logger.child({
      webhookId: record.id,
      event: record.type,
      sessionId: record.sessionId,
    });
    const body = JSON.stringify(record.payload);
    const msgId = `evt_${record.id}`;
    const failures: string[] = [];
    let refused = false;
    for (const url of this.opts.settings.urls) {
      try {
        await this.checkTarget(url);
      } catch (error) {
        refused = true;
        failures.push(`${safeUrl(url)}: ${(error as Error).message}`);
        continue;
      }
      // The wall clock, whatever clock schedules retries: receivers compare it with theirs (replay window).
      const timestamp = new Date();
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'carechat-webhooks',
        'webhook-id': msgId,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': this.signer.sign(msgId, timestamp, body),
      };
      try {
        const response = await (this.opts.fetch ?? fetch)(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        });
        await response.body?.cancel();
        if (response.status < 200 || response.status >= 300) {
          failures.push(`${safeUrl(url)} answered ${response.status}`);
        }
      } catch (error) {
        failures.push(`${safeUrl(url)}: ${(error as Error).message}`);
      }
    }
    const count = (result: WebhookResult, error?: string) => {
      this.opts.metrics?.webhookDeliveries.inc({ event: record.type, result });
      try {
        this.opts.onAttempt?.({
          id: record.id,
          event: record.type,
          sessionId: record.sessionId,
          result,
          attempts: record.attempts,
          ...(error ? { error } : {}),
          at: this.now(),
        });
      } catch (failure) {
        log.warn({ err: failure }, 'webhook attempt observer failed');
      }
    };
    if (!failures.length) {
      await this.opts.outbox.delivered(record.id);
      count('delivered');
      log.debug({ attempts: record.attempts }, 'webhook delivered');
      return;
    }
    const error = failures.join('; ');
    const now = this.now();
    if (now - record.createdAt >= (this.opts.giveUpAfterMs ?? 24 * HOUR)) {
      // Kept with its last error; marked done so the chat's later events can go.
      await this.opts.outbox.failed(record.id, {
        error: `gave up after ${record.attempts} attempts: ${error}`,
        retryAt: now,
      });
      await this.opts.outbox.delivered(record.id);
      count('expired', error);
      log.error({ attempts: record.attempts, error }, 'webhook given up');
      return;
    }
    const baseMs = this.opts.retryBaseMs ?? this.opts.settings.retryBaseMs ?? DEFAULT_WEBHOOK_RETRY_BASE_MS;
    const retryAt = now + retryDelayMs(record.attempts, baseMs);
    await this.opts.outbox.failed(record.id, { error, retryAt });
    count(refused ? 'refused' : 'failed', error);
    log.warn(
      { attempts: record.attempts, error, retryAt: new Date(retryAt).toISOString() },
      'webhook failed',
    );
  }

  /** Refuses a target whose host resolves to an internal address, unless WEBHOOK_ALLOW_PRIVATE. */
  private async checkTarget(url: string): Promise<void> {
    if (this.opts.settings.allowPrivate) return;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const addresses = isIP(host)
      ? [host]
      : await (this.opts.resolve ?? resolveHost)(host).catch((error: unknown) => {
          throw new Error(`cannot resolve ${host}: ${(error as Error).message}`);
        });
    const internal = addresses.find(isInternalAddress);
    if (internal) {
      throw new Error(
        `refused: ${host} is an internal address (${internal}); set WEBHOOK_ALLOW_PRIVATE=true to allow it`,
      );
    }
  }
}

async function resolveHost(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/** The URL without credentials or query (for logs and stored errors). */
function safeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

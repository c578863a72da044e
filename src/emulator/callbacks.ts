import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { withQuery } from '../wire/href.ts';
import { parseJsonText } from '../wire/json.ts';
import { localRel } from '../wire/rels.ts';
import type { Auth } from './auth.ts';
import type { EmulatorApplication, EmulatorConfig } from './config.ts';
import type { CallbackFault, Faults } from './faults.ts';
import type { ActivityLog } from './log.ts';
import { Poster } from './post.ts';
import type { PlatformHrefs, WireSender } from './wire.ts';

export const CALLBACK_CONTENT_TYPE =
  'application/json; type="application/vnd.microsoft.com.ucwa+json"; charset=utf-8';

/** What the dispatcher needs to know about the conversation a callback belongs to. */
export interface CallbackTarget {
  id: string;
  app: { cfg: EmulatorApplication; callbackUrl?: string; hrefs: PlatformHrefs };
  /** Per-conversation routing: explicit `callbackUrl`, or `callbackContext` on the registered URL. */
  routing: { url?: string; context?: string };
  /** True until the first callback of this conversation was answered (P2P: the SA may set callbackContext). */
  awaitingContext: boolean;
  ack: number;
}

interface Item {
  target: CallbackTarget;
  ack: number;
  senders: WireSender[];
  summaries: string[];
  /** Faults were already applied (a reordered or duplicated copy). */
  faulted: boolean;
  fault?: string;
}

interface Queue {
  items: Item[];
  running: boolean;
  held?: Item;
  releaseHeld?: () => void;
}

export interface DeliveryResult {
  status: number | null;
  body: string;
  error?: string;
}

/** One line per event: `communication: messagingInvitation started`, `conversation: message completed Success`. */
export function summarise(senders: WireSender[]): string[] {
  return senders.flatMap((sender) =>
    sender.events.map((event) => {
      const parts = [`${localRel(sender.rel)}: ${localRel(event.link.rel)} ${event.type}`];
      if (event.in) parts.push(`in ${localRel(event.in.rel)}`);
      if (event.status) parts.push(event.status);
      return parts.join(' ');
    }),
  );
}

/**
 * Signed callbacks to the SA, one ordered queue per conversation (never two in flight for the same
 * conversation), bounded retry with backoff on 5xx / timeout / network errors, none on 4xx.
 */
export class CallbackDispatcher {
  private readonly queues = new Map<string, Queue>();
  private readonly inflight = new Set<AbortController>();
  private readonly sleepers = new Set<() => void>();
  private closed = false;
  private stopHeartbeat: (() => void) | undefined;
  /** Keep-alive connections to the SA (node:http: far cheaper per callback than `fetch`). */
  private readonly poster = new Poster();

  constructor(
    private readonly deps: {
      config: EmulatorConfig;
      auth: Auth;
      faults: Faults;
      log: ActivityLog;
      logger: Logger;
      publicUrl: () => string;
      schedule: (ms: number, task: () => void) => () => void;
      every: (ms: number, task: () => void) => () => void;
    },
  ) {}

  /** Queue one callback (one HTTP request) carrying `senders` for the conversation `target`. */
  send(target: CallbackTarget, senders: WireSender[]): void {
    if (this.closed || senders.length === 0) return;
    target.ack += 1;
    const item: Item = { target, ack: target.ack, senders, summaries: summarise(senders), faulted: false };
    const queue = this.queue(target.id);
    queue.items.push(item);
    if (queue.held) {
      const held = queue.held;
      queue.held = undefined;
      queue.releaseHeld?.();
      queue.items.push(held);
    }
    void this.pump(target.id, queue);
  }

  /** True while any callback is queued, held (reorder fault) or in flight. */
  get busy(): boolean {
    for (const queue of this.queues.values()) {
      if (queue.running || queue.items.length > 0 || queue.held) return true;
    }
    return false;
  }

  startHeartbeats(apps: () => Array<{ cfg: EmulatorApplication; callbackUrl?: string }>): void {
    const interval = this.deps.config.heartbeatIntervalMs;
    if (!interval || interval <= 0) return;
    this.stopHeartbeat = this.deps.every(interval, () => {
      for (const app of apps()) {
        if (!app.callbackUrl) continue;
        const body = {
          _links: { self: { href: '/eventsservice' } },
          sender: [],
          baseuri: `${this.deps.publicUrl()}/platformservice/v1/applications`,
        };
        void this.post(app.cfg, app.callbackUrl, JSON.stringify(body)).then((result) => {
          this.deps.log.add({
            kind: 'callback',
            url: app.callbackUrl ?? '',
            events: ['heartbeat'],
            status: result.status,
            error: result.error,
            attempt: 1,
            durationMs: 0,
          });
        });
      }
    });
  }

  /** Sign `bodyText` as callbacks are signed and POST it to `to` once (control API / `carechat replay`). */
  async deliverRaw(app: EmulatorApplication, to: string, bodyText: string): Promise<DeliveryResult> {
    const started = Date.now();
    const result = await this.post(app, to, bodyText);
    this.deps.log.add({
      kind: 'callback',
      url: to,
      events: ['control: raw callback'],
      status: result.status,
      error: result.error,
      attempt: 1,
      durationMs: Date.now() - started,
    });
    return result;
  }

  close(): void {
    this.closed = true;
    this.stopHeartbeat?.();
    for (const controller of this.inflight) controller.abort();
    this.poster.destroy();
    for (const wake of this.sleepers) wake();
    for (const queue of this.queues.values()) {
      queue.items = [];
      queue.held = undefined;
      queue.releaseHeld?.();
    }
  }

  private queue(id: string): Queue {
    let queue = this.queues.get(id);
    if (!queue) {
      queue = { items: [], running: false };
      this.queues.set(id, queue);
    }
    return queue;
  }

  private async pump(id: string, queue: Queue): Promise<void> {
    if (queue.running) return;
    queue.running = true;
    try {
      while (!this.closed && queue.items.length > 0) {
        const item = queue.items.shift()!;
        await this.deliver(item, queue);
      }
    } catch (error) {
      this.deps.logger.error({ err: error, conversationId: id }, 'callback queue failed');
    } finally {
      queue.running = false;
      if (!queue.held && queue.items.length === 0) this.queues.delete(id);
    }
  }

  private async deliver(item: Item, queue: Queue): Promise<void> {
    let duplicate = false;
    if (!item.faulted) {
      item.faulted = true;
      const faults = this.deps.faults.takeCallback(item.summaries);
      for (const fault of faults) {
        item.fault = fault.action;
        if (fault.action === 'drop') {
          this.logDelivery(item, this.targetUrl(item.target) ?? '', { status: null, body: '' }, 0, 0, 'drop');
          return;
        }
        if (fault.action === 'delay') await this.sleep(fault.delayMs ?? 1000);
        if (fault.action === 'duplicate') duplicate = true;
        if (fault.action === 'reorder' && this.reorder(item, queue, fault)) return;
      }
    }
    await this.deliverWithRetry(item);
    if (duplicate && !this.closed) await this.deliverWithRetry(item);
  }

  /** Put `item` behind the next callback of its conversation; wait for one if none is queued yet. */
  private reorder(item: Item, queue: Queue, fault: CallbackFault): boolean {
    if (queue.items.length > 0) {
      queue.items.splice(1, 0, item);
      return true;
    }
    queue.held = item;
    queue.releaseHeld = this.deps.schedule(fault.delayMs ?? 1000, () => {
      if (queue.held !== item) return;
      queue.held = undefined;
      queue.items.push(item);
      void this.pump(item.target.id, queue);
    });
    return true;
  }

  private targetUrl(target: CallbackTarget): string | undefined {
    if (target.routing.url) return target.routing.url;
    const registered = target.app.callbackUrl;
    if (!registered) return undefined;
    return target.routing.context
      ? withQuery(registered, { callbackContext: target.routing.context })
      : registered;
  }

  private envelope(item: Item): string {
    const hrefs = item.target.app.hrefs;
    return JSON.stringify({
      _links: {
        self: { href: hrefs.events(item.ack, item.target.id) },
        next: { href: hrefs.events(item.ack + 1, item.target.id) },
      },
      sender: item.senders,
      baseuri: this.deps.publicUrl(),
    });
  }

  private async deliverWithRetry(item: Item): Promise<void> {
    const { callbackRetries, callbackRetryBaseMs, callbackRetryMaxMs } = this.deps.config;
    const body = this.envelope(item);
    for (let attempt = 1; attempt <= callbackRetries + 1 && !this.closed; attempt += 1) {
      const url = this.targetUrl(item.target);
      if (!url) {
        this.logDelivery(
          item,
          '',
          { status: null, body: '', error: 'no callback URL registered' },
          attempt,
          0,
        );
        return;
      }
      const started = Date.now();
      const result = await this.post(item.target.app.cfg, url, body);
      this.logDelivery(item, url, result, attempt, Date.now() - started);
      if (result.status !== null && result.status < 300) {
        if (item.target.awaitingContext) {
          item.target.awaitingContext = false;
          const context = callbackContextOf(result.body);
          if (context !== undefined && !item.target.routing.url) item.target.routing.context = context;
        }
        return;
      }
      if (result.status !== null && result.status < 500) return; // 4xx (or 3xx): not retried
      if (attempt <= callbackRetries)
        await this.sleep(Math.min(callbackRetryMaxMs, callbackRetryBaseMs * 2 ** (attempt - 1)));
    }
  }

  private async post(app: EmulatorApplication, url: string, body: string): Promise<DeliveryResult> {
    if (this.closed) return { status: null, body: '', error: 'emulator closed' };
    const controller = new AbortController();
    this.inflight.add(controller);
    const cancelTimeout = this.deps.schedule(this.deps.config.callbackTimeoutMs, () =>
      controller.abort(new Error('timeout')),
    );
    try {
      const token = await this.deps.auth.signCallback(app, this.deps.faults.takeCallbackToken());
      // Redirects are not followed: a 3xx is the answer.
      return await this.poster.post(url, {
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': CALLBACK_CONTENT_TYPE,
          'X-MS-Correlation-Id': String(Math.floor(Math.random() * 4_000_000_000)),
          'client-request-id': randomUUID(),
        },
        body,
        signal: controller.signal,
      });
    } catch (error) {
      const timedOut = controller.signal.aborted && !this.closed;
      const detail = timedOut
        ? `no answer within ${this.deps.config.callbackTimeoutMs} ms`
        : error instanceof Error
          ? ((error.cause as Error | undefined)?.message ?? error.message)
          : String(error);
      return { status: null, body: '', error: detail };
    } finally {
      cancelTimeout();
      this.inflight.delete(controller);
    }
  }

  private logDelivery(
    item: Item,
    url: string,
    result: DeliveryResult,
    attempt: number,
    durationMs: number,
    fault = item.fault,
  ): void {
    this.deps.log.add({
      kind: 'callback',
      conversationId: item.target.id,
      url,
      events: item.summaries,
      status: result.status,
      ...(result.error ? { error: result.error } : {}),
      attempt,
      ...(fault ? { fault } : {}),
      durationMs,
    });
    this.deps.logger.debug(
      { conversationId: item.target.id, events: item.summaries, status: result.status, attempt },
      'callback delivered',
    );
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.sleepers.delete(wake);
        cancel();
        resolve();
      };
      const cancel = this.deps.schedule(ms, wake);
      this.sleepers.add(wake);
    });
  }
}

/** `{"callbackContext": "…"}` in either casing (contract vs docs/samples), else undefined. */
export function callbackContextOf(text: string): string | undefined {
  if (!text.trim()) return undefined;
  try {
    const value = parseJsonText(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    for (const [key, context] of Object.entries(value)) {
      if (key.toLowerCase() === 'callbackcontext' && typeof context === 'string' && context !== '')
        return context;
    }
  } catch {
    // not JSON: no context
  }
  return undefined;
}

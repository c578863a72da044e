/**
 * The SA's Prometheus metrics: one registry per orchestrator (several can run in one process), with the
 * default process metrics, chat counters and timings, callbacks, platform API requests, webhook
 * deliveries and survey answers. The shared gauges (queue, agents) are read from the router when
 * Prometheus scrapes, so they never go stale between chats.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Presence } from '../routing/index.ts';

/** What a callback request came to (the route's answer, classified). */
export type CallbackResult =
  | 'accepted'
  | 'rejected_auth'
  | 'rejected_body'
  | 'ignored'
  | 'unavailable'
  | 'failed';

/** What the metrics read on each scrape: the queue and the agents, from the router (or the shared store). */
export interface MetricsSources {
  queueLength(): number;
  /** May read a shared store (several instances): then asynchronous. */
  agents():
    | Array<{ uri: string; presence: Presence; load: number }>
    | Promise<Array<{ uri: string; presence: Presence; load: number }>>;
}

const PRESENCES: readonly Presence[] = ['available', 'busy', 'away', 'offline'];
/** Seconds: from a few seconds up to an hour (waits, chats). */
const CHAT_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
/** Seconds: HTTP exchanges, from a millisecond to half a minute. */
const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  readonly chatsStarted: Counter;
  readonly chatsEnded: Counter<'outcome'>;
  readonly chatWait: Histogram;
  readonly chatHandle: Histogram;
  readonly firstResponse: Histogram;
  readonly callbacks: Counter<'result'>;
  readonly callbackDuration: Histogram;
  readonly apiRequests: Counter<'operation' | 'status'>;
  readonly apiDuration: Histogram<'operation'>;
  readonly webhookDeliveries: Counter<'event' | 'result'>;
  readonly surveyResponses: Counter<'score'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.chatsStarted = new Counter({
      name: 'carechat_chats_started_total',
      help: 'Chats started (a customer invitation reached the SA)',
      registers,
    });
    this.chatsEnded = new Counter({
      name: 'carechat_chats_ended_total',
      help: 'Chats ended, by outcome (completed, abandoned, queueTimeout, noAgent, closedBySa, failed, none)',
      labelNames: ['outcome'],
      registers,
    });
    this.chatWait = new Histogram({
      name: 'carechat_chat_wait_seconds',
      help: 'From the welcome to the first agent joining',
      buckets: CHAT_BUCKETS,
      registers,
    });
    this.chatHandle = new Histogram({
      name: 'carechat_chat_handle_seconds',
      help: 'From the first agent joining to the end of the chat',
      buckets: CHAT_BUCKETS,
      registers,
    });
    this.firstResponse = new Histogram({
      name: 'carechat_first_response_seconds',
      help: "From the customer's first message to the first agent message after it",
      buckets: CHAT_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'carechat_queue_length',
      help: 'Chats waiting in the queue for an agent',
      registers,
      collect() {
        this.set(sources.queueLength());
      },
    });
    new Gauge({
      name: 'carechat_agents',
      help: 'Agents by presence',
      labelNames: ['presence'],
      registers,
      async collect() {
        const counts = new Map<string, number>(PRESENCES.map((p) => [p, 0]));
        for (const agent of await sources.agents())
          counts.set(agent.presence, (counts.get(agent.presence) ?? 0) + 1);
        for (const [presence, count] of counts) this.set({ presence }, count);
      },
    });
    new Gauge({
      name: 'carechat_agent_load',
      help: 'Chats each agent is handling or being offered',
      labelNames: ['agent'],
      registers,
      async collect() {
        const agents = await sources.agents();
        this.reset();
        for (const agent of agents) this.set({ agent: agent.uri }, agent.load);
      },
    });
    this.callbacks = new Counter({
      name: 'carechat_callbacks_total',
      help: 'Platform callbacks by result (accepted, rejected_auth, rejected_body, ignored, unavailable)',
      labelNames: ['result'],
      registers,
    });
    this.callbackDuration = new Histogram({
      name: 'carechat_callback_duration_seconds',
      help: 'Time to answer a platform callback',
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.apiRequests = new Counter({
      name: 'carechat_api_requests_total',
      help: 'Platform API requests by operation and status (HTTP status, ok, or the network failure kind)',
      labelNames: ['operation', 'status'],
      registers,
    });
    this.apiDuration = new Histogram({
      name: 'carechat_api_request_duration_seconds',
      help: 'Platform API request time by operation',
      labelNames: ['operation'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'carechat_webhook_deliveries_total',
      help: 'Webhook delivery attempts by event type and result (delivered, failed, refused)',
      labelNames: ['event', 'result'],
      registers,
    });
    this.surveyResponses = new Counter({
      name: 'carechat_survey_responses_total',
      help: 'Post-chat survey answers by score (1-5)',
      labelNames: ['score'],
      registers,
    });
  }

  callback(result: CallbackResult, seconds: number): void {
    this.callbacks.inc({ result });
    this.callbackDuration.observe(seconds);
  }

  apiRequest(operation: string, status: string, seconds: number): void {
    this.apiRequests.inc({ operation, status });
    this.apiDuration.observe({ operation }, seconds);
  }

  /** The text Prometheus scrapes, and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

/**
 * Whether a request may read the metrics: anyone when no token is configured (METRICS_TOKEN), otherwise
 * only `Authorization: Bearer <token>` (compared in constant time).
 */
export function metricsAuthorized(token: string | undefined, authorization: string | undefined): boolean {
  if (!token) return true;
  const match = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
  if (!match) return false;
  // Digests of equal length, so the comparison takes the same time whatever the lengths.
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

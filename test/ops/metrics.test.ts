/**
 * GET /metrics after a real chat over HTTP (scripted customer ⇄ emulator ⇄ SA): the Prometheus text
 * parses, and the chat counters, timings, gauges, callback and API counters say what happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSaConfig } from '../../src/runtime/config.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { SessionView } from '../../src/runtime/sessions.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { createOrchestrator } from '../../src/stack/orchestrator.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';
import { parsePrometheus } from '../helpers/prometheus.ts';

let stack: RunningStack;

beforeAll(async () => {
  stack = await startStack({ logger: silentLogger, env: operatorEnv() });
});
afterAll(async () => {
  await stack?.close();
});

async function scrape() {
  const response = await fetch(`${stack.saUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await response.text());
}

describe('GET /metrics', () => {
  it('counts a whole chat: started, ended, wait, handle, first response, callbacks and API requests', async () => {
    const customer = await AnonCustomer.start(stack.saUrl, { name: 'Metered Customer' });
    let session: SessionView | undefined;
    try {
      await customer.waitForMessage((m) => m.text === stack.sa.config.chat.welcomeText);
      await customer.waitForMessage((m) => m.from !== stack.sa.config.chat.helpdeskName);
      await customer.send('where is my parcel?');
      await customer.waitForMessage((m) => m.text.includes('where is my parcel?'));
      await customer.leave();
      session = await eventually(
        async () =>
          (
            (await (await operatorFetch(`${stack.saUrl}/sessions`)).json()) as { sessions: SessionView[] }
          ).sessions.find((s) => s.customer.name === 'Metered Customer'),
        (s) => expect(s?.state).toBe('terminated'),
      );
    } finally {
      await customer.close();
    }
    expect(session?.outcome).toBe('completed');

    // A callback without a token is rejected (and counted as such).
    const unsigned = await fetch(`${stack.saUrl}${stack.sa.config.callbackPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unsigned.status).toBe(401);

    const metrics = await eventually(scrape, (m) =>
      expect(m.value('carechat_agent_load', { agent: 'sip:alice@contoso.com' })).toBe(0),
    );

    expect(metrics.types.get('carechat_chats_started_total')).toBe('counter');
    expect(metrics.value('carechat_chats_started_total')).toBe(1);
    expect(metrics.value('carechat_chats_ended_total', { outcome: 'completed' })).toBe(1);
    for (const name of [
      'carechat_chat_wait_seconds',
      'carechat_chat_handle_seconds',
      'carechat_first_response_seconds',
    ]) {
      expect(metrics.types.get(name), name).toBe('histogram');
      expect(metrics.value(`${name}_count`), name).toBe(1);
      expect(metrics.value(`${name}_sum`), name).toBeGreaterThanOrEqual(0);
      expect(metrics.value(`${name}_bucket`, { le: '+Inf' }), name).toBe(1);
    }
    // The customer wrote before the agent's echo: the first response is no longer than the whole handling.
    expect(metrics.value('carechat_first_response_seconds_sum')).toBeLessThanOrEqual(
      metrics.value('carechat_chat_handle_seconds_sum')!,
    );

    // Gauges, read from the router on scrape: nobody queued, the three demo agents by presence, no load.
    expect(metrics.types.get('carechat_queue_length')).toBe('gauge');
    expect(metrics.value('carechat_queue_length')).toBe(0);
    const byPresence = metrics.all('carechat_agents');
    expect(byPresence.map((s) => s.labels.presence).sort()).toEqual(['available', 'away', 'busy', 'offline']);
    expect(byPresence.reduce((sum, s) => sum + s.value, 0)).toBe(stack.sa.router.agents().length);
    expect(
      metrics
        .all('carechat_agent_load')
        .map((s) => s.labels.agent)
        .sort(),
    ).toEqual(
      stack.sa.router
        .agents()
        .map((a) => a.uri)
        .sort(),
    );

    expect(metrics.value('carechat_callbacks_total', { result: 'accepted' })).toBeGreaterThan(5);
    expect(metrics.value('carechat_callbacks_total', { result: 'rejected_auth' })).toBe(1);
    expect(metrics.value('carechat_callback_duration_seconds_count')).toBe(
      metrics.all('carechat_callbacks_total').reduce((sum, s) => sum + s.value, 0),
    );

    expect(metrics.value('carechat_api_requests_total', { operation: 'createAnonToken', status: 'ok' })).toBe(
      1,
    );
    expect(
      metrics.value('carechat_api_requests_total', { operation: 'startAdhocMeeting', status: 'ok' }),
    ).toBe(1);
    expect(
      metrics.value('carechat_api_requests_total', { operation: 'sendMessage', status: 'ok' }),
    ).toBeGreaterThan(0);
    expect(
      metrics.value('carechat_api_request_duration_seconds_count', { operation: 'startAdhocMeeting' }),
    ).toBe(1);

    // Declared before anything happened to them.
    expect(metrics.types.get('carechat_webhook_deliveries_total')).toBe('counter');
    expect(metrics.types.get('carechat_survey_responses_total')).toBe('counter');
    // The default process metrics.
    expect(metrics.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(metrics.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });
});

describe('METRICS_TOKEN', () => {
  const orchestrator = () =>
    createOrchestrator(
      loadSaConfig(operatorEnv({ METRICS_TOKEN: 'scrape-me-0123456789' }), {
        emulatorUrl: 'http://127.0.0.1:9',
      }),
      { logger: silentLogger },
    );

  it('keeps the metrics from anyone without the bearer token', async () => {
    const sa = orchestrator();
    const none = await sa.fetch(new Request('http://sa.test/metrics'));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await sa.fetch(
      new Request('http://sa.test/metrics', { headers: { authorization: 'Bearer scrape-me-0123456788' } }),
    );
    expect(wrong.status).toBe(401);
    const right = await sa.fetch(
      new Request('http://sa.test/metrics', { headers: { authorization: 'Bearer scrape-me-0123456789' } }),
    );
    expect(right.status).toBe(200);
    expect(parsePrometheus(await right.text()).value('carechat_chats_started_total')).toBe(0);
  });

  it('gives each orchestrator in a process its own registry', async () => {
    const a = orchestrator();
    const b = orchestrator();
    a.internals.metrics.chatsStarted.inc();
    const read = async (sa: typeof a) =>
      parsePrometheus(
        await (
          await sa.fetch(
            new Request('http://sa.test/metrics', {
              headers: { authorization: 'Bearer scrape-me-0123456789' },
            }),
          )
        ).text(),
      ).value('carechat_chats_started_total');
    expect(await read(a)).toBe(1);
    expect(await read(b)).toBe(0);
  });
});

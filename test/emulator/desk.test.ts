/**
 * The agent desk's HTTP side (the page itself is driven in test/web/operators.browser.test.ts): taking an
 * agent over turns its automatic answers off until it is released, and the event stream shows what is
 * ringing and what the agent sees, with customer text as data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/runtime/logger.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';

const ALICE = 'sip:alice@contoso.com';
const path = (uri: string, rest = '') => `/desk/api/agents/${encodeURIComponent(uri)}${rest}`;

let stack: RunningStack;

beforeAll(async () => {
  stack = await startStack({
    logger: silentLogger,
    emulatorConfig: { agentBehaviour: { acceptDelayMs: 20 } },
  });
  stack.sa.router.setPresence('sip:bob@contoso.com', 'offline');
  stack.sa.router.setPresence('sip:carol@contoso.com', 'offline');
});
afterAll(async () => {
  await stack?.close();
});

async function call(method: string, url: string, body?: unknown) {
  const response = await fetch(`${stack.emulatorUrl}${url}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The first `agent` event of the desk's stream. */
async function firstEvent(uri: string): Promise<Record<string, unknown>> {
  const controller = new AbortController();
  const response = await fetch(`${stack.emulatorUrl}${path(uri, '/events')}`, { signal: controller.signal });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = response.body!.getReader();
  let text = '';
  try {
    while (!/event: agent\ndata: .*\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    controller.abort();
  }
  return JSON.parse(/event: agent\ndata: (.*)\n/.exec(text)![1]!) as Record<string, unknown>;
}

describe('agent desk API', () => {
  it('lists the roster and serves its page under a strict policy', async () => {
    const { status, body } = await call('GET', '/desk/api/agents');
    expect(status).toBe(200);
    expect((body.agents as Array<{ uri: string }>).map((a) => a.uri)).toContain(ALICE);
    const page = await fetch(`${stack.emulatorUrl}/desk`);
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const id of ['desk-agent', 'desk-messages', 'desk-input', 'desk-send', 'desk-leave'])
      expect(html).toContain(`data-testid="${id}"`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = await (await fetch(`${stack.emulatorUrl}/desk/desk.js`)).text();
    expect(script).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
  });

  it('an agent taken over answers nothing by itself; the stream shows the offer; released, it answers again', async () => {
    const taken = await call('POST', path(ALICE, '/takeover'));
    expect(taken.status).toBe(200);
    expect(taken.body.controlled).toBe(true);
    expect(
      (
        (await call('GET', `/control/agents/${encodeURIComponent(ALICE)}`)).body.behaviour as {
          answer: string;
        }
      ).answer,
    ).toBe('manual');

    const customer = await AnonCustomer.start(stack.saUrl, { name: '<b>Desk</b> Customer' });
    try {
      const view = await eventually(
        () => firstEvent(ALICE),
        (v) => expect((v.ringing as unknown[]).length).toBe(1),
        { timeout: 10_000 },
      );
      expect((view.ringing as Array<{ customers: string[] }>)[0]!.customers).toEqual([
        '<b>Desk</b> Customer',
      ]);
      // Past the simulated accept delay (20 ms; the stream above took longer): still ringing.
      expect(
        ((await call('GET', `/control/agents/${encodeURIComponent(ALICE)}`)).body.ringing as unknown[])
          .length,
      ).toBe(1);

      const accepted = await call('POST', `/control/agents/${encodeURIComponent(ALICE)}/accept`, {});
      expect(accepted.status).toBe(200);
      await customer.send('hi <script>x()</script>');
      const chat = await eventually(
        () => firstEvent(ALICE),
        (v) => {
          const lines =
            (v.conversations as Array<{ lines: Array<{ author: string; text: string }> }>)[0]?.lines ?? [];
          expect(lines.some((l) => l.author === 'customer' && l.text === 'hi <script>x()</script>')).toBe(
            true,
          );
        },
        { timeout: 10_000 },
      );
      const lines = (chat.conversations as Array<{ lines: Array<{ author: string }> }>)[0]!.lines;
      expect(lines[0]!.author).toBe('system');
    } finally {
      await customer.close();
    }

    const released = await call('POST', path(ALICE, '/release'));
    expect(released.body.released).toBe(true);
    expect(
      (
        (await call('GET', `/control/agents/${encodeURIComponent(ALICE)}`)).body.behaviour as {
          answer: string;
        }
      ).answer,
    ).toBe('accept');
    expect((await call('POST', path(ALICE, '/release'))).body.released).toBe(false);
  });

  it('an agent outside the roster is 404', async () => {
    expect((await call('POST', path('sip:zed@contoso.com', '/takeover'))).status).toBe(404);
    expect((await call('GET', path('sip:zed@contoso.com', '/events'))).status).toBe(404);
  });
});

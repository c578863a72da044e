/**
 * The queue and business hours, over real HTTP. Every agent away or offline (PUT /agents/:uri/presence)
 * → the customer hears their position, again every QUEUE_UPDATE_MS; an agent who becomes available takes
 * the chat; the maximum wait ends in the fallback message with the customer's messages kept in
 * GET /left-messages; outside business hours POST /chat/token answers 503 and no chat starts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/runtime/clock.ts';
import type { RunningStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import {
  ALICE,
  BOB,
  CAROL,
  cleanup,
  expectNothingOpen,
  httpJson,
  inState,
  leftMessages,
  NAMES,
  requests,
  sessionOf,
  setPresence,
  startCustomer,
  startTestStack,
  stats,
  view,
  WAIT,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
} from './harness.ts';

afterEach(cleanup);

const NEXT_NOBODY =
  'You are next in the queue. All our agents are busy; we will connect you as soon as one is free.';
const SECOND_NOBODY =
  'You are number 2 in the queue. All our agents are busy; we will connect you as soon as one is free.';

async function everyoneUnavailable(stack: RunningStack): Promise<void> {
  await setPresence(stack, ALICE, 'away');
  await setPresence(stack, BOB, 'offline');
  await setPresence(stack, CAROL, 'away');
}

function count(customer: AnonCustomer, text: string): number {
  return customer.messages.filter((m) => m.text === text).length;
}

describe('queue', () => {
  it('all agents away or offline: the customer hears their position, again after QUEUE_UPDATE_MS', async () => {
    const stack = await startTestStack({ env: { QUEUE_UPDATE_MS: '1000' } });
    await everyoneUnavailable(stack);
    const customer = await startCustomer(stack, 'Queued Customer');
    const session = await sessionOf(stack, 'Queued Customer');

    await customer.waitForMessage((m) => m.text === NEXT_NOBODY);
    const queued = await waitForState(stack, session.id, 'welcomed.queued');
    expect(queued.queuePosition).toBe(1);
    const queue = await httpJson<{ queue: Array<{ sessionId: string; position: number }> }>(
      `${stack.saUrl}/queue`,
    );
    expect(queue.status).toBe(200);
    expect(queue.body.queue).toEqual([expect.objectContaining({ sessionId: session.id, position: 1 })]);

    // The update comes from the helpdesk, again, without anything else happening.
    await customer.waitForMessage(() => count(customer, NEXT_NOBODY) >= 2, WAIT);
    expect(customer.messages.filter((m) => m.text === NEXT_NOBODY).every((m) => m.from)).toBe(true);
    expect((await view(stack, session.id)).state).toBe('welcomed');
  });

  it('a second waiting customer hears position 2, and the first in line is served first', async () => {
    const stack = await startTestStack({ env: { QUEUE_UPDATE_MS: '60000', AGENT_CAPACITY: '1' } });
    await everyoneUnavailable(stack);
    const first = await startCustomer(stack, 'First In Line');
    const firstSession = await sessionOf(stack, 'First In Line');
    await first.waitForMessage((m) => m.text === NEXT_NOBODY);
    const second = await startCustomer(stack, 'Second In Line');
    const secondSession = await sessionOf(stack, 'Second In Line');
    await second.waitForMessage((m) => m.text === SECOND_NOBODY);
    expect((await view(stack, secondSession.id)).queuePosition).toBe(2);

    // One agent with room for one chat comes back: the first in line gets it, the second moves up.
    await setPresence(stack, ALICE, 'available');
    const joined = await waitForState(stack, firstSession.id, 'agentsJoined');
    expect(joined.agents.map((a) => a.uri)).toEqual([ALICE]);
    const queue = await httpJson<{ queue: Array<{ sessionId: string; position: number }> }>(
      `${stack.saUrl}/queue`,
    );
    expect(queue.body.queue).toEqual([expect.objectContaining({ sessionId: secondSession.id, position: 1 })]);
    expect(inState(await view(stack, secondSession.id), 'welcomed.queued')).toBe(true);
  });

  it('an agent becoming available (PUT /agents/:uri/presence) takes the queued chat', async () => {
    const stack = await startTestStack({ env: { QUEUE_UPDATE_MS: '60000' } });
    await everyoneUnavailable(stack);
    const customer = await startCustomer(stack, 'Waiting Customer');
    const session = await sessionOf(stack, 'Waiting Customer');
    await customer.waitForMessage((m) => m.text === NEXT_NOBODY);
    await waitForState(stack, session.id, 'welcomed.queued');

    await setPresence(stack, BOB, 'available');
    expect(await waitForAgentGreeting(stack, customer)).toBe(NAMES[BOB]);
    const joined = await waitForState(stack, session.id, 'agentsJoined');
    expect(joined.agents.map((a) => a.uri)).toEqual([BOB]);
    expect(joined.queuePosition).toBeNull();
    const queue = await httpJson<{ queue: unknown[] }>(`${stack.saUrl}/queue`);
    expect(queue.body.queue).toEqual([]);
    await customer.send('finally, hello');
    await customer.waitForMessage((m) => m.text === 'You said: "finally, hello"');
  });

  it('maximum wait: fallback message, teardown, and the customer messages kept in GET /left-messages', async () => {
    const stack = await startTestStack({ env: { QUEUE_UPDATE_MS: '60000', MAX_QUEUE_WAIT_MS: '1500' } });
    await everyoneUnavailable(stack);
    const customer = await startCustomer(stack, 'Left Behind');
    const session = await sessionOf(stack, 'Left Behind');
    await customer.waitForMessage((m) => m.text === NEXT_NOBODY);
    await customer.send('My order 1234 never arrived.');
    await customer.send('Please call me back on 555-0100.');

    await customer.waitForMessage((m) => m.text === stack.sa.config.chat.fallbackText);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('queueTimeout');
    expect(done.error).toMatchObject({ step: 'queue', code: 'QueueTimeout' });
    await expectNothingOpen(stack, { conversations: false });

    const left = (await leftMessages(stack)).filter((l) => l.sessionId === session.id);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ outcome: 'queueTimeout', customer: { name: 'Left Behind' } });
    expect(left[0]!.messages.map((m) => m.text)).toEqual([
      'My order 1234 never arrived.',
      'Please call me back on 555-0100.',
    ]);
    expect((await httpJson<{ queue: unknown[] }>(`${stack.saUrl}/queue`)).body.queue).toEqual([]);
  });
});

describe('business hours', () => {
  it('closed: POST /chat/token answers 503 with the message, and the platform is never asked for a token', async () => {
    // Open on one weekday only, three days from today: closed now, whatever the time.
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date().getUTCDay() + 3) % 7];
    const stack = await startTestStack({ env: { BUSINESS_HOURS: `UTC ${day} 09:00-17:00` } });
    const response = await fetch(`${stack.saUrl}/chat/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: new URL(stack.saUrl).origin },
      body: JSON.stringify({ displayName: 'Night Owl' }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('600');
    expect(await response.json()).toEqual({
      error: 'outside_business_hours',
      message: 'Our support team is not available right now. Please come back during business hours.',
    });
    expect(requests(stack).some((r) => /anonApplicationTokens/i.test(r.path))).toBe(false);
    expect(await stats(stack)).toEqual({ openMeetings: 0, openConversations: 0 });
  });

  it('a chat whose invitation arrives after closing time gets no meeting: outcome outsideHours', async () => {
    // The service closes for a minute at the next whole minute; the clock jumps into that minute after
    // the customer got the token and before the invitation arrives.
    const clock = new ShiftableClock();
    const start = Math.ceil((Date.now() + 5_000) / 60_000) * 60_000;
    const stack = await startTestStack({ clock, env: { BUSINESS_HOURS: hoursClosedFor(start) } });
    const since = requests(stack).length;
    const original = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await original(input, init);
      if (String(input) === `${stack.saUrl}/chat/token`) clock.shiftTo(start + 30_000);
      return response;
    }) as typeof fetch;
    let customer: AnonCustomer | undefined;
    try {
      customer = await AnonCustomer.start(stack.saUrl, { name: 'Late Visitor' });
    } finally {
      globalThis.fetch = original;
    }
    try {
      const session = await sessionOf(stack, 'Late Visitor');
      const done = await waitTerminated(stack, session.id);
      expect(done.outcome).toBe('outsideHours');
      expect(done.error).toMatchObject({ step: 'invited', code: 'OutsideBusinessHours' });
      const sent = requests(stack).slice(since);
      expect(sent.some((r) => /startAdhocMeeting/i.test(r.path))).toBe(false);
      expect(sent.some((r) => /\/decline$/i.test(r.path) && r.status < 300)).toBe(true);
      await expectNothingOpen(stack);
    } finally {
      await customer.close();
    }
  });
});

/** The wall clock, moved forward on demand (callback tokens stay valid for a jump of seconds). */
class ShiftableClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  at(at: number, fn: () => void): () => void {
    const timer = setTimeout(fn, Math.max(0, at - this.now()));
    return () => clearTimeout(timer);
  }
  shiftTo(time: number): void {
    this.offset = Math.max(this.offset, time - Date.now());
  }
}

/** Business hours open all day every day except the UTC minute starting at `start`. */
function hoursClosedFor(start: number): string {
  const minute = new Date(start).getUTCHours() * 60 + new Date(start).getUTCMinutes();
  const hhmm = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  const ranges = [
    ...(minute > 0 ? [`00:00-${hhmm(minute)}`] : []),
    ...(minute + 1 < 1440 ? [`${hhmm(minute + 1)}-24:00`] : []),
  ];
  return `UTC mon-sun ${ranges.join(',')}`;
}

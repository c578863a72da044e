/**
 * The customer leaves in every state of the chat. Whatever the state, the session ends
 * `terminated`, no agent keeps a slot for it, and the emulator is left with no open meeting and no open
 * conversation. One test per state.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningStack } from '../../src/stack/index.ts';
import type { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorFetch } from '../helpers/operator.ts';
import {
  ALICE,
  addFault,
  agents,
  BOB,
  CAROL,
  cleanup,
  control,
  expectNothingOpen,
  leftMessages,
  requests,
  sessionOf,
  setBehaviour,
  setPresence,
  startCustomer,
  startTestStack,
  view,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
} from './harness.ts';

afterEach(cleanup);

/** The customer closes the chat window: stop messaging and delete the conversation. */
async function leaves(customer: AnonCustomer): Promise<void> {
  await eventually(
    () => customer.links.conversation,
    (href) => expect(href, 'the customer knows its conversation').toBeTruthy(),
  );
  await customer.leave();
}

async function expectReleased(stack: RunningStack, id: string, outcome: string): Promise<void> {
  const done = await waitTerminated(stack, id);
  expect(done.outcome).toBe(outcome);
  expect(done.error).toBeNull();
  await expectNothingOpen(stack);
  for (const agent of await agents(stack)) {
    expect(agent, `${agent.uri} holds nothing`).toMatchObject({
      load: 0,
      activeChats: [],
      pendingOffers: [],
    });
  }
}

describe('the customer leaves', () => {
  it('(a) while the meeting is being created (startAdhocMeeting on its way): the meeting is still deleted', async () => {
    const stack = await startTestStack();
    await addFault(stack, {
      kind: 'http',
      path: '/onlineMeetingInvitations/startAdhocMeeting',
      latencyMs: 1000,
      count: 1,
    });
    const customer = await startCustomer(stack, 'Very Early Leaver');
    const session = await sessionOf(stack, 'Very Early Leaver');
    await waitForState(stack, session.id, 'invited.starting');

    await leaves(customer);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('abandoned');
    // The held request is carried out after all: the meeting it creates must not outlive the chat.
    await eventually(
      () => requests(stack).find((r) => /\/startAdhocMeeting$/i.test(r.path)),
      (r) => expect(r?.status, 'the held startAdhocMeeting was answered').toBe(201),
      { timeout: 10_000 },
    );
    await expectReleased(stack, session.id, 'abandoned');
  });

  it('(a) before the bridge, while acceptAndBridge is still on its way: abandoned, everything released', async () => {
    const stack = await startTestStack();
    await addFault(stack, { kind: 'http', path: '/acceptAndBridge', latencyMs: 1500, count: 1 });
    const customer = await startCustomer(stack, 'Early Leaver');
    const session = await sessionOf(stack, 'Early Leaver');
    await waitForState(stack, session.id, 'conferenced.bridging');

    await leaves(customer);
    await expectReleased(stack, session.id, 'abandoned');
    const done = await view(stack, session.id);
    expect(done.history.some((h) => h.state.startsWith('abandoned'))).toBe(true);
    expect(done.history.some((h) => h.state.startsWith('bridged'))).toBe(false);
    // The meeting that had been created was deleted by the SA.
    const conference = new URL(done.conversations.conference!).pathname.toLowerCase();
    expect(
      requests(stack).some(
        (r) => r.method === 'DELETE' && r.path.toLowerCase() === conference && r.status === 204,
      ),
    ).toBe(true);
    // The held acceptAndBridge is answered after all; it finds the customer gone and changes nothing.
    const bridge = await eventually(
      () => requests(stack).find((r) => /\/acceptAndBridge$/i.test(r.path)),
      (r) => expect(r, 'the held acceptAndBridge was answered').toBeDefined(),
      { timeout: 10_000 },
    );
    expect(bridge!.status).toBeGreaterThanOrEqual(400);
    await expectNothingOpen(stack);
    expect((await view(stack, session.id)).history).toEqual(done.history);
  });

  it('(b) while queued: abandoned, the chat leaves the queue, everything released', async () => {
    const stack = await startTestStack({ env: { QUEUE_UPDATE_MS: '60000' } });
    for (const uri of [ALICE, BOB, CAROL]) await setPresence(stack, uri, 'away');
    const customer = await startCustomer(stack, 'Impatient Customer');
    const session = await sessionOf(stack, 'Impatient Customer');
    await customer.waitForMessage((m) => m.text.startsWith('You are next in the queue.'));
    await waitForState(stack, session.id, 'welcomed.queued');

    await leaves(customer);
    await expectReleased(stack, session.id, 'abandoned');
    const queue = await operatorFetch(`${stack.saUrl}/queue`).then(
      (r) => r.json() as Promise<{ queue: unknown[] }>,
    );
    expect(queue.queue).toEqual([]);
    // Nobody takes a chat that is gone when an agent comes back.
    await setPresence(stack, ALICE, 'available');
    expect((await view(stack, session.id)).assignments).toEqual([]);
  });

  it('(b) while queued, right after writing: the message is kept in GET /left-messages', async () => {
    const stack = await startTestStack({ env: { QUEUE_UPDATE_MS: '60000' } });
    for (const uri of [ALICE, BOB, CAROL]) await setPresence(stack, uri, 'away');
    const customer = await startCustomer(stack, 'Hasty Customer');
    const session = await sessionOf(stack, 'Hasty Customer');
    await customer.waitForMessage((m) => m.text.startsWith('You are next in the queue.'));
    // The platform reports the message on the meeting a little later than the customer's leaving on
    // the customer's own conversation (separate callback queues): both happened, in this order.
    await addFault(stack, {
      kind: 'callback',
      action: 'delay',
      match: 'conversation: message completed',
      delayMs: 300,
      count: 1,
    });
    await customer.send('Please call me back about order 1234.');
    await leaves(customer);

    await expectReleased(stack, session.id, 'abandoned');
    await eventually(
      () => leftMessages(stack),
      (left) => {
        const mine = left.filter((l) => l.sessionId === session.id);
        expect(mine, 'a left message for the chat').toHaveLength(1);
        expect(mine[0]!.messages.map((m) => m.text)).toEqual(['Please call me back about order 1234.']);
      },
    );
  });

  it('(c) during an offer (the agent never answers): abandoned, the ringing invitation ends, everything released', async () => {
    const stack = await startTestStack({ env: { OFFER_TIMEOUT_MS: '20000' } });
    for (const uri of [ALICE, BOB, CAROL]) await setBehaviour(stack, uri, { answer: 'never' });
    const customer = await startCustomer(stack, 'Offer Leaver');
    const session = await sessionOf(stack, 'Offer Leaver');
    const offering = await waitForState(stack, session.id, 'welcomed.offering');
    expect(offering.offering).toMatchObject({ uri: ALICE });
    await eventually(
      () => control<{ ringing: unknown[] }>(stack, 'GET', `/agents/${encodeURIComponent(ALICE)}`),
      (r) => expect(r.body.ringing).toHaveLength(1),
    );

    await leaves(customer);
    await expectReleased(stack, session.id, 'abandoned');
    const alice = await control<{ ringing: unknown[] }>(stack, 'GET', `/agents/${encodeURIComponent(ALICE)}`);
    expect(alice.body.ringing).toEqual([]);
  });

  it('(d) mid-chat: the chat is completed, the conference terminated, everything released', async () => {
    const stack = await startTestStack();
    const customer = await startCustomer(stack, 'Satisfied Customer');
    const session = await sessionOf(stack, 'Satisfied Customer');
    await waitForAgentGreeting(stack, customer);
    await waitForState(stack, session.id, 'agentsJoined');
    await customer.send('thanks, that is all');
    await customer.waitForMessage((m) => m.text.includes('thanks, that is all'));

    await leaves(customer);
    await expectReleased(stack, session.id, 'completed');
    const alice = await control<{ conversations: Array<{ active: boolean }> }>(
      stack,
      'GET',
      `/agents/${encodeURIComponent(ALICE)}`,
    );
    expect(alice.body.conversations.map((c) => c.active)).toEqual([false]);
  });
});

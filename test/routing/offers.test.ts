/**
 * Offers declined or never answered. The emulator's simulated agents decline or never answer; the SA moves the
 * chat on to the next agent, withdraws unanswered offers after OFFER_TIMEOUT_MS, and sets an agent away
 * after MAX_MISSED_OFFERS missed offers in a row (GET /agents).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningStack } from '../../src/stack/index.ts';
import {
  ALICE,
  agentView,
  BOB,
  CAROL,
  callbacks,
  cleanup,
  logMark,
  NAMES,
  requests,
  sessionOf,
  setBehaviour,
  startCustomer,
  startTestStack,
  view,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
  winners,
} from './harness.ts';

afterEach(cleanup);

interface Assignment {
  candidates: Array<{ uri: string; eligible: boolean; reason: string }>;
  winner: string | null;
}

async function chatUntilJoined(stack: RunningStack, name: string) {
  const customer = await startCustomer(stack, name);
  const session = await sessionOf(stack, name);
  const greeter = await waitForAgentGreeting(stack, customer);
  const joined = await waitForState(stack, session.id, 'agentsJoined');
  return { customer, id: session.id, greeter, joined };
}

describe('offers', () => {
  it('an agent who declines: the next agent gets the chat, and the decline is not a missed offer', async () => {
    const stack = await startTestStack();
    await setBehaviour(stack, ALICE, { answer: 'decline' });
    const since = logMark(stack);
    const chat = await chatUntilJoined(stack, 'Declined Customer');

    expect(chat.greeter).toBe(NAMES[BOB]);
    expect(chat.joined.agents.map((a) => a.uri)).toEqual([BOB]);
    expect(winners(chat.joined)).toEqual([ALICE, BOB]);
    // The second selection knew Alice had been tried.
    const second = chat.joined.assignments[1] as Assignment;
    expect(second.candidates.find((c) => c.uri === ALICE)).toMatchObject({
      eligible: false,
      reason: 'already tried',
    });
    // The platform saw Alice's invitation fail as declined.
    expect(
      callbacks(stack, since).some((c) =>
        c.events.some((e) => e === 'communication: participantInvitation completed Failure'),
      ),
    ).toBe(true);
    const alice = await agentView(stack, ALICE);
    expect(alice).toMatchObject({ presence: 'available', missedOffersInRow: 0, load: 0 });
    expect((await agentView(stack, BOB)).activeChats).toEqual([chat.id]);
  });

  it('an agent who never answers: the offer is withdrawn after OFFER_TIMEOUT_MS and the next agent gets it', async () => {
    const stack = await startTestStack({ env: { OFFER_TIMEOUT_MS: '300' } });
    await setBehaviour(stack, ALICE, { answer: 'never' });
    const since = logMark(stack);
    const chat = await chatUntilJoined(stack, 'Patient Customer');

    expect(chat.greeter).toBe(NAMES[BOB]);
    expect(winners(chat.joined)).toEqual([ALICE, BOB]);
    const history = chat.joined.history.map((h) => h.state);
    expect(history.filter((s) => s === 'welcomed.offering')).toHaveLength(2);
    // Withdrawn: Alice's bridged-participant entry is deleted again before Bob is bridged.
    const sent = requests(stack, since);
    const aliceBridged = sent.findIndex(
      (r) => r.method === 'POST' && /\/bridgedParticipants$/i.test(r.path) && r.status < 300,
    );
    const aliceRemoved = sent.findIndex(
      (r) => r.method === 'DELETE' && /\/bridgedParticipants\/alice@contoso\.com$/i.test(r.path),
    );
    expect(aliceBridged).toBeGreaterThanOrEqual(0);
    expect(aliceRemoved, 'DELETE of Alice as a bridged participant').toBeGreaterThan(aliceBridged);
    expect(sent[aliceRemoved]!.status).toBe(204);
    // The SA counted it as a missed offer.
    expect(await agentView(stack, ALICE)).toMatchObject({
      presence: 'available',
      missedOffersInRow: 1,
      load: 0,
    });
  });

  it('an agent who misses MAX_MISSED_OFFERS offers in a row is set away (GET /agents) and gets no more offers', async () => {
    const stack = await startTestStack({ env: { OFFER_TIMEOUT_MS: '300', MAX_MISSED_OFFERS: '2' } });
    await setBehaviour(stack, ALICE, { answer: 'never' });

    const first = await chatUntilJoined(stack, 'First Caller');
    expect(winners(first.joined)[0]).toBe(ALICE);
    expect(await agentView(stack, ALICE)).toMatchObject({ presence: 'available', missedOffersInRow: 1 });
    await first.customer.leave();
    await waitTerminated(stack, first.id);

    const second = await chatUntilJoined(stack, 'Second Caller');
    expect(winners(second.joined)[0]).toBe(ALICE);
    expect(await agentView(stack, ALICE)).toMatchObject({ presence: 'away', missedOffersInRow: 2, load: 0 });

    const third = await chatUntilJoined(stack, 'Third Caller');
    expect(winners(third.joined)).toHaveLength(1);
    expect([BOB, CAROL]).toContain(winners(third.joined)[0]);
    const record = third.joined.assignments[0] as Assignment;
    expect(record.candidates.find((c) => c.uri === ALICE)).toMatchObject({ eligible: false, reason: 'away' });
  });

  it('every agent declines: the chat ends with outcome noAgent and the customer is told', async () => {
    const stack = await startTestStack();
    for (const uri of [ALICE, BOB, CAROL]) await setBehaviour(stack, uri, { answer: 'decline' });
    const customer = await startCustomer(stack, 'Unlucky Customer');
    const session = await sessionOf(stack, 'Unlucky Customer');
    await customer.waitForMessage((m) => m.text === stack.sa.config.chat.apologyText);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('noAgent');
    expect(winners(done)).toEqual([ALICE, BOB, CAROL]);
    expect(done.error).toMatchObject({ step: 'routing', code: 'NoAgent' });
    const v = await view(stack, session.id);
    expect(v.offering).toBeNull();
  });
});

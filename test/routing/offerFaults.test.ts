/**
 * Fault or person. An offer the platform fails (5xx after the retries, a 4xx other than
 * a decline) is not the agent's doing: the agent's missed-offer count stays, the chat is routed again, and
 * the routing decision records why. Only a ring nobody answers counts as missed: the SA's own offer
 * deadline, or the platform ringing out first. Faults are injected into the emulator over HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningStack } from '../../src/stack/index.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  ALICE,
  addFault,
  agents,
  agentView,
  BOB,
  CAROL,
  cleanup,
  expectNothingOpen,
  sessionOf,
  setBehaviour,
  setPresence,
  startCustomer,
  startTestStack,
  view,
  WAIT,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
  winners,
} from './harness.ts';

afterEach(cleanup);

const INVITATIONS = '/^\\/platformservice\\/.*\\/communication\\/participantInvitations$/';

interface OfferRecord {
  winner: string | null;
  offer?: { result: string; reason?: string; countsAsMissed: boolean; fault?: string };
}

async function onlyAlice(stack: RunningStack): Promise<void> {
  await setPresence(stack, BOB, 'away');
  await setPresence(stack, CAROL, 'away');
}

describe('an offer the platform fails is not a missed offer', () => {
  it('503 on every attempt of two offers: the agent is not blamed, the third offer is taken, the decisions say why', async () => {
    const stack = await startTestStack({ env: { MAX_ATTEMPTS: '3', MAX_MISSED_OFFERS: '1' } });
    await onlyAlice(stack);
    // Two whole offers' worth of 503s (3 attempts each): both offers fail on the platform.
    await addFault(stack, { kind: 'http', method: 'POST', path: INVITATIONS, status: 503, count: 6 });
    const customer = await startCustomer(stack, 'Faulted Customer');
    const session = await sessionOf(stack, 'Faulted Customer');
    expect(await waitForAgentGreeting(stack, customer)).toBe('Alice Agent');
    const joined = await waitForState(stack, session.id, 'agentsJoined');

    expect(winners(joined)).toEqual([ALICE, ALICE, ALICE]);
    const records = joined.assignments as OfferRecord[];
    expect(records.map((r) => r.offer)).toEqual([
      expect.objectContaining({ result: 'failed', fault: 'platform', countsAsMissed: false }),
      expect.objectContaining({ result: 'failed', fault: 'platform', countsAsMissed: false }),
      expect.objectContaining({ result: 'accepted', countsAsMissed: false }),
    ]);
    expect(records[0]!.offer!.reason).toMatch(/ServiceUnavailable|503/);
    // MAX_MISSED_OFFERS=1 would have set her away after one missed offer: she never missed one.
    expect(await agentView(stack, ALICE)).toMatchObject({ presence: 'available', missedOffersInRow: 0 });
    expect(
      joined.history.map((h) => h.state).filter((s) => s === 'welcomed.offerBackoff'),
      'the chat waited before routing again, twice',
    ).toHaveLength(2);
    await customer.leave();
    expect((await waitTerminated(stack, session.id)).outcome).toBe('completed');
    await expectNothingOpen(stack);
  });

  it('a 4xx other than a decline (403 on the invitation) is the platform failing, not the agent', async () => {
    const stack = await startTestStack({ env: { MAX_MISSED_OFFERS: '1' } });
    await onlyAlice(stack);
    await addFault(stack, { kind: 'http', method: 'POST', path: INVITATIONS, status: 403, count: 1 });
    const customer = await startCustomer(stack, 'Refused Customer');
    const session = await sessionOf(stack, 'Refused Customer');
    await waitForAgentGreeting(stack, customer);
    const joined = await waitForState(stack, session.id, 'agentsJoined');
    const records = joined.assignments as OfferRecord[];
    expect(records[0]!.offer).toMatchObject({ result: 'failed', fault: 'platform', countsAsMissed: false });
    expect(records[0]!.offer!.reason).toMatch(/Forbidden|403/);
    expect(await agentView(stack, ALICE)).toMatchObject({ presence: 'available', missedOffersInRow: 0 });
  });

  it('the platform failing every offer: after MAX_ATTEMPTS failed offers the chat fails with an apology, and every agent stays available', async () => {
    const stack = await startTestStack({ env: { MAX_ATTEMPTS: '2', MAX_MISSED_OFFERS: '1' } });
    await addFault(stack, { kind: 'http', method: 'POST', path: INVITATIONS, status: 503 });
    const customer = await startCustomer(stack, 'Stranded Customer');
    const session = await sessionOf(stack, 'Stranded Customer');
    await customer.waitForMessage((m) => m.text === stack.sa.config.chat.apologyText, WAIT);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('failed');
    expect(done.error).toMatchObject({ step: 'offer', code: 'PlatformFailure' });
    for (const agent of await agents(stack)) {
      expect(agent, agent.uri).toMatchObject({ presence: 'available', missedOffersInRow: 0, load: 0 });
    }
    await expectNothingOpen(stack);
  });

  it('many customers through a burst of 503s (18 on the invitations): no agent is set away', async () => {
    const stack = await startTestStack({ env: { MAX_MISSED_OFFERS: '2', AGENT_CAPACITY: '4' } });
    await addFault(stack, { kind: 'http', method: 'POST', path: INVITATIONS, status: 503, count: 18 });
    const names = Array.from({ length: 10 }, (_, i) => `Burst Customer ${i}`);
    await Promise.all(names.map((name) => startCustomer(stack, name)));
    const ids = await Promise.all(names.map(async (name) => (await sessionOf(stack, name)).id));
    await eventually(
      async () => Promise.all(ids.map((id) => view(stack, id))),
      (views) => {
        for (const v of views) {
          if (v.state !== 'agentsJoined' && v.state !== 'terminated')
            throw new Error(`${v.customer.name} is in ${v.state}`);
        }
      },
      { timeout: WAIT },
    );
    for (const agent of await agents(stack)) {
      expect(agent, agent.uri).toMatchObject({ presence: 'available', missedOffersInRow: 0 });
    }
  });
});

describe('a ring nobody answers is a missed offer', () => {
  it('the platform rings out before the SA withdraws (invitation completed Failure, Timeout): counted as missed', async () => {
    const stack = await startTestStack({
      env: { OFFER_TIMEOUT_MS: '60000', MAX_MISSED_OFFERS: '1' },
      emulatorConfig: { ringTimeoutMs: 300 },
    });
    await setBehaviour(stack, ALICE, { answer: 'never' });
    const customer = await startCustomer(stack, 'Rung Out Customer');
    const session = await sessionOf(stack, 'Rung Out Customer');
    // Alice rings out and is set away (one missed offer); Bob or Carol takes the chat.
    const greeter = await waitForAgentGreeting(stack, customer);
    expect(['Bob Agent', 'Carol Agent']).toContain(greeter);
    const joined = await waitForState(stack, session.id, 'agentsJoined');
    const records = joined.assignments as OfferRecord[];
    expect(records[0]).toMatchObject({
      winner: ALICE,
      offer: { result: 'expired', countsAsMissed: true, reason: 'Timeout/Timeout' },
    });
    expect(await agentView(stack, ALICE)).toMatchObject({ presence: 'away', missedOffersInRow: 1 });
  });
});

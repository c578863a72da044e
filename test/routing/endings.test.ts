/**
 * How a chat ends when the platform fails, over real HTTP with the emulator's faults:
 * - quick apology: when the meeting cannot be created, the customer's invitation is declined at once (not
 *   after STEP_TIMEOUT_MS); the SA keeps waiting, bounded, for a meeting that may still report itself, and
 *   ends it if it does;
 * - a meeting ended with an agent in it ends the chat `completed`, also when the agent had left first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALICE,
  addFault,
  cleanup,
  expectNothingOpen,
  leaves,
  logMark,
  requests,
  sessionOf,
  setBehaviour,
  startCustomer,
  startTestStack,
  stats,
  view,
  WAIT,
  waitForAgentGreeting,
  waitForState,
  waitForView,
  waitTerminated,
} from './harness.ts';

afterEach(cleanup);

const START_ADHOC = /\/onlineMeetingInvitations\/startAdhocMeeting$/i;
const DECLINE = /\/messagingInvitations\/[^/]+\/decline$/i;

describe('quick apology when the meeting cannot be created', () => {
  it('declines the invitation right after the last failed attempt, while the wait for a late meeting goes on', async () => {
    // A step timeout of ten minutes: a decline that waited for it would never be seen here.
    const stack = await startTestStack({ env: { MAX_ATTEMPTS: '2', STEP_TIMEOUT_MS: '600000' } });
    const since = logMark(stack);
    await addFault(stack, { kind: 'http', method: 'POST', path: 'startAdhocMeeting', status: 503, count: 2 });
    const customer = await startCustomer(stack, 'Declined Quickly');
    const session = await sessionOf(stack, 'Declined Quickly');
    const declined = await customer.waitForEvent(
      (e) => e.rel === 'messagingInvitation' && e.type === 'completed',
      WAIT,
    );
    expect(declined.status).toBe('Failure');
    // Declined while the session still waits (in the background) for a meeting the 503s may have made.
    const waiting = await view(stack, session.id);
    expect(leaves(waiting)).toEqual(['failed.awaitingConference']);
    expect(waiting.deadlines['timer.stepTimeout']).toBeDefined();
    expect(waiting.error).toMatchObject({ step: 'startAdhocMeeting' });
    const log = requests(stack, since);
    const lastFailure = log.filter((r) => START_ADHOC.test(r.path)).at(-1)!;
    const decline = log.find((r) => DECLINE.test(r.path))!;
    expect(lastFailure.status).toBe(503);
    expect(decline.status).toBeLessThan(300);
    expect(decline.seq).toBeGreaterThan(lastFailure.seq);
    console.log(
      `quick apology: declined ${Date.parse(decline.time) - Date.parse(lastFailure.time)} ms after the last failed startAdhocMeeting`,
    );
    expect((await stats(stack)).openMeetings).toBe(0);
  });

  it('a meeting that reports itself after the SA gave up is deleted, and the customer is not declined twice', async () => {
    // One attempt, held past the SA's API timeout and carried out afterwards.
    const stack = await startTestStack({ env: { MAX_ATTEMPTS: '1', API_TIMEOUT_MS: '500' } });
    const since = logMark(stack);
    await addFault(stack, {
      kind: 'http',
      method: 'POST',
      path: 'startAdhocMeeting',
      latencyMs: 2500,
      count: 1,
    });
    const customer = await startCustomer(stack, 'Late Meeting Customer');
    const session = await sessionOf(stack, 'Late Meeting Customer');
    await customer.waitForEvent((e) => e.rel === 'messagingInvitation' && e.type === 'completed', WAIT);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('failed');
    expect(done.error).toMatchObject({ step: 'startAdhocMeeting', code: 'Timeout' });
    // The meeting was created after the decline, then deleted by the SA.
    const log = requests(stack, since);
    const decline = log.filter((r) => DECLINE.test(r.path));
    const started = log.find((r) => START_ADHOC.test(r.path))!;
    const deleted = log.find(
      (r) => r.method === 'DELETE' && /^\/platformservice\/.*\/conversations\/[^/]+$/i.test(r.path),
    );
    expect(decline).toHaveLength(1);
    expect(started.status).toBeLessThan(300);
    expect(deleted, 'the late meeting was deleted').toBeDefined();
    expect(deleted!.status).toBe(204);
    expect(decline[0]!.seq).toBeLessThan(deleted!.seq);
    expect(done.conversations.conference).toBeDefined();
    await expectNothingOpen(stack);
  });
});

describe('a meeting ended with an agent in it', () => {
  it('ends the chat completed, the customer let go and nothing left open', async () => {
    const stack = await startTestStack();
    const customer = await startCustomer(stack, 'Meeting Ended Customer');
    const session = await sessionOf(stack, 'Meeting Ended Customer');
    await waitForAgentGreeting(stack, customer);
    const joined = await waitForState(stack, session.id, 'agentsJoined');
    // Someone else (another process of the application) deletes the meeting.
    await stack.sa.client.deleteConversation(joined.conversations.conference!);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('completed');
    expect(done.error).toBeNull();
    expect(done.history.map((h) => h.state)).not.toContain('welcomed.announcingAgentLeft');
    await customer.waitForEvent((e) => e.rel === 'conversation' && e.type === 'deleted', WAIT);
    await expectNothingOpen(stack);
  });

  it('also when the agent left first and the chat was being routed again', async () => {
    const stack = await startTestStack({ env: { AGENTS: 'sip:alice@contoso.com=Alice Agent' } });
    const customer = await startCustomer(stack, 'Left Then Ended');
    const session = await sessionOf(stack, 'Left Then Ended');
    await waitForAgentGreeting(stack, customer);
    const joined = await waitForState(stack, session.id, 'agentsJoined');
    // Alice will not take the chat again: the session waits with her phone ringing.
    await setBehaviour(stack, ALICE, { answer: 'never' });
    const left = await stack.emulator.agents.leave(ALICE, undefined);
    expect(left.conversationId).toBeTruthy();
    await waitForView(stack, session.id, (v) => {
      if (!leaves(v).some((l) => l.startsWith('welcomed.offering'))) throw new Error(leaves(v).join());
    });
    await stack.sa.client.deleteConversation(joined.conversations.conference!);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('completed');
    expect(done.error).toBeNull();
    await expectNothingOpen(stack);
  });
});

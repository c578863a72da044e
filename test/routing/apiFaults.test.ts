/**
 * Platform API faults injected by the emulator. A 503 is retried with the same
 * operationId and has one effect; a 403 fails the session cleanly; expired AAD tokens are refreshed once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningStack } from '../../src/stack/index.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  addFault,
  bodyOperationId,
  callbacks,
  cleanup,
  expectNothingOpen,
  logMark,
  recordPlatformRequests,
  requests,
  sessionOf,
  startCustomer,
  startTestStack,
  view,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
} from './harness.ts';

afterEach(cleanup);

const START_ADHOC = /\/onlineMeetingInvitations\/startAdhocMeeting$/i;
const ADD_PARTICIPANT = /\/communication\/participantInvitations$/i;
const ACCEPT_AND_BRIDGE = /\/acceptAndBridge$/i;

/** A whole chat: agent greets, the customer writes and gets the echo, leaves; the session completes. */
async function completeChat(stack: RunningStack, name: string): Promise<string> {
  const customer = await startCustomer(stack, name);
  const session = await sessionOf(stack, name);
  await waitForAgentGreeting(stack, customer);
  await waitForState(stack, session.id, 'agentsJoined');
  await customer.send(`hello from ${name}`);
  await customer.waitForMessage((m) => m.text === `You said: "hello from ${name}"`);
  await customer.leave();
  const done = await waitTerminated(stack, session.id);
  expect(done.outcome).toBe('completed');
  await expectNothingOpen(stack);
  return session.id;
}

function eventCount(stack: RunningStack, summary: string, since = 0): number {
  return callbacks(stack, since).filter((c) => c.status !== null && c.events.includes(summary)).length;
}

describe('API faults', () => {
  it.each([
    {
      call: 'startAdhocMeeting',
      path: START_ADHOC,
      fault: '/onlineMeetingInvitations/startAdhocMeeting',
      step: 'adhocMeeting',
      effect: 'communication: onlineMeetingInvitation started',
    },
    {
      call: 'addParticipant',
      path: ADD_PARTICIPANT,
      fault: '/communication/participantInvitations',
      step: 'offer.0',
      effect: 'communication: participantInvitation started',
    },
  ])(
    'a 503 once on $call is retried with the same operationId: 2 requests, one effect, the chat completes',
    async ({ path, fault, step, effect }) => {
      const stack = await startTestStack();
      const sent = recordPlatformRequests(stack);
      const since = logMark(stack);
      const injected = await addFault(stack, {
        kind: 'http',
        method: 'POST',
        path: fault,
        status: 503,
        count: 1,
      });
      const id = await completeChat(stack, 'Retried Customer');

      const logged = requests(stack, since).filter((r) => r.method === 'POST' && path.test(r.path));
      expect(logged.map((r) => r.status)).toEqual([503, expect.any(Number)]);
      expect(logged[0]!.fault).toBe(injected.id);
      expect(logged[1]!.status).toBeLessThan(300);
      expect(logged[1]!.operationId).toBe(`${id}.${step}`);
      // Both attempts carried the same operationId in their bodies.
      const bodies = sent.filter((r) => r.method === 'POST' && path.test(r.path)).map(bodyOperationId);
      expect(bodies).toEqual([`${id}.${step}`, `${id}.${step}`]);
      // One effect: the platform started one such invitation.
      expect(eventCount(stack, effect, since)).toBe(1);
    },
  );

  it('an attempt that timed out but took effect is retried with the same operationId and has one effect', async () => {
    // The first startAdhocMeeting is held past the SA's API timeout, then carried out; the retry is
    // answered with the stored result.
    const stack = await startTestStack({ env: { API_TIMEOUT_MS: '400' } });
    const sent = recordPlatformRequests(stack);
    const since = logMark(stack);
    await addFault(stack, {
      kind: 'http',
      method: 'POST',
      path: '/onlineMeetingInvitations/startAdhocMeeting',
      latencyMs: 1000,
      count: 1,
    });
    const id = await completeChat(stack, 'Slow Meeting Customer');

    const bodies = sent.filter((r) => r.method === 'POST' && START_ADHOC.test(r.path)).map(bodyOperationId);
    expect(bodies).toEqual([`${id}.adhocMeeting`, `${id}.adhocMeeting`]);
    await eventually(
      () => requests(stack, since).filter((r) => START_ADHOC.test(r.path)),
      (logged) => {
        expect(logged).toHaveLength(2);
        expect(logged.every((r) => r.status < 300 && r.operationId === `${id}.adhocMeeting`)).toBe(true);
      },
    );
    expect(eventCount(stack, 'communication: onlineMeetingInvitation started', since)).toBe(1);
  });

  it('503 on every attempt: startAdhocMeeting is tried MAX_ATTEMPTS times, then the session fails cleanly', async () => {
    const stack = await startTestStack({ env: { MAX_ATTEMPTS: '3', STEP_TIMEOUT_MS: '1000' } });
    const since = logMark(stack);
    await addFault(stack, { kind: 'http', method: 'POST', path: 'startAdhocMeeting', status: 503, count: 3 });
    const customer = await startCustomer(stack, 'Never Conferenced');
    const session = await sessionOf(stack, 'Never Conferenced');
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('failed');
    expect(done.error).toMatchObject({ step: 'startAdhocMeeting' });
    expect(
      requests(stack, since)
        .filter((r) => START_ADHOC.test(r.path))
        .map((r) => r.status),
    ).toEqual([503, 503, 503]);
    await customer.waitForEvent((e) => e.rel === 'messagingInvitation' && e.type === 'completed');
    await expectNothingOpen(stack);
  });

  it('a 403 on acceptAndBridge fails the session cleanly: no retry, invitation declined, 0 open meetings', async () => {
    const stack = await startTestStack();
    const since = logMark(stack);
    await addFault(stack, { kind: 'http', method: 'POST', path: 'acceptAndBridge', status: 403, count: 1 });
    const customer = await startCustomer(stack, 'Refused Customer');
    const session = await sessionOf(stack, 'Refused Customer');
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('failed');
    expect(done.error).toMatchObject({ step: 'acceptAndBridge' });
    expect(done.error!.message).toContain('403');
    const sent = requests(stack, since);
    expect(sent.filter((r) => ACCEPT_AND_BRIDGE.test(r.path)).map((r) => r.status)).toEqual([403]);
    expect(sent.some((r) => /\/decline$/i.test(r.path) && r.status < 300)).toBe(true);
    const conference = new URL(done.conversations.conference!).pathname.toLowerCase();
    expect(
      sent.some((r) => r.method === 'DELETE' && r.path.toLowerCase() === conference && r.status === 204),
    ).toBe(true);
    const failure = await customer.waitForEvent(
      (e) => e.rel === 'messagingInvitation' && e.type === 'completed',
    );
    expect(failure.status).toBe('Failure');
    await expectNothingOpen(stack);
    expect((await view(stack, session.id)).agents).toEqual([]);
  });

  it('expired AAD tokens: the SA refreshes its token once and the chat completes', async () => {
    const stack = await startTestStack();
    await completeChat(stack, 'Before Expiry');
    const since = logMark(stack);
    const expired = await addFault(stack, { kind: 'expireTokens', tokens: 'aad' });
    expect(expired).toEqual({ expired: 'aad' });

    await completeChat(stack, 'After Expiry');
    const after = requests(stack, since);
    const tokenRequests = after.filter((r) => r.method === 'POST' && /\/oauth2\/token$/i.test(r.path));
    expect(tokenRequests.map((r) => r.status)).toEqual([200]);
    const rejected = after.filter((r) => r.status === 401);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(rejected.every((r) => r.path.toLowerCase().startsWith('/platformservice/'))).toBe(true);
    // Every rejected call was sent again with the new token, after the refresh, and went through.
    const refreshedAt = tokenRequests[0]!.seq;
    for (const r of rejected) {
      expect(
        after.some(
          (again) =>
            again.seq > refreshedAt &&
            again.method === r.method &&
            again.path === r.path &&
            again.status < 300,
        ),
        `${r.method} ${r.path} repeated after the refresh`,
      ).toBe(true);
    }
  });
});

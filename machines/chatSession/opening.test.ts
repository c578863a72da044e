import { describe, expect, it } from 'vitest';
import type { TeardownInput } from './index.ts';
import { BASE, harness, sendMeetingUp } from './testSupport.ts';

describe('chat session machine: opening (invited, adhocMeeting)', () => {
  it('retries a retryable failure after the backoff deadline, with the same operationId', async () => {
    const h = harness(undefined, { startAdhocMeeting: [{ retryable: true, code: 'ServiceUnavailable' }] });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toEqual({ invited: 'backoff' });
    const at = snapshot.context.deadlines['timer.retry']!;
    expect(at).toBeGreaterThan(h.clock.now);
    h.send({ type: 'timer.retry', at: at - 1 }); // a stale firing is ignored
    await h.flush();
    expect(h.actor.getSnapshot().value).toEqual({ invited: 'backoff' });
    h.send({ type: 'timer.retry', at });
    await h.flush();
    const attempts = h.calls.filter((c) => c.effect === 'startAdhocMeeting');
    expect(attempts).toHaveLength(2);
    expect(attempts.map((c) => (c.input as { operationId: string }).operationId)).toEqual([
      's1.adhocMeeting',
      's1.adhocMeeting',
    ]);
    expect(h.actor.getSnapshot().value).toBe('adhocMeeting');
  });

  it('fails cleanly on a non-retryable error: declines the invitation and ends terminated', async () => {
    const h = harness(undefined, { startAdhocMeeting: [{ retryable: false, code: 'Forbidden' }] });
    await h.flush();
    // A definite refusal created no meeting: nothing to wait for.
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('failed');
    expect(snapshot.context.error).toMatchObject({ step: 'startAdhocMeeting', code: 'Forbidden' });
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'failed',
      declineHref: `${BASE}/messagingInvitations/inv-1/decline`,
    });
  });

  it('gives up after maxAttempts retryable failures', async () => {
    const boom = { retryable: true, code: 'ServiceFailure' };
    const h = harness(undefined, { startAdhocMeeting: [boom, boom, boom] });
    await h.flush();
    for (let i = 0; i < 2; i++) {
      h.send({ type: 'timer.retry', at: h.actor.getSnapshot().context.deadlines['timer.retry']! });
      await h.flush();
    }
    expect(h.calls.filter((c) => c.effect === 'startAdhocMeeting')).toHaveLength(3);
    expect(h.actor.getSnapshot().matches('failed')).toBe(true);
  });

  it('declines a chat outside business hours without creating a meeting', async () => {
    const h = harness(undefined, {}, false);
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('outsideHours');
    expect(h.calls.map((c) => c.effect)).toEqual(['teardown']);
    expect(h.calls[0]!.input).toMatchObject({ declineHref: `${BASE}/messagingInvitations/inv-1/decline` });
    expect((h.calls[0]!.input as TeardownInput).conferenceHref).toBeUndefined();
  });

  it('takes the meeting coming up before the request that starts it has answered', async () => {
    const h = harness();
    const release = h.hold('startAdhocMeeting');
    await h.flush();
    sendMeetingUp(h);
    await h.flush();
    expect(h.actor.getSnapshot().value).toEqual({ invited: 'starting' });
    release();
    await h.flush();
    expect(h.actor.getSnapshot().matches('conferenced')).toBe(true);
    expect(h.calls.map((c) => c.effect)).toContain('addMessaging');
  });

  it('fails when the meeting fails to come up before the request that starts it has answered', async () => {
    const h = harness();
    const release = h.hold('startAdhocMeeting');
    await h.flush();
    h.send({
      type: 'callback.invitationCompleted',
      kind: 'onlineMeeting',
      direction: 'Outgoing',
      invitationHref: `${BASE}/onlineMeetingInvitations/omi-1`,
      operationId: 's1.adhocMeeting',
      status: 'Failure',
      reason: { code: 'ServiceFailure', message: 'no meeting today' },
    });
    await h.flush();
    expect(h.actor.getSnapshot().value).toEqual({ invited: 'starting' });
    release();
    await h.flush();
    // Failed; the meeting may exist, so the session waits to learn it (and delete it) before it ends.
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.matches('failed')).toBe(true);
    expect(snapshot.context.error).toMatchObject({ step: 'adhocMeeting', code: 'ServiceFailure' });
  });
});

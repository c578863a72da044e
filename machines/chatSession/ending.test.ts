import { describe, expect, it } from 'vitest';
import type { TeardownInput } from './index.ts';
import { agentJoined, BASE, CONF, driveToConference, driveToWelcome, harness, P2P } from './testSupport.ts';

describe('chat session machine: ending (closed, abandoned, failed)', () => {
  it('terminates the conference when the customer leaves after the agents joined', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({ type: 'callback.conversationDeleted', conversationHref: P2P });
    await h.flush();
    const teardown = h.calls.find((c) => c.effect === 'teardown')?.input as TeardownInput;
    expect(teardown).toMatchObject({ reason: 'completed', conferenceHref: CONF });
    expect(teardown.declineHref).toBeUndefined();
  });

  it('declines at once when the meeting cannot be created, then ends a meeting that reports itself late', async () => {
    const timeout = { retryable: true, code: 'Timeout' };
    const h = harness(undefined, { startAdhocMeeting: [timeout, timeout, timeout] });
    await h.flush();
    for (let i = 0; i < 2; i++) {
      h.send({ type: 'timer.retry', at: h.actor.getSnapshot().context.deadlines['timer.retry']! });
      await h.flush();
    }
    // The customer is declined without waiting; the wait for the meeting goes on behind it.
    const first = h.calls.filter((c) => c.effect === 'teardown');
    expect(first.map((c) => c.input)).toEqual([
      expect.objectContaining({ declineHref: `${BASE}/messagingInvitations/inv-1/decline` }),
    ]);
    expect((first[0]!.input as TeardownInput).conferenceHref).toBeUndefined();
    expect(h.actor.getSnapshot().value).toEqual({ failed: 'awaitingConference' });
    expect(h.actor.getSnapshot().context.deadlines['timer.stepTimeout']).toBeDefined();
    // The meeting of an attempt that timed out reports itself: it is deleted, the customer left alone.
    h.send({
      type: 'callback.invitationStarted',
      kind: 'onlineMeeting',
      direction: 'Outgoing',
      invitationHref: `${BASE}/onlineMeetingInvitations/omi-1`,
      operationId: 's1.adhocMeeting',
      conversationHref: CONF,
    });
    await h.flush();
    const teardowns = h.calls.filter((c) => c.effect === 'teardown').map((c) => c.input as TeardownInput);
    expect(teardowns).toHaveLength(2);
    expect(teardowns[1]).toEqual({ sessionId: 's1', reason: 'failed', conferenceHref: CONF });
    expect(h.actor.getSnapshot().value).toBe('terminated');
  });

  it('stops waiting for a late meeting at the step deadline', async () => {
    const busy = { retryable: true, code: 'ServiceFailure' };
    const h = harness(undefined, { startAdhocMeeting: [busy, busy, busy] });
    await h.flush();
    for (let i = 0; i < 2; i++) {
      h.send({ type: 'timer.retry', at: h.actor.getSnapshot().context.deadlines['timer.retry']! });
      await h.flush();
    }
    expect(h.actor.getSnapshot().value).toEqual({ failed: 'awaitingConference' });
    h.send({
      type: 'timer.stepTimeout',
      at: h.actor.getSnapshot().context.deadlines['timer.stepTimeout']!,
    });
    await h.flush();
    expect(h.actor.getSnapshot().value).toBe('terminated');
    expect(h.calls.filter((c) => c.effect === 'teardown')).toHaveLength(1);
  });

  it('abandons before the bridge and still terminates the meeting it created', async () => {
    const h = harness();
    await driveToConference(h);
    h.send({ type: 'callback.conversationDeleted', conversationHref: P2P });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('abandoned');
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'abandoned',
      conferenceHref: CONF,
    });
  });

  it.each([
    ['its messaging ends first (as the platform reports it)', true],
    ['its agents are reported removed first', false],
  ])('completes a chat whose meeting ends with an agent in it: %s', async (_, messagingFirst) => {
    const h = harness([
      { uri: 'sip:alice@contoso.com', name: 'Alice' },
      { uri: 'sip:bob@contoso.com', name: 'Bob' },
    ]);
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    if (messagingFirst)
      h.send({ type: 'callback.messagingUpdated', conversationHref: CONF, state: 'Disconnected', links: {} });
    h.send({
      type: 'callback.participantDeleted',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice@contoso.com`,
      links: {},
    });
    await h.flush();
    h.send({ type: 'callback.conversationDeleted', conversationHref: CONF });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('completed');
    expect(snapshot.context.error).toBeUndefined();
    // The meeting is gone; the customer, still there, is let go.
    expect(h.calls.filter((c) => c.effect === 'teardown').at(-1)?.input).toMatchObject({
      reason: 'completed',
      customerConversationHref: P2P,
    });
  });
});

import { describe, expect, it } from 'vitest';
import type { SendMessageInput } from './index.ts';
import { agentJoined, BASE, CONF, driveToWelcome, harness, settings } from './testSupport.ts';

describe('chat session machine: routing (welcomed)', () => {
  it('moves to the next agent when the first declines, bridging that one too', async () => {
    const h = harness([
      { uri: 'sip:alice@contoso.com', name: 'Alice' },
      { uri: 'sip:bob@contoso.com', name: 'Bob' },
    ]);
    await driveToWelcome(h);
    h.send({
      type: 'callback.invitationCompleted',
      kind: 'participant',
      direction: 'Outgoing',
      invitationHref: `${BASE}/participantInvitations/p1`,
      operationId: 's1.offer.0',
      status: 'Failure',
      reason: { code: 'RemoteFailure', subcode: 'Declined' },
    });
    await h.flush();
    const bridged = h.calls.filter((c) => c.effect === 'addBridgedParticipant').map((c) => c.input);
    expect(bridged).toMatchObject([
      { participantUri: 'sip:alice@contoso.com', messageFilterState: 'Disabled' },
      { participantUri: 'sip:bob@contoso.com', messageFilterState: 'Disabled' },
    ]);
    // The declined agent's bridge entry is taken back.
    expect(h.calls.filter((c) => c.effect === 'removeBridgedParticipant')).toHaveLength(1);
    expect(h.calls.filter((c) => c.effect === 'addParticipant').map((c) => c.input)).toMatchObject([
      { to: 'sip:alice@contoso.com', operationId: 's1.offer.0' },
      { to: 'sip:bob@contoso.com', operationId: 's1.offer.1' },
    ]);
    expect(h.routing).toContainEqual({
      type: 'routing.request',
      sessionId: 's1',
      exclude: ['sip:alice@contoso.com'],
    });
    h.send(agentJoined('sip:bob@contoso.com'));
    await h.flush();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'active' } })).toBe(true);
  });

  it('withdraws an offer that rings too long, and apologises when nobody is left', async () => {
    const h = harness();
    await driveToWelcome(h);
    const offer = h.actor.getSnapshot().children.offer!;
    const at = (offer.getSnapshot() as { context: { deadlines: Record<string, number> } }).context.deadlines[
      'timer.offerExpired'
    ]!;
    expect(at).toBe(h.clock.now + settings.offerTimeoutMs);
    offer.send({ type: 'timer.offerExpired', at });
    await h.flush();
    expect(h.routing).toContainEqual(
      expect.objectContaining({
        type: 'routing.offerEnded',
        result: 'expired',
        agent: expect.objectContaining({ uri: 'sip:alice@contoso.com' }),
      }),
    );
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('noAgent');
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'noAgent',
      conferenceHref: CONF,
      apology: { text: settings.apologyText, operationId: 's1.apology' },
    });
  });

  it('keeps a queued customer informed, then falls back when the wait runs out', async () => {
    const h = harness('queue');
    await driveToWelcome(h);
    expect(h.actor.getSnapshot().value).toEqual({ welcomed: { queued: 'waiting' } });
    const waitMessages = () =>
      h.calls.filter(
        (c) => c.effect === 'sendMessage' && (c.input as SendMessageInput).operationId.includes('.wait.'),
      );
    expect(waitMessages().map((c) => c.input)).toMatchObject([
      { text: 'You are number 1 in the queue.', operationId: 's1.wait.0' },
    ]);
    // Every queueUpdateMs the session asks routing where it stands and tells the customer again.
    h.clock.now += settings.queueUpdateMs;
    h.send({ type: 'timer.queueUpdate', at: h.actor.getSnapshot().context.deadlines['timer.queueUpdate']! });
    await h.flush();
    expect(h.routing).toContainEqual({ type: 'routing.status', sessionId: 's1' });
    h.send({ type: 'queue.update', position: 1, message: 'Still number 1.' } as never);
    await h.flush();
    expect(waitMessages().map((c) => (c.input as SendMessageInput).operationId)).toEqual([
      's1.wait.0',
      's1.wait.1',
    ]);
    // The maximum wait was set once, on entry, and is not pushed back by updates.
    const expires = h.actor.getSnapshot().context.deadlines['timer.queueExpired']!;
    expect(expires).toBe(1_000 + settings.maxQueueWaitMs);
    h.send({ type: 'timer.queueExpired', at: expires });
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toBe('terminated');
    expect(snapshot.context.outcome).toBe('queueTimeout');
    expect(h.calls.find((c) => c.effect === 'teardown')?.input).toMatchObject({
      reason: 'queueTimeout',
      conferenceHref: CONF,
      apology: { text: settings.fallbackText },
    });
  });

  it('routes again, telling the customer, when the only agent leaves mid-chat', async () => {
    const h = harness([
      { uri: 'sip:alice@contoso.com', name: 'Alice' },
      { uri: 'sip:bob@contoso.com', name: 'Bob' },
    ]);
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    h.send({
      type: 'callback.participantDeleted',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice@contoso.com`,
      links: {},
    });
    await h.flush();
    expect(h.routing).toContainEqual(
      expect.objectContaining({
        type: 'routing.agentLeft',
        agent: expect.objectContaining({ uri: 'sip:alice@contoso.com' }),
      }),
    );
    expect(h.calls.find((c) => (c.input as SendMessageInput).text === settings.agentLeftText)).toBeDefined();
    // Routing hands out Alice again first (she is not excluded: she left, she did not decline).
    expect(h.actor.getSnapshot().value).toEqual({ welcomed: 'offering' });
  });

  it('does not hold a platform failure of an offer against the agent: waits, then routes again', async () => {
    const h = harness([{ uri: 'sip:alice@contoso.com', name: 'Alice' }]);
    await driveToWelcome(h);
    // Alice's phone rings; the platform fails the invitation (not a decline, not a ring-out).
    h.send({
      type: 'callback.invitationCompleted',
      kind: 'participant',
      direction: 'Outgoing',
      invitationHref: `${BASE}/participantInvitations/pi-0`,
      operationId: 's1.offer.0',
      status: 'Failure',
      state: 'Failed',
      reason: { code: 'ServiceFailure', message: 'the platform failed' },
    });
    await h.flush();
    expect(h.routing).toContainEqual(
      expect.objectContaining({ type: 'routing.offerEnded', result: 'failed', reason: 'ServiceFailure' }),
    );
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.value).toEqual({ welcomed: 'offerBackoff' });
    expect(snapshot.context.tried).toEqual([]);
    expect(snapshot.context.assignments.at(-1)).toMatchObject({
      offer: { result: 'failed', fault: 'platform', countsAsMissed: false },
    });
    h.send({ type: 'timer.retry', at: snapshot.context.deadlines['timer.retry']! });
    await h.flush();
    // Alice is offered the chat again: she was not tried, the platform failed.
    expect(h.actor.getSnapshot().value).toEqual({ welcomed: 'offering' });
    expect(h.actor.getSnapshot().context.offers).toBe(2);
  });

  it('takes an agent who joins before the invitation request has answered', async () => {
    const h = harness();
    const release = h.hold('addParticipant');
    await driveToWelcome(h);
    expect(h.actor.getSnapshot().matches({ welcomed: 'offering' })).toBe(true);
    h.send(agentJoined());
    await h.flush();
    expect(h.actor.getSnapshot().matches({ welcomed: 'offering' })).toBe(true);
    release();
    await h.flush();
    expect(h.actor.getSnapshot().matches('agentsJoined')).toBe(true);
    expect(h.actor.getSnapshot().context.joinedAgents.map((a) => a.uri)).toEqual(['sip:alice@contoso.com']);
  });

  it('moves on when an agent declines before the invitation request has answered', async () => {
    const h = harness([
      { uri: 'sip:alice@contoso.com', name: 'Alice' },
      { uri: 'sip:bob@contoso.com', name: 'Bob' },
    ]);
    const release = h.hold('addParticipant');
    await driveToWelcome(h);
    h.send({
      type: 'callback.invitationCompleted',
      kind: 'participant',
      direction: 'Outgoing',
      invitationHref: `${BASE}/participantInvitations/p1`,
      operationId: 's1.offer.0',
      status: 'Failure',
      reason: { code: 'RemoteFailure', subcode: 'Declined' },
    });
    release();
    await h.flush();
    expect(h.calls.filter((c) => c.effect === 'removeBridgedParticipant')).toHaveLength(1);
    expect(h.routing).toContainEqual({
      type: 'routing.request',
      sessionId: 's1',
      exclude: ['sip:alice@contoso.com'],
    });
  });
});

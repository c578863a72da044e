import { describe, expect, it } from 'vitest';
import type { CallbackEvent } from '../events.ts';
import type { RelayMessagesInput } from './index.ts';
import { agentJoined, CONF, driveToWelcome, harness, P2P } from './testSupport.ts';

describe('chat session machine: staffing (agentsJoined.staffing)', () => {
  it('keeps what the customer writes before an agent joins and relays it to that agent first, once', async () => {
    const h = harness('queue');
    await driveToWelcome(h);
    const customerSays = (n: number, text: string): CallbackEvent => ({
      type: 'callback.messageCompleted',
      conversationHref: CONF,
      messageHref: `${CONF}/messaging/messages/${n}`,
      direction: 'Incoming',
      status: 'Success',
      text,
      timestamp: `2026-01-05T10:4${n}:00.000Z`,
      sender: { uri: 'sip:123@anonymous.invalid', name: 'Jane' },
    });
    h.send(customerSays(1, 'my invoice is wrong'));
    h.send(customerSays(1, 'my invoice is wrong')); // the same callback twice
    h.send(customerSays(2, 'order 1234'));
    await h.flush();
    expect(h.actor.getSnapshot().context.backlog.map((l) => l.text)).toEqual([
      'my invoice is wrong',
      'order 1234',
    ]);
    // An agent becomes free and joins.
    h.actor.send({
      type: 'agent.assigned',
      agent: { uri: 'sip:alice@contoso.com', name: 'Alice' },
      assignment: { winner: 'sip:alice@contoso.com' },
    });
    await h.flush();
    h.send(agentJoined());
    await h.flush();
    const relays = h.calls
      .filter((c) => c.effect === 'relayMessages')
      .map((c) => c.input as RelayMessagesInput);
    expect(relays).toHaveLength(1);
    expect(relays[0]!.lines).toEqual([
      expect.objectContaining({
        label: 'beforeJoined',
        from: 'Jane',
        text: 'my invoice is wrong',
        operationId: 's1.relay.0',
        at: '2026-01-05T10:41:00.000Z',
      }),
      expect.objectContaining({
        label: 'beforeJoined',
        from: 'Jane',
        text: 'order 1234',
        operationId: 's1.relay.1',
      }),
    ]);
    const snapshot = h.actor.getSnapshot();
    expect(snapshot.context.backlog).toEqual([]);
    expect(snapshot.context.relayed).toBe(2);
    // The agent owes the customer an answer.
    expect(snapshot.context.deadlines['timer.agentReply']).toBeDefined();
    // A late duplicate of a relayed message is not kept (nor relayed) again.
    h.send(customerSays(2, 'order 1234'));
    await h.flush();
    expect(h.actor.getSnapshot().context.history.map((l) => l.text)).toEqual([
      'my invoice is wrong',
      'order 1234',
    ]);
  });

  it('transfers to a named agent, then shows the previous agent out and frees them', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({
      type: 'callback.participantUpdated',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice@contoso.com`,
      uri: 'sip:alice@contoso.com',
      links: { eject: `${CONF}/participants/alice@contoso.com/eject` },
    });
    await h.flush();
    h.send({ type: 'chat.transfer', agent: { uri: 'sip:bob@contoso.com', name: 'Bob' } } as never);
    await h.flush();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { staffing: 'offering' } })).toBe(true);
    expect(h.calls.filter((c) => c.effect === 'addParticipant').at(-1)?.input).toMatchObject({
      to: 'sip:bob@contoso.com',
      operationId: 's1.offer.1',
    });
    h.send(agentJoined('sip:bob@contoso.com'));
    await h.flush();
    const { context } = h.actor.getSnapshot();
    expect(context.joinedAgents.map((a) => a.uri)).toEqual(['sip:bob@contoso.com']);
    expect(h.routing).toContainEqual(
      expect.objectContaining({
        type: 'routing.agentLeft',
        agent: { uri: 'sip:alice@contoso.com', name: 'Alice' },
      }),
    );
    expect(h.calls.find((c) => c.effect === 'ejectParticipants')?.input).toMatchObject({
      hrefs: [
        `${CONF}/participants/alice@contoso.com/eject`,
        `${P2P}/conversationBridge/bridgedParticipants/alice@contoso.com`,
      ],
    });
  });

  it('lets a supervisor monitor unseen (filter Enabled) and barge in (filter Disabled)', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    h.send({ type: 'chat.monitor', agent: { uri: 'sip:sue@contoso.com', name: 'Sue' } } as never);
    await h.flush();
    expect(h.calls.filter((c) => c.effect === 'addBridgedParticipant').at(-1)?.input).toMatchObject({
      participantUri: 'sip:sue@contoso.com',
      messageFilterState: 'Enabled',
    });
    h.send(agentJoined('sip:sue@contoso.com'));
    await h.flush();
    expect(h.actor.getSnapshot().context.supervisors.map((a) => a.uri)).toEqual(['sip:sue@contoso.com']);
    // The supervisor leaving is not the last agent leaving.
    h.send({ type: 'chat.barge' } as never);
    await h.flush();
    expect(h.calls.find((c) => c.effect === 'updateBridgedParticipant')?.input).toMatchObject({
      participantUri: 'sip:sue@contoso.com',
      messageFilterState: 'Disabled',
    });
    expect(h.actor.getSnapshot().context.joinedAgents.map((a) => a.uri)).toEqual([
      'sip:alice@contoso.com',
      'sip:sue@contoso.com',
    ]);
  });

  it('adds a second agent without letting the first go', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    h.send({ type: 'chat.addAgent', agent: { uri: 'sip:bob@contoso.com', name: 'Bob' } } as never);
    await h.flush();
    h.send(agentJoined('sip:bob@contoso.com'));
    await h.flush();
    expect(h.actor.getSnapshot().context.joinedAgents.map((a) => a.uri)).toEqual([
      'sip:alice@contoso.com',
      'sip:bob@contoso.com',
    ]);
    // One of two leaving is not the last agent leaving: no re-routing.
    h.send({
      type: 'callback.participantDeleted',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice@contoso.com`,
      links: {},
    });
    await h.flush();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'active' } })).toBe(true);
    expect(h.actor.getSnapshot().context.joinedAgents.map((a) => a.uri)).toEqual(['sip:bob@contoso.com']);
  });
});

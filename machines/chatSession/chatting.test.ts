import { describe, expect, it } from 'vitest';
import type { SendMessageInput } from './index.ts';
import {
  agentJoined,
  CONF,
  driveToConference,
  driveToWelcome,
  harness,
  P2P,
  settings,
} from './testSupport.ts';

describe('chat session machine: chatting (agentsJoined)', () => {
  it('warns an idle customer, then closes the chat', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    h.clock.now += settings.customerIdleMs;
    h.send({
      type: 'timer.customerIdle',
      at: h.actor.getSnapshot().context.deadlines['timer.customerIdle']!,
    });
    await h.flush();
    expect(
      h.calls.find((c) => (c.input as SendMessageInput).text === settings.idleWarningText),
    ).toBeDefined();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'idleGrace' } })).toBe(true);
    h.send({
      type: 'timer.customerIdle',
      at: h.actor.getSnapshot().context.deadlines['timer.customerIdle']!,
    });
    await h.flush();
    expect(h.actor.getSnapshot().value).toBe('terminated');
    expect(h.actor.getSnapshot().context.outcome).toBe('idle');
  });

  it('resets the idle deadline when the customer writes', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    await h.flush();
    const first = h.actor.getSnapshot().context.deadlines['timer.customerIdle']!;
    h.clock.now += 1_000;
    h.send({
      type: 'callback.messageCompleted',
      conversationHref: CONF,
      messageHref: `${CONF}/messaging/messages/9`,
      direction: 'Incoming',
      status: 'Success',
      text: 'still here',
      sender: { uri: 'sip:123@anonymous.invalid', name: 'Jane' },
    });
    await h.flush();
    expect(h.actor.getSnapshot().context.deadlines['timer.customerIdle']).toBe(first + 1_000);
    h.send({ type: 'timer.customerIdle', at: first }); // the old deadline no longer fires
    await h.flush();
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'active' } })).toBe(true);
  });

  it('nudges the agents in the meeting when a customer message goes unanswered', async () => {
    const h = harness();
    await driveToConference(h);
    h.send({
      type: 'callback.messagingUpdated',
      conversationHref: CONF,
      state: 'Connected',
      links: { sendMessage: `${CONF}/messaging/messages` },
    });
    await h.flush();
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({
      type: 'callback.messageCompleted',
      conversationHref: CONF,
      messageHref: `${CONF}/messaging/messages/9`,
      direction: 'Incoming',
      status: 'Success',
      text: 'hello?',
      sender: { uri: 'sip:123@anonymous.invalid', name: 'Jane' },
    });
    await h.flush();
    const at = h.actor.getSnapshot().context.deadlines['timer.agentReply']!;
    expect(at).toBe(h.clock.now + settings.agentReplyMs);
    h.send({ type: 'timer.agentReply', at });
    await h.flush();
    expect(
      h.calls.find((c) => (c.input as SendMessageInput).text === settings.agentNudgeText)?.input,
    ).toMatchObject({
      href: `${CONF}/messaging/messages`,
      operationId: 's1.nudge.0',
    });
  });

  it('emits relayed messages and typing for the transcript, and ignores unexpected callbacks', async () => {
    const h = harness();
    const emitted: unknown[] = [];
    h.actor.on('*', (e) => emitted.push(e));
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({
      type: 'callback.typing',
      conversationHref: CONF,
      participantHref: `${CONF}/participants/alice`,
      name: 'Alice',
      isTyping: true,
    });
    h.send({
      type: 'callback.messageCompleted',
      conversationHref: CONF,
      messageHref: `${CONF}/messaging/messages/7`,
      direction: 'Incoming',
      status: 'Success',
      text: 'Hello, how can I help?',
      sender: { name: 'Alice' },
    });
    h.send({ type: 'callback.bridgeAdded', conversationHref: P2P, bridgeHref: `${P2P}/conversationBridge` });
    await h.flush();
    expect(emitted).toContainEqual({ type: 'chat.typing', isTyping: true, from: 'Alice', leg: 'conference' });
    expect(emitted).toContainEqual({
      type: 'chat.message',
      direction: 'Incoming',
      messageHref: `${CONF}/messaging/messages/7`,
      text: 'Hello, how can I help?',
      from: 'Alice',
      leg: 'conference',
    });
    expect(emitted).toContainEqual({
      type: 'chat.ignored',
      eventType: 'callback.bridgeAdded',
      why: 'not expected in this state',
    });
    expect(h.actor.getSnapshot().matches({ agentsJoined: { customer: 'active' } })).toBe(true);
  });
});

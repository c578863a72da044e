import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { chatSessionMachine, type SendMessageInput } from './index.ts';
import { agentJoined, driveToConference, driveToWelcome, harness, input, P2P } from './testSupport.ts';

describe('chat session machine: the chat session, end to end', () => {
  it('walks the documented states in order on the happy path', async () => {
    const h = harness();
    await driveToWelcome(h);
    h.send(agentJoined());
    h.send({ type: 'callback.conversationDeleted', conversationHref: P2P });
    await h.flush();
    expect(h.states).toEqual([
      'invited',
      'adhocMeeting',
      'conferenced',
      'bridged',
      'welcomed',
      'agentsJoined',
      'closed',
      'terminated',
    ]);
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.actor.getSnapshot().context.outcome).toBe('completed');
  });

  it('gives every side effect its own operationId derived from the session', async () => {
    const h = harness();
    await driveToWelcome(h);
    expect(h.actor.getSnapshot().context.operations).toEqual([
      's1.adhocMeeting',
      's1.addMessaging',
      's1.acceptAndBridge',
      's1.welcome',
      's1.offer.0',
    ]);
  });

  it('survives a JSON round trip of its snapshot mid-wait and goes on from there', async () => {
    const h = harness();
    await driveToConference(h);
    await h.flush();
    const persisted = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));
    h.actor.stop();
    const calls: string[] = [];
    const restored = createActor(
      chatSessionMachine.provide({
        actors: {
          acceptAndBridge: fromPromise(async () => {
            calls.push('acceptAndBridge');
          }),
          sendMessage: fromPromise<{ location?: string }, SendMessageInput>(async () => {
            calls.push('sendMessage');
            return { location: `${P2P}/messaging/messages/1` };
          }),
        },
      }),
      { snapshot: persisted, input: input() },
    );
    restored.start();
    expect(restored.getSnapshot().value).toEqual({ conferenced: 'awaitingBridge' });
    restored.send({
      type: 'callback.bridgeAdded',
      conversationHref: P2P,
      bridgeHref: `${P2P}/conversationBridge`,
      bridgedParticipantsHref: `${P2P}/conversationBridge/bridgedParticipants`,
    });
    restored.send({
      type: 'callback.messagingUpdated',
      conversationHref: P2P,
      state: 'Connected',
      links: { sendMessage: `${P2P}/messaging/messages` },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(restored.getSnapshot().matches('bridged')).toBe(true);
    // Entry actions and finished invocations are not replayed: only the new step's effect runs.
    expect(calls).toEqual(['sendMessage']);
  });
});

import { describe, expect, it } from 'vitest';
import { driveToBridge, driveToWelcome, harness, MEETING_URI, welcomeDelivered } from './testSupport.ts';

describe('chat session machine: bridging (conferenced, bridged)', () => {
  it('bridges with the SIP meeting URI and the helpdesk display name, and relays the agent (filter Disabled)', async () => {
    const h = harness();
    await driveToWelcome(h);
    expect(h.calls.find((c) => c.effect === 'acceptAndBridge')?.input).toMatchObject({
      onlineMeetingUri: MEETING_URI,
      localUserDisplayName: 'Contoso Help Desk',
    });
    expect(h.calls.find((c) => c.effect === 'addBridgedParticipant')?.input).toMatchObject({
      participantUri: 'sip:alice@contoso.com',
      messageFilterState: 'Disabled',
    });
  });

  it('takes the welcome delivered before the request that sent it has answered', async () => {
    const h = harness();
    const release = h.hold('sendMessage');
    await driveToBridge(h);
    expect(h.actor.getSnapshot().value).toEqual({ bridged: 'sendingWelcome' });
    h.send(welcomeDelivered());
    await h.flush();
    expect(h.actor.getSnapshot().value).toEqual({ bridged: 'sendingWelcome' });
    release();
    await h.flush();
    expect(h.states).toContain('welcomed');
    expect(h.calls.map((c) => c.effect)).toContain('addBridgedParticipant');
  });

  it('fails when the welcome is refused before the request that sent it has answered', async () => {
    const h = harness();
    const release = h.hold('sendMessage');
    await driveToBridge(h);
    h.send(welcomeDelivered('Failure'));
    release();
    await h.flush();
    const snapshot = h.actor.getSnapshot();
    expect(h.states).not.toContain('welcomed');
    expect(snapshot.context.error).toMatchObject({ step: 'welcome', code: 'Failure' });
  });
});

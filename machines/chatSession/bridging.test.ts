import { describe, expect, it } from 'vitest';
import { driveToWelcome, harness, MEETING_URI } from './testSupport.ts';

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
});

import { describe, expect, it } from 'vitest';
import { firstResponseSeconds } from './chatTimings.ts';

const agents = [{ uri: 'sip:alice@contoso.com', name: 'Alice Agent' }];
const line = (at: string, from: string, extra: Record<string, unknown> = {}) => ({
  at: `2026-01-01T10:00:${at}Z`,
  kind: 'message',
  direction: 'Incoming',
  leg: 'conference',
  from,
  ...extra,
});

describe('firstResponseSeconds', () => {
  it("measures from the customer's first message to the first agent message after it", () => {
    const transcript = [
      line('00', 'Contoso Help Desk', { direction: 'Outgoing', leg: 'p2p' }),
      line('01', 'Alice Agent'), // the greeting, before the customer wrote
      line('05', 'Ada'),
      line('06', 'Ada', { leg: 'p2p' }),
      line('07', 'Ada', { relayed: true }),
      line('12', 'Alice Agent'),
    ];
    expect(firstResponseSeconds(transcript, agents)).toBe(7);
  });

  it('is undefined when the customer never wrote or no agent answered', () => {
    expect(firstResponseSeconds([line('01', 'Alice Agent')], agents)).toBeUndefined();
    expect(firstResponseSeconds([line('01', 'Ada')], agents)).toBeUndefined();
  });
});

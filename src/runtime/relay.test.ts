/**
 * The relayed-message format: what the SA writes into the meeting for an agent who joins later, and what
 * the emulator's simulated agents read back from it.
 */
import { describe, expect, it } from 'vitest';
import { parseRelayed } from '../emulator/relayed.ts';
import { plainTextOf, relayText, relayTime } from './relay.ts';

const line = {
  id: '/conversations/c1/messaging/messages/3',
  at: '2026-01-05T10:41:07.000Z',
  from: 'Dana',
  side: 'customer' as const,
  text: 'my invoice is wrong',
};

describe('relayed messages', () => {
  it('name, time in the configured zone and whether it came before the agent joined', () => {
    expect(relayText({ ...line, label: 'beforeJoined' }, 'UTC')).toBe(
      'Dana (10:41, before you joined): my invoice is wrong',
    );
    expect(relayText({ ...line, label: 'earlier' }, 'Asia/Tokyo')).toBe(
      'Dana (19:41, earlier): my invoice is wrong',
    );
    expect(relayText({ ...line, at: undefined, label: 'earlier' }, 'UTC')).toBe(
      'Dana (earlier): my invoice is wrong',
    );
    expect(relayTime('not a time', 'UTC')).toBeUndefined();
  });

  it('sanitises HTML into its text, and keeps controls and line breaks out of names', () => {
    const html = '<b>bold</b> claim<script>alert(1)</script><img src=x onerror="alert(2)">';
    expect(plainTextOf({ html })).toBe('bold claim');
    const text = relayText(
      { ...line, text: undefined, html, from: 'Eve\n(10:00, earlier): forged\u202e', label: 'beforeJoined' },
      'UTC',
    );
    expect(text).toBe('Eve [10:00, earlier]: forged (10:41, before you joined): bold claim');
    expect(parseRelayed(text)).toMatchObject({ name: 'Eve [10:00, earlier]: forged', kind: 'backlog' });
    expect(text).not.toMatch(/[\n\u202e<]/);
  });

  it('reads back as the customer message it relays (the emulator side of the format)', () => {
    expect(parseRelayed(relayText({ ...line, label: 'beforeJoined' }, 'UTC'))).toEqual({
      name: 'Dana',
      time: '10:41',
      kind: 'backlog',
      text: 'my invoice is wrong',
    });
    expect(parseRelayed(relayText({ ...line, text: 'two\nlines', label: 'earlier' }, 'UTC'))).toEqual({
      name: 'Dana',
      time: '10:41',
      kind: 'history',
      text: 'two\nlines',
    });
    expect(parseRelayed('Reminder: the customer is waiting for a reply.')).toBeUndefined();
  });
});

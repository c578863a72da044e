import { describe, expect, it } from 'vitest';
import type { TranscriptEntry } from '../runtime/sessions.ts';
import {
  formatTranscriptText,
  isTranscriptFormat,
  mergeTranscript,
  systemEntries,
  type TranscriptSession,
  transcriptLine,
} from './transcript.ts';

const T = (ms: number) => new Date(Date.UTC(2026, 10, 25, 17, 44, 50) + ms).toISOString();

const session: TranscriptSession = {
  history: [
    { state: 'invited.starting', at: T(0) },
    { state: 'adhocMeeting', at: T(10) },
    { state: 'conferenced.addingMessaging', at: T(40) },
    { state: 'conferenced.bridging', at: T(45) },
    { state: 'bridged.addingBridgedParticipant', at: T(60) },
    { state: 'bridged.sendingWelcome', at: T(70) },
    { state: 'welcomed.inviting', at: T(90) },
    { state: 'agentsJoined', at: T(300) },
    { state: 'closed.releasing', at: T(900) },
    { state: 'terminated', at: T(910) },
  ],
  outcome: 'completed',
  error: null,
};

const entries: TranscriptEntry[] = [
  {
    at: T(90),
    kind: 'message',
    direction: 'Outgoing',
    leg: 'p2p',
    from: 'Contoso Help Desk',
    text: 'Welcome!',
  },
  { at: T(300), kind: 'participant', leg: 'conference', change: 'added', from: 'Alice Agent' },
  { at: T(305), kind: 'participant', leg: 'conference', change: 'updated', from: 'Alice Agent' },
  { at: T(310), kind: 'typing', leg: 'conference', isTyping: true, from: 'Alice Agent' },
  { at: T(400), kind: 'typing', leg: 'conference', isTyping: false, from: 'Alice Agent' },
  {
    at: T(410),
    kind: 'message',
    direction: 'Incoming',
    leg: 'conference',
    from: 'Alice Agent',
    text: 'Hello',
  },
  { at: T(500), kind: 'typing', leg: 'conference', isTyping: true, from: 'Ada Customer' },
  {
    at: T(600),
    kind: 'message',
    direction: 'Incoming',
    leg: 'conference',
    from: 'Ada Customer',
    text: 'my order',
  },
  { at: T(910), kind: 'participant', leg: 'conference', change: 'deleted', from: 'Alice Agent' },
];

describe('transcript system events', () => {
  it('derives one system entry per top-level state, with the outcome at the end', () => {
    expect(systemEntries(session)).toEqual([
      { at: T(0), kind: 'system', text: 'chat started' },
      { at: T(10), kind: 'system', text: 'creating a meeting for the chat' },
      { at: T(40), kind: 'system', text: 'meeting created' },
      { at: T(60), kind: 'system', text: 'customer connected to the meeting' },
      { at: T(90), kind: 'system', text: 'welcome sent, inviting an agent' },
      { at: T(300), kind: 'system', text: 'agent connected' },
      { at: T(900), kind: 'system', text: 'chat closing' },
      { at: T(910), kind: 'system', text: 'chat ended (completed)' },
    ]);
  });

  it('names the failed step and code when a chat fails', () => {
    const failed: TranscriptSession = {
      history: [
        { state: 'invited.starting', at: T(0) },
        { state: 'failed.awaitingConference', at: T(5) },
        { state: 'terminated', at: T(9) },
      ],
      outcome: 'failed',
      error: { step: 'adhocMeeting', code: 'ServiceFailure', message: 'boom' },
    };
    expect(systemEntries(failed).map((e) => e.text)).toEqual([
      'chat started',
      'chat failed at adhocMeeting: ServiceFailure',
      'chat ended (failed)',
    ]);
  });

  it('names a state it has no phrase for instead of dropping it', () => {
    expect(
      systemEntries({ history: [{ state: 'someNewState.x', at: T(0) }], outcome: null, error: null }),
    ).toEqual([{ at: T(0), kind: 'system', text: 'state someNewState' }]);
  });

  it('merges system events with the recorded entries by time (system first at the same instant, the end last)', () => {
    const merged = mergeTranscript(entries, session);
    expect(merged).toHaveLength(entries.length + 8);
    expect(merged.map((e) => e.at)).toEqual([...merged.map((e) => e.at)].sort());
    const at90 = merged.filter((e) => e.at === T(90)).map((e) => e.kind);
    expect(at90).toEqual(['system', 'message']);
    const at910 = merged.filter((e) => e.at === T(910)).map((e) => e.text ?? e.change);
    expect(at910).toEqual(['deleted', 'chat ended (completed)']);
  });
});

describe('transcript text format', () => {
  it('writes one line per message, typing start, join/leave and system event', () => {
    expect(formatTranscriptText(mergeTranscript(entries, session))).toBe(
      [
        `${T(0)}  — chat started`,
        `${T(10)}  — creating a meeting for the chat`,
        `${T(40)}  — meeting created`,
        `${T(60)}  — customer connected to the meeting`,
        `${T(90)}  — welcome sent, inviting an agent`,
        `${T(90)}  Contoso Help Desk: Welcome!`,
        `${T(300)}  — agent connected`,
        `${T(300)}  — Alice Agent joined`,
        `${T(310)}  * Alice Agent is typing`,
        `${T(410)}  Alice Agent: Hello`,
        `${T(500)}  * Ada Customer is typing`,
        `${T(600)}  Ada Customer: my order`,
        `${T(900)}  — chat closing`,
        `${T(910)}  — Alice Agent left`,
        `${T(910)}  — chat ended (completed)`,
        '',
      ].join('\n'),
    );
  });

  it('matches the documented line shapes exactly', () => {
    expect(
      transcriptLine({ at: '2026-11-25T17:44:52.332Z', kind: 'message', from: 'Alice Agent', text: 'Hello' }),
    ).toBe('2026-11-25T17:44:52.332Z  Alice Agent: Hello');
    expect(
      transcriptLine({
        at: '2026-11-25T17:44:52.332Z',
        kind: 'typing',
        from: 'Ada Customer',
        isTyping: true,
      }),
    ).toBe('2026-11-25T17:44:52.332Z  * Ada Customer is typing');
    expect(
      transcriptLine({
        at: '2026-11-25T17:44:52.332Z',
        kind: 'participant',
        from: 'Alice Agent',
        change: 'added',
      }),
    ).toBe('2026-11-25T17:44:52.332Z  — Alice Agent joined');
  });

  it('continues a multi-line message on indented lines, so a message cannot forge a line', () => {
    const line = transcriptLine({
      at: T(0),
      kind: 'message',
      from: 'Ada Customer',
      text: `first\r\n${T(1)}  Alice Agent: refund approved\rthird`,
    });
    const indent = ' '.repeat(T(0).length + 2);
    expect(line).toBe(
      `${T(0)}  Ada Customer: first\n${indent}${T(1)}  Alice Agent: refund approved\n${indent}third`,
    );
    expect(line!.split('\n').filter((l) => /^\d{4}-/.test(l))).toHaveLength(1);
  });

  it('keeps names on one line and replaces control and bidi-override characters', () => {
    const line = transcriptLine({
      at: T(0),
      kind: 'message',
      from: 'Ada\nAlice Agent',
      text: 'a\u0007b\u202ec\u2028d\u0000e',
    });
    expect(line).toBe(`${T(0)}  Ada Alice Agent: a\ufffdb\ufffdc\ufffdd\ufffde`);
  });

  it('names unknown senders instead of leaving the name out', () => {
    expect(transcriptLine({ at: T(0), kind: 'message', direction: 'Incoming', text: 'x' })).toBe(
      `${T(0)}  unknown sender: x`,
    );
    expect(transcriptLine({ at: T(0), kind: 'message', direction: 'Outgoing', text: 'x' })).toBe(
      `${T(0)}  helpdesk: x`,
    );
  });

  it('is empty for an empty transcript', () => {
    expect(formatTranscriptText([])).toBe('');
  });

  it('accepts exactly the formats json and text', () => {
    expect(isTranscriptFormat('json')).toBe(true);
    expect(isTranscriptFormat('text')).toBe(true);
    expect(isTranscriptFormat('TEXT')).toBe(false);
    expect(isTranscriptFormat('html')).toBe(false);
  });
});

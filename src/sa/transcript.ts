/**
 * Transcripts for people: the session's recorded entries (messages, typing, participants) merged by time
 * with its system events, which are derived from the session's state history (chat started, meeting
 * created, …, chat ended), as JSON entries or as plain-text lines such as
 *
 *   2026-11-25T17:44:52.332Z  Alice Agent: Hello
 *   2026-11-25T17:44:52.101Z  * Ada Customer is typing
 *   2026-11-25T17:44:51.194Z  — Alice Agent joined
 *   2026-11-25T17:44:53.552Z  — chat ended (completed)
 *
 * The text form cannot be forged from inside a message: line breaks in a message continue it on indented
 * lines, names lose theirs, and control and bidirectional-override characters are replaced.
 */
import type { SessionView, TranscriptEntry } from '../runtime/sessions.ts';

export const TRANSCRIPT_FORMATS = ['json', 'text'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

export function isTranscriptFormat(value: string): value is TranscriptFormat {
  return (TRANSCRIPT_FORMATS as readonly string[]).includes(value);
}

/** What the system lines are derived from (a SessionView has all of it). */
export type TranscriptSession = Pick<SessionView, 'history' | 'outcome' | 'error'>;

/** What each top-level state means to someone reading the transcript. */
const STATE_PHRASES: Record<string, string> = {
  invited: 'chat started',
  adhocMeeting: 'creating a meeting for the chat',
  conferenced: 'meeting created',
  bridged: 'customer connected to the meeting',
  welcomed: 'welcome sent, inviting an agent',
  agentsJoined: 'agent connected',
  closed: 'chat closing',
  abandoned: 'customer left before an agent joined',
  failed: 'chat failed',
  terminated: 'chat ended',
};

/**
 * One `kind: 'system'` entry per top-level state the session entered, in order:
 * `chat started`, …, `chat failed at <step>: <code>`, `chat ended (<outcome>)`.
 */
export function systemEntries(session: TranscriptSession): TranscriptEntry[] {
  return systemEvents(session).map(({ entry }) => entry);
}

function systemEvents(session: TranscriptSession): Array<{ entry: TranscriptEntry; final: boolean }> {
  const events: Array<{ entry: TranscriptEntry; final: boolean }> = [];
  let previous: string | undefined;
  for (const { state, at } of session.history) {
    const top = state.split('.')[0] ?? state;
    if (top === previous) continue;
    previous = top;
    let text = STATE_PHRASES[top] ?? `state ${top}`;
    if (top === 'failed' && session.error) text += ` at ${session.error.step}: ${session.error.code}`;
    if (top === 'terminated' && session.outcome) text += ` (${session.outcome})`;
    events.push({ entry: { at, kind: 'system', text }, final: top === 'terminated' });
  }
  return events;
}

/**
 * The recorded entries and the system entries merged by timestamp. At the same millisecond a system
 * event comes before what was recorded, except the end of the chat, which comes after.
 */
export function mergeTranscript(entries: TranscriptEntry[], session: TranscriptSession): TranscriptEntry[] {
  const tagged = [
    ...entries.map((entry, index) => ({ entry, index, rank: 1 })),
    ...systemEvents(session).map(({ entry, final }, index) => ({ entry, index, rank: final ? 2 : 0 })),
  ];
  tagged.sort((a, b) => compareTimes(a.entry.at, b.entry.at) || a.rank - b.rank || a.index - b.index);
  return tagged.map(({ entry }) => entry);
}

function compareTimes(a: string, b: string): number {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(ta) || Number.isNaN(tb)) return a < b ? -1 : a > b ? 1 : 0;
  return ta - tb;
}

/** The text rendition: one line per entry (typing stopped and participant updates are left out). */
export function formatTranscriptText(entries: TranscriptEntry[]): string {
  const lines = entries.map(transcriptLine).filter((line): line is string => line !== undefined);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** One entry as a line of text, or undefined for entries the text form leaves out. */
export function transcriptLine(entry: TranscriptEntry): string | undefined {
  const at = singleLine(entry.at);
  const who = entry.from ? singleLine(entry.from) : undefined;
  switch (entry.kind) {
    case 'message': {
      const author = who ?? (entry.direction === 'Outgoing' ? 'helpdesk' : 'unknown sender');
      // Relayed into the meeting for the agents (what they missed): the customer never saw it.
      const name = entry.relayed ? `${author} (relayed to the agents)` : author;
      const indent = ' '.repeat(at.length + 2);
      const body = cleanText(entry.text ?? '').replace(/\n/g, `\n${indent}`);
      return `${at}  ${name}: ${body}`;
    }
    case 'typing':
      return entry.isTyping ? `${at}  * ${who ?? 'someone'} is typing` : undefined;
    case 'participant':
      if (entry.change === 'added') return `${at}  — ${who ?? 'someone'} joined`;
      if (entry.change === 'deleted') return `${at}  — ${who ?? 'someone'} left`;
      return undefined;
    case 'system':
      return `${at}  — ${singleLine(entry.text ?? '')}`;
    default:
      return undefined;
  }
}

/**
 * Characters that could make a transcript line lie about itself: C0/C1 controls (other than line feed
 * and tab), Unicode line and paragraph separators, and bidirectional overrides and isolates.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function cleanText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(UNSAFE, '\ufffd');
}

function singleLine(text: string): string {
  return cleanText(text)
    .replace(/[\n\t]+/g, ' ')
    .trim();
}

/**
 * How a kept message reads when it is relayed into the meeting for an agent who joins later:
 *
 *   Dana (10:41, before you joined): my invoice is wrong
 *   Alice Agent (10:43, earlier): Let me check that for you.
 *
 * one message per line, with the author's name, the time it was written (hours and minutes in the SA's
 * time zone) and whether it is a customer message no agent has seen yet (`before you joined`) or part of
 * the chat's history (`earlier`). HTML is sanitised into its plain text like every stored message; names
 * and text lose the characters that could make a line lie about itself (line breaks and parentheses in a
 * name, controls, bidirectional overrides).
 */
import type { ChatLine } from '../../machines/effects.ts';
import { sanitizeHtml } from '../text/sanitize.ts';

export const RELAY_LABELS = { beforeJoined: 'before you joined', earlier: 'earlier' } as const;

export type RelayLabel = keyof typeof RELAY_LABELS;

/** The most characters of one relayed message's text (the platform's messages are short anyway). */
const MAX_TEXT = 8_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `10:41` in `timeZone` (24-hour clock), or undefined when the time is missing or unreadable. */
export function relayTime(at: string | undefined, timeZone: string): string | undefined {
  if (!at) return undefined;
  const ms = Date.parse(at);
  if (Number.isNaN(ms)) return undefined;
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(ms));
}

/** The plain text of a kept message: text as written, HTML sanitised into its text rendition. */
export function plainTextOf(line: Pick<ChatLine, 'text' | 'html'>): string {
  const text = line.text ?? (line.html !== undefined ? sanitizeHtml(line.html).text : '');
  const clean = text.replace(/\r\n?/g, '\n').replace(UNSAFE, '\ufffd');
  return clean.length > MAX_TEXT ? `${clean.slice(0, MAX_TEXT)}…` : clean;
}

/**
 * A display name as a relayed line shows it: on one line, without controls, and with its parentheses
 * turned into brackets, so that no name can pass for the `(hh:mm, label)` part of a line.
 */
export function relayName(name: string): string {
  return name
    .replace(UNSAFE, '')
    .replace(/[\n\t]+/g, ' ')
    .replace(/\(/g, '[')
    .replace(/\)/g, ']')
    .trim();
}

/** One relayed message: `Name (hh:mm, label): text`. */
export function relayText(line: ChatLine & { label: RelayLabel }, timeZone: string): string {
  const name = relayName(line.from) || (line.side === 'customer' ? 'Customer' : 'Agent');
  const time = relayTime(line.at, timeZone);
  const label = RELAY_LABELS[line.label];
  return `${name} (${time ? `${time}, ` : ''}${label}): ${plainTextOf(line)}`;
}

/**
 * Messages a service application relays into a meeting for an agent who joins later, as carechat's SA
 * writes them (one message per line):
 *
 *   Dana (10:41, before you joined): my invoice is wrong      ← a customer message no agent saw yet
 *   Alice Agent (10:43, earlier): Let me check that for you.  ← the chat's history
 *
 * The simulated agents read such a message like the person in a real Skype client would: as the named
 * customer's message. Only this module knows the format on the emulator's side.
 */

export interface RelayedMessage {
  /** The author's display name. */
  name: string;
  /** `hh:mm`, when the line carries one. */
  time?: string;
  /** `backlog`: written before the reader joined, unanswered; `history`: what was said earlier. */
  kind: 'backlog' | 'history';
  text: string;
}

const RELAYED = /^([^\n]+?) \((?:(\d{1,2}:\d{2}), )?(before you joined|earlier)\): ([\s\S]*)$/;

/** A display name as relayed lines show it (parentheses become brackets, so no name looks like a time). */
export function relayedName(name: string): string {
  return name
    .replace(/[\n\t]+/g, ' ')
    .replace(/\(/g, '[')
    .replace(/\)/g, ']')
    .trim();
}

/** The relayed message a text is, or undefined when it is not one. */
export function parseRelayed(text: string): RelayedMessage | undefined {
  const match = RELAYED.exec(text);
  if (!match) return undefined;
  const [, name, time, label, body] = match;
  return {
    name: name!,
    ...(time ? { time } : {}),
    kind: label === 'before you joined' ? 'backlog' : 'history',
    text: body!,
  };
}

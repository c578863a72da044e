/**
 * What a session emits (`chat.message`, `chat.typing`, `chat.participant`, …) turned into transcript
 * entries: duplicates dropped, HTML kept only sanitised, participants tracked.
 */
import type pino from 'pino';
import type { ChatSessionEmitted } from '../../machines/chatSession/index.ts';
import { sanitizeHtml } from '../text/sanitize.ts';
import { hrefKey } from '../wire/href.ts';
import type { TranscriptEntry } from './records.ts';
import type { Participant } from './view.ts';

/** The part of a session's record the transcript is kept in. */
export interface TranscriptHolder {
  transcript: TranscriptEntry[];
  participants: Map<string, Participant>;
  /** Message hrefs already in the transcript (duplicated callbacks). */
  seenMessages: Set<string>;
  log: pino.Logger;
}

/**
 * Adds what `emitted` means to the transcript; returns the new entry with its key (unique in the session:
 * `m:<message href>` for messages the platform named, `n:<index>` otherwise), or undefined when nothing was
 * added.
 */
export function transcribe(
  holder: TranscriptHolder,
  emitted: ChatSessionEmitted,
  at: string,
): { key: string; entry: TranscriptEntry } | undefined {
  const add = (entry: TranscriptEntry, key = `n:${holder.transcript.length}`) => {
    holder.transcript.push(entry);
    return { key, entry };
  };
  switch (emitted.type) {
    case 'chat.message': {
      // Duplicated callbacks must not duplicate the transcript; our own messages' delivery reports carry
      // no text (the text was recorded when it was sent).
      if (emitted.direction === 'Outgoing' && emitted.text === undefined && emitted.html === undefined)
        return undefined;
      let key: string | undefined;
      if (emitted.messageHref) {
        key = `m:${hrefKey(emitted.messageHref)}`;
        if (holder.seenMessages.has(key)) return undefined;
        holder.seenMessages.add(key);
      }
      // HTML is stored only sanitised (allowlisted tags, escaped text) with a plain-text rendition;
      // plain text is kept as sent (it is text: whoever shows it escapes it).
      const safe = emitted.html !== undefined ? sanitizeHtml(emitted.html) : undefined;
      const text = emitted.text ?? safe?.text;
      holder.log.info(
        { leg: emitted.leg, direction: emitted.direction, relayed: emitted.relayed ?? false },
        'message',
      );
      holder.log.debug({ text }, 'message body');
      return add(
        {
          at,
          kind: 'message',
          direction: emitted.direction,
          leg: emitted.leg,
          ...(emitted.from ? { from: emitted.from } : {}),
          ...(text !== undefined ? { text } : {}),
          ...(safe ? { html: safe.html } : {}),
          ...(emitted.relayed ? { relayed: true as const } : {}),
        },
        key,
      );
    }
    case 'chat.typing':
      return add({
        at,
        kind: 'typing',
        leg: emitted.leg,
        isTyping: emitted.isTyping,
        ...(emitted.from ? { from: emitted.from } : {}),
      });
    case 'chat.participant': {
      const key = (emitted.uri ?? emitted.name ?? '?').toLowerCase();
      const known = holder.participants.get(key);
      if (known && known.present === (emitted.change !== 'deleted') && emitted.change !== 'updated')
        return undefined;
      holder.participants.set(key, {
        ...(emitted.uri ? { uri: emitted.uri } : {}),
        ...(emitted.name ? { name: emitted.name } : {}),
        leg: emitted.leg,
        present: emitted.change !== 'deleted',
      });
      return add({
        at,
        kind: 'participant',
        leg: emitted.leg,
        change: emitted.change,
        ...(emitted.name ? { from: emitted.name } : {}),
      });
    }
    case 'chat.ignored':
      holder.log.debug({ event: emitted.eventType, why: emitted.why }, 'callback event ignored');
      return undefined;
    case 'chat.relayFailed':
      holder.log.warn(
        { lines: emitted.lines, error: emitted.error },
        'messages for the joining agent could not be relayed (they stay in the transcript)',
      );
      return undefined;
    default:
      return undefined;
  }
}

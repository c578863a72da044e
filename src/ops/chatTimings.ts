/**
 * Chat timings from the runtime's chat events: wait (welcome → first agent joined), handle (first agent
 * joined → end) and first response (the customer's first message → the first agent message after it,
 * read from the transcript and agents `chat.ended` carries). Plain structural types, so this module needs nothing
 * from the runtime.
 */
import type { Metrics } from './metrics.ts';

interface TranscriptLine {
  at: string;
  kind: string;
  direction?: string;
  leg?: string;
  from?: string;
  relayed?: true;
}

/** The chat events this reads (a subset of the runtime's `ChatEvent`). */
export type TimedChatEvent =
  | { type: 'chat.started'; timestamp: string; data: { sessionId: string } }
  | { type: 'chat.assigned'; timestamp: string; data: { sessionId: string } }
  | {
      type: 'chat.ended';
      timestamp: string;
      data: {
        sessionId: string;
        outcome: string | null;
        endedAt: string;
        agents: Array<{ uri: string; name: string }>;
        transcript: TranscriptLine[];
      };
    }
  | { type: string; timestamp: string; data: unknown };

export interface ChatTimingOptions {
  /** When the session's customer was welcomed (epoch ms), if it was. */
  welcomedAt(sessionId: string): number | undefined;
}

/** Observes chat events into the metrics; returns the handler to subscribe to every chat event. */
export function chatTimings(metrics: Metrics, opts: ChatTimingOptions): (event: TimedChatEvent) => void {
  /** When each open chat's first agent joined. */
  const joined = new Map<string, number>();
  return (event) => {
    switch (event.type) {
      case 'chat.started':
        metrics.chatsStarted.inc();
        break;
      case 'chat.assigned': {
        const { sessionId } = (event as Extract<TimedChatEvent, { type: 'chat.assigned' }>).data;
        if (joined.has(sessionId)) break;
        const at = Date.parse(event.timestamp);
        joined.set(sessionId, at);
        const welcomed = opts.welcomedAt(sessionId);
        if (welcomed !== undefined) metrics.chatWait.observe(Math.max(0, (at - welcomed) / 1000));
        break;
      }
      case 'chat.ended': {
        const { data } = event as Extract<TimedChatEvent, { type: 'chat.ended' }>;
        metrics.chatsEnded.inc({ outcome: data.outcome ?? 'none' });
        const start = joined.get(data.sessionId);
        joined.delete(data.sessionId);
        if (start !== undefined) {
          metrics.chatHandle.observe(Math.max(0, (Date.parse(data.endedAt) - start) / 1000));
        }
        const response = firstResponseSeconds(data.transcript, data.agents);
        if (response !== undefined) metrics.firstResponse.observe(response);
        break;
      }
    }
  };
}

/**
 * Seconds from the customer's first message to the first message of an agent after it; undefined when
 * either is missing. Both are incoming messages the SA did not relay itself; the agents' are those from
 * an agent who joined (by name or URI), every other one is the customer's (on either leg: the bridge shows
 * the customer's messages in the meeting too).
 */
export function firstResponseSeconds(
  transcript: readonly TranscriptLine[],
  agents: ReadonlyArray<{ uri: string; name: string }>,
): number | undefined {
  const agentIds = new Set(agents.flatMap((a) => [a.uri.toLowerCase(), a.name.toLowerCase()]));
  const byAgent = (line: TranscriptLine) => !!line.from && agentIds.has(line.from.toLowerCase());
  const messages = transcript.filter(
    (line) => line.kind === 'message' && line.direction === 'Incoming' && !line.relayed,
  );
  const asked = messages.find((line) => !byAgent(line));
  if (!asked) return undefined;
  const from = Date.parse(asked.at);
  const answer = messages.find((line) => byAgent(line) && Date.parse(line.at) >= from);
  return answer ? (Date.parse(answer.at) - from) / 1000 : undefined;
}

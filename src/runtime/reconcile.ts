/**
 * Reconciliation after a restart: what ended on the platform while the SA was down (the customer left, the
 * meeting was deleted, an agent left) and whose callbacks never made it (the platform gave up retrying)
 * is learnt by asking the platform, and applied to the resumed session as the callbacks it would have had.
 * A callback that does arrive later as well finds the session past it (a duplicate ends nowhere).
 */
import type pino from 'pino';
import type { ChatSessionContext } from '../../machines/chatSession/index.ts';
import type { CallbackEvent } from '../../machines/events.ts';
import type { PlatformClient } from '../api/client.ts';

/** What a session holds on the platform: the customer's conversation, the meeting, the agents in it. */
export interface PlatformHoldings {
  p2p?: string;
  conference?: string;
  agents: Array<{ uri: string; name?: string; participantHref: string }>;
}

export function holdingsOf(context: ChatSessionContext): PlatformHoldings {
  const { p2p, conference, joinedAgents } = context;
  return {
    ...(p2p.conversationHref && !p2p.gone ? { p2p: p2p.conversationHref } : {}),
    ...(conference.conversationHref && !conference.gone ? { conference: conference.conversationHref } : {}),
    agents: joinedAgents.map(({ uri, name, participantHref }) => ({ uri, name, participantHref })),
  };
}

export interface ReconcileOptions {
  /** The session registry (SessionManager). */
  sessions: {
    holdings(sessionId: string): Promise<PlatformHoldings | undefined>;
    applyMissed(sessionId: string, events: CallbackEvent[]): Promise<void>;
  };
  client: Pick<PlatformClient, 'conversationNow'>;
  logger: pino.Logger;
  /** Sessions checked at once (each check is one or two GETs per conversation). */
  concurrency?: number;
}

/** Checks each resumed session against the platform; resolves with how many had missed something. */
export async function reconcile(sessionIds: string[], opts: ReconcileOptions): Promise<number> {
  const queue = [...sessionIds];
  let changed = 0;
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const log = opts.logger.child({ sessionId: id });
      try {
        const missed = await missedEvents(id, opts);
        if (missed.length === 0) continue;
        changed += 1;
        await opts.sessions.applyMissed(id, missed);
      } catch (error) {
        // Not fatal: the platform's own callback retries still reach the session.
        log.warn({ error: error instanceof Error ? error.message : String(error) }, 'not reconciled');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  return changed;
}

async function missedEvents(sessionId: string, opts: ReconcileOptions): Promise<CallbackEvent[]> {
  const holdings = await opts.sessions.holdings(sessionId);
  if (!holdings) return [];
  const missed: CallbackEvent[] = [];
  if (holdings.p2p) {
    const now = await opts.client.conversationNow(holdings.p2p);
    if (now.gone) missed.push({ type: 'callback.conversationDeleted', conversationHref: holdings.p2p });
  }
  if (holdings.conference) {
    const now = await opts.client.conversationNow(holdings.conference);
    if (now.gone) {
      missed.push({ type: 'callback.conversationDeleted', conversationHref: holdings.conference });
    } else {
      const present = new Set(now.participants.map((uri) => uri.toLowerCase()));
      // An agent who joined is a participant of the meeting until they leave.
      for (const agent of holdings.agents) {
        if (present.has(agent.uri.toLowerCase())) continue;
        missed.push({
          type: 'callback.participantDeleted',
          conversationHref: holdings.conference,
          participantHref: agent.participantHref,
          uri: agent.uri,
          ...(agent.name ? { name: agent.name } : {}),
          links: {},
        });
      }
    }
  }
  return missed;
}

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CallbackEvent } from '../../machines/events.ts';
import { type PlatformHoldings, reconcile } from './reconcile.ts';

const P2P = 'https://pool.example/conversations/p2p-1';
const CONF = 'https://pool.example/conversations/conf-1';
const alice = { uri: 'sip:alice@contoso.com', name: 'Alice', participantHref: `${CONF}/participants/alice` };
const bob = { uri: 'sip:bob@contoso.com', name: 'Bob', participantHref: `${CONF}/participants/bob` };

function fixture(
  holdings: Record<string, PlatformHoldings | undefined>,
  platform: Record<string, { gone: true } | { gone: false; participants: string[] } | Error>,
) {
  const applied = new Map<string, CallbackEvent[]>();
  const asked: string[] = [];
  const opts = {
    sessions: {
      holdings: async (id: string) => holdings[id],
      applyMissed: async (id: string, events: CallbackEvent[]) => {
        applied.set(id, events);
      },
    },
    client: {
      conversationNow: async (href: string) => {
        asked.push(href);
        const now = platform[href];
        if (!now || now instanceof Error) throw now ?? new Error(`unknown ${href}`);
        return now;
      },
    },
    logger: pino({ level: 'silent' }),
  };
  return { applied, asked, opts };
}

describe('reconcile', () => {
  it('applies a customer conversation the platform no longer has as its conversationDeleted', async () => {
    const { applied, opts } = fixture(
      { s1: { p2p: P2P, conference: CONF, agents: [alice] } },
      {
        [P2P]: { gone: true },
        [CONF]: { gone: false, participants: [alice.uri, 'sip:helpdesk@contoso.com'] },
      },
    );
    expect(await reconcile(['s1'], opts)).toBe(1);
    expect(applied.get('s1')).toEqual([{ type: 'callback.conversationDeleted', conversationHref: P2P }]);
  });

  it('applies an agent missing from the meeting as their participantDeleted, case-insensitively', async () => {
    const { applied, opts } = fixture(
      { s1: { p2p: P2P, conference: CONF, agents: [alice, bob] } },
      {
        [P2P]: { gone: false, participants: [] },
        [CONF]: { gone: false, participants: ['SIP:Alice@contoso.com'] },
      },
    );
    await reconcile(['s1'], opts);
    expect(applied.get('s1')).toEqual([
      {
        type: 'callback.participantDeleted',
        conversationHref: CONF,
        participantHref: bob.participantHref,
        uri: bob.uri,
        name: 'Bob',
        links: {},
      },
    ]);
  });

  it('applies a deleted meeting, and leaves alone a session that missed nothing or has nothing yet', async () => {
    const { applied, asked, opts } = fixture(
      {
        s1: { p2p: P2P, conference: CONF, agents: [alice] },
        s2: { p2p: `${P2P}b`, agents: [] },
        s3: undefined,
      },
      {
        [P2P]: { gone: false, participants: [] },
        [CONF]: { gone: true },
        [`${P2P}b`]: { gone: false, participants: [] },
      },
    );
    expect(await reconcile(['s1', 's2', 's3'], opts)).toBe(1);
    expect(applied.get('s1')).toEqual([{ type: 'callback.conversationDeleted', conversationHref: CONF }]);
    expect(applied.has('s2')).toBe(false);
    expect(asked.sort()).toEqual([CONF, P2P, `${P2P}b`].sort());
  });

  it('goes on with the other sessions when the platform cannot be asked about one', async () => {
    const { applied, opts } = fixture(
      { s1: { p2p: P2P, agents: [] }, s2: { p2p: `${P2P}b`, agents: [] } },
      { [P2P]: new Error('503'), [`${P2P}b`]: { gone: true } },
    );
    expect(await reconcile(['s1', 's2'], opts)).toBe(1);
    expect([...applied.keys()]).toEqual(['s2']);
  });
});

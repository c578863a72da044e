/**
 * A chat whose lease another instance took over leaves this instance's routing: its agent's place here is
 * free again (the shared pool is the new owner's and is not touched), and a chat queued here gets it.
 */
import { expect, it } from 'vitest';
import type { RoutingEvent } from '../../machines/chatSession/types.ts';
import { systemClock } from './clock.ts';
import { silentLogger } from './logger.ts';
import { type AgentGate, Router } from './router.ts';

const ALICE = { uri: 'sip:alice@contoso.com', name: 'Alice Agent' };
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
};

function setup(gate?: AgentGate) {
  const sent: Array<{ sessionId: string; event: RoutingEvent }> = [];
  const router = new Router({
    roster: [{ ...ALICE, capacity: 1 }],
    strategy: 'longest-idle',
    capacity: 1,
    maxMissedInRow: 3,
    avgHandleMs: 300_000,
    skillsFallback: true,
    clock: systemClock,
    logger: silentLogger,
    send: (sessionId, event) => sent.push({ sessionId, event }),
    ...(gate ? { gate } : {}),
  });
  return { router, sent };
}

it.each([
  ['one instance', false],
  ['several instances (shared pool)', true],
])('a chat moved to another instance frees its agent here for a queued chat (%s)', async (_name, shared) => {
  const calls: string[] = [];
  const gate: AgentGate = {
    reserve: async (uri, sessionId) => {
      calls.push(`reserve ${uri} ${sessionId}`);
      return 'reserved';
    },
    confirm: async (uri, sessionId) => calls.push(`confirm ${uri} ${sessionId}`),
    release: async (uri, sessionId) => calls.push(`release ${uri} ${sessionId}`),
  };
  const { router, sent } = setup(shared ? gate : undefined);
  // Alice's one place is taken by a chat this instance resumed.
  router.restore('moved', { joined: [ALICE] });
  expect(router.agents()[0]).toMatchObject({ uri: ALICE.uri, load: 1 });
  router.request('queued', { exclude: [] });
  await flush();
  expect(sent.map((s) => `${s.sessionId} ${s.event.type}`)).toEqual(['queued queue.update']);

  router.sessionMoved('moved');
  await flush();
  expect(sent.map((s) => `${s.sessionId} ${s.event.type}`)).toEqual([
    'queued queue.update',
    'queued agent.assigned',
  ]);
  expect(router.queued()).toEqual([]);
  expect(router.agents()[0]).toMatchObject({ load: 1 });
  // The moved chat's place in the shared pool is the new owner's: not released from here.
  expect(calls).toEqual(shared ? [`reserve ${ALICE.uri} queued`] : []);
});

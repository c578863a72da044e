/**
 * A message the platform delivers after its chat ended and left memory (a callback retried across a
 * restart, or reaching another instance) still reaches the chat's transcript, once; one for a chat still
 * going elsewhere is left to that chat's owner (its inbox).
 */
import { afterEach, expect, it } from 'vitest';
import type { CallbackEvent } from '../../machines/events.ts';
import { instantClient, WIRE } from '../bench/machine.ts';
import { openStore, type SessionWrite, type Store } from '../store/index.ts';
import { systemClock } from './clock.ts';
import { provideChatSession } from './effects.ts';
import { silentLogger } from './logger.ts';
import { SessionPersistence } from './persistence.ts';
import { Router } from './router.ts';
import { SessionManager } from './sessions.ts';

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

function manager(opened: Store): SessionManager {
  let sessions: SessionManager | undefined;
  const router = new Router({
    roster: [{ uri: 'sip:alice@contoso.com', name: 'Alice Agent', capacity: 2 }],
    strategy: 'longest-idle',
    capacity: 2,
    maxMissedInRow: 3,
    avgHandleMs: 300_000,
    skillsFallback: true,
    clock: systemClock,
    logger: silentLogger,
    send: (sessionId, event) => queueMicrotask(() => sessions?.deliver(sessionId, event)),
  });
  sessions = new SessionManager({
    logic: provideChatSession({ client: instantClient(), clock: systemClock, logger: silentLogger }),
    clock: systemClock,
    logger: silentLogger,
    settings: {} as never,
    router,
    isOpen: () => true,
  });
  sessions.attach(new SessionPersistence({ store: opened, owner: 'here', logger: silentLogger }));
  return sessions;
}

const snapshot = (status: 'active' | 'done') =>
  ({ status, value: status === 'done' ? 'terminated' : 'agentsJoined', context: {} }) as never;
const write = (status: 'active' | 'done'): SessionWrite => ({
  machineId: 'chatSession',
  machineVersion: 1,
  snapshot: snapshot(status),
  deadlines: {},
  ...(status === 'done' ? { outcome: 'completed' } : {}),
});

function message(n: number, text: string): CallbackEvent {
  return {
    type: 'callback.messageCompleted',
    conversationHref: '/ucwa/v1/applications/1/communication/conversations/meeting',
    messageHref: `/ucwa/v1/applications/1/communication/conversations/meeting/messaging/messages/${n}`,
    direction: 'Incoming',
    status: 'Success',
    text,
    sender: { name: 'Jane Customer' },
  } as CallbackEvent;
}

it('keeps a late message of an ended chat in its transcript once, and leaves a live chat to its owner', async () => {
  store = await openStore({ dataDir: ':memory:' });
  const endedId = 'c00000000000000e1';
  const liveId = 'c00000000000000a1';
  const ended = await store.sessions.create('elsewhere', endedId, write('active'));
  await store.sessions.save(ended!, write('done'));
  await store.leases.release(ended!);
  await store.sessions.create('elsewhere', liveId, write('active'));

  const sessions = manager(store);
  const late = message(7, 'one more thing');
  await sessions.dispatch([{ event: late, wire: WIRE }], { callbackContext: endedId });
  // The platform retries it: still one line.
  await sessions.dispatch([{ event: late, wire: WIRE }], { callbackContext: endedId });
  const lines = await store.transcripts.read(endedId);
  expect(lines.map((line) => line.entry)).toEqual([
    expect.objectContaining({
      kind: 'message',
      direction: 'Incoming',
      leg: 'conference',
      from: 'Jane Customer',
      text: 'one more thing',
    }),
  ]);

  await sessions.dispatch([{ event: message(8, 'still here'), wire: WIRE }], { callbackContext: liveId });
  expect(await store.transcripts.read(liveId)).toEqual([]);
  const owned = await store.leases.renew('elsewhere');
  const liveLease = owned.find((lease) => lease.sessionId === liveId);
  expect(liveLease).toBeDefined();
  expect(await store.inbox.pending(liveLease!)).toEqual([
    expect.objectContaining({ payload: { event: expect.objectContaining({ text: 'still here' }) } }),
  ]);
}, 60_000);

/**
 * Who gets a chat, and the assignment record that explains it (GET /sessions/:id),
 * over real HTTP: customer ⇄ emulator ⇄ SA.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningStack } from '../../src/stack/index.ts';
import { operatorFetch } from '../helpers/operator.ts';
import {
  ALICE,
  BOB,
  CAROL,
  cleanup,
  NAMES,
  sessionOf,
  setPresence,
  startCustomer,
  startTestStack,
  view,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
  winners,
} from './harness.ts';

afterEach(cleanup);

interface Candidate {
  uri: string;
  eligible: boolean;
  reason: string;
  score: number | null;
}
interface Assignment {
  strategy: string;
  at: number;
  topic?: string;
  candidates: Candidate[];
  winner: string | null;
  why: string;
}

/** A customer starts a chat and is served; resolves with the session id and the agent who joined. */
async function servedChat(stack: RunningStack, name: string, subject?: string) {
  const customer = await startCustomer(stack, name, subject);
  const session = await sessionOf(stack, name);
  const greeter = await waitForAgentGreeting(stack, customer);
  const joined = await waitForState(stack, session.id, 'agentsJoined');
  expect(joined.agents).toHaveLength(1);
  expect(NAMES[joined.agents[0]!.uri]).toBe(greeter);
  return { customer, id: session.id, agent: joined.agents[0]!.uri };
}

/**
 * c1 and c2 are served; c1 ends (its agent becomes the most recently active); c3 and c4 arrive.
 * Longest-idle and round-robin differ on c4, which makes the strategy observable.
 */
async function fourChats(stack: RunningStack): Promise<string[]> {
  const c1 = await servedChat(stack, 'Customer One');
  const c2 = await servedChat(stack, 'Customer Two');
  await c1.customer.leave();
  await waitTerminated(stack, c1.id);
  const c3 = await servedChat(stack, 'Customer Three');
  const c4 = await servedChat(stack, 'Customer Four');
  return [c1.agent, c2.agent, c3.agent, c4.agent];
}

describe('routing over real HTTP', () => {
  it('records every assignment with candidates, scores, winner and why in GET /sessions/:id', async () => {
    const stack = await startTestStack();
    const first = await servedChat(stack, 'Record Keeper');
    const second = await servedChat(stack, 'Second Customer');

    const v = await view(stack, second.id);
    expect(v.assignments).toHaveLength(1);
    const record = v.assignments[0] as Assignment;
    expect(record.strategy).toBe('longest-idle');
    expect(typeof record.at).toBe('number');
    expect(record.candidates.map((c) => c.uri)).toEqual([ALICE, BOB, CAROL]);
    // Alice holds the first chat (load 1/2) and has a finite idle time; Bob and Carol never had one.
    expect(first.agent).toBe(ALICE);
    const alice = record.candidates.find((c) => c.uri === ALICE)!;
    expect(alice.eligible).toBe(true);
    expect(alice.reason).toContain('load 1/2');
    expect(alice.score).toEqual(expect.any(Number));
    expect(alice.score!).toBeLessThan(Number.MAX_SAFE_INTEGER);
    const bob = record.candidates.find((c) => c.uri === BOB)!;
    expect(bob).toMatchObject({ eligible: true, score: Number.MAX_SAFE_INTEGER });
    expect(bob.reason).toContain('no chat yet');
    expect(record.winner).toBe(BOB);
    expect(second.agent).toBe(BOB);
    expect(record.why).toContain(BOB);
    expect(record.why).toContain('idle longest');
    // The same record through the operator route.
    const { status, body } = await operatorFetch(`${stack.saUrl}/sessions/${second.id}/assignments`).then(
      async (r) => ({ status: r.status, body: (await r.json()) as { assignments: Assignment[] } }),
    );
    expect(status).toBe(200);
    expect(body.assignments).toEqual(v.assignments);
  });

  it('longest-idle spreads chats: each new chat goes to the agent idle longest', async () => {
    const stack = await startTestStack();
    // c4: Alice finished c1 just now, Carol took c3 last, Bob took c2 before that → Bob.
    expect(await fourChats(stack)).toEqual([ALICE, BOB, CAROL, BOB]);
  });

  it('ROUTING_STRATEGY=round-robin hands chats out in roster order whoever was idle longest', async () => {
    const stack = await startTestStack({ env: { ROUTING_STRATEGY: 'round-robin' } });
    // c4: after Carol comes Alice again, although Bob has been idle longer.
    expect(await fourChats(stack)).toEqual([ALICE, BOB, CAROL, ALICE]);
    const last = (await sessionOf(stack, 'Customer Four')).assignments.at(-1) as Assignment;
    expect(last.strategy).toBe('round-robin');
    expect(last.winner).toBe(ALICE);
  });

  it('ROUTING_STRATEGY=skills: a chat whose subject is "billing" goes to an agent with that skill', async () => {
    const stack = await startTestStack({ env: { ROUTING_STRATEGY: 'skills' } });
    // Alice (billing) is away: of Bob (technical) and Carol (billing), only Carol has the skill, although
    // Bob comes first in the roster and is just as idle.
    await setPresence(stack, ALICE, 'away');
    const billing = await servedChat(stack, 'Billing Customer', 'billing');
    expect(billing.agent).toBe(CAROL);
    const record = (await view(stack, billing.id)).assignments[0] as Assignment;
    expect(record).toMatchObject({ strategy: 'skills', topic: 'billing', winner: CAROL });
    expect(record.candidates.find((c) => c.uri === BOB)).toMatchObject({
      eligible: false,
      reason: 'lacks skill billing',
      score: null,
    });
    expect(record.candidates.find((c) => c.uri === ALICE)).toMatchObject({ eligible: false, reason: 'away' });
    expect(record.why).toContain('billing');

    // A "technical" chat goes to Bob, the technical agent idle longest (Carol now holds a chat).
    const technical = await servedChat(stack, 'Technical Customer', 'Technical');
    expect(technical.agent).toBe(BOB);
    expect(((await view(stack, technical.id)).assignments[0] as Assignment).topic).toBe('technical');
  });

  it('a subject that names no skill routes without a topic', async () => {
    const stack = await startTestStack({ env: { ROUTING_STRATEGY: 'skills' } });
    const chat = await servedChat(stack, 'Plain Customer', 'Order 1234');
    const record = (await view(stack, chat.id)).assignments[0] as Assignment;
    expect(record.topic).toBeUndefined();
    expect(record.winner).toBe(ALICE);
    expect(winners(await view(stack, chat.id))).toEqual([ALICE]);
  });
});

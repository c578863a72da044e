/**
 * When the SA ends a chat the customer did not leave (idle, queue timeout, no agent, operator close, a
 * failed step after the bridge), the SA must release everything of it on the platform: the meeting AND
 * the customer's conversation, which it accepted and bridged. The customer does nothing here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningStack } from '../../src/stack/index.ts';
import type { AnonCustomer } from '../helpers/customer.ts';
import {
  ALICE,
  addFault,
  BOB,
  CAROL,
  cleanup,
  expectNothingOpen,
  httpJson,
  sessionOf,
  setBehaviour,
  setPresence,
  startCustomer,
  startTestStack,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
} from './harness.ts';

afterEach(cleanup);

interface Scenario {
  name: string;
  env: Record<string, string>;
  outcome: string;
  before?: (stack: RunningStack) => Promise<void>;
  during?: (stack: RunningStack, customer: AnonCustomer, id: string) => Promise<void>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'the customer went silent (idle)',
    env: { CUSTOMER_IDLE_MS: '1000', IDLE_GRACE_MS: '1000' },
    outcome: 'idle',
    during: async (stack, customer) => {
      await waitForAgentGreeting(stack, customer);
    },
  },
  {
    name: 'the queue wait ran out (queueTimeout)',
    env: { QUEUE_UPDATE_MS: '60000', MAX_QUEUE_WAIT_MS: '1000' },
    outcome: 'queueTimeout',
    before: async (stack) => {
      for (const uri of [ALICE, BOB, CAROL]) await setPresence(stack, uri, 'away');
    },
  },
  {
    name: 'every agent declined (noAgent)',
    env: {},
    outcome: 'noAgent',
    before: async (stack) => {
      for (const uri of [ALICE, BOB, CAROL]) await setBehaviour(stack, uri, { answer: 'decline' });
    },
  },
  {
    name: 'an operator closed it (POST /sessions/:id/close)',
    env: {},
    outcome: 'closedBySa',
    during: async (stack, customer, id) => {
      await waitForAgentGreeting(stack, customer);
      await waitForState(stack, id, 'agentsJoined');
      const closed = await httpJson(`${stack.saUrl}/sessions/${id}/close`, {
        method: 'POST',
        body: { reason: 'end of shift' },
      });
      expect(closed.status).toBe(202);
      expect(closed.body).toEqual({ id, closing: true });
    },
  },
  {
    name: 'the welcome was never confirmed (failed after the bridge)',
    env: { STEP_TIMEOUT_MS: '1000' },
    outcome: 'failed',
    before: async (stack) => {
      await addFault(stack, {
        kind: 'callback',
        action: 'drop',
        match: 'conversation: message completed',
        count: 1,
      });
    },
  },
];

describe('a chat the SA ends releases the customer conversation too', () => {
  it.each(SCENARIOS)('$name', async (scenario) => {
    const stack = await startTestStack({ env: scenario.env });
    await scenario.before?.(stack);
    const name = `Customer ${scenario.outcome}`;
    const customer = await startCustomer(stack, name);
    const session = await sessionOf(stack, name);
    await scenario.during?.(stack, customer, session.id);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe(scenario.outcome);
    await expectNothingOpen(stack);
  });
});

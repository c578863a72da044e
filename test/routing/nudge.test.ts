/**
 * The agents' nudge: a customer message no agent answers within AGENT_REPLY_MS sends a nudge
 * into the meeting: the agents get it, the customer does not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.ts';
import {
  ALICE,
  cleanup,
  control,
  requestsOf,
  sessionOf,
  startCustomer,
  startTestStack,
  view,
  WAIT,
  waitForAgentGreeting,
} from './harness.ts';

afterEach(cleanup);

const NUDGE = 'Reminder: the customer is waiting for a reply.';

describe('agent reply nudge', () => {
  it('nudges the agents in the meeting, unseen by the customer, when a customer message goes unanswered', async () => {
    const stack = await startTestStack({ env: { AGENT_REPLY_MS: '1000', AGENT_NUDGE_TEXT: NUDGE } });
    const customer = await startCustomer(stack, 'Waiting Customer');
    const session = await sessionOf(stack, 'Waiting Customer');
    await waitForAgentGreeting(stack, customer);
    // Alice stops answering on her own.
    await control(stack, 'PUT', `/agents/${encodeURIComponent(ALICE)}/behaviour`, { autoReply: false });
    await customer.send('hello? anyone there?');
    const nudge = await eventually(
      () => requestsOf(stack, session.id).find((r) => r.operationId === `${session.id}.nudge.0`),
      (r) => expect(r?.status).toBe(201),
      { timeout: WAIT },
    );
    // It went to the meeting's messaging, not to the customer's conversation.
    const conference = (await view(stack, session.id)).conversations.conference!;
    expect(nudge!.path).toContain(new URL(conference).pathname);
    // The agents' side: the nudge is in the meeting (Alice sees it); the customer's channel never gets it.
    await eventually(
      () => control<{ recent?: unknown }>(stack, 'GET', `/agents/${encodeURIComponent(ALICE)}`),
      (r) => expect(JSON.stringify(r.body)).toContain(NUDGE),
      { timeout: WAIT },
    );
    expect(customer.messages.some((m) => m.text === NUDGE)).toBe(false);
  });
});

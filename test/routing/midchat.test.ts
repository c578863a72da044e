/**
 * Mid-chat events over real HTTP. The agent leaves (emulator control API) → the customer is
 * told and another agent joins; a customer silent for CUSTOMER_IDLE_MS is warned and, after
 * IDLE_GRACE_MS, the chat is closed with outcome idle.
 *
 * Not implemented yet, so not tested here: transfer to another agent, a second agent in the same chat,
 * supervisor monitor and barge.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ALICE,
  agentView,
  BOB,
  cleanup,
  control,
  entered,
  expectNothingOpen,
  inState,
  NAMES,
  requestsOf,
  sessionOf,
  startCustomer,
  startTestStack,
  transcript,
  WAIT,
  waitForAgentGreeting,
  waitForState,
  waitForView,
  waitTerminated,
  winners,
} from './harness.ts';

afterEach(cleanup);

describe('mid-chat', () => {
  it('the agent leaves: the customer is told, another agent joins and the chat goes on', async () => {
    const stack = await startTestStack();
    const customer = await startCustomer(stack, 'Stranded Customer');
    const session = await sessionOf(stack, 'Stranded Customer');
    expect(await waitForAgentGreeting(stack, customer)).toBe(NAMES[ALICE]);
    await waitForState(stack, session.id, 'agentsJoined');

    const left = await control(stack, 'POST', `/agents/${encodeURIComponent(ALICE)}/leave`, {});
    expect(left.status, JSON.stringify(left.body)).toBe(200);

    await customer.waitForMessage((m) => m.text === stack.sa.config.chat.agentLeftText);
    await customer.waitForMessage((m) => m.from === NAMES[BOB] && m.text.startsWith('Hi, this is'));
    const rejoined = await waitForView(stack, session.id, (v) => {
      expect(inState(v, 'agentsJoined.customer.active')).toBe(true);
      expect(v.agents.map((a) => a.uri)).toEqual([BOB]);
    });
    expect(winners(rejoined)).toEqual([ALICE, BOB]);
    expect(rejoined.history.map((h) => h.state)).toContain('welcomed.announcingAgentLeft');
    // Alice's slot is free again, Bob holds the chat.
    expect(await agentView(stack, ALICE)).toMatchObject({ load: 0, activeChats: [] });
    expect((await agentView(stack, BOB)).activeChats).toEqual([session.id]);

    await customer.send('are you still looking into it?');
    await customer.waitForMessage((m) => m.from === NAMES[BOB] && m.text.includes('are you still looking'));
    await customer.leave();
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('completed');
    await expectNothingOpen(stack);
  });
});

describe('idle customer', () => {
  it('silent for CUSTOMER_IDLE_MS: warned; silent for IDLE_GRACE_MS more: closed with outcome idle', async () => {
    const stack = await startTestStack({ env: { CUSTOMER_IDLE_MS: '1000', IDLE_GRACE_MS: '1000' } });
    const customer = await startCustomer(stack, 'Silent Customer');
    const session = await sessionOf(stack, 'Silent Customer');
    await waitForAgentGreeting(stack, customer);

    const warning = await customer.waitForMessage((m) => m.text === stack.sa.config.chat.idleWarningText);
    expect(warning.from).toBe(stack.sa.config.chat.helpdeskName);
    const done = await waitTerminated(stack, session.id);
    expect(done.outcome).toBe('idle');
    const warned = entered(done, /^agentsJoined\.customer\.warningIdle$/);
    expect(warned).toBeGreaterThan(entered(done, /^agentsJoined\.customer\.active$/));
    expect(entered(done, /^agentsJoined\.customer\.idleGrace$/, warned)).toBeGreaterThan(warned);
    expect(done.history.at(-2)?.state).toMatch(/^closed\./);
    expect(
      requestsOf(stack, session.id).filter((r) => r.operationId === `${session.id}.idle.0`),
    ).toHaveLength(1);
    expect((await agentView(stack, ALICE)).load).toBe(0);
    await expectNothingOpen(stack, { conversations: false });
  });

  it('a customer who answers the warning is not closed: the chat goes back to active', async () => {
    const stack = await startTestStack({ env: { CUSTOMER_IDLE_MS: '1000', IDLE_GRACE_MS: '5000' } });
    const customer = await startCustomer(stack, 'Returning Customer');
    const session = await sessionOf(stack, 'Returning Customer');
    await waitForAgentGreeting(stack, customer);
    await customer.waitForMessage((m) => m.text === stack.sa.config.chat.idleWarningText);
    await customer.send('sorry, I am back');

    const back = await waitForView(stack, session.id, (v) => {
      const warned = entered(v, /^agentsJoined\.customer\.warningIdle$/);
      expect(warned).toBeGreaterThan(0);
      expect(entered(v, /^agentsJoined\.customer\.active$/, warned)).toBeGreaterThan(warned);
    });
    expect(back.state).toBe('agentsJoined');
    expect((await transcript(stack, session.id)).some((e) => e.text === 'sorry, I am back')).toBe(true);
    await customer.leave();
    const done = await waitTerminated(stack, session.id, WAIT);
    expect(done.outcome).toBe('completed');
  });
});

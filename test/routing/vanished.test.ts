/**
 * Customers who vanish. A customer whose page closes or loses its network stops polling
 * the event channel without leaving; the emulator, like the platform, ends an anonymous application whose
 * channel is not polled for anonymousIdleTimeoutMs, with the callbacks the SA gets when a guest leaves.
 * The SA then tears the chat down and frees the agent: within the timeout plus 5 s, nothing left open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.ts';
import {
  ALICE,
  agentView,
  BOB,
  CAROL,
  cleanup,
  expectNothingOpen,
  leftMessages,
  sessionOf,
  setPresence,
  startCustomer,
  startTestStack,
  transcript,
  WAIT,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
} from './harness.ts';

afterEach(cleanup);

const IDLE_MS = 1_500;
/** The acceptance bound: torn down within the idle timeout plus 5 s of the customer's last poll. */
const TEARDOWN_BOUND_MS = IDLE_MS + 5_000;

describe('a customer who vanishes (stops polling without leaving)', () => {
  it('mid-chat: the chat is torn down, the agent freed, nothing left open', async () => {
    const stack = await startTestStack({
      env: { AGENTS: 'sip:alice@contoso.com=Alice Agent' },
      emulatorConfig: { anonymousIdleTimeoutMs: IDLE_MS },
    });
    const customer = await startCustomer(stack, 'Vanishing Customer');
    const session = await sessionOf(stack, 'Vanishing Customer');
    await waitForAgentGreeting(stack, customer);
    await waitForState(stack, session.id, 'agentsJoined');
    expect((await agentView(stack, ALICE)).activeChats).toEqual([session.id]);
    // The page is closed: no more polls, no leave.
    await customer.close();
    const done = await waitTerminated(stack, session.id, TEARDOWN_BOUND_MS);
    expect(done.outcome).toBe('completed');
    expect((await agentView(stack, ALICE)).activeChats).toEqual([]);
    await expectNothingOpen(stack);
    // The platform ended the application: the page, should it come back, finds nothing.
    const again = await fetch(customer.links.sendMessage!, {
      method: 'POST',
      headers: { authorization: `Bearer ${customer.token}`, 'content-type': 'text/plain' },
      body: 'still there?',
    });
    expect(again.status).toBe(404);
  });

  it('while queued, after writing: abandoned, its message kept as a left message', async () => {
    const stack = await startTestStack({ emulatorConfig: { anonymousIdleTimeoutMs: IDLE_MS } });
    for (const uri of [ALICE, BOB, CAROL]) await setPresence(stack, uri, 'away');
    const customer = await startCustomer(stack, 'Queued Then Gone');
    const session = await sessionOf(stack, 'Queued Then Gone');
    await waitForState(stack, session.id, 'welcomed.queued');
    await customer.send('call me back please');
    await eventually(
      () => transcript(stack, session.id),
      (entries) => {
        if (!entries.some((e) => e.text === 'call me back please')) throw new Error('not kept yet');
      },
      { timeout: WAIT },
    );
    await customer.close();
    const done = await waitTerminated(stack, session.id, TEARDOWN_BOUND_MS);
    expect(done.outcome).toBe('abandoned');
    expect((await leftMessages(stack)).find((l) => l.sessionId === session.id)?.messages).toEqual([
      expect.objectContaining({ text: 'call me back please' }),
    ]);
    await expectNothingOpen(stack);
  });
});

/**
 * No customer message is lost, over real HTTP. What a customer writes before an agent
 * is in the meeting (queued, offered, after the last agent left) is relayed to the agent who joins, first,
 * as messages in the meeting the customer never sees (`Dana (10:41, before you joined): …`); a second or
 * transferred-to agent and a monitoring supervisor get the recent history (HANDOVER_HISTORY). The
 * emulator's simulated agents answer relayed customer messages like live ones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentMessage } from '../../src/emulator/agents.ts';
import type { RunningStack } from '../../src/stack/index.ts';
import type { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  ALICE,
  addFault,
  BOB,
  cleanup,
  control,
  expectNothingOpen,
  httpJson,
  sessionOf,
  setPresence,
  startCustomer,
  startTestStack,
  transcript,
  WAIT,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
} from '../routing/harness.ts';

afterEach(cleanup);

interface AgentDesk {
  conversations: Array<{ conversationId: string; active: boolean; messages: AgentMessage[] }>;
}

async function desk(stack: RunningStack, uri: string): Promise<AgentDesk> {
  const { status, body } = await control<AgentDesk>(stack, 'GET', `/agents/${encodeURIComponent(uri)}`);
  expect(status).toBe(200);
  return body;
}

/** Every message an agent received from customers, over all their chats. */
async function customerMessagesSeenBy(stack: RunningStack, uri: string): Promise<AgentMessage[]> {
  return (await desk(stack, uri)).conversations.flatMap((c) =>
    c.messages.filter((m) => m.direction === 'in' && m.origin === 'customer'),
  );
}

/** The customer wrote `text` and the SA has it (in the transcript): it was written before any agent joined. */
async function writeAndWaitKept(stack: RunningStack, customer: AnonCustomer, name: string, text: string) {
  await customer.send(text);
  const session = await sessionOf(stack, name);
  await eventually(
    () => transcript(stack, session.id),
    (entries) => {
      if (!entries.some((e) => e.kind === 'message' && e.text === text))
        throw new Error(`the SA has not kept "${text}" yet`);
    },
    { timeout: WAIT },
  );
}

const relayedToCustomer = (customer: AnonCustomer) =>
  customer.messages.filter((m) => /\((?:\d{1,2}:\d{2}, )?(?:before you joined|earlier)\):/.test(m.text));

describe('messages written before an agent joins', () => {
  it('one agent (capacity 1), five customers each writing first: every customer is answered with their own text, the agent sees each message once', async () => {
    const stack = await startTestStack({
      env: { AGENTS: 'sip:alice@contoso.com=Alice Agent', AGENT_CAPACITY: '1', QUEUE_UPDATE_MS: '60000' },
    });
    // No agent yet: every chat waits in the queue while its customer writes.
    await setPresence(stack, ALICE, 'away');
    const names = Array.from({ length: 5 }, (_, i) => `Early Writer ${i}`);
    const texts = names.map((_, i) => `my invoice ${1000 + i} is wrong`);
    const customers = await Promise.all(names.map((name) => startCustomer(stack, name)));
    await Promise.all(
      customers.map(async (customer, i) => {
        await customer.waitForMessage((m) => m.text === stack.sa.config.chat.welcomeText, WAIT);
        await writeAndWaitKept(stack, customer, names[i]!, texts[i]!);
      }),
    );
    expect(await customerMessagesSeenBy(stack, ALICE)).toEqual([]);

    await setPresence(stack, ALICE, 'available');
    // One chat at a time: each customer gets Alice's answer quoting their own text, then leaves.
    await Promise.all(
      customers.map(async (customer, i) => {
        const reply = await customer.waitForMessage(
          (m) => m.from === 'Alice Agent' && m.text.includes(texts[i]!),
          45_000,
        );
        expect(reply.text).toBe(`You said: "${texts[i]}"`);
        await customer.leave();
      }),
    );

    const seen = await customerMessagesSeenBy(stack, ALICE);
    for (const text of texts) {
      expect(
        seen.filter((m) => m.text === text),
        `Alice saw "${text}"`,
      ).toEqual([expect.objectContaining({ relayed: 'backlog', from: expect.any(Object) })]);
    }
    // Nobody saw anybody else's text, and no customer was shown a relayed message.
    customers.forEach((customer, i) => {
      const others = texts.filter((_, j) => j !== i);
      expect(customer.messages.filter((m) => others.some((t) => m.text.includes(t)))).toEqual([]);
      expect(relayedToCustomer(customer)).toEqual([]);
    });
    // The transcripts mark the relayed messages.
    for (const [i, name] of names.entries()) {
      const session = await sessionOf(stack, name);
      const done = await waitTerminated(stack, session.id, 45_000);
      expect(done.outcome).toBe('completed');
      const relayed = (await transcript(stack, session.id)).filter((e) => e.relayed);
      expect(relayed).toEqual([
        expect.objectContaining({
          kind: 'message',
          direction: 'Outgoing',
          leg: 'conference',
          text: expect.stringMatching(
            new RegExp(`^${name} \\(\\d\\d:\\d\\d, before you joined\\): ${texts[i]}$`),
          ),
        }),
      ]);
    }
    await expectNothingOpen(stack);
  }, 90_000);

  it('relays several messages in order, before anything else; duplicated callbacks do not relay a message twice', async () => {
    const stack = await startTestStack({
      env: { AGENTS: 'sip:alice@contoso.com=Alice Agent', QUEUE_UPDATE_MS: '60000' },
    });
    await setPresence(stack, ALICE, 'away');
    // Every callback of the meeting's messages arrives twice.
    await addFault(stack, { kind: 'callback', action: 'duplicate', match: 'message completed' });
    const customer = await startCustomer(stack, 'Dana');
    const session = await sessionOf(stack, 'Dana');
    await customer.waitForMessage((m) => m.text === stack.sa.config.chat.welcomeText, WAIT);
    const texts = ['first thing', 'second thing', 'third thing'];
    for (const text of texts) await writeAndWaitKept(stack, customer, 'Dana', text);
    await setPresence(stack, ALICE, 'available');
    for (const text of texts) {
      await customer.waitForMessage((m) => m.from === 'Alice Agent' && m.text.includes(text), WAIT);
    }
    const seen = await customerMessagesSeenBy(stack, ALICE);
    expect(seen.map((m) => m.text)).toEqual(texts);
    // The SA's first messages into the meeting are the relay, one per message, in order.
    const sent = (await transcript(stack, session.id)).filter((e) => e.leg === 'conference' && e.relayed);
    expect(sent.map((e) => e.text?.replace(/\(\d\d:\d\d, /, '('))).toEqual(
      texts.map((t) => `Dana (before you joined): ${t}`),
    );
    expect(relayedToCustomer(customer)).toEqual([]);
  });

  it('relays markup as sanitised text, and never to the customer', async () => {
    const stack = await startTestStack({ env: { AGENTS: 'sip:alice@contoso.com=Alice Agent' } });
    await setPresence(stack, ALICE, 'away');
    const customer = await startCustomer(stack, 'Markup Writer');
    const session = await sessionOf(stack, 'Markup Writer');
    await customer.waitForMessage((m) => m.text === stack.sa.config.chat.welcomeText, WAIT);
    await customer.sendHtml('<b>bold</b> claim<script>alert(1)</script><img src=x onerror="alert(2)">');
    await eventually(
      () => transcript(stack, session.id),
      (entries) => {
        if (!entries.some((e) => e.kind === 'message' && e.direction === 'Incoming'))
          throw new Error('not kept yet');
      },
      { timeout: WAIT },
    );
    await setPresence(stack, ALICE, 'available');
    await waitForAgentGreeting(stack, customer);
    const relayed = await eventually(
      async () => (await transcript(stack, session.id)).filter((e) => e.relayed),
      (entries) => expect(entries).toHaveLength(1),
      { timeout: WAIT },
    );
    expect(relayed[0]!.text).toMatch(/^Markup Writer \(\d\d:\d\d, before you joined\): bold claim$/);
    expect(relayed[0]!.html).toBeUndefined();
    const seen = await customerMessagesSeenBy(stack, ALICE);
    expect(seen.map((m) => m.text)).toEqual(['bold claim']);
    expect(JSON.stringify(await desk(stack, ALICE))).not.toMatch(/<script|onerror/);
    await customer.waitForMessage((m) => m.from === 'Alice Agent' && m.text.includes('bold claim'), WAIT);
    expect(relayedToCustomer(customer)).toEqual([]);
  });

  it('after the last agent left: the next agent gets what was written meanwhile, and what came before', async () => {
    const stack = await startTestStack({
      env: { AGENTS: 'sip:alice@contoso.com=Alice Agent,sip:bob@contoso.com=Bob Agent' },
    });
    await setPresence(stack, BOB, 'away');
    const customer = await startCustomer(stack, 'Left Alone');
    const session = await sessionOf(stack, 'Left Alone');
    await waitForAgentGreeting(stack, customer);
    await customer.send('hello alice');
    await customer.waitForMessage((m) => m.text === 'You said: "hello alice"', WAIT);
    // Alice leaves; nobody is free: the customer writes while the chat waits for another agent.
    await setPresence(stack, ALICE, 'away');
    await control(stack, 'POST', `/agents/${encodeURIComponent(ALICE)}/leave`, {});
    await waitForState(stack, session.id, 'welcomed');
    await writeAndWaitKept(stack, customer, 'Left Alone', 'is anybody there?');
    await setPresence(stack, BOB, 'available');
    await customer.waitForMessage(
      (m) => m.from === 'Bob Agent' && m.text === 'You said: "is anybody there?"',
      WAIT,
    );
    const bob = await customerMessagesSeenBy(stack, BOB);
    expect(bob.map((m) => [m.relayed, m.text])).toEqual([
      ['history', 'hello alice'],
      ['backlog', 'is anybody there?'],
    ]);
    // Bob answered only what nobody had answered.
    expect(customer.messages.filter((m) => m.from === 'Bob Agent' && m.text.includes('hello alice'))).toEqual(
      [],
    );
  });
});

describe('the recent history for whoever joins a running chat', () => {
  it('a second agent gets the last HANDOVER_HISTORY messages, both sides, and does not answer them again', async () => {
    const stack = await startTestStack({
      env: {
        AGENTS: 'sip:alice@contoso.com=Alice Agent,sip:bob@contoso.com=Bob Agent',
        HANDOVER_HISTORY: '3',
      },
    });
    await setPresence(stack, BOB, 'away');
    const customer = await startCustomer(stack, 'History Customer');
    const session = await sessionOf(stack, 'History Customer');
    await waitForAgentGreeting(stack, customer);
    for (const text of ['one', 'two']) {
      await customer.send(text);
      await customer.waitForMessage((m) => m.text === `You said: "${text}"`, WAIT);
    }
    await setPresence(stack, BOB, 'available');
    const added = await httpJson(`${stack.saUrl}/sessions/${session.id}/agents`, {
      method: 'POST',
      body: { uri: BOB },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(202);
    // Greeting, one, reply to one, two, reply to two: the last three, in order.
    const history = await eventually(
      async () =>
        (await desk(stack, BOB)).conversations.flatMap((c) => c.messages).filter((m) => m.direction === 'in'),
      (messages) => expect(messages.filter((m) => m.origin !== 'agent')).toHaveLength(3),
      { timeout: WAIT },
    );
    const relayed = history.filter((m) => m.origin !== 'agent');
    expect(relayed[0]).toMatchObject({
      origin: 'sa',
      text: expect.stringMatching(/^Alice Agent \(\d\d:\d\d, earlier\): You said: "one"$/),
    });
    expect(relayed[1]).toMatchObject({ origin: 'customer', relayed: 'history', text: 'two' });
    expect(relayed[2]).toMatchObject({
      origin: 'sa',
      text: expect.stringMatching(/earlier\): You said: "two"$/),
    });
    // Bob greets, but does not answer the history: the customer hears nothing twice.
    await waitForAgentGreeting(stack, customer);
    await customer.waitForMessage((m) => m.from === 'Bob Agent', WAIT);
    expect(customer.messages.filter((m) => m.from === 'Bob Agent' && m.text.startsWith('You said'))).toEqual(
      [],
    );
    expect(relayedToCustomer(customer)).toEqual([]);
  });
});

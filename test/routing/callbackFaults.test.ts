/**
 * Callback faults injected by the emulator. Duplicated callbacks have no second
 * effect; delayed and reordered callbacks still complete the chat; a dropped critical callback fails the
 * session cleanly by the step timeout; callbacks after the session terminated are ignored.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallbackEvent } from '../../machines/events.ts';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import type { RunningStack } from '../../src/stack/index.ts';
import type { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  addFault,
  callbacks,
  cleanup,
  control,
  expectNothingOpen,
  logMark,
  requests,
  sessionOf,
  startCustomer,
  startTestStack,
  transcript,
  view,
  waitForAgentGreeting,
  waitForState,
  waitTerminated,
} from './harness.ts';

afterEach(cleanup);

/**
 * A whole chat with two customer messages; resolves once the session completed. The customer leaves
 * only after the SA has seen the agent's last answer, so every message is in the transcript.
 */
async function completeChat(
  stack: RunningStack,
  name: string,
): Promise<{ id: string; customer: AnonCustomer }> {
  const customer = await startCustomer(stack, name);
  const session = await sessionOf(stack, name);
  await waitForAgentGreeting(stack, customer);
  await waitForState(stack, session.id, 'agentsJoined');
  for (const text of ['first question', 'second question']) {
    await customer.send(text);
    await customer.waitForMessage((m) => m.text === `You said: "${text}"`);
  }
  await eventually(
    () => transcript(stack, session.id),
    (entries) => expect(entries.map((e) => e.text)).toContain('You said: "second question"'),
  );
  await customer.leave();
  const done = await waitTerminated(stack, session.id);
  expect(done.outcome).toBe('completed');
  await expectNothingOpen(stack);
  return { id: session.id, customer };
}

describe('callback faults', () => {
  it('every callback duplicated: each operationId has exactly one successful request, nothing happens twice', async () => {
    const stack = await startTestStack();
    const since = logMark(stack);
    await addFault(stack, { kind: 'callback', action: 'duplicate' });
    const { id, customer } = await completeChat(stack, 'Echoed Twice');

    // The fault was applied: the SA got callbacks twice.
    const delivered = callbacks(stack, since).filter((c) => c.fault === 'duplicate');
    expect(delivered.length).toBeGreaterThan(10);
    const done = await view(stack, id);
    const sent = requests(stack, since);
    for (const operationId of done.operations) {
      const successful = sent.filter((r) => r.operationId === operationId && r.status < 300);
      expect(successful, `successful requests with operationId ${operationId}`).toHaveLength(1);
    }
    // One meeting, one bridge entry, one invitation per agent offer, one agent.
    expect(sent.filter((r) => /startAdhocMeeting$/i.test(r.path))).toHaveLength(1);
    expect(sent.filter((r) => r.method === 'POST' && /\/bridgedParticipants$/i.test(r.path))).toHaveLength(1);
    expect(done.agents).toHaveLength(1);
    // The customer saw the welcome and the greeting once each.
    const welcome = stack.sa.config.chat.welcomeText;
    expect.soft(customer.messages.filter((m) => m.text === welcome)).toHaveLength(1);
    expect.soft(customer.messages.filter((m) => m.text.startsWith('Hi, this is'))).toHaveLength(1);
    // The transcript records each message once, and nothing that is not a message.
    const entries = (await transcript(stack, id)).filter((e) => e.kind === 'message');
    expect
      .soft(
        entries.filter((e) => e.text === undefined && e.html === undefined),
        'transcript messages without a text',
      )
      .toEqual([]);
    for (const text of ['first question', 'second question', 'You said: "first question"', welcome]) {
      expect
        .soft(
          entries.filter((e) => e.text === text),
          `transcript entries "${text}"`,
        )
        .toHaveLength(1);
    }
    const joins = (await transcript(stack, id)).filter(
      (e) => e.kind === 'participant' && e.change === 'added',
    );
    expect.soft(joins.map((e) => e.from)).toEqual(['Alice Agent']);
  });

  it('every callback delayed: the chat still completes', async () => {
    const stack = await startTestStack();
    const since = logMark(stack);
    await addFault(stack, { kind: 'callback', action: 'delay', delayMs: 100 });
    const { id } = await completeChat(stack, 'Delayed Customer');
    expect(callbacks(stack, since).filter((c) => c.fault === 'delay').length).toBeGreaterThan(10);
    expect((await view(stack, id)).agents).toHaveLength(1);
  });

  it('reordered callbacks (meeting, bridge, agent join, messages): the chat still completes', async () => {
    const stack = await startTestStack();
    const since = logMark(stack);
    for (const match of [
      'onlineMeetingInvitation started',
      'conversation: messaging updated',
      'conversationBridge added',
      'participantInvitation started',
      'conversation: participant added',
      'conversation: message completed',
    ]) {
      await addFault(stack, { kind: 'callback', action: 'reorder', match, delayMs: 300, count: 1 });
    }
    const { id } = await completeChat(stack, 'Reordered Customer');
    expect(callbacks(stack, since).filter((c) => c.fault === 'reorder').length).toBeGreaterThanOrEqual(5);
    expect((await view(stack, id)).agents).toHaveLength(1);
  });

  it.each([
    {
      match: 'conversationBridge added',
      step: 'acceptAndBridge',
      message: 'the conversation bridge did not appear',
    },
    {
      match: 'onlineMeetingInvitation completed',
      step: 'adhocMeeting',
      message: 'the ad hoc meeting did not come up',
    },
  ])(
    'a dropped "$match" callback: the step timeout fails the session cleanly, 0 open meetings',
    async ({ match, step, message }) => {
      const stack = await startTestStack({ env: { STEP_TIMEOUT_MS: '1000' } });
      const since = logMark(stack);
      await addFault(stack, { kind: 'callback', action: 'drop', match, count: 1 });
      await startCustomer(stack, 'Dropped Customer');
      const session = await sessionOf(stack, 'Dropped Customer');
      const done = await waitTerminated(stack, session.id);
      expect(done.outcome).toBe('failed');
      expect(done.error).toEqual({ step, code: 'Timeout', message });
      expect(callbacks(stack, since).filter((c) => c.fault === 'drop')).toHaveLength(1);
      // The meeting it had asked for is gone.
      const conference = new URL(done.conversations.conference!).pathname.toLowerCase();
      expect(
        requests(stack, since).some(
          (r) => r.method === 'DELETE' && r.path.toLowerCase() === conference && r.status === 204,
        ),
      ).toBe(true);
      await expectNothingOpen(stack, { conversations: false });
    },
  );

  it('callbacks that arrive after the session terminated are acknowledged and change nothing', async () => {
    const stack = await startTestStack();
    const routed: Array<{ event: CallbackEvent; sessionId: string | undefined }> = [];
    const unsubscribe = stack.sa.sessions.onCallbackEvent((event, sessionId) =>
      routed.push({ event, sessionId }),
    );
    try {
      // The meeting's end is reported late: after the SA has already finished the chat.
      await addFault(stack, {
        kind: 'callback',
        action: 'delay',
        match: 'communication: conversation deleted',
        delayMs: 400,
      });
      const { id } = await completeChat(stack, 'Finished Customer');
      const done = await view(stack, id);
      const terminatedAt = done.history.at(-1)!.at;
      const before = { view: done, transcript: await transcript(stack, id) };

      const late = await eventually(
        () =>
          callbacks(stack).filter(
            (c) => c.events.includes('communication: conversation deleted') && c.time > terminatedAt,
          ),
        (list) => expect(list.length).toBeGreaterThanOrEqual(1),
      );
      expect(late.every((c) => c.status !== null && c.status >= 200 && c.status < 300)).toBe(true);

      // A message the platform reports for the ended meeting, signed by the emulator: routed to the
      // finished session, acknowledged, and not recorded.
      const conference = new URL(done.conversations.conference!);
      const body = {
        _links: {
          self: { href: `/platformservice/v1/applications/${DEMO_TENANT.applicationId}/events?ack=999` },
        },
        sender: [
          {
            rel: 'ms:rtc:saas:conversation',
            href: `${conference.pathname}${conference.search}`,
            events: [
              {
                link: {
                  rel: 'ms:rtc:saas:message',
                  href: `${conference.pathname}/messaging/messages/late-1`,
                },
                type: 'completed',
                status: 'Success',
                _embedded: {
                  message: {
                    direction: 'Incoming',
                    _links: {
                      self: { href: `${conference.pathname}/messaging/messages/late-1` },
                      plainMessage: {
                        href: `data:text/plain;charset=utf-8,${encodeURIComponent('a late word')}`,
                      },
                      participant: {
                        href: `${conference.pathname}/participants/late`,
                        title: 'Finished Customer',
                      },
                    },
                  },
                },
              },
            ],
          },
        ],
        baseuri: stack.emulatorUrl,
      };
      const delivered = await control<{ status: number }>(stack, 'POST', '/callbacks', {
        to: `${stack.saUrl}${stack.sa.config.callbackPath}`,
        body,
      });
      expect(delivered.status, JSON.stringify(delivered.body)).toBe(200);
      expect(delivered.body.status).toBeGreaterThanOrEqual(200);
      expect(delivered.body.status).toBeLessThan(300);
      expect(
        routed.some(
          ({ event, sessionId }) =>
            sessionId === id && event.type === 'callback.messageCompleted' && event.text === 'a late word',
        ),
      ).toBe(true);

      const after = await view(stack, id);
      expect(after.state).toBe('terminated');
      expect(after.history).toEqual(before.view.history);
      expect(after.outcome).toBe('completed');
      // The state is untouched; a late customer word is still kept (appended once) so that no message is lost.
      const transcriptAfter = await transcript(stack, id);
      expect(transcriptAfter.slice(0, before.transcript.length)).toEqual(before.transcript);
      expect(transcriptAfter.slice(before.transcript.length).map((e) => e.text)).toEqual(['a late word']);
      await expectNothingOpen(stack);
    } finally {
      unsubscribe();
    }
  });
});

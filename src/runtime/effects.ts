/**
 * The chat session's side effects, implemented with the API client. Each one is a promise actor the
 * machine invokes; errors are rethrown as they are (ApiError carries `retryable`), so the machine decides
 * whether to retry. Logs carry the session id and operationId.
 */
import type pino from 'pino';
import { assign, fromPromise } from 'xstate';
import { agentOfferMachine, type RemoveBridgedParticipantInput } from '../../machines/agentOffer.ts';
import {
  type AcceptAndBridgeInput,
  type AddBridgedParticipantInput,
  type AddMessagingInput,
  type AddParticipantInput,
  chatSessionMachine,
  type EjectParticipantsInput,
  type RelayMessagesInput,
  type RelayMessagesOutput,
  type SendMessageInput,
  type StartAdhocMeetingInput,
  type TeardownInput,
  type TimerName,
  type UpdateBridgedParticipantInput,
} from '../../machines/chatSession/index.ts';
import { isApiError } from '../api/errors.ts';
import type { PlatformClient } from '../api/index.ts';
import type { Clock } from './clock.ts';
import { relayText } from './relay.ts';

export interface EffectDeps {
  client: PlatformClient;
  clock: Clock;
  logger: pino.Logger;
  /** Relayed messages show the time they were written in this zone (IANA name); default the system's. */
  timeZone?: string;
}

function sessionOf(operationId: string): string {
  return operationId.split('.')[0] ?? operationId;
}

/** The chat session machine with real side effects and the runtime's clock. */
export function provideChatSession({
  client,
  clock,
  logger,
  timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone,
}: EffectDeps) {
  const effect = <I, O>(
    name: string,
    ids: (input: I) => { sessionId: string; operationId?: string },
    run: (input: I) => Promise<O>,
  ) =>
    fromPromise<O, I>(async ({ input }) => {
      const log = logger.child({ ...ids(input), effect: name });
      log.debug('side effect started');
      try {
        const output = await run(input);
        log.info('side effect done');
        return output;
      } catch (error) {
        const detail = isApiError(error)
          ? { status: error.status, code: error.code, subcode: error.subcode, retryable: error.retryable }
          : { error: String(error) };
        log.warn(detail, 'side effect failed');
        throw error;
      }
    });
  const byOp = (input: { operationId: string }) => ({
    sessionId: sessionOf(input.operationId),
    operationId: input.operationId,
  });

  return chatSessionMachine.provide({
    actors: {
      startAdhocMeeting: effect<StartAdhocMeetingInput, void>('startAdhocMeeting', byOp, (i) =>
        client.startAdhocMeeting(i.href, {
          subject: i.subject,
          operationId: i.operationId,
          callbackContext: i.callbackContext,
        }),
      ),
      addMessaging: effect<AddMessagingInput, void>('addMessaging', byOp, (i) =>
        client.addMessaging(i.href, { operationId: i.operationId, callbackContext: i.callbackContext }),
      ),
      acceptAndBridge: effect<AcceptAndBridgeInput, void>('acceptAndBridge', byOp, (i) =>
        client.acceptAndBridge(i.href, {
          onlineMeetingUri: i.onlineMeetingUri,
          localUserDisplayName: i.localUserDisplayName,
          operationId: i.operationId,
        }),
      ),
      sendMessage: effect<SendMessageInput, { location?: string }>('sendMessage', byOp, (i) =>
        client.sendMessage(i.href, { text: i.text, operationId: i.operationId }),
      ),
      addParticipant: effect<AddParticipantInput, void>('addParticipant', byOp, (i) =>
        client.addParticipant(i.href, { to: i.to, operationId: i.operationId }),
      ),
      agentOffer: agentOfferMachine.provide({
        actors: {
          addBridgedParticipant: effect<AddBridgedParticipantInput, { location?: string }>(
            'addBridgedParticipant',
            (i) => ({ sessionId: i.sessionId }),
            (i) =>
              client.addBridgedParticipant(i.href, {
                displayName: i.displayName,
                participantUri: i.participantUri,
                messageFilterState: i.messageFilterState,
              }),
          ),
          addParticipant: effect<AddParticipantInput, void>('addParticipant', byOp, (i) =>
            client.addParticipant(i.href, { to: i.to, operationId: i.operationId }),
          ),
          removeBridgedParticipant: effect<RemoveBridgedParticipantInput, void>(
            'removeBridgedParticipant',
            (i) => ({ sessionId: i.sessionId }),
            async (i) => {
              if (i.href) await client.removeBridgedParticipant(i.href);
            },
          ),
        },
        actions: {
          setDeadline: assign(
            ({ context }, params: { timer: 'timer.offerExpired' | 'timer.retry'; delayMs: number }) => ({
              deadlines: { ...context.deadlines, [params.timer]: clock.now() + params.delayMs },
            }),
          ),
        },
      }),
      updateBridgedParticipant: effect<UpdateBridgedParticipantInput, void>(
        'updateBridgedParticipant',
        (i) => ({ sessionId: i.sessionId }),
        (i) =>
          client.updateBridgedParticipant(i.href, {
            displayName: i.displayName,
            participantUri: i.participantUri,
            messageFilterState: i.messageFilterState,
          }),
      ),
      ejectParticipants: effect<EjectParticipantsInput, void>(
        'ejectParticipants',
        (i) => ({ sessionId: i.sessionId }),
        async (i) => {
          // Best effort, each on its own: a participant may already be gone.
          for (const href of i.hrefs) {
            const bridged = /\/bridgedparticipants\//i.test(new URL(href).pathname);
            await (bridged ? client.removeBridgedParticipant(href) : client.ejectParticipant(href)).catch(
              (error: unknown) =>
                logger.warn(
                  { sessionId: i.sessionId, error: String(error) },
                  bridged ? 'bridged participant not removed' : 'participant not ejected',
                ),
            );
          }
        },
      ),
      // One message per line, in order, each with its own operationId: a retry re-sends the same ids, so
      // the platform carries out each line once.
      relayMessages: effect<RelayMessagesInput, RelayMessagesOutput>(
        'relayMessages',
        (i) => ({ sessionId: i.sessionId }),
        async (i) => {
          const sent: RelayMessagesOutput['sent'] = [];
          for (const line of i.lines) {
            const text = relayText(line, timeZone);
            await client.sendMessage(i.href, { text, operationId: line.operationId });
            sent.push({ operationId: line.operationId, text });
          }
          return { sent };
        },
      ),
      teardown: effect<TeardownInput, void>(
        'teardown',
        (i) => ({ sessionId: i.sessionId }),
        async (i) => {
          const log = logger.child({ sessionId: i.sessionId, effect: 'teardown' });
          // Best effort on the customer's side: they may already be gone.
          if (i.apology) {
            await client
              .sendMessage(i.apology.href, { text: i.apology.text, operationId: i.apology.operationId })
              .catch((error: unknown) =>
                log.warn(
                  { error: String(error), operationId: i.apology?.operationId },
                  'apology not delivered',
                ),
              );
          }
          if (i.declineHref) {
            await client
              .decline(i.declineHref, 'ApplicationInitiatedAction')
              .catch((error: unknown) => log.warn({ error: String(error) }, 'invitation not declined'));
          }
          // The customer's conversation and the meeting must go: errors here are retried by the machine.
          if (i.customerConversationHref) await client.deleteConversation(i.customerConversationHref);
          if (i.conferenceHref) await client.deleteConversation(i.conferenceHref);
        },
      ),
    },
    actions: {
      setDeadline: assign(({ context }, params: { timer: TimerName; delayMs: number }) => ({
        deadlines: { ...context.deadlines, [params.timer]: clock.now() + params.delayMs },
      })),
      setDeadlineOnce: assign(({ context }, params: { timer: TimerName; delayMs: number }) =>
        context.deadlines[params.timer] !== undefined
          ? {}
          : { deadlines: { ...context.deadlines, [params.timer]: clock.now() + params.delayMs } },
      ),
    },
  });
}

export type ProvidedChatSession = ReturnType<typeof provideChatSession>;

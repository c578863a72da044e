/**
 * Opening (steps 7–8): the customer's invitation arrived; within business hours the SA starts an ad hoc
 * meeting and waits for it to come up (conferenced, its online meeting URI, its addParticipant and
 * addMessaging links). Outside business hours the invitation is declined and no meeting is created.
 */
import { assign } from '../assign.ts';
import { isAmbiguous, operationIdFor, reasonText } from './context.ts';
import {
  backoffState,
  closeAbandons,
  conferenceEnded,
  customerLeaves,
  recordApiError,
  retryOr,
  stepDeadline,
  stepTimedOut,
} from './patterns.ts';
import { chat } from './setup.ts';

/** Steps 7–8: the customer's invitation arrived; start the ad hoc meeting. */
export const invited = chat.createStateConfig({
  initial: 'checkingHours',
  entry: [{ type: 'beginStep', params: { step: 'adhocMeeting' } }],
  on: {
    'callback.conversationDeleted': customerLeaves,
    ...closeAbandons,
    // The meeting may report itself before the request that starts it has answered (under load, or when
    // the request is re-issued after a restart): its callbacks are kept for adhocMeeting. An attempt
    // that timed out may still have created the meeting: its href is learnt at once, so that it is
    // deleted should the chat end here.
    'callback.invitationStarted': { guard: 'isOurMeetingInvitation', actions: ['learnConference', 'defer'] },
    'callback.invitationCompleted': { guard: 'isOurMeetingCompletion', actions: 'defer' },
    'callback.conversationConferenced': { guard: 'notP2p', actions: 'defer' },
    'callback.conversationUpdated': { guard: 'notP2p', actions: 'defer' },
    'callback.onlineMeetingAdded': { guard: 'notP2p', actions: 'defer' },
    'callback.messagingUpdated': { guard: 'notP2p', actions: 'defer' },
  },
  states: {
    // Outside business hours no meeting is created: the invitation is declined.
    checkingHours: {
      always: [
        { guard: 'isOpen', target: 'starting' },
        {
          target: '#chatSession.failed',
          actions: [
            { type: 'setOutcome', params: { outcome: 'outsideHours' } },
            {
              type: 'recordError',
              params: {
                error: {
                  step: 'invited',
                  code: 'OutsideBusinessHours',
                  message: 'the chat arrived outside business hours',
                },
              },
            },
          ],
        },
      ],
    },
    starting: {
      // From here the meeting may exist before we hear of it: a customer leaving now must still wait for it.
      entry: [
        { type: 'recordOperation', params: { step: 'adhocMeeting' } },
        assign({ meetingRequested: true }),
      ],
      invoke: {
        id: 'startAdhocMeeting',
        src: 'startAdhocMeeting',
        input: ({ context }) => ({
          href: context.invitation.startAdhocMeeting ?? '',
          subject: context.settings.meetingSubject,
          operationId: operationIdFor(context.sessionId, 'adhocMeeting'),
          callbackContext: context.sessionId,
        }),
        onDone: { target: '#chatSession.adhocMeeting', actions: assign({ meetingRequested: true }) },
        onError: retryOr(
          'backoff',
          {
            target: '#chatSession.failed',
            actions: [
              // A definite refusal created nothing; an ambiguous failure (timeout, 5xx) may have.
              assign({ meetingRequested: ({ event }) => isAmbiguous(event.error) }),
              recordApiError('startAdhocMeeting'),
            ],
          },
          [assign({ meetingRequested: true })],
        ),
      },
    },
    backoff: backoffState('starting'),
  },
});

/**
 * Step 8: wait for the conference: onlineMeetingInvitation started/completed, Conferenced, onlineMeeting,
 * messaging offering addMessaging.
 */
export const adhocMeeting = chat.createStateConfig({
  ...stepDeadline,
  entry: [...stepDeadline.entry, 'replayDeferred'],
  always: { guard: 'conferenceReady', target: 'conferenced' },
  on: {
    'callback.invitationStarted': {
      guard: 'isOurMeetingInvitation',
      actions: assign({
        conference: ({ context, event }) => ({
          ...context.conference,
          conversationHref: event.conversationHref ?? context.conference.conversationHref,
          onlineMeetingUri: event.onlineMeetingUri ?? context.conference.onlineMeetingUri,
        }),
      }),
    },
    'callback.invitationCompleted': [
      {
        guard: ({ context, event }) =>
          event.kind === 'onlineMeeting' &&
          event.operationId === operationIdFor(context.sessionId, 'adhocMeeting') &&
          event.status === 'Failure',
        target: 'failed',
        actions: {
          type: 'recordError',
          params: ({ event }) => ({
            error: {
              step: 'adhocMeeting',
              code: event.reason?.code ?? 'Failure',
              message: reasonText(event.reason),
            },
          }),
        },
      },
      {
        guard: ({ context, event }) =>
          event.kind === 'onlineMeeting' &&
          event.operationId === operationIdFor(context.sessionId, 'adhocMeeting'),
        actions: assign({
          conference: ({ context, event }) => ({
            ...context.conference,
            conversationHref: context.conference.conversationHref ?? event.conversationHref,
            ready: true,
          }),
        }),
      },
    ],
    'callback.conversationConferenced': {
      guard: 'isConference',
      actions: assign({
        conference: ({ context, event }) => ({
          ...context.conference,
          addParticipant: event.links.addParticipant ?? context.conference.addParticipant,
        }),
      }),
    },
    'callback.conversationUpdated': { guard: 'isConference' },
    'callback.onlineMeetingAdded': {
      guard: 'isConference',
      actions: assign({
        conference: ({ context, event }) => ({
          ...context.conference,
          onlineMeetingUri: event.onlineMeetingUri ?? context.conference.onlineMeetingUri,
          terminateHref: event.terminateHref ?? context.conference.terminateHref,
        }),
      }),
    },
    // The meeting's messaging offers addMessaging before anyone has joined it.
    'callback.messagingUpdated': {
      guard: 'isConference',
      actions: assign({
        conference: ({ context, event }) => ({
          ...context.conference,
          addMessaging: event.links.addMessaging ?? context.conference.addMessaging,
          messagingState: event.state,
        }),
      }),
    },
    'callback.conversationDeleted': [customerLeaves, conferenceEnded('adhocMeeting')],
    'timer.stepTimeout': stepTimedOut('adhocMeeting', 'the ad hoc meeting did not come up', 'failed'),
    ...closeAbandons,
  },
});

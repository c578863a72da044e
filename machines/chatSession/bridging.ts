/**
 * Bridging (steps 8b–13): the SA joins the meeting's messaging, accepts the customer's invitation and
 * bridges it into the meeting, waits for the conversationBridge, then welcomes the customer on their own
 * leg and waits for the welcome's delivery.
 */
import { assign } from '../assign.ts';
import { isWelcome, operationIdFor, reasonText } from './context.ts';
import {
  backoffState,
  closeAbandons,
  conferenceEnded,
  customerLeaves,
  failStep,
  retryOr,
  startStep,
  stepDeadline,
  stepTimedOut,
  takeMessagingLinks,
} from './patterns.ts';
import { chat } from './setup.ts';

/**
 * Steps 8b–10: the SA joins the conference's messaging, then accepts the customer's invitation and
 * bridges it into the meeting; wait for the conversationBridge.
 */
export const conferenced = chat.createStateConfig({
  initial: 'addingMessaging',
  on: {
    'callback.conversationDeleted': [customerLeaves, conferenceEnded('conferenced')],
    'callback.messagingUpdated': [takeMessagingLinks('conference'), takeMessagingLinks('p2p')],
    'callback.bridgeAdded': {
      guard: 'isP2p',
      actions: assign({
        p2p: ({ context, event }) => ({
          ...context.p2p,
          bridgeHref: event.bridgeHref,
          bridgedParticipantsHref: event.bridgedParticipantsHref ?? context.p2p.bridgedParticipantsHref,
        }),
      }),
    },
    'callback.invitationStarted': {},
    'callback.invitationCompleted': {},
    'callback.conversationConnected': {},
    'callback.conversationUpdated': {},
    'callback.participantAdded': {},
    'callback.participantMessagingAdded': {},
    ...closeAbandons,
  },
  states: {
    addingMessaging: {
      entry: startStep('addMessaging'),
      invoke: {
        id: 'addMessaging',
        src: 'addMessaging',
        input: ({ context }) => ({
          href: context.conference.addMessaging ?? '',
          operationId: operationIdFor(context.sessionId, 'addMessaging'),
          callbackContext: context.sessionId,
        }),
        onDone: { target: 'bridging' },
        onError: retryOr('messagingBackoff', failStep('addMessaging')),
      },
    },
    messagingBackoff: backoffState('addingMessaging'),
    bridging: {
      entry: startStep('acceptAndBridge'),
      invoke: {
        id: 'acceptAndBridge',
        src: 'acceptAndBridge',
        input: ({ context }) => ({
          href: context.invitation.acceptAndBridge ?? '',
          onlineMeetingUri: context.conference.onlineMeetingUri ?? '',
          localUserDisplayName: context.settings.helpdeskName,
          operationId: operationIdFor(context.sessionId, 'acceptAndBridge'),
        }),
        onDone: { target: 'awaitingBridge', actions: assign({ accepted: true }) },
        onError: retryOr('bridgingBackoff', failStep('acceptAndBridge')),
      },
    },
    bridgingBackoff: backoffState('bridging'),
    awaitingBridge: {
      ...stepDeadline,
      always: { guard: 'bridgeReady', target: '#chatSession.bridged' },
      on: { 'timer.stepTimeout': stepTimedOut('acceptAndBridge', 'the conversation bridge did not appear') },
    },
  },
});

/**
 * Steps 11–13: once the customer's messaging is connected, welcome them on the P2P leg and wait for its
 * delivery (the first agent is brought in by routing, next).
 */
export const bridged = chat.createStateConfig({
  initial: 'awaitingMessaging',
  on: {
    'callback.conversationDeleted': [customerLeaves, conferenceEnded('bridged')],
    'callback.messagingUpdated': [
      customerLeaves,
      takeMessagingLinks('p2p'),
      takeMessagingLinks('conference', ['sendMessage']),
    ],
    'callback.messageCompleted': { actions: ['emitMessage', 'keepLine'] },
    'callback.invitationStarted': {},
    'callback.invitationCompleted': {},
    'callback.conversationConnected': {},
    'callback.participantAdded': {},
    'callback.participantMessagingAdded': {},
    'callback.bridgedParticipantAdded': {},
    'callback.bridgedParticipantDeleted': {},
    'callback.messageStarted': {},
    ...closeAbandons,
  },
  states: {
    awaitingMessaging: {
      ...stepDeadline,
      always: { guard: 'p2pMessagingReady', target: 'sendingWelcome' },
      on: { 'timer.stepTimeout': stepTimedOut('bridged', "the customer's messaging did not connect") },
    },
    sendingWelcome: {
      entry: startStep('welcome'),
      // Its delivery may be told before the request that sent it has answered: kept for awaitingDelivery.
      on: { 'callback.messageCompleted': { guard: 'isOurWelcome', actions: 'defer' } },
      invoke: {
        id: 'sendWelcome',
        src: 'sendMessage',
        input: ({ context }) => ({
          href: context.p2p.sendMessage ?? '',
          text: context.settings.welcomeText,
          operationId: operationIdFor(context.sessionId, 'welcome'),
        }),
        onDone: {
          target: 'awaitingDelivery',
          actions: assign({ welcome: ({ event }) => ({ location: event.output?.location }) }),
        },
        onError: retryOr('welcomeBackoff', failStep('welcome')),
      },
    },
    welcomeBackoff: backoffState('sendingWelcome', {
      'callback.messageCompleted': { guard: 'isOurWelcome', actions: 'defer' },
    }),
    awaitingDelivery: {
      ...stepDeadline,
      entry: [...stepDeadline.entry, 'replayDeferred'],
      on: {
        'callback.messageCompleted': [
          {
            guard: ({ context, event }) =>
              event.direction === 'Outgoing' &&
              isWelcome(context, event.messageHref, event.operationId) &&
              event.status === 'Success',
            target: '#chatSession.welcomed',
            actions: chat.emit(({ context }) => ({
              type: 'chat.message',
              direction: 'Outgoing',
              text: context.settings.welcomeText,
              from: context.settings.helpdeskName,
              leg: 'p2p',
            })),
          },
          {
            guard: ({ context, event }) =>
              event.direction === 'Outgoing' && isWelcome(context, event.messageHref, event.operationId),
            target: '#chatSession.failed',
            actions: {
              type: 'recordError',
              params: ({ event }) => ({
                error: {
                  step: 'welcome',
                  code: event.reason?.code ?? 'Failure',
                  message: reasonText(event.reason),
                },
              }),
            },
          },
          { actions: ['emitMessage', 'keepLine'] },
        ],
        'timer.stepTimeout': stepTimedOut('welcome', 'the welcome message was not delivered'),
      },
    },
  },
});

/**
 * Ending (step 22 and the early ends): the chat was served and closes; or the customer left (or the SA
 * closed the chat) before an agent joined; or a step failed for good. Each releases what exists — the
 * apology or the decline, the customer's conversation, the meeting — and the chat ends `terminated`.
 */
import { assign } from '../assign.ts';
import { backoffState, recordApiError, retryOr, stepDeadline, teardownInput } from './patterns.ts';
import { chat } from './setup.ts';

/** Step 22: the customer left: terminate the conference. */
export const closed = chat.createStateConfig({
  entry: [
    assign({ outcome: ({ context }) => context.outcome ?? 'completed' }),
    { type: 'beginStep', params: { step: 'teardown' } },
  ],
  initial: 'releasing',
  // Messages can still arrive on the meeting's callbacks after the customer's leave was reported.
  on: { 'callback.messageCompleted': { actions: 'emitMessage' }, 'callback.*': {} },
  states: {
    releasing: {
      invoke: {
        id: 'teardown',
        src: 'teardown',
        input: ({ context }) => teardownInput(context, context.outcome ?? 'completed'),
        onDone: { target: '#chatSession.terminated' },
        onError: retryOr('backoff', {
          target: '#chatSession.terminated',
          actions: recordApiError('teardown'),
        }),
      },
    },
    backoff: backoffState('releasing'),
  },
});

/**
 * How `abandoned` and `failed` end: release at once what exists (the customer hears the apology, or their
 * invitation is declined, without waiting for anything), then wait (bounded) for a meeting the SA asked
 * for but has not heard of yet, and release that too should it report itself.
 */
function releaseAndTerminate() {
  return chat.createStateConfig({
    initial: 'releasing',
    on: {
      // A meeting we asked for may still report itself: learn its href so it can be terminated.
      'callback.invitationStarted': { guard: 'isOurMeetingInvitation', actions: 'learnConference' },
      // Messages can still arrive on the meeting's callbacks after the customer's leave was reported.
      'callback.messageCompleted': { actions: 'emitMessage' },
      'callback.*': {},
    },
    states: {
      releasing: {
        entry: 'planRelease',
        invoke: {
          id: 'teardown',
          src: 'teardown',
          input: ({ context }) => teardownInput(context, context.outcome ?? 'failed'),
          onDone: { target: 'awaitingConference', actions: 'markReleased' },
          onError: retryOr('backoff', {
            target: '#chatSession.terminated',
            actions: recordApiError('teardown'),
          }),
        },
      },
      backoff: backoffState('releasing'),
      // The meeting may exist although we never heard of it (an attempt that timed out): wait for it in the
      // background, bounded by the step deadline, and end it if it appears.
      awaitingConference: {
        ...stepDeadline,
        always: [
          { guard: 'conferenceToRelease', target: 'releasing' },
          { guard: 'nothingToAwait', target: '#chatSession.terminated' },
        ],
        on: { 'timer.stepTimeout': { guard: 'deadlineDue', target: '#chatSession.terminated' } },
      },
    },
  });
}

/** The customer left (or the SA gave up on them) before an agent joined: release what exists. */
export const abandoned = chat.createStateConfig({
  entry: [
    { type: 'setOutcome', params: { outcome: 'abandoned' } },
    // The customer left, unless the SA itself closed the chat.
    assign({ p2p: ({ context, event }) => ({ ...context.p2p, gone: event.type !== 'chat.close' }) }),
    { type: 'beginStep', params: { step: 'teardown' } },
  ],
  ...releaseAndTerminate(),
});

/** A step failed for good: tell the customer, decline or leave, terminate the meeting. */
export const failed = chat.createStateConfig({
  entry: [
    assign({ outcome: ({ context }) => context.outcome ?? 'failed' }),
    { type: 'beginStep', params: { step: 'teardown' } },
  ],
  ...releaseAndTerminate(),
});

export const terminated = chat.createStateConfig({
  type: 'final',
  entry: assign({ deadlines: {} }),
});

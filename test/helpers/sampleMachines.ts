/**
 * Small machines for the viz tests: each exercises one thing the graph reader must understand
 * (compound and parallel states, invoke onDone/onError, always, after, guards, final states, history).
 */
import { and, createMachine, fromPromise, not, setup } from 'xstate';

/** A linear flow with side exits, like the chat session: invoke, always + guard, after, compound onDone. */
export const orderMachine = setup({
  types: {} as {
    context: { paid: boolean };
    events: { type: 'order.cancel' } | { type: 'payment.confirmed' };
  },
  actors: { reserveStock: fromPromise(async () => 'ok') },
  guards: { isPaid: ({ context }) => context.paid, isVip: () => false },
  delays: { PT1H: 3_600_000 },
}).createMachine({
  id: 'order',
  initial: 'reserving',
  context: { paid: false },
  states: {
    reserving: {
      invoke: { id: 'reserveStock', src: 'reserveStock', onDone: 'checking', onError: 'failed' },
      on: { 'order.cancel': 'cancelled' },
    },
    checking: {
      always: [{ guard: 'isPaid', target: 'shipping' }, { target: 'awaitingPayment' }],
    },
    awaitingPayment: {
      after: { 30000: 'cancelled' },
      on: {
        'payment.confirmed': [
          { guard: and(['isPaid', not('isVip')]), target: 'shipping' },
          { target: 'shipping', reenter: true },
        ],
      },
    },
    shipping: {
      initial: 'packing',
      states: {
        packing: { after: { PT1H: 'sent' } },
        sent: { type: 'final' },
      },
      onDone: 'delivered',
    },
    delivered: { type: 'final' },
    cancelled: { type: 'final' },
    failed: { type: 'final' },
  },
});

/** A parallel state whose regions must both finish before the machine may leave it. */
export const parallelMachine = createMachine({
  id: 'para',
  initial: 'work',
  states: {
    work: {
      type: 'parallel',
      states: {
        upload: {
          initial: 'pending',
          states: { pending: { on: { 'upload.done': 'done' } }, done: { type: 'final' } },
        },
        scan: {
          initial: 'pending',
          states: { pending: { on: { 'scan.done': 'done' } }, done: { type: 'final' } },
        },
      },
      onDone: 'finished',
      on: { abort: 'finished' },
    },
    finished: { type: 'final' },
  },
});

/** A machine with known defects: `orphan` is unreachable, `trap` cannot reach a final state. */
export const defectiveMachine = createMachine({
  id: 'defective',
  initial: 'start',
  states: {
    start: { on: { go: 'middle', fall: 'trap' } },
    middle: { on: { finish: 'end', back: 'start' } },
    trap: { on: { spin: 'trap' } },
    orphan: { on: { finish: 'end' } },
    end: { type: 'final' },
  },
});

/** An unguarded `always` makes its state transient: the event declared there can never be received. */
export const transientMachine = createMachine({
  id: 'transient',
  initial: 'decide',
  states: {
    decide: { always: 'done', on: { never: 'unreachableByEvent' } },
    unreachableByEvent: {},
    done: { type: 'final' },
  },
});

/** History: leaving and coming back restores the last child. */
export const historyMachine = createMachine({
  id: 'hist',
  initial: 'editing',
  states: {
    editing: {
      initial: 'draft',
      states: {
        draft: { on: { next: 'review' } },
        review: { on: { next: 'draft' } },
        last: { type: 'history' },
      },
      on: { pause: 'paused', submit: 'submitted' },
    },
    paused: { on: { resume: 'editing.last' } },
    submitted: { type: 'final' },
  },
});

/**
 * One customer chat, from the customer's invitation to the terminated conference (the 22-step "customer
 * chat" call flow). Pure: no I/O imports. Every API call is an invoked promise actor whose implementation
 * the runtime supplies with `machine.provide({ actors })`; timers are deadlines in the context that the
 * runtime's timer service turns into `timer.*` events.
 *
 *   invited → adhocMeeting → conferenced → bridged → welcomed → agentsJoined → closed → terminated
 *        ↘ abandoned (customer left early) → terminated      ↘ failed (cleanup, apology) → terminated
 *
 * This module only assembles the phases, in the order of the call flow; each phase's states are in its
 * own module, the shapes they share in ./patterns.ts and everything they name in ./setup.ts.
 */
import { emit } from 'xstate';
import { bridged, conferenced } from './bridging.ts';
import { agentsJoined } from './chatting.ts';
import { initialContext } from './context.ts';
import { abandoned, closed, failed, terminated } from './ending.ts';
import { adhocMeeting, invited } from './opening.ts';
import { welcomed } from './routing.ts';
import { chat } from './setup.ts';

export { MAX_BACKLOG, operationIdFor, sessionIdOfOperation } from './context.ts';
export type * from './types.ts';

export const CHAT_SESSION_MACHINE_ID = 'chatSession';
/** Bump when a change makes stored snapshots unreadable; the store refuses unknown versions. */
export const CHAT_SESSION_MACHINE_VERSION = 2;

export const chatSessionMachine = chat.createMachine({
  id: CHAT_SESSION_MACHINE_ID,
  context: ({ input }) => initialContext(input),
  // Events no state handles are recorded, never fatal: late, duplicate or foreign callbacks are normal.
  on: {
    'callback.*': {
      actions: emit(({ event }) => ({
        type: 'chat.ignored',
        eventType: event.type,
        why: 'not expected in this state',
      })),
    },
  },
  initial: 'invited',
  states: {
    // Steps 1–6 come before a session: discovery and the customer's token (1–3, src/api and src/sa), then
    // the customer's page opens a UCWA session and invites the helpdesk (4–6). A session starts at step 7.
    invited, //        7–8   the invitation: start an ad hoc meeting (declined outside business hours)
    adhocMeeting, //   8     the meeting comes up: conferenced, its URI, addParticipant, addMessaging
    conferenced, //    8b–10 join the meeting's messaging, accept and bridge the customer into it
    bridged, //        11–13 the customer's messaging connects; welcome them, wait for the delivery
    welcomed, //       11, 14–15 route to an agent (or queue), offer the chat until someone joins
    agentsJoined, //   16–21 the chat: typing and messages both ways, idle warnings, nudges, staffing
    closed, //         22    the chat is over (customer left, meeting ended, idle, closed): terminate
    abandoned, //      the customer left (or the SA closed the chat) before an agent joined
    failed, //         a step failed for good: apologise or decline, terminate the meeting
    terminated,
  },
});

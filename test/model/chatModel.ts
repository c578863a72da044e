/**
 * The abstract model of one customer chat, for model-based tests (`@xstate/graph`).
 *
 * It follows the observable states of the real machines — `machines/chatSession/` and the agent offer
 * it runs as a child (`machines/agentOffer.ts`) — but it is effect-free: no invoke, no `after`, no delayed
 * actions, a finite context (flags and small enums, no counters or lists). Every modelled step is an
 * event, also the ones the real machine takes by itself (`always`), because the graph cannot see
 * event-less transitions. How each model state maps onto the real ones is in `steps.ts` (`realStateOf`).
 *
 * Events are of two kinds (`MODEL_EVENTS`):
 * - triggers: something a test does at a moment of its choosing (the customer starts, writes or leaves, an
 *   operator closes or staffs the chat, someone ends the meeting, an agent answers or leaves, a deadline
 *   is reached by moving the clock);
 * - platform outcomes: how the platform (or routing) answers the SA's next step: ok, a retryable 503, a
 *   403, a callback that does or does not arrive, an agent assigned or the chat queued. The SA does not
 *   pause between its steps, so a test arranges these ahead of time and watches the session take them.
 *
 * The model keeps the path space small on purpose: at most one staffing action per chat, one queue stint,
 * one re-routing after the last agent left; interruptions of an offer only while the agent's phone rings;
 * and the queue-update / maximum-wait timers in a fixed order (see `MODEL_SA_ENV`).
 */
import { assign, setup } from 'xstate';

export const CHAT_MODEL_ID = 'chatModel';

/** What the SA knows about the ad hoc meeting: decides whether teardown has a meeting to DELETE. */
export type MeetingKnowledge =
  /** Never asked for (or refused outright): nothing to wait for, nothing to delete. */
  | 'none'
  /** Asked for with an ambiguous answer (503): it may exist, its href is unknown, so the SA waits. */
  | 'requested'
  /**
   * Asked for, and the platform carried the request out after the SA's API timeout: it will report itself
   * once the request completes (the SA then deletes it).
   */
  | 'late'
  /** Its conversation href is known: teardown deletes it. */
  | 'known'
  /** It ended (someone deleted it): nothing to delete. */
  | 'gone';

export type ModelOutcome =
  | 'none'
  | 'completed'
  | 'closedBySa'
  | 'abandoned'
  | 'failed'
  | 'noAgent'
  | 'queueTimeout'
  | 'idle'
  | 'outsideHours';

/** What the offer in progress is for: the chat's first agent, or an operator's staffing request. */
export type OfferPurpose = 'chat' | 'transfer' | 'add' | 'monitor';

export interface ChatModelContext {
  /** Offers of this routing round that did not end with the agent joining (two candidates). */
  agentTries: 0 | 1 | 2;
  /** The current step already used its one retry (the tests run with MAX_ATTEMPTS=2). */
  retried: boolean;
  meeting: MeetingKnowledge;
  outcome: ModelOutcome;
  offerFor: OfferPurpose;
  /** The chat was queued once already (routing then assigns). */
  queuedOnce: boolean;
  /** In the queue, the first position update came and went (the maximum wait is next). */
  queueUpdated: boolean;
  /** An offer of this chat was withdrawn: that agent may still join late (a stray). */
  withdrawnAgent: boolean;
  /** Agents talking with the customer. */
  agents: 0 | 1 | 2;
  supervisor: boolean;
  /** One staffing action (transfer, second agent, monitor) per chat in the model. */
  staffed: boolean;
  /** A customer message waits for an agent's reply (the reply deadline is set). */
  replyDue: boolean;
  /** The last agent left once and the chat was routed again. */
  rerouted: boolean;
  /** The platform failed one chat offer already (the next fault fails the chat: MAX_ATTEMPTS=2). */
  offerFaulted: boolean;
  /** The customer wrote at some point: whoever joins is sent the chat's history first (a relay). */
  history: boolean;
  /** The customer wrote while no agent was in the chat: the agent who joins owes an answer. */
  backlog: boolean;
  /** A transfer's new agent is being briefed; the previous agent is shown out after. */
  ejectPending: boolean;
}

export type ChatModelEvent = { type: ChatModelEventType };

export interface ModelEventInfo {
  kind: 'trigger' | 'platform';
  /** Short label used in path names. */
  label: string;
  description: string;
}

const trigger = (label: string, description: string): ModelEventInfo => ({
  kind: 'trigger',
  label,
  description,
});
const platform = (label: string, description: string): ModelEventInfo => ({
  kind: 'platform',
  label,
  description,
});

/** Every model event: its kind, the label used in path names, and what it stands for. */
export const MODEL_EVENTS = {
  // triggers
  CUSTOMER_STARTS: trigger('customer starts', 'an anonymous customer gets a token and invites the helpdesk'),
  CUSTOMER_WRITES: trigger('customer writes', 'the customer sends a message'),
  CUSTOMER_LEAVES: trigger('customer leaves', 'the customer ends the chat (stopMessaging, DELETE)'),
  CUSTOMER_LEAVES_UNNOTICED: trigger(
    'customer leaves (Disconnected lost)',
    'the customer ends the chat and the messaging-Disconnected callback is lost; only conversation deleted arrives',
  ),
  OPERATOR_CLOSES: trigger('operator closes', 'an operator closes the chat'),
  MEETING_ENDED: trigger('meeting ended', 'someone else deletes the ad hoc meeting'),
  MEETING_ENDED_AGENTS_UNNOTICED: trigger(
    'meeting ended (agents leaving lost)',
    "someone deletes the meeting and the callback reporting its participants' removal is lost; only conversation deleted arrives",
  ),
  RETRY_TIMER: trigger('retry timer', 'the clock reaches the retry deadline'),
  STEP_TIMEOUT: trigger('step timeout', 'the clock reaches the step deadline'),
  AGENT_ACCEPTS: trigger('agent accepts', 'the ringing agent accepts'),
  AGENT_DECLINES: trigger('agent declines', 'the ringing agent declines'),
  OFFER_TIMEOUT: trigger('offer times out', 'the clock reaches the offer deadline while the agent rings'),
  AGENT_FREE: trigger('agents free', 'the agents become available while the chat is queued'),
  QUEUE_TIMER: trigger('queue update timer', 'the clock reaches the next queue position update'),
  QUEUE_EXPIRED: trigger('queue wait over', 'the clock reaches the maximum queue wait'),
  IDLE_TIMER: trigger('customer idle timer', 'the clock reaches the customer-idle deadline'),
  REPLY_TIMER: trigger('reply timer', 'the clock reaches the agent-reply deadline'),
  AGENT_LEAVES: trigger('agent leaves', 'the only agent leaves the meeting'),
  TRANSFER: trigger('transfer', 'an operator transfers the chat to the other agent'),
  ADD_AGENT: trigger('add agent', 'an operator adds the other agent'),
  MONITOR: trigger('monitor', 'an operator has a supervisor monitor the chat'),
  BARGE: trigger('barge in', 'the monitoring supervisor barges in'),
  LATE_AGENT_JOINS: trigger('withdrawn agent joins', 'the agent whose offer was withdrawn accepts after all'),
  RING_OUT: trigger(
    'rings out',
    "the platform's own ring timeout ends the ringing invitation (Failure, Timeout) before the SA's offer deadline",
  ),
  // platform outcomes
  WITHIN_HOURS: platform('within hours', 'the chat arrives within business hours'),
  AFTER_HOURS: platform('after hours', 'the chat arrives outside business hours'),
  API_OK: platform('ok', "the platform accepts the SA's request"),
  API_UNAVAILABLE: platform('503', 'the platform answers 503 (retryable)'),
  API_REFUSED: platform('403', 'the platform answers 403 (not retryable)'),
  API_TIMES_OUT: platform(
    'times out',
    "the platform holds the request past the SA's API timeout, then carries it out (retryable for the SA)",
  ),
  MEETING_APPEARS: platform(
    'meeting appears late',
    'the meeting of a startAdhocMeeting that timed out reports itself after the SA gave up on it',
  ),
  EFFECT_FAILS: platform('effect fails', 'the side effect itself rejects'),
  MEETING_READY: platform('meeting ready', 'the meeting callbacks arrive'),
  MEETING_FAILS: platform('meeting fails', 'the onlineMeetingInvitation completes with Failure'),
  BRIDGE_READY: platform('bridge ready', 'conversationBridge added arrives'),
  MESSAGING_READY: platform('messaging ready', "the customer's messaging Connected arrives"),
  WELCOME_DELIVERED: platform('welcome delivered', 'message completed Success for the welcome'),
  WELCOME_NOT_DELIVERED: platform('welcome not delivered', 'message completed Failure for the welcome'),
  AGENT_ASSIGNED: platform('agent assigned', 'routing assigns an agent'),
  QUEUED: platform('queued', 'routing queues the chat (no agent available)'),
  QUEUE_POSITION: platform('queue position', 'routing answers with the queue position'),
  NO_AGENT_LEFT: platform('no agent left', 'routing has no agent left to try'),
  UNASKED_QUEUE_UPDATE: platform(
    'unasked queue update',
    'routing sends a queue position the session did not ask for',
  ),
  ROUTING_GIVES_UP: platform('routing gives up', 'routing answers a queued chat that no agent will come'),
  OFFER_CRASHES: platform('offer crashes', 'the offer actor itself fails'),
} as const satisfies Record<string, ModelEventInfo>;

export type ChatModelEventType = keyof typeof MODEL_EVENTS;

const INITIAL_CONTEXT: ChatModelContext = {
  agentTries: 0,
  retried: false,
  meeting: 'none',
  outcome: 'none',
  offerFor: 'chat',
  queuedOnce: false,
  queueUpdated: false,
  withdrawnAgent: false,
  agents: 0,
  supervisor: false,
  staffed: false,
  replyDue: false,
  rerouted: false,
  offerFaulted: false,
  history: false,
  backlog: false,
  ejectPending: false,
};

const chatModelSetup = setup({
  types: { context: {} as ChatModelContext, events: {} as ChatModelEvent },
  actions: {
    /** The step succeeded: the next step starts with its retry unused. */
    stepDone: assign({ retried: false }),
    /** A retryable failure: the step's one retry is now used. */
    backoff: assign({ retried: true }),
    learnMeeting: assign((_, params: { meeting: MeetingKnowledge }) => ({ meeting: params.meeting })),
    /** The chat is ending: record how, and what is left to release. */
    settle: assign(({ context }, params: { outcome: ModelOutcome; meeting?: MeetingKnowledge }) => ({
      ...INITIAL_CONTEXT,
      outcome: params.outcome,
      meeting: params.meeting ?? context.meeting,
    })),
    startOffer: assign((_, params: { purpose: OfferPurpose }) => ({
      offerFor: params.purpose,
      retried: false,
    })),
    /** The offer did not end with the agent joining (a chat offer counts as a try of this round). */
    offerLost: assign(({ context }) =>
      context.offerFor === 'chat'
        ? { retried: false, agentTries: Math.min(context.agentTries + 1, 2) as 0 | 1 | 2 }
        : { retried: false, offerFor: 'chat' as const },
    ),
    /** A chat offer withdrawn while the agent's phone rang leaves an agent who may still join late. */
    ringingWithdrawn: assign(({ context }) => (context.offerFor === 'chat' ? { withdrawnAgent: true } : {})),
    agentJoined: assign(({ context }) => {
      // What routing and offers kept track of no longer matters once the agent is in.
      const done = { retried: false, offerFor: 'chat' as const, agentTries: 0 as const, offerFaulted: false };
      switch (context.offerFor) {
        case 'chat':
          // What the customer wrote while waiting is relayed to the agent, who owes an answer.
          return {
            ...done,
            agents: 1 as const,
            queuedOnce: false,
            queueUpdated: false,
            backlog: false,
            replyDue: context.backlog,
          };
        case 'add':
          return { ...done, agents: 2 as const };
        case 'monitor':
          return { ...done, supervisor: true };
        default:
          return done;
      }
    }),
    /** The customer writes while no agent is in the chat: kept for the agent who joins. */
    wroteWaiting: assign({ backlog: true, history: true }),
    ejectAfterBriefing: assign({ ejectPending: true }),
    /** The relay to whoever joined went out (or was given up): a pending show-out comes next. */
    briefed: assign({ ejectPending: false, retried: false }),
    /** The platform failed a chat offer (its retries were used up): the chat waits and routes again. */
    offerFault: assign({ offerFaulted: true, retried: false }),
    enterWelcomed: assign({ agentTries: 0, retried: false, queueUpdated: false, queuedOnce: false }),
  },
  guards: {
    notRetried: ({ context }) => !context.retried,
    meetingPending: ({ context }) => context.meeting === 'requested' || context.meeting === 'late',
    meetingRequested: ({ context }) => context.meeting === 'requested',
    meetingLate: ({ context }) => context.meeting === 'late',
    meetingNotLate: ({ context }) => context.meeting !== 'late',
    rerouted: ({ context }) => context.rerouted,
    meetingKnown: ({ context }) => context.meeting === 'known',
    meetingKnownNotRetried: ({ context }) => context.meeting === 'known' && !context.retried,
    canAssign: ({ context }) => context.agentTries < 2,
    canQueue: ({ context }) => context.agentTries === 0 && !context.queuedOnce,
    noAgentLeft: ({ context }) => context.agentTries === 2,
    firstQueueUpdate: ({ context }) => !context.queueUpdated,
    queueUpdatedOnce: ({ context }) => context.queueUpdated,
    transferOffer: ({ context }) => context.offerFor === 'transfer',
    quiet: ({ context }) => !context.replyDue,
    replyDue: ({ context }) => context.replyDue,
    canStaff: ({ context }) => !context.staffed,
    hasSupervisor: ({ context }) => context.supervisor,
    soleAgentCanLeave: ({ context }) => context.agents === 1 && !context.supervisor && !context.rerouted,
    strayPossible: ({ context }) => context.withdrawnAgent,
    offerNotFaulted: ({ context }) => !context.offerFaulted,
    noBacklog: ({ context }) => !context.backlog,
    historyKept: ({ context }) => context.history,
    transferWithHistory: ({ context }) => context.history && context.offerFor === 'transfer',
    ejectPending: ({ context }) => context.ejectPending,
  },
});

const M = `#${CHAT_MODEL_ID}`;
const TERMINATED = `${M}.terminated`;

const settle = (outcome: ModelOutcome, meeting?: MeetingKnowledge) =>
  ({ type: 'settle', params: meeting ? { outcome, meeting } : { outcome } }) as const;
const learn = (meeting: MeetingKnowledge) => ({ type: 'learnMeeting', params: { meeting } }) as const;

/**
 * Into `failed` (or `abandoned`): release at once what is known (the customer is told or declined); a
 * meeting whose href is unknown is waited for afterwards.
 */
function ending(state: 'failed' | 'abandoned', outcome: ModelOutcome = state) {
  return { target: `${M}.${state}.releasing`, actions: settle(outcome) } as const;
}
const toFailed = ending('failed');
const toAbandoned = ending('abandoned');
const failedAt = { target: `${M}.failed.releasing`, actions: settle('failed') } as const;
const meetingGone = { target: `${M}.failed.releasing`, actions: settle('failed', 'gone') } as const;

/** A step that calls the platform: ok → `next`; 503 → `backoffState` the first time, give up the second; 403 → give up. */
function apiStep<const G extends object>(next: string, backoffState: string, giveUp: G) {
  return {
    API_OK: { target: next, actions: 'stepDone' },
    API_UNAVAILABLE: [{ guard: 'notRetried', target: backoffState, actions: 'backoff' }, giveUp],
    API_REFUSED: giveUp,
  } as const;
}

/** A best-effort message (queue position, idle warning, nudge, agent left): sent or not, the chat goes on. */
function bestEffort(next: string) {
  return {
    API_OK: { target: next, actions: 'stepDone' },
    API_UNAVAILABLE: { target: next, actions: 'stepDone' },
  } as const;
}

/**
 * What can interrupt a chat while the SA waits (offered only where the real session rests). The
 * "unnoticed" leave needs a connected customer: only then is there a Disconnected callback to lose.
 */
function interruptions<const U extends boolean>(unnoticed: U) {
  return {
    CUSTOMER_LEAVES: toAbandoned,
    OPERATOR_CLOSES: toAbandoned,
    // After an agent served the customer (and left), the meeting ending completes the chat.
    MEETING_ENDED: [
      { guard: 'rerouted', target: `${M}.closed.releasing`, actions: settle('completed', 'gone') },
      meetingGone,
    ] as const,
    ...((unnoticed ? { CUSTOMER_LEAVES_UNNOTICED: toAbandoned } : {}) as U extends true
      ? { CUSTOMER_LEAVES_UNNOTICED: typeof toAbandoned }
      : object),
  };
}

/** Teardown: the meeting is deleted only when its href is known, so only then can that DELETE fail. */
const teardownEvents = {
  API_UNAVAILABLE: [
    { guard: 'meetingKnownNotRetried', target: 'backoff', actions: 'backoff' },
    { guard: 'meetingKnown', target: TERMINATED },
  ],
  API_REFUSED: { guard: 'meetingKnown', target: TERMINATED },
} as const;

/** How `closed` ends: the meeting is known (or gone); release, then terminated. */
const closing = {
  releasing: { on: { API_OK: { target: TERMINATED }, ...teardownEvents } },
  backoff: { on: { RETRY_TIMER: { target: 'releasing' } } },
} as const;

/**
 * How `abandoned` and `failed` end: release at once; then, if a meeting may still report itself, wait for
 * it (only the step deadline ends that wait) and release it too should it appear.
 */
const endingStates = {
  releasing: {
    on: {
      API_OK: [{ guard: 'meetingPending', target: 'awaitingConference' }, { target: TERMINATED }],
      ...teardownEvents,
    },
  },
  backoff: { on: { RETRY_TIMER: { target: 'releasing' } } },
  awaitingConference: {
    on: {
      STEP_TIMEOUT: { guard: 'meetingRequested', target: TERMINATED, actions: learn('none') },
      MEETING_APPEARS: { guard: 'meetingLate', target: 'releasing', actions: learn('known') },
    },
  },
} as const;

/**
 * The agent-offer lifecycle (`machines/agentOffer.ts`: bridge the agent, invite, ring, then joined /
 * declined / withdrawn / failed), parametrised by where the chat goes when the offer ends. Used for the
 * chat's own offers (`welcomed.offering`) and for staffing offers (`agentsJoined.staffOffer`).
 */
export function offerStates<
  const A extends object,
  const F extends readonly object[],
  const I extends object,
>(ends: {
  /** The agent joined: the transition(s) to take. */
  accepted: A;
  /** Where the chat goes when the agent declined or let it ring (the agent's doing). */
  lost: string;
  /** The transitions when the platform failed the offer (not the agent's doing). */
  faulted: F;
  /** Interruptions while the agent's phone rings (the chat's own handlers). */
  interruptions: I;
}) {
  const lost = { target: ends.lost, actions: 'offerLost' } as const;
  return {
    initial: 'bridging',
    states: {
      bridging: {
        on: {
          API_OK: { target: 'inviting', actions: 'stepDone' },
          API_UNAVAILABLE: [
            { guard: 'notRetried', target: 'bridgingBackoff', actions: 'backoff' },
            ...ends.faulted,
          ],
          API_REFUSED: ends.faulted,
        },
      },
      bridgingBackoff: { on: { RETRY_TIMER: { target: 'bridging' } } },
      inviting: {
        on: {
          API_OK: { target: 'ringing', actions: 'stepDone' },
          API_UNAVAILABLE: [
            { guard: 'notRetried', target: 'invitingBackoff', actions: 'backoff' },
            { target: 'unbridging', actions: 'stepDone' },
          ],
          API_REFUSED: { target: 'unbridging', actions: 'stepDone' },
          OFFER_CRASHES: lost,
        },
      },
      invitingBackoff: { on: { RETRY_TIMER: { target: 'inviting' } } },
      ringing: {
        on: {
          AGENT_ACCEPTS: ends.accepted,
          AGENT_DECLINES: { target: 'declining' },
          OFFER_TIMEOUT: { target: 'withdrawing', actions: 'ringingWithdrawn' },
          RING_OUT: { target: 'withdrawing' },
          ...ends.interruptions,
        },
      },
      // Taking the bridge entry back: best effort, the offer ends either way.
      declining: { on: { API_OK: lost, API_UNAVAILABLE: lost } },
      withdrawing: { on: { API_OK: lost, API_UNAVAILABLE: lost } },
      unbridging: { on: { API_OK: ends.faulted, API_UNAVAILABLE: ends.faulted } },
    },
  } as const;
}

const CHATTING = `${M}.agentsJoined.chatting`;

export const chatModel = chatModelSetup.createMachine({
  id: CHAT_MODEL_ID,
  context: INITIAL_CONTEXT,
  initial: 'idle',
  states: {
    idle: { on: { CUSTOMER_STARTS: { target: 'invited' } } },
    invited: {
      initial: 'checkingHours',
      states: {
        checkingHours: {
          on: {
            WITHIN_HOURS: { target: 'starting' },
            AFTER_HOURS: { target: `${M}.failed.releasing`, actions: settle('outsideHours', 'none') },
          },
        },
        starting: {
          on: {
            API_OK: { target: `${M}.adhocMeeting`, actions: ['stepDone', learn('known')] },
            API_UNAVAILABLE: [
              { guard: 'notRetried', target: 'backoff', actions: ['backoff', learn('requested')] },
              // Retries used up on an ambiguous answer: the meeting may exist, its href is unknown (and an
              // earlier attempt that timed out will still create it).
              { guard: 'meetingLate', target: `${M}.failed.releasing`, actions: settle('failed') },
              { target: `${M}.failed.releasing`, actions: settle('failed', 'requested') },
            ],
            API_TIMES_OUT: [
              { guard: 'notRetried', target: 'backoff', actions: ['backoff', learn('late')] },
              { target: `${M}.failed.releasing`, actions: settle('failed', 'late') },
            ],
            // A definite refusal created nothing, even after an earlier ambiguous 503 (after an attempt
            // that took effect the platform would answer the retry with that attempt's result).
            API_REFUSED: {
              guard: 'meetingNotLate',
              target: `${M}.failed.releasing`,
              actions: settle('failed', 'none'),
            },
          },
        },
        backoff: {
          on: {
            RETRY_TIMER: { target: 'starting' },
            CUSTOMER_LEAVES: toAbandoned,
            OPERATOR_CLOSES: toAbandoned,
          },
        },
      },
    },
    // Waiting for the meeting's callbacks.
    adhocMeeting: {
      on: {
        MEETING_READY: { target: 'conferenced' },
        MEETING_FAILS: toFailed,
        STEP_TIMEOUT: toFailed,
        ...interruptions(false),
      },
    },
    conferenced: {
      initial: 'addingMessaging',
      states: {
        addingMessaging: { on: apiStep('bridging', 'messagingBackoff', failedAt) },
        messagingBackoff: { on: { RETRY_TIMER: { target: 'addingMessaging' }, ...interruptions(false) } },
        bridging: { on: apiStep('awaitingBridge', 'bridgingBackoff', failedAt) },
        bridgingBackoff: { on: { RETRY_TIMER: { target: 'bridging' }, ...interruptions(false) } },
        awaitingBridge: {
          on: { BRIDGE_READY: { target: `${M}.bridged` }, STEP_TIMEOUT: toFailed, ...interruptions(false) },
        },
      },
    },
    bridged: {
      initial: 'awaitingMessaging',
      states: {
        // The customer's messaging is not connected yet: there is no Disconnected to lose.
        awaitingMessaging: {
          on: {
            MESSAGING_READY: { target: 'sendingWelcome' },
            STEP_TIMEOUT: toFailed,
            ...interruptions(false),
          },
        },
        sendingWelcome: { on: apiStep('awaitingDelivery', 'welcomeBackoff', failedAt) },
        welcomeBackoff: { on: { RETRY_TIMER: { target: 'sendingWelcome' }, ...interruptions(true) } },
        awaitingDelivery: {
          on: {
            WELCOME_DELIVERED: { target: `${M}.welcomed`, actions: 'enterWelcomed' },
            WELCOME_NOT_DELIVERED: toFailed,
            STEP_TIMEOUT: toFailed,
            ...interruptions(true),
          },
        },
      },
    },
    welcomed: {
      initial: 'routing',
      states: {
        // The last agent left: the customer is told (best effort), then the chat is routed again.
        announcingAgentLeft: { on: bestEffort('routing') },
        routing: {
          on: {
            AGENT_ASSIGNED: {
              guard: 'canAssign',
              target: 'offering',
              actions: { type: 'startOffer', params: { purpose: 'chat' } },
            },
            QUEUED: { guard: 'canQueue', target: 'queued', actions: assign({ queuedOnce: true }) },
            NO_AGENT_LEFT: {
              guard: 'noAgentLeft',
              target: `${M}.failed.releasing`,
              actions: settle('noAgent'),
            },
          },
        },
        queued: {
          initial: 'informing',
          states: {
            // The position message to the customer (best effort).
            informing: { on: bestEffort('waiting') },
            waiting: {
              on: {
                QUEUE_TIMER: {
                  guard: 'firstQueueUpdate',
                  target: 'asking',
                  actions: assign({ queueUpdated: true }),
                },
                QUEUE_EXPIRED: {
                  guard: 'queueUpdatedOnce',
                  target: `${M}.failed.releasing`,
                  actions: settle('queueTimeout'),
                },
                AGENT_FREE: {
                  guard: 'firstQueueUpdate',
                  target: `${M}.welcomed.offering`,
                  actions: { type: 'startOffer', params: { purpose: 'chat' } },
                },
                UNASKED_QUEUE_UPDATE: { guard: 'firstQueueUpdate', target: 'informing' },
                CUSTOMER_WRITES: { guard: 'noBacklog', actions: 'wroteWaiting' },
                ROUTING_GIVES_UP: { target: `${M}.failed.releasing`, actions: settle('noAgent') },
                ...interruptions(true),
              },
            },
            asking: { on: { QUEUE_POSITION: { target: 'informing' } } },
          },
        },
        offering: offerStates({
          // The agent is sent what they missed first (the history, what the customer wrote meanwhile).
          accepted: [
            { guard: 'historyKept', target: `${M}.agentsJoined.briefing`, actions: 'agentJoined' },
            { target: CHATTING, actions: 'agentJoined' },
          ],
          lost: `${M}.welcomed.routing`,
          // Not the agent's doing: wait and route again; a second fault in a row fails the chat.
          faulted: [
            {
              guard: 'offerNotFaulted',
              target: `${M}.welcomed.offerBackoff`,
              actions: 'offerFault',
            },
            { target: `${M}.failed.releasing`, actions: settle('failed') },
          ],
          interruptions: {
            ...interruptions(true),
            CUSTOMER_WRITES: { guard: 'noBacklog', actions: 'wroteWaiting' },
          },
        }),
        offerBackoff: { on: { RETRY_TIMER: { target: 'routing' }, ...interruptions(true) } },
      },
    },
    agentsJoined: {
      initial: 'chatting',
      states: {
        // customer active, replies watched, staffing steady
        chatting: {
          on: {
            CUSTOMER_WRITES: {
              guard: 'quiet',
              target: 'chatting',
              actions: assign({ replyDue: true, history: true }),
            },
            IDLE_TIMER: { guard: 'quiet', target: 'warningIdle' },
            REPLY_TIMER: { guard: 'replyDue', target: 'nudging' },
            AGENT_LEAVES: {
              guard: 'soleAgentCanLeave',
              target: `${M}.welcomed.announcingAgentLeft`,
              actions: ['enterWelcomed', assign({ agents: 0, rerouted: true, replyDue: false })],
            },
            TRANSFER: {
              guard: 'canStaff',
              target: 'staffOffer',
              actions: [assign({ staffed: true }), { type: 'startOffer', params: { purpose: 'transfer' } }],
            },
            ADD_AGENT: {
              guard: 'canStaff',
              target: 'staffOffer',
              actions: [assign({ staffed: true }), { type: 'startOffer', params: { purpose: 'add' } }],
            },
            MONITOR: {
              guard: 'canStaff',
              target: 'staffOffer',
              actions: [assign({ staffed: true }), { type: 'startOffer', params: { purpose: 'monitor' } }],
            },
            BARGE: { guard: 'hasSupervisor', target: 'barging' },
            LATE_AGENT_JOINS: {
              guard: 'strayPossible',
              target: 'ejecting',
              actions: assign({ withdrawnAgent: false }),
            },
            CUSTOMER_LEAVES: { target: `${M}.closed`, actions: settle('completed') },
            CUSTOMER_LEAVES_UNNOTICED: { target: `${M}.closed`, actions: settle('completed') },
            // The meeting's messaging ends first: the chat closes, completed, whatever comes after.
            MEETING_ENDED: { target: `${M}.closed`, actions: settle('completed', 'gone') },
            MEETING_ENDED_AGENTS_UNNOTICED: { target: `${M}.closed`, actions: settle('completed', 'gone') },
            OPERATOR_CLOSES: { target: `${M}.closed`, actions: settle('closedBySa') },
          },
        },
        // The idle warning to the customer (best effort), then a last grace period.
        warningIdle: { on: bestEffort('idleGrace') },
        idleGrace: {
          on: {
            IDLE_TIMER: { target: `${M}.closed`, actions: settle('idle') },
            CUSTOMER_WRITES: { target: 'chatting', actions: assign({ replyDue: true, history: true }) },
          },
        },
        // The nudge to the agents in the meeting (best effort).
        nudging: {
          on: {
            API_OK: { target: 'chatting', actions: assign({ replyDue: false }) },
            API_UNAVAILABLE: { target: 'chatting', actions: assign({ replyDue: false }) },
          },
        },
        staffOffer: offerStates({
          accepted: [
            {
              guard: 'transferWithHistory',
              target: `${M}.agentsJoined.briefing`,
              actions: ['agentJoined', 'ejectAfterBriefing'],
            },
            { guard: 'historyKept', target: `${M}.agentsJoined.briefing`, actions: 'agentJoined' },
            { guard: 'transferOffer', target: `${M}.agentsJoined.ejecting`, actions: 'agentJoined' },
            { target: CHATTING, actions: 'agentJoined' },
          ],
          lost: CHATTING,
          faulted: [{ target: CHATTING, actions: 'offerLost' }],
          interruptions: {},
        }),
        // Whoever joined is sent the history and the backlog (retried once), then a transfer's previous
        // agent is shown out.
        briefing: {
          on: {
            API_OK: [
              { guard: 'ejectPending', target: 'ejecting', actions: 'briefed' },
              { target: 'chatting', actions: 'briefed' },
            ],
            API_UNAVAILABLE: [
              { guard: 'notRetried', target: 'briefingBackoff', actions: 'backoff' },
              { guard: 'ejectPending', target: 'ejecting', actions: 'briefed' },
              { target: 'chatting', actions: 'briefed' },
            ],
            API_REFUSED: [
              { guard: 'ejectPending', target: 'ejecting', actions: 'briefed' },
              { target: 'chatting', actions: 'briefed' },
            ],
          },
        },
        briefingBackoff: { on: { RETRY_TIMER: { target: 'briefing' } } },
        // The supervisor's bridge filter turned to Disabled (barge in).
        barging: {
          on: {
            API_OK: { target: 'chatting', actions: assign({ supervisor: false, agents: 2 }) },
            API_UNAVAILABLE: { target: 'chatting' },
          },
        },
        // Showing out agents who should not be there (transferred away, joined late).
        ejecting: {
          on: { API_OK: { target: 'chatting' }, EFFECT_FAILS: { target: 'chatting' } },
        },
      },
    },
    closed: { initial: 'releasing', states: closing },
    abandoned: { initial: 'releasing', states: endingStates },
    failed: { initial: 'releasing', states: endingStates },
    terminated: { type: 'final' },
  },
});

/**
 * What each model state means for the system under test: which platform request the SA makes there
 * (so a platform outcome can be arranged), and which callback ends a wait there (so the wait can be
 * made to last until a trigger). Keys are model state paths, which are also the real machine's leaf
 * state paths (`conferenced.bridging`).
 */
import type { AnyMachineSnapshot, StateValue } from 'xstate';
import { stateId } from '../../src/runtime/sessions.ts';
import { type ChatModelEventType, MODEL_EVENTS } from './chatModel.ts';

/** The side effects of the real machines (`setup({ actors })` names of chatSession and agentOffer). */
export type EffectName =
  | 'startAdhocMeeting'
  | 'addMessaging'
  | 'acceptAndBridge'
  | 'sendMessage'
  | 'addParticipant'
  | 'teardown'
  | 'updateBridgedParticipant'
  | 'ejectParticipants'
  | 'addBridgedParticipant'
  | 'removeBridgedParticipant'
  | 'relayMessages';

export interface ApiStep {
  /** Used in path names: `acceptAndBridge 503`. */
  label: string;
  effect: EffectName;
  /** The SA's request, as an emulator HTTP fault matcher (method + `/regex/` on the path). */
  method: 'POST' | 'PUT' | 'DELETE';
  path: string;
}

const TEARDOWN: ApiStep = {
  label: 'teardown',
  effect: 'teardown',
  // The DELETE of the meeting's conversation (the guest's own DELETE goes to /ucwa/…, not /platformservice/…).
  method: 'DELETE',
  path: '/^/platformservice/.*/communication/conversations/[^/]+$/',
};
/** The SA's sendMessage on either leg (the guest's own messages go to /ucwa/…). */
const SEND = '/^/platformservice/.*/messaging/messages$/';
const BRIDGED_PARTICIPANTS = '/^/platformservice/.*/conversationBridge/bridgedParticipants$/';
const BRIDGED_PARTICIPANT = '/^/platformservice/.*/conversationBridge/bridgedParticipants/[^/]+$/';

function offerSteps(prefix: string, who: string): Record<string, ApiStep> {
  return {
    [`${prefix}.bridging`]: {
      label: `bridge ${who}`,
      effect: 'addBridgedParticipant',
      method: 'POST',
      path: BRIDGED_PARTICIPANTS,
    },
    [`${prefix}.inviting`]: {
      label: `invite ${who}`,
      effect: 'addParticipant',
      method: 'POST',
      path: '/^/platformservice/.*/communication/participantInvitations$/',
    },
    [`${prefix}.declining`]: {
      label: `unbridge ${who}`,
      effect: 'removeBridgedParticipant',
      method: 'DELETE',
      path: BRIDGED_PARTICIPANT,
    },
    [`${prefix}.withdrawing`]: {
      label: `unbridge ${who}`,
      effect: 'removeBridgedParticipant',
      method: 'DELETE',
      path: BRIDGED_PARTICIPANT,
    },
    [`${prefix}.unbridging`]: {
      label: `unbridge ${who}`,
      effect: 'removeBridgedParticipant',
      method: 'DELETE',
      path: BRIDGED_PARTICIPANT,
    },
  };
}

/** Model states where the SA calls the platform, and the call. */
export const API_STEPS: Readonly<Record<string, ApiStep>> = {
  'invited.starting': {
    label: 'startAdhocMeeting',
    effect: 'startAdhocMeeting',
    method: 'POST',
    path: '/^/platformservice/.*/onlineMeetingInvitations/startAdhocMeeting$/',
  },
  'conferenced.addingMessaging': {
    label: 'addMessaging',
    effect: 'addMessaging',
    method: 'POST',
    path: '/^/platformservice/.*/communication/messagingInvitations$/',
  },
  'conferenced.bridging': {
    label: 'acceptAndBridge',
    effect: 'acceptAndBridge',
    method: 'POST',
    path: '/^/platformservice/.*/messagingInvitations/[^/]+/acceptAndBridge$/',
  },
  'bridged.sendingWelcome': { label: 'welcome', effect: 'sendMessage', method: 'POST', path: SEND },
  'welcomed.queued.informing': { label: 'queue message', effect: 'sendMessage', method: 'POST', path: SEND },
  'welcomed.announcingAgentLeft': {
    label: 'agent-left message',
    effect: 'sendMessage',
    method: 'POST',
    path: SEND,
  },
  ...offerSteps('welcomed.offering', 'agent'),
  'agentsJoined.warningIdle': { label: 'idle warning', effect: 'sendMessage', method: 'POST', path: SEND },
  'agentsJoined.nudging': { label: 'nudge', effect: 'sendMessage', method: 'POST', path: SEND },
  'agentsJoined.briefing': { label: 'relay', effect: 'relayMessages', method: 'POST', path: SEND },
  ...offerSteps('agentsJoined.staffOffer', 'staff'),
  'agentsJoined.barging': {
    label: 'barge filter',
    effect: 'updateBridgedParticipant',
    method: 'PUT',
    path: BRIDGED_PARTICIPANT,
  },
  'agentsJoined.ejecting': {
    label: 'eject',
    effect: 'ejectParticipants',
    method: 'POST',
    path: '/^/platformservice/.*/participants/[^/]+/eject$/',
  },
  'closed.releasing': TEARDOWN,
  'abandoned.releasing': TEARDOWN,
  'failed.releasing': TEARDOWN,
};

/**
 * Waits that a callback ends. For a trigger to happen in one of these states, that callback must not
 * arrive: the emulator drops it (a callback fault matching its event summary).
 */
export const STALLS: Readonly<Record<string, { drop: string; callback: string }>> = {
  adhocMeeting: {
    drop: 'onlineMeetingInvitation completed',
    callback: 'onlineMeetingInvitation completed (the meeting is ready)',
  },
  'conferenced.awaitingBridge': { drop: 'conversationBridge added', callback: 'conversationBridge added' },
  'bridged.awaitingMessaging': {
    drop: 'conversation: messaging updated',
    callback: "the customer's messaging updated (Connected)",
  },
  'bridged.awaitingDelivery': { drop: 'message completed', callback: 'message completed (the welcome)' },
};

/** The real agentsJoined value, one atomic state per region. */
export function joined(customer: string, replies: string, staffing: string): string {
  return `agentsJoined.customer.${customer},replies.${replies},staffing.${staffing}`;
}

/** What a model state is in the real machines: the chat session's state, and its offer child's. */
export interface RealState {
  /** `stateId` of the chat session's value (regions of a parallel state joined by commas). */
  chat: string;
  /** The agent offer's state, while one runs. */
  offer?: string;
}

/** The real states a model state stands for (model state paths are leaf paths like `welcomed.offering.ringing`). */
export function realStateOf(modelLeaf: string): RealState {
  const offer = /^(welcomed\.offering|agentsJoined\.staffOffer)\.(\w+)$/.exec(modelLeaf);
  if (offer) {
    return {
      chat: offer[1] === 'welcomed.offering' ? 'welcomed.offering' : joined('active', 'watching', 'offering'),
      offer: offer[2]!,
    };
  }
  switch (modelLeaf) {
    case 'agentsJoined.chatting':
      return { chat: joined('active', 'watching', 'steady') };
    case 'agentsJoined.warningIdle':
      return { chat: joined('warningIdle', 'watching', 'steady') };
    case 'agentsJoined.idleGrace':
      return { chat: joined('idleGrace', 'watching', 'steady') };
    case 'agentsJoined.nudging':
      return { chat: joined('active', 'nudging', 'steady') };
    case 'agentsJoined.barging':
      return { chat: joined('active', 'watching', 'barging') };
    case 'agentsJoined.ejecting':
      return { chat: joined('active', 'watching', 'ejecting') };
    case 'agentsJoined.briefing':
      return { chat: joined('active', 'watching', 'briefing') };
    case 'agentsJoined.briefingBackoff':
      return { chat: joined('active', 'watching', 'briefingBackoff') };
    default:
      return { chat: modelLeaf };
  }
}

/** The atomic state ids a real state consists of (`chatSession.…` and `agentOffer.…`). */
export function atomicIdsOf(real: RealState): string[] {
  const parallel = /^agentsJoined\.(.*)$/.exec(real.chat);
  const chat = parallel
    ? parallel[1]!.split(',').map((region) => `chatSession.agentsJoined.${region}`)
    : [`chatSession.${real.chat}`];
  return real.offer ? [...chat, `agentOffer.${real.offer}`] : chat;
}

/**
 * Real chat states a model step may pass through without a model state of its own: after the ending's
 * teardown, the wait for a meeting ends at once when the SA knows there is none or knows (and released)
 * it; a transfer's new agent is
 * in (staffing steady) for one microstep before the previous one is shown out.
 */
export const PASS_THROUGH: ReadonlySet<string> = new Set([
  'abandoned.awaitingConference',
  'failed.awaitingConference',
  joined('active', 'watching', 'steady'),
]);

/**
 * Real chat states a step may pass through, beyond PASS_THROUGH: when the meeting ends while an agent's
 * phone rings, the platform cancels the invitation first, and the offer may end as the platform's failure
 * (and the session wait to route again) before the meeting's deletion arrives.
 */
export function passThroughFor(step: PathStep): ReadonlySet<string> {
  if (step.event === 'MEETING_ENDED' && step.source === 'welcomed.offering.ringing') {
    return new Set([...PASS_THROUGH, 'welcomed.offerBackoff', 'welcomed.routing', 'welcomed.offering']);
  }
  return PASS_THROUGH;
}

/** The result an offer ends with at this step, if the step ends one. */
export function offerResultOf(step: PathStep): 'accepted' | 'declined' | 'expired' | 'failed' | undefined {
  const offer = /^(welcomed\.offering|agentsJoined\.staffOffer)\.(\w+)$/.exec(step.source);
  if (!offer || realStateOf(step.target).offer !== undefined) return undefined;
  switch (offer[2]) {
    case 'ringing':
      return step.event === 'AGENT_ACCEPTS' ? 'accepted' : undefined;
    case 'declining':
      return 'declined';
    case 'withdrawing':
      return 'expired';
    case 'bridging':
    case 'unbridging':
      return 'failed';
    default:
      return undefined;
  }
}

/** `{ conferenced: 'awaitingBridge' }` → `conferenced.awaitingBridge` (leaf path, no machine id). */
export const leafOf: (value: StateValue) => string = stateId;

export interface PathStep {
  /** Model state (leaf path) the event happens in. */
  source: string;
  event: ChatModelEventType;
  /** Model state (leaf path) after the event. */
  target: string;
}

/** A readable label for one step, or undefined for an unremarkable platform outcome (ok, ready, …). */
export function stepLabel(step: PathStep): string | undefined {
  const info = MODEL_EVENTS[step.event];
  if (info.kind === 'trigger') {
    return step.source === 'idle' ? info.label : `[${step.source}] ${info.label}`;
  }
  if (step.event === 'API_UNAVAILABLE' || step.event === 'API_REFUSED' || step.event === 'API_TIMES_OUT') {
    return `${API_STEPS[step.source]?.label ?? step.source} ${info.label}`;
  }
  const unremarkable: ChatModelEventType[] = [
    'WITHIN_HOURS',
    'API_OK',
    'MEETING_READY',
    'BRIDGE_READY',
    'MESSAGING_READY',
    'WELCOME_DELIVERED',
    'AGENT_ASSIGNED',
    'QUEUE_POSITION',
  ];
  return unremarkable.includes(step.event) ? undefined : info.label;
}

/** The steps of a path of snapshots (the first step of a graph path is the initial state). */
export function pathSteps(steps: ReadonlyArray<{ state: AnyMachineSnapshot; event: { type: string } }>) {
  return steps.slice(1).map(
    (step, i): PathStep => ({
      source: leafOf(steps[i]!.state.value),
      event: step.event.type as ChatModelEventType,
      target: leafOf(step.state.value),
    }),
  );
}

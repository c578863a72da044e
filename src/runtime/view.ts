/**
 * What operators and dashboards see of a session (`GET /sessions/:id`), built the same way from a live
 * actor's snapshot and from a stored one.
 */
import { matchesState, type StateValue } from 'xstate';
import type { ChatSessionContext } from '../../machines/chatSession/index.ts';

export interface SessionView {
  id: string;
  /** The top-level state (invited, adhocMeeting, …, terminated). */
  state: string;
  /** The full state value, e.g. `{ "conferenced": "awaitingBridge" }`. */
  stateValue: StateValue;
  status: 'active' | 'done' | 'error';
  outcome: string | null;
  createdAt: string;
  updatedAt: string;
  customer: { name?: string; uri?: string; subject?: string };
  agents: Array<{ uri: string; name: string; joined: boolean }>;
  participants: Array<{ uri?: string; name?: string; leg: 'p2p' | 'conference'; present: boolean }>;
  /** Every state (leaf path) the session went through, with when. */
  history: Array<{ state: string; at: string }>;
  operations: string[];
  /** Why each agent was chosen (candidates, scores, winner), in order. */
  assignments: unknown[];
  /** The agent being offered the chat right now, if any. */
  offering: { uri: string; name: string } | null;
  /** Position in the queue while queued. */
  queuePosition: number | null;
  deadlines: Record<string, string>;
  conversations: { p2p?: string; conference?: string };
  error: { step: string; code: string; message: string } | null;
}

export type Participant = SessionView['participants'][number];

/** What a view is made of: the machine's part (snapshot) and the SA's own bookkeeping. */
export interface ViewParts {
  id: string;
  value: StateValue;
  /** The snapshot's status (`stopped` counts as done). */
  status: string;
  context: ChatSessionContext;
  createdAt: number;
  updatedAt: number;
  participants: Iterable<Participant>;
  history: ReadonlyArray<{ state: string; at: number }>;
}

/** `{ conferenced: 'awaitingBridge' }` → `conferenced.awaitingBridge`. */
export function stateId(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, child]) =>
      child && (typeof child === 'string' || Object.keys(child).length)
        ? `${key}.${stateId(child as StateValue)}`
        : key,
    )
    .join(',');
}

/** The top-level state of a state value. */
export function topState(value: StateValue): string {
  return typeof value === 'string' ? value : (Object.keys(value)[0] ?? '');
}

export function buildView(parts: ViewParts): SessionView {
  const { context } = parts;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: parts.id,
    state: topState(parts.value),
    stateValue: parts.value,
    status: parts.status === 'active' ? 'active' : parts.status === 'error' ? 'error' : 'done',
    outcome: context.outcome ?? null,
    createdAt: iso(parts.createdAt),
    updatedAt: iso(parts.updatedAt),
    customer: {
      ...(context.customer.name ? { name: context.customer.name } : {}),
      ...(context.customer.uri ? { uri: context.customer.uri } : {}),
      ...(context.customer.subject ? { subject: context.customer.subject } : {}),
    },
    agents: context.joinedAgents.map((agent) => ({ uri: agent.uri, name: agent.name, joined: true })),
    participants: [...parts.participants],
    history: parts.history.map((h) => ({ state: h.state, at: iso(h.at) })),
    operations: context.operations,
    assignments: context.assignments,
    offering:
      parts.status === 'active' && matchesState({ welcomed: 'offering' }, parts.value) && context.currentAgent
        ? { ...context.currentAgent }
        : null,
    queuePosition: context.queue.position ?? null,
    deadlines: Object.fromEntries(
      Object.entries(context.deadlines).map(([name, at]) => [name, iso(at as number)]),
    ),
    conversations: {
      ...(context.p2p.conversationHref ? { p2p: context.p2p.conversationHref } : {}),
      ...(context.conference.conversationHref ? { conference: context.conference.conversationHref } : {}),
    },
    error: context.error
      ? { step: context.error.step, code: context.error.code, message: context.error.message }
      : null,
  };
}

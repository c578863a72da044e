/**
 * Sessions as the store keeps them, read back for operators once they have left memory: a session's view
 * and transcript, the paged listing of `GET /sessions`, and the left messages of customers nobody served.
 */
import type { StateValue } from 'xstate';
import type { ChatSessionContext } from '../../machines/chatSession/index.ts';
import { DEFAULT_PAGE_LIMIT, type JsonObject, type SessionQuery, type Store } from '../store/index.ts';
import type { LeftMessage, TranscriptEntry } from './records.ts';
import { buildView, type Participant, type SessionView } from './view.ts';

/** A page of `GET /sessions`. */
export interface SessionListing {
  sessions: SessionRow[];
  nextCursor: string | null;
}

/** A session in a listing: enough to find it; `GET /sessions/:id` has the rest. */
export interface SessionRow {
  id: string;
  state: string;
  /** The full state value, e.g. `{ "conferenced": "awaitingBridge" }`. */
  stateValue: StateValue;
  status: 'active' | 'done' | 'error';
  outcome: string | null;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
  customer: { name?: string; uri?: string; subject?: string };
  /** The agents who joined the chat. */
  agents: Array<{ uri: string; name: string; joined: true }>;
  error: { step: string; code: string; message: string } | null;
}

/** What a listing and a resumed session need besides the snapshot; kept in the session row. */
export interface Summary {
  stateValue?: StateValue;
  error?: { step: string; code: string; message: string } | null;
  customer: { name?: string; uri?: string; subject?: string };
  agents: Array<{ uri: string; name: string }>;
  history: Array<{ state: string; at: number }>;
  participants: Participant[];
  /** Deadlines that already fired (`<actor>/<timer>@<at>`): not armed again on resume. */
  fired: string[];
}

/** A stored summary, tolerant of one written by an older version (missing members are empty). */
export function readSummary(value: JsonObject): Summary {
  const v = value as Partial<Summary>;
  return {
    ...(v.stateValue !== undefined ? { stateValue: v.stateValue } : {}),
    error: v.error ?? null,
    customer: v.customer ?? {},
    agents: Array.isArray(v.agents) ? v.agents : [],
    history: Array.isArray(v.history) ? v.history : [],
    participants: Array.isArray(v.participants) ? v.participants : [],
    fired: Array.isArray(v.fired) ? v.fired : [],
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function storedView(store: Store, id: string): Promise<SessionView | undefined> {
  const stored = await store.sessions.load(id);
  if (!stored) return undefined;
  const summary = readSummary(stored.summary);
  const snapshot = stored.snapshot as unknown as { value: StateValue; context: ChatSessionContext };
  return buildView({
    id,
    value: snapshot.value,
    status: stored.status,
    context: snapshot.context,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    participants: summary.participants,
    history: summary.history,
  });
}

/** The stored transcript; undefined for an unknown session. */
export async function storedTranscript(store: Store, id: string): Promise<TranscriptEntry[] | undefined> {
  if (!(await store.sessions.load(id))) return undefined;
  return (await store.transcripts.read(id)).map((line) => line.entry as unknown as TranscriptEntry);
}

export async function storedPage(store: Store, query: SessionQuery): Promise<SessionListing> {
  const page = await store.sessions.list(query);
  return {
    sessions: page.items.map((item) => {
      const summary = readSummary(item.summary);
      return {
        id: item.id,
        state: item.state,
        stateValue: summary.stateValue ?? item.state,
        status: item.status === 'active' ? 'active' : item.status === 'error' ? 'error' : 'done',
        outcome: item.outcome,
        createdAt: iso(item.createdAt),
        updatedAt: iso(item.updatedAt),
        endedAt: item.endedAt === null ? null : iso(item.endedAt),
        customer: summary.customer,
        agents: summary.agents.map(({ uri, name }) => ({ uri, name, joined: true as const })),
        error: summary.error ?? null,
      };
    }),
    nextCursor: page.nextCursor,
  };
}

/** The same listing over sessions held in memory (a runtime without a store): one page, newest first. */
export function memoryPage(views: SessionView[], query: SessionQuery): SessionListing {
  const rows = views
    .filter((v) => (query.state ? v.state === query.state : true))
    .filter((v) => (query.outcome ? v.outcome === query.outcome : true))
    .filter((v) => (query.since !== undefined ? Date.parse(v.createdAt) >= query.since : true))
    .reverse()
    .slice(0, query.limit ?? DEFAULT_PAGE_LIMIT);
  return {
    sessions: rows.map((v) => ({
      id: v.id,
      state: v.state,
      stateValue: v.stateValue,
      status: v.status,
      outcome: v.outcome,
      createdAt: v.createdAt,
      updatedAt: v.updatedAt,
      endedAt: v.status === 'active' ? null : v.updatedAt,
      customer: v.customer,
      agents: v.agents.map(({ uri, name }) => ({ uri, name, joined: true as const })),
      error: v.error,
    })),
    nextCursor: null,
  };
}

export async function storedLeftMessages(
  store: Store,
  query: { since?: number; limit?: number; cursor?: string },
): Promise<{ leftMessages: LeftMessage[]; nextCursor: string | null }> {
  const page = await store.leftMessages.list(query);
  return {
    leftMessages: page.items.map((item) => {
      const content = item.content as unknown as Partial<Pick<LeftMessage, 'customer' | 'messages'>>;
      return {
        sessionId: item.sessionId,
        at: iso(item.at),
        outcome: item.outcome,
        customer: content.customer ?? {},
        messages: content.messages ?? [],
      };
    }),
    nextCursor: page.nextCursor,
  };
}

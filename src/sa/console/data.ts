/**
 * What the operator console shows, computed from the session manager and the router: the supervisor's
 * dashboard (sessions, queue, agents, today's figures), one session (state, transcript, routing decisions),
 * and an agent's own view (presence, own chats with what the customer wrote before the agent joined,
 * earlier chats). Pure reads; the console serves them as JSON and as server-sent events.
 */
import type { AgentView, Router } from '../../runtime/router.ts';
import {
  type SessionManager,
  type SessionView,
  stateId,
  type TranscriptEntry,
} from '../../runtime/sessions.ts';
import { mergeTranscript } from '../transcript.ts';

export interface ConsoleSources {
  sessions: SessionManager;
  router: Router;
  now: () => number;
}

export interface SessionRow {
  id: string;
  /** Top-level state (invited, …, agentsJoined, …, terminated). */
  state: string;
  /** Full state path, e.g. `agentsJoined.customer.chatting`. */
  detail: string;
  status: SessionView['status'];
  outcome: string | null;
  customer: { name: string | null; topic: string | null };
  agents: Array<{ uri: string; name: string }>;
  offering: { uri: string; name: string } | null;
  queuePosition: number | null;
  createdAt: string;
  /** Waiting time until the first agent joined; still waiting: until now; never answered: until it ended. */
  waitMs: number;
  answered: boolean;
}

export interface Figures {
  /** The local day the figures are for (YYYY-MM-DD). */
  day: string;
  chats: number;
  answered: number;
  /** Mean wait of today's answered chats (ms); null: none answered yet. */
  averageWaitMs: number | null;
  abandoned: number;
  ended: number;
  /** abandoned / ended (0..1); null: none ended yet. */
  abandonmentRate: number | null;
}

export interface Dashboard {
  at: string;
  sessions: SessionRow[];
  queue: ReturnType<Router['queued']>;
  agents: AgentView[];
  figures: Figures;
}

const MAX_ROWS = 200;

function firstJoin(view: SessionView): number | undefined {
  const entry = view.history.find((h) => h.state.startsWith('agentsJoined'));
  return entry ? Date.parse(entry.at) : undefined;
}

export function sessionRow(view: SessionView, now: number): SessionRow {
  const created = Date.parse(view.createdAt);
  const joined = firstJoin(view);
  const end = view.status === 'active' ? now : Date.parse(view.updatedAt);
  return {
    id: view.id,
    state: view.state,
    detail: stateId(view.stateValue),
    status: view.status,
    outcome: view.outcome,
    customer: { name: view.customer.name ?? null, topic: view.customer.subject ?? null },
    agents: view.agents.map((a) => ({ uri: a.uri, name: a.name })),
    offering: view.offering,
    queuePosition: view.queuePosition,
    createdAt: view.createdAt,
    waitMs: Math.max(0, (joined ?? end) - created),
    answered: joined !== undefined,
  };
}

function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function figures(rows: SessionRow[], now: number): Figures {
  const day = localDay(now);
  const today = rows.filter((r) => localDay(Date.parse(r.createdAt)) === day);
  const answered = today.filter((r) => r.answered);
  const ended = today.filter((r) => r.status !== 'active');
  const abandoned = today.filter((r) => r.outcome === 'abandoned').length;
  return {
    day,
    chats: today.length,
    answered: answered.length,
    averageWaitMs: answered.length
      ? Math.round(answered.reduce((sum, r) => sum + r.waitMs, 0) / answered.length)
      : null,
    abandoned,
    ended: ended.length,
    abandonmentRate: ended.length ? abandoned / ended.length : null,
  };
}

export function dashboard(src: ConsoleSources): Dashboard {
  const now = src.now();
  const rows = src.sessions.list().map((view) => sessionRow(view, now));
  const shown = rows
    .slice()
    .sort(
      (a, b) =>
        Number(b.status === 'active') - Number(a.status === 'active') ||
        b.createdAt.localeCompare(a.createdAt),
    )
    .slice(0, MAX_ROWS);
  return {
    at: new Date(now).toISOString(),
    sessions: shown,
    queue: src.router.queued(),
    agents: src.router.agents(),
    figures: figures(rows, now),
  };
}

/** Every SIP URI that is or was an agent of the chat (joined, offered, or a participant). */
export function agentsOf(view: SessionView): string[] {
  return [
    ...view.agents.map((a) => a.uri),
    ...view.participants.map((p) => p.uri ?? ''),
    view.offering?.uri ?? '',
  ]
    .filter(Boolean)
    .map((uri) => uri.toLowerCase());
}

export interface SessionDetail {
  row: SessionRow;
  session: SessionView;
  transcript: TranscriptEntry[];
  /** The chart changes with the state: the console reloads it when this changes. */
  chartVersion: string;
}

export function sessionDetail(src: ConsoleSources, id: string): SessionDetail | undefined {
  const view = src.sessions.get(id);
  const transcript = src.sessions.transcript(id);
  if (!view || !transcript) return undefined;
  return {
    row: sessionRow(view, src.now()),
    session: view,
    transcript: mergeTranscript(transcript, view),
    chartVersion: `${view.history.length}-${stateId(view.stateValue)}`,
  };
}

export interface AgentChat {
  id: string;
  state: string;
  status: SessionView['status'];
  outcome: string | null;
  createdAt: string;
  customer: { name: string | null; topic: string | null };
  /** What the customer wrote before this agent joined. */
  before: Array<{ at: string; text: string }>;
}

export interface AgentHome {
  at: string;
  user: { name: string; role: string; agentUri: string | null };
  /** The agent as routing sees them (null: not in the roster, or a supervisor). */
  agent: AgentView | null;
  chats: AgentChat[];
  earlier: AgentChat[];
}

function agentChat(src: ConsoleSources, view: SessionView, agentUri: string): AgentChat {
  const transcript = src.sessions.transcript(view.id) ?? [];
  const agent = view.agents.find((a) => a.uri.toLowerCase() === agentUri);
  const agentName =
    agent?.name ?? view.participants.find((p) => p.uri?.toLowerCase() === agentUri)?.name ?? undefined;
  const joinedAt = transcript.find(
    (e) =>
      e.kind === 'participant' && e.change === 'added' && agentName !== undefined && e.from === agentName,
  )?.at;
  const customer = view.customer.name;
  const before = transcript
    .filter(
      (e) =>
        e.kind === 'message' &&
        e.direction === 'Incoming' &&
        (!customer || e.from === customer) &&
        (joinedAt === undefined || e.at < joinedAt),
    )
    .map((e) => ({ at: e.at, text: e.text ?? '' }));
  return {
    id: view.id,
    state: view.state,
    status: view.status,
    outcome: view.outcome,
    createdAt: view.createdAt,
    customer: { name: customer ?? null, topic: view.customer.subject ?? null },
    before,
  };
}

export function agentHome(
  src: ConsoleSources,
  user: { name: string; role: string; agentUri?: string },
): AgentHome {
  const uri = user.agentUri?.toLowerCase();
  let agent: AgentView | null = null;
  if (uri) agent = src.router.agents().find((a) => a.uri.toLowerCase() === uri) ?? null;
  const own = uri ? src.sessions.list().filter((view) => agentsOf(view).includes(uri)) : [];
  const chats = own.filter((v) => v.status === 'active').map((v) => agentChat(src, v, uri!));
  const earlier = own
    .filter((v) => v.status !== 'active')
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, 50)
    .map((v) => agentChat(src, v, uri!));
  return {
    at: new Date(src.now()).toISOString(),
    user: { name: user.name, role: user.role, agentUri: user.agentUri ?? null },
    agent,
    chats,
    earlier,
  };
}

/**
 * The in-process figures: a real chat recorded once (emulator + SA in this process, as `carechat start`
 * runs them), then
 *   - the machine alone: the recorded callback events replayed through the chat-session machine with the
 *     runtime's effects over a platform client that answers at once (µs of CPU per chat);
 *   - heap per live session: the SA's session registry (SessionManager + Router + the same machine and
 *     stubbed client) holding N chats at `agentsJoined`, each driven there by the recorded events (with
 *     its own conversation ids), heap measured after a full GC before and after.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { createActor } from 'xstate';
import type { ChatSettings } from '../../machines/chatSession/index.ts';
import type { CallbackEvent, InvitationReceived } from '../../machines/events.ts';
import type { PlatformClient } from '../api/index.ts';
import type { NormalisedEvent } from '../callbacks/toEvents.ts';
import { systemClock } from '../runtime/clock.ts';
import type { SaConfig } from '../runtime/config.ts';
import { provideChatSession } from '../runtime/effects.ts';
import { silentLogger } from '../runtime/logger.ts';
import { Router } from '../runtime/router.ts';
import { SessionManager } from '../runtime/sessions.ts';
import { startStack } from '../stack/index.ts';
import { fetchTransport } from './http.ts';
import { runChat } from './load.ts';
import { BENCH_AGENT_BEHAVIOUR } from './stack.ts';

export interface Recording {
  sessionId: string;
  invitation: InvitationReceived;
  /** Every callback event routed to the session after the invitation, in order. */
  events: CallbackEvent[];
  agent: { uri: string; name: string };
  settings: ChatSettings;
  routing: SaConfig['routing'];
  /** The top-level states the session went through. */
  states: string[];
}

function topLevel(states: string[]): string[] {
  const tops: string[] = [];
  for (const state of states) {
    const top = state.split('.')[0]!;
    if (tops.at(-1) !== top) tops.push(top);
  }
  return tops;
}

/** One complete chat through the real stack in this process; its session's callback events, in order. */
export async function recordChat(): Promise<Recording> {
  const stack = await startStack({
    logger: silentLogger,
    env: { CHAT_TOKEN_RATE_LIMIT: 'off' },
    emulatorConfig: { agentBehaviour: BENCH_AGENT_BEHAVIOUR },
  });
  try {
    const routed: Array<{ event: CallbackEvent; sessionId: string }> = [];
    stack.sa.sessions.onCallbackEvent((event, sessionId) => {
      if (sessionId) routed.push({ event: structuredClone(event), sessionId });
    });
    const chat = await runChat(stack.saUrl, fetchTransport, 0, 10_000);
    if (!chat.ok) throw new Error(`recording a chat failed: ${chat.error}`);
    const deadline = performance.now() + 10_000;
    let view = stack.sa.sessions.list()[0];
    while (view?.status === 'active' && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      view = stack.sa.sessions.list()[0];
    }
    if (view?.outcome !== 'completed') {
      throw new Error(`the recorded chat ended as ${view?.outcome ?? 'nothing'} (expected completed)`);
    }
    const ours = routed.filter((r) => r.sessionId === view.id).map((r) => r.event);
    const [invitation, ...events] = ours;
    if (invitation?.type !== 'callback.invitationReceived') {
      throw new Error(`the recorded chat does not start with an invitation (got ${invitation?.type})`);
    }
    const agent = view.agents[0];
    if (!agent) throw new Error('no agent joined the recorded chat');
    return {
      sessionId: view.id,
      invitation,
      events,
      agent: { uri: agent.uri, name: agent.name },
      settings: stack.sa.config.chat,
      routing: stack.sa.config.routing,
      states: topLevel(view.history.map((h) => h.state)),
    };
  } finally {
    await stack.close();
  }
}

/** A platform client whose every call succeeds at once (a Location where one is expected). */
export function instantClient(): PlatformClient {
  let n = 0;
  return new Proxy({} as PlatformClient, {
    get: (_, name) =>
      name === 'then'
        ? undefined
        : async (href: string) => {
            n += 1;
            return { location: `${href}/${n}` };
          },
  });
}

/** Let promise actors settle and microtask-deferred routing run (no timers, no I/O). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 25; i++) await null;
}

export interface MachineResult {
  chats: number;
  eventsPerChat: number;
  /** CPU per replayed chat (this process's accounting). */
  usPerChat: number;
  /** The recorded events after which the session is in agentsJoined (heap test prefix). */
  agentsJoinedAfter: number;
}

/** Replay the recording through the machine `chats` times (after a warm-up); verifies the first replay. */
export async function replayMachine(
  recording: Recording,
  chats: number,
  onProgress?: (done: number) => void,
): Promise<MachineResult> {
  const logic = provideChatSession({ client: instantClient(), clock: systemClock, logger: silentLogger });
  const replay = async (check: boolean) => {
    const actor = createActor(logic, {
      input: {
        sessionId: recording.sessionId,
        invitation: recording.invitation,
        settings: recording.settings,
        open: true,
      },
    });
    actor.on('routing.request', () =>
      queueMicrotask(() =>
        actor.send({
          type: 'agent.assigned',
          agent: recording.agent,
          assignment: { winner: recording.agent.uri },
        }),
      ),
    );
    const states: string[] = [];
    let agentsJoinedAfter = -1;
    const top = () => {
      const value = actor.getSnapshot().value;
      return typeof value === 'string' ? value : Object.keys(value)[0]!;
    };
    if (check) actor.subscribe(() => states.push(top()));
    actor.start();
    for (const [index, event] of recording.events.entries()) {
      await flush();
      if (check && agentsJoinedAfter < 0 && top() === 'agentsJoined') agentsJoinedAfter = index;
      if (actor.getSnapshot().status !== 'active') break;
      actor.send(event);
    }
    await flush();
    const snapshot = actor.getSnapshot();
    actor.stop();
    return { status: snapshot.status, outcome: snapshot.context.outcome, states, agentsJoinedAfter };
  };

  const first = await replay(true);
  const replayed = topLevel(first.states);
  if (first.outcome !== 'completed' || replayed.join() !== recording.states.join()) {
    throw new Error(
      `the recorded chat replayed through the machine ended ${first.status}/${first.outcome ?? 'no outcome'} ` +
        `via ${replayed.join(' → ')}; the SA went ${recording.states.join(' → ')}`,
    );
  }
  if (first.agentsJoinedAfter < 0) throw new Error('the replayed chat never reached agentsJoined');
  // Warm-up (JIT), not counted.
  for (let i = 0; i < Math.min(200, chats); i++) await replay(false);
  const before = process.cpuUsage();
  for (let i = 0; i < chats; i++) {
    await replay(false);
    if ((i + 1) % 50 === 0) onProgress?.(i + 1);
  }
  const used = process.cpuUsage(before);
  return {
    chats,
    eventsPerChat: recording.events.length + 1,
    usPerChat: (used.user + used.system) / chats,
    agentsJoinedAfter: first.agentsJoinedAfter,
  };
}

function collectGarbage(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export interface HeapResult {
  sessions: number;
  /** Agents in the registry's roster (AGENT_CAPACITY at most 100 chats each, as configured SAs allow). */
  agents: number;
  bytesPerSession: number;
  /** CPU to bring one session to agentsJoined through the registry (dispatch + machine + routing). */
  setupUsPerSession: number;
  /** The same for the first and the last tenth of the sessions (grows when something is O(live chats)). */
  setupUsFirstTenth: number;
  setupUsLastTenth: number;
}

export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
export const WIRE = {
  type: 'updated',
  rel: 'bench',
  href: '',
  status: null,
  reason: null,
  operationId: null,
  conversation: null,
} as NormalisedEvent['wire'];

/** At most this many chats per agent, as AGENT_CAPACITY allows. */
const CHATS_PER_AGENT = 100;

/**
 * `sessions` live chats at agentsJoined in one session registry: heap per session. The roster has as many
 * agents as the chats need at 100 each; each chat's recorded events get their own conversation ids, and
 * the agent the router picked in place of the recorded one.
 */
export async function heapPerSession(
  recording: Recording,
  sessions: number,
  prefix: number,
  onProgress?: (done: number) => void,
): Promise<HeapResult> {
  const gc = collectGarbage();
  const invitationJson = JSON.stringify(recording.invitation);
  const restJson = JSON.stringify(recording.events.slice(0, prefix));
  const recordedUser = recording.agent.uri.replace(/^sip:/i, '');
  const agents = Math.ceil(sessions / CHATS_PER_AGENT);
  const domain = recordedUser.split('@')[1] ?? 'contoso.com';
  const roster = Array.from({ length: agents }, (_, i) => ({
    uri: `sip:agent${i}@${domain}`,
    name: `Agent ${i}`,
    capacity: CHATS_PER_AGENT,
  }));
  let registry: SessionManager | undefined;
  const router = new Router({
    roster,
    strategy: recording.routing.strategy,
    capacity: CHATS_PER_AGENT,
    maxMissedInRow: recording.routing.maxMissedInRow,
    avgHandleMs: recording.routing.avgHandleMs,
    skillsFallback: recording.routing.skillsFallback,
    clock: systemClock,
    logger: silentLogger,
    send: (sessionId, event) => queueMicrotask(() => registry?.deliver(sessionId, event)),
  });
  registry = new SessionManager({
    logic: provideChatSession({ client: instantClient(), clock: systemClock, logger: silentLogger }),
    clock: systemClock,
    logger: silentLogger,
    settings: recording.settings,
    router,
    isOpen: () => true,
  });
  const ids: string[] = [];
  const tenth = Math.max(1, Math.floor(sessions / 10));
  let firstTenthUs = 0;
  let lastTenthStart: NodeJS.CpuUsage | undefined;
  try {
    gc();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < sessions; i++) {
      if (i === tenth) {
        const used = process.cpuUsage(cpuBefore);
        firstTenthUs = used.user + used.system;
      }
      if (i === sessions - tenth) lastTenthStart = process.cpuUsage();
      const tag = (i + 1).toString(16).padStart(12, '0');
      const own = (json: string) => json.replace(UUID, (uuid) => uuid.slice(0, 24) + tag);
      const invitation = JSON.parse(own(invitationJson)) as CallbackEvent;
      const reply = await registry.dispatch([{ event: invitation, wire: WIRE }], {});
      const id = reply?.callbackContext;
      if (!id) throw new Error('the session registry did not start a chat for the recorded invitation');
      ids.push(id);
      let events = JSON.parse(own(restJson).replaceAll(recording.sessionId, id)) as CallbackEvent[];
      let assigned = false;
      for (let e = 0; e < events.length; e++) {
        await flush();
        const agent = assigned ? undefined : registry.snapshot(id)?.context.currentAgent;
        if (agent) {
          // From here on the events speak of the agent the router chose.
          assigned = true;
          const user = agent.uri.replace(/^sip:/i, '');
          const rest = JSON.stringify(events.slice(e))
            .replaceAll(recordedUser, user)
            .replaceAll(recording.agent.name, agent.name);
          events = [...events.slice(0, e), ...(JSON.parse(rest) as CallbackEvent[])];
        }
        void registry.dispatch([{ event: events[e]!, wire: WIRE }], { callbackContext: id });
      }
      await flush();
      if ((i + 1) % 50 === 0) onProgress?.(i + 1);
    }
    const used = process.cpuUsage(cpuBefore);
    const last = process.cpuUsage(lastTenthStart);
    for (const id of ids) {
      const value = registry.snapshot(id)?.value;
      const top = typeof value === 'string' ? value : value ? Object.keys(value)[0] : undefined;
      if (top !== 'agentsJoined') throw new Error(`heap test: session ${id} is in ${top}, not agentsJoined`);
    }
    gc();
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    return {
      sessions,
      agents,
      bytesPerSession: (heapAfter - heapBefore) / sessions,
      setupUsPerSession: (used.user + used.system) / sessions,
      setupUsFirstTenth: firstTenthUs / tenth,
      setupUsLastTenth: (last.user + last.system) / tenth,
    };
  } finally {
    registry.stop();
    registry = undefined;
    gc();
  }
}

/**
 * A bounded, seeded, randomized soak over real HTTP. At least 500 chats, SOAK_WAVE
 * (default 40) of them running at any time (a new customer arrives as soon as a chat ends), with random
 * agent behaviours (accept, slow accept, decline, never answer), random API faults (503 once, latency),
 * random callback faults (duplicate, delay) and random presence changes, re-drawn every SOAK_WAVE chats,
 * and customers who leave at random moments or stay silent. At the end: every session terminated,
 * nothing open on the platform, no customer message lost, no agent ever over capacity.
 *
 * SOAK_SEED (default 20260501) replays a plan; SOAK_CHATS (default 500) sizes it. The whole plan is drawn
 * from the seed before the first chat starts; the interleaving of concurrent HTTP is not seeded, so a seed
 * reproduces the workload, not every timing. Prints one line:
 * soak: seed=… chats=… completed=… abandoned=… failed=… queueTimeout=… noAgent=… openMeetings=…
 * openConversations=… lostMessages=… maxLoad=<peak>/<capacity>
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentBehaviour, EmulatorAgentSpec, FaultSpec } from '../../src/emulator/index.ts';
import type { RunningStack } from '../../src/stack/index.ts';
import type { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  cleanup,
  control,
  leftMessages,
  sessions,
  setBehaviour,
  setPresence,
  startCustomer,
  startTestStack,
  stats,
  transcript,
} from './harness.ts';
import { mulberry32, type Rng } from './prng.ts';

const SEED = Number(process.env.SOAK_SEED ?? 20260501) >>> 0;
const CHATS = Math.max(1, Number(process.env.SOAK_CHATS ?? 500));
const WAVE = Math.max(1, Number(process.env.SOAK_WAVE ?? 40));
const CAPACITY = 3;

const ROSTER: EmulatorAgentSpec[] = [
  { uri: 'sip:alice@contoso.com', name: 'Alice Agent', skills: ['billing', 'general'] },
  { uri: 'sip:bob@contoso.com', name: 'Bob Agent', skills: ['technical', 'general'] },
  { uri: 'sip:carol@contoso.com', name: 'Carol Agent', skills: ['billing', 'technical'] },
  { uri: 'sip:dave@contoso.com', name: 'Dave Agent', skills: ['general'] },
  { uri: 'sip:erin@contoso.com', name: 'Erin Agent', skills: ['billing'] },
  { uri: 'sip:frank@contoso.com', name: 'Frank Agent', skills: ['technical'] },
];

/** SA-side paths the faults aim at (never the customer's UCWA, never the token endpoints). */
const FAULT_PATHS = [
  '/^\\/platformservice\\/.*\\/onlineMeetingInvitations\\/startAdhocMeeting$/',
  '/^\\/platformservice\\/.*\\/communication\\/messagingInvitations$/',
  '/^\\/platformservice\\/.*\\/acceptAndBridge$/',
  '/^\\/platformservice\\/.*\\/messaging\\/messages$/',
  '/^\\/platformservice\\/.*\\/conversationBridge\\/bridgedParticipants$/',
  '/^\\/platformservice\\/.*\\/communication\\/participantInvitations$/',
];
const CALLBACK_MATCHES = [
  'onlineMeetingInvitation completed',
  'messaging updated',
  'conversationBridge added',
  'participantInvitation completed',
  'conversation: participant added',
  'conversation: message completed',
  'participant deleted',
];

type Plan = 'chat' | 'abandonEarly' | 'abandonWaiting' | 'sendAndLeave' | 'silent';

interface ChatRecord {
  index: number;
  name: string;
  plan: Plan;
  /** The customer's own random stream (timings, subject, number of messages). */
  seed: number;
  sessionId?: string;
  sent: string[];
  startError?: string;
  customer?: AnonCustomer;
}

let stack: RunningStack;
/** Customer display name → session id, from the invitations the SA routed. */
const sessionByName = new Map<string, string>();
/** Every text a simulated agent received from a customer (sampled while the soak runs). */
const seenByAgents = new Set<string>();
let sampler: ReturnType<typeof setInterval> | undefined;

function sampleAgents(): void {
  for (const agent of stack.emulator.agents.list() as Array<{
    conversations: Array<{ messages: Array<{ direction: string; origin: string; text: string }> }>;
  }>) {
    for (const conv of agent.conversations) {
      for (const m of conv.messages)
        if (m.direction === 'in' && m.origin === 'customer') seenByAgents.add(m.text);
    }
  }
}

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      AGENTS: ROSTER.map((a) => `${a.uri}=${a.name}:${(a.skills ?? []).join('|')}`).join(','),
      AGENT_CAPACITY: String(CAPACITY),
      OFFER_TIMEOUT_MS: '500',
      QUEUE_UPDATE_MS: '1000',
      MAX_QUEUE_WAIT_MS: '2000',
      MAX_MISSED_OFFERS: '2',
      MAX_ATTEMPTS: '3',
      RETRY_BASE_MS: '20',
      STEP_TIMEOUT_MS: '3000',
      CUSTOMER_IDLE_MS: '1000',
      IDLE_GRACE_MS: '1000',
      ROUTING_STRATEGY: 'skills',
      // One test client opens hundreds of chats from one address.
      CHAT_TOKEN_RATE_LIMIT: 'off',
    },
    emulatorConfig: {
      agents: ROSTER,
      agentBehaviour: { acceptDelayMs: 30, typingMs: 0 },
      callbackRetryBaseMs: 20,
      ringTimeoutMs: 5_000,
    },
  });
  stack.sa.sessions.onCallbackEvent((event, sessionId) => {
    if (event.type === 'callback.invitationReceived' && sessionId && event.from.name) {
      sessionByName.set(event.from.name, sessionId);
    }
  });
  sampler = setInterval(sampleAgents, 250);
});

afterAll(async () => {
  if (sampler) clearInterval(sampler);
  await cleanup();
});

/** The plan's think time (random arrival and leaving moments); never used to wait for a condition. */
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function ended(chat: ChatRecord): boolean {
  return !!chat.sessionId && stack.sa.sessions.snapshot(chat.sessionId)?.status === 'done';
}

/** Wait for `condition` on the customer's side; false when the chat ended or the time ran out first. */
async function until(chat: ChatRecord, condition: () => boolean, timeout: number): Promise<boolean> {
  try {
    await eventually(
      () => (condition() ? 'yes' : ended(chat) ? 'ended' : 'not yet'),
      (state) => {
        if (state === 'not yet') throw new Error('waiting');
      },
      { timeout, interval: 25 },
    );
  } catch {
    return false;
  }
  return condition();
}

async function leave(chat: ChatRecord): Promise<void> {
  const customer = chat.customer!;
  await until(chat, () => !!customer.links.conversation, 3_000);
  await customer.leave().catch(() => undefined);
}

async function send(chat: ChatRecord, text: string): Promise<boolean> {
  const customer = chat.customer!;
  if (ended(chat) || !customer.links.sendMessage) return false;
  try {
    await customer.send(text);
    chat.sent.push(text);
    return true;
  } catch {
    return false;
  }
}

const isGreeting = (chat: ChatRecord) => () =>
  chat.customer!.messages.some((m) => m.text.startsWith('Hi, this is'));
const isWelcomed = (chat: ChatRecord) => () =>
  chat.customer!.messages.some((m) => m.text === stack.sa.config.chat.welcomeText);

/** One customer's script, chosen and timed by the seeded plan. */
async function runCustomer(chat: ChatRecord): Promise<void> {
  const rng = mulberry32(chat.seed);
  const arrival = rng.int(0, 300);
  const subject = rng.pick(['billing', 'technical', 'general', 'Order 1234']);
  const leaveAfter = rng.int(0, 1_500);
  const messages = rng.int(1, 3);
  await pause(arrival);
  try {
    chat.customer = await startCustomer(stack, chat.name, subject);
  } catch (error) {
    chat.startError = String(error);
    return;
  }
  await until(chat, () => sessionByName.has(chat.name), 10_000);
  chat.sessionId = sessionByName.get(chat.name);
  const customer = chat.customer;
  switch (chat.plan) {
    case 'abandonEarly':
      await pause(leaveAfter / 3);
      await leave(chat);
      return;
    case 'abandonWaiting':
      if (!(await until(chat, isWelcomed(chat), 10_000))) return;
      if (leaveAfter % 2 === 0) await send(chat, `soak ${chat.index} waiting note`);
      await pause(leaveAfter);
      if (!ended(chat)) await leave(chat);
      return;
    case 'sendAndLeave':
      if (!(await until(chat, isWelcomed(chat), 10_000))) return;
      await until(chat, isGreeting(chat), leaveAfter);
      await send(chat, `soak ${chat.index} last words`);
      await leave(chat);
      return;
    case 'silent':
      // Greets nobody, says one thing at most, never leaves: the SA has to end it (idle, queue, …).
      if (await until(chat, isWelcomed(chat), 10_000)) {
        if (leaveAfter % 3 === 0) await send(chat, `soak ${chat.index} silent note`);
      }
      return;
    case 'chat': {
      if (!(await until(chat, isGreeting(chat), 15_000))) return;
      for (let k = 0; k < messages; k += 1) {
        const text = `soak ${chat.index} question ${k}`;
        if (!(await send(chat, text))) return;
        await until(chat, () => customer.messages.some((m) => m.text === `You said: "${text}"`), 3_000);
      }
      await pause(leaveAfter / 5);
      if (!ended(chat)) await leave(chat);
      return;
    }
  }
}

interface ShakeUp {
  agents: Array<{
    uri: string;
    kind: string;
    behaviour: Partial<AgentBehaviour>;
    presence: 'available' | 'away';
  }>;
  faults: FaultSpec[];
}

/** Random agent behaviours, presence and faults for the next SOAK_WAVE chats. */
function planShakeUp(rng: Rng): ShakeUp {
  const agents = ROSTER.map((agent) => {
    const kind = rng.weighted({ accept: 55, slow: 10, decline: 20, never: 15 });
    const behaviour: Partial<AgentBehaviour> =
      kind === 'accept'
        ? { answer: 'accept', acceptDelayMs: rng.int(20, 150) }
        : kind === 'slow'
          ? { answer: 'accept', acceptDelayMs: rng.int(650, 900) }
          : kind === 'decline'
            ? { answer: 'decline', acceptDelayMs: rng.int(20, 200) }
            : { answer: 'never' };
    return {
      uri: agent.uri,
      kind,
      behaviour,
      presence: rng.chance(0.1) ? ('away' as const) : ('available' as const),
    };
  });
  const faults: FaultSpec[] = [];
  for (let f = rng.int(0, 4); f > 0; f -= 1) {
    const type = rng.weighted({ status503: 30, latency: 25, duplicate: 25, delay: 20 });
    if (type === 'status503') {
      faults.push({ kind: 'http', method: 'POST', path: rng.pick(FAULT_PATHS), status: 503, count: 1 });
    } else if (type === 'latency') {
      faults.push({
        kind: 'http',
        path: rng.pick(FAULT_PATHS),
        latencyMs: rng.int(50, 400),
        count: rng.int(1, 3),
      });
    } else if (type === 'duplicate') {
      faults.push({
        kind: 'callback',
        action: 'duplicate',
        match: rng.pick(CALLBACK_MATCHES),
        count: rng.int(1, 4),
      });
    } else {
      faults.push({
        kind: 'callback',
        action: 'delay',
        match: rng.pick(CALLBACK_MATCHES),
        delayMs: rng.int(20, 250),
        count: rng.int(1, 4),
      });
    }
  }
  return { agents, faults };
}

async function applyShakeUp(shakeUp: ShakeUp): Promise<void> {
  const deleted = await control(stack, 'DELETE', '/faults');
  expect(deleted.status).toBe(204);
  for (const agent of shakeUp.agents) {
    await setBehaviour(stack, agent.uri, agent.behaviour);
    await setPresence(stack, agent.uri, agent.presence);
  }
  for (const fault of shakeUp.faults) {
    const added = await control(stack, 'POST', '/faults', fault);
    expect(added.status, JSON.stringify(added.body)).toBe(201);
  }
}

/** Session ids of the chats whose messages were lost (the message text names the chat). */
function lostSessions(chats: ChatRecord[], lost: string[]): string[] {
  return lost
    .map((line) => chats[Number(/^soak (\d+) /.exec(line)?.[1])]?.sessionId)
    .filter((id): id is string => !!id)
    .slice(0, 5);
}

describe('soak', () => {
  it(`${CHATS} seeded random chats: all terminated, nothing open, no message lost, capacity kept`, async () => {
    // The whole plan comes from the seed, before anything runs.
    const rng = mulberry32(SEED);
    const shakeUps: ShakeUp[] = [];
    const chats: ChatRecord[] = [];
    for (let index = 0; index < CHATS; index += 1) {
      if (index % WAVE === 0) shakeUps.push(planShakeUp(rng));
      chats.push({
        index,
        name: `Soak ${index}`,
        plan: rng.weighted<Plan>({
          chat: 50,
          abandonEarly: 10,
          abandonWaiting: 15,
          sendAndLeave: 10,
          silent: 15,
        }),
        seed: rng.int(0, 2 ** 32 - 1),
        sent: [],
      });
    }
    const started = Date.now();
    const stuck: string[] = [];
    let next = 0;
    // SOAK_WAVE customers at a time: each worker serves one chat to its end, then the next one.
    const worker = async () => {
      for (let index = next++; index < CHATS; index = next++) {
        const chat = chats[index]!;
        if (index % WAVE === 0) await applyShakeUp(shakeUps[index / WAVE]!);
        await runCustomer(chat);
        if (chat.sessionId) {
          await eventually(
            () => ended(chat),
            (done) => expect(done).toBe(true),
            { timeout: 60_000, interval: 50 },
          ).catch(() => stuck.push(chat.name));
        }
        await chat.customer?.close();
      }
    };
    await Promise.all(Array.from({ length: Math.min(WAVE, CHATS) }, worker));
    await control(stack, 'DELETE', '/faults');
    sampleAgents();

    // Every session is final.
    const all = await sessions(stack);
    const outcomes: Record<string, number> = {};
    for (const s of all) outcomes[s.outcome ?? 'none'] = (outcomes[s.outcome ?? 'none'] ?? 0) + 1;
    const notTerminated = all
      .filter((s) => s.state !== 'terminated')
      .map((s) => `${s.customer.name}:${s.state}`);

    // Nothing open on the platform (teardown may still be finishing).
    const open = await eventually(
      () => stats(stack),
      (s) => {
        if (s.openMeetings !== 0 || s.openConversations !== 0) throw new Error('still open');
      },
      { timeout: 15_000, interval: 100 },
    ).catch(() => stats(stack));

    // No lost customer message: echoed back, seen by an agent, in the transcript or in a left message.
    const left = await leftMessages(stack);
    const kept = new Set(left.flatMap((l) => l.messages.map((m) => m.text ?? '')));
    const lost: string[] = [];
    for (const chat of chats) {
      if (chat.sent.length === 0) continue;
      const recorded = new Set(
        chat.sessionId ? (await transcript(stack, chat.sessionId)).map((e) => e.text ?? '') : [],
      );
      for (const text of chat.sent) {
        const echoed = chat.customer?.messages.some((m) => m.text === `You said: "${text}"`) ?? false;
        if (!echoed && !seenByAgents.has(text) && !recorded.has(text) && !kept.has(text)) {
          lost.push(
            `${text} (${chat.plan}, ${chat.sessionId ? stack.sa.sessions.get(chat.sessionId)?.outcome : 'no session'})`,
          );
        }
      }
    }

    // No agent above capacity, ever.
    const peaks = Object.values(stack.sa.router.peaks());
    const maxPeak = Math.max(...peaks.map((p) => p.peak));
    const overCapacity = Object.entries(stack.sa.router.peaks()).filter(([, p]) => p.peak > p.capacity);

    const n = (outcome: string) => outcomes[outcome] ?? 0;
    const errors: Record<string, number> = {};
    for (const s of all) {
      if (s.error)
        errors[`${s.error.step}/${s.error.code}`] = (errors[`${s.error.step}/${s.error.code}`] ?? 0) + 1;
    }
    console.log(
      `soak: seed=${SEED} chats=${chats.length} completed=${n('completed')} abandoned=${n('abandoned')} ` +
        `failed=${n('failed')} queueTimeout=${n('queueTimeout')} noAgent=${n('noAgent')} ` +
        `openMeetings=${open.openMeetings} openConversations=${open.openConversations} ` +
        `lostMessages=${lost.length} maxLoad=${maxPeak}/${CAPACITY}`,
    );
    console.log(
      `soak details: idle=${n('idle')} closedBySa=${n('closedBySa')} sessions=${all.length} ` +
        `notStarted=${chats.filter((c) => c.startError).length} sent=${chats.reduce((s, c) => s + c.sent.length, 0)} ` +
        `seconds=${Math.round((Date.now() - started) / 1000)} errors=${JSON.stringify(errors)}` +
        (lost.length ? ` lost: ${lost.slice(0, 10).join('; ')}` : ''),
    );

    // What a failure needs to be understood: the sessions behind lost messages and open meetings.
    const live = await control<{ conversations: Array<{ conversationId: string; kind: string }> }>(
      stack,
      'GET',
      '/conversations',
    );
    const liveIds = new Set(
      live.body.conversations.filter((c) => c.kind !== 'p2p').map((c) => c.conversationId.toLowerCase()),
    );
    const openMeetingSessions = all.filter((s) => {
      const conference = s.conversations.conference?.split('?')[0]?.split('/').at(-1)?.toLowerCase();
      return conference !== undefined && liveIds.has(conference);
    });
    for (const s of [
      ...openMeetingSessions,
      ...lostSessions(chats, lost).map((id) => all.find((v) => v.id === id)!),
    ]) {
      if (!s) continue;
      console.log(
        `soak session ${s.id} ${s.customer.name} outcome=${s.outcome} error=${JSON.stringify(s.error)} ` +
          `assignments=${(s.assignments as Array<{ winner: string | null }>).map((a) => a.winner).join(',')} ` +
          `history=${s.history.map((h) => h.state).join(' > ')}`,
      );
    }

    expect.soft(stuck, 'chats that did not end within 60 s').toEqual([]);
    expect.soft(chats.filter((c) => c.startError).map((c) => `${c.name}: ${c.startError}`)).toEqual([]);
    expect.soft(all).toHaveLength(chats.length);
    expect.soft(notTerminated, 'sessions not terminated').toEqual([]);
    expect.soft(open, 'open on the emulator').toEqual({ openMeetings: 0, openConversations: 0 });
    expect.soft(lost, 'customer messages lost').toEqual([]);
    expect.soft(overCapacity, 'agents above capacity').toEqual([]);
    expect(maxPeak).toBeLessThanOrEqual(CAPACITY);
    expect(chats.length).toBe(CHATS);
  }, 175_000);
});

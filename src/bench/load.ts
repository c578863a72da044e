/**
 * The load: anonymous customers chatting through the real UCWA wire, like the widget in a browser, with
 * `concurrency` of them at any time (closed loop: a customer who is done is replaced by a new one).
 *
 * One chat: token from the SA → discover → anonymous application → event channel (long poll) →
 * invitation → the welcome arrives → an agent's greeting arrives → the customer types and writes → the
 * agent's answer arrives → the customer leaves. The phase ends when every customer is done and the
 * platform has no open conversation or meeting left (the SA has torn every chat down).
 */
import { AnonCustomer } from './customer.ts';
import type { HttpTransport } from './http.ts';
import type { ProbeSample } from './processes.ts';
import type { BenchStack } from './stack.ts';
import { control } from './stack.ts';

export interface ChatResult {
  ok: boolean;
  /** Invitation sent → the welcome read from the customer's event channel. */
  welcomeMs?: number;
  /** Token request → the customer has left. */
  chatMs?: number;
  error?: string;
}

export async function runChat(
  saUrl: string,
  transport: HttpTransport,
  n: number,
  timeoutMs: number,
): Promise<ChatResult> {
  const started = performance.now();
  let customer: AnonCustomer | undefined;
  try {
    customer = await AnonCustomer.start(saUrl, { name: `Bench Customer ${n}`, transport });
    const welcome = await customer.waitForMessage(() => true, timeoutMs);
    const greeting = await customer.waitForMessage((m) => m.from !== welcome.from, timeoutMs);
    await customer.startTyping();
    const text = `where is my order ${n}?`;
    await customer.send(text);
    await customer.waitForMessage((m) => m.from === greeting.from && m.text.includes(text), timeoutMs);
    await customer.leave();
    return {
      ok: true,
      welcomeMs: welcome.at - customer.invitedAt!,
      chatMs: performance.now() - started,
    };
  } catch (error) {
    // Leave anyway (best effort, 10 s at most), so the platform can tear the chat down.
    if (customer) {
      const left = customer.leave().catch(() => undefined);
      await Promise.race([left, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    }
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await customer?.close();
  }
}

export interface PhaseResult {
  concurrency: number;
  chats: number;
  failed: number;
  firstError?: string;
  /** Phase start → every chat done and torn down on the platform. */
  seconds: number;
  /** Conversations still open on the platform 60 s after the last customer was done (0: all torn down). */
  stillOpen: number;
  welcomeMs: number[];
  chatMs: number[];
  /** Callback handling times inside the SA (request start → response finish). */
  callbackMs: number[];
  sa: { cpuMs: number; served: number; fetched: number; rss: number };
  emulator: { cpuMs: number; served: number; fetched: number; rss: number };
  driverCpuMs: number;
}

export interface PhaseOptions {
  stack: BenchStack;
  transport: HttpTransport;
  concurrency: number;
  /** Start new chats for this long (at least one per customer slot). */
  durationMs: number;
  chatTimeoutMs: number;
  /** Number the customers from here (names only). */
  firstChat: number;
  onProgress?: (done: number, started: number) => void;
}

export async function runPhase(opts: PhaseOptions): Promise<PhaseResult> {
  const { stack, concurrency } = opts;
  await settle(stack);
  const before = await sampleBoth(stack);
  const driverBefore = process.cpuUsage();
  const started = performance.now();
  const stopAt = started + opts.durationMs;
  const results: ChatResult[] = [];
  let next = opts.firstChat;
  let launched = 0;
  const worker = async () => {
    let first = true;
    while (first || performance.now() < stopAt) {
      first = false;
      launched += 1;
      const n = next++;
      results.push(await runChat(stack.sa.url, opts.transport, n, opts.chatTimeoutMs));
      opts.onProgress?.(results.length, launched);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const stillOpen = await platformDrained(stack);
  const seconds = (performance.now() - started) / 1000;
  const lateTimings = await settle(stack);
  const after = await sampleBoth(stack);
  const driver = process.cpuUsage(driverBefore);
  const ok = results.filter((r) => r.ok);
  const failed = results.filter((r) => !r.ok);
  return {
    concurrency,
    chats: ok.length,
    failed: failed.length,
    ...(failed[0]?.error ? { firstError: failed[0].error } : {}),
    seconds,
    stillOpen,
    welcomeMs: ok.map((r) => r.welcomeMs!),
    chatMs: ok.map((r) => r.chatMs!),
    callbackMs: [...lateTimings, ...after.sa.timings],
    sa: delta(before.sa, after.sa),
    emulator: delta(before.emulator, after.emulator),
    driverCpuMs: (driver.user + driver.system) / 1000,
  };
}

function delta(before: ProbeSample, after: ProbeSample) {
  return {
    cpuMs: (after.cpuUs - before.cpuUs) / 1000,
    served: after.served - before.served,
    fetched: after.fetched - before.fetched,
    rss: after.rss,
  };
}

async function sampleBoth(stack: BenchStack): Promise<{ sa: ProbeSample; emulator: ProbeSample }> {
  const [sa, emulator] = await Promise.all([stack.sa.sample(), stack.emulator.sample()]);
  return { sa, emulator };
}

/**
 * Wait until the platform has no open conversation or meeting (every chat torn down), 60 s at most;
 * returns the conversations still open then (0 when all were torn down).
 */
async function platformDrained(stack: BenchStack): Promise<number> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const stats = (await control(stack.emulator.url, 'GET', '/control/stats')) as {
      openMeetings: number;
      openConversations: number;
    };
    if (stats.openMeetings === 0 && stats.openConversations === 0) return 0;
    if (performance.now() > deadline) return stats.openConversations;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Wait until the SA has served nothing for 100 ms (the last callbacks of torn-down chats), 10 s at most;
 * returns the callback timings the probe handed over meanwhile.
 */
async function settle(stack: BenchStack): Promise<number[]> {
  const deadline = performance.now() + 10_000;
  const timings: number[] = [];
  for (;;) {
    const sample = await stack.sa.sample();
    timings.push(...sample.timings);
    if (sample.inflight === 0 && sample.idleMs >= 100) return timings;
    if (performance.now() > deadline) return timings;
    await new Promise((resolve) => setTimeout(resolve, Math.max(10, 100 - sample.idleMs)));
  }
}

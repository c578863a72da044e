/**
 * `carechat bench`: one run, every figure (README, "Performance").
 *
 *   1. in-process: one real chat recorded; the machine alone replaying it; heap per live session; what
 *      the embedded store adds per chat; the time to resume stored sessions;
 *   2. the HTTP floor (bare node:http JSON exchange, own child process);
 *   3. `carechat emulator` + `carechat sa` as child processes, a warm-up, then the concurrency sweep;
 *   4. with --profile: the CPU profiles both children wrote at exit, summarised.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type FloorResult, measureFloor } from './floor.ts';
import { keepAliveAgent, nodeHttpTransport } from './http.ts';
import { type PhaseResult, runChat, runPhase } from './load.ts';
import { heapPerSession, recordChat, replayMachine } from './machine.ts';
import { type ProfileSummary, summariseProfile } from './profile.ts';
import { createProgress } from './progress.ts';
import { startBenchStack } from './stack.ts';
import { percentile, round, sum } from './stats.ts';
import { resumeStored, storeCostPerChat } from './store.ts';

export interface BenchOptions {
  quick: boolean;
  json: boolean;
  profileDir?: string;
  /** Overrides the plan's concurrency sweep. */
  concurrency?: number[];
}

export interface Plan {
  sweep: number[];
  /** Each sweep step starts new chats for this long (every customer slot runs at least one chat). */
  phaseMs: number;
  warmupChats: number;
  floorExchanges: number;
  machineChats: number;
  heapSessions: number;
  /** Chats replayed through the session registry with and without the store (what the store adds). */
  storeChats: number;
  /** Sessions stored at agentsJoined, then resumed. */
  resumeSessions: number;
  chatTimeoutMs: number;
}

export const FULL_PLAN: Plan = {
  sweep: [1, 10, 50, 200],
  phaseMs: 15_000,
  warmupChats: 20,
  floorExchanges: 20_000,
  machineChats: 2_000,
  heapSessions: 10_000,
  storeChats: 300,
  resumeSessions: 10_000,
  chatTimeoutMs: 180_000,
};

export const QUICK_PLAN: Plan = {
  sweep: [1, 10],
  phaseMs: 2_000,
  warmupChats: 4,
  floorExchanges: 3_000,
  machineChats: 100,
  heapSessions: 100,
  storeChats: 20,
  resumeSessions: 100,
  chatTimeoutMs: 60_000,
};

/** Chats at once in the second store replay (their writes share transactions). */
const STORE_CONCURRENCY = 10;

/** The most customers at once: 3 demo agents × AGENT_CAPACITY 100. */
export const MAX_CONCURRENCY = 300;

export interface Output {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

export async function runBench(
  options: BenchOptions,
  io: Output,
  progress = createProgress(),
): Promise<number> {
  const plan = { ...(options.quick ? QUICK_PLAN : FULL_PLAN) };
  if (options.concurrency) plan.sweep = options.concurrency;
  const profileDir = options.profileDir ? resolve(options.profileDir) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const logDir = profileDir ?? mkdtempSync(join(tmpdir(), 'carechat-bench-'));
  const startedAt = new Date();
  const loadAtStart = loadavg()[0]!;
  const t0 = performance.now();
  let keepLogs = Boolean(profileDir);
  try {
    // 1. In process: record a chat, replay it through the machine, hold sessions open.
    progress.stage('recording one chat in-process');
    const recording = await recordChat();
    progress.done(`${recording.events.length + 1} callback events, ${recording.states.join(' → ')}`);

    progress.stage('machine alone', plan.machineChats);
    const machine = await replayMachine(recording, plan.machineChats, (done) => progress.update(done));
    progress.done(`${round(machine.usPerChat)} µs CPU per chat (${machine.chats} chats)`);

    progress.stage(`heap: ${plan.heapSessions} live sessions at agentsJoined`, plan.heapSessions);
    const heap = await heapPerSession(recording, plan.heapSessions, machine.agentsJoinedAfter, (done) =>
      progress.update(done),
    );
    progress.done(`${round(heap.bytesPerSession / 1024)} KB per session`);

    progress.stage(
      'store: the recorded chat through the registry without and with the store',
      plan.storeChats * 2,
    );
    const storeCost = await storeCostPerChat(recording, plan.storeChats, (done) => progress.update(done));
    progress.done(`the store adds ${round(storeCost.addedCpuMsPerChat)} ms CPU per chat`);
    progress.stage(`store: ${STORE_CONCURRENCY} chats at once`, plan.storeChats * 2);
    const storeAtOnce = await storeCostPerChat(
      recording,
      plan.storeChats,
      (done) => progress.update(done),
      STORE_CONCURRENCY,
    );
    progress.done(`the store adds ${round(storeAtOnce.addedCpuMsPerChat)} ms CPU per chat`);

    progress.stage(`resume: ${plan.resumeSessions} stored sessions at agentsJoined`, plan.resumeSessions);
    const resume = await resumeStored(recording, plan.resumeSessions, machine.agentsJoinedAfter, (done) =>
      progress.update(done),
    );
    progress.done(`${round(resume.resumeMs)} ms to resume them`);

    // 2. The HTTP floor.
    progress.stage('HTTP floor (bare node:http JSON exchange)', plan.floorExchanges);
    const floor = await measureFloor({
      exchanges: plan.floorExchanges,
      concurrency: 10,
      logDir,
      onProgress: (done) => progress.update(done),
    });
    progress.done(`${round(floor.cpuMsPerExchange * 1000)} µs CPU per exchange`);

    // 3. The stack as two processes, and the sweep.
    progress.stage('starting carechat emulator + carechat sa');
    const stack = await startBenchStack({
      logDir,
      ...(profileDir ? { profileDir } : {}),
      maxConcurrency: Math.max(...plan.sweep),
    });
    progress.done(`emulator ${stack.emulator.url}, sa ${stack.sa.url}`);
    const agent = keepAliveAgent();
    const transport = nodeHttpTransport(agent);
    const phases: PhaseResult[] = [];
    let saRssMb = 0;
    let emulatorRssMb = 0;
    try {
      progress.stage('warm-up', plan.warmupChats);
      let warmed = 0;
      const warm = Math.min(4, plan.warmupChats);
      await Promise.all(
        Array.from({ length: warm }, async (_, slot) => {
          for (let n = slot; n < plan.warmupChats; n += warm) {
            const result = await runChat(stack.sa.url, transport, -1 - n, plan.chatTimeoutMs);
            if (!result.ok) throw new Error(`warm-up chat failed: ${result.error}`);
            progress.update(++warmed);
          }
        }),
      );
      progress.done(`${plan.warmupChats} chats`);
      let firstChat = 1;
      for (const concurrency of plan.sweep) {
        progress.stage(`${concurrency} at once`);
        const phaseStart = performance.now();
        const phase = await runPhase({
          stack,
          transport,
          concurrency,
          durationMs: plan.phaseMs,
          chatTimeoutMs: plan.chatTimeoutMs,
          firstChat,
          onProgress: (done, started) => {
            const rate = done / ((performance.now() - phaseStart) / 1000);
            progress.update(done, `done, ${started - done} in flight, ${rate.toFixed(1)} chats/s`);
          },
        });
        firstChat += phase.chats + phase.failed;
        phases.push(phase);
        progress.done(
          `${phase.chats} chats in ${phase.seconds.toFixed(1)} s, ${round(phase.chats / phase.seconds)}/s` +
            (phase.failed ? `, ${phase.failed} FAILED (${phase.firstError})` : '') +
            (phase.stillOpen ? `, ${phase.stillOpen} conversations NOT torn down` : ''),
        );
      }
      const [sa, emulator] = await Promise.all([stack.sa.sample(), stack.emulator.sample()]);
      saRssMb = sa.rss / 2 ** 20;
      emulatorRssMb = emulator.rss / 2 ** 20;
    } finally {
      agent.destroy();
      progress.stage('stopping the children');
      await stack.stop();
      progress.done('stopped');
    }

    // 4. Profiles.
    let profiles: { sa: ProfileSummary; emulator: ProfileSummary } | undefined;
    if (profileDir) {
      profiles = {
        sa: summariseProfile(join(profileDir, 'sa.cpuprofile')),
        emulator: summariseProfile(join(profileDir, 'emulator.cpuprofile')),
      };
    }
    progress.finish();

    const report = buildReport({
      plan,
      quick: options.quick,
      startedAt,
      seconds: (performance.now() - t0) / 1000,
      load: [loadAtStart, loadavg()[0]!],
      floor,
      machine,
      heap,
      storeCost,
      storeAtOnce,
      resume,
      phases,
      saRssMb,
      emulatorRssMb,
      ...(profiles ? { profiles, profileDir: profileDir! } : {}),
    });
    for (const line of formatReport(report)) io.stdout(line);
    if (options.json) io.stdout(JSON.stringify(report));
    const failed = sum(phases.map((p) => p.failed));
    const stillOpen = sum(phases.map((p) => p.stillOpen));
    if (failed > 0 || stillOpen > 0) {
      keepLogs = true;
      if (failed) {
        io.stderr(
          `carechat bench: ${failed} chats failed (first: ${phases.find((p) => p.failed)?.firstError})`,
        );
      }
      if (stillOpen) io.stderr(`carechat bench: ${stillOpen} conversations were not torn down`);
      io.stderr(`carechat bench: logs of the child processes are in ${logDir}`);
      return 1;
    }
    return 0;
  } catch (error) {
    progress.finish();
    keepLogs = true;
    io.stderr(`carechat bench: ${error instanceof Error ? error.message : String(error)}`);
    io.stderr(`carechat bench: logs of the child processes are in ${logDir}`);
    return 1;
  } finally {
    if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------ the report

interface ReportInput {
  plan: Plan;
  quick: boolean;
  startedAt: Date;
  seconds: number;
  /** 1-minute load average at the start and at the end (other work on the machine skews the figures). */
  load: [number, number];
  floor: FloorResult;
  machine: Awaited<ReturnType<typeof replayMachine>>;
  heap: Awaited<ReturnType<typeof heapPerSession>>;
  storeCost: Awaited<ReturnType<typeof storeCostPerChat>>;
  storeAtOnce: Awaited<ReturnType<typeof storeCostPerChat>>;
  resume: Awaited<ReturnType<typeof resumeStored>>;
  phases: PhaseResult[];
  saRssMb: number;
  emulatorRssMb: number;
  profiles?: { sa: ProfileSummary; emulator: ProfileSummary };
  profileDir?: string;
}

export type BenchReport = ReturnType<typeof buildReport>;

function buildReport(input: ReportInput) {
  const { floor, phases } = input;
  const chats = sum(phases.map((p) => p.chats));
  const side = (pick: (p: PhaseResult) => PhaseResult['sa']) => {
    const cpuMs = sum(phases.map((p) => pick(p).cpuMs));
    const exchanges = sum(phases.map((p) => pick(p).served + pick(p).fetched));
    return {
      cpuMsPerChat: round(cpuMs / chats),
      exchangesPerChat: round(exchanges / chats),
      cpuMsPerExchange: round(cpuMs / exchanges),
      /** CPU per chat in floor exchanges: how many bare node:http JSON exchanges one chat costs. */
      chatCostInFloorExchanges: round(cpuMs / chats / floor.cpuMsPerExchange),
      /** CPU per HTTP exchange handled or made, as a multiple of the floor exchange. */
      exchangeCostVsFloor: round(cpuMs / exchanges / floor.cpuMsPerExchange),
    };
  };
  const callbacks = phases.flatMap((p) => p.callbackMs);
  const cpu = cpus();
  return {
    bench: 'carechat',
    version: 1,
    quick: input.quick,
    startedAt: input.startedAt.toISOString(),
    seconds: round(input.seconds),
    machine: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      loadAverageAtStart: round(input.load[0], 2),
      loadAverageAtEnd: round(input.load[1], 2),
    },
    floor: {
      exchanges: floor.exchanges,
      bodyBytes: floor.bodyBytes,
      exchangesPerSec: round(floor.exchangesPerSec),
      cpuMsPerExchange: round(floor.cpuMsPerExchange),
      p50Ms: round(floor.p50Ms),
      p99Ms: round(floor.p99Ms),
    },
    sweep: phases.map((p) => ({
      concurrency: p.concurrency,
      chats: p.chats,
      failed: p.failed,
      stillOpen: p.stillOpen,
      seconds: round(p.seconds),
      chatsPerSec: round(p.chats / p.seconds),
      saCpuMsPerChat: round(p.sa.cpuMs / p.chats),
      emulatorCpuMsPerChat: round(p.emulator.cpuMs / p.chats),
      driverCpuMsPerChat: round(p.driverCpuMs / p.chats),
      welcomeP50Ms: round(percentile(p.welcomeMs, 50)),
      welcomeP95Ms: round(percentile(p.welcomeMs, 95)),
      welcomeP99Ms: round(percentile(p.welcomeMs, 99)),
      chatP50Ms: round(percentile(p.chatMs, 50)),
      callbacksPerChat: round(p.callbackMs.length / p.chats),
      callbackP50Ms: round(percentile(p.callbackMs, 50)),
      callbackP99Ms: round(percentile(p.callbackMs, 99)),
      saExchangesPerChat: round((p.sa.served + p.sa.fetched) / p.chats),
      emulatorExchangesPerChat: round((p.emulator.served + p.emulator.fetched) / p.chats),
    })),
    sa: {
      chats,
      ...side((p) => p.sa),
      callbackP50Ms: round(percentile(callbacks, 50)),
      callbackP99Ms: round(percentile(callbacks, 99)),
      rssMb: round(input.saRssMb),
    },
    emulator: {
      chats,
      ...side((p) => p.emulator),
      rssMb: round(input.emulatorRssMb),
    },
    machineAlone: {
      chats: input.machine.chats,
      eventsPerChat: input.machine.eventsPerChat,
      usPerChat: round(input.machine.usPerChat),
    },
    heap: {
      sessions: input.heap.sessions,
      agents: input.heap.agents,
      bytesPerSession: Math.round(input.heap.bytesPerSession),
      kbPerSession: round(input.heap.bytesPerSession / 1024),
      setupUsPerSession: round(input.heap.setupUsPerSession),
      setupUsFirstTenth: round(input.heap.setupUsFirstTenth),
      setupUsLastTenth: round(input.heap.setupUsLastTenth),
    },
    store: {
      chats: input.storeCost.chats,
      memoryCpuMsPerChat: round(input.storeCost.memoryCpuMsPerChat),
      storeCpuMsPerChat: round(input.storeCost.storeCpuMsPerChat),
      addedCpuMsPerChat: round(input.storeCost.addedCpuMsPerChat),
      writesPerChat: round(input.storeCost.writesPerChat),
      atOnce: {
        concurrency: STORE_CONCURRENCY,
        memoryCpuMsPerChat: round(input.storeAtOnce.memoryCpuMsPerChat),
        storeCpuMsPerChat: round(input.storeAtOnce.storeCpuMsPerChat),
        addedCpuMsPerChat: round(input.storeAtOnce.addedCpuMsPerChat),
        writesPerChat: round(input.storeAtOnce.writesPerChat),
      },
    },
    resume: {
      sessions: input.resume.sessions,
      openMs: round(input.resume.openMs),
      resumeMs: round(input.resume.resumeMs),
      msPerSession: round(input.resume.resumeMs / input.resume.sessions),
      cpuMsPerSession: round(input.resume.resumeCpuMsPerSession),
    },
    ...(input.profiles
      ? {
          profile: {
            dir: input.profileDir,
            sa: compactProfile(input.profiles.sa),
            emulator: compactProfile(input.profiles.emulator),
          },
        }
      : {}),
  };
}

function compactProfile(summary: ProfileSummary) {
  const line = (h: { name: string; selfMs: number; percent: number }) => ({
    name: h.name,
    selfMs: round(h.selfMs),
    percent: round(h.percent, 2),
  });
  return {
    busyMs: round(summary.busyMs),
    functions: summary.functions.map(line),
    areas: summary.areas.map(line),
  };
}

const fmt = (value: number): string => {
  if (!Number.isFinite(value)) return 'n/a';
  return Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
};

/** The summary as Markdown tables (ready for the README). */
export function formatReport(report: BenchReport): string[] {
  const lines: string[] = [];
  const kind = report.quick ? 'quick run' : 'full run';
  lines.push(
    `carechat bench (${kind}, ${report.seconds} s): node ${report.machine.node}, ${report.machine.cpus} × ${report.machine.cpuModel}, ` +
      `load average ${report.machine.loadAverageAtStart} at the start, ${report.machine.loadAverageAtEnd} at the end`,
    '',
  );
  const header = ['', ...report.sweep.map((s) => `${s.concurrency} at once`)];
  const rows: Array<[string, (s: BenchReport['sweep'][number]) => number]> = [
    ['complete chats', (s) => s.chats],
    ['complete chats/s (end to end)', (s) => s.chatsPerSec],
    ['SA CPU ms per chat', (s) => s.saCpuMsPerChat],
    ['emulator CPU ms per chat', (s) => s.emulatorCpuMsPerChat],
    ['load driver CPU ms per chat', (s) => s.driverCpuMsPerChat],
    ['invitation → welcome p50 ms', (s) => s.welcomeP50Ms],
    ['invitation → welcome p95 ms', (s) => s.welcomeP95Ms],
    ['invitation → welcome p99 ms', (s) => s.welcomeP99Ms],
    ['whole chat p50 ms (customer)', (s) => s.chatP50Ms],
    ['callback handling in the SA p50 ms', (s) => s.callbackP50Ms],
    ['callback handling in the SA p99 ms', (s) => s.callbackP99Ms],
    ['callbacks per chat', (s) => s.callbacksPerChat],
    ['SA HTTP exchanges per chat', (s) => s.saExchangesPerChat],
    ['failed chats', (s) => s.failed],
    ['conversations left open 60 s after the last chat', (s) => s.stillOpen],
  ];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i ? ' ---: ' : ' --- ')).join('|')}|`);
  for (const [label, pick] of rows)
    lines.push(`| ${label} | ${report.sweep.map((s) => fmt(pick(s))).join(' | ')} |`);
  const { sa, emulator, floor, machineAlone, heap, store, resume } = report;
  lines.push(
    '',
    '| over the whole sweep | SA | emulator |',
    '| --- | ---: | ---: |',
    `| CPU ms per complete chat | ${fmt(sa.cpuMsPerChat)} | ${fmt(emulator.cpuMsPerChat)} |`,
    `| HTTP exchanges per chat (served + made) | ${fmt(sa.exchangesPerChat)} | ${fmt(emulator.exchangesPerChat)} |`,
    `| CPU ms per HTTP exchange | ${fmt(sa.cpuMsPerExchange)} | ${fmt(emulator.cpuMsPerExchange)} |`,
    `| one chat costs this many floor exchanges | ${fmt(sa.chatCostInFloorExchanges)} | ${fmt(emulator.chatCostInFloorExchanges)} |`,
    `| one exchange costs × the floor exchange | ${fmt(sa.exchangeCostVsFloor)} | ${fmt(emulator.exchangeCostVsFloor)} |`,
    `| RSS after the sweep MB | ${fmt(sa.rssMb)} | ${fmt(emulator.rssMb)} |`,
    '',
    '| in the same run | |',
    '| --- | ---: |',
    `| HTTP floor: CPU ms per bare node:http JSON exchange (${fmt(floor.bodyBytes)} B body, keep-alive) | ${fmt(floor.cpuMsPerExchange)} |`,
    `| HTTP floor: exchanges/s, p50 ms, p99 ms | ${fmt(floor.exchangesPerSec)}, ${fmt(floor.p50Ms)}, ${fmt(floor.p99Ms)} |`,
    `| callback handling in the SA over the sweep p50 / p99 ms | ${fmt(sa.callbackP50Ms)} / ${fmt(sa.callbackP99Ms)} |`,
    `| machine alone: µs CPU per recorded chat (${machineAlone.eventsPerChat} events, stubbed effects) | ${fmt(machineAlone.usPerChat)} |`,
    `| heap per live session at agentsJoined (${fmt(heap.sessions)} in one registry, ${fmt(heap.agents)} agents) KB | ${fmt(heap.kbPerSession)} |`,
    `| registry CPU µs to bring one session to agentsJoined: all / first tenth / last tenth | ${fmt(heap.setupUsPerSession)} / ${fmt(heap.setupUsFirstTenth)} / ${fmt(heap.setupUsLastTenth)} |`,
    `| store: CPU ms the embedded store on disk adds per chat (registry replay, ${fmt(store.chats)} chats: ${fmt(store.storeCpuMsPerChat)} with it, ${fmt(store.memoryCpuMsPerChat)} without) | ${fmt(store.addedCpuMsPerChat)} |`,
    `| store: transactions per chat | ${fmt(store.writesPerChat)} |`,
    `| store, ${store.atOnce.concurrency} chats at once: CPU ms it adds per chat (${fmt(store.atOnce.storeCpuMsPerChat)} with it, ${fmt(store.atOnce.memoryCpuMsPerChat)} without) | ${fmt(store.atOnce.addedCpuMsPerChat)} |`,
    `| store, ${store.atOnce.concurrency} chats at once: transactions per chat | ${fmt(store.atOnce.writesPerChat)} |`,
    `| resume ${fmt(resume.sessions)} stored sessions at agentsJoined: ms (open the store ${fmt(resume.openMs)} ms before) | ${fmt(resume.resumeMs)} |`,
    `| resume: ms per session, CPU ms per session | ${fmt(resume.msPerSession)}, ${fmt(resume.cpuMsPerSession)} |`,
  );
  if (report.profile) {
    for (const name of ['sa', 'emulator'] as const) {
      const p = report.profile[name];
      lines.push('', `${name} CPU profile (${fmt(p.busyMs)} ms busy), top self time by function:`);
      for (const f of p.functions) lines.push(`  ${f.percent.toFixed(1).padStart(5)} %  ${f.name}`);
      lines.push(`${name}: self time by area:`);
      for (const a of p.areas) lines.push(`  ${a.percent.toFixed(1).padStart(5)} %  ${a.name}`);
    }
    lines.push('', `profiles and child logs: ${report.profile.dir}`);
  }
  return lines;
}

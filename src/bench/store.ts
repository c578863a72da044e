/**
 * The store's figures, in process, from the recorded chat:
 *   - what the embedded store adds per chat: the recorded chat replayed, start to end, through the SA's
 *     session registry (SessionManager + Router + the machine over a platform client that answers at once),
 *     once without a store (memory only) and once writing ahead to PGlite in a data directory on disk as
 *     `carechat sa` does (DATA_DIR); the difference in this process's CPU per chat;
 *   - the time to resume N stored sessions: N sessions at `agentsJoined` in a data directory on disk (one
 *     driven there through the registry with the store, the others copies of it with their own ids and
 *     agents), then the store opened again and the registry's resume() run until every one is live again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallbackEvent } from '../../machines/events.ts';
import { systemClock } from '../runtime/clock.ts';
import { provideChatSession } from '../runtime/effects.ts';
import { silentLogger } from '../runtime/logger.ts';
import { SessionPersistence } from '../runtime/persistence.ts';
import { Router } from '../runtime/router.ts';
import { SessionManager } from '../runtime/sessions.ts';
import { type JsonObject, openStore, type SessionWrite, type Store } from '../store/index.ts';
import { flush, instantClient, type Recording, UUID, WIRE } from './machine.ts';

/** The SA's lease owner with an embedded store (INSTANCE_ID's default). */
const OWNER = 'embedded';
const CHATS_PER_AGENT = 100;

interface Registry {
  manager: SessionManager;
  /** Transactions begun on the store so far (0 without one). */
  writes: () => number;
}

function registry(
  recording: Recording,
  roster: Array<{ uri: string; name: string }>,
  store?: Store,
): Registry {
  let manager: SessionManager | undefined;
  const router = new Router({
    roster: roster.map((agent) => ({ ...agent, capacity: CHATS_PER_AGENT })),
    strategy: recording.routing.strategy,
    capacity: CHATS_PER_AGENT,
    maxMissedInRow: recording.routing.maxMissedInRow,
    avgHandleMs: recording.routing.avgHandleMs,
    skillsFallback: recording.routing.skillsFallback,
    clock: systemClock,
    logger: silentLogger,
    send: (sessionId, event) => queueMicrotask(() => manager?.deliver(sessionId, event)),
  });
  manager = new SessionManager({
    logic: provideChatSession({
      client: instantClient(),
      clock: systemClock,
      logger: silentLogger,
      journal: {
        before: (sessionId, effect) => manager?.beforeEffect(sessionId, effect) ?? Promise.resolve(),
        after: (sessionId, operationId, end) => manager?.afterEffect(sessionId, operationId, end),
      },
    }),
    clock: systemClock,
    logger: silentLogger,
    settings: recording.settings,
    router,
    isOpen: () => true,
    // Written, an ended chat leaves memory at once (its lease released), as it does 30 s later in the SA.
    endedGraceMs: 0,
  });
  if (!store) return { manager, writes: () => 0 };
  let writes = 0;
  const counted: Store = {
    ...store,
    transaction: (fn) => {
      writes += 1;
      return store.transaction(fn);
    },
  };
  const persistence = new SessionPersistence({
    store: counted,
    owner: OWNER,
    logger: silentLogger,
    onLeaseLost: (id) => manager?.dropTakenOver(id),
  });
  manager.attach(persistence);
  return { manager, writes: () => writes };
}

/** Everything scheduled has run: routing answers, effects, and (with a store) every write they caused. */
async function settle({ manager, writes }: Registry): Promise<void> {
  for (;;) {
    const before = writes();
    await flush();
    await manager.flush();
    await flush();
    if (writes() === before) return;
  }
}

/** The recorded ids made this chat's own (`tag` ≠ 0 for every chat but the recorded one). */
function retag(json: string, tag: number): string {
  const suffix = tag.toString(16).padStart(12, '0');
  return json.replace(UUID, (uuid) => uuid.slice(0, 24) + suffix);
}

/**
 * Drive chat number `n` (ids of its own) through the registry: the invitation, then the recorded events
 * (the first `upTo` of them), each dispatched as the SA's callback route does (awaited: with a store it
 * resolves once written). Returns the session id.
 */
async function driveChat(reg: Registry, recording: Recording, n: number, upTo?: number): Promise<string> {
  const { manager } = reg;
  const invitation = JSON.parse(retag(JSON.stringify(recording.invitation), n)) as CallbackEvent;
  const reply = await manager.dispatch([{ event: invitation, wire: WIRE }], {});
  const id = reply?.callbackContext;
  if (!id) throw new Error('the session registry did not start a chat for the recorded invitation');
  const events = JSON.parse(
    retag(JSON.stringify(recording.events.slice(0, upTo)), n).replaceAll(recording.sessionId, id),
  ) as CallbackEvent[];
  for (const event of events) {
    await settle(reg);
    await manager.dispatch([{ event, wire: WIRE }], { callbackContext: id });
  }
  await settle(reg);
  return id;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

export interface StoreCostResult {
  chats: number;
  /** CPU per chat through the registry without a store (memory only). */
  memoryCpuMsPerChat: number;
  /** CPU per chat through the registry writing ahead to the embedded store on disk. */
  storeCpuMsPerChat: number;
  /** The difference: what the store adds per chat. */
  addedCpuMsPerChat: number;
  /** Transactions the store committed per chat (session writes). */
  writesPerChat: number;
}

/** The recorded chat replayed `chats` times through the registry, without and with the store on disk. */
export async function storeCostPerChat(
  recording: Recording,
  chats: number,
  onProgress?: (done: number) => void,
  /** Chats driven at once (their writes may share transactions). */
  concurrency = 1,
): Promise<StoreCostResult> {
  const dir = mkdtempSync(join(tmpdir(), 'carechat-bench-store-'));
  const store = await openStore({ dataDir: join(dir, 'data') });
  const roster = [recording.agent];
  const memory = registry(recording, roster);
  const stored = registry(recording, roster, store);
  try {
    const run = async (reg: Registry, count: number, first: number, progress: number) => {
      let done = 0;
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const id = await driveChat(reg, recording, first + next++);
          const outcome = reg.manager.snapshot(id)?.context.outcome;
          // With a store the ended session has left memory already; it was written, so read it back.
          const ended = outcome ?? (await store.sessions.load(id))?.outcome;
          if (ended !== 'completed') throw new Error(`store bench: chat ${id} ended ${ended ?? 'nowhere'}`);
          if (++done % 10 === 0) onProgress?.(progress + done);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    };
    // Warm-up (JIT, the database's caches), not counted.
    const warm = Math.min(20, chats);
    await run(memory, warm, 1, 0);
    await run(stored, warm, 1_000_001, 0);
    let before = process.cpuUsage();
    await run(memory, chats, 2_000_001, 0);
    const memoryMs = cpuMs(before);
    const writesBefore = stored.writes();
    before = process.cpuUsage();
    await run(stored, chats, 3_000_001, chats);
    // The last chat's lease release (it left memory on a timer) is part of its cost.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await stored.manager.flush();
    const storeMs = cpuMs(before);
    return {
      chats,
      memoryCpuMsPerChat: memoryMs / chats,
      storeCpuMsPerChat: storeMs / chats,
      addedCpuMsPerChat: (storeMs - memoryMs) / chats,
      writesPerChat: (stored.writes() - writesBefore) / chats,
    };
  } finally {
    memory.manager.stop();
    stored.manager.stop();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ResumeResult {
  sessions: number;
  /** Opening the embedded store on disk (PGlite, schema check). */
  openMs: number;
  /** The registry's resume(): every stored session live again (wall time). */
  resumeMs: number;
  /** CPU of this process during resume(), per session. */
  resumeCpuMsPerSession: number;
}

/** `sessions` stored at agentsJoined, then resumed from a freshly opened store. */
export async function resumeStored(
  recording: Recording,
  sessions: number,
  prefix: number,
  onProgress?: (done: number) => void,
): Promise<ResumeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'carechat-bench-resume-'));
  const dataDir = join(dir, 'data');
  const recordedUser = recording.agent.uri.replace(/^sip:/i, '');
  const domain = recordedUser.split('@')[1] ?? 'contoso.com';
  const agents = Math.ceil(sessions / CHATS_PER_AGENT);
  const roster = Array.from({ length: agents }, (_, i) => ({
    uri: `sip:agent${i}@${domain}`,
    name: `Agent ${i}`,
  }));
  try {
    // 1. One session driven to agentsJoined through the registry with the store; it is the model.
    let store = await openStore({ dataDir });
    try {
      const first = registry(recording, [recording.agent], store);
      const id = await driveChat(first, recording, 1, prefix);
      first.manager.stop();
      const model = await store.sessions.load(id);
      const lines = await store.transcripts.read(id);
      if (model?.status !== 'active' || model.state !== 'agentsJoined') {
        throw new Error(
          `resume bench: the model session is ${model?.status}/${model?.state}, not agentsJoined`,
        );
      }
      const modelJson = JSON.stringify({
        write: {
          machineId: model.machineId,
          machineVersion: model.machineVersion,
          snapshot: model.snapshot,
          outcome: model.outcome,
          deadlines: model.deadlines,
          summary: model.summary,
        },
        lines,
      });
      // 2. The copies, each with its own ids and its agent (100 chats each), in batches.
      const batch = 250;
      for (let from = 1; from < sessions; from += batch) {
        await store.transaction(async (tx) => {
          for (let n = from; n < Math.min(sessions, from + batch); n++) {
            const agent = roster[Math.floor(n / CHATS_PER_AGENT)]!;
            const own = `c${(n + 1).toString(16).padStart(16, '0')}`;
            const copy = JSON.parse(
              retag(modelJson, n + 1)
                .replaceAll(id, own)
                .replaceAll(recordedUser, agent.uri.replace(/^sip:/i, ''))
                .replaceAll(recording.agent.name, agent.name),
            ) as { write: SessionWrite; lines: Array<{ key: string; at: number; entry: JsonObject }> };
            const lease = await tx.sessions.create(OWNER, own, copy.write);
            if (!lease) throw new Error(`resume bench: session ${own} exists already`);
            for (const line of copy.lines) await tx.transcripts.append(lease, line);
          }
        });
        onProgress?.(Math.min(sessions, from + batch));
      }
    } finally {
      // As after a crash: the leases stay this owner's.
      await store.close();
    }

    // 3. A new start: open the store, resume every session.
    const t0 = performance.now();
    store = await openStore({ dataDir });
    const t1 = performance.now();
    const reg = registry(recording, [recording.agent, ...roster], store);
    try {
      const cpu = process.cpuUsage();
      const resumed = await reg.manager.resume();
      await settle(reg);
      const t2 = performance.now();
      const used = cpuMs(cpu);
      if (resumed.length !== sessions) {
        throw new Error(`resume bench: ${resumed.length} of ${sessions} stored sessions resumed`);
      }
      for (const id of [resumed[0]!, resumed.at(-1)!]) {
        const value = reg.manager.snapshot(id)?.value;
        const top = typeof value === 'string' ? value : value ? Object.keys(value)[0] : undefined;
        if (top !== 'agentsJoined') throw new Error(`resume bench: session ${id} resumed in ${top}`);
      }
      return {
        sessions,
        openMs: t1 - t0,
        resumeMs: t2 - t1,
        resumeCpuMsPerSession: used / sessions,
      };
    } finally {
      reg.manager.stop();
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Memory stays flat: an ended chat leaves the SA's memory (it is read from the store from then on), so the
 * heap after 1,000 ended chats is within 5 MB of the heap after 10 (each measured after a forced garbage
 * collection, in the SA process alone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { BenchChild } from '../../src/bench/processes.ts';
import { chat, runChats, saProcess, startEmulatorProcess } from './processes.ts';

const CHATS = Number(process.env.HEAP_CHATS ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'carechat-heap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The smallest heap of a few samples, each after a full collection. */
async function heapMb(sa: BenchChild): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    least = Math.min(least, (await sa.sample(undefined, { gc: true })).heapUsed);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return least / 2 ** 20;
}

it(`the SA's heap after ${CHATS} ended chats is within 5 MB of its heap after 10`, async () => {
  const emulator = await startEmulatorProcess(dir);
  let sa: BenchChild | undefined;
  try {
    const stack = await saProcess(
      dir,
      emulator,
      { DATA_DIR: ':memory:', ENDED_CHAT_LINGER_MS: '200', AGENT_CAPACITY: '10' },
      { nodeFlags: ['--expose-gc'] },
    );
    sa = await stack.start();
    const run = async (from: number, count: number) => {
      const outcomes = await runChats(count, 20, (n) =>
        chat(stack.url, `Heap Customer ${from + n}`, { waitMs: 30_000 }),
      );
      expect(outcomes.filter((o) => o.error).map((o) => `${o.name}: ${o.error}`)).toEqual([]);
      // Ended chats linger 200 ms for late callbacks, then leave memory.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    };
    await run(0, 10);
    const after10 = await heapMb(sa);
    await run(10, CHATS - 10);
    const afterAll = await heapMb(sa);
    console.info(
      `SA heap: ${after10.toFixed(1)} MB after 10 chats, ${afterAll.toFixed(1)} MB after ${CHATS}`,
    );
    expect(afterAll - after10).toBeLessThan(5);
  } finally {
    await sa?.stop();
    await emulator.stop();
  }
}, 900_000);

/**
 * `carechat bench --quick --json` as a user runs it: a child process that prints the summary table and,
 * last, one JSON line with every figure. Only presence and sanity of the figures are checked, never their
 * size (machines are noisy).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/carechat.js', import.meta.url));
const profileDir = mkdtempSync(join(tmpdir(), 'carechat-bench-test-'));

afterAll(() => rmSync(profileDir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every leaf of a JSON value with its path. */
function leaves(value: unknown, path = ''): Array<[string, unknown]> {
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, child]) => leaves(child, path ? `${path}.${key}` : key));
  }
  return [[path, value]];
}

const SWEEP_FIELDS = [
  'concurrency',
  'chats',
  'seconds',
  'chatsPerSec',
  'saCpuMsPerChat',
  'emulatorCpuMsPerChat',
  'driverCpuMsPerChat',
  'welcomeP50Ms',
  'welcomeP95Ms',
  'welcomeP99Ms',
  'chatP50Ms',
  'callbacksPerChat',
  'callbackP50Ms',
  'callbackP99Ms',
  'saExchangesPerChat',
  'emulatorExchangesPerChat',
];
const SIDE_FIELDS = [
  'chats',
  'cpuMsPerChat',
  'exchangesPerChat',
  'cpuMsPerExchange',
  'chatCostInFloorExchanges',
  'exchangeCostVsFloor',
  'rssMb',
];
const POSITIVE: Record<string, string[]> = {
  floor: ['exchanges', 'bodyBytes', 'exchangesPerSec', 'cpuMsPerExchange', 'p50Ms', 'p99Ms'],
  sa: [...SIDE_FIELDS, 'callbackP50Ms', 'callbackP99Ms'],
  emulator: SIDE_FIELDS,
  machineAlone: ['chats', 'eventsPerChat', 'usPerChat'],
  heap: [
    'sessions',
    'agents',
    'bytesPerSession',
    'kbPerSession',
    'setupUsPerSession',
    'setupUsFirstTenth',
    'setupUsLastTenth',
  ],
  store: ['chats', 'memoryCpuMsPerChat', 'storeCpuMsPerChat', 'writesPerChat'],
  resume: ['sessions', 'openMs', 'resumeMs', 'msPerSession', 'cpuMsPerSession'],
  machine: ['cpus'],
};

describe('carechat bench --quick --json', () => {
  it('runs the emulator and the SA, prints the table and one JSON line with every figure, last', async () => {
    const { code, stdout, stderr } = await run(['bench', '--quick', '--json', '--profile', profileDir]);
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const report = JSON.parse(lines.at(-1)!) as Record<string, Record<string, unknown>> & {
      sweep: Array<Record<string, unknown>>;
    };
    expect(stdout).toContain('| complete chats/s (end to end) |');
    expect(stdout).toMatch(/^\| store: CPU ms the embedded store on disk adds per chat .* \| -?[\d.,]+ \|$/m);
    expect(stdout).toMatch(/^\| resume 100 stored sessions at agentsJoined: ms .* \| [\d.,]+ \|$/m);
    // What the store adds is a difference of two noisy figures: present and a number, its sign not checked.
    expect(report.store?.addedCpuMsPerChat).toBeTypeOf('number');
    const atOnce = report.store?.atOnce as Record<string, unknown> | undefined;
    for (const field of ['concurrency', 'memoryCpuMsPerChat', 'storeCpuMsPerChat', 'writesPerChat']) {
      expect(atOnce?.[field], `store.atOnce.${field}`).toBeGreaterThan(0);
    }
    expect(atOnce?.addedCpuMsPerChat).toBeTypeOf('number');
    // Progress went to stderr (terse lines: stderr is not a terminal here).
    expect(stderr).toMatch(/^bench: 10 at once: \d+ chats in/m);

    expect(report.quick).toBe(true);
    expect(report.seconds).toBeGreaterThan(0);
    for (const [section, fields] of Object.entries(POSITIVE)) {
      for (const field of fields) {
        expect(report[section]?.[field], `${section}.${field}`).toBeTypeOf('number');
        expect(report[section]?.[field], `${section}.${field}`).toBeGreaterThan(0);
      }
    }
    expect(report.sweep.map((s) => s.concurrency)).toEqual([1, 10]);
    for (const step of report.sweep) {
      for (const field of SWEEP_FIELDS) {
        expect(step[field], `sweep ${step.concurrency} ${field}`).toBeTypeOf('number');
        expect(step[field], `sweep ${step.concurrency} ${field}`).toBeGreaterThan(0);
      }
      expect(step.failed).toBe(0);
      expect(step.stillOpen).toBe(0);
    }
    // The welcome cannot come before the invitation, nor p99 below p50.
    for (const step of report.sweep) {
      expect(step.welcomeP99Ms as number).toBeGreaterThanOrEqual(step.welcomeP50Ms as number);
    }

    // Profiles of both children, summarised.
    expect(existsSync(join(profileDir, 'sa.cpuprofile'))).toBe(true);
    expect(existsSync(join(profileDir, 'emulator.cpuprofile'))).toBe(true);
    const profile = report.profile as unknown as Record<
      'sa' | 'emulator',
      { busyMs: number; functions: Array<{ name: string; selfMs: number; percent: number }> }
    >;
    for (const side of ['sa', 'emulator'] as const) {
      expect(profile[side].busyMs).toBeGreaterThan(0);
      expect(profile[side].functions.length).toBeGreaterThan(0);
      expect(profile[side].functions[0]!.name).toBeTypeOf('string');
    }

    // No figure is missing (NaN and Infinity become null in JSON).
    for (const [path, value] of leaves(report)) {
      expect(value, path).not.toBeNull();
      if (typeof value === 'number') expect(Number.isFinite(value), path).toBe(true);
    }
  }, 180_000);
});

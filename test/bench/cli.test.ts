/**
 * The bench's command line, its wiring of the SA to an emulator, and the profile summary, without running
 * a benchmark.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { areaOf, summariseProfile } from '../../src/bench/profile.ts';
import { saEnvForEmulator } from '../../src/bench/stack.ts';
import { percentile } from '../../src/bench/stats.ts';
import { parseBenchArgs } from '../../src/cli/bench.ts';
import { main } from '../../src/cli.ts';
import { loadSaConfig } from '../../src/runtime/config.ts';

const BIN = fileURLToPath(new URL('../../bin/carechat.js', import.meta.url));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) }, out, err };
}

describe('carechat bench arguments', () => {
  it('accepts the documented flags', () => {
    expect(parseBenchArgs([])).toEqual({ quick: false, json: false });
    expect(parseBenchArgs(['--quick', '--json', '--profile', 'prof', '--concurrency', '1,5,300'])).toEqual({
      quick: true,
      json: true,
      profileDir: 'prof',
      concurrency: [1, 5, 300],
    });
    expect(parseBenchArgs(['--profile=out', '--concurrency=2'])).toEqual({
      quick: false,
      json: false,
      profileDir: 'out',
      concurrency: [2],
    });
  });

  it.each([
    [['--fast'], "unknown argument '--fast'"],
    [['quick'], "unknown argument 'quick'"],
    [['--profile'], '--profile needs a folder'],
    [['--profile', '--json'], '--profile needs a folder'],
    [['--concurrency', '0'], '--concurrency needs a comma-separated list of numbers from 1 to 300'],
    [['--concurrency', '1,,5'], '--concurrency needs'],
    [['--concurrency', '301'], '--concurrency needs'],
    [['--concurrency=ten'], "got 'ten'"],
    [['--json=yes'], '--json takes no value'],
  ])('refuses %j', (args, message) => {
    const parsed = parseBenchArgs(args);
    expect(typeof parsed).toBe('string');
    expect(parsed).toContain(message);
  });

  it('answers bad arguments with one line on stderr and exit code 2', async () => {
    const child = spawn(process.execPath, [BIN, 'bench', '--concurrency', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([
      "carechat bench: --concurrency needs a comma-separated list of numbers from 1 to 300, got '0' (see carechat bench --help)",
    ]);
  });

  it('is listed by carechat --help, and has its own --help', async () => {
    const top = capture();
    expect(await main(['--help'], top.io)).toBe(0);
    expect(top.out.join('\n')).toMatch(/^ {2}bench +measure/m);
    const own = capture();
    expect(await main(['bench', '--help'], own.io)).toBe(0);
    expect(own.out.join('\n')).toContain('usage: carechat bench [--quick] [--json] [--profile DIR]');
  });
});

describe('the SA wired to an emulator child', () => {
  it('gets the same configuration as carechat start gives it in one process', () => {
    const url = 'http://127.0.0.1:4567';
    // The session-cookie key is random per process when SESSION_SECRET is unset: compare everything else.
    const withoutKey = (config: ReturnType<typeof loadSaConfig>) => ({
      ...config,
      auth: { ...config.auth, sessionSecret: null },
    });
    expect(withoutKey(loadSaConfig(saEnvForEmulator(url)))).toEqual(
      withoutKey(loadSaConfig({}, { emulatorUrl: url })),
    );
  });
});

describe('bench figures', () => {
  it('percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarises a CPU profile: self time per function and per area, idle left out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'carechat-profile-'));
    try {
      const root = fileURLToPath(new URL('../../', import.meta.url));
      const frame = (id: number, functionName: string, url: string) => ({
        id,
        callFrame: { functionName, url, lineNumber: 9, columnNumber: 0, scriptId: String(id) },
      });
      const file = join(dir, 'x.cpuprofile');
      writeFileSync(
        file,
        JSON.stringify({
          nodes: [
            frame(1, '(root)', ''),
            frame(2, '(idle)', ''),
            frame(3, 'verify', `file://${root}node_modules/jose/dist/node/esm/verify.js`),
            frame(4, 'dispatch', `file://${root}src/runtime/sessions.ts`),
            frame(5, '(garbage collector)', ''),
          ],
          startTime: 0,
          endTime: 1000,
          samples: [2, 3, 3, 4, 5, 2],
          timeDeltas: [0, 100, 300, 100, 200, 100],
        }),
      );
      const summary = summariseProfile(file);
      // A sample is charged the time until the next one: verify 300 + 100, dispatch 200, GC 100; idle is left out.
      expect(summary.busyMs).toBeCloseTo(0.7);
      expect(summary.functions.map((f) => f.name)).toEqual([
        'verify pkg:jose:10',
        'dispatch src/runtime/sessions.ts:10',
        '(garbage collector)',
      ]);
      expect(summary.functions[0]!.percent).toBeCloseTo((100 * 400) / 700);
      expect(summary.areas.map((a) => a.name)).toEqual([
        'pkg:jose',
        'src/runtime/sessions.ts',
        '(garbage collector)',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the area of a script', () => {
    expect(areaOf('node:internal/crypto/util')).toBe('node:internal/crypto');
    expect(areaOf('node:internal/deps/undici/undici')).toBe('node:internal/deps/undici');
    expect(areaOf('node:internal/url')).toBe('node:internal/url');
    expect(areaOf('node:events')).toBe('node:events');
    expect(areaOf('file:///x/node_modules/@hono/node-server/dist/index.mjs')).toBe('pkg:@hono/node-server');
    expect(areaOf('')).toBe('(native / V8)');
  });
});

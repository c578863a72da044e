/**
 * `carechat start` as a user runs it: a child process that prints the ready line, serves the SA and the
 * emulator, and stops cleanly on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/carechat.js', import.meta.url));
let child: ChildProcess | undefined;
/** The commands run in a folder of their own: `carechat start` keeps its store in ./data there. */
const cwd = mkdtempSync(join(tmpdir(), 'carechat-start-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

function run(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let output = '';
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
  });
  proc.stdout.on('data', (chunk) => {
    output += chunk;
  });
  proc.stderr.on('data', (chunk) => {
    output += chunk;
  });
  child = proc;
  return { child: proc, output: () => output, exited: new Promise((resolve) => proc.on('exit', resolve)) };
}

async function readyLine(output: () => string, exited: Promise<number | null>): Promise<string> {
  const ready = /carechat ready: sa=(\S+) emulator=(\S+)/;
  return Promise.race([
    new Promise<string>((resolve) => {
      const check = setInterval(() => {
        const match = ready.exec(output());
        if (match) {
          clearInterval(check);
          resolve(match[0]);
        }
      }, 20);
    }),
    exited.then((code) => {
      throw new Error(`carechat start exited (${code}) before it was ready:\n${output()}`);
    }),
  ]);
}

describe('carechat start', () => {
  it('prints the ready line, serves both apps, and exits 0 on SIGTERM', async () => {
    const { output, exited, child: proc } = run(['start'], { PORT: '0', EMULATOR_PORT: '0' });
    const line = await readyLine(output, exited);
    const [, sa, emulator] = /sa=(\S+) emulator=(\S+)/.exec(line)!;
    // The third field: a one-time sign-in link for the demo supervisor, through the emulated Azure AD.
    const consoleLink = /console=(\S+)/.exec(output())?.[1];
    expect(consoleLink).toMatch(new RegExp(`^${emulator}/[^/]+/oauth2/v2\\.0/sso\\?ticket=`));
    expect((await fetch(`${sa}/healthz`)).status).toBe(200);
    expect((await fetch(`${emulator}/platformservice/discover`)).status).toBe(200);
    const page = await fetch(`${sa}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-testid="start"');
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The embedded store, created on first start in ./data of the folder it was started in.
    expect(existsSync(join(cwd, 'data'))).toBe(true);
  });

  it('refuses a bad port with one clear line and a non-zero exit', async () => {
    const { output, exited } = run(['start'], { PORT: 'eighty' });
    expect(await exited).toBe(1);
    expect(output()).toMatch(/PORT="eighty": expected a port from 0 to 65535/);
    expect(output()).not.toMatch(/\n\s+at /);
  });

  it('refuses to run the SA alone without its configuration, naming what is missing', async () => {
    const { output, exited } = run(['sa'], { API_DISCOVER_URL: '', AAD_TOKEN_URL: '' });
    expect(await exited).toBe(1);
    expect(output()).toMatch(/API_DISCOVER_URL is required/);
  });
});

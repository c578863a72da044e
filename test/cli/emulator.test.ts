import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEmulatorArgs, run as runEmulator } from '../../src/cli/emulator.ts';
import { run as runReplay } from '../../src/cli/replay.ts';
import { callbackServer, closeAll, emulator, http } from '../emulator/helpers.ts';
import { eventually } from '../helpers/eventually.ts';
import { FIXTURES_PRESENT, fixtureText } from '../helpers/fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/carechat.js', import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  await closeAll();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l) }, out, err };
}

async function tempFile(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'carechat-replay-'));
  dirs.push(dir);
  const file = join(dir, name);
  await writeFile(file, content, 'utf8');
  return file;
}

describe('carechat emulator', () => {
  it('rejects bad arguments with one clear line and exit code 2', async () => {
    for (const args of [
      ['--port', 'x'],
      ['--rel-prefix', 'foo:'],
      ['--bogus'],
      ['--callback-url', 'ftp://x'],
      ['--anonymous-idle-ms', '-1'],
    ]) {
      const { io, err } = capture();
      expect(await runEmulator(args, io)).toBe(2);
      expect(err[0]).toMatch(/^carechat emulator: /);
    }
  });

  it('parses port, host, rel prefix, callback URL and the anonymous idle timeout', () => {
    const options = parseEmulatorArgs([
      '--port',
      '0',
      '--host=127.0.0.1',
      '--rel-prefix',
      'service:',
      '--callback-url',
      'http://127.0.0.1:3000/callbacks',
      '--anonymous-idle-ms=60000',
    ]);
    expect(options).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      config: { relPrefix: 'service:', anonymousIdleTimeoutMs: 60_000 },
    });
    expect(typeof options === 'object' && options.config.applications?.[0]?.callbackUrl).toBe(
      'http://127.0.0.1:3000/callbacks',
    );
    // The SA at that origin may sign its operators in through the emulator.
    expect(typeof options === 'object' && options.redirectUris).toEqual([
      'http://127.0.0.1:3000/auth/callback',
    ]);
  });

  it('registers sign-in redirect URIs, and refuses one that is not a URL', () => {
    const options = parseEmulatorArgs(['--sign-in-redirect', 'https://sa.example/auth/callback']);
    expect(typeof options === 'object' && options.redirectUris).toEqual(['https://sa.example/auth/callback']);
    expect(parseEmulatorArgs(['--sign-in-redirect', 'nope'])).toMatch(/--sign-in-redirect needs an absolute/);
  });

  it('runs alone, prints its ready line and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += String(chunk);
    });
    const ready = await eventually(
      () => /carechat emulator ready: (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout),
      (match) => expect(match).not.toBeNull(),
      { timeout: 15_000, interval: 50 },
    );
    const discover = await http(`${ready![1]}/platformservice/discover`);
    expect(discover.status).toBe(200);
    expect(discover.json.rel).toBe('ms:rtc:saas:discover');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 20_000);
});

describe('carechat replay', () => {
  it('has the emulator sign the file and prints the SA answer', async () => {
    const { url } = await emulator();
    const cb = await callbackServer(url);
    const body =
      '\ufeff{"_links":{"self":{"href":"/x/events?ack=1\\\\u0026key=k"}},"sender":[],"baseuri":"https://pool.example"}';
    const file = await tempFile('callback.json', body);
    const { io, out, err } = capture();
    expect(await runReplay([file, '--to', cb.url, '--emulator', url], io)).toBe(0);
    expect(err).toEqual([]);
    expect(out).toEqual(['SA answered 200']);
    expect(cb.rejected).toEqual([]);
    expect(cb.received[0]?.body._links.self?.href).toBe('/x/events?ack=1&key=k');
  });

  it.skipIf(!FIXTURES_PRESENT)(
    'replays a captured callback that an SA verifies like a real one',
    async () => {
      const { url } = await emulator();
      const cb = await callbackServer(url);
      const file = await tempFile('Event_IncomingIMCall.json', fixtureText('Event_IncomingIMCall.json'));
      const { io, out } = capture();
      expect(await runReplay([file, '--to', cb.url, '--emulator', url], io)).toBe(0);
      expect(out[0]).toBe('SA answered 200');
      expect(cb.received[0]?.body.sender[0]?.rel).toBe('ms:rtc:saas:communication');
    },
  );

  it('exits 1 when the SA answers non-2xx and prints the status', async () => {
    const { url } = await emulator();
    const cb = await callbackServer(url);
    cb.respond = () => new Response('nope', { status: 400 });
    const file = await tempFile('c.json', '{"sender":[]}');
    const { io, out } = capture();
    expect(await runReplay([file, '--to', cb.url, '--emulator', url], io)).toBe(1);
    expect(out).toEqual(['SA answered 400: nope']);
  });

  it('refuses bad input with exit code 2 and a clear message', async () => {
    const notJson = await tempFile('bad.json', '{"sender": [');
    const cases: Array<[string[], RegExp]> = [
      [[notJson, '--to', 'http://127.0.0.1:1/cb'], /not valid JSON/],
      [['missing-file.json', '--to', 'http://127.0.0.1:1/cb'], /cannot read missing-file\.json: ENOENT/],
      [[notJson], /--to needs/],
      [[], /file to replay is missing/],
      [[notJson, '--wat'], /unknown option '--wat'/],
    ];
    for (const [args, message] of cases) {
      const { io, err } = capture();
      expect(await runReplay(args, io)).toBe(2);
      expect(err[0]).toMatch(message);
    }
  });

  it('exits 1 with a hint when the emulator cannot be reached', async () => {
    const file = await tempFile('c.json', '{"sender":[]}');
    const { io, err } = capture();
    expect(
      await runReplay([file, '--to', 'http://127.0.0.1:1/cb', '--emulator', 'http://127.0.0.1:9'], io),
    ).toBe(1);
    expect(err[0]).toMatch(/cannot reach the emulator at http:\/\/127\.0\.0\.1:9/);
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toEvents } from '../../src/callbacks/toEvents.ts';
import { run } from '../../src/cli/inspect.ts';
import { type CliIo, main } from '../../src/cli.ts';
import { CallbackEnvelopeSchema } from '../../src/wire/envelope.ts';
import { parseJsonText } from '../../src/wire/json.ts';
import {
  FIXTURES_DIR,
  FIXTURES_PRESENT,
  fixtureNames,
  fixtureText,
  NEGATIVE_FIXTURES,
} from '../helpers/fixtures.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIELDS = ['type', 'rel', 'href', 'status', 'reason', 'operationId', 'conversation', 'event'];
const CALLBACK_FIXTURES = fixtureNames('Event_').filter((name) => !NEGATIVE_FIXTURES.has(name));

function capture(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (line) => out.push(line), stderr: (line) => err.push(line) };
}

async function inspect(...args: string[]) {
  const io = capture();
  const code = await main(['inspect', ...args], io);
  return { code, out: io.out, err: io.err };
}

/** Exactly one line on stderr, naming the problem, no stack trace. */
function expectOneErrorLine(err: string[], pattern: RegExp) {
  expect(err).toHaveLength(1);
  expect(err[0]).not.toContain('\n');
  expect(err[0]).not.toMatch(/\bat .+:\d+:\d+/);
  expect(err[0]).toMatch(pattern);
}

const ENVELOPE = {
  _links: { self: { href: '/platformservice/v1/applications/42/events?ack=2\\u0026key=k' } },
  sender: [
    {
      rel: 'service:conversation',
      href: '/platformservice/v1/applications/42/communication/conversations/c-1?endpointId=sip:helpdesk@contoso.com',
      events: [
        {
          link: {
            rel: 'service:message',
            href: '/platformservice/v1/applications/42/communication/conversations/c-1/messaging/messages/1',
          },
          status: 'Success',
          _embedded: {
            'service:message': {
              direction: 'Incoming',
              operationId: 'op-1',
              _links: { plainMessage: { href: 'data:text/plain;charset=utf-8,hello' } },
            },
          },
          type: 'completed',
        },
        {
          link: {
            rel: 'service:audioVideo',
            href: '/platformservice/v1/applications/42/communication/conversations/c-1/audioVideo',
          },
          type: 'updated',
        },
      ],
    },
  ],
  baseuri: 'https://pool.example.test',
};

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'carechat-inspect-'));
  await writeFile(file('callback.json'), `\ufeff${JSON.stringify(ENVELOPE, null, 2)}`);
  const { baseuri: _dropped, ...noBase } = ENVELOPE;
  await writeFile(file('no-baseuri.json'), JSON.stringify(noBase));
  await writeFile(file('truncated.json'), JSON.stringify(ENVELOPE).slice(0, 40));
  await writeFile(file('array.json'), '[]');
  await writeFile(file('empty.json'), '\ufeff');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('carechat inspect', () => {
  it('prints one JSON line per event with exactly the documented fields', async () => {
    const { code, out, err } = await inspect(file('callback.json'));
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out.map((line) => JSON.parse(line))).toEqual([
      {
        type: 'completed',
        rel: 'message',
        href: 'https://pool.example.test/platformservice/v1/applications/42/communication/conversations/c-1/messaging/messages/1',
        status: 'Success',
        reason: null,
        operationId: 'op-1',
        conversation:
          'https://pool.example.test/platformservice/v1/applications/42/communication/conversations/c-1?endpointId=sip:helpdesk@contoso.com',
        event: 'callback.messageCompleted',
      },
      {
        type: 'updated',
        rel: 'audioVideo',
        href: 'https://pool.example.test/platformservice/v1/applications/42/communication/conversations/c-1/audioVideo',
        status: null,
        reason: null,
        operationId: null,
        conversation:
          'https://pool.example.test/platformservice/v1/applications/42/communication/conversations/c-1?endpointId=sip:helpdesk@contoso.com',
        event: null,
      },
    ]);
    for (const line of out) expect(Object.keys(JSON.parse(line))).toEqual(FIELDS);
  });

  it('reads the callback body from stdin with -', async () => {
    const io = capture();
    const code = await run(['-'], io, async () => JSON.stringify(ENVELOPE));
    expect(code).toBe(0);
    expect(io.out).toHaveLength(2);
  });

  it('names a missing file in one line and exits 1', async () => {
    const { code, out, err } = await inspect(file('nope.json'));
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expectOneErrorLine(err, /^carechat inspect: file not found: .*nope\.json$/);
  });

  it('names a directory given instead of a file', async () => {
    const { code, err } = await inspect(dir);
    expect(code).toBe(1);
    expectOneErrorLine(err, /is a directory, expected a file$/);
  });

  it('says the body is not valid JSON', async () => {
    const { code, err } = await inspect(file('truncated.json'));
    expect(code).toBe(1);
    expectOneErrorLine(err, /truncated\.json: body is not valid JSON \(.+\)$/);
  });

  it('says the body is empty', async () => {
    const { code, err } = await inspect(file('empty.json'));
    expect(code).toBe(1);
    expectOneErrorLine(err, /empty\.json: body is empty, expected JSON$/);
  });

  it('names the missing baseuri', async () => {
    const { code, err } = await inspect(file('no-baseuri.json'));
    expect(code).toBe(1);
    expectOneErrorLine(err, /no-baseuri\.json: not a callback envelope: baseuri is missing$/);
  });

  it('refuses JSON that is not an object', async () => {
    const { code, err } = await inspect(file('array.json'));
    expect(code).toBe(1);
    expectOneErrorLine(
      err,
      /array\.json: not a callback envelope: expected a JSON object with _links, sender and baseuri$/,
    );
  });

  it.each([
    [[], /expected one file \(or - for stdin\), got 0/],
    [['a.json', 'b.json'], /expected one file \(or - for stdin\), got 2/],
    [['--verbose', 'a.json'], /unknown option --verbose/],
  ])('exits 2 on a usage error (%j)', async (args, message) => {
    const { code, out, err } = await inspect(...args);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n')).toMatch(message);
    expect(err.join('\n')).toContain('usage: carechat inspect <file|->');
  });

  it('prints its usage with --help and exits 0', async () => {
    const { code, out } = await inspect('--help');
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('usage: carechat inspect <file|->');
  });

  it('is listed in the command table', async () => {
    const io = capture();
    await main(['--help'], io);
    expect(io.out.join('\n')).toMatch(/^\s+inspect\s+print the events of a callback body$/m);
  });
});

describe.skipIf(!FIXTURES_PRESENT)('carechat inspect over the captured payloads', () => {
  it.each(CALLBACK_FIXTURES)('prints every event of %s', async (name) => {
    const { code, out, err } = await inspect(join(FIXTURES_DIR, name));
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const envelope = CallbackEnvelopeSchema.parse(parseJsonText(fixtureText(name)));
    const expected = toEvents(envelope);
    expect(out).toHaveLength(envelope.sender.reduce((n, sender) => n + sender.events.length, 0));
    const lines = out.map((line) => JSON.parse(line));
    lines.forEach((line, i) => {
      expect(Object.keys(line)).toEqual(FIELDS);
      expect(line.href).toMatch(/^https:\/\//);
      expect(line.rel).not.toContain(':');
      expect(line.event).toBe(expected[i]?.event?.type ?? null);
      expect(line.conversation).toBe(expected[i]?.wire.conversation);
    });
  });

  it('prints nothing for the heartbeat and exits 0', async () => {
    expect(await inspect(join(FIXTURES_DIR, 'Event_Empty.json'))).toEqual({ code: 0, out: [], err: [] });
  });

  it('prints the decoded mapping of the incoming message', async () => {
    const { out } = await inspect(join(FIXTURES_DIR, 'Event_MessageIncoming.json'));
    expect(JSON.parse(out[0] ?? '{}')).toMatchObject({
      type: 'completed',
      rel: 'message',
      status: 'Success',
      event: 'callback.messageCompleted',
    });
  });

  it.each([
    ['AdhocMeeting_Malformed.json', /body is not valid JSON \(.+\)$/],
    ['AnonApplicationToken_Malformed.json', /body is not valid JSON \(.+\)$/],
    ['Event_AudioInvitationStarted.json', /not a callback envelope: _links is missing$/],
    ['Discover.json', /not a callback envelope: sender is missing$/],
  ])('rejects %s with one clear line and exit 1', async (name, message) => {
    const { code, out, err } = await inspect(join(FIXTURES_DIR, name));
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expectOneErrorLine(err, message);
  });
});

describe('the carechat bin', () => {
  function carechat(args: string[], stdin?: string) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['bin/carechat.js', ...args],
        { cwd: REPO_ROOT },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (stdin !== undefined) child.stdin?.end(stdin);
    });
  }

  it('runs inspect as a real process on a file', async () => {
    const result = await carechat(['inspect', file('callback.json')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line).event)).toEqual(['callback.messageCompleted', null]);
  });

  it('runs inspect as a real process reading stdin', async () => {
    const result = await carechat(['inspect', '-'], JSON.stringify(ENVELOPE));
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('exits 1 with one stderr line for bad input', async () => {
    const result = await carechat(['inspect', file('truncated.json')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/body is not valid JSON/);
  });

  it.skipIf(!FIXTURES_PRESENT)('runs inspect as a real process on a captured callback', async () => {
    const result = await carechat(['inspect', join(FIXTURES_DIR, 'Event_IncomingIMCall.json')]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      type: 'started',
      rel: 'messagingInvitation',
      operationId: '07da2943-dd03-4132-b804-da72dc3ab783',
      event: 'callback.invitationReceived',
    });
  });
});

/**
 * Forged, unauthenticated or malformed callbacks never touch a session; every captured positive payload
 * goes through the real SA's callback route, signed the way the platform signs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallbackLogEntry } from '../../src/emulator/index.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { SessionRow, SessionView, TranscriptEntry } from '../../src/runtime/sessions.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  FIXTURES_PRESENT,
  FIXTURES_SKIP_MESSAGE,
  fixtureNames,
  fixtureText,
  NEGATIVE_FIXTURES,
} from '../helpers/fixtures.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';

let stack: RunningStack;
let customer: AnonCustomer;
let session: SessionView;
let agentUri: string;

async function json<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

async function view(): Promise<SessionView> {
  return json<SessionView>(operatorFetch(`${stack.saUrl}/sessions/${session.id}`));
}

async function transcript(): Promise<TranscriptEntry[]> {
  return (
    await json<{ entries: TranscriptEntry[] }>(
      operatorFetch(`${stack.saUrl}/sessions/${session.id}/transcript`),
    )
  ).entries;
}

async function control(path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.emulatorUrl}/control${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The agent starts or stops typing: exactly one callback; resolves with the SA's answer to it. */
async function agentTyping(isTyping: boolean): Promise<CallbackLogEntry> {
  const since = stack.emulator.log.list({}).at(-1)?.seq ?? 0;
  const sent = await control(`/agents/${encodeURIComponent(agentUri)}/typing`, { isTyping });
  expect(sent.status).toBe(200);
  return eventually(
    () =>
      (stack.emulator.log.list({ kind: 'callback', since }) as CallbackLogEntry[]).find(
        (entry) => entry.events.some((e) => e.includes('typingParticipants')) && entry.status !== null,
      ),
    (entry) => expect(entry).toBeDefined(),
  ) as Promise<CallbackLogEntry>;
}

beforeAll(async () => {
  // Typing indications time out on the emulator's own timer; keep that out of these comparisons.
  stack = await startStack({
    logger: silentLogger,
    env: operatorEnv(),
    emulatorConfig: { typingIdleMs: 600_000 },
  });
  customer = await AnonCustomer.start(stack.saUrl, { name: 'Forgery Target' });
  await customer.waitForMessage((m) => m.text !== stack.sa.config.chat.welcomeText);
  const row = (await eventually(
    async () =>
      (
        await json<{ sessions: SessionRow[] }>(operatorFetch(`${stack.saUrl}/sessions`))
      ).sessions[0],
    (s) => expect(s?.state).toBe('agentsJoined'),
  )) as SessionRow;
  session = await json<SessionView>(operatorFetch(`${stack.saUrl}/sessions/${row.id}`));
  agentUri = session.agents.find((a) => a.joined)!.uri;
});
afterAll(async () => {
  await customer?.close();
  await stack?.close();
});

describe('callback authentication on a live session', () => {
  it.each([
    ['an expired token', { expired: true }],
    ['a token signed with a key outside the JWKS', { foreignKey: true }],
    ['a token for another audience', { aud: 'https://someone-else.example' }],
    ['a token from another tenant', { iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/' }],
    ['a token from another application', { appid: '11111111-2222-3333-4444-555555555555' }],
  ])('rejects %s with 401 and leaves the session as it was', async (_, overrides) => {
    // Let earlier deliveries finish so the forged token lands on the one callback this test causes.
    await eventually(
      () => stack.emulator.callbacksBusy(),
      (busy) => expect(busy).toBe(false),
    );
    const before = { view: await view(), transcript: await transcript() };
    const added = await control('/faults', { kind: 'callbackToken', ...overrides, count: 1 });
    expect(added.status).toBeLessThan(300);
    const forged = await agentTyping(true);
    expect(forged.status).toBe(401);
    const after = { view: await view(), transcript: await transcript() };
    expect(after.transcript).toEqual(before.transcript);
    expect(after.view.stateValue).toEqual(before.view.stateValue);
    expect(after.view.history).toEqual(before.view.history);
    // The channel still works for properly signed callbacks.
    const genuine = await agentTyping(false);
    expect(genuine.status).toBe(200);
    await eventually(transcript, (entries) => expect(entries.length).toBe(before.transcript.length + 1));
  });

  it('rejects a callback without any token before reading it', async () => {
    const before = await transcript();
    const response = await fetch(`${stack.saUrl}/callbacks?callbackContext=${session.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _links: { self: { href: '/x' } }, sender: [], baseuri: 'https://pool.example' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await response.json()) as { message: string }).message).toMatch(/token|authorization/i);
    expect(await transcript()).toEqual(before);
  });
});

describe.skipIf(!FIXTURES_PRESENT)('captured callbacks through the SA route', () => {
  // The captured incoming invitation is a real chat request: it is handled below on its own.
  const positive = fixtureNames('Event_').filter(
    (name) => !NEGATIVE_FIXTURES.has(name) && name !== 'Event_IncomingIMCall.json',
  );

  it('treats the captured incoming invitation as a chat, but never calls hosts outside the platform allowlist', async () => {
    const known = new Set(
      (await json<{ sessions: SessionView[] }>(operatorFetch(`${stack.saUrl}/sessions`))).sessions.map(
        (s) => s.id,
      ),
    );
    const result = await json<{ status: number; body: string }>(
      control('/callbacks', {
        to: `${stack.saUrl}/callbacks`,
        body: fixtureText('Event_IncomingIMCall.json'),
      }),
    );
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toHaveProperty('callbackContext');
    const created = await eventually(
      async () =>
        (await json<{ sessions: SessionView[] }>(operatorFetch(`${stack.saUrl}/sessions`))).sessions.filter(
          (s) => !known.has(s.id),
        ),
      (list) => {
        expect(list).toHaveLength(1);
        expect(list[0]!.state).toBe('terminated');
      },
    );
    // Its links point at the 2017 pool host: refused locally, so the chat fails cleanly.
    expect(created[0]!.outcome).toBe('failed');
    expect(created[0]!.error).toMatchObject({ step: 'startAdhocMeeting', code: 'ForbiddenHost' });
  });

  it.each(positive)('accepts %s, signed as the platform signs it', async (name) => {
    const sessionsBefore = await json<{ sessions: SessionView[] }>(operatorFetch(`${stack.saUrl}/sessions`));
    const result = await json<{ status: number; body: string }>(
      control('/callbacks', { to: `${stack.saUrl}/callbacks`, body: fixtureText(name) }),
    );
    expect(result.status).toBe(200);
    // Captured payloads belong to no chat of ours: acknowledged, nothing created or changed.
    const sessionsAfter = await json<{ sessions: SessionView[] }>(operatorFetch(`${stack.saUrl}/sessions`));
    expect(sessionsAfter.sessions.map((s) => [s.id, s.stateValue])).toEqual(
      sessionsBefore.sessions.map((s) => [s.id, s.stateValue]),
    );
  });

  it.each([
    ['AdhocMeeting_Malformed.json', /not valid JSON/],
    ['AnonApplicationToken_Malformed.json', /not valid JSON/],
    ['Event_AudioInvitationStarted.json', /_links|sender|baseuri/],
  ])('answers the malformed %s with a clear 400 and changes nothing', async (name, reason) => {
    const before = await transcript();
    const result = await json<{ status: number; body: string }>(
      control('/callbacks', {
        to: `${stack.saUrl}/callbacks?callbackContext=${session.id}`,
        body: fixtureText(name),
      }),
    );
    expect(result.status).toBe(400);
    expect(result.body).toMatch(reason);
    expect(await transcript()).toEqual(before);
  });
});

if (!FIXTURES_PRESENT) console.warn(FIXTURES_SKIP_MESSAGE);

/**
 * Operator staffing on a running chat, over real HTTP against the emulator: a supervisor monitors unseen
 * (bridged with messageFilterState Enabled), barges in (Disabled), and the chat is transferred to a named
 * agent, who takes over while the previous one is shown out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { SessionView, TranscriptEntry } from '../../src/runtime/sessions.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';

let stack: RunningStack;
let customer: AnonCustomer;
let session: SessionView;
let firstAgent: string;

interface EmulatorConversation {
  kind: string;
  participants: Array<{ uri: string }>;
  bridgedParticipants: Array<{ participantUri: string; messageFilterState: string }>;
}

async function json<T>(response: Response | Promise<Response>): Promise<T> {
  return (await (await response).json()) as T;
}

function post(path: string, body?: unknown): Promise<Response> {
  return operatorFetch(`${stack.saUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
}

async function conversations(): Promise<EmulatorConversation[]> {
  return (
    await json<{ conversations: EmulatorConversation[] }>(fetch(`${stack.emulatorUrl}/control/conversations`))
  ).conversations;
}

async function transcript(): Promise<TranscriptEntry[]> {
  return (
    await json<{ entries: TranscriptEntry[] }>(
      operatorFetch(`${stack.saUrl}/sessions/${session.id}/transcript`),
    )
  ).entries;
}

async function say(agentUri: string, text: string): Promise<void> {
  const response = await fetch(
    `${stack.emulatorUrl}/control/agents/${encodeURIComponent(agentUri)}/messages`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    },
  );
  expect(response.status).toBe(201);
}

beforeAll(async () => {
  stack = await startStack({
    logger: silentLogger,
    env: operatorEnv({ AGENTS: 'sip:alice@contoso.com=Alice Agent,sip:bob@contoso.com=Bob Agent' }),
  });
  customer = await AnonCustomer.start(stack.saUrl, { name: 'Staffing Customer' });
  session = (await eventually(
    async () =>
      (
        await json<{ sessions: SessionView[] }>(operatorFetch(`${stack.saUrl}/sessions`))
      ).sessions[0],
    (s) => expect(s?.state).toBe('agentsJoined'),
  )) as SessionView;
  firstAgent = session.agents[0]!.uri;
  await customer.waitForMessage((m) => m.from !== stack.sa.config.chat.helpdeskName);
});
afterAll(async () => {
  await customer?.close();
  await stack?.close();
});

describe('staffing a running chat', () => {
  it('lets a supervisor outside the roster monitor unseen, then barge in', async () => {
    const monitor = await post(`/sessions/${session.id}/monitor`, { uri: 'sip:carol@contoso.com' });
    expect(monitor.status).toBe(202);
    await eventually(conversations, (list) => {
      const p2p = list.find((c) => c.bridgedParticipants.length > 0)!;
      expect(p2p.bridgedParticipants).toContainEqual(
        expect.objectContaining({ participantUri: 'sip:carol@contoso.com', messageFilterState: 'Enabled' }),
      );
      expect(list.some((c) => c.participants.some((p) => p.uri === 'sip:carol@contoso.com'))).toBe(true);
    });

    await say('sip:carol@contoso.com', 'supervisor note: check the refund policy');
    // The SA (in the meeting) sees it; the customer never does.
    await eventually(transcript, (entries) =>
      expect(entries.some((e) => e.text === 'supervisor note: check the refund policy')).toBe(true),
    );
    await say(firstAgent, 'agent checkpoint after the note');
    await customer.waitForMessage((m) => m.text === 'agent checkpoint after the note');
    expect(customer.messages.some((m) => m.text.includes('supervisor note'))).toBe(false);

    const barge = await post(`/sessions/${session.id}/barge`);
    expect(barge.status).toBe(202);
    await eventually(conversations, (list) => {
      const p2p = list.find((c) => c.bridgedParticipants.length > 0)!;
      expect(p2p.bridgedParticipants).toContainEqual(
        expect.objectContaining({ participantUri: 'sip:carol@contoso.com', messageFilterState: 'Disabled' }),
      );
    });
    await say('sip:carol@contoso.com', 'this is the supervisor speaking');
    await customer.waitForMessage((m) => m.text === 'this is the supervisor speaking');
  });

  it('refuses staffing requests it cannot carry out, saying why', async () => {
    const bad = await post(`/sessions/${session.id}/transfer`, { uri: 'alice' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/SIP URI/);
    const already = await post(`/sessions/${session.id}/agents`, { uri: firstAgent });
    expect(already.status).toBe(409);
    expect(((await already.json()) as { message: string }).message).toMatch(/already in this chat/);
    const unknown = await post('/sessions/nope/transfer', { uri: 'sip:bob@contoso.com' });
    expect(unknown.status).toBe(404);
  });

  it('transfers to a named agent, who takes over while the previous agent is shown out', async () => {
    const other = firstAgent === 'sip:alice@contoso.com' ? 'sip:bob@contoso.com' : 'sip:alice@contoso.com';
    const transfer = await post(`/sessions/${session.id}/transfer`, { uri: other });
    expect(transfer.status).toBe(202);
    await eventually(
      async () => json<SessionView>(operatorFetch(`${stack.saUrl}/sessions/${session.id}`)),
      (view) => expect(view.agents.map((a) => a.uri)).toEqual(expect.arrayContaining([other])),
    );
    await eventually(conversations, (list) => {
      const conference = list.find((c) => c.participants.some((p) => p.uri === other))!;
      expect(conference.participants.map((p) => p.uri)).not.toContain(firstAgent);
    });
    const agents = await json<{ agents: Array<{ uri: string; activeChats: string[] }> }>(
      operatorFetch(`${stack.saUrl}/agents`),
    );
    expect(agents.agents.find((a) => a.uri === firstAgent)?.activeChats).toEqual([]);
    expect(agents.agents.find((a) => a.uri === other)?.activeChats).toEqual([session.id]);
    await customer.send('are you the new agent?');
    await customer.waitForMessage((m) => m.text.includes('are you the new agent?') && m.from !== undefined);
  });
});

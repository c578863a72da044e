/**
 * The post-chat survey over real HTTP, kept in the session store: after a whole chat through the emulator
 * the customer's answer (POST /chat/survey with the survey token of its chat token) is stored, the SA
 * restarts on the same DATA_DIR, and the answer is still shown (GET /sessions/:id/survey, what the console
 * reads) and a second answer is still refused; the answer is counted in /metrics once and
 * `survey.submitted` reaches the webhook receiver once, signed, after the chat's other events.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, expect, it } from 'vitest';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import { startEmulator } from '../../src/emulator/index.ts';
import { loadSaConfig } from '../../src/runtime/config.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { SessionView } from '../../src/runtime/sessions.ts';
import { type RunningSa, startSa } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';
import { parsePrometheus } from '../helpers/prometheus.ts';

const SECRET = `whsec_${Buffer.from('survey-webhook-secret-0123456789').toString('base64')}`;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

/** A webhook receiver that verifies each delivery with the standardwebhooks library. */
async function receiver() {
  const verifier = new Webhook(SECRET);
  const received: Array<{ id: string; type: string; data: { sessionId: string; score?: number } }> = [];
  const invalid: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      try {
        const event = verifier.verify(body, req.headers as Record<string, string>) as (typeof received)[0];
        received.push({ id: String(req.headers['webhook-id']), type: event.type, data: event.data });
        res.statusCode = 204;
      } catch (error) {
        invalid.push(String(error));
        res.statusCode = 400;
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, received, invalid };
}

async function survey(saUrl: string, body: object) {
  const response = await fetch(`${saUrl}/chat/survey`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: new URL(saUrl).origin },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

it('keeps the answer across an SA restart: still shown, a second answer still refused, sent once', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'carechat-survey-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const emulator = await startEmulator({ logger: silentLogger });
  cleanup.push(() => emulator.close());
  const hooks = await receiver();
  const env = operatorEnv({
    DATA_DIR: dataDir,
    // Survey tokens are signed with it: the same key before and after the restart.
    SESSION_SECRET: 'survey-test-session-secret-0123456789',
    WEBHOOK_URLS: hooks.url,
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_ALLOW_PRIVATE: 'true',
  });
  const startSaHere = async (): Promise<RunningSa> => {
    const sa = await startSa({
      config: loadSaConfig({ ...env, PORT: '0', HOST: '127.0.0.1' }, { emulatorUrl: emulator.url }),
      logger: silentLogger,
    });
    emulator.emulator.setCallbackUrl(DEMO_TENANT.applicationId, `${sa.url}${sa.config.callbackPath}`);
    return sa;
  };

  const first = await startSaHere();
  let firstClosed = false;
  cleanup.push(async () => {
    if (!firstClosed) await first.close();
  });
  const customer = await AnonCustomer.start(first.url, { name: 'Surveyed Customer' });
  cleanup.push(() => customer.close());
  expect(customer.surveyToken).toEqual(expect.any(String));
  const welcome = await customer.waitForMessage(() => true);
  await customer.waitForMessage((m) => m.from !== welcome.from);
  await customer.leave();
  const session = await eventually(
    async () =>
      (
        (await (await operatorFetch(`${first.url}/sessions`)).json()) as { sessions: SessionView[] }
      ).sessions.find((s) => s.customer.name === 'Surveyed Customer'),
    (s) => expect(s?.state).toBe('terminated'),
  );
  const id = session!.id;

  expect(
    await survey(first.url, { token: customer.surveyToken, score: 4, comment: 'Kept after a restart' }),
  ).toEqual({ status: 201, body: { saved: true } });
  expect((await survey(first.url, { token: customer.surveyToken, score: 1 })).status).toBe(409);
  // Counted once, by score (the refused answer is not).
  const metrics = parsePrometheus(await (await fetch(`${first.url}/metrics`)).text());
  expect(metrics.all('carechat_survey_responses_total')).toEqual([
    expect.objectContaining({ labels: { score: '4' }, value: 1 }),
  ]);
  firstClosed = true;
  await first.close();

  const second = await startSaHere();
  cleanup.push(() => second.close());
  const shown = await operatorFetch(`${second.url}/sessions/${id}/survey`);
  expect(shown.status).toBe(200);
  expect(await shown.json()).toEqual({
    survey: {
      score: 4,
      comment: 'Kept after a restart',
      submittedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    },
  });
  expect(await survey(second.url, { token: customer.surveyToken, score: 2 })).toEqual({
    status: 409,
    body: { error: 'already_answered', message: 'this chat has been rated already: one answer per chat' },
  });
  const again = (await (await operatorFetch(`${second.url}/sessions/${id}/survey`)).json()) as {
    survey: { score: number };
  };
  expect(again.survey.score).toBe(4);

  // The chat's events, then the answer's, once (the refused answers queued nothing), signed.
  const types = await eventually(
    async () => hooks.received.filter((r) => r.data.sessionId === id).map((r) => r.type),
    (seen) => expect(seen).toContain('survey.submitted'),
    { timeout: 20_000 },
  );
  expect(hooks.invalid).toEqual([]);
  expect([...new Set(types)]).toEqual(['chat.started', 'chat.assigned', 'chat.ended', 'survey.submitted']);
  const answers = hooks.received.filter((r) => r.type === 'survey.submitted');
  expect(new Set(answers.map((r) => r.id)).size).toBe(1);
  expect(answers[0]!.data).toMatchObject({ sessionId: id, score: 4, comment: 'Kept after a restart' });
}, 60_000);

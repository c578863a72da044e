/**
 * The post-chat survey in Chromium on the full stack (SA + emulator): after a real chat the widget asks
 * "How was your chat?" as an accessible radio group (axe: no serious or critical violations), insists on a
 * rating, sends it with the survey token; the SA keeps one answer per chat (409 the second time), rejects
 * bad input naming the field, counts it in /metrics, emits survey.submitted, and the console's session
 * page shows it. Skipping removes the form and sends nothing.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SUPERVISOR } from '../../src/config/tenant.ts';
import type { ChatEvent } from '../../src/runtime/chatEvents.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { webRoutes } from '../../src/web/index.ts';
import { browserSkipped, launchBrowser } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';
import { parsePrometheus } from '../helpers/prometheus.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WAIT = { timeout: 15_000 };

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document): Promise<{ violations: unknown[] }> } })
      .axe;
    const result = await axe.run(document);
    return result.violations as Array<{ id: string; impact: string; help: string; nodes: unknown[] }>;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} ×${v.nodes.length}`);
}

describe.skipIf(browserSkipped)('the post-chat survey', () => {
  let browser: Browser | undefined;
  let stack: RunningStack;
  const submitted: ChatEvent<'survey.submitted'>[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    stack = await startStack({ logger: silentLogger, env: operatorEnv(), extraRoutes: webRoutes() });
    stack.sa.orchestrator.on('survey.submitted', (event) => submitted.push(event));
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A chat from the customer page to its end; returns the page, the survey token and the session id. */
  async function chatToTheEnd(name: string) {
    const context = await browser!.newContext({ viewport: { width: 960, height: 760 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${stack.saUrl}/`);
    await page.getByTestId('name').fill(name);
    const grant = page.waitForResponse((r) => r.url().endsWith('/chat/token'));
    await page.getByTestId('start').click();
    const { surveyToken } = (await (await grant).json()) as { surveyToken: string };
    await eventually(
      () => page.getByTestId('message').count(),
      (count) => expect(count).toBeGreaterThanOrEqual(2), // the welcome and the agent's greeting
      WAIT,
    );
    await page.getByTestId('leave').click();
    await page.getByTestId('survey').waitFor(WAIT);
    const sessionId = stack.sa.sessions.list().find((s) => s.customer.name === name)!.id;
    return { context, page, errors, surveyToken, sessionId };
  }

  it('asks, insists on a rating, sends it once, and the console and metrics show it', async () => {
    const { context, page, errors, surveyToken, sessionId } = await chatToTheEnd('Survey Customer');
    try {
      // Accessible: a named radio group of five labelled choices, a labelled comment box.
      const group = page.getByRole('radiogroup', { name: 'How was your chat?' });
      expect(await group.getByRole('radio').count()).toBe(5);
      expect(await page.getByLabel('5: Excellent').getAttribute('data-testid')).toBe('survey-score-5');
      expect(await page.getByLabel(/Anything you would like to add/).getAttribute('data-testid')).toBe(
        'survey-comment',
      );
      expect(await axeViolations(page)).toEqual([]);

      await page.getByTestId('survey-submit').click();
      expect(await page.getByTestId('survey-status').textContent()).toBe(
        'Please choose a rating from 1 to 5, or skip.',
      );
      await page.getByTestId('survey-score-4').check();
      await page.getByTestId('survey-comment').fill('Quick and friendly');
      await page.getByTestId('survey-submit').click();
      await page.getByTestId('survey-thanks').waitFor(WAIT);
      expect(await page.getByTestId('survey-thanks').textContent()).toBe('Thank you for your feedback!');
      expect(errors).toEqual([]);

      const stored = await (await operatorFetch(`${stack.saUrl}/sessions/${sessionId}/survey`)).json();
      expect(stored).toEqual({
        survey: { score: 4, comment: 'Quick and friendly', submittedAt: expect.any(String) },
      });
      expect(submitted.map((e) => e.data)).toEqual([
        { sessionId, score: 4, comment: 'Quick and friendly', submittedAt: expect.any(String) },
      ]);
      const metrics = parsePrometheus(await (await fetch(`${stack.saUrl}/metrics`)).text());
      expect(metrics.value('carechat_survey_responses_total', { score: '4' })).toBe(1);

      // One answer per chat; bad input is refused naming the field; a forged token is refused.
      const post = (body: unknown) =>
        fetch(`${stack.saUrl}/chat/survey`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: stack.saUrl },
          body: JSON.stringify(body),
        });
      const again = await post({ token: surveyToken, score: 5 });
      expect(again.status).toBe(409);
      expect(((await again.json()) as { message: string }).message).toMatch(/rated already/);
      const bad = await post({ token: surveyToken, score: 7 });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toMatch(/score/);
      const long = await post({ token: surveyToken, score: 3, comment: 'x'.repeat(1001) });
      expect(((await long.json()) as { message: string }).message).toMatch(/comment/);
      const forged = await post({ token: `${surveyToken.split('.')[0]}.AAAA`, score: 1 });
      expect(forged.status).toBe(401);

      // The supervisor sees it on the session page of the console.
      await page.goto(`${stack.saUrl}/console/sessions/${encodeURIComponent(sessionId)}`);
      await page
        .locator(`[data-testid="signin-user"][data-username="${DEMO_SUPERVISOR.username}"]`)
        .click(WAIT);
      await page.getByTestId('session-survey').waitFor(WAIT);
      await eventually(
        () => page.getByTestId('session-survey').textContent(),
        (text) => expect(text).toBe('Rated 4 out of 5'),
      );
      expect(await page.getByTestId('session-survey-comment').textContent()).toBe('Quick and friendly');
    } finally {
      await context.close();
    }
  });

  it('can be skipped: the form goes and nothing is sent', async () => {
    const { context, page, sessionId } = await chatToTheEnd('Skipping Customer');
    try {
      await page.getByTestId('survey-skip').click();
      expect(await page.getByTestId('survey').count()).toBe(0);
      const stored = await (await operatorFetch(`${stack.saUrl}/sessions/${sessionId}/survey`)).json();
      expect(stored).toEqual({ survey: null });
    } finally {
      await context.close();
    }
  });
});

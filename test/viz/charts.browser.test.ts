/**
 * The generated SVG renders in a real browser (Chromium, headless) and shows every state by name.
 * Screenshots go to test-artifacts/ (git-ignored) for a human to look at.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chatSessionMachine } from '../../machines/chatSession/index.ts';
import { DEFAULT_CHARTS_DIR } from '../../src/viz/charts.ts';
import { machineGraph } from '../../src/viz/graph.ts';
import { sessionChartSvg } from '../../src/viz/sessionChart.ts';
import { browserSkipped, launchBrowser } from '../helpers/browser.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** Opens an SVG document as a page of its own (an image/svg+xml document, as the route will serve it). */
async function openSvg(page: Page, svg: string): Promise<void> {
  await page.route('http://carechat.test/chart.svg', (route) =>
    route.fulfill({ status: 200, contentType: 'image/svg+xml', body: svg }),
  );
  await page.goto('http://carechat.test/chart.svg');
}

describe.skipIf(browserSkipped)('state chart in Chromium', () => {
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    await mkdir(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
  });
  afterEach(async () => {
    await page.close();
  });

  it('renders the committed chat session chart with every state name visible as text', async () => {
    const svg = await readFile(`${DEFAULT_CHARTS_DIR}chatSession.svg`, 'utf8');
    await openSvg(page, svg);
    const root = page.locator('svg').first();
    const box = await root.boundingBox();
    expect(box?.width).toBeGreaterThan(500);
    expect(box?.height).toBeGreaterThan(500);
    await root.screenshot({ path: `${ARTIFACTS}chatSession.png` });

    const texts = await page.$$eval('g.node text, g.cluster text', (els) =>
      els.map((el) => el.textContent ?? ''),
    );
    const missing = machineGraph(chatSessionMachine)
      .nodes.map((n) => n.key)
      .filter((key) => !texts.some((t) => t === key || t.startsWith(`${key} (`)));
    expect(missing, 'state names not shown in the rendered chart').toEqual([]);
  });

  it("renders a session's chart with its current state lit and its path drawn", async () => {
    const svg = await sessionChartSvg(chatSessionMachine, {
      stateValue: { welcomed: 'offering' },
      history: [
        'invited.starting',
        'adhocMeeting',
        'conferenced.addingMessaging',
        'conferenced.bridging',
        'conferenced.awaitingBridge',
        'bridged.awaitingMessaging',
        'bridged.sendingWelcome',
        'bridged.awaitingDelivery',
        'welcomed.routing',
        'welcomed.offering',
      ],
      title: 'session demo-1',
    });
    await openSvg(page, svg);
    await page
      .locator('svg')
      .first()
      .screenshot({ path: `${ARTIFACTS}chatSession-session.png` });

    const current = page.locator('g.node.current');
    await expect.poll(() => current.count()).toBe(1);
    expect(await current.locator('text').textContent()).toBe('offering');
    const fill = await current.locator('path, polygon').first().getAttribute('fill');
    expect(fill).toBe('#ffcc80');
    expect(await page.locator('g.edge.taken').count()).toBe(9);
  });
});

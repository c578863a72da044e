/**
 * The embeddable launcher: one <script> tag on another website (here a page served by a second local
 * server, another origin) puts a floating button there; the chat opens in a frame, can be minimised, and new
 * messages are counted on the button while it is. Only websites in CHAT_ALLOWED_ORIGINS may frame the chat.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/runtime/logger.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { webRoutes } from '../../src/web/index.ts';
import { browserSkipped, launchBrowser } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** A website: any path answers a page with the launcher's script tag. */
function website(saUrl: () => string): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html lang="en"><head><title>Shop</title></head><body><main><h1>Contoso Shop</h1><p>Our products.</p></main><script src="${saUrl()}/launcher.js" async></script></body></html>`,
    );
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

describe.skipIf(browserSkipped)('the launcher on another website', () => {
  let browser: Browser | undefined;
  let stack: RunningStack;
  let context: BrowserContext | undefined;
  let shopSite: { server: Server; origin: string };
  let otherSite: { server: Server; origin: string };
  let SHOP: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    shopSite = await website(() => stack.saUrl);
    otherSite = await website(() => stack.saUrl);
    SHOP = shopSite.origin;
    stack = await startStack({
      logger: silentLogger,
      env: { CHAT_ALLOWED_ORIGINS: SHOP },
      extraRoutes: webRoutes({ embedOrigins: [SHOP] }),
      // The agent answers only after the customer minimised the chat, so that the badge has something to count.
      emulatorConfig: { agentBehaviour: { acceptDelayMs: 1500 } },
    });
  });
  afterEach(async () => {
    await context?.close();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    shopSite?.server.close();
    otherSite?.server.close();
  });

  async function shop(host = SHOP): Promise<Page> {
    context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${host}/`);
    return page;
  }

  it('one script tag: a button that opens the chat, minimises it, and counts what arrived meanwhile', async () => {
    const page = await shop();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const launcher = page.getByTestId('launcher');
    await launcher.waitFor();
    expect(await launcher.getAttribute('aria-expanded')).toBe('false');
    await launcher.click();
    expect(await launcher.getAttribute('aria-expanded')).toBe('true');
    const chat = page.frameLocator('[data-testid="launcher-frame"]');
    await chat.getByTestId('name').fill('Embedded Customer');
    await chat.getByTestId('start').click();
    await eventually(
      async () => (await chat.getByTestId('status').textContent()) ?? '',
      (status) => expect(status).toBe('Waiting for an agent…'),
      { timeout: 10_000 },
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}launcher-open-1280x800.png` });

    await page.getByTestId('launcher-minimise').click();
    expect(await launcher.getAttribute('aria-expanded')).toBe('false');
    const badge = page.getByTestId('launcher-badge');
    // The agent joins and greets while the chat is minimised.
    await eventually(
      async () => Number((await badge.isVisible()) ? await badge.textContent() : 0),
      // At least the agent's greeting (the agent answers 1.5 s after the offer); the welcome may already have
      // been read before the minimise on a loaded machine.
      (unread) => expect(unread).toBeGreaterThanOrEqual(1),
      { timeout: 10_000 },
    );
    expect(await launcher.getAttribute('aria-label')).toMatch(/new message/);
    await page.screenshot({ path: `${ARTIFACTS}launcher-minimised-1280x800.png` });

    await launcher.click();
    expect(await badge.isHidden()).toBe(true);
    await eventually(
      async () => (await chat.getByTestId('status').textContent()) ?? '',
      (status) => expect(status).toBe('Connected'),
    );
    await chat.getByTestId('leave').click();
    expect(errors).toEqual([]);
  });

  it('a website that is not in CHAT_ALLOWED_ORIGINS cannot frame the chat', async () => {
    const page = await shop(otherSite.origin);
    await page.getByTestId('launcher').click();
    const frame = page.frameLocator('[data-testid="launcher-frame"]');
    // The browser refuses to show the chat page there (frame-ancestors): the frame ends on its error page.
    await eventually(
      () => page.frames().map((f) => f.url()),
      (urls) => expect(urls.some((url) => url.startsWith('chrome-error://'))).toBe(true),
      { timeout: 10_000 },
    );
    expect(await frame.getByTestId('start').count()).toBe(0);
  });

  it('serves launcher.js as a script any website may load', async () => {
    const res = await fetch(`${stack.saUrl}/launcher.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const body = await res.text();
    expect(body).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
    const page = await fetch(`${stack.saUrl}/`);
    expect(page.headers.get('content-security-policy')).toContain(`frame-ancestors 'self' ${SHOP}`);
  });
});

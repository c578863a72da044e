import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Browser tests run Debian's Chromium through playwright-core (no downloaded browsers).
 *
 * The rule: when Chromium is missing, a browser test SKIPS with a message on a developer machine, and
 * FAILS with a message in CI (`CI=true`), so a CI image without a browser cannot pass silently.
 *
 *   describe.skipIf(browserSkipped)('…', () => {
 *     let browser: Browser | undefined;
 *     beforeAll(async () => { browser = await launchBrowser(); });
 *     afterAll(async () => { await browser?.close(); });
 *     …
 *   });
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const browserAvailable: boolean = existsSync(CHROMIUM_PATH);

const inCi = process.env.CI === 'true';

/** True when browser tests should be skipped: no Chromium, and not in CI. */
export const browserSkipped: boolean = !browserAvailable && !inCi;

export const BROWSER_SKIP_MESSAGE = `Chromium not found at ${CHROMIUM_PATH}: browser tests skipped (apt-get install -y chromium enables them)`;

export const BROWSER_MISSING_IN_CI_MESSAGE = `Chromium not found at ${CHROMIUM_PATH} and CI=true: browser tests must run in CI (apt-get install -y chromium in the CI image)`;

if (browserSkipped) console.warn(BROWSER_SKIP_MESSAGE);

/**
 * Launches headless Chromium. Resolves undefined when it is missing outside CI (the caller's test was
 * skipped through `browserSkipped`); throws with a message when it is missing in CI.
 */
export async function launchBrowser(): Promise<Browser | undefined> {
  if (!browserAvailable) {
    if (inCi) throw new Error(BROWSER_MISSING_IN_CI_MESSAGE);
    console.warn(BROWSER_SKIP_MESSAGE);
    return undefined;
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

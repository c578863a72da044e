import { afterEach, describe, expect, it, vi } from 'vitest';

/** The browser skip rule in test/helpers/browser.ts, checked with a Chromium path that does not exist. */
async function loadHelper(env: { CI: string }) {
  vi.stubEnv('CHROMIUM_PATH', '/nonexistent/chromium');
  vi.stubEnv('CI', env.CI);
  vi.resetModules();
  return import('./browser.ts');
}

describe('browser test helper without Chromium', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
    vi.restoreAllMocks();
  });

  it('skips outside CI, saying that apt-get install -y chromium enables the tests', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const helper = await loadHelper({ CI: 'false' });
    expect(helper.browserAvailable).toBe(false);
    expect(helper.browserSkipped).toBe(true);
    expect(await helper.launchBrowser()).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('apt-get install -y chromium enables them'));
  });

  it('fails in CI (CI=true) with a message instead of skipping', async () => {
    const helper = await loadHelper({ CI: 'true' });
    expect(helper.browserSkipped).toBe(false);
    await expect(helper.launchBrowser()).rejects.toThrow(
      'Chromium not found at /nonexistent/chromium and CI=true: browser tests must run in CI',
    );
  });
});

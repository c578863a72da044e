import { defineConfig } from 'vitest/config';

/**
 * One vitest project per kind of test, so the folder a test sits in says what it needs and how long it may
 * take (docs/testing.md). `npm test` runs them all; `npm run test:<kind>` (or `vitest run --project <kind>`)
 * runs one.
 *
 * - unit: beside the code in src/ and machines/ (and the tests of test/helpers): no database, no child
 *   process, at most a loopback server; seconds in all.
 * - integration: the rest of test/: over real HTTP, the store engines (PGlite, PostgreSQL), the emulator,
 *   the CLI as a real process, the package as an integrator installs it, the import graph, the docs' links.
 * - e2e: a whole chat over real HTTP (test/e2e) and routing end to end, soak included (test/routing).
 * - model: the model-based paths driven against the real SA and emulator (test/model).
 * - browser: Chromium through playwright-core (`*.browser.test.ts`).
 * - crash: the SA killed with SIGKILL 20 times while 200 chats run, on both stores (test/durability/crash.test.ts;
 *   about five minutes; `npm run test:crash` runs it alone).
 */
const BROWSER = 'test/**/*.browser.test.ts';
const CRASH = 'test/durability/crash.test.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    // The JSON report is what .ci/run reads for its closing `N passed, N failed, N skipped` line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-artifacts/vitest-report.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'machines/**/*.test.ts', 'test/helpers/**/*.test.ts'],
          // Nothing here starts a child process or a database, so worker threads do: they start faster than forks.
          pool: 'threads',
          testTimeout: 5_000,
          hookTimeout: 5_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          // Everything else under test/, so a new folder there runs without being listed here.
          include: ['test/**/*.test.ts'],
          exclude: ['test/{e2e,routing,model,helpers}/**', BROWSER, CRASH],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/{e2e,routing}/**/*.test.ts'],
          exclude: [BROWSER],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'model',
          include: ['test/model/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: [BROWSER],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: { name: 'crash', include: [CRASH], testTimeout: 900_000, hookTimeout: 60_000 },
      },
    ],
  },
});

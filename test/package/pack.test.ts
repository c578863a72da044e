/**
 * The package as an integrator gets it: `npm pack` ships the compiled library (dist/), the web assets, the
 * README and the licence, and nothing else; installed from the tarball into a fresh project (which cannot
 * see this repository's sources), a strict TypeScript host that imports the public API compiles, internal
 * paths are refused by the `exports` map, and the example host (examples/embed) completes a chat through
 * carechat mounted under /support, with its `chat.ended` subscriber firing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const own = (await import('../../package.json', { with: { type: 'json' } })).default as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

let work: string;
let tarball: string;
let files: string[];
let host: ChildProcess | undefined;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/src/index.js')))
    throw new Error('dist/ is missing: run `npm run build` (npm test builds before running vitest)');
  work = mkdtempSync(join(tmpdir(), 'carechat-pack-'));
  // dist/ is already built by `npm test`; --ignore-scripts keeps pack from building it a second time.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: ROOT,
  });
  const [report] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, report!.filename);
  files = report!.files.map((f) => f.path);

  const project = join(work, 'host');
  rmSync(project, { recursive: true, force: true });
  await run('mkdir', ['-p', project]);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'embed-host',
      private: true,
      type: 'module',
      dependencies: {
        carechat: `file:${tarball}`,
        hono: own.dependencies.hono,
        '@hono/node-server': own.dependencies['@hono/node-server'],
      },
      devDependencies: {
        typescript: own.devDependencies.typescript,
        '@types/node': own.devDependencies['@types/node'],
      },
    }),
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        types: ['node'],
        outDir: 'dist',
      },
      include: ['host.ts'],
    }),
  );
  copyFileSync(join(ROOT, 'examples/embed/host.ts'), join(project, 'host.ts'));
  writeFileSync(
    join(project, 'internal.mjs'),
    "try { await import('carechat/src/index.js'); console.log('imported'); } catch (e) { console.log(e.code); }\n",
  );
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project });
}, 300_000);

afterAll(async () => {
  host?.kill('SIGTERM');
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the compiled library, the web assets, README and licence, and no sources, tests, test support or fixtures', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'bin/carechat.js',
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/emulator/index.js',
        'dist/machines/index.js',
        'dist/src/web/customer/widget.js',
      ]),
    );
    const unexpected = files.filter(
      (f) =>
        !(
          f.startsWith('dist/') ||
          f.startsWith('bin/') ||
          ['package.json', 'README.md', 'LICENSE'].includes(f)
        ),
    );
    expect(unexpected).toEqual([]);
    expect(
      files.filter((f) =>
        /\.test\.|\/test\/|[Ss]upport\.|contract\.|[Dd]ouble\.|fixtures|\.tsbuildinfo$/.test(f),
      ),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });
});

describe('installed from the tarball', () => {
  it('a strict TypeScript host that imports the public API type-checks and compiles', async () => {
    const project = join(work, 'host');
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', project]).catch((error: { stdout?: string }) => ({
      stdout: error.stdout ?? String(error),
    }));
    expect(result.stdout).toBe('');
    expect(existsSync(join(project, 'dist/host.js'))).toBe(true);
  }, 240_000);

  it('refuses internal paths: the exports map keeps them private', async () => {
    const { stdout } = await run(process.execPath, ['internal.mjs'], { cwd: join(work, 'host') });
    expect(stdout.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('runs the example host: a chat through carechat mounted under /support completes and chat.ended fires', async () => {
    const project = join(work, 'host');
    let output = '';
    host = spawn(process.execPath, ['dist/host.js'], {
      cwd: project,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    host.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    host.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const match = await eventually(
      () => /host ready: (\S+) support=(\S+) emulator=(\S+)/.exec(output),
      (found) => expect(found, `no ready line yet: ${output.slice(0, 500)}`).not.toBeNull(),
      { timeout: 30_000 },
    );
    const ready = { home: match![1]!, support: match![2]! };

    const page = await fetch(ready.support);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-token-url="/support/chat/token"');
    expect(await (await fetch(ready.home)).text()).toContain('Our shop');

    const customer = await AnonCustomer.start(ready.support, { name: 'Embedded Eve' });
    try {
      await customer.waitForMessage((m) => m.from !== undefined && /agent/i.test(m.from), 20_000);
      await customer.send('is the embedded chat working?');
      await customer.waitForMessage((m) => m.text.includes('is the embedded chat working?'), 20_000);
      await customer.leave();
    } finally {
      await customer.close();
    }
    const ended = await eventually(
      () => /chat ended: (\S+) (\S+) agents=(.*) messages=(\d+)/.exec(output),
      (found) => expect(found, `chat.ended not printed yet: ${output.slice(-500)}`).not.toBeNull(),
      { timeout: 20_000 },
    );
    expect(ended![2]).toBe('completed');
    expect(ended![3]).not.toBe('');
    expect(Number(ended![4])).toBeGreaterThanOrEqual(2);
  }, 90_000);
});

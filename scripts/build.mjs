#!/usr/bin/env node
// Compiles src/ and machines/ to dist/ with tsc (declarations included) and copies the files tsc does not
// emit (the customer widget's script and any other non-TypeScript asset under src/) beside the output.
// `npm install` / `npm ci` run it through the `prepare` script, so a clone always runs compiled code.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const clean = process.argv.includes('--clean');

if (clean) rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
    cwd: root,
  });
} catch {
  console.error('build: tsc reported errors (above); dist/ is incomplete');
  process.exit(1);
}

let copied = 0;
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copyAssets(path);
    else if (!name.endsWith('.ts')) {
      cpSync(path, join(dist, relative(root, path)));
      copied++;
    }
  }
}
copyAssets(join(root, 'src'));
console.log(`build: dist/ compiled, ${copied} asset file(s) copied`);

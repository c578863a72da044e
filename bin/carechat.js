#!/usr/bin/env node
// Entry point of the `carechat` command: runs the compiled CLI in dist/ (built by `npm run build`, which
// `npm install` and `npm ci` run through `prepare`). No TypeScript loader is involved at run time.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('carechat: dist/ is missing: run `npm run build` (npm install runs it for you)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));

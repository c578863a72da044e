/**
 * The chart files of every registered machine, generated in memory: what `carechat viz` writes and
 * what its `--check` (and the staleness test) compares with the committed copies.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHARTED_MACHINES, type ChartedMachine } from './registry.ts';
import { renderSvg, toDot, toMermaid } from './render.ts';

/** docs/machines/ of this repository, found from src/viz/ in a clone or from dist/src/viz/ when compiled. */
export const DEFAULT_CHARTS_DIR = fileURLToPath(new URL('docs/machines/', packageRoot()));

function packageRoot(): URL {
  for (let dir = new URL('../../', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    if (existsSync(new URL('package.json', dir))) return dir;
  }
  return new URL('../../', import.meta.url);
}

export const CHART_EXTENSIONS = ['.dot', '.mmd', '.svg'] as const;

export interface ChartFile {
  /** File name inside the charts folder, e.g. `chatSession.svg`. */
  name: string;
  content: string;
}

export async function chartFiles(
  machines: readonly ChartedMachine[] = CHARTED_MACHINES,
): Promise<ChartFile[]> {
  const files: ChartFile[] = [];
  for (const { name, machine, source } of machines) {
    const notice = `generated from ${source} by \`npm run viz\`; do not edit`;
    const dot = toDot(machine);
    files.push({ name: `${name}.dot`, content: `// ${notice}\n${dot}` });
    const [first, ...rest] = toMermaid(machine).split('\n');
    files.push({ name: `${name}.mmd`, content: [first, `  %% ${notice}`, ...rest].join('\n') });
    files.push({ name: `${name}.svg`, content: await renderSvg(dot) });
  }
  return files;
}

export interface ChartCheck {
  /** Committed files whose content differs from what the machines generate now. */
  stale: string[];
  /** Files the machines generate that are not in the folder. */
  missing: string[];
  /** Chart files in the folder that no registered machine generates. */
  extra: string[];
}

export async function checkCharts(
  dir: string = DEFAULT_CHARTS_DIR,
  expected?: ChartFile[],
): Promise<ChartCheck> {
  const files = expected ?? (await chartFiles());
  const present = new Set(await listChartFiles(dir));
  const result: ChartCheck = { stale: [], missing: [], extra: [] };
  for (const file of files) {
    if (!present.has(file.name)) {
      result.missing.push(file.name);
      continue;
    }
    const committed = await readFile(join(dir, file.name), 'utf8');
    if (committed !== file.content) result.stale.push(file.name);
  }
  const generated = new Set(files.map((f) => f.name));
  result.extra = [...present].filter((name) => !generated.has(name)).sort();
  return result;
}

/** The .dot/.mmd/.svg files in a folder (none when it does not exist). */
export async function listChartFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((name) => CHART_EXTENSIONS.some((ext) => name.endsWith(ext))).sort();
}

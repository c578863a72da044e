/**
 * The project's import graph, read with the TypeScript scanner (`ts.preProcessFile`: static imports,
 * `import type`, `export … from`, dynamic `import('…')`; comments and strings are not imports), and the
 * checks run over it: import cycles between files, cycles between folders, and imports that point up the
 * layers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface ImportGraph {
  /** Files, as paths relative to the root with `/` separators. */
  files: string[];
  /** file → the project files it imports (relative imports resolved). */
  edges: Map<string, string[]>;
  /** file → the packages it imports (bare specifiers, `node:` built-ins included). */
  packages: Map<string, string[]>;
}

const SOURCE = /\.(ts|js)$/;

function listFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...listFiles(root, path));
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(path.split(sep).join('/'));
  }
  return out;
}

/** The file a relative specifier names: as written, or with `.ts`, `.js` → `.ts`, or `/index.ts`. */
function resolveSpecifier(root: string, from: string, specifier: string): string | undefined {
  const base = resolve(root, dirname(from), specifier);
  const candidates = [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), join(base, 'index.ts')];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  return found === undefined ? undefined : relative(root, found).split(sep).join('/');
}

/** Reads every .ts/.js file under `dirs` (relative to `root`); throws on a relative import that names no file. */
export function readImportGraph(root: string, dirs: string[]): ImportGraph {
  const files = dirs.flatMap((dir) => listFiles(root, dir));
  const edges = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const specifiers = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
    const local: string[] = [];
    const bare: string[] = [];
    for (const specifier of specifiers) {
      if (!specifier.startsWith('.')) {
        bare.push(specifier);
        continue;
      }
      const target = resolveSpecifier(root, file, specifier);
      if (target === undefined) throw new Error(`${file}: import '${specifier}' names no file`);
      if (!local.includes(target)) local.push(target);
    }
    edges.set(file, local);
    packages.set(file, bare);
  }
  return { files, edges, packages };
}

/**
 * Every cycle of a directed graph, one per strongly connected component (Tarjan), each as a path that
 * starts and ends at the same node: `[a, b, c, a]`. A node importing itself is a cycle `[a, a]`.
 */
export function findCycles(edges: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component);
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) connect(node);

  const cycles: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...members].sort()[0]!;
    if (members.size === 1 && !(edges.get(start) ?? []).includes(start)) continue;
    cycles.push(pathBack(edges, members, start));
  }
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** A shortest path from `start` back to itself inside one strongly connected component (breadth first). */
function pathBack(edges: Map<string, string[]>, members: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const node = queue.shift()!;
    for (const next of edges.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = previous.get(at)) {
          path.unshift(at);
        }
        path.unshift(start);
        return path;
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  throw new Error(`no cycle through ${start}`);
}

/** `src/sa/app.ts` → `src/sa`; `src/cli.ts` → `src/cli`; `machines/chatSession.ts` → `machines`. */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return `src/${parts[1]!.replace(SOURCE, '')}`;
  return parts[0]!;
}

/** Edges between folders (edges inside one folder left out), with one file-level import as the example. */
export function folderEdges(graph: ImportGraph, include: (file: string) => boolean): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [file, targets] of graph.edges) {
    if (!include(file)) continue;
    const from = folderOf(file);
    if (!out.has(from)) out.set(from, []);
    for (const target of targets) {
      const to = folderOf(target);
      if (to !== from && !out.get(from)!.includes(to)) out.get(from)!.push(to);
    }
  }
  return out;
}

/** Files of `graph` importing a file of folder `to` from folder `from`: `a.ts → b.ts` lines. */
export function importsBetween(graph: ImportGraph, from: string, to: string): string[] {
  const lines: string[] = [];
  for (const [file, targets] of graph.edges) {
    if (folderOf(file) !== from) continue;
    for (const target of targets) if (folderOf(target) === to) lines.push(`${file} → ${target}`);
  }
  return lines;
}

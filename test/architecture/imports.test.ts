/**
 * Imports point one way: command line → stack wiring → sa / runtime / emulator → callbacks / api / store /
 * routing / ops / viz / web → machines → leaf modules (wire, config, text). No file imports itself back
 * through others, no folder does, and no folder imports one of a higher layer. A failure names the cycle
 * or the offending import. `npm run check:imports` runs this file alone.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, folderEdges, folderOf, importsBetween, readImportGraph } from './importGraph.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Lowest first. A folder may import its own files and those of lower layers. */
const LAYERS: Array<{ layer: string; folders: string[] }> = [
  { layer: 'leaf modules', folders: ['src/wire', 'src/config', 'src/text'] },
  { layer: 'machines', folders: ['machines'] },
  // The routing core is pure domain logic (agent pool, selection, queue) that the store persists.
  { layer: 'domain', folders: ['src/routing'] },
  {
    layer: 'services',
    folders: ['src/callbacks', 'src/api', 'src/store', 'src/ops', 'src/viz', 'src/web'],
  },
  { layer: 'applications', folders: ['src/sa', 'src/runtime', 'src/emulator'] },
  { layer: 'stack wiring', folders: ['src/stack'] },
  // The benchmark drives whole stacks (child processes, or the registry in-process).
  { layer: 'tools', folders: ['src/bench'] },
  // The package's public entry (`import … from 'carechat'`): re-exports from the layers below.
  { layer: 'public entry', folders: ['src/index'] },
  { layer: 'command line', folders: ['src/cli'] },
  { layer: 'entry point', folders: ['bin'] },
];
/** Imports between two folders of one layer that are allowed (folders must still not form a cycle). */
const SIDEWAYS = new Set(['src/sa → src/runtime']);
/** Packages the machines may import: they are pure, with effects supplied through `machine.provide()`. */
const MACHINE_PACKAGES = /^xstate(\/|$)/;

/** Tests and their support code, which may reach anywhere (the layer rules are for what ships). */
const isTest = (file: string) => /\.test\.ts$|(^|\/)test\//.test(file);
const graph = readImportGraph(ROOT, ['bin', 'machines', 'src']);
const rank = new Map(LAYERS.flatMap(({ folders }, level) => folders.map((folder) => [folder, level])));
const layerOf = (folder: string) => LAYERS[rank.get(folder) ?? -1]?.layer ?? 'no layer';

describe('the import graph', () => {
  it('is read from every source file, with type-only, re-exported and dynamic imports', () => {
    expect(graph.files.length).toBeGreaterThan(50);
    // bin/carechat.js runs the compiled CLI (dist/src/cli.js), so it has no edge into the sources.
    expect(graph.edges.get('src/cli.ts')).toContain('src/cli/start.ts'); // import('./cli/start.ts')
    expect(graph.edges.get('src/cli/start.ts')).toContain('src/cli/io.ts'); // import type
    expect(graph.edges.get('src/sa/rateLimit.ts')).toContain('src/config/rateLimit.ts'); // export … from
  });

  it('has no import cycle between files', () => {
    const cycles = findCycles(graph.edges).map((cycle) => cycle.join(' → '));
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    const cycles = findCycles(folderEdges(graph, (file) => !isTest(file))).map((cycle) => {
      const steps = cycle.slice(1).map((to, k) => importsBetween(graph, cycle[k]!, to)[0]);
      return `${cycle.join(' → ')}\n    ${steps.join('\n    ')}`;
    });
    expect(cycles, `folder cycles:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('places every folder in a layer', () => {
    const unplaced = [...new Set(graph.files.map(folderOf))].filter((folder) => !rank.has(folder));
    expect(unplaced, 'folders in no layer: add them to LAYERS in this test').toEqual([]);
  });

  it('only imports down the layers (or sideways where allowed)', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph.edges) {
      if (isTest(file)) continue;
      const from = folderOf(file);
      for (const target of targets) {
        const to = folderOf(target);
        if (to === from || SIDEWAYS.has(`${from} → ${to}`)) continue;
        if ((rank.get(to) ?? Infinity) >= (rank.get(from) ?? -Infinity)) {
          wrong.push(`${file} → ${target} (${layerOf(from)} importing ${layerOf(to)})`);
        }
      }
    }
    expect(wrong, `imports pointing up or sideways:\n${wrong.join('\n')}`).toEqual([]);
  });

  it('keeps the machines pure: they import xstate and nothing else from outside', () => {
    const wrong = [...graph.packages]
      .filter(([file]) => folderOf(file) === 'machines' && !isTest(file))
      .flatMap(([file, packages]) =>
        packages.filter((p) => !MACHINE_PACKAGES.test(p)).map((p) => `${file} → ${p}`),
      );
    expect(wrong).toEqual([]);
  });
});

describe('findCycles', () => {
  it('gives each cycle as a path back to where it starts, and self-imports too', () => {
    const edges = new Map([
      ['c', ['a']],
      ['a', ['b', 'e']],
      ['b', ['c']],
      ['d', ['d']],
      ['e', []],
      ['f', ['a']],
    ]);
    expect(findCycles(edges)).toEqual([
      ['a', 'b', 'c', 'a'],
      ['d', 'd'],
    ]);
  });

  it('finds none in a graph without cycles', () => {
    expect(
      findCycles(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toEqual([]);
  });
});

/**
 * What a V8 CPU profile (`node --cpu-prof`) says in a few lines: the functions with the most self time,
 * and self time by where the code lives (a package, a Node built-in, a project file).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface Hotspot {
  name: string;
  selfMs: number;
  /** Share of the busy time (everything but idle). */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  functions: Hotspot[];
  areas: Hotspot[];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where a script lives: `pkg:<name>` for node_modules, `node:<module>` (`node:internal/<area>`) for
 * built-ins, else a project path.
 */
export function areaOf(url: string): string {
  if (!url) return '(native / V8)';
  if (url.startsWith('node:')) {
    // node:internal/crypto/util → node:internal/crypto; node:internal/deps/undici/undici → …/deps/undici
    const parts = url.slice(5).split('/');
    const keep = parts[0] === 'internal' ? (parts[1] === 'deps' ? 3 : 2) : 1;
    return `node:${parts.slice(0, keep).join('/')}`;
  }
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + 'node_modules/'.length).split('/');
    return `pkg:${parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
}

function frameName(frame: CpuProfileNode['callFrame']): string {
  const fn = frame.functionName || '(anonymous)';
  if (!frame.url) return fn;
  if (frame.url.startsWith('node:')) return `${fn} ${frame.url}:${frame.lineNumber + 1}`;
  // Line 0 is what V8 reports for code without a usable position (a run-time TypeScript loader's output).
  return frame.lineNumber > 0
    ? `${fn} ${areaOf(frame.url)}:${frame.lineNumber + 1}`
    : `${fn} ${areaOf(frame.url)}`;
}

export function summariseProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    // Each delta is the time before a sample; charge it to the sampled node.
    for (let i = 0; i < profile.samples.length; i++) {
      const id = profile.samples[i]!;
      self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
    }
  } else {
    const interval = (profile.endTime - profile.startTime) / Math.max(1, sumHits(profile.nodes));
    for (const node of profile.nodes) self.set(node.id, (node.hitCount ?? 0) * interval);
  }
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    busy += us;
    const special = /^\(.*\)$/.test(node.callFrame.functionName) && !node.callFrame.url;
    const name = frameName(node.callFrame);
    functions.set(name, (functions.get(name) ?? 0) + us);
    const area = special ? node.callFrame.functionName : areaOf(node.callFrame.url);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const rank = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: us / 1000, percent: busy ? (100 * us) / busy : 0 }));
  return { file, busyMs: busy / 1000, functions: rank(functions), areas: rank(areas) };
}

function sumHits(nodes: CpuProfileNode[]): number {
  let total = 0;
  for (const node of nodes) total += node.hitCount ?? 0;
  return total;
}

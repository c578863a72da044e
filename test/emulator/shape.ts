/**
 * Structural comparison of wire JSON for the emulator conformance test: the same keys at every level,
 * the same JS value kinds, the same (local) rels; values themselves are never compared (ids and hosts
 * differ). Keys under `_links` / `_embedded` and `rel` values are reduced with localRel first, so a
 * `service:` emulator and an `ms:rtc:saas:` capture compare equal.
 */
import { localRel } from '../../src/wire/rels.ts';

export type ValueKind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'null';

export function kindOf(value: unknown): ValueKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const kind = typeof value;
  if (kind === 'string' || kind === 'number' || kind === 'boolean') return kind;
  return 'object';
}

export interface ShapeOptions {
  /** Paths (e.g. `$._links.foo`) where the actual output may have a key the capture lacks. */
  allowExtra?: ReadonlySet<string>;
  /** Paths where the actual output may lack a key the capture has. */
  allowMissing?: ReadonlySet<string>;
  /** Ignore every extra key (used for degraded captures: the emulator's full form must contain them). */
  ignoreAllExtra?: boolean;
}

const REL_CONTAINERS = new Set(['_links', '_embedded']);

function normalisedEntries(value: Record<string, unknown>, relKeys: boolean): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, child] of Object.entries(value)) out.set(relKeys ? localRel(key) : key, child);
  return out;
}

/**
 * Differences between `expected` (the capture) and `actual` (the emulator), one line per difference,
 * each starting with its path. Arrays compare their first elements (when both have one).
 */
export function shapeDiff(expected: unknown, actual: unknown, opts: ShapeOptions = {}, path = '$'): string[] {
  const expectedKind = kindOf(expected);
  const actualKind = kindOf(actual);
  if (expectedKind !== actualKind) return [`${path}: kind ${actualKind}, captured ${expectedKind}`];
  if (expectedKind === 'array') {
    const e = expected as unknown[];
    const a = actual as unknown[];
    if (e.length === 0 || a.length === 0) return [];
    return shapeDiff(e[0], a[0], opts, `${path}[0]`);
  }
  if (expectedKind !== 'object') return [];
  const parentKey = path.slice(path.lastIndexOf('.') + 1);
  const relKeys = REL_CONTAINERS.has(parentKey);
  const e = normalisedEntries(expected as Record<string, unknown>, relKeys);
  const a = normalisedEntries(actual as Record<string, unknown>, relKeys);
  const diffs: string[] = [];
  for (const [key, value] of e) {
    const childPath = `${path}.${key}`;
    if (!a.has(key)) {
      if (!opts.allowMissing?.has(childPath)) diffs.push(`${childPath}: missing (captured ${kindOf(value)})`);
      continue;
    }
    const actualValue = a.get(key);
    if (key === 'rel' && typeof value === 'string' && typeof actualValue === 'string') {
      if (localRel(value) !== localRel(actualValue)) {
        diffs.push(`${childPath}: rel ${localRel(actualValue)}, captured ${localRel(value)}`);
      }
      continue;
    }
    diffs.push(...shapeDiff(value, actualValue, opts, childPath));
  }
  if (!opts.ignoreAllExtra) {
    for (const [key, value] of a) {
      const childPath = `${path}.${key}`;
      if (!e.has(key) && !opts.allowExtra?.has(childPath))
        diffs.push(`${childPath}: extra (${kindOf(value)})`);
    }
  }
  return diffs;
}

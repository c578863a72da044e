/**
 * Link relation names. The platform wrote every resource rel with a prefix: `ms:rtc:saas:` (internal
 * deployments, all captures) or `service:` (public tenants, the docs). Some rels never carry one.
 * Code compares *local* names only: strip whichever prefix is there, once, at the edge.
 */
export const REL_PREFIXES = ['ms:rtc:saas:', 'service:'] as const;
export type RelPrefix = (typeof REL_PREFIXES)[number];

/** Rels that are written bare on the wire, whatever the deployment's prefix. */
export const BARE_RELS: ReadonlySet<string> = new Set([
  'self',
  'next',
  'resync',
  'resume',
  'myApplications',
  'myOnlineMeetings',
  'customContent',
  'plainMessage',
  'htmlMessage',
  'anonApplications',
]);

/** `ms:rtc:saas:conversation` / `service:conversation` / `conversation` → `conversation`. */
export function localRel(rel: string): string {
  for (const prefix of REL_PREFIXES) {
    if (rel.startsWith(prefix)) return rel.slice(prefix.length);
  }
  return rel;
}

/** The wire form of a local rel for a deployment that uses `prefix` (bare rels stay bare). */
export function qualifyRel(local: string, prefix: RelPrefix | ''): string {
  if (prefix === '' || BARE_RELS.has(local)) return local;
  return prefix + local;
}

export function isRelPrefix(value: string): value is RelPrefix {
  return (REL_PREFIXES as readonly string[]).includes(value);
}

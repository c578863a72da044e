import { localRel } from './rels.ts';

/** A HAL-style link as the platform writes it. */
export interface Link {
  href: string;
  title?: string;
  revision?: string;
}

/** Any platform or UCWA resource: properties, `_links`, `_embedded`, `rel`. */
export interface Resource {
  _links?: Record<string, Link | undefined>;
  _embedded?: Record<string, unknown>;
  rel?: string;
  [property: string]: unknown;
}

/** The link of `resource` whose rel is `local` under any prefix. */
export function findLink(resource: Resource | undefined, local: string): Link | undefined {
  if (!resource?._links) return undefined;
  for (const [rel, link] of Object.entries(resource._links)) {
    if (link && localRel(rel) === local) return link;
  }
  return undefined;
}

/** The embedded resource (or array of them) of `resource` whose rel is `local` under any prefix. */
export function findEmbedded(
  resource: Resource | undefined,
  local: string,
): Resource | Resource[] | undefined {
  if (!resource?._embedded) return undefined;
  for (const [rel, value] of Object.entries(resource._embedded)) {
    if (localRel(rel) === local && value && typeof value === 'object') return value as Resource | Resource[];
  }
  return undefined;
}

/** Like findEmbedded, but always one resource (the first of an array). */
export function findEmbeddedOne(resource: Resource | undefined, local: string): Resource | undefined {
  const found = findEmbedded(resource, local);
  return Array.isArray(found) ? found[0] : found;
}

export function stringProp(resource: Resource | undefined, name: string): string | undefined {
  const value = resource?.[name];
  return typeof value === 'string' ? value : undefined;
}

import type { z } from 'zod';
import { describeZodError } from '../wire/envelope.ts';

/**
 * One short line naming what is wrong with a would-be callback envelope: `baseuri is missing` when a
 * required member is absent, else zod's first issue with its path (`sender.0.events.1.type: Invalid option …`).
 */
export function describeEnvelopeProblem(error: z.ZodError, input?: unknown): string {
  const issue = error.issues[0];
  if (
    issue &&
    issue.code === 'invalid_type' &&
    issue.path.length > 0 &&
    valueAt(input, issue.path) === undefined
  ) {
    const parentExists = issue.path.length === 1 || isObject(valueAt(input, issue.path.slice(0, -1)));
    if (parentExists && input !== undefined) return `${issue.path.join('.')} is missing`;
  }
  return describeZodError(error);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (!isObject(value)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

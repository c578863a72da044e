import { z } from 'zod';
import type { CallbackTokenOverrides } from './auth.ts';

const count = z.number().int().positive().optional();

export const HttpFaultSchema = z.strictObject({
  kind: z.literal('http'),
  /** HTTP method to match (any when absent). */
  method: z.string().min(1).optional(),
  /** Case-insensitive substring of the request path, or a regular expression written `/…/`. */
  path: z.string().min(1),
  /** Answer with this status and an error body instead of handling the request. */
  status: z.number().int().min(400).max(599).optional(),
  code: z.string().min(1).optional(),
  /** Hold the request this long first (then answer normally unless `status` is set). */
  latencyMs: z.number().int().min(0).max(120_000).optional(),
  /** Apply to the next N matching requests only (forever when absent). */
  count,
});

export const CallbackFaultSchema = z.strictObject({
  kind: z.literal('callback'),
  action: z.enum(['drop', 'duplicate', 'delay', 'reorder']),
  /** Case-insensitive substring of a callback's event summary (`messagingInvitation started`, …). */
  match: z.string().min(1).optional(),
  delayMs: z.number().int().min(0).max(120_000).optional(),
  count,
});

export const CallbackTokenFaultSchema = z.strictObject({
  kind: z.literal('callbackToken'),
  aud: z.string().min(1).optional(),
  iss: z.string().min(1).optional(),
  tid: z.string().min(1).optional(),
  appid: z.string().min(1).optional(),
  expired: z.boolean().optional(),
  foreignKey: z.boolean().optional(),
  count,
});

/** Applied at once, not stored: every token of that kind issued so far stops working. */
export const ExpireTokensSchema = z.strictObject({
  kind: z.literal('expireTokens'),
  tokens: z.enum(['aad', 'psat', 'all']),
});

export const FaultSchema = z.discriminatedUnion('kind', [
  HttpFaultSchema,
  CallbackFaultSchema,
  CallbackTokenFaultSchema,
  ExpireTokensSchema,
]);
export type FaultSpec = z.infer<typeof FaultSchema>;
export type StoredFaultSpec = Exclude<FaultSpec, { kind: 'expireTokens' }>;
export type Fault = StoredFaultSpec & { id: string; hits: number };
export type HttpFault = z.infer<typeof HttpFaultSchema> & { id: string; hits: number };
export type CallbackFault = z.infer<typeof CallbackFaultSchema> & { id: string; hits: number };

export class Faults {
  private faults: Fault[] = [];
  private next = 0;

  add(spec: StoredFaultSpec): Fault {
    if (
      spec.kind === 'http' &&
      spec.path.startsWith('/') &&
      spec.path.endsWith('/') &&
      spec.path.length > 2
    ) {
      new RegExp(spec.path.slice(1, -1), 'i'); // throws SyntaxError for a bad pattern: reported as 400
    }
    this.next += 1;
    const fault = { ...spec, id: `f${this.next}`, hits: 0 } as Fault;
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return [...this.faults];
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((fault) => fault.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  /** The first HTTP fault matching this request (its count is used up). */
  takeHttp(method: string, path: string): HttpFault | undefined {
    for (const fault of this.faults) {
      if (fault.kind !== 'http') continue;
      if (fault.method && fault.method.toUpperCase() !== method.toUpperCase()) continue;
      if (!pathMatches(fault.path, path)) continue;
      this.use(fault);
      return fault;
    }
    return undefined;
  }

  /** Every callback fault matching a callback with these event summaries (counts used up). */
  takeCallback(summaries: string[]): CallbackFault[] {
    const text = summaries.join('\n').toLowerCase();
    const hits: CallbackFault[] = [];
    for (const fault of this.faults) {
      if (fault.kind !== 'callback') continue;
      if (fault.match && !text.includes(fault.match.toLowerCase())) continue;
      hits.push(fault);
    }
    for (const fault of hits) this.use(fault);
    return hits;
  }

  takeCallbackToken(): CallbackTokenOverrides | undefined {
    const fault = this.faults.find((f) => f.kind === 'callbackToken');
    if (fault?.kind !== 'callbackToken') return undefined;
    this.use(fault);
    const { aud, iss, tid, appid, expired, foreignKey } = fault;
    return { aud, iss, tid, appid, expired, foreignKey };
  }

  private use(fault: Fault): void {
    fault.hits += 1;
    if (fault.count !== undefined) {
      fault.count -= 1;
      if (fault.count <= 0) this.faults = this.faults.filter((f) => f !== fault);
    }
  }
}

function pathMatches(pattern: string, path: string): boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    return new RegExp(pattern.slice(1, -1), 'i').test(path);
  }
  return path.toLowerCase().includes(pattern.toLowerCase());
}

/**
 * Shared harness of the routing integration tests: a whole stack (emulator + SA) per test on port 0 with
 * short timers, scripted customers, and small helpers that read the SA's and the emulator's HTTP APIs.
 * Everything started here is closed by `cleanup()` (call it in afterEach). Waits use `eventually()`.
 */
import { expect } from 'vitest';
import type {
  CallbackLogEntry,
  EmulatorAgentSpec,
  EmulatorConfig,
  FaultSpec,
  RequestLogEntry,
} from '../../src/emulator/index.ts';
import type { Clock } from '../../src/runtime/clock.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { AgentView } from '../../src/runtime/router.ts';
import type {
  LeftMessage,
  SessionListing,
  SessionRow,
  SessionView,
  TranscriptEntry,
} from '../../src/runtime/sessions.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorHeaders } from '../helpers/operator.ts';

export const ALICE = 'sip:alice@contoso.com';
export const BOB = 'sip:bob@contoso.com';
export const CAROL = 'sip:carol@contoso.com';
export const DEMO_URIS = [ALICE, BOB, CAROL] as const;
export const NAMES: Record<string, string> = {
  [ALICE]: 'Alice Agent',
  [BOB]: 'Bob Agent',
  [CAROL]: 'Carol Agent',
};

/** Timers short enough for tests; each test overrides what it exercises. */
export const FAST_ENV: Record<string, string> = {
  RETRY_BASE_MS: '20',
  STEP_TIMEOUT_MS: '4000',
  OFFER_TIMEOUT_MS: '4000',
  QUEUE_UPDATE_MS: '1000',
};

/** Simulated agents answer and type quickly. */
export const FAST_EMULATOR: Partial<EmulatorConfig> = {
  agentBehaviour: { acceptDelayMs: 30, typingMs: 10 },
  callbackRetryBaseMs: 20,
};

/** Long enough for a loaded CI machine; nothing waits this long when the SA works. */
export const WAIT = 15_000;

const stacks: RunningStack[] = [];
const customers: AnonCustomer[] = [];
const restorers: Array<() => void> = [];

/** Close every customer and stack the helpers started, and undo fetch recorders (afterEach). */
export async function cleanup(): Promise<void> {
  while (restorers.length) restorers.pop()!();
  await Promise.all(customers.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const stack of stacks.splice(0)) await stack.close().catch(() => undefined);
}

export interface StackOptions {
  env?: Record<string, string>;
  emulatorConfig?: Partial<EmulatorConfig>;
  clock?: Clock;
}

export async function startTestStack(opts: StackOptions = {}): Promise<RunningStack> {
  const stack = await startStack({
    logger: silentLogger,
    env: operatorEnv({ ...FAST_ENV, ...opts.env }),
    emulatorConfig: { ...FAST_EMULATOR, ...opts.emulatorConfig },
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  stacks.push(stack);
  return stack;
}

/** A customer opens the chat widget (token from the SA, invitation to the helpdesk). */
export async function startCustomer(
  stack: RunningStack,
  name: string,
  subject = 'Order 1234',
): Promise<AnonCustomer> {
  const customer = await AnonCustomer.start(stack.saUrl, { name, subject });
  customers.push(customer);
  return customer;
}

export interface HttpJson<T> {
  status: number;
  headers: Headers;
  body: T;
}

export async function httpJson<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpJson<T>> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      accept: 'application/json',
      // The SA's operator routes want the API token; the emulator's control API ignores it.
      ...operatorHeaders,
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as T };
}

// ------------------------------------------------------------------------------------------- SA reads

/** Every stored session (all pages of `GET /sessions`), newest first. */
export async function sessions(stack: RunningStack): Promise<SessionRow[]> {
  const all: SessionRow[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const { status, body } = await httpJson<SessionListing>(`${stack.saUrl}/sessions?limit=1000${query}`);
    expect(status).toBe(200);
    all.push(...body.sessions);
    cursor = body.nextCursor;
  } while (cursor);
  return all;
}

export async function view(stack: RunningStack, id: string): Promise<SessionView> {
  const { status, body } = await httpJson<SessionView>(`${stack.saUrl}/sessions/${id}`);
  expect(status, `GET /sessions/${id}`).toBe(200);
  return body;
}

/** The session of the customer with this display name (it appears once the invitation arrived). */
export async function sessionOf(stack: RunningStack, name: string): Promise<SessionView> {
  const row = (await eventually(
    async () => (await sessions(stack)).find((s) => s.customer.name === name),
    (s) => {
      if (!s) throw new Error(`no session for customer ${name} yet`);
    },
    { timeout: WAIT },
  )) as SessionRow;
  return view(stack, row.id);
}

/** The session's current atomic states, e.g. `['welcomed.queued.waiting']` (several in a parallel state). */
export function leaves(v: SessionView): string[] {
  const walk = (value: unknown, path: string): string[] => {
    if (typeof value === 'string') return [path ? `${path}.${value}` : value];
    const entries = Object.entries((value ?? {}) as Record<string, unknown>);
    if (entries.length === 0) return path ? [path] : [];
    return entries.flatMap(([key, child]) => walk(child, path ? `${path}.${key}` : key));
  };
  return walk(v.stateValue, '');
}

/** Whether the session is in the state `prefix` or one of its descendants (`welcomed.queued`). */
export function inState(v: SessionView, prefix: string): boolean {
  return leaves(v).some((leaf) => leaf === prefix || leaf.startsWith(`${prefix}.`));
}

/** The position in the session's history of the first state entered that matches. */
export function entered(v: SessionView, pattern: RegExp, from = 0): number {
  return v.history.findIndex((h, i) => i >= from && pattern.test(h.state));
}

export async function waitForView(
  stack: RunningStack,
  id: string,
  check: (v: SessionView) => void,
  timeout = WAIT,
): Promise<SessionView> {
  return eventually(() => view(stack, id), check, { timeout });
}

/** Wait until the session is in a state whose id starts with `prefix` (`agentsJoined`, `welcomed.queued`). */
export async function waitForState(
  stack: RunningStack,
  id: string,
  prefix: string,
  timeout = WAIT,
): Promise<SessionView> {
  return waitForView(
    stack,
    id,
    (v) => {
      if (!inState(v, prefix)) {
        throw new Error(`session ${id} is in ${leaves(v).join(', ')}, waiting for ${prefix}`);
      }
    },
    timeout,
  );
}

export async function waitTerminated(stack: RunningStack, id: string, timeout = WAIT): Promise<SessionView> {
  return waitForView(
    stack,
    id,
    (v) => {
      expect(v.state, `session ${id} (${leaves(v).join(', ')})`).toBe('terminated');
      expect(v.status).toBe('done');
    },
    timeout,
  );
}

export async function transcript(stack: RunningStack, id: string): Promise<TranscriptEntry[]> {
  const { status, body } = await httpJson<{ entries: TranscriptEntry[] }>(
    `${stack.saUrl}/sessions/${id}/transcript`,
  );
  expect(status).toBe(200);
  return body.entries;
}

export async function agents(stack: RunningStack): Promise<AgentView[]> {
  const { status, body } = await httpJson<{ agents: AgentView[] }>(`${stack.saUrl}/agents`);
  expect(status).toBe(200);
  return body.agents;
}

export async function agentView(stack: RunningStack, uri: string): Promise<AgentView> {
  const found = (await agents(stack)).find((a) => a.uri === uri);
  expect(found, `GET /agents lists ${uri}`).toBeDefined();
  return found!;
}

/** Operator sets an agent's presence in the SA's routing pool. */
export async function setPresence(stack: RunningStack, uri: string, presence: string): Promise<AgentView> {
  const { status, body } = await httpJson<AgentView>(
    `${stack.saUrl}/agents/${encodeURIComponent(uri)}/presence`,
    { method: 'PUT', body: { presence } },
  );
  expect(status, `PUT /agents/${uri}/presence`).toBe(200);
  expect(body.presence).toBe(presence);
  return body;
}

export async function leftMessages(stack: RunningStack): Promise<LeftMessage[]> {
  const { status, body } = await httpJson<{ leftMessages: LeftMessage[] }>(`${stack.saUrl}/left-messages`);
  expect(status).toBe(200);
  return body.leftMessages;
}

/** The winners of the session's assignment records, in order. */
export function winners(v: SessionView): Array<string | null> {
  return (v.assignments as Array<{ winner: string | null }>).map((a) => a.winner);
}

// -------------------------------------------------------------------------------------- emulator

export async function control<T = Record<string, unknown>>(
  stack: RunningStack,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpJson<T>> {
  return httpJson<T>(`${stack.emulatorUrl}/control${path}`, {
    method,
    ...(body !== undefined ? { body } : {}),
  });
}

/** Change a simulated agent's behaviour through the emulator's control API. */
export async function setBehaviour(
  stack: RunningStack,
  uri: string,
  behaviour: Partial<NonNullable<EmulatorAgentSpec['behaviour']>>,
): Promise<void> {
  const result = await control(stack, 'PUT', `/agents/${encodeURIComponent(uri)}/behaviour`, behaviour);
  expect(result.status, `behaviour of ${uri}: ${JSON.stringify(result.body)}`).toBe(200);
}

export async function addFault(stack: RunningStack, fault: FaultSpec): Promise<{ id?: string }> {
  const result = await control<{ id?: string; expired?: string }>(stack, 'POST', '/faults', fault);
  expect(result.status, `fault ${JSON.stringify(fault)}: ${JSON.stringify(result.body)}`).toBe(
    fault.kind === 'expireTokens' ? 200 : 201,
  );
  return result.body;
}

export async function stats(
  stack: RunningStack,
): Promise<{ openMeetings: number; openConversations: number }> {
  const result = await control<{ openMeetings: number; openConversations: number }>(stack, 'GET', '/stats');
  expect(result.status).toBe(200);
  return result.body;
}

/** The emulator ends up with no open meeting (and, unless told otherwise, no open conversation). */
export async function expectNothingOpen(
  stack: RunningStack,
  what: { conversations?: boolean } = {},
): Promise<void> {
  await eventually(
    () => stats(stack),
    (s) => {
      expect(s.openMeetings, 'open meetings on the emulator').toBe(0);
      if (what.conversations !== false) expect(s.openConversations, 'open conversations').toBe(0);
    },
    // Teardown takes milliseconds; a step timeout (4 s here) is the longest anything may wait first.
    { timeout: 8_000 },
  );
}

/** The last log sequence number: read the log `since` it to see only what follows. */
export function logMark(stack: RunningStack): number {
  return stack.emulator.log.list({}).at(-1)?.seq ?? 0;
}

export function requests(stack: RunningStack, since = 0): RequestLogEntry[] {
  return stack.emulator.log.list({ kind: 'request', since }) as RequestLogEntry[];
}

export function callbacks(stack: RunningStack, since = 0): CallbackLogEntry[] {
  return stack.emulator.log.list({ kind: 'callback', since }) as CallbackLogEntry[];
}

/** The platform requests of one session (those that carry one of its operationIds). */
export function requestsOf(stack: RunningStack, sessionId: string, since = 0): RequestLogEntry[] {
  return requests(stack, since).filter((r) => r.operationId?.startsWith(`${sessionId}.`));
}

// ------------------------------------------------------------------------- SA → platform recorder

export interface SentRequest {
  method: string;
  path: string;
  body: string;
}

/**
 * Record what the SA sends to the platform (method, path, body) by wrapping the global fetch the API
 * client uses. The emulator's request log has no bodies, and a request answered by an injected fault is
 * logged before a handler could note its body's operationId; this shows the body itself.
 */
export function recordPlatformRequests(stack: RunningStack): SentRequest[] {
  const sent: SentRequest[] = [];
  const original = globalThis.fetch;
  const origin = new URL(stack.emulatorUrl).origin;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin === origin && url.pathname.toLowerCase().startsWith('/platformservice/')) {
      sent.push({
        method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(),
        path: url.pathname,
        body: typeof init?.body === 'string' ? init.body : '',
      });
    }
    return original(input, init);
  }) as typeof fetch;
  restorers.push(() => {
    globalThis.fetch = original;
  });
  return sent;
}

/** The body's operationId of a recorded JSON request, if any. */
export function bodyOperationId(request: SentRequest): string | undefined {
  try {
    const parsed = JSON.parse(request.body) as { operationId?: unknown };
    return typeof parsed.operationId === 'string' ? parsed.operationId : undefined;
  } catch {
    return undefined;
  }
}

// --------------------------------------------------------------------------------------- customer

/** The customer is greeted by an agent (a message whose author is not the helpdesk). */
export async function waitForAgentGreeting(
  stack: RunningStack,
  customer: AnonCustomer,
  timeout = WAIT,
): Promise<string> {
  const helpdesk = stack.sa.config.chat.helpdeskName;
  const greeting = await customer.waitForMessage(
    (m) => !!m.from && m.from !== helpdesk && m.text.startsWith('Hi, this is'),
    timeout,
  );
  return greeting.from!;
}

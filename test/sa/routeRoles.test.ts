/**
 * Route by role: every route the SA app registers has a rule in the policy (a new route without one fails
 * here), every non-public route answers 401 without credentials and 403 for the wrong role, and nothing
 * answers 5xx. Roles: anonymous, an agent who is not in the chat (Bob), the agent who is (Alice), a
 * signed-in supervisor, and the operator API token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SUPERVISOR } from '../../src/config/tenant.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { routePolicy } from '../../src/sa/auth/policy.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { webRoutes } from '../../src/web/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorHeaders, type SignedIn, signIn } from '../helpers/operator.ts';

const ALICE = 'sip:alice@contoso.com';

/** The routes anyone may call, and nothing else. */
const EXPECTED_PUBLIC = [
  'POST /callbacks',
  'GET /callbacks',
  'PUT /callbacks',
  'PATCH /callbacks',
  'DELETE /callbacks',
  'POST /chat/token',
  'OPTIONS /chat/token',
  'POST /chat/survey',
  'OPTIONS /chat/survey',
  'GET /healthz',
  'GET /metrics',
  'GET /readyz',
  'GET /',
  'GET /widget.js',
  'GET /widget/:module',
  'GET /launcher.js',
  'GET /auth/login',
  'GET /auth/callback',
  'POST /auth/logout',
  'GET /auth/me',
].sort();

let stack: RunningStack;
let customer: AnonCustomer;
let sessionId: string;
let supervisor: SignedIn;
let alice: SignedIn;
let bob: SignedIn;

beforeAll(async () => {
  stack = await startStack({ logger: silentLogger, env: operatorEnv(), extraRoutes: webRoutes() });
  // Alice is the only one available: the chat is hers.
  stack.sa.router.setPresence('sip:bob@contoso.com', 'offline');
  stack.sa.router.setPresence('sip:carol@contoso.com', 'offline');
  customer = await AnonCustomer.start(stack.saUrl, { name: 'Route Table Customer' });
  const view = await eventually(
    () => stack.sa.sessions.list()[0],
    (s) => expect(s?.agents.map((a) => a.uri)).toContain(ALICE),
    { timeout: 10_000 },
  );
  sessionId = view!.id;
  [supervisor, alice, bob] = await Promise.all([
    signIn(stack.saUrl, DEMO_SUPERVISOR.username),
    signIn(stack.saUrl, 'alice@contoso.com'),
    signIn(stack.saUrl, 'bob@contoso.com'),
  ]);
});
afterAll(async () => {
  await customer?.close();
  await stack?.close();
});

interface AppRoute {
  method: string;
  path: string;
}

function appRoutes(): AppRoute[] {
  const seen = new Map<string, AppRoute>();
  for (const route of stack.sa.app.routes) {
    if (route.method === 'ALL') continue; // middleware
    seen.set(`${route.method} ${route.path}`, { method: route.method, path: route.path });
  }
  return [...seen.values()];
}

const rules = () => routePolicy(stack.sa.config.callbackPath);
const ruleOf = (route: AppRoute) => rules().find((r) => r.method === route.method && r.path === route.path);

function urlOf(route: AppRoute): string {
  const path = route.path.replace(':id', sessionId).replace(':uri', encodeURIComponent(ALICE));
  return `${stack.saUrl}${path}`;
}

/** A request that changes nothing even when allowed: bodies that fail validation. */
async function call(route: AppRoute, as: 'anonymous' | 'token' | SignedIn): Promise<number> {
  const init: RequestInit = { method: route.method };
  if (route.method === 'POST' || route.method === 'PUT') {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify({ notAField: true });
  }
  let response: Response;
  if (as === 'anonymous') response = await fetch(urlOf(route), { ...init, redirect: 'manual' });
  else if (as === 'token') {
    response = await fetch(urlOf(route), {
      ...init,
      headers: { ...(init.headers as Record<string, string>), ...operatorHeaders },
      redirect: 'manual',
    });
  } else response = await as.fetch(urlOf(route), init);
  await response.body?.cancel(); // event streams never end by themselves
  return response.status;
}

describe('route by role', () => {
  it('every route of the app has a rule, and every rule names a route of the app', () => {
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes.filter((r) => !ruleOf(r)).map((r) => `${r.method} ${r.path}`);
    expect(missing, 'routes without a rule in src/sa/auth/policy.ts').toEqual([]);
    const stale = rules()
      .filter((rule) => !routes.some((r) => r.method === rule.method && r.path === rule.path))
      .map((r) => `${r.method} ${r.path}`);
    expect(stale, 'rules for routes the app does not have').toEqual([]);
  });

  it('exactly the documented routes are public', () => {
    const open = appRoutes()
      .filter((r) => ruleOf(r)?.access.kind === 'public')
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(open).toEqual(EXPECTED_PUBLIC);
  });

  it('without credentials every non-public route answers 401', async () => {
    const wrong: string[] = [];
    for (const route of appRoutes()) {
      if (ruleOf(route)?.access.kind === 'public') continue;
      const status = await call(route, 'anonymous');
      if (status !== 401) wrong.push(`${route.method} ${route.path} → ${status}`);
    }
    expect(wrong).toEqual([]);
  });

  it('an agent gets 403 on supervisor routes and on other agents’ chats and presence; their own pass', async () => {
    const wrong: string[] = [];
    for (const route of appRoutes()) {
      const kind = ruleOf(route)?.access.kind;
      if (kind === 'public') continue;
      const forBob = await call(route, bob);
      const forAlice = await call(route, alice);
      const bobAllowed = kind === 'signedIn';
      const aliceAllowed = kind === 'signedIn' || kind === 'ownSession' || kind === 'ownAgent';
      const check = (who: string, status: number, allowed: boolean) => {
        const ok = allowed ? status !== 401 && status !== 403 && status < 500 : status === 403;
        if (!ok) wrong.push(`${who}: ${route.method} ${route.path} (${kind}) → ${status}`);
      };
      check('bob', forBob, bobAllowed);
      check('alice', forAlice, aliceAllowed);
    }
    expect(wrong).toEqual([]);
  });

  it('a signed-in supervisor and the API token pass every route, and nothing answers 5xx', async () => {
    const wrong: string[] = [];
    for (const route of appRoutes()) {
      if (ruleOf(route)?.access.kind === 'public') continue;
      for (const [who, as] of [
        ['supervisor', supervisor],
        ['token', 'token'],
      ] as const) {
        const status = await call(route, as);
        if (status === 401 || status === 403 || status >= 500)
          wrong.push(`${who}: ${route.method} ${route.path} → ${status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('nothing above changed the chat: the bodies were all refused', async () => {
    expect(stack.sa.sessions.get(sessionId)?.state).toBe('agentsJoined');
  });
});

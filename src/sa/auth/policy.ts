/**
 * Who may call which route of the SA. Every route the app registers has a rule here (a test enumerates the
 * app's routes against this table); a request that matches no rule needs a supervisor.
 */
export type Access =
  /** No credentials: the customer page, the token endpoint, callbacks, health, the sign-in routes. */
  | { kind: 'public' }
  /** Any signed-in user (supervisor or agent). */
  | { kind: 'signedIn' }
  | { kind: 'supervisor' }
  /** A supervisor, or an agent who is (or was) in the chat named by the path parameter. */
  | { kind: 'ownSession'; param: string }
  /** A supervisor, or the agent whose SIP URI is the path parameter. */
  | { kind: 'ownAgent'; param: string };

export interface RouteRule {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  /** Hono path syntax, exactly as the route is registered. */
  path: string;
  access: Access;
}

const PUBLIC: Access = { kind: 'public' };
const SIGNED_IN: Access = { kind: 'signedIn' };
const SUPERVISOR: Access = { kind: 'supervisor' };
const OWN_SESSION: Access = { kind: 'ownSession', param: 'id' };
const OWN_AGENT: Access = { kind: 'ownAgent', param: 'uri' };

/** The SA's routes and their access rules. */
export function routePolicy(callbackPath: string): RouteRule[] {
  return [
    // public
    { method: 'POST', path: callbackPath, access: PUBLIC },
    // other methods on the callback path: 405 with Allow: POST
    ...(['GET', 'PUT', 'PATCH', 'DELETE'] as const).map((method) => ({
      method,
      path: callbackPath,
      access: PUBLIC,
    })),
    { method: 'POST', path: '/chat/token', access: PUBLIC },
    { method: 'OPTIONS', path: '/chat/token', access: PUBLIC },
    // the survey token in the body ties the answer to one chat
    { method: 'POST', path: '/chat/survey', access: PUBLIC },
    { method: 'OPTIONS', path: '/chat/survey', access: PUBLIC },
    { method: 'GET', path: '/healthz', access: PUBLIC },
    { method: 'GET', path: '/readyz', access: PUBLIC },
    // open, or its own bearer token (METRICS_TOKEN) checked by the route
    { method: 'GET', path: '/metrics', access: PUBLIC },
    { method: 'GET', path: '/', access: PUBLIC },
    { method: 'GET', path: '/widget.js', access: PUBLIC },
    { method: 'GET', path: '/widget/:module', access: PUBLIC },
    { method: 'GET', path: '/launcher.js', access: PUBLIC },
    { method: 'GET', path: '/auth/login', access: PUBLIC },
    { method: 'GET', path: '/auth/callback', access: PUBLIC },
    { method: 'POST', path: '/auth/logout', access: PUBLIC },
    { method: 'GET', path: '/auth/me', access: PUBLIC },
    // sessions
    { method: 'GET', path: '/sessions', access: SUPERVISOR },
    { method: 'GET', path: '/sessions/:id', access: OWN_SESSION },
    { method: 'GET', path: '/sessions/:id/transcript', access: OWN_SESSION },
    { method: 'GET', path: '/sessions/:id/chart.svg', access: OWN_SESSION },
    { method: 'GET', path: '/sessions/:id/survey', access: OWN_SESSION },
    { method: 'GET', path: '/sessions/:id/events', access: OWN_SESSION },
    { method: 'GET', path: '/sessions/:id/assignments', access: SUPERVISOR },
    { method: 'POST', path: '/sessions/:id/close', access: OWN_SESSION },
    { method: 'POST', path: '/sessions/:id/transfer', access: SUPERVISOR },
    { method: 'POST', path: '/sessions/:id/agents', access: SUPERVISOR },
    { method: 'POST', path: '/sessions/:id/monitor', access: SUPERVISOR },
    { method: 'POST', path: '/sessions/:id/barge', access: SUPERVISOR },
    // agents, queue, left messages
    { method: 'GET', path: '/agents', access: SUPERVISOR },
    { method: 'PUT', path: '/agents/:uri/presence', access: OWN_AGENT },
    { method: 'GET', path: '/queue', access: SUPERVISOR },
    { method: 'GET', path: '/left-messages', access: SUPERVISOR },
    // console
    { method: 'GET', path: '/console', access: SIGNED_IN },
    { method: 'GET', path: '/console/sessions/:id', access: OWN_SESSION },
    { method: 'GET', path: '/console/console.js', access: SIGNED_IN },
    { method: 'GET', path: '/console/ui/:module', access: SIGNED_IN },
    { method: 'GET', path: '/console/console.css', access: SIGNED_IN },
    { method: 'GET', path: '/console/api/dashboard', access: SUPERVISOR },
    { method: 'GET', path: '/console/api/dashboard/events', access: SUPERVISOR },
    { method: 'GET', path: '/console/api/webhooks', access: SUPERVISOR },
    { method: 'GET', path: '/console/api/me', access: SIGNED_IN },
    { method: 'GET', path: '/console/api/me/events', access: SIGNED_IN },
  ];
}

interface CompiledRule extends RouteRule {
  pattern: RegExp;
}

function compile(rule: RouteRule): CompiledRule {
  const source = rule.path
    .split('/')
    .map((segment) =>
      segment.startsWith(':')
        ? `(?<${segment.slice(1)}>[^/]+)`
        : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return { ...rule, pattern: new RegExp(`^${source}/?$`) };
}

export class Policy {
  private readonly rules: CompiledRule[];

  constructor(rules: RouteRule[]) {
    this.rules = rules.map(compile);
  }

  /** The rule for a request and its path parameters; undefined: no rule (a supervisor is needed). */
  match(method: string, path: string): { rule: RouteRule; params: Record<string, string> } | undefined {
    const wanted = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
    for (const rule of this.rules) {
      if (rule.method !== wanted) continue;
      const found = rule.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      for (const [key, value] of Object.entries(found.groups ?? {})) {
        try {
          params[key] = decodeURIComponent(value);
        } catch {
          params[key] = value;
        }
      }
      return { rule, params };
    }
    return undefined;
  }

  list(): RouteRule[] {
    return this.rules.map(({ pattern: _pattern, ...rule }) => rule);
  }
}

/**
 * SA configuration from environment variables, validated at start-up. A wrong value is reported with the
 * variable's name and the expected form; nothing starts with a half-valid configuration.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChatSettings } from '../../machines/chatSession/index.ts';
import { type AuthConfig, loadAuthConfig } from '../config/auth.ts';
import { type ProxyTrust, parseTrustProxy } from '../config/proxies.ts';
import { DEFAULT_CHAT_TOKEN_RATE_LIMIT, parseRateLimit, type RateLimitSpec } from '../config/rateLimit.ts';
import { noteDefault } from '../config/settings.ts';
import { type AgentSpec, DEMO_AGENTS, DEMO_TENANT } from '../config/tenant.ts';
import { type WebhookSettings, webhookSettingsFromEnv } from '../ops/webhooks.ts';
import { type BusinessHours, parseBusinessHours, STRATEGIES, type Strategy } from '../routing/index.ts';
import { type StoreSettings, storeSettingsFromEnv } from '../store/settings.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface SaConfig {
  port: number;
  host: string;
  /** The SA's public origin (callbacks and pages); default http://<host>:<port>. */
  publicUrl?: string;
  callbackPath: string;
  api: {
    discoverUrl: string;
    tokenUrl: string;
    clientId: string;
    clientSecret: string;
    resource: string;
    endpointUri: string;
    timeoutMs: number;
    /** Hosts the SA may call (hrefs from callbacks pointing elsewhere are refused). */
    allowedHosts: string[];
  };
  callbackAuth: {
    openIdMetadataUrl: string;
    audience: string;
    issuers: string[];
    appId: string;
  };
  /** Origins allowed to call POST /chat/token (the SA's own origin is always allowed). */
  allowedOrigins: string[];
  /** POST /chat/token requests per client address (CHAT_TOKEN_RATE_LIMIT); null: no limit. */
  chatTokenRateLimit: RateLimitSpec | null;
  /**
   * Whose X-Forwarded-For tells the client address (TRUST_PROXY): `false` nobody, `true` any peer (the
   * right-most entry), or a list of proxy addresses / CIDR blocks.
   */
  trustProxy: ProxyTrust;
  chat: ChatSettings;
  agents: AgentSpec[];
  /** Sign-in (OIDC), roles, the session cookie and the operator API token. */
  auth: AuthConfig;
  /** Where sessions are kept (DATA_DIR / DATABASE_URL, LEASE_MS, RETENTION_DAYS). */
  store: StoreSettings;
  /**
   * This instance's name in session leases (INSTANCE_ID). Stable across restarts, so a restarted instance
   * resumes its own sessions at once; unique among instances sharing one database.
   */
  instanceId: string;
  /** How long an ended chat stays in memory for late callbacks before it is read from the store only. */
  endedLingerMs: number;
  routing: {
    strategy: Strategy;
    capacity: number;
    maxMissedInRow: number;
    skillsFallback: boolean;
    avgHandleMs: number;
    businessHours: BusinessHours | 'always';
  };
  logLevel: string;
  /** GET /metrics needs `Authorization: Bearer <metricsToken>` when set (METRICS_TOKEN); open otherwise. */
  metricsToken?: string;
  /** Where chat events are POSTed, signed (WEBHOOK_URLS, WEBHOOK_SECRET, WEBHOOK_ALLOW_PRIVATE); absent: none. */
  webhooks?: WebhookSettings;
}

export type Env = Record<string, string | undefined>;

/** Defaults that point the SA at an in-process emulator (npm start); none when running alone. */
export interface EmulatorDefaults {
  emulatorUrl: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadSaConfig(env: Env, defaults?: EmulatorDefaults): SaConfig {
  const problems: string[] = [];
  const read = (name: string, fallback: string | undefined, check?: (v: string) => string | undefined) => {
    noteDefault(env, name, fallback, fallback === undefined);
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : raw.trim();
    if (value === undefined) {
      problems.push(`${name} is required (no emulator default when running the SA alone)`);
      return '';
    }
    const problem = check?.(value);
    if (problem) problems.push(`${name}=${JSON.stringify(value)}: ${problem}`);
    return value;
  };
  const url = (v: string) =>
    URL.canParse(v) && /^https?:$/.test(new URL(v).protocol) ? undefined : 'expected an http(s) URL';
  const int = (min: number, max: number) => (v: string) =>
    /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max
      ? undefined
      : `expected an integer from ${min} to ${max}`;
  const sip = (v: string) =>
    /^sip:[^@\s]+@[^@\s]+$/.test(v) ? undefined : 'expected a SIP URI like sip:helpdesk@contoso.com';

  const emu = defaults?.emulatorUrl;
  const tenant = read('TENANT_ID', emu ? DEMO_TENANT.tenantId : undefined, (v) =>
    /^[0-9a-f-]{36}$/i.test(v) ? undefined : 'expected a tenant id (GUID)',
  );
  const port = Number(read('PORT', '3000', int(0, 65535)));
  const host = read('HOST', '127.0.0.1');
  const publicUrl = env.SA_PUBLIC_URL ? read('SA_PUBLIC_URL', undefined, url) : undefined;
  const callbackPath = read('CALLBACK_PATH', '/callbacks', (v) =>
    v.startsWith('/') ? undefined : "expected a path starting with '/'",
  );

  const api = {
    discoverUrl: read('API_DISCOVER_URL', emu && `${emu}/platformservice/discover`, url),
    tokenUrl: read('AAD_TOKEN_URL', emu && `${emu}/${tenant}/oauth2/token`, url),
    clientId: read('AAD_CLIENT_ID', emu && DEMO_TENANT.clientId),
    clientSecret: read('AAD_CLIENT_SECRET', emu && DEMO_TENANT.clientSecret),
    resource: read('API_RESOURCE', DEMO_TENANT.platformAudience, url),
    endpointUri: read('ENDPOINT_URI', emu && DEMO_TENANT.endpointUri, sip),
    timeoutMs: Number(read('API_TIMEOUT_MS', '30000', int(100, 600_000))),
    allowedHosts: [] as string[],
  };
  const hostPattern = (v: string) =>
    /^(\*\.)?[a-z0-9.-]+(:\d+)?$/i.test(v) ? undefined : 'expected host[:port] or *.domain';
  api.allowedHosts = read('API_ALLOWED_HOSTS', '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .filter((h) => {
      const problem = hostPattern(h);
      if (problem) problems.push(`API_ALLOWED_HOSTS: ${JSON.stringify(h)}: ${problem}`);
      return !problem;
    });
  for (const href of [api.discoverUrl, api.tokenUrl]) {
    if (URL.canParse(href)) api.allowedHosts.push(new URL(href).host);
  }
  const issuersRaw = read('CALLBACK_TENANT_IDS', tenant || undefined);
  const callbackAuth = {
    openIdMetadataUrl: read(
      'CALLBACK_OPENID_METADATA_URL',
      emu && `${emu}/${tenant}/.well-known/openid-configuration`,
      url,
    ),
    audience: read('SA_APP_ID_URI', emu && DEMO_TENANT.appIdUri),
    issuers: issuersRaw
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => `https://sts.windows.net/${t}/`),
    appId: read('CALLBACK_APP_ID', DEMO_TENANT.skypeAppId),
  };
  const allowedOrigins = read('CHAT_ALLOWED_ORIGINS', '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of allowedOrigins) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      problems.push(
        `CHAT_ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://www.contoso.com`,
      );
    }
  }
  let chatTokenRateLimit: RateLimitSpec | null = null;
  read('CHAT_TOKEN_RATE_LIMIT', DEFAULT_CHAT_TOKEN_RATE_LIMIT, (v) => {
    try {
      chatTokenRateLimit = parseRateLimit(v);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  });
  let trustProxy: ProxyTrust = false;
  read('TRUST_PROXY', 'false', (v) => {
    try {
      trustProxy = parseTrustProxy(v);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  });
  const chat: ChatSettings = {
    helpdeskName: read('HELPDESK_NAME', 'Contoso Help Desk'),
    welcomeText: read('WELCOME_TEXT', 'Welcome to Contoso support! We are finding an agent for you.'),
    meetingSubject: read('MEETING_SUBJECT', 'Customer chat'),
    apologyText: read('APOLOGY_TEXT', 'Sorry, we could not connect you to an agent. Please try again later.'),
    maxAttempts: Number(read('MAX_ATTEMPTS', '3', int(1, 10))),
    retryBaseMs: Number(read('RETRY_BASE_MS', '500', int(1, 60_000))),
    stepTimeoutMs: Number(read('STEP_TIMEOUT_MS', '30000', int(100, 600_000))),
    offerTimeoutMs: Number(read('OFFER_TIMEOUT_MS', '20000', int(100, 600_000))),
    queueUpdateMs: Number(read('QUEUE_UPDATE_MS', '30000', int(1000, 3_600_000))),
    maxQueueWaitMs: Number(read('MAX_QUEUE_WAIT_MS', '300000', int(1000, 86_400_000))),
    fallbackText: read(
      'FALLBACK_TEXT',
      'All our agents are still busy. We have kept your messages and will get back to you as soon as we can.',
    ),
    customerIdleMs: Number(read('CUSTOMER_IDLE_MS', '600000', int(1000, 86_400_000))),
    idleGraceMs: Number(read('IDLE_GRACE_MS', '60000', int(1000, 3_600_000))),
    idleWarningText: read(
      'IDLE_WARNING_TEXT',
      'Are you still there? This chat will close soon if we do not hear from you.',
    ),
    agentLeftText: read(
      'AGENT_LEFT_TEXT',
      'Your agent had to leave. We are connecting you to another agent.',
    ),
    agentReplyMs: Number(read('AGENT_REPLY_MS', '120000', int(1000, 86_400_000))),
    agentNudgeText: read('AGENT_NUDGE_TEXT', 'Reminder: the customer is waiting for a reply.'),
    handoverHistory: Number(read('HANDOVER_HISTORY', '20', int(0, 200))),
  };
  const strategy = read('ROUTING_STRATEGY', 'longest-idle', (v) =>
    (STRATEGIES as readonly string[]).includes(v) ? undefined : `expected one of ${STRATEGIES.join(', ')}`,
  ) as Strategy;
  let businessHours: BusinessHours | 'always' = 'always';
  const hoursSpec = read('BUSINESS_HOURS', 'always');
  try {
    businessHours = parseBusinessHours(hoursSpec);
  } catch (error) {
    problems.push(
      `BUSINESS_HOURS=${JSON.stringify(hoursSpec)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const routing = {
    strategy,
    capacity: Number(read('AGENT_CAPACITY', '2', int(1, 100))),
    maxMissedInRow: Number(read('MAX_MISSED_OFFERS', '2', int(1, 100))),
    skillsFallback:
      read('SKILLS_FALLBACK', 'true', (v) =>
        v === 'true' || v === 'false' ? undefined : 'expected true or false',
      ) === 'true',
    avgHandleMs: Number(read('AVG_HANDLE_MS', '300000', int(1000, 86_400_000))),
    businessHours,
  };
  const agents = parseAgents(read('AGENTS', ''), problems);
  const auth = loadAuthConfig(
    env,
    problems,
    emu
      ? { url: emu, tenantId: tenant, clientId: DEMO_TENANT.clientId, clientSecret: DEMO_TENANT.clientSecret }
      : undefined,
  );
  const logLevel = read('LOG_LEVEL', 'info', (v) =>
    LOG_LEVELS.includes(v) ? undefined : `expected one of ${LOG_LEVELS.join(', ')}`,
  );

  const store = storeSettingsFromEnv(env);
  problems.push(...store.problems);
  const instanceId = read('INSTANCE_ID', defaultInstanceId(store.settings, port), (v) =>
    /^[\w.:@-]{1,100}$/.test(v)
      ? undefined
      : 'expected 1 to 100 letters, digits or . _ : @ - (a name for this instance, e.g. its host name)',
  );

  const endedLingerMs = Number(read('ENDED_CHAT_LINGER_MS', '30000', int(0, 3_600_000)));
  const metricsToken = read('METRICS_TOKEN', '');
  const webhooks = webhookSettingsFromEnv(env, problems);

  if (problems.length) throw new ConfigError(problems);
  return {
    store: store.settings,
    instanceId,
    endedLingerMs,
    port,
    host,
    ...(publicUrl ? { publicUrl } : {}),
    callbackPath,
    api,
    callbackAuth,
    allowedOrigins,
    chatTokenRateLimit,
    trustProxy,
    chat,
    agents: agents.length ? agents : [...DEMO_AGENTS],
    auth,
    routing,
    logLevel,
    ...(metricsToken ? { metricsToken } : {}),
    ...(webhooks ? { webhooks } : {}),
  };
}

/**
 * The embedded store belongs to one process (PGlite locks DATA_DIR), so one name does. With a shared
 * database, instances on one host are told apart by their port (an ephemeral port 0 gets a random name:
 * such an instance cannot resume its sessions itself; another takes them over after LEASE_MS).
 */
function defaultInstanceId(store: StoreSettings, port: number): string {
  if (!store.databaseUrl) return 'embedded';
  return port === 0 ? `${hostname()}-${randomBytes(4).toString('hex')}` : `${hostname()}:${port}`;
}

/**
 * `AGENTS=sip:alice@contoso.com=Alice Agent:billing|general,sip:bob@contoso.com=Bob` (skills after a
 * colon, separated by `|`; empty: the demo roster).
 */
function parseAgents(value: string, problems: string[]): AgentSpec[] {
  if (!value) return [];
  return value.split(',').flatMap((entry) => {
    const [uri, rest] = entry.split('=').map((s) => s.trim());
    const [name, skillText] = (rest ?? '').split(':').map((s) => s.trim());
    if (!uri || !/^sip:[^@\s]+@[^@\s]+$/.test(uri) || !name) {
      problems.push(
        `AGENTS: ${JSON.stringify(entry)} is not of the form sip:user@domain=Display Name[:skill|skill]`,
      );
      return [];
    }
    const skills = (skillText ?? '')
      .split('|')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    return [{ uri, name, ...(skills.length ? { skills } : {}) }];
  });
}

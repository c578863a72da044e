/**
 * The measured stack: `carechat emulator` and `carechat sa` as two child processes, wired as
 * `carechat start` wires them in one process — the SA configured for the emulator's demo tenant, the
 * emulator told the SA's callback URL — with the only load settings a benchmark needs (README,
 * "Performance"): simulated agents answer at once, enough agent capacity for the highest concurrency,
 * and no rate limit on chat tokens (every bench customer comes from one address).
 */
import { join } from 'node:path';
import { DEMO_AGENTS, DEMO_TENANT } from '../config/tenant.ts';
import { BenchChild, CARECHAT_BIN } from './processes.ts';

/**
 * The SA's environment for an emulator at `emulatorUrl`: the same values loadSaConfig defaults to when
 * the emulator runs in the same process (`carechat start`), spelled out as variables (a test keeps the
 * two equal).
 */
export function saEnvForEmulator(emulatorUrl: string): Record<string, string> {
  const tenant = DEMO_TENANT.tenantId;
  return {
    TENANT_ID: tenant,
    API_DISCOVER_URL: `${emulatorUrl}/platformservice/discover`,
    AAD_TOKEN_URL: `${emulatorUrl}/${tenant}/oauth2/token`,
    AAD_CLIENT_ID: DEMO_TENANT.clientId,
    AAD_CLIENT_SECRET: DEMO_TENANT.clientSecret,
    ENDPOINT_URI: DEMO_TENANT.endpointUri,
    CALLBACK_OPENID_METADATA_URL: `${emulatorUrl}/${tenant}/.well-known/openid-configuration`,
    SA_APP_ID_URI: DEMO_TENANT.appIdUri,
    // Operator sign-in through the emulator's AAD, as `carechat start` configures it.
    OIDC_ISSUER: `${emulatorUrl}/${tenant}/v2.0`,
    OIDC_CLIENT_ID: DEMO_TENANT.clientId,
    OIDC_CLIENT_SECRET: DEMO_TENANT.clientSecret,
  };
}

/** What a simulated agent does in the bench: answer and write at once (the defaults wait 200 ms / 150 ms). */
export const BENCH_AGENT_BEHAVIOUR = { answer: 'accept', acceptDelayMs: 0, typingMs: 0 } as const;

/** A child's environment: the machine's basics and LOG_LEVEL if set, nothing else from the caller's shell. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'TEMP', 'TMP', 'SystemRoot', 'LANG', 'TZ', 'LOG_LEVEL']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export interface BenchStack {
  emulator: BenchChild;
  sa: BenchChild;
  callbackPath: string;
  /** Agent capacity the SA was given (AGENT_CAPACITY). */
  agentCapacity: number;
  stop(): Promise<void>;
}

export async function startBenchStack(opts: {
  logDir: string;
  profileDir?: string;
  maxConcurrency: number;
}): Promise<BenchStack> {
  const profile = opts.profileDir ? { profileDir: opts.profileDir } : {};
  const emulator = await BenchChild.start({
    name: 'emulator',
    args: [CARECHAT_BIN, 'emulator', '--port', '0'],
    env: baseEnv(),
    ready: /carechat emulator ready: (\S+)/,
    logFile: join(opts.logDir, 'emulator.log'),
    ...profile,
  });
  let sa: BenchChild | undefined;
  try {
    const callbackPath = '/callbacks';
    const agentCapacity = Math.min(100, Math.max(2, Math.ceil(opts.maxConcurrency / DEMO_AGENTS.length)));
    sa = await BenchChild.start({
      name: 'sa',
      args: [CARECHAT_BIN, 'sa'],
      env: {
        ...baseEnv(),
        ...saEnvForEmulator(emulator.url),
        PORT: '0',
        HOST: '127.0.0.1',
        CALLBACK_PATH: callbackPath,
        AGENT_CAPACITY: String(agentCapacity),
        CHAT_TOKEN_RATE_LIMIT: 'off',
        // The embedded store, on disk as a user runs it, in the bench's own folder.
        DATA_DIR: join(opts.logDir, 'data'),
      },
      ready: /carechat sa ready: sa=(\S+)/,
      logFile: join(opts.logDir, 'sa.log'),
      ...profile,
    });
    await control(emulator.url, 'PUT', `/control/applications/${DEMO_TENANT.applicationId}/callback`, {
      url: `${sa.url}${callbackPath}`,
    });
    for (const agent of DEMO_AGENTS) {
      await control(
        emulator.url,
        'PUT',
        `/control/agents/${encodeURIComponent(agent.uri)}/behaviour`,
        BENCH_AGENT_BEHAVIOUR,
      );
    }
    // From now on the SA's probe times every request to the callback route.
    await sa.sample(callbackPath);
    const started = sa;
    return {
      emulator,
      sa: started,
      callbackPath,
      agentCapacity,
      async stop() {
        await Promise.all([started.stop(), emulator.stop()]);
      },
    };
  } catch (error) {
    await Promise.all([sa?.stop(), emulator.stop()]);
    throw error;
  }
}

/** A call to the emulator's control API (documented, public); anything but 2xx is an error. */
export async function control(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`emulator ${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

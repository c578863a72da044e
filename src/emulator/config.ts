import { type AgentSpec, DEMO_AGENTS, DEMO_TENANT } from '../config/tenant.ts';
import type { RelPrefix } from '../wire/rels.ts';

/** A presence a simulated Skype user can have. */
export type Presence = (typeof PRESENCES)[number];
export const PRESENCES = ['available', 'busy', 'away', 'offline'] as const;

/** What a simulated agent does when invited and when the customer writes. */
export interface AgentBehaviour {
  /** `accept` after `acceptDelayMs`, `decline` after `acceptDelayMs`, `never` answer, or `manual` (control API). */
  answer: 'accept' | 'decline' | 'never' | 'manual';
  acceptDelayMs: number;
  /** Sent once after joining (`{name}` is replaced); empty string = no greeting. */
  greeting: string;
  /** Reply to every customer message with `replyTemplate` (`{text}` = the customer's text verbatim). */
  autoReply: boolean;
  replyTemplate: string;
  /** Typing indication shown this long before each automatic message; 0 = no typing. */
  typingMs: number;
}

export const DEFAULT_AGENT_BEHAVIOUR: AgentBehaviour = {
  answer: 'accept',
  acceptDelayMs: 200,
  greeting: 'Hi, this is {name}. How can I help you?',
  autoReply: true,
  replyTemplate: 'You said: "{text}"',
  typingMs: 150,
};

/** An agent of the roster: the shared AgentSpec plus an optional starting presence and behaviour. */
export interface EmulatorAgentSpec extends AgentSpec {
  presence?: Presence;
  behaviour?: Partial<AgentBehaviour>;
}

export interface EmulatorApplication {
  /** The platform's numeric application id (path segment of every platform href). */
  applicationId: string;
  tenantId: string;
  /** AAD client credentials of the SA. */
  clientId: string;
  clientSecret: string;
  /** The trusted application endpoint, e.g. `sip:helpdesk@contoso.com`. */
  endpointUri: string;
  /** The SA's App ID URI: `aud` of every callback JWT. */
  appIdUri: string;
  /** The registered default callback URL. */
  callbackUrl?: string;
}

export interface EmulatorConfig {
  /** Origin used in absolute hrefs, `baseuri` and Location headers; default: the listen address. */
  publicUrl?: string;
  /** Rel prefix of platform resources (SA side); `X-Ms-Namespace: internal` always selects `ms:rtc:saas:`. */
  relPrefix: RelPrefix;
  applications: EmulatorApplication[];
  agents: EmulatorAgentSpec[];
  /** Applied to every agent under its own `behaviour`. */
  agentBehaviour?: Partial<AgentBehaviour>;
  /** Audiences accepted for the SA's AAD token (`resource` of the token request). */
  acceptedAudiences: string[];
  callbackTimeoutMs: number;
  /** Retries after a 5xx / timeout / network error (a 4xx is never retried). */
  callbackRetries: number;
  /** First retry delay; doubles each retry, up to callbackRetryMaxMs. */
  callbackRetryBaseMs: number;
  /** The longest wait between two attempts. */
  callbackRetryMaxMs: number;
  /** 0 = no heartbeats. */
  heartbeatIntervalMs: number;
  psatLifetimeSec: number;
  aadTokenLifetimeSec: number;
  /** Lifetime of the JWT on each callback. */
  callbackTokenLifetimeSec: number;
  /** An unanswered participantInvitation (agent) completes with Failure after this long. */
  ringTimeoutMs: number;
  /** The customer's messagingInvitation completes with Failure when the SA neither bridges nor declines. */
  invitationTimeoutMs: number;
  /** A typing indication ends this long after the last `typing` POST. */
  typingIdleMs: number;
  /** Default and maximum long-poll hold of the anonymous event channel. */
  eventChannelTimeoutSec: number;
  /**
   * An anonymous application whose event channel is not polled this long is ended by the platform (the
   * customer's page went away without leaving); its conversations end as if the guest had left. 0 = never.
   */
  anonymousIdleTimeoutMs: number;
  /** acceptAndBridge success status: 201 as captured (SDK mock) or 200 as in the docs. */
  acceptAndBridgeStatus: 200 | 201;
  /** anonApplicationTokens success status: 200 as in the docs or 201 as in the SDK mock. */
  anonTokenStatus: 200 | 201;
  /** Maximum entries kept in the request/callback log. */
  logLimit: number;
}

export function defaultEmulatorConfig(): EmulatorConfig {
  return {
    relPrefix: 'ms:rtc:saas:',
    applications: [
      {
        applicationId: DEMO_TENANT.applicationId,
        tenantId: DEMO_TENANT.tenantId,
        clientId: DEMO_TENANT.clientId,
        clientSecret: DEMO_TENANT.clientSecret,
        endpointUri: DEMO_TENANT.endpointUri,
        appIdUri: DEMO_TENANT.appIdUri,
      },
    ],
    agents: DEMO_AGENTS.map((agent) => ({ ...agent })),
    acceptedAudiences: ['https://api.skypeforbusiness.com', 'https://NOAMmeetings.resources.lync.com'],
    callbackTimeoutMs: 10_000,
    callbackRetries: 3,
    callbackRetryBaseMs: 500,
    callbackRetryMaxMs: 30_000,
    heartbeatIntervalMs: 0,
    psatLifetimeSec: 8 * 3600,
    aadTokenLifetimeSec: 3600,
    callbackTokenLifetimeSec: 3900,
    ringTimeoutMs: 30_000,
    invitationTimeoutMs: 120_000,
    typingIdleMs: 5_000,
    eventChannelTimeoutSec: 180,
    anonymousIdleTimeoutMs: 180_000,
    acceptAndBridgeStatus: 201,
    anonTokenStatus: 200,
    logLimit: 5_000,
  };
}

export function resolveConfig(partial: Partial<EmulatorConfig> = {}): EmulatorConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined));
  const config: EmulatorConfig = { ...defaultEmulatorConfig(), ...defined };
  config.applications = config.applications.map((app) => ({ ...app }));
  config.agents = config.agents.map((agent) => ({ ...agent }));
  if (config.applications.length === 0)
    throw new Error('emulator config: at least one application is required');
  const ids = new Set<string>();
  for (const app of config.applications) {
    if (ids.has(app.applicationId)) {
      throw new Error(`emulator config: duplicate applicationId ${app.applicationId}`);
    }
    ids.add(app.applicationId);
    if (!/^sip:[^@\s]+@[^@\s]+$/i.test(app.endpointUri)) {
      throw new Error(`emulator config: endpointUri ${app.endpointUri} is not a sip:user@domain URI`);
    }
  }
  if (config.publicUrl) config.publicUrl = config.publicUrl.replace(/\/+$/, '');
  return config;
}

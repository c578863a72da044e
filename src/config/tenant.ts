/**
 * The demo tenant shared by the emulator's defaults and the SA's defaults, so that `npm start` needs no
 * configuration. A real deployment overrides every value through environment variables.
 */
export const DEMO_TENANT = {
  tenantId: '1fdd12d0-4620-44ed-baec-459b611f84b2',
  domain: 'contoso.com',
  /** The trusted application: platform application id, AAD client credentials, endpoint. */
  applicationId: '1627259584',
  clientId: 'c2b2e0f4-3d5e-4bb5-9b6a-carechat0001',
  clientSecret: 'carechat-demo-secret',
  endpointUri: 'sip:helpdesk@contoso.com',
  /** The SA's App ID URI: the `aud` of every callback JWT. */
  appIdUri: 'https://carechat.contoso.com',
  /** The audience the SA asks AAD for when it calls the platform. */
  platformAudience: 'https://api.skypeforbusiness.com',
  /** Skype for Business Online first-party application id: `appid` of callback JWTs. */
  skypeAppId: '00000004-0000-0ff1-ce00-000000000000',
} as const;

export interface AgentSpec {
  uri: string;
  name: string;
  skills?: string[];
}

export const DEMO_AGENTS: readonly AgentSpec[] = [
  { uri: 'sip:alice@contoso.com', name: 'Alice Agent', skills: ['billing', 'general'] },
  { uri: 'sip:bob@contoso.com', name: 'Bob Agent', skills: ['technical', 'general'] },
  { uri: 'sip:carol@contoso.com', name: 'Carol Agent', skills: ['billing', 'technical'] },
];

/**
 * The demo tenant's supervisor: a user of the emulated Azure AD (not a Skype user, not in the roster) who
 * signs in to the operator console. The roster agents sign in as themselves (`alice@contoso.com`, …).
 */
export const DEMO_SUPERVISOR = {
  username: 'sam@contoso.com',
  name: 'Sam Supervisor',
  roles: ['supervisor'],
} as const;

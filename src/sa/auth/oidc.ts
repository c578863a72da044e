/**
 * OpenID Connect sign-in (authorization code + PKCE, with state and nonce) through openid-client: the
 * provider's metadata is discovered on first use, the ID token is verified by the library (signature
 * against the provider's JWKS, issuer, audience, expiry, nonce), and roles come from its `roles` claim or
 * the configured OIDC_USER_ROLES.
 */
import * as oidc from 'openid-client';
import type { OidcSettings, Role } from '../../config/auth.ts';
import type { Principal, SignInFlow } from './session.ts';

export interface SignedInUser {
  sub: string;
  name: string;
  username: string;
  roles: string[];
}

/** Why a sign-in did not produce a session: shown to the person, never a 500. */
export class SignInError extends Error {
  override name = 'SignInError';
  constructor(
    readonly status: 400 | 403 | 502,
    message: string,
  ) {
    super(message);
  }
}

export class OidcClient {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(private readonly settings: OidcSettings) {}

  private config(): Promise<oidc.Configuration> {
    this.configuration ??= oidc
      .discovery(
        new URL(this.settings.issuer),
        this.settings.clientId,
        undefined,
        oidc.ClientSecretPost(this.settings.clientSecret),
        this.settings.allowHttp ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        // Not cached: the next sign-in tries again (the provider may have been down).
        this.configuration = undefined;
        throw new SignInError(
          502,
          `the sign-in provider ${this.settings.issuer} could not be reached (${error instanceof Error ? error.message : String(error)})`,
        );
      });
    return this.configuration;
  }

  /** A fresh flow and the provider URL to send the browser to. */
  async start(
    redirectUri: string,
    returnTo: string,
    extra: { loginHint?: string } = {},
  ): Promise<{ url: URL; flow: SignInFlow }> {
    const config = await this.config();
    const verifier = oidc.randomPKCECodeVerifier();
    const flow: SignInFlow = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier,
      returnTo,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      response_type: 'code',
      response_mode: 'query',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
      ...(extra.loginHint ? { login_hint: extra.loginHint } : {}),
    });
    return { url, flow };
  }

  /** The provider sent the browser back to `callbackUrl` (the public redirect URI with its query). */
  async finish(callbackUrl: URL, flow: SignInFlow): Promise<SignedInUser> {
    const config = await this.config();
    let claims: oidc.IDToken | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (error) {
      throw new SignInError(
        error instanceof oidc.AuthorizationResponseError ? 403 : 400,
        `sign-in failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!claims) throw new SignInError(400, 'sign-in failed: the provider returned no ID token');
    const text = (key: string) => (typeof claims[key] === 'string' ? (claims[key] as string) : undefined);
    const username = (
      text('preferred_username') ??
      text('upn') ??
      text('email') ??
      text('unique_name') ??
      ''
    ).toLowerCase();
    const roles = Array.isArray(claims.roles)
      ? (claims.roles as unknown[]).filter((r): r is string => typeof r === 'string')
      : [];
    return { sub: claims.sub, name: text('name') ?? (username || claims.sub), username, roles };
  }
}

/**
 * The carechat role of a signed-in user: `supervisor` wins over `agent`; the `roles` claim (app roles of
 * the tenant's app registration) and OIDC_USER_ROLES both count. No role: no session.
 */
export function principalOf(
  user: SignedInUser,
  userRoles: Map<string, Role>,
): Omit<Principal, 'kind' | 'csrf' | 'exp'> | undefined {
  const claimed = new Set(user.roles.map((r) => r.toLowerCase()));
  const mapped = user.username ? userRoles.get(user.username) : undefined;
  if (mapped) claimed.add(mapped);
  const role: Role | undefined = claimed.has('supervisor')
    ? 'supervisor'
    : claimed.has('agent')
      ? 'agent'
      : undefined;
  if (!role) return undefined;
  return {
    sub: user.sub,
    name: user.name,
    username: user.username,
    role,
    ...(role === 'agent' && user.username ? { agentUri: `sip:${user.username}` } : {}),
  };
}

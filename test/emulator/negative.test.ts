import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import { findLink } from '../../src/wire/hal.ts';
import { resolveHref } from '../../src/wire/href.ts';
import { aadToken, closeAll, control, emulator, Guest, http, jsonInit, SaClient } from './helpers.ts';

afterEach(closeAll);

const APP = `/platformservice/v1/applications/${DEMO_TENANT.applicationId}`;
const E = `endpointId=${DEMO_TENANT.endpointUri}`;

async function forgedAadToken(): Promise<string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return new SignJWT({ appid: DEMO_TENANT.clientId, tid: DEMO_TENANT.tenantId })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setAudience(DEMO_TENANT.platformAudience)
    .setIssuer(`https://sts.windows.net/${DEMO_TENANT.tenantId}/`)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
}

describe('AAD tokens for the SA', () => {
  it('refuses wrong client credentials with 401 invalid_client', async () => {
    const { url } = await emulator();
    const result = await aadToken(url, { clientSecret: 'not-the-secret' });
    expect(result.status).toBe(401);
    expect(result.json.error).toBe('invalid_client');
    expect(String(result.json.error_description)).toMatch(/Invalid client secret or client id/);
  });

  it('refuses an unknown resource and an unsupported grant with 400 and an OAuth error', async () => {
    const { url } = await emulator();
    const resource = await aadToken(url, { resource: 'https://example.com' });
    expect(resource.status).toBe(400);
    expect(resource.json.error).toBe('invalid_resource');
    const grant = await http(`${url}/${DEMO_TENANT.tenantId}/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=password&client_id=x',
    });
    expect(grant.status).toBe(400);
    expect(grant.json.error).toBe('unsupported_grant_type');
  });

  it('accepts both documented audiences and the tenant domain as authority', async () => {
    const { url } = await emulator();
    const noam = await aadToken(url, {
      resource: 'https://NOAMmeetings.resources.lync.com',
      tenant: 'contoso.com',
    });
    expect(noam.status).toBe(200);
    const sa = new SaClient(url, String(noam.json.access_token));
    const apps = await sa.get(`/platformservice/v1/applications?${E}`);
    expect(apps.status).toBe(200);
  });

  it('challenges a request without a token with 401 and both WWW-Authenticate headers', async () => {
    const { url } = await emulator();
    const result = await http(`${url}/platformservice/v1/applications?${E}`);
    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({ code: 'Unauthorized', subcode: 'MissingToken' });
    expect(String(result.json.message)).toMatch(/Bearer/);
    const challenge = result.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('client_id="00000004-0000-0ff1-ce00-000000000000"');
    expect(challenge).toContain('MsRtcOAuth');
  });

  it('rejects a forged token (signed by another key) with 401 InvalidToken', async () => {
    const { url } = await emulator();
    const sa = new SaClient(url, await forgedAadToken());
    const result = await sa.get(`${APP}?${E}`);
    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({ code: 'Unauthorized', subcode: 'InvalidToken' });
  });

  it('rejects an expired token with 401 Expired', async () => {
    const { url } = await emulator({ aadTokenLifetimeSec: -60 });
    const sa = await SaClient.connect(url);
    const result = await sa.get(`${APP}?${E}`);
    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({ code: 'Unauthorized', subcode: 'Expired' });
    expect(String(result.json.message)).toMatch(/expired/);
  });

  it('expires every issued AAD token early through the control API', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    expect((await sa.get(`${APP}?${E}`)).status).toBe(200);
    const fault = await control(url, 'POST', '/faults', { kind: 'expireTokens', tokens: 'aad' });
    expect(fault.status).toBe(200);
    const result = await sa.get(`${APP}?${E}`);
    expect(result.status).toBe(401);
    expect(result.json.subcode).toBe('Expired');
    const fresh = await SaClient.connect(url);
    expect((await fresh.get(`${APP}?${E}`)).status).toBe(200);
  });

  it('answers 403 ApplicationNotFound for an endpoint the application does not own', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const result = await sa.get(`${APP}?endpointId=sip:someone@fabrikam.com`);
    expect(result.status).toBe(403);
    expect(result.json).toMatchObject({ code: 'Forbidden', subcode: 'ApplicationNotFound' });
    expect(String(result.json.message)).toContain('sip:someone@fabrikam.com');
  });
});

describe('bad input on the platform API', () => {
  it('answers an unknown resource with 404 NotFound and an error body', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const result = await sa.get(`${APP}/communication/conversations/no-such-conversation?${E}`);
    expect(result.status).toBe(404);
    expect(result.json.code).toBe('NotFound');
    expect(String(result.json.message)).toContain('no-such-conversation');
    const nowhere = await http(`${url}/nowhere/at/all`);
    expect(nowhere.status).toBe(404);
    expect(nowhere.json.code).toBe('NotFound');
  });

  it('answers malformed JSON with 400 DeserializationFailure', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const result = await http(`${url}${APP}/anonApplicationTokens?${E}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sa.token}`, 'Content-Type': 'application/json' },
      body: '{"applicationSessionId": ',
    });
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ code: 'BadRequest', subcode: 'DeserializationFailure' });
    expect(String(result.json.message)).toMatch(/not valid JSON/);
  });

  it('answers a wrong content type with 415 UnsupportedMediaType', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const result = await http(`${url}${APP}/anonApplicationTokens?${E}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sa.token}`, 'Content-Type': 'text/plain' },
      body: 'applicationSessionId=x',
    });
    expect(result.status).toBe(415);
    expect(result.json.code).toBe('UnsupportedMediaType');
    expect(String(result.json.message)).toContain('text/plain');
  });

  it('names a missing or over-long field with 400 ParameterValidationFailure', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const missing = await sa.post(`${APP}/anonApplicationTokens?${E}`, {
      allowedOrigins: 'https://contoso.com',
    });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ code: 'BadRequest', subcode: 'ParameterValidationFailure' });
    expect(String(missing.json.message)).toBe('applicationSessionId: is required');
    const long = await sa.post(`${APP}/anonApplicationTokens?${E}`, {
      applicationSessionId: 'x'.repeat(101),
    });
    expect(long.status).toBe(400);
    expect(String(long.json.message)).toBe('applicationSessionId: is longer than 100 characters');
    const origin = await sa.post(`${APP}/anonApplicationTokens?${E}`, {
      applicationSessionId: 's',
      allowedOrigins: 'not a url',
    });
    expect(origin.status).toBe(400);
    expect(String(origin.json.message)).toMatch(/^allowedOrigins: 'not a url'/);
  });

  it('answers a wrong method with 405 and an Allow header', async () => {
    const { url } = await emulator();
    const result = await http(`${url}/platformservice/discover`, { method: 'DELETE' });
    expect(result.status).toBe(405);
    expect(result.json.code).toBe('MethodNotAllowed');
    expect(result.headers.get('allow')).toBe('GET');
  });

  it('echoes client-request-id and sends correlation headers on every answer', async () => {
    const { url } = await emulator();
    const result = await http(`${url}/platformservice/discover`, {
      headers: { 'client-request-id': 'req-42' },
    });
    expect(result.status).toBe(200);
    expect(result.headers.get('client-request-id')).toBe('req-42');
    expect(result.headers.get('x-ms-correlation-id')).toMatch(/^\d+$/);
    expect(result.headers.get('x-ms-server-fqdn')).toBe('127.0.0.1');
  });
});

describe('the guest (psat) side', () => {
  it('issues a psat whose claims carry the session, endpoint, normalised origins and an 8 hour lifetime', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const { result, token } = await sa.anonToken(
      'https://contoso.com/shop/page;http://www.microsoftstore.com/store/x',
    );
    expect(result.status).toBe(200);
    expect(String(result.json.expiryTime)).toMatch(/^\/Date\(\d+\)\/$/);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({
      asi: 'session-1',
      aeu: DEMO_TENANT.endpointUri,
      ao: 'https://contoso.com;http://www.microsoftstore.com',
    });
    expect(claims.exp - claims.nbf).toBe(28_800);
    expect(typeof claims.ruu).toBe('string');
  });

  it('rejects an expired psat with 401 Expired', async () => {
    const { url } = await emulator({ psatLifetimeSec: -60 });
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken();
    const guest = new Guest(token);
    const result = await guest.start(discover);
    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({ code: 'Unauthorized', subcode: 'Expired' });
  });

  it('rejects a forged psat with 401 InvalidToken', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const { token } = await sa.anonToken();
    const [header, payload] = token.replace('psat=', '').split('.');
    const forged = `psat=${header}.${payload}.${'A'.repeat(342)}`;
    const result = await http(
      `${url}/ucwa/psanon/v1/applications`,
      jsonInit('POST', { userAgent: 'x', culture: 'en-us' }, { Authorization: `Bearer ${forged}` }),
    );
    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({ code: 'Unauthorized', subcode: 'InvalidToken' });
  });

  it('expires psat tokens early through the control API', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken();
    await control(url, 'POST', '/faults', { kind: 'expireTokens', tokens: 'psat' });
    const result = await new Guest(token).start(discover);
    expect(result.status).toBe(401);
    expect(result.json.subcode).toBe('Expired');
  });

  it('refuses a disallowed Origin: 403 without CORS headers, also on preflight', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken('https://contoso.com');
    const evil = new Guest(token, 'https://evil.example');
    const result = await evil.start(discover);
    expect(result.status).toBe(403);
    expect(result.json.code).toBe('Forbidden');
    expect(String(result.json.message)).toContain('https://evil.example');
    expect(result.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await http(`${url}/ucwa/psanon/v1/applications`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.json.code).toBe('Forbidden');
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers the preflight of an allowed origin with the CORS headers', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    await sa.anonToken('https://contoso.com');
    const preflight = await http(`${url}/ucwa/psanon/v1/applications`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://contoso.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://contoso.com');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(preflight.headers.get('vary')).toContain('Origin');
  });

  it('forbids an invitation to any address but the token endpoint (403)', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken();
    const guest = new Guest(token);
    expect((await guest.start(discover)).status).toBe(201);
    const result = await guest.invite('sip:ceo@contoso.com');
    expect(result.status).toBe(403);
    expect(result.json.code).toBe('Forbidden');
    expect(String(result.json.message)).toContain(DEMO_TENANT.endpointUri);
  });

  it('requires culture and userAgent and accepts member names in any case', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const { token } = await sa.anonToken();
    const auth = { Authorization: `Bearer ${token}` };
    const missing = await http(
      `${url}/ucwa/psanon/v1/applications`,
      jsonInit('POST', { USERAGENT: 'w/1' }, auth),
    );
    expect(missing.status).toBe(400);
    expect(String(missing.json.message)).toBe('culture: is required');
    const ok = await http(
      `${url}/ucwa/psanon/v1/applications`,
      jsonInit('POST', { USERAGENT: 'w/1', cUlTuRe: 'en-us' }, auth),
    );
    expect(ok.status).toBe(201);
    expect(ok.json.culture).toBe('en-us');
    expect(findLink(ok.json, 'events')?.href).toMatch(/events\?ack=1&key=/);
  });

  it('rejects a non-text message body with 415 and an empty one with 400', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken();
    const guest = new Guest(token);
    await guest.start(discover);
    const invited = await guest.invite();
    const conversation = findLink(invited.json, 'conversation')!.href;
    const messages = resolveHref(`${conversation}/messaging/messages`, url);
    const json = await http(messages, jsonInit('POST', { text: 'hi' }, guest.headers()));
    expect(json.status).toBe(415);
    expect(json.json.code).toBe('UnsupportedMediaType');
    const empty = await http(messages, {
      method: 'POST',
      headers: guest.headers({ 'Content-Type': 'text/plain' }),
      body: '',
    });
    expect(empty.status).toBe(400);
    expect(String(empty.json.message)).toMatch(/empty/);
  });

  it('does not let a message through before messaging is connected (409)', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const { token, discover } = await sa.anonToken();
    const guest = new Guest(token);
    await guest.start(discover);
    const invited = await guest.invite();
    const conversation = findLink(invited.json, 'conversation')!.href;
    const result = await http(resolveHref(`${conversation}/messaging/messages`, url), {
      method: 'POST',
      headers: guest.headers({ 'Content-Type': 'text/plain' }),
      body: 'hello?',
    });
    expect(result.status).toBe(409);
    expect(result.json.code).toBe('Conflict');
    expect(String(result.json.message)).toMatch(/Connecting/);
  });
});

describe('robustness', () => {
  it('never answers 500 to a battery of bad requests', async () => {
    const { url } = await emulator();
    const sa = await SaClient.connect(url);
    const bad: Array<[string, RequestInit]> = [
      [`${url}/platformservice/discover?anonymousContext=garbage`, {}],
      [`${url}/platformservice/discover?anonymousContext=%E0%A4%A`, {}],
      [
        `${url}${APP}/communication/onlineMeetingInvitations/startAdhocMeeting?${E}`,
        {
          method: 'POST',
          headers: { Authorization: `Bearer ${sa.token}`, 'Content-Type': 'application/json' },
          body: '[]',
        },
      ],
      [
        `${url}${APP}/communication/participantInvitations?${E}`,
        {
          method: 'POST',
          headers: { Authorization: `Bearer ${sa.token}`, 'Content-Type': 'application/json' },
          body: '{"to": 5}',
        },
      ],
      [
        `${url}${APP}/communication/messagingInvitations/x/acceptAndBridge?${E}`,
        {
          method: 'POST',
          headers: { Authorization: `Bearer ${sa.token}`, 'Content-Type': 'application/json' },
          body: '{"onlineMeetingUri":"https://x"}',
        },
      ],
      [
        `${url}/ucwa/psanon/v1/applications/1/events?ack=abc`,
        { headers: { Authorization: 'Bearer psat=x.y.z' } },
      ],
      [
        `${url}/control/faults`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '{"kind":"http","path":"/(/"}',
        },
      ],
      [
        `${url}/control/agents/nobody/presence`,
        { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"presence":"asleep"}' },
      ],
      [`${url}/${DEMO_TENANT.tenantId}/oauth2/token`, { method: 'POST', body: 'x' }],
    ];
    for (const [target, init] of bad) {
      const result = await http(target, init as never);
      expect(result.status, `${init.method ?? 'GET'} ${target}`).toBeGreaterThanOrEqual(400);
      expect(result.status, `${init.method ?? 'GET'} ${target}: ${result.text}`).toBeLessThan(500);
      expect(result.text.length).toBeGreaterThan(0);
    }
  });
});

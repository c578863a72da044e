import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURES_PRESENT, fixtureText } from '../../test/helpers/fixtures.ts';
import {
  clientOptionsFor,
  json,
  PLATFORM_HEADERS,
  type PlatformDouble,
  startPlatformDouble,
} from '../../test/helpers/platformDouble.ts';
import { parseWireDate } from '../wire/dates.ts';
import { queryParam } from '../wire/href.ts';
import { parseJsonText } from '../wire/json.ts';
import type { PlatformClient } from './client.ts';
import { createPlatformClient, requireCapability } from './client.ts';
import { ApiError, CapabilityNotAvailableError } from './errors.ts';

let double: PlatformDouble;
let client: PlatformClient;

beforeEach(async () => {
  double = await startPlatformDouble();
  client = createPlatformClient(clientOptionsFor(double));
});

afterEach(async () => {
  await double.close();
});

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/** The expiry of a captured anon token answer, read from the fixture at run time. */
function capturedExpiry(name: string): string {
  const body = parseJsonText(fixtureText(name)) as { expiryTime: string };
  return parseWireDate(body.expiryTime)?.toISOString() ?? 'unparseable';
}

describe.skipIf(!FIXTURES_PRESENT)('capabilities from the captured discovery chain', () => {
  it('walks discover → applications?endpointId → application, resolving relative hrefs on the applications host', async () => {
    const caps = await client.capabilities();
    const applicationPath = double.rolePath('application');
    expect(applicationPath).toBeDefined();
    expect(new URL(caps.applicationHref).pathname).toBe(applicationPath);
    expect(caps.applicationHref.startsWith(double.origin)).toBe(true);
    for (const rel of [
      'anonApplicationTokens',
      'communication',
      'startMessaging',
      'joinOnlineMeeting',
      'inviteUserToMeeting',
      'adhocMeetings',
      'myOnlineMeetings',
    ]) {
      expect(caps.links[rel], rel).toMatch(new RegExp(`^${double.origin}/`));
    }
    expect(new URL(caps.links.anonApplicationTokens ?? '').pathname).toBe(double.rolePath('anonToken'));
    // Query strings of hrefs are kept verbatim (modalities and endpointId on startAudio).
    expect(queryParam(caps.links.startAudio ?? '', 'modalities')).toBe('Audio');
  });

  it('sends endpointId on applications, no token on discovery, a bearer token on the rest', async () => {
    await client.capabilities();
    const [discover, applications, application] = double.requests.filter((r) => r.method === 'GET');
    expect(discover?.path).toBe('/platformservice/discover');
    expect(discover?.headers.authorization).toBeUndefined();
    expect(queryParam(`${applications?.path}${applications?.search}`, 'endpointId')).toBe(
      double.options.endpointUri,
    );
    expect(applications?.headers.authorization).toBe(`Bearer ${double.issuedTokens[0]}`);
    expect(application?.headers.authorization).toBe(`Bearer ${double.issuedTokens[0]}`);
    expect(application?.headers.accept).toBe('application/json');
    expect(application?.headers['client-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a 401 challenge on applications with one token refresh and one more GET', async () => {
    const applicationsPath = double.rolePath('applications') ?? '';
    double.on('GET', applicationsPath, () => {
      double.off('GET', applicationsPath); // challenge once, then serve the captured collection
      return new Response('<html>401</html>', { status: 401, headers: { 'content-type': 'text/html' } });
    });
    const caps = await client.capabilities();
    expect(caps.links.anonApplicationTokens).toBeDefined();
    const gets = double.requests.filter((r) => r.path === applicationsPath);
    expect(gets.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${double.issuedTokens[0]}`,
      `Bearer ${double.issuedTokens[1]}`,
    ]);
    expect(double.tokenRequests()).toBe(2);
  });

  it('reads the same capabilities when every rel carries the service: prefix', async () => {
    const captured = await client.capabilities();
    await double.close();
    double = await startPlatformDouble();
    for (const [role, fixture] of [
      ['discover', 'Discover.json'],
      ['applications', 'Applications.json'],
      ['application', 'Application.json'],
    ] as const) {
      double.serveFixture(role, { fixture, prefix: 'service:' });
    }
    const caps = await createPlatformClient(clientOptionsFor(double)).capabilities();
    const withoutOrigin = (links: Record<string, string>, origin: string) =>
      Object.fromEntries(Object.entries(links).map(([rel, href]) => [rel, href.replace(origin, '')]));
    expect(Object.keys(caps.links).sort()).toEqual(Object.keys(captured.links).sort());
    expect(withoutOrigin(caps.links, double.origin)).toEqual(
      withoutOrigin(captured.links, new URL(captured.applicationHref).origin),
    );
    expect(double.requests.some((r) => r.body.includes('ms:rtc:saas:'))).toBe(false);
  });

  it('is cached: a second call and concurrent callers cost no further requests', async () => {
    const [a, b] = await Promise.all([client.capabilities(), client.capabilities()]);
    const c = await client.capabilities();
    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(double.count('/platformservice/discover')).toBe(1);
    expect(double.tokenRequests()).toBe(1);
  });

  it('does not cache a failure: the next call starts discovery again', async () => {
    let calls = 0;
    double.on('GET', '/platformservice/discover', () => {
      calls += 1;
      return new Response(
        fixtureText('Discover.json').replace(/https:\/\/[a-z0-9.-]+\.lync\.com(:\d+)?/gi, double.origin),
        {
          status: calls === 1 ? 503 : 200,
          headers: { 'content-type': 'application/json' },
        },
      );
    });
    const error = await failure(client.capabilities());
    expect(error.status).toBe(503);
    await expect(client.capabilities()).resolves.toMatchObject({ applicationHref: expect.any(String) });
    expect(calls).toBe(2);
  });

  it('an applications collection without the application link → CapabilityNotAvailableError naming application', async () => {
    double.serveFixture('applications', { fixture: 'Applications_NoApplication.json' });
    const error = await failure(client.capabilities());
    expect(error).toBeInstanceOf(CapabilityNotAvailableError);
    expect((error as CapabilityNotAvailableError).rel).toBe('application');
    expect(error.code).toBe('CapabilityNotAvailable');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("capability 'application' is not available");
  });

  it('a discovery document without an applications link → CapabilityNotAvailableError naming applications', async () => {
    double.serveFixture('discover', {
      fixture: 'Discover.json',
      transform: (body) => ({ ...body, _links: { self: { href: '/platformservice/discover' } } }),
    });
    const error = await failure(client.capabilities());
    expect((error as CapabilityNotAvailableError).rel).toBe('applications');
    expect(error.message).toContain("'applications'");
  });

  it('an applications link that is no URL → InvalidResponse quoting it', async () => {
    double.serveFixture('discover', {
      fixture: 'Discover.json',
      transform: (body) => ({ ...body, _links: { 'service:applications': { href: 'not a url' } } }),
    });
    const error = await failure(client.capabilities());
    expect(error.code).toBe('InvalidResponse');
    expect(error.message).toContain("'not a url'");
  });

  it('an endpoint the tenant did not provision → ApiError 403 ApplicationNotFound', async () => {
    const stranger = createPlatformClient({
      ...clientOptionsFor(double),
      endpointUri: 'sip:nobody@contoso.com',
    });
    const error = await failure(stranger.capabilities());
    expect(error.status).toBe(403);
    expect(error.subcode).toBe('ApplicationNotFound');
    expect(error.message).toContain('sip:nobody@contoso.com');
  });

  it('requireCapability names a missing adhocMeetings, and startMessagingWithIdentity is not startMessaging', async () => {
    double.serveFixture('application', { fixture: 'Application_NoAdhocMeetings.json' });
    const caps = await client.capabilities();
    expect(() => requireCapability(caps, 'service:adhocMeetings')).toThrow(
      /capability 'adhocMeetings' is not available/,
    );
    expect(() => requireCapability(caps, 'startMessaging')).toThrow(CapabilityNotAvailableError);
    expect(requireCapability(caps, 'ms:rtc:saas:startMessagingWithIdentity')).toMatch(/^http/);
  });

  it('an application without the embedded communication resource has no startMessaging', async () => {
    double.serveFixture('application', { fixture: 'Application_NoCommunicationResource.json' });
    const caps = await client.capabilities();
    expect(caps.links.startMessaging).toBeUndefined();
    expect(caps.links.anonApplicationTokens).toBeDefined();
  });
});

describe.skipIf(!FIXTURES_PRESENT)('anonymous application tokens', () => {
  it('posts applicationSessionId and ;-joined allowedOrigins and reads the captured 201 answer', async () => {
    const anon = await client.createAnonToken({
      applicationSessionId: 'session-1',
      allowedOrigins: ['https://contoso.com', 'https://litware.com'],
    });
    expect(anon.token.startsWith('psat=')).toBe(true);
    expect(anon.expiresAt).toBe(capturedExpiry('AnonApplicationToken.json'));
    expect(anon.discoverUri.startsWith(`${double.origin}/`)).toBe(true);
    // The double-encoded context is kept byte for byte.
    expect(anon.discoverUri).toContain('psat%253d');
    const post = double.requests.find((r) => r.method === 'POST' && r.path === double.rolePath('anonToken'));
    expect(post?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(post?.body ?? '')).toEqual({
      applicationSessionId: 'session-1',
      allowedOrigins: 'https://contoso.com;https://litware.com',
    });
  });

  it('omits allowedOrigins when none are given', async () => {
    await client.createAnonToken({ applicationSessionId: 'session-2' });
    const post = double.requests.find((r) => r.method === 'POST' && r.path === double.rolePath('anonToken'));
    expect(JSON.parse(post?.body ?? '')).toEqual({ applicationSessionId: 'session-2' });
  });

  it('accepts a 200 answer with an ISO 8601 expiryTime and a service: discover link', async () => {
    double.serveFixture('anonToken', {
      fixture: 'AnonApplicationToken.json',
      status: 200,
      prefix: 'service:',
      transform: (body) => ({ ...body, expiryTime: '2016-06-27T01:42:13.094Z' }),
    });
    const anon = await client.createAnonToken({ applicationSessionId: 'session-3' });
    expect(anon.expiresAt).toBe('2016-06-27T01:42:13.094Z');
    expect(anon.discoverUri.startsWith(double.origin)).toBe(true);
  });

  it('resolves a host-relative discover link against the host that answered', async () => {
    double.serveFixture('anonToken', {
      fixture: 'AnonApplicationToken.json',
      transform: (body) => ({
        ...body,
        _links: { 'service:discover': { href: '/platformService/discover?anonymousContext=psat%253dabc' } },
      }),
    });
    const anon = await client.createAnonToken({ applicationSessionId: 'session-4' });
    expect(anon.discoverUri).toBe(`${double.origin}/platformService/discover?anonymousContext=psat%253dabc`);
  });

  it('a malformed discover URI → ApiError InvalidResponse quoting the link', async () => {
    double.serveFixture('anonToken', {
      fixture: 'AnonApplicationToken_MalformedDiscoverUri.json',
      status: 201,
    });
    const error = await failure(client.createAnonToken({ applicationSessionId: 'session-5' }));
    expect(error.code).toBe('InvalidResponse');
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(201);
    expect(error.message).toContain("'discover' link 'http-no-so-good-uri' is not a usable URL");
  });

  it('a malformed JSON answer → ApiError InvalidResponse saying it is not JSON', async () => {
    double.serveFixture('anonToken', { fixture: 'AnonApplicationToken_Malformed.json' });
    const error = await failure(client.createAnonToken({ applicationSessionId: 'session-6' }));
    expect(error.code).toBe('InvalidResponse');
    expect(error.message).toContain('not valid JSON');
  });

  it('an unreadable expiryTime → ApiError InvalidResponse quoting it', async () => {
    double.serveFixture('anonToken', {
      fixture: 'AnonApplicationToken.json',
      transform: (body) => ({ ...body, expiryTime: 'tomorrow-ish' }),
    });
    const error = await failure(client.createAnonToken({ applicationSessionId: 'session-7' }));
    expect(error.message).toContain('"tomorrow-ish"');
  });

  it('an application without anonApplicationTokens → CapabilityNotAvailableError, nothing posted', async () => {
    double.serveFixture('application', { fixture: 'Application_NoGetAnonApplicationToken.json' });
    const error = await failure(client.createAnonToken({ applicationSessionId: 'session-8' }));
    expect(error).toBeInstanceOf(CapabilityNotAvailableError);
    expect(error.message).toContain("capability 'anonApplicationTokens' is not available");
    expect(
      double.requests.filter((r) => r.method === 'POST' && r.path !== new URL(double.tokenUrl).pathname),
    ).toEqual([]);
  });
});

describe('conversation actions', () => {
  const T = '/platformservice/tgt-c3/v1/applications/1627259584';
  const E = 'endpointId=sip:helpdesk@contoso.com';
  const at = (path: string, query = E) => `${double.origin}${T}${path}?${query}`;
  const last = (path: string) => double.requests.filter((r) => r.path === `${T}${path}`).at(-1);
  const created = (location?: string) =>
    new Response(null, {
      status: 201,
      headers: { ...(location ? { Location: location } : {}), ...PLATFORM_HEADERS },
    });
  const noContent = () => new Response(null, { status: 204, headers: PLATFORM_HEADERS });

  it('startAdhocMeeting posts subject, operationId and callbackUrl as JSON, operationId as client-request-id', async () => {
    double.on('POST', `${T}/communication/onlineMeetingInvitations/startAdhocMeeting`, () => created());
    await client.startAdhocMeeting(at('/communication/onlineMeetingInvitations/startAdhocMeeting'), {
      subject: 'Order 1234',
      operationId: 'chat-1:adhoc:1',
      callbackUrl: 'https://sa.example/callbacks?callbackContext=chat-1',
    });
    const request = last('/communication/onlineMeetingInvitations/startAdhocMeeting');
    expect(request?.search).toBe(`?${E}`);
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['client-request-id']).toBe('chat-1:adhoc:1');
    expect(request?.headers.authorization).toBe(`Bearer ${double.issuedTokens[0]}`);
    expect(JSON.parse(request?.body ?? '')).toEqual({
      subject: 'Order 1234',
      operationId: 'chat-1:adhoc:1',
      callbackUrl: 'https://sa.example/callbacks?callbackContext=chat-1',
    });
  });

  it('addMessaging posts operationId and callbackContext to the href as given', async () => {
    const query = `conversationId=conf-1&${E}`;
    double.on('POST', `${T}/communication/messagingInvitations`, () => created());
    await client.addMessaging(at('/communication/messagingInvitations', query), {
      operationId: 'chat-1:addMessaging:1',
      callbackContext: 'chat-1',
    });
    const request = last('/communication/messagingInvitations');
    expect(request?.search).toBe(`?${query}`);
    expect(JSON.parse(request?.body ?? '')).toEqual({
      operationId: 'chat-1:addMessaging:1',
      callbackContext: 'chat-1',
    });
  });

  for (const status of [200, 201]) {
    it(`acceptAndBridge accepts ${status} and sends onlineMeetingUri and localUserDisplayName`, async () => {
      double.on('POST', `${T}/communication/messagingInvitations/inv-1/acceptAndBridge`, () =>
        status === 200 ? json(200, {}) : created(),
      );
      await client.acceptAndBridge(at('/communication/messagingInvitations/inv-1/acceptAndBridge'), {
        onlineMeetingUri: 'sip:meet1@contoso.com;gruu;opaque=app:conf:focus:id:X1',
        localUserDisplayName: 'Contoso Help Desk',
      });
      expect(
        JSON.parse(last('/communication/messagingInvitations/inv-1/acceptAndBridge')?.body ?? ''),
      ).toEqual({
        onlineMeetingUri: 'sip:meet1@contoso.com;gruu;opaque=app:conf:focus:id:X1',
        localUserDisplayName: 'Contoso Help Desk',
      });
    });
  }

  it('bridged participants: POST returns the Location, PUT updates, DELETE removes', async () => {
    const collection = '/communication/conversations/p2p-1/conversationBridge/bridgedParticipants';
    const member = `${collection}/alice@contoso.com`;
    double.on('POST', `${T}${collection}`, () => created(`${T}${member}?${E}`));
    double.on('PUT', `${T}${member}`, noContent);
    double.on('DELETE', `${T}${member}`, noContent);
    const input = {
      displayName: 'Alice',
      participantUri: 'sip:alice@contoso.com',
      messageFilterState: 'Disabled' as const,
    };
    const { location } = await client.addBridgedParticipant(at(collection), input);
    expect(location).toBe(`${double.origin}${T}${member}?${E}`);
    expect(JSON.parse(last(collection)?.body ?? '')).toEqual(input);
    await client.updateBridgedParticipant(location ?? '', { ...input, messageFilterState: 'Enabled' });
    expect(JSON.parse(last(member)?.body ?? '')).toMatchObject({ messageFilterState: 'Enabled' });
    await client.removeBridgedParticipant(location ?? '');
    expect(double.requests.filter((r) => r.path === `${T}${member}`).map((r) => r.method)).toEqual([
      'PUT',
      'DELETE',
    ]);
  });

  it('sendMessage posts the raw text as text/plain, adds operationId to the query and returns the absolute Location', async () => {
    const messages = '/communication/conversations/p2p-1/messaging/messages';
    double.on('POST', `${T}${messages}`, () => created(`${T}${messages}/2?${E}`));
    const result = await client.sendMessage(at(messages), {
      text: 'Welcome, ümlaut & co',
      operationId: 'welcome-1',
    });
    expect(result.location).toBe(`${double.origin}${T}${messages}/2?${E}`);
    const request = last(messages);
    expect(request?.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(request?.body).toBe('Welcome, ümlaut & co');
    expect(request?.headers['client-request-id']).toBe('welcome-1');
    const query = new URLSearchParams(request?.search);
    expect(query.get('endpointId')).toBe('sip:helpdesk@contoso.com');
    expect(query.get('operationId')).toBe('welcome-1');
  });

  it('sendMessage sends text/html when asked', async () => {
    const messages = '/communication/conversations/p2p-1/messaging/messages';
    double.on('POST', `${T}${messages}`, () => created(`${double.origin}${T}${messages}/3`));
    await client.sendMessage(at(messages), {
      text: '<p>Hi <b>there</b></p>',
      contentType: 'text/html',
      operationId: 'op-h',
    });
    expect(last(messages)?.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(last(messages)?.body).toBe('<p>Hi <b>there</b></p>');
  });

  it('sendMessage answered without Location → ApiError InvalidResponse (delivery could not be correlated)', async () => {
    const messages = '/communication/conversations/p2p-1/messaging/messages';
    double.on('POST', `${T}${messages}`, () => created());
    const error = await failure(client.sendMessage(at(messages), { text: 'hi', operationId: 'op-x' }));
    expect(error.code).toBe('InvalidResponse');
    expect(error.status).toBe(201);
    expect(error.message).toContain('without a Location header');
  });

  it('addParticipant posts to and operationId (and subject when given)', async () => {
    const query = `${E}&conversationId=conf-1`;
    double.on('POST', `${T}/communication/participantInvitations`, () => created());
    await client.addParticipant(at('/communication/participantInvitations', query), {
      to: 'sip:alice@contoso.com',
      operationId: 'chat-1:agent:alice:1',
    });
    const request = last('/communication/participantInvitations');
    expect(request?.search).toBe(`?${query}`);
    expect(JSON.parse(request?.body ?? '')).toEqual({
      to: 'sip:alice@contoso.com',
      operationId: 'chat-1:agent:alice:1',
    });
  });

  it('typing, eject and terminateOnlineMeeting are empty POSTs answered 204', async () => {
    const paths = [
      '/communication/conversations/conf-1/messaging/typing',
      '/communication/conversations/conf-1/participants/alice@contoso.com/eject',
      '/communication/conversations/conf-1/onlineMeeting/terminateOnlineMeeting',
    ];
    for (const path of paths) double.on('POST', `${T}${path}`, noContent);
    await client.setTyping(at(paths[0] ?? ''));
    await client.ejectParticipant(at(paths[1] ?? ''));
    await client.terminateOnlineMeeting(at(paths[2] ?? ''));
    for (const path of paths) {
      expect(last(path)?.body).toBe('');
      expect(last(path)?.headers['content-type']).toBeUndefined();
    }
  });

  it('decline sends the reason when given and an empty body otherwise', async () => {
    const path = '/communication/messagingInvitations/inv-2/decline';
    double.on('POST', `${T}${path}`, noContent);
    await client.decline(at(path), 'ApplicationInitiatedAction');
    expect(JSON.parse(last(path)?.body ?? '')).toEqual({ reason: 'ApplicationInitiatedAction' });
    await client.decline(at(path));
    expect(last(path)?.body).toBe('');
  });

  describe('deleteConversation', () => {
    const path = '/communication/conversations/conf-1';

    it('succeeds on 204', async () => {
      double.on('DELETE', `${T}${path}`, noContent);
      await expect(client.deleteConversation(at(path))).resolves.toBeUndefined();
      expect(double.count(`${T}${path}`, 'DELETE')).toBe(1);
    });

    it('treats a 404 carrying the platform correlation headers as already deleted', async () => {
      double.on('DELETE', `${T}${path}`, () =>
        json(404, { code: 'NotFound', subcode: 'ConversationNotFound', message: 'gone' }, PLATFORM_HEADERS),
      );
      await expect(client.deleteConversation(at(path))).resolves.toBeUndefined();
    });

    it('keeps a bare 404 without platform headers an error', async () => {
      double.on('DELETE', `${T}${path}`, () => json(404, { code: 'NotFound', message: 'no such path here' }));
      const error = await failure(client.deleteConversation(at(path)));
      expect(error.status).toBe(404);
      expect(error.code).toBe('NotFound');
      expect(error.message).toContain('no such path here');
    });

    it('still reports other failures', async () => {
      double.on('DELETE', `${T}${path}`, () => json(503, { code: 'ServiceUnavailable' }, PLATFORM_HEADERS));
      const error = await failure(client.deleteConversation(at(path)));
      expect(error.status).toBe(503);
      expect(error.retryable).toBe(true);
    });
  });

  describe('307 Temporary Redirect', () => {
    const from = '/communication/participantInvitations';
    const to = '/pool-b/communication/participantInvitations';

    it('is re-issued once to Location with the same method, body and token', async () => {
      double.on(
        'POST',
        `${T}${from}`,
        () => new Response(null, { status: 307, headers: { Location: `${T}${to}?${E}` } }),
      );
      double.on('POST', `${T}${to}`, () => created());
      await client.addParticipant(at(from), { to: 'sip:bob@contoso.com', operationId: 'op-r' });
      const first = last(from);
      const second = last(to);
      expect(second?.method).toBe('POST');
      expect(second?.search).toBe(`?${E}`);
      expect(second?.body).toBe(first?.body);
      expect(second?.headers.authorization).toBe(first?.headers.authorization);
      expect(second?.headers['client-request-id']).toBe('op-r');
      expect(double.count(`${T}${from}`)).toBe(1);
    });

    it('a second 307 → ApiError TooManyRedirects, no third request', async () => {
      double.on(
        'POST',
        `${T}${from}`,
        () => new Response(null, { status: 307, headers: { Location: `${T}${to}` } }),
      );
      double.on(
        'POST',
        `${T}${to}`,
        () => new Response(null, { status: 307, headers: { Location: `${T}${from}` } }),
      );
      const error = await failure(
        client.addParticipant(at(from), { to: 'sip:bob@contoso.com', operationId: 'op-rr' }),
      );
      expect(error.code).toBe('TooManyRedirects');
      expect(error.status).toBe(307);
      expect(error.message).toContain('redirected twice');
      expect(double.count(`${T}${from}`) + double.count(`${T}${to}`)).toBe(2);
    });

    it('a redirect that is not a 307 is not followed', async () => {
      double.on(
        'POST',
        `${T}${from}`,
        () => new Response(null, { status: 302, headers: { Location: `${T}${to}` } }),
      );
      const error = await failure(
        client.addParticipant(at(from), { to: 'sip:bob@contoso.com', operationId: 'op-302' }),
      );
      expect(error.status).toBe(302);
      expect(error.retryable).toBe(false);
      expect(double.count(`${T}${to}`)).toBe(0);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { createPlatformClient } from './client.ts';
import { ApiError } from './errors.ts';
import { hostAllowed } from './http.ts';

describe('platform host allowlist', () => {
  it('matches exact hosts, hosts with ports and subdomain wildcards', () => {
    expect(hostAllowed('https://api.skypeforbusiness.com/x', ['api.skypeforbusiness.com'])).toBe(true);
    expect(hostAllowed('http://127.0.0.1:3001/x', ['127.0.0.1:3001'])).toBe(true);
    expect(hostAllowed('http://127.0.0.1:3002/x', ['127.0.0.1:3001'])).toBe(false);
    expect(hostAllowed('https://webpoolbl20r04.infra.lync.com/p', ['*.lync.com'])).toBe(true);
    expect(hostAllowed('https://lync.com.evil.example/p', ['*.lync.com'])).toBe(false);
    expect(hostAllowed('https://evil.example/p', ['*.lync.com', 'api.skypeforbusiness.com'])).toBe(false);
    expect(hostAllowed('not a url', ['*'])).toBe(false);
  });

  it('refuses an href to a host outside the list without sending anything, as a non-retryable error', async () => {
    let requests = 0;
    const client = createPlatformClient({
      discoverUrl: 'http://127.0.0.1:9/platformservice/discover',
      endpointUri: 'sip:helpdesk@contoso.com',
      auth: {
        tokenUrl: 'http://127.0.0.1:9/t/oauth2/token',
        clientId: 'c',
        clientSecret: 's',
        resource: 'https://r',
      },
      allowedHosts: ['127.0.0.1:9'],
      fetch: (async (input: RequestInfo | URL) => {
        if (String(input).includes('/oauth2/token')) {
          return Response.json({ access_token: 'aad', token_type: 'Bearer', expires_in: 3600 });
        }
        requests++;
        throw new Error('must not be called');
      }) as typeof fetch,
    });
    const error = await client
      .deleteConversation('https://webpool.example/conversations/1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'ForbiddenHost', retryable: false });
    expect((error as ApiError).message).toContain('webpool.example');
    expect(requests).toBe(0);
  });
});

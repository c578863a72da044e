/**
 * The SA's configuration from the environment (`loadSaConfig`): the defaults an in-process emulator
 * supplies, the variables a standalone SA needs, how each setting is read (agents, origins, allowed hosts,
 * the public surface's rate limit and proxy trust), and a message naming the variable and the expected form
 * for every malformed value.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSaConfig } from './config.ts';

const emulator = { emulatorUrl: 'http://127.0.0.1:3001' };

function problems(env: Record<string, string>, defaults?: typeof emulator): string[] {
  try {
    loadSaConfig(env, defaults);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('SA configuration from the environment', () => {
  it('needs nothing when an in-process emulator supplies the defaults', () => {
    const config = loadSaConfig({}, emulator);
    expect(config.api.discoverUrl).toBe('http://127.0.0.1:3001/platformservice/discover');
    expect(config.port).toBe(3000);
    expect(config.callbackAuth.issuers[0]).toMatch(/^https:\/\/sts\.windows\.net\/[0-9a-f-]+\/$/);
    expect(config.agents.length).toBeGreaterThan(0);
    expect(config.api.allowedHosts).toContain('127.0.0.1:3001');
  });

  it('names every missing variable when the SA runs alone', () => {
    const missing = problems({});
    for (const name of [
      'API_DISCOVER_URL',
      'AAD_TOKEN_URL',
      'AAD_CLIENT_ID',
      'AAD_CLIENT_SECRET',
      'ENDPOINT_URI',
      'SA_APP_ID_URI',
    ]) {
      expect(missing.some((p) => p.startsWith(`${name} is required`))).toBe(true);
    }
  });

  it.each([
    ['PORT', 'eighty', /PORT="eighty": expected an integer from 0 to 65535/],
    ['API_DISCOVER_URL', 'ftp://x', /API_DISCOVER_URL="ftp:\/\/x": expected an http\(s\) URL/],
    ['ENDPOINT_URI', 'helpdesk@contoso.com', /ENDPOINT_URI=.*expected a SIP URI/],
    ['CHAT_ALLOWED_ORIGINS', 'https://a.example/path', /CHAT_ALLOWED_ORIGINS: .* is not an origin/],
    ['AGENTS', 'sip:a@b.c', /AGENTS: "sip:a@b.c" is not of the form sip:user@domain=Display Name/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL="loud": expected one of/],
    ['API_ALLOWED_HOSTS', 'https://x.example', /API_ALLOWED_HOSTS: .*expected host\[:port\] or \*\.domain/],
    ['MAX_ATTEMPTS', '0', /MAX_ATTEMPTS="0": expected an integer from 1 to 10/],
    [
      'CHAT_TOKEN_RATE_LIMIT',
      'lots',
      /^CHAT_TOKEN_RATE_LIMIT="lots": expected 'off' or <count>\/<window> like 20\/60s/,
    ],
    ['CHAT_TOKEN_RATE_LIMIT', '0/60s', /^CHAT_TOKEN_RATE_LIMIT="0\/60s": .*the count must be from 1/],
    [
      'CHAT_TOKEN_RATE_LIMIT',
      '10/0s',
      /^CHAT_TOKEN_RATE_LIMIT="10\/0s": .*the window must be from 1ms to 24h/,
    ],
    [
      'TRUST_PROXY',
      'yes',
      /^TRUST_PROXY="yes": expected true, false, or proxy addresses \/ CIDR blocks like 10\.0\.0\.0\/8.*\("yes" is not an IP address or CIDR block\)$/,
    ],
    ['TRUST_PROXY', '10.0.0.0/40', /^TRUST_PROXY="10.0.0.0\/40": .*the prefix length must be from 0 to 32/],
  ])('rejects %s=%s with a message naming the variable and the expected form', (name, value, message) => {
    const found = problems({ [name]: value }, emulator);
    expect(
      found.some((p) => message.test(p)),
      found.join('\n'),
    ).toBe(true);
  });

  it('reads agents, origins and allowed hosts', () => {
    const config = loadSaConfig(
      {
        AGENTS: 'sip:ann@contoso.com=Ann, sip:ben@contoso.com=Ben B',
        CHAT_ALLOWED_ORIGINS: 'https://www.contoso.com,https://shop.contoso.com',
        API_ALLOWED_HOSTS: '*.infra.lync.com',
      },
      emulator,
    );
    expect(config.agents).toEqual([
      { uri: 'sip:ann@contoso.com', name: 'Ann' },
      { uri: 'sip:ben@contoso.com', name: 'Ben B' },
    ]);
    expect(config.allowedOrigins).toEqual(['https://www.contoso.com', 'https://shop.contoso.com']);
    expect(config.api.allowedHosts).toEqual(['*.infra.lync.com', '127.0.0.1:3001', '127.0.0.1:3001']);
  });
});

describe('public surface configuration', () => {
  it('limits POST /chat/token to 120 per 60 s per address by default and does not trust proxies', () => {
    const config = loadSaConfig({}, emulator);
    expect(config.chatTokenRateLimit).toEqual({ limit: 120, windowMs: 60_000 });
    expect(config.trustProxy).toBe(false);
  });

  it('reads CHAT_TOKEN_RATE_LIMIT as count/window, and off as no limit', () => {
    expect(loadSaConfig({ CHAT_TOKEN_RATE_LIMIT: '10/60s' }, emulator).chatTokenRateLimit).toEqual({
      limit: 10,
      windowMs: 60_000,
    });
    expect(loadSaConfig({ CHAT_TOKEN_RATE_LIMIT: '100/1m' }, emulator).chatTokenRateLimit).toEqual({
      limit: 100,
      windowMs: 60_000,
    });
    expect(loadSaConfig({ CHAT_TOKEN_RATE_LIMIT: 'off' }, emulator).chatTokenRateLimit).toBeNull();
  });

  it('reads TRUST_PROXY=true', () => {
    expect(loadSaConfig({ TRUST_PROXY: 'true' }, emulator).trustProxy).toBe(true);
    expect(loadSaConfig({ TRUST_PROXY: 'FALSE' }, emulator).trustProxy).toBe(false);
  });

  it('reads TRUST_PROXY as a list of proxy addresses and CIDR blocks', () => {
    const trust = loadSaConfig({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.7' }, emulator).trustProxy;
    expect(String(trust)).toBe('10.0.0.0/8,192.0.2.7');
    expect(typeof trust === 'object' && trust.has('10.20.30.40')).toBe(true);
  });
});

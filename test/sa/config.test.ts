import { describe, expect, it } from 'vitest';
import { ConfigError, loadSaConfig } from '../../src/runtime/config.ts';

const emulator = { emulatorUrl: 'http://127.0.0.1:3001' };

function problems(env: Record<string, string>): string[] {
  try {
    loadSaConfig(env, emulator);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

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

  it.each([
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
    const found = problems({ [name]: value });
    expect(
      found.some((p) => message.test(p)),
      found.join('\n'),
    ).toBe(true);
  });
});

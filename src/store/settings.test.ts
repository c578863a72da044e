import { describe, expect, it } from 'vitest';
import { jsonText, storableText } from './json.ts';
import { redactUrl, storeSettingsFromEnv } from './settings.ts';

describe('store settings from the environment', () => {
  it('defaults to the embedded store in ./data, 10 s leases and 30 days of retention', () => {
    expect(storeSettingsFromEnv({})).toEqual({
      settings: { dataDir: './data', leaseMs: 10_000, retentionDays: 30 },
      problems: [],
    });
  });

  it('takes DATABASE_URL, DATA_DIR, LEASE_MS and RETENTION_DAYS as given', () => {
    const env = {
      DATABASE_URL: 'postgresql://sa:pw@db.internal:6432/carechat?sslmode=require',
      DATA_DIR: ':memory:',
      LEASE_MS: '5000',
      RETENTION_DAYS: '7',
    };
    expect(storeSettingsFromEnv(env)).toEqual({
      settings: { databaseUrl: env.DATABASE_URL, dataDir: ':memory:', leaseMs: 5000, retentionDays: 7 },
      problems: [],
    });
  });

  it('names each bad setting in one line, never showing a password', () => {
    const { problems } = storeSettingsFromEnv({
      DATABASE_URL: 'mysql://sa:topsecret@db/carechat',
      LEASE_MS: '10s',
      RETENTION_DAYS: '0',
    });
    expect(problems).toEqual([
      'DATABASE_URL="mysql://sa:***@db/carechat": expected a postgres:// or postgresql:// URL, got mysql://…',
      'LEASE_MS="10s": expected an integer from 1000 to 3600000',
      'RETENTION_DAYS="0": expected an integer from 1 to 36500',
    ]);
    expect(storeSettingsFromEnv({ DATABASE_URL: 'user:topsecret@db:5432' }).problems).toEqual([
      'DATABASE_URL="user:***@db:5432": expected a URL like postgres://user:password@host:5432/database',
    ]);
  });

  it('redacts passwords in the userinfo and in the query', () => {
    expect(redactUrl('postgres://a:b@h/d?password=c')).toBe('postgres://a:***@h/d?password=***');
    expect(redactUrl('postgres://a@h/d')).toBe('postgres://a@h/d');
  });
});

describe('text on its way into PostgreSQL', () => {
  it('replaces U+0000 and lone surrogates with U+FFFD and keeps everything else', () => {
    expect(storableText('a\u0000b\ud800c\udc00d😀e')).toBe('a\uFFFDb\uFFFDc\uFFFDd😀e');
  });

  it('fixes only real escapes in JSON text, not escaped backslashes that look like them', () => {
    const value = { a: 'x\u0000y', b: '\\u0000', c: '\\\u0000', d: '\ud83d', e: '😀', f: '\\ud800' };
    expect(JSON.parse(jsonText(value, 'v'))).toEqual({
      a: 'x\uFFFDy',
      b: '\\u0000',
      c: '\\\uFFFD',
      d: '\uFFFD',
      e: '😀',
      f: '\\ud800',
    });
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => jsonText({ n: 1n }, 'the snapshot')).toThrow(/^the snapshot is not JSON-serialisable/);
    expect(() => jsonText(undefined, 'the payload')).toThrow(
      /the payload is not JSON-serialisable: got undefined/,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jsonText(cyclic, 'the context')).toThrow(/the context is not JSON-serialisable/);
  });
});

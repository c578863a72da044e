/**
 * Token checks remember a token whose signature was verified, but never its validity: the same token is
 * refused once it has expired, and a token signed with one key is not taken for the other.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Auth } from './auth.ts';
import { defaultEmulatorConfig } from './config.ts';

afterEach(() => vi.useRealTimers());

describe('emulator token checks', () => {
  it('accepts a token again while it is valid and refuses the same token once it has expired', async () => {
    const config = { ...defaultEmulatorConfig(), aadTokenLifetimeSec: 60 };
    const auth = new Auth(config);
    const app = config.applications[0]!;
    const resource = config.acceptedAudiences[0]!;
    const { token } = await auth.issueAadToken(app, resource);
    const header = `Bearer ${token}`;
    await expect(auth.verifyAad(header, 'http://emulator')).resolves.toMatchObject({ tid: app.tenantId });
    await expect(auth.verifyAad(header, 'http://emulator')).resolves.toMatchObject({ tid: app.tenantId });
    vi.useFakeTimers({ now: Date.now() + 120_000, toFake: ['Date'] });
    await expect(auth.verifyAad(header, 'http://emulator')).rejects.toMatchObject({ status: 401 });
    await expect(auth.verifyAad(header, 'http://emulator')).rejects.toThrow(/expired/);
  });

  it('does not take an AAD token it verified for a psat token', async () => {
    const config = defaultEmulatorConfig();
    const auth = new Auth(config);
    const { token } = await auth.issueAadToken(config.applications[0]!, config.acceptedAudiences[0]!);
    await auth.verifyAad(`Bearer ${token}`, 'http://emulator');
    await expect(auth.verifyPsat(`psat=${token}`)).rejects.toThrow(/not a valid/);
  });
});

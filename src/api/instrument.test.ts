import { describe, expect, it } from 'vitest';
import type { PlatformClient } from './client.ts';
import { ApiError } from './errors.ts';
import { instrumentClient } from './instrument.ts';

describe('instrumentClient', () => {
  it('reports each call by method name: ok, the HTTP status, or the failure kind', async () => {
    const reports: Array<{ operation: string; status: string }> = [];
    const fake = {
      setTyping: async () => undefined,
      decline: async () => {
        throw new ApiError({
          kind: 'http',
          status: 409,
          code: 'Conflict',
          message: 'no',
          url: 'u',
          method: 'POST',
        });
      },
      ejectParticipant: async () => {
        throw new ApiError({
          kind: 'timeout',
          status: 0,
          code: 'Timeout',
          message: 'slow',
          url: 'u',
          method: 'DELETE',
        });
      },
    } as unknown as PlatformClient;
    const client = instrumentClient(fake, ({ operation, status, seconds }) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      reports.push({ operation, status });
    });
    await client.setTyping('h');
    await expect(client.decline('h')).rejects.toBeInstanceOf(ApiError);
    await expect(client.ejectParticipant('h')).rejects.toMatchObject({ kind: 'timeout' });
    expect(reports).toEqual([
      { operation: 'setTyping', status: 'ok' },
      { operation: 'decline', status: '409' },
      { operation: 'ejectParticipant', status: 'timeout' },
    ]);
  });
});

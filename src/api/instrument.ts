/**
 * A platform client that reports every call: the operation (the client method's name), how it ended
 * (`ok`, the HTTP status of an ApiError, or `timeout` / `network` / `error`) and how long it took. The
 * stack wiring turns the reports into metrics; the client itself stays free of them.
 */
import type { PlatformClient } from './client.ts';
import { isApiError } from './errors.ts';

export type ApiRequestObserver = (report: { operation: string; status: string; seconds: number }) => void;

/** How a failed call is labelled: the HTTP status when the platform answered, else the failure's kind. */
export function apiStatusOf(error: unknown): string {
  if (!isApiError(error)) return 'error';
  return error.kind === 'http' && error.status > 0 ? String(error.status) : error.kind;
}

export function instrumentClient(client: PlatformClient, observe: ApiRequestObserver): PlatformClient {
  const wrapped = {} as Record<string, unknown>;
  for (const [operation, method] of Object.entries(client)) {
    if (typeof method !== 'function') {
      wrapped[operation] = method;
      continue;
    }
    wrapped[operation] = async (...args: unknown[]) => {
      const started = performance.now();
      const report = (status: string) => {
        try {
          observe({ operation, status, seconds: (performance.now() - started) / 1000 });
        } catch {
          // An observer never breaks a platform call.
        }
      };
      try {
        const result = await (method as (...a: unknown[]) => Promise<unknown>).apply(client, args);
        report('ok');
        return result;
      } catch (error) {
        report(apiStatusOf(error));
        throw error;
      }
    };
  }
  return wrapped as unknown as PlatformClient;
}

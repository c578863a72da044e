import { expect } from 'vitest';

/**
 * The one way tests wait for something that happens across HTTP or processes: poll `read` until
 * `check` stops throwing. No fixed sleeps anywhere else.
 */
export async function eventually<T>(
  read: () => T | Promise<T>,
  check: (value: T) => void,
  { timeout = 5_000, interval = 10 }: { timeout?: number; interval?: number } = {},
): Promise<T> {
  let last: T | undefined;
  await expect
    .poll(
      async () => {
        last = await read();
        check(last);
        return true;
      },
      { timeout, interval },
    )
    .toBe(true);
  return last as T;
}

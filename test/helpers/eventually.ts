/**
 * The one way tests wait for something that happens across HTTP or processes: poll `read` until
 * `check` stops throwing, then return the value read. No fixed sleeps anywhere else. Works in hooks
 * as well as in tests; on timeout it throws the check's last error.
 */
export async function eventually<T>(
  read: () => T | Promise<T>,
  check: (value: T) => void,
  { timeout = 5_000, interval = 10 }: { timeout?: number; interval?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    let value: T;
    try {
      value = await read();
      check(value);
      return value;
    } catch (error) {
      if (Date.now() >= deadline) {
        if (error instanceof Error) error.message = `still failing after ${timeout} ms: ${error.message}`;
        throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

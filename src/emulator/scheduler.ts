import type { Logger } from 'pino';

/**
 * Every timer the emulator starts goes through here, so `close()` can stop them all and a throwing
 * callback is logged instead of crashing the process.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly logger: Logger) {}

  after(ms: number, task: () => void | Promise<void>): () => void {
    if (this.closed) return () => {};
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (this.closed) return;
        this.run(task);
      },
      Math.max(0, ms),
    );
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  every(ms: number, task: () => void | Promise<void>): () => void {
    if (this.closed) return () => {};
    const timer = setInterval(() => this.run(task), ms);
    this.timers.add(timer);
    return () => {
      clearInterval(timer);
      this.timers.delete(timer);
    };
  }

  /** Run `task` soon (after the current response has been written), errors logged. */
  soon(task: () => void | Promise<void>): void {
    this.after(0, task);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private run(task: () => void | Promise<void>): void {
    try {
      const result = task();
      if (result && typeof result.then === 'function') {
        result.then(undefined, (error: unknown) => this.logger.error({ err: error }, 'emulator task failed'));
      }
    } catch (error) {
      this.logger.error({ err: error }, 'emulator task failed');
    }
  }
}

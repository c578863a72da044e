/**
 * Time for the runtime: what the machines' deadlines are measured in, and how due deadlines fire.
 * Tests use ManualClock and move time by hand; nothing waits for real time there.
 */
export interface Clock {
  now(): number;
  /** Call `fn` once at `at` (epoch ms) or as soon as possible after; returns a cancel function. */
  at(at: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    // setTimeout caps at ~24.8 days; deadlines here are seconds to minutes.
    const timer = setTimeout(fn, Math.max(0, at - Date.now()));
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};

export class ManualClock implements Clock {
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;

  constructor(private time = 1_700_000_000_000) {}

  now(): number {
    return this.time;
  }

  at(at: number, fn: () => void): () => void {
    const id = ++this.seq;
    this.timers.set(id, { at, fn });
    return () => this.timers.delete(id);
  }

  /** Move time forward, firing every timer that falls due, in deadline order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= target)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = Math.max(this.time, due[1].at);
      due[1].fn();
    }
    this.time = target;
  }

  pending(): number {
    return this.timers.size;
  }
}

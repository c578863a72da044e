/**
 * The SA's clock in model-based tests: the runtime's ManualClock, plus a guard against a deadline that
 * keeps firing. The SessionManager re-arms every deadline still set in a session's context; a deadline
 * whose firing does not clear it is re-armed at the same (past) instant and fires again — with the
 * ManualClock inside the same `advance()`, forever. The guard turns that into an error that names the
 * instant, so the test fails instead of hanging.
 */
import { ManualClock } from '../../src/runtime/clock.ts';

/** More firings than this at one instant within one `advance()` is a storm. */
export const STORM_LIMIT = 25;

export class TimerStormError extends Error {
  override readonly name = 'TimerStormError';
}

export class ModelClock extends ManualClock {
  private firings = new Map<number, number>();

  override at(at: number, fn: () => void): () => void {
    return super.at(at, () => {
      const count = (this.firings.get(at) ?? 0) + 1;
      this.firings.set(at, count);
      if (count > STORM_LIMIT) {
        throw new TimerStormError(
          `a deadline at ${new Date(at).toISOString()} fired ${count} times within one clock move: ` +
            'its firing does not clear it, so it is re-armed and fires again (the machine must clear a deadline when it fires)',
        );
      }
      fn();
    });
  }

  override advance(ms: number): void {
    this.firings = new Map();
    super.advance(ms);
  }
}

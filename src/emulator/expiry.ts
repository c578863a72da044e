/**
 * The platform ends an anonymous application whose event channel nobody polls any more: a customer
 * whose page was closed, or whose network went away, without leaving the chat (wire-spec 5.3: the
 * channel then answers 404 ApplicationNotFound; the platform's subcode for it is
 * InactiveApplicationExpired). After `anonymousIdleTimeoutMs` with no GET on its event channel (and
 * none held open), the application is deleted as if the guest had gone without a word: the SA gets the
 * callbacks it gets when a guest leaves (the customer's messaging Disconnected, the guest removed, the
 * customer's conversation deleted), and the guest's later requests find nothing (404).
 *
 * Self-contained: the UCWA routes report the application's creation and each poll; a sweep on the
 * emulator's scheduler expires the idle ones.
 */
import type { Logger } from 'pino';
import type { Scheduler } from './scheduler.ts';
import type { AnonApp, World } from './world/index.ts';

interface Activity {
  /** When the application was created or its event channel was last polled (a poll's start or end). */
  last: number;
  /** Polls held open right now: an application being polled is never idle. */
  polling: number;
}

export class AnonymousExpiry {
  private readonly activity = new WeakMap<AnonApp, Activity>();
  private stop: (() => void) | undefined;

  constructor(
    private readonly deps: {
      world: World;
      scheduler: Scheduler;
      logger: Logger;
      /** 0 = applications never expire. */
      idleMs: number;
      now?: () => number;
    },
  ) {}

  /** Start sweeping (often enough to expire an application within a quarter of the timeout, at most 5 s late). */
  start(): void {
    if (this.deps.idleMs <= 0 || this.stop) return;
    const every = Math.min(5_000, Math.max(50, Math.floor(this.deps.idleMs / 4)));
    this.stop = this.deps.scheduler.every(every, () => {
      this.sweep();
    });
  }

  close(): void {
    this.stop?.();
    this.stop = undefined;
  }

  /** A new application: idle from now until its channel is polled. */
  created(anon: AnonApp): void {
    this.activity.set(anon, { last: this.now(), polling: 0 });
  }

  pollStarted(anon: AnonApp): void {
    const activity = this.of(anon);
    activity.polling += 1;
    activity.last = this.now();
  }

  pollEnded(anon: AnonApp): void {
    const activity = this.of(anon);
    activity.polling = Math.max(0, activity.polling - 1);
    activity.last = this.now();
  }

  /** Expire every application idle for longer than the timeout; returns how many. */
  sweep(): number {
    if (this.deps.idleMs <= 0) return 0;
    const now = this.now();
    let expired = 0;
    for (const anon of [...this.deps.world.anonApps.values()]) {
      const activity = this.of(anon);
      if (activity.polling > 0 || now - activity.last < this.deps.idleMs) continue;
      this.deps.logger.info(
        { application: anon.id, idleMs: now - activity.last, conversations: anon.conversationIds.size },
        'anonymous application expired: its event channel was not polled',
      );
      this.deps.world.deleteAnonApp(anon);
      expired += 1;
    }
    return expired;
  }

  private of(anon: AnonApp): Activity {
    let activity = this.activity.get(anon);
    if (!activity) {
      activity = { last: this.now(), polling: 0 };
      this.activity.set(anon, activity);
    }
    return activity;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }
}

import type { WireSender } from './wire.ts';

export interface ChannelBody {
  _links: Record<string, { href: string }>;
  sender: WireSender[];
}

export type PollResult = { kind: 'body'; body: ChannelBody } | { kind: 'replaced' } | { kind: 'closed' };

interface Waiter {
  ack: number;
  resolve: (result: PollResult) => void;
  cancelTimer: () => void;
}

/**
 * The anonymous application's event channel (wire-spec 5.3): events accumulate; `GET events?ack=N`
 * returns batch N (built from what accumulated, or held until something does or the timeout elapses),
 * `next` points at ack=N+1. A batch is kept until a GET with a higher ack acknowledges it, so a lost
 * response is simply fetched again. A second concurrent GET replaces the first (409 PGetReplaced).
 */
export class EventChannel {
  private pending: WireSender[] = [];
  private readonly batches = new Map<number, ChannelBody>();
  private lastIssued = 0;
  private waiter: Waiter | undefined;
  private closed = false;

  constructor(
    private readonly eventsHref: (ack: number) => string,
    private readonly schedule: (ms: number, task: () => void) => () => void,
  ) {}

  /** Append events; consecutive events of the same sender are merged into one sender entry. */
  push(senders: WireSender[]): void {
    if (this.closed) return;
    for (const sender of senders) {
      const last = this.pending[this.pending.length - 1];
      if (last && last.rel === sender.rel && last.href === sender.href) last.events.push(...sender.events);
      else this.pending.push({ ...sender, events: [...sender.events] });
    }
    const waiter = this.waiter;
    if (waiter && this.pending.length > 0) {
      this.waiter = undefined;
      waiter.cancelTimer();
      waiter.resolve({ kind: 'body', body: this.issue(waiter.ack) });
    }
  }

  /** Handle `GET events?ack=N`, holding at most `timeoutMs`. */
  poll(ack: number, timeoutMs: number): Promise<PollResult> {
    if (this.closed) return Promise.resolve({ kind: 'closed' });
    if (this.waiter) {
      const old = this.waiter;
      this.waiter = undefined;
      old.cancelTimer();
      old.resolve({ kind: 'replaced' });
    }
    for (const n of [...this.batches.keys()]) if (n < ack) this.batches.delete(n);
    const kept = this.batches.get(ack);
    if (kept) return Promise.resolve({ kind: 'body', body: kept });
    if (ack !== this.lastIssued + 1) {
      return Promise.resolve({ kind: 'body', body: this.resync() });
    }
    if (this.pending.length > 0) return Promise.resolve({ kind: 'body', body: this.issue(ack) });
    return new Promise((resolve) => {
      const waiter: Waiter = { ack, resolve, cancelTimer: () => {} };
      waiter.cancelTimer = this.schedule(timeoutMs, () => {
        if (this.waiter !== waiter) return;
        this.waiter = undefined;
        resolve({ kind: 'body', body: this.empty(ack) });
      });
      this.waiter = waiter;
    });
  }

  /** The client went away: forget its waiter (the batch, if one was built, stays for the retry). */
  abandon(ack: number): void {
    if (this.waiter?.ack === ack) {
      this.waiter.cancelTimer();
      this.waiter = undefined;
    }
  }

  close(): void {
    this.closed = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.cancelTimer();
    waiter?.resolve({ kind: 'closed' });
  }

  private issue(ack: number): ChannelBody {
    const body: ChannelBody = {
      _links: { self: { href: this.eventsHref(ack) }, next: { href: this.eventsHref(ack + 1) } },
      sender: this.pending,
    };
    this.pending = [];
    this.lastIssued = ack;
    this.batches.set(ack, body);
    return body;
  }

  private empty(ack: number): ChannelBody {
    return {
      _links: { self: { href: this.eventsHref(ack) }, next: { href: this.eventsHref(ack) } },
      sender: [],
    };
  }

  private resync(): ChannelBody {
    const ack = this.lastIssued + 1;
    return {
      _links: { self: { href: this.eventsHref(ack) }, resync: { href: this.eventsHref(ack) } },
      sender: [],
    };
  }
}

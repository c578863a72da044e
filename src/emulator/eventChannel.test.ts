import { describe, expect, it } from 'vitest';
import { EventChannel } from './eventChannel.ts';

function channel() {
  const timers: Array<() => void> = [];
  const ch = new EventChannel(
    (ack) => `/events?ack=${ack}&key=k`,
    (_ms, task) => {
      timers.push(task);
      return () => {
        const i = timers.indexOf(task);
        if (i >= 0) timers.splice(i, 1);
      };
    },
  );
  return {
    ch,
    expire: () => {
      for (const task of timers.splice(0)) task();
    },
  };
}

const sender = (n: number) => ({
  rel: 'conversation',
  href: '/c',
  events: [{ link: { rel: 'message', href: `/m/${n}` }, type: 'completed' as const }],
});

describe('the anonymous event channel', () => {
  it('returns what accumulated, with next = ack + 1, merging consecutive events of one sender', async () => {
    const { ch } = channel();
    ch.push([sender(1)]);
    ch.push([sender(2)]);
    const result = await ch.poll(1, 1000);
    expect(result.kind).toBe('body');
    if (result.kind !== 'body') return;
    expect(result.body._links).toEqual({
      self: { href: '/events?ack=1&key=k' },
      next: { href: '/events?ack=2&key=k' },
    });
    expect(result.body.sender).toHaveLength(1);
    expect(result.body.sender[0]?.events.map((e) => e.link.href)).toEqual(['/m/1', '/m/2']);
  });

  it('holds a poll until an event arrives', async () => {
    const { ch } = channel();
    const pending = ch.poll(1, 1000);
    ch.push([sender(1)]);
    const result = await pending;
    expect(result.kind === 'body' && result.body.sender[0]?.events[0]?.link.href).toBe('/m/1');
  });

  it('answers an empty batch with the same ack when the hold times out', async () => {
    const { ch, expire } = channel();
    const pending = ch.poll(1, 1000);
    expire();
    const result = await pending;
    expect(result.kind === 'body' && result.body).toEqual({
      _links: { self: { href: '/events?ack=1&key=k' }, next: { href: '/events?ack=1&key=k' } },
      sender: [],
    });
  });

  it('sends a batch again when the same ack is polled again (a lost answer), and drops it once acknowledged', async () => {
    const { ch } = channel();
    ch.push([sender(1)]);
    const first = await ch.poll(1, 1000);
    const again = await ch.poll(1, 1000);
    expect(again).toEqual(first);
    ch.push([sender(2)]);
    const second = await ch.poll(2, 1000);
    expect(second.kind === 'body' && second.body.sender[0]?.events[0]?.link.href).toBe('/m/2');
    const stale = await ch.poll(1, 1000);
    expect(stale.kind === 'body' && stale.body._links.resync).toEqual({ href: '/events?ack=3&key=k' });
  });

  it('answers an ack out of range with a resync link', async () => {
    const { ch } = channel();
    const result = await ch.poll(7, 1000);
    expect(result.kind === 'body' && result.body._links).toEqual({
      self: { href: '/events?ack=1&key=k' },
      resync: { href: '/events?ack=1&key=k' },
    });
  });

  it('replaces an older concurrent poll (PGetReplaced) and ends polls on close', async () => {
    const { ch } = channel();
    const older = ch.poll(1, 1000);
    const newer = ch.poll(1, 1000);
    expect(await older).toEqual({ kind: 'replaced' });
    ch.close();
    expect(await newer).toEqual({ kind: 'closed' });
  });
});

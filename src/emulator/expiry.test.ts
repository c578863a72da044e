import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AnonymousExpiry } from './expiry.ts';
import type { Scheduler } from './scheduler.ts';
import type { AnonApp, World } from './world/index.ts';

/** Applications the fake world holds, and the ones it was told to delete. */
function fakeWorld() {
  const anonApps = new Map<string, AnonApp>();
  const deleted: string[] = [];
  const world = {
    anonApps,
    deleteAnonApp(anon: AnonApp) {
      deleted.push(anon.id);
      anonApps.delete(anon.id);
    },
  } as unknown as World;
  const add = (id: string) => {
    const anon = { id, conversationIds: new Set<string>() } as unknown as AnonApp;
    anonApps.set(id, anon);
    return anon;
  };
  return { world, deleted, add };
}

function expiry(idleMs: number) {
  let time = 0;
  const { world, deleted, add } = fakeWorld();
  const sweeps: Array<() => void> = [];
  const scheduler = {
    every: (_ms: number, task: () => void) => {
      sweeps.push(task);
      return () => undefined;
    },
  } as unknown as Scheduler;
  const subject = new AnonymousExpiry({
    world,
    scheduler,
    logger: pino({ level: 'silent' }),
    idleMs,
    now: () => time,
  });
  return {
    subject,
    deleted,
    add,
    advance: (ms: number) => {
      time += ms;
    },
    sweeps,
  };
}

describe('anonymous application expiry', () => {
  it('expires an application whose event channel is not polled for the idle timeout, and only then', () => {
    const { subject, deleted, add, advance } = expiry(1_000);
    const anon = add('a1');
    subject.created(anon);
    advance(999);
    expect(subject.sweep()).toBe(0);
    advance(1);
    expect(subject.sweep()).toBe(1);
    expect(deleted).toEqual(['a1']);
  });

  it('never expires an application while a poll is held open, and counts idleness from the poll’s end', () => {
    const { subject, deleted, add, advance } = expiry(1_000);
    const anon = add('a1');
    subject.created(anon);
    subject.pollStarted(anon);
    advance(10_000);
    expect(subject.sweep()).toBe(0);
    subject.pollEnded(anon);
    advance(999);
    expect(subject.sweep()).toBe(0);
    subject.pollStarted(anon);
    subject.pollEnded(anon);
    advance(999);
    expect(subject.sweep()).toBe(0);
    advance(1);
    expect(subject.sweep()).toBe(1);
    expect(deleted).toEqual(['a1']);
  });

  it('keeps applications apart, and with a timeout of 0 expires none and does not sweep', () => {
    const { subject, deleted, add, advance } = expiry(1_000);
    const idle = add('idle');
    const busy = add('busy');
    subject.created(idle);
    subject.created(busy);
    subject.pollStarted(busy);
    advance(5_000);
    expect(subject.sweep()).toBe(1);
    expect(deleted).toEqual(['idle']);

    const off = expiry(0);
    const anon = off.add('a1');
    off.subject.created(anon);
    off.subject.start();
    off.advance(1_000_000);
    expect(off.subject.sweep()).toBe(0);
    expect(off.sweeps).toEqual([]);
  });
});

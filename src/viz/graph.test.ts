import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import {
  defectiveMachine,
  historyMachine,
  orderMachine,
  parallelMachine,
  transientMachine,
} from '../../test/helpers/sampleMachines.ts';
import { activeStateIds, checkLiveness, machineGraph, UnknownStateError } from './graph.ts';

function edgesOf(machine: Parameters<typeof machineGraph>[0]) {
  return machineGraph(machine).edges.map((e) => ({
    from: e.source,
    to: e.target,
    label: e.label,
    kind: e.kind,
    ...(e.guard ? { guard: e.guard } : {}),
  }));
}

describe('machineGraph', () => {
  it('lists every state node except the root, in document order, with its type and parent', () => {
    const graph = machineGraph(orderMachine);
    expect(graph.id).toBe('order');
    expect(graph.initial).toEqual(['order.reserving']);
    expect(graph.nodes.map((n) => [n.id, n.type, n.parent ?? null])).toEqual([
      ['order.reserving', 'atomic', null],
      ['order.checking', 'atomic', null],
      ['order.awaitingPayment', 'atomic', null],
      ['order.shipping', 'compound', null],
      ['order.shipping.packing', 'atomic', 'order.shipping'],
      ['order.shipping.sent', 'final', 'order.shipping'],
      ['order.delivered', 'final', null],
      ['order.cancelled', 'final', null],
      ['order.failed', 'final', null],
    ]);
    expect(graph.nodes.find((n) => n.id === 'order.shipping')?.initial).toEqual(['order.shipping.packing']);
  });

  it('reads events, invoke onDone/onError, always, after, guards and a compound onDone as edges', () => {
    expect(edgesOf(orderMachine)).toEqual([
      { from: 'order.reserving', to: 'order.cancelled', label: 'order.cancel', kind: 'event' },
      { from: 'order.reserving', to: 'order.checking', label: 'done(reserveStock)', kind: 'invoke.done' },
      { from: 'order.reserving', to: 'order.failed', label: 'error(reserveStock)', kind: 'invoke.error' },
      { from: 'order.checking', to: 'order.shipping', label: 'always', kind: 'always', guard: 'isPaid' },
      { from: 'order.checking', to: 'order.awaitingPayment', label: 'always', kind: 'always' },
      {
        from: 'order.awaitingPayment',
        to: 'order.shipping',
        label: 'payment.confirmed',
        kind: 'event',
        guard: 'and(isPaid, !isVip)',
      },
      { from: 'order.awaitingPayment', to: 'order.shipping', label: 'payment.confirmed', kind: 'event' },
      { from: 'order.awaitingPayment', to: 'order.cancelled', label: 'after 30s', kind: 'after' },
      { from: 'order.shipping', to: 'order.delivered', label: 'done', kind: 'state.done' },
      { from: 'order.shipping.packing', to: 'order.shipping.sent', label: 'after PT1H', kind: 'after' },
    ]);
  });

  it('gives a parallel state its regions and a transition to a history state its history node', () => {
    const para = machineGraph(parallelMachine);
    expect(para.nodes.find((n) => n.id === 'para.work')).toMatchObject({
      type: 'parallel',
      children: ['para.work.upload', 'para.work.scan'],
    });
    const hist = machineGraph(historyMachine);
    expect(hist.nodes.find((n) => n.id === 'hist.editing.last')).toMatchObject({
      type: 'history',
      history: 'shallow',
    });
    expect(hist.edges).toContainEqual(
      expect.objectContaining({ source: 'hist.paused', target: 'hist.editing.last', label: 'resume' }),
    );
  });

  it('names inline guards "inline" and leaves targetless transitions out', () => {
    const machine = createMachine({
      id: 'm',
      initial: 'a',
      states: {
        a: { on: { go: { guard: () => true, target: 'b' }, ping: { actions: () => {} } } },
        b: { type: 'final' },
      },
    });
    expect(edgesOf(machine)).toEqual([
      { from: 'm.a', to: 'm.b', label: 'go', kind: 'event', guard: 'inline' },
    ]);
  });
});

describe('checkLiveness', () => {
  it('reports nothing for machines whose every state is reachable and can finish', () => {
    for (const machine of [orderMachine, parallelMachine, historyMachine]) {
      expect(checkLiveness(machine), machine.id).toEqual({ unreachable: [], stuck: [] });
    }
  });

  it('reports a state no transition enters as unreachable and a state with no way out as stuck', () => {
    expect(checkLiveness(defectiveMachine)).toEqual({
      unreachable: ['defective.orphan'],
      stuck: ['defective.trap'],
    });
  });

  it('treats a state with an unguarded always transition as transient: its events can never arrive', () => {
    expect(checkLiveness(transientMachine).unreachable).toEqual(['transient.unreachableByEvent']);
  });

  it('counts a guarded transition as possible, so a state reached only through a guard is reachable', () => {
    const machine = createMachine({
      id: 'g',
      initial: 'a',
      states: {
        a: { always: [{ guard: () => false, target: 'b' }, { target: 'c' }] },
        b: { on: { done: 'c' } },
        c: { type: 'final' },
      },
    });
    expect(checkLiveness(machine)).toEqual({ unreachable: [], stuck: [] });
  });

  it("lets a parallel state's onDone fire only once every region has reached its final state", () => {
    const machine = createMachine({
      id: 'p',
      initial: 'work',
      states: {
        work: {
          type: 'parallel',
          states: {
            one: { initial: 'a', states: { a: { on: { finish: 'done' } }, done: { type: 'final' } } },
            // This region never finishes, so `work` never does.
            two: { initial: 'a', states: { a: {}, done: { type: 'final' } } },
          },
          onDone: 'end',
        },
        end: { type: 'final' },
      },
    });
    const report = checkLiveness(machine);
    expect(report.unreachable).toEqual(['p.work.two.done', 'p.end']);
    expect(report.stuck).toEqual([
      'p.work',
      'p.work.one',
      'p.work.one.a',
      'p.work.one.done',
      'p.work.two',
      'p.work.two.a',
    ]);
  });

  it('with finalStates, requires every state to reach one of the named ends (ids or paths)', () => {
    const machine = createMachine({
      id: 'f',
      initial: 'a',
      states: {
        a: { on: { ok: 'terminated', crash: 'crashed' } },
        crashed: { type: 'final' },
        terminated: { type: 'final' },
      },
    });
    expect(checkLiveness(machine).stuck).toEqual([]);
    expect(checkLiveness(machine, { finalStates: ['terminated'] }).stuck).toEqual(['f.crashed']);
    expect(checkLiveness(machine, { finalStates: ['f.terminated', 'crashed'] }).stuck).toEqual([]);
  });

  it('rejects a finalStates entry the machine does not have, naming it', () => {
    expect(() => checkLiveness(orderMachine, { finalStates: ['terminated'] })).toThrow(UnknownStateError);
    expect(() => checkLiveness(orderMachine, { finalStates: ['terminated'] })).toThrow(
      /no state 'terminated'/,
    );
  });

  it('stops with a clear error instead of exploring an unbounded configuration space', () => {
    expect(() => checkLiveness(parallelMachine, { maxConfigurations: 2 })).toThrow(
      /more than 2 configurations/,
    );
  });
});

describe('activeStateIds', () => {
  it('turns a state value into the ids of every active state, ancestors included', () => {
    expect(activeStateIds(orderMachine, { shipping: 'packing' })).toEqual([
      'order.shipping',
      'order.shipping.packing',
    ]);
    expect(activeStateIds(parallelMachine, { work: { upload: 'done', scan: 'pending' } })).toEqual([
      'para.work',
      'para.work.upload',
      'para.work.upload.done',
      'para.work.scan',
      'para.work.scan.pending',
    ]);
  });

  it('rejects a state value naming a state the machine does not have', () => {
    expect(() => activeStateIds(orderMachine, { shipping: 'flying' })).toThrow(
      "machine 'order': state 'order.shipping' has no child 'flying'",
    );
  });
});

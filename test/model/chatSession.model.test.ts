/**
 * Model-based tests of the chat session (see README.md, "Model-based tests"): paths of the abstract model
 * (test/model/chatModel.ts) driven against the real SA + emulator over HTTP, a few against the real
 * machines with fake effects where nothing outside the SA can cause a step, and a final check that
 * together they visited every state and took every transition of the real machines (the chat session
 * and its agent offer).
 */
import { describe, expect, it, vi } from 'vitest';
import { agentOfferMachine } from '../../machines/agentOffer.ts';
import { chatSessionMachine } from '../../machines/chatSession/index.ts';
import { machineGraph } from '../../src/viz/graph.ts';
import { CHAT_MODEL_ID } from './chatModel.ts';
import { CoverageRecorder, edgeKey } from './coverage.ts';
import { modelLeafIds, type PathDriver } from './driver.ts';
import { HttpDriver } from './httpDriver.ts';
import { MachineDriver } from './machineDriver.ts';
import {
  CHAT_PATHS,
  chatTestModel,
  modelAdjacency,
  modelTransitions,
  serializeSnapshot,
  transitionKey,
} from './paths.ts';
import { atomicIdsOf, leafOf, realStateOf } from './steps.ts';

// Every actor the runtime creates gets an inspection observer from its first microstep on (inspection.ts).
vi.mock('xstate', async (importOriginal) => {
  const xstate = await importOriginal<typeof import('xstate')>();
  const { withInspection } = await import('./inspection.ts');
  return {
    ...xstate,
    createActor: ((logic: unknown, options?: { id?: string }) =>
      (xstate.createActor as (l: unknown, o?: unknown) => unknown)(
        logic,
        withInspection(options),
      )) as typeof xstate.createActor,
  };
});

/** Pinned: a change to the model or to the path selection shows up here. */
const EXPECTED = { paths: 113, overHttp: 104, againstMachine: 9 };

/**
 * Transitions of the real machines that nothing outside the SA can cause, and why; the paths against the
 * machines with fake effects take them (the coverage line counts those separately). Keep this list minimal.
 */
const NOT_OVER_HTTP: Record<string, string> = {
  [edgeKey({
    source: 'chatSession.adhocMeeting',
    event: 'callback.invitationCompleted',
    guard: 'inline',
    target: 'chatSession.failed',
  })]: 'the emulator never completes an onlineMeetingInvitation with Failure',
  [edgeKey({
    source: 'chatSession.bridged.awaitingDelivery',
    event: 'callback.messageCompleted',
    guard: 'inline',
    target: 'chatSession.failed',
  })]: "the emulator always completes the SA's messages with Success",
  [edgeKey({
    source: 'chatSession.welcomed.queued',
    event: 'routing.unavailable',
    target: 'chatSession.failed',
  })]: 'the router answers routing.unavailable only to a request, and a queued chat makes none',
  [edgeKey({
    source: 'chatSession.welcomed.queued.waiting',
    event: 'queue.update',
    target: 'chatSession.welcomed.queued.informing',
  })]: 'the router sends a queue position only when asked, and a waiting chat has not asked',
  [edgeKey({
    source: 'chatSession.welcomed.offering',
    event: 'xstate.error.actor.offer',
    target: 'chatSession.welcomed.routing',
  })]: 'the agent offer handles the errors of all its steps: nothing from outside makes the actor fail',
  [edgeKey({
    source: 'chatSession.agentsJoined.staffing.offering',
    event: 'xstate.error.actor.staffOffer',
    target: 'chatSession.agentsJoined.staffing.steady',
  })]: 'the agent offer handles the errors of all its steps: nothing from outside makes the actor fail',
  [edgeKey({
    source: 'agentOffer.ringing',
    event: 'callback.invitationCompleted',
    guard: 'isOurInvitationRingingOut',
    target: 'agentOffer.withdrawing',
  })]:
    "the emulator rings an invitation out on its own real-time scheduler, which the model's paths do not move",
  [edgeKey({
    source: 'chatSession.agentsJoined.staffing.ejecting',
    event: 'xstate.error.actor.eject',
    target: 'chatSession.agentsJoined.staffing.steady',
  })]: "the runtime's ejectParticipants catches every failed eject (best effort), so it never rejects",
};

const coverage = new CoverageRecorder([chatSessionMachine, agentOfferMachine]);

describe('the chat model', () => {
  it('stands for every atomic state of the real machines, and only for states they have', () => {
    const atomic = (machine: typeof chatSessionMachine | typeof agentOfferMachine) =>
      machineGraph(machine)
        .nodes.filter((n) => n.type === 'atomic' || n.type === 'final')
        .map((n) => n.id);
    const named = new Set<string>();
    for (const id of modelLeafIds()) {
      const leaf = id.slice(CHAT_MODEL_ID.length + 1);
      if (leaf !== 'idle') for (const atomicId of atomicIdsOf(realStateOf(leaf))) named.add(atomicId);
    }
    // Offer results are final states the model reaches through its steps (offerResultOf).
    for (const result of ['accepted', 'declined', 'expired', 'failed']) named.add(`agentOffer.${result}`);
    const real = [...atomic(chatSessionMachine), ...atomic(agentOfferMachine)];
    // Transient states the real machines pass through inside one model step.
    const passedThrough = [
      'chatSession.abandoned.awaitingConference',
      'chatSession.failed.awaitingConference',
    ];
    expect(
      real.filter((id) => !named.has(id) && !passedThrough.includes(id)),
      'real states no model state stands for',
    ).toEqual([]);
    expect(
      [...named].filter((id) => !real.includes(id)),
      'model mappings to states the machines do not have',
    ).toEqual([]);
  });

  it('reaches every state, and every state but terminated can still reach terminated', () => {
    const adjacency = Object.values(modelAdjacency());
    const reached = new Set(adjacency.map(({ state }) => leafOf(state.value)));
    expect(
      modelLeafIds()
        .map((id) => id.slice(CHAT_MODEL_ID.length + 1))
        .filter((id) => !reached.has(id)),
    ).toEqual([]);
    const next = new Map(
      adjacency.map(({ state, transitions }) => [
        serializeSnapshot(state),
        Object.values(transitions).map((t) => serializeSnapshot(t.state)),
      ]),
    );
    const live = new Set(
      adjacency
        .filter(({ state }) => state.matches('terminated'))
        .map(({ state }) => serializeSnapshot(state)),
    );
    for (let grew = true; grew; ) {
      grew = false;
      for (const [from, tos] of next) {
        if (!live.has(from) && tos.some((to) => live.has(to))) {
          live.add(from);
          grew = true;
        }
      }
    }
    expect(
      adjacency
        .filter(({ state }) => !live.has(serializeSnapshot(state)))
        .map(({ state }) => serializeSnapshot(state)),
    ).toEqual([]);
  });

  it(`gives ${EXPECTED.paths} paths (${EXPECTED.overHttp} over HTTP), uniquely named, each ending in terminated, taking every model transition`, () => {
    expect({
      paths: CHAT_PATHS.length,
      overHttp: CHAT_PATHS.filter((p) => !p.notOverHttp).length,
      againstMachine: CHAT_PATHS.filter((p) => p.notOverHttp).length,
    }).toEqual(EXPECTED);
    expect(new Set(CHAT_PATHS.map((p) => p.name)).size).toBe(CHAT_PATHS.length);
    expect(CHAT_PATHS.filter((p) => !p.graphPath.state.matches('terminated')).map((p) => p.name)).toEqual([]);
    const taken = new Set(CHAT_PATHS.flatMap((p) => p.steps.map(transitionKey)));
    expect([...modelTransitions()].filter((t) => !taken.has(t))).toEqual([]);
  });
});

describe.concurrent('chat session paths', () => {
  for (const path of CHAT_PATHS) {
    const where = path.notOverHttp ? 'against the machine with fake effects' : 'over HTTP';
    it(`${path.name} [${where}]`, async () => {
      const driver: PathDriver = path.notOverHttp ? new MachineDriver(path) : await HttpDriver.open(path);
      try {
        await chatTestModel.testPath(path.graphPath, driver.params());
        coverage.add(driver.backend, driver.trail);
      } finally {
        await driver.close();
      }
    });
  }
});

describe('real machine coverage', () => {
  it('every state and every transition of the real machines was visited by some path', () => {
    const all = coverage.report();
    const http = coverage.report(['http']);
    console.log(
      `model-based coverage: ${coverage.paths()} paths (${coverage.paths('http')} over HTTP, ${coverage.paths('machine')} against the machines with fake effects), ` +
        `states ${all.states.covered}/${all.states.total}, transitions ${all.edges.covered}/${all.edges.total}` +
        ` (over HTTP alone: states ${http.states.covered}/${http.states.total}, transitions ${http.edges.covered}/${http.edges.total})`,
    );
    expect(coverage.ambiguousEdges(), 'edges of the real machines that coverage cannot tell apart').toEqual(
      [],
    );
    expect(coverage.unknownEdges(), 'taken edges missing from machineGraph').toEqual([]);
    expect(
      coverage.paths(),
      `every path ran to its end (${CHAT_PATHS.length - coverage.paths()} did not: see their failures above)`,
    ).toBe(CHAT_PATHS.length);
    expect(all.states.missing, 'real states no path visited').toEqual([]);
    expect(all.edges.missing, 'real transitions no path took').toEqual([]);
    expect(http.states.missing, 'real states only the machine backend visited').toEqual([]);
    expect(
      http.edges.missing.sort(),
      'real transitions only the machine backend took must be exactly those listed in NOT_OVER_HTTP',
    ).toEqual(Object.keys(NOT_OVER_HTTP).sort());
  });
});

/**
 * Every state of every real machine is reachable from the initial state and can reach
 * a documented end. The second half proves the check has teeth: a copy of the chat session machine with
 * the transitions into `terminated` cut out must be reported.
 */
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, createMachine } from 'xstate';
import { chatSessionMachine } from '../../machines/chatSession/index.ts';
import { checkLiveness, machineGraph } from './graph.ts';
import { CHARTED_MACHINES } from './registry.ts';

describe.each(CHARTED_MACHINES.map((entry) => [entry.name, entry] as const))('machine %s', (_name, entry) => {
  const { machine, finalStates } = entry;
  const report = checkLiveness(machine, finalStates ? { finalStates } : {});

  it('has every state reachable from its initial state', () => {
    expect(report.unreachable, 'states no sequence of events can reach').toEqual([]);
  });

  it(`lets every state reach ${finalStates?.join(' or ') ?? 'a final state'}`, () => {
    expect(report.stuck, 'states from which the machine can never finish').toEqual([]);
  });
});

type Config = Record<string, unknown> & { states?: Record<string, Config> };
type TransitionConfig =
  | string
  | { target?: string | string[] }
  | Array<string | { target?: string | string[] }>;

const leadsTo = (target: string) => (t: unknown) => {
  const targets = typeof t === 'string' ? [t] : [(t as { target?: string | string[] }).target ?? []].flat();
  return targets.some((x) => x === target || x.endsWith(`.${target}`));
};

/** The transitions config minus those that lead to `target`; undefined when none is left. */
function withoutTarget(config: TransitionConfig | undefined, target: string): TransitionConfig | undefined {
  if (config === undefined) return undefined;
  const kept = [config].flat().filter((t) => !leadsTo(target)(t));
  return kept.length ? kept : undefined;
}

/**
 * A copy of a machine config where the state at `path` (and every state inside it) has no transition
 * (event, always, after, invoke onDone/onError, onDone) into `target`. Everything else is shared.
 */
function cutTransitionsInto(config: Config, path: string[], target: string): Config {
  const strip = (state: Config): Config => {
    const copy: Config = { ...state };
    for (const key of ['always', 'onDone'] as const) {
      if (key in copy) copy[key] = withoutTarget(copy[key] as TransitionConfig, target);
    }
    for (const key of ['on', 'after'] as const) {
      const map = copy[key] as Record<string, TransitionConfig> | undefined;
      if (map) {
        copy[key] = Object.fromEntries(
          Object.entries(map).map(([k, v]) => [k, withoutTarget(v, target) ?? []]),
        );
      }
    }
    if (copy.invoke) {
      copy.invoke = [copy.invoke].flat().map((invoke) => {
        const i = { ...(invoke as Config) };
        i.onDone = withoutTarget(i.onDone as TransitionConfig, target);
        i.onError = withoutTarget(i.onError as TransitionConfig, target);
        return i;
      });
    }
    if (copy.states) {
      copy.states = Object.fromEntries(Object.entries(copy.states).map(([k, v]) => [k, strip(v)]));
    }
    return copy;
  };
  const [head, ...rest] = path;
  if (!head) return strip(config);
  const states = config.states ?? {};
  return { ...config, states: { ...states, [head]: cutTransitionsInto(states[head]!, rest, target) } };
}

function brokenCopy(path: string[], target: string): AnyStateMachine {
  const config = cutTransitionsInto(chatSessionMachine.config as Config, path, target);
  return createMachine(
    config as Parameters<typeof createMachine>[0],
    chatSessionMachine.implementations as never,
  );
}

describe('the liveness check on a deliberately broken copy of the chat session machine', () => {
  it('the copy really lost the transitions from closed into terminated, and nothing else', () => {
    const broken = brokenCopy(['closed'], 'terminated');
    const edges = (machine: AnyStateMachine) =>
      machineGraph(machine).edges.map((e) => `${e.source} -> ${e.target} on ${e.label}`);
    const lost = edges(chatSessionMachine).filter((edge) => !edges(broken).includes(edge));
    expect(lost.length).toBeGreaterThan(0);
    for (const edge of lost) expect(edge).toMatch(/^chatSession\.closed\.\S+ -> chatSession\.terminated on /);
    expect(edges(broken).length).toBe(edges(chatSessionMachine).length - lost.length);
    expect(machineGraph(broken).nodes).toEqual(machineGraph(chatSessionMachine).nodes);
  });

  it('reports closed and every state inside it as unable to reach terminated', () => {
    const report = checkLiveness(brokenCopy(['closed'], 'terminated'), { finalStates: ['terminated'] });
    expect(report.unreachable).toEqual([]);
    const closedStates = machineGraph(chatSessionMachine)
      .nodes.map((n) => n.id)
      .filter((id) => id === 'chatSession.closed' || id.startsWith('chatSession.closed.'));
    expect(report.stuck).toEqual(expect.arrayContaining(closedStates));
  });

  it('reports a failure path that never ends when the failed state loses its way to terminated', () => {
    const report = checkLiveness(brokenCopy(['failed'], 'terminated'), { finalStates: ['terminated'] });
    expect(report.stuck).toContain('chatSession.failed.releasing');
    expect(report.stuck).not.toContain('chatSession.closed.releasing');
  });

  it('reports a state nothing enters as unreachable once every way into it is cut', () => {
    const report = checkLiveness(brokenCopy([], 'closed'), { finalStates: ['terminated'] });
    expect(report.unreachable).toContain('chatSession.closed');
    expect(report.unreachable).toContain('chatSession.closed.releasing');
  });
});

/**
 * The chart of one session: the machine's chart with the session's current state lit and the path it
 * took highlighted (served as `GET /sessions/:id/chart.svg`).
 *
 * The runtime records the history as the atomic state ids the session entered, in order, with
 * `enteredStates` from machines/stateIds.ts (re-exported here).
 */
import type { AnyStateMachine, StateValue } from 'xstate';
import { activeStateIds, resolveStateNode } from '../../machines/stateIds.ts';
import { type PathStep, renderSvg, toDot } from './render.ts';

export { atomicStateIds, enteredStates } from '../../machines/stateIds.ts';

export interface SessionChartInput {
  /** The session's current `snapshot.value`. */
  stateValue: StateValue;
  /** State ids in visit order (`chatSession.invited.starting`; paths like `invited.starting` work too). */
  history: string[];
  /** Caption above the chart, e.g. the session id. */
  title?: string;
}

/** DOT source of the session chart (the SVG is `renderSvg` of this). Throws UnknownStateError on an unknown state. */
export function sessionChartDot(machine: AnyStateMachine, input: SessionChartInput): string {
  const current = activeStateIds(machine, input.stateValue);
  const history = input.history.map((ref) => resolveStateNode(machine, ref).id);
  const path: PathStep[] = [];
  for (let i = 1; i < history.length; i++) {
    const from = history[i - 1]!;
    const to = history[i]!;
    if (from !== to) path.push({ from, to });
  }
  return toDot(machine, { current, path, ...(input.title ? { title: input.title } : {}) });
}

/**
 * The session chart as an SVG document. Throws `UnknownStateError` (from machines/stateIds.ts) when the state value
 * or the history names a state this machine does not have.
 */
export async function sessionChartSvg(machine: AnyStateMachine, input: SessionChartInput): Promise<string> {
  return renderSvg(sessionChartDot(machine, input));
}

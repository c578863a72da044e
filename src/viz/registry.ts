/**
 * The machines `carechat viz` charts and the liveness test proves. Add a machine here and run
 * `npm run viz`: its chart files appear in docs/machines/ and the tests start checking it.
 */
import type { AnyStateMachine } from 'xstate';
import { agentOfferMachine } from '../../machines/agentOffer.ts';
import { chatSessionMachine } from '../../machines/chatSession/index.ts';

export interface ChartedMachine {
  /** File name stem: docs/machines/<name>.dot|.mmd|.svg */
  name: string;
  machine: AnyStateMachine;
  /** The module that defines it, relative to the repository root (named in the generated files). */
  source: string;
  /** The documented ends the liveness check requires every state to be able to reach (default: any top-level final state). */
  finalStates?: string[];
}

export const CHARTED_MACHINES: readonly ChartedMachine[] = [
  {
    name: 'chatSession',
    machine: chatSessionMachine,
    source: 'machines/chatSession/index.ts',
    finalStates: ['terminated'],
  },
  {
    name: 'agentOffer',
    machine: agentOfferMachine,
    source: 'machines/agentOffer.ts',
    finalStates: ['accepted', 'declined', 'expired', 'failed'],
  },
];

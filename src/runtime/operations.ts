/**
 * The operator actions on running chats and on the agent pool, shared by the HTTP operator API and the
 * library API (`orchestrator.operate`). Each action either happens or throws an {@link OperationError}
 * whose status and code say why (404 unknown session, 409 not possible now, 400 bad argument).
 */
import { PRESENCES, type Presence, RoutingError } from '../routing/index.ts';
import type { AgentView, Router } from './router.ts';
import type { SessionManager } from './sessions.ts';

export class OperationError extends Error {
  override readonly name = 'OperationError';
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: 'bad_request' | 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

export type StaffingKind = 'transfer' | 'agents' | 'monitor';

const STAFFING_EVENT = {
  transfer: 'chat.transfer',
  agents: 'chat.addAgent',
  monitor: 'chat.monitor',
} as const satisfies Record<StaffingKind, string>;

export interface Operations {
  /** Ends a chat as the SA: the customer is told, the meeting terminated. */
  close(sessionId: string, reason?: string): void;
  /** Staffing on a running chat: transfer to a named agent, add a second agent, or a monitoring supervisor. */
  staff(sessionId: string, kind: StaffingKind, agentUri: string): { agentUri: string };
  /** The monitoring supervisor becomes visible to the customer. */
  barge(sessionId: string): void;
  setPresence(agentUri: string, presence: Presence): AgentView;
}

export function createOperations(sessions: SessionManager, router: Router): Operations {
  return {
    close(sessionId, reason) {
      if (!sessions.get(sessionId)) throw new OperationError(404, 'not_found', `no session ${sessionId}`);
      if (!sessions.close(sessionId, reason))
        throw new OperationError(409, 'conflict', `session ${sessionId} has already ended`);
    },
    staff(sessionId, kind, agentUri) {
      const view = sessions.get(sessionId);
      if (!view) throw new OperationError(404, 'not_found', `no session ${sessionId}`);
      if (view.state !== 'agentsJoined')
        throw new OperationError(
          409,
          'conflict',
          `session ${sessionId} is ${view.state}; staffing changes need a running chat`,
        );
      const reserved = router.reserveNamed(sessionId, agentUri);
      if (!reserved.ok) throw new OperationError(409, 'conflict', reserved.reason);
      const result = sessions.operate(sessionId, { type: STAFFING_EVENT[kind], agent: reserved.agent });
      if (result !== 'sent') {
        if (reserved.inRoster) router.offerEnded(sessionId, reserved.agent, 'failed');
        throw new OperationError(
          409,
          'conflict',
          `session ${sessionId} cannot take that now (${result}): another staffing change may be under way`,
        );
      }
      return { agentUri: reserved.agent.uri };
    },
    barge(sessionId) {
      const result = sessions.operate(sessionId, { type: 'chat.barge' });
      if (result === 'unknown') throw new OperationError(404, 'not_found', `no session ${sessionId}`);
      if (result !== 'sent')
        throw new OperationError(
          409,
          'conflict',
          `session ${sessionId} has no monitoring supervisor to barge in (${result})`,
        );
    },
    setPresence(agentUri, presence) {
      if (!PRESENCES.includes(presence))
        throw new OperationError(400, 'bad_request', `presence must be one of ${PRESENCES.join(', ')}`);
      try {
        return router.setPresence(agentUri, presence);
      } catch (error) {
        if (error instanceof RoutingError) throw new OperationError(404, 'not_found', error.message);
        throw error;
      }
    },
  };
}

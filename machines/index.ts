/**
 * `carechat/machines`: the state machines, for reading the state charts, model-based tests, or running a
 * session with your own effects (`chatSessionMachine.provide({ actors })`). Pure: xstate only.
 */
export {
  AGENT_OFFER_MACHINE_ID,
  type AgentOfferContext,
  type AgentOfferEvent,
  type AgentOfferInput,
  type AgentOfferOutput,
  agentOfferMachine,
  type OfferResult,
} from './agentOffer.ts';
export {
  CHAT_SESSION_MACHINE_ID,
  CHAT_SESSION_MACHINE_VERSION,
  type ChatSessionContext,
  type ChatSessionEmitted,
  type ChatSessionEvent,
  type ChatSessionInput,
  type ChatSettings,
  chatSessionMachine,
} from './chatSession/index.ts';
export { enteredStates } from './stateIds.ts';

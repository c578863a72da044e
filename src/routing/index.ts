/**
 * Routing core: the agent pool, selection strategies, the waiting queue and business hours, as pure
 * functions over plain data. No I/O and no clock: time (`now`, epoch ms) is always a parameter.
 */
export { RoutingError } from './errors.ts';
export {
  type BusinessHours,
  DAYS,
  type Day,
  formatBusinessHours,
  isOpen,
  nextOpening,
  parseBusinessHours,
} from './hours.ts';
export {
  type AgentState,
  agentKey,
  confirm,
  createPool,
  DEFAULT_CAPACITY,
  DEFAULT_MAX_MISSED_IN_ROW,
  getAgent,
  holdersOf,
  holds,
  load,
  type Pool,
  PRESENCES,
  type Presence,
  type RosterEntry,
  recordMissedOffer,
  release,
  reserve,
  setPresence,
} from './pool.ts';
export {
  type ChatQueue,
  createQueue,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_WAIT_UPDATE_MS,
  dequeue,
  enqueue,
  estimatedWaitMs,
  nextFor,
  overdue,
  position,
  type QueueEntry,
  waitMessage,
} from './queue.ts';
export {
  type Assignment,
  type CandidateScore,
  DEFAULT_STRATEGY,
  formatDuration,
  lastActivity,
  type SelectionRequest,
  type SelectOptions,
  STRATEGIES,
  type Strategy,
  selectAgent,
} from './select.ts';

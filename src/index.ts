/**
 * carechat's public API: `import { createOrchestrator, loadConfig } from 'carechat'`.
 * Everything exported here is covered by semantic versioning (docs/api.md); nothing else in the package is.
 */
import { type EmulatorDefaults, type Env, loadSaConfig, type SaConfig } from './runtime/config.ts';

export type { ChatSettings } from '../machines/chatSession/index.ts';
export type { Presence, Strategy } from './routing/index.ts';
export type {
  ChatAgent,
  ChatCustomer,
  ChatEvent,
  ChatEventData,
  ChatEventType,
} from './runtime/chatEvents.ts';
export { CHAT_EVENT_TYPES } from './runtime/chatEvents.ts';
export type { Clock } from './runtime/clock.ts';
export { systemClock } from './runtime/clock.ts';
export { ConfigError, type SaConfig } from './runtime/config.ts';
export { OperationError, type Operations, type StaffingKind } from './runtime/operations.ts';
export type { LeftMessage, TranscriptEntry } from './runtime/records.ts';
export type { AgentView } from './runtime/router.ts';
export type { SessionListing, SessionRow, SessionView } from './runtime/sessions.ts';
export {
  createOrchestrator,
  type Orchestrator,
  type OrchestratorOptions,
  type SessionsReader,
} from './stack/orchestrator.ts';
export { type OpenStoreOptions, openStore, type Store, StoreSetupError } from './store/index.ts';
export { webRoutes as customerPageRoutes } from './web/index.ts';

/**
 * The SA's configuration from environment variables (README, "Configuration"), validated: a bad value
 * throws a `ConfigError` whose `problems` name each variable and what it expects. Pass
 * `{ emulatorUrl }` to fill every platform setting from a running emulator's demo tenant.
 */
export function loadConfig(env: Env = process.env, defaults?: EmulatorDefaults): SaConfig {
  return loadSaConfig(env, defaults);
}

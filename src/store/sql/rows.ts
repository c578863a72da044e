/**
 * Rows as the database returns them and the records the store hands out: the column lists of each table
 * (times as epoch ms) and the conversions between the two.
 */
import type { Presence } from '../../routing/index.ts';
import type {
  EffectRecord,
  Json,
  JsonObject,
  Lease,
  SessionStatus,
  SessionSummary,
  WebhookRecord,
} from '../store.ts';

/** A timestamptz column as epoch milliseconds (float8: exact for any millisecond time). */
export function ms(column: string): string {
  return `(extract(epoch from ${column}) * 1000)::float8`;
}

/** An epoch-ms time as a timestamptz parameter (ISO text: exact, and the same on both engines). */
export function iso(time: number): string {
  return new Date(time).toISOString();
}

export const SUMMARY_COLUMNS = `s.id, s.state, s.status, s.outcome, s.summary, ${ms('s.created_at')} AS created_at,
  ${ms('s.updated_at')} AS updated_at, ${ms('s.ended_at')} AS ended_at`;

export interface SessionRow {
  id: string;
  state: string;
  status: SessionStatus;
  outcome: string | null;
  summary: JsonObject;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}

export interface StoredRow {
  machine_id: string;
  machine_version: number;
  snapshot: unknown;
  deadlines: Record<string, number>;
  lease_owner: string | null;
  lease_generation: string | null;
  lease_expires_at: number | null;
}

export function toSummary(row: SessionRow): SessionSummary {
  return {
    id: row.id,
    state: row.state,
    status: row.status,
    outcome: row.outcome,
    summary: row.summary,
    createdAt: Math.round(row.created_at),
    updatedAt: Math.round(row.updated_at),
    endedAt: row.ended_at === null ? null : Math.round(row.ended_at),
  };
}

export const LEASE_COLUMNS = `session_id, owner, generation::text AS generation, ${ms('expires_at')} AS expires_at`;

export interface LeaseRow {
  session_id: string;
  owner: string;
  generation: string;
  expires_at: number;
}

export function toLease(row: LeaseRow): Lease {
  return {
    sessionId: row.session_id,
    owner: row.owner,
    generation: Number(row.generation),
    expiresAt: Math.round(row.expires_at),
  };
}

export const EFFECT_COLUMNS = `operation_id, session_id, kind, input, status, result, attempts,
  ${ms('started_at')} AS started_at, ${ms('finished_at')} AS finished_at`;

export interface EffectRow {
  operation_id: string;
  session_id: string;
  kind: string;
  input: Json | null;
  status: EffectRecord['status'];
  result: Json | null;
  attempts: number;
  started_at: number;
  finished_at: number | null;
}

export function toEffect(row: EffectRow): EffectRecord {
  return {
    operationId: row.operation_id,
    sessionId: row.session_id,
    kind: row.kind,
    input: row.input,
    status: row.status,
    result: row.result,
    attempts: row.attempts,
    startedAt: Math.round(row.started_at),
    finishedAt: row.finished_at === null ? null : Math.round(row.finished_at),
  };
}

export interface AgentRow {
  key: string;
  uri: string;
  name: string;
  skills: string[];
  presence: Presence;
  capacity: number;
  missed_offers_in_row: number;
  last_assigned_at: number | null;
  last_chat_ended_at: number | null;
  /** [sessionId, status] in the order the agent took them. */
  chats: Array<[string, 'offered' | 'active']>;
}

export const WEBHOOK_COLUMNS = `w.id::text AS id, w.session_id, w.event_type, w.payload, ${ms('w.created_at')} AS created_at,
  w.attempts, ${ms('w.next_attempt_at')} AS next_attempt_at, ${ms('w.delivered_at')} AS delivered_at, w.last_error`;

export interface WebhookRow {
  id: string;
  session_id: string | null;
  event_type: string;
  payload: Json;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  last_error: string | null;
}

export function toWebhook(row: WebhookRow): WebhookRecord {
  return {
    id: Number(row.id),
    sessionId: row.session_id,
    type: row.event_type,
    payload: row.payload,
    createdAt: Math.round(row.created_at),
    attempts: row.attempts,
    nextAttemptAt: Math.round(row.next_attempt_at),
    deliveredAt: row.delivered_at === null ? null : Math.round(row.delivered_at),
    lastError: row.last_error,
  };
}

/**
 * Callbacks across SA instances sharing one store: a callback for a chat another instance holds is recorded
 * in that chat's inbox (`forwardToOwner`), and the owner applies what was recorded, in order, writing the
 * inbox items off with the chat's new state (`drainInbox`). See docs/deployment.md, "Several instances".
 */
import { createHash } from 'node:crypto';
import type pino from 'pino';
import type { ChatSessionEmitted } from '../../machines/chatSession/index.ts';
import { sessionIdOfOperation } from '../../machines/chatSession/index.ts';
import type { CallbackEvent, InvitationReceived } from '../../machines/events.ts';
import type { NormalisedEvent } from '../callbacks/toEvents.ts';
import type { Json, JsonObject } from '../store/index.ts';
import { hrefKey } from '../wire/href.ts';
import type { SessionPersistence } from './persistence.ts';
import type { SessionRecord } from './sessionRecord.ts';
import { transcribe } from './transcribe.ts';

/** What sessionIdOfInvitation makes (callbackContexts and operationIds name sessions with it). */
export const SESSION_ID = /^c[0-9a-f]{16}$/;

/**
 * A chat's id, from the customer's invitation: the same invitation names the same chat on every instance,
 * so a redelivered invitation (the instance that took it died before answering) finds the chat it started
 * in the store instead of starting a second one. Invitation and conversation hrefs carry the platform's
 * GUIDs; 64 bits of their digest do not collide in practice.
 */
export function sessionIdOfInvitation(invitation: InvitationReceived): string {
  const digest = createHash('sha256')
    .update(`${hrefKey(invitation.invitationHref)}\n${hrefKey(invitation.conversationHref ?? '')}`)
    .digest('hex');
  return `c${digest.slice(0, 16)}`;
}

/**
 * A callback for a chat this instance does not hold: a late message of an ended chat is kept in its stored
 * transcript; anything else for a stored chat is recorded for its owner. False when no stored chat is named.
 */
export async function forStoredChat(
  persistence: SessionPersistence,
  opts: { logger: pino.Logger; clock: { now(): number } },
  event: CallbackEvent,
  wire: NormalisedEvent['wire'],
  ctx: { callbackContext?: string },
): Promise<boolean> {
  return (
    (event.type === 'callback.messageCompleted' &&
      (await keepLateMessage(persistence, opts.logger, event, ctx, opts.clock.now()))) ||
    forwardToOwner(persistence, opts.logger, event, wire, ctx)
  );
}

/**
 * Records a callback for a chat this instance does not hold in that chat's inbox, when the store knows the
 * chat (another instance owns it, or none does until one takes it over); the store signals the owner.
 * Resolves once recorded; false when no stored chat is named by the callback.
 */
export async function forwardToOwner(
  persistence: SessionPersistence,
  logger: pino.Logger,
  event: CallbackEvent,
  wire: NormalisedEvent['wire'],
  ctx: { callbackContext?: string },
): Promise<boolean> {
  const sessionId =
    ctx.callbackContext ?? (event.operationId ? sessionIdOfOperation(event.operationId) : undefined);
  if (!sessionId || !SESSION_ID.test(sessionId)) return false;
  // The same event delivered twice (the platform retrying) gets the same key: recorded once.
  const key = createHash('sha256').update(JSON.stringify({ wire, event })).digest('base64url').slice(0, 40);
  const { recorded, owner, known } = await persistence.store.inbox.record(sessionId, {
    key,
    payload: { event } as unknown as Json,
  });
  if (!known) return false;
  logger.info(
    { sessionId, operationId: event.operationId ?? null, event: event.type, owner, recorded },
    'callback for a chat another instance holds: recorded for it',
  );
  return true;
}

/** A message callback that came after its chat ended, as the chat would have emitted it (a conference line). */
export function lateMessage(
  event: Extract<CallbackEvent, { type: 'callback.messageCompleted' }>,
): Extract<ChatSessionEmitted, { type: 'chat.message' }> {
  return {
    type: 'chat.message',
    direction: event.direction,
    leg: 'conference',
    messageHref: event.messageHref,
    ...(event.text !== undefined ? { text: event.text } : {}),
    ...(event.html !== undefined ? { html: event.html } : {}),
    ...(event.sender?.name ? { from: event.sender.name } : {}),
  };
}

/**
 * A customer's or agent's message that reached this instance after its chat ended and left memory (the
 * platform delivered it late, across a restart): appended to the stored chat's transcript, once. False
 * when no ended chat is named by the callback (a chat still going is the inbox's: see forwardToOwner).
 */
export async function keepLateMessage(
  persistence: SessionPersistence,
  logger: pino.Logger,
  event: Extract<CallbackEvent, { type: 'callback.messageCompleted' }>,
  ctx: { callbackContext?: string },
  now: number,
): Promise<boolean> {
  const sessionId =
    ctx.callbackContext ?? (event.operationId ? sessionIdOfOperation(event.operationId) : undefined);
  if (!sessionId || !SESSION_ID.test(sessionId) || event.direction !== 'Incoming') return false;
  const log = logger.child({ sessionId });
  const holder = { transcript: [], participants: new Map(), seenMessages: new Set<string>(), log };
  const line = transcribe(holder, lateMessage(event), event.timestamp ?? new Date(now).toISOString());
  if (!line) return false;
  const kept = await persistence.store.transcripts.appendLate(sessionId, {
    key: line.key,
    at: now,
    entry: line.entry as unknown as JsonObject,
  });
  if (kept) log.info({ operationId: event.operationId ?? null }, 'late message kept');
  return kept;
}

export interface InboxOwner {
  persistence: SessionPersistence;
  /** Whether this record is still the live copy of its session here. */
  holds(record: SessionRecord): boolean;
  apply(record: SessionRecord, event: CallbackEvent): void;
  persist(record: SessionRecord): void;
}

/**
 * Applies what other instances recorded in a held session's inbox, in order, and writes it (the items
 * leave the inbox in the same write). One drain at a time per session.
 */
export function drainInbox(owner: InboxOwner, record: SessionRecord): Promise<void> {
  const { persistence } = owner;
  const next = (record.draining ?? Promise.resolve()).then(async () => {
    const lease = persistence.leaseOf(record.id);
    if (!lease || !owner.holds(record)) return;
    if (record.settling) await record.settling;
    const items = await persistence.store.inbox.pending(lease);
    if (items.length === 0) return;
    for (const item of items) {
      const event = (item.payload as { event?: CallbackEvent } | null)?.event;
      if (event && typeof event.type === 'string' && record.actor.getSnapshot().status === 'active') {
        record.log.debug(
          { event: event.type, operationId: event.operationId ?? null },
          'inbox event applied',
        );
        owner.apply(record, event);
      }
      record.unsaved.inbox.push({ id: item.id, key: item.key });
    }
    owner.persist(record);
    await persistence.flushed(record.id);
  });
  record.draining = next.catch((error: unknown) => {
    record.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'inbox not drained');
  });
  return record.draining;
}

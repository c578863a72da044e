/**
 * The one place where a callback payload becomes machine events (wire-spec 5.3, 5.5, 6, 7, 8).
 *
 * Pure: no I/O, no clock, no randomness. Every href comes out absolute (resolved against the envelope's
 * `baseuri`, capture artefacts cleaned), every rel is compared by its local name (`service:` and
 * `ms:rtc:saas:` alike), and each wire event maps to at most one `CallbackEvent`. Events the chat flow
 * does not use (audio/video, prompts, tones, transfer, …) map to `null`: `carechat inspect` lists them,
 * the SA ignores them.
 */
import type {
  CallbackEvent,
  ConversationLinks,
  Direction,
  Href,
  InvitationKind,
  OperationStatus,
  Reason,
} from '../../machines/events.ts';
import { decodeDataUri } from '../wire/dataUri.ts';
import { parseWireDate } from '../wire/dates.ts';
import type { CallbackEnvelope, ErrorBody, Sender, WireEvent, WireEventType } from '../wire/envelope.ts';
import { findEmbeddedOne, findLink, type Resource, stringProp } from '../wire/hal.ts';
import { cleanHref, hrefKey, resolveHref } from '../wire/href.ts';
import { localRel } from '../wire/rels.ts';

export interface NormalisedEvent {
  /** What `carechat inspect` prints, per wire event, in envelope order. */
  wire: {
    type: WireEventType;
    /** Local rel of the event link (`conversation`, `message`, …). */
    rel: string;
    /** Absolute href of the event link. */
    href: string;
    /** Local rel of the `in` link, when the event has one. */
    in?: string;
    status: 'Success' | 'Failure' | null;
    reason: ErrorBody | null;
    operationId: string | null;
    /** Absolute href of the conversation the event belongs to, when the payload tells. */
    conversation: string | null;
  };
  /** The machine event it maps to, or null (audio/video, prompts, tones, transfer, localParticipant, …). */
  event: CallbackEvent | null;
}

export interface ToEventsOptions {
  /** The `callbackContext` of the URL the callback was delivered to; copied onto every machine event. */
  callbackContext?: string;
}

const INVITATION_KINDS: Readonly<Record<string, InvitationKind>> = {
  messagingInvitation: 'messaging',
  onlineMeetingInvitation: 'onlineMeeting',
  participantInvitation: 'participant',
};

/** Embedded invitation states that mean the operation did not succeed (wire-spec 7.6, 9.1). */
const FAILED_INVITATION_STATES: ReadonlySet<string> = new Set(['Failed', 'Declined', 'Cancelled']);

export function toEvents(envelope: CallbackEnvelope, opts: ToEventsOptions = {}): NormalisedEvent[] {
  const hrefs = new HrefResolver(envelope.baseuri);
  const out: NormalisedEvent[] = [];
  for (const sender of envelope.sender) {
    for (const event of sender.events) out.push(normalise(event, sender, hrefs, opts.callbackContext));
  }
  return out;
}

/**
 * Resolves hrefs against the envelope's baseuri. Conversation hrefs are canonicalised per envelope: the
 * first absolute form seen for a resource (same decoded, case-insensitive path) is reused, so every event of
 * one callback names its conversation with the same string.
 */
class HrefResolver {
  readonly #base: string;
  readonly #conversations = new Map<string, string>();

  constructor(base: string) {
    this.#base = base;
  }

  absolute(href: string): string {
    try {
      return resolveHref(href, this.#base);
    } catch {
      return cleanHref(href);
    }
  }

  conversation(href: string): string {
    const absolute = this.absolute(href);
    let key: string;
    try {
      key = hrefKey(absolute);
    } catch {
      return absolute;
    }
    const known = this.#conversations.get(key);
    if (known !== undefined) return known;
    this.#conversations.set(key, absolute);
    return absolute;
  }
}

function normalise(
  event: WireEvent,
  sender: Sender,
  hrefs: HrefResolver,
  callbackContext: string | undefined,
): NormalisedEvent {
  const rel = localRel(event.link.rel);
  const href = hrefs.absolute(event.link.href);
  const resource = embeddedResource(event, rel);
  const operationId = stringProp(resource, 'operationId') ?? null;
  const conversation = conversationOf(rel, event, sender, resource, hrefs);
  const wire: NormalisedEvent['wire'] = {
    type: event.type,
    rel,
    href,
    ...(event.in ? { in: localRel(event.in.rel) } : {}),
    status: event.status ?? null,
    reason: event.reason ?? null,
    operationId,
    conversation,
  };
  const base = compact({
    conversationHref: conversation ?? undefined,
    operationId: operationId ?? undefined,
    callbackContext,
  });
  const mapped = mapEvent({ rel, href, event, resource, conversation, hrefs, base });
  return { wire, event: mapped };
}

interface MapInput {
  rel: string;
  href: Href;
  event: WireEvent;
  resource: Resource | undefined;
  conversation: Href | null;
  hrefs: HrefResolver;
  base: { conversationHref?: Href; operationId?: string; callbackContext?: string };
}

function mapEvent(input: MapInput): CallbackEvent | null {
  const { rel, event } = input;
  const kind = INVITATION_KINDS[rel];
  if (kind) return mapInvitation(input, kind);
  switch (rel) {
    case 'conversation':
      return mapConversation(input);
    case 'onlineMeeting':
      return event.type === 'added' || event.type === 'updated' ? mapOnlineMeeting(input) : null;
    case 'messaging':
      return event.type === 'added' || event.type === 'updated' ? mapMessaging(input) : null;
    case 'conversationBridge':
      return event.type === 'added' ? mapBridge(input) : null;
    case 'bridgedParticipant':
      return mapBridgedParticipant(input);
    case 'participant':
      return mapParticipant(input);
    case 'participantMessaging':
      return mapParticipantMessaging(input);
    case 'message':
      return mapMessage(input);
    default:
      return null;
  }
}

function mapInvitation(input: MapInput, kind: InvitationKind): CallbackEvent | null {
  const { event, resource, hrefs, href, base, conversation } = input;
  const direction = directionOf(resource) ?? (kind === 'messaging' ? undefined : 'Outgoing');
  const state = stringProp(resource, 'state');
  const to = stringProp(resource, 'to');
  if (event.type === 'started') {
    if (direction === 'Incoming') {
      if (kind !== 'messaging' || !conversation || !resource) return null;
      const from = findEmbeddedOne(resource, 'from');
      const fromLink = findLink(resource, 'from');
      return {
        type: 'callback.invitationReceived',
        ...base,
        invitationHref: href,
        conversationHref: conversation,
        ...compact({
          subject: stringProp(resource, 'subject'),
          threadId: stringProp(resource, 'threadId'),
          to,
          customContent: dataUriText(findLink(resource, 'customContent')?.href),
        }),
        from: compact({
          uri: stringProp(from, 'uri'),
          name: stringProp(from, 'name') ?? nonEmpty(fromLink?.title),
        }),
        links: linksOf(resource, hrefs, ['acceptAndBridge', 'startAdhocMeeting', 'decline'] as const),
      };
    }
    if (direction !== 'Outgoing') return null;
    return {
      type: 'callback.invitationStarted',
      ...base,
      kind,
      direction,
      invitationHref: href,
      ...compact({ state, onlineMeetingUri: stringProp(resource, 'onlineMeetingUri'), to }),
    };
  }
  if (event.type === 'completed') {
    if (!direction) return null;
    const failed = event.status === 'Failure' || (state !== undefined && FAILED_INVITATION_STATES.has(state));
    const status: OperationStatus = failed ? 'Failure' : 'Success';
    return {
      type: 'callback.invitationCompleted',
      ...base,
      kind,
      direction,
      invitationHref: href,
      status,
      ...compact({ state, reason: reasonOf(event.reason), to }),
    };
  }
  return null;
}

function mapConversation(input: MapInput): CallbackEvent | null {
  const { event, resource, hrefs, base } = input;
  const conversationHref = input.conversation;
  if (!conversationHref) return null;
  if (event.type === 'deleted') return { type: 'callback.conversationDeleted', ...base, conversationHref };
  if (event.type !== 'added' && event.type !== 'updated') return null;
  const links: ConversationLinks = linksOf(resource, hrefs, [
    'addParticipant',
    'conversationBridge',
    'onlineMeeting',
    'messaging',
    'participants',
  ] as const);
  const state = stringProp(resource, 'state');
  if (state === 'Conferenced') {
    return { type: 'callback.conversationConferenced', ...base, conversationHref, links };
  }
  if (state === 'Connected')
    return { type: 'callback.conversationConnected', ...base, conversationHref, links };
  return { type: 'callback.conversationUpdated', ...base, conversationHref, ...compact({ state }), links };
}

function mapOnlineMeeting(input: MapInput): CallbackEvent | null {
  const { resource, hrefs, base, conversation } = input;
  if (!conversation) return null;
  return {
    type: 'callback.onlineMeetingAdded',
    ...base,
    conversationHref: conversation,
    ...compact({
      onlineMeetingUri: stringProp(resource, 'onlineMeetingUri'),
      terminateHref: linkHref(resource, 'terminateOnlineMeeting', hrefs),
    }),
  };
}

function mapMessaging(input: MapInput): CallbackEvent | null {
  const { resource, hrefs, base, conversation } = input;
  if (!conversation) return null;
  return {
    type: 'callback.messagingUpdated',
    ...base,
    conversationHref: conversation,
    ...compact({ state: stringProp(resource, 'state') }),
    links: linksOf(resource, hrefs, ['addMessaging', 'sendMessage', 'setIsTyping', 'stopMessaging'] as const),
  };
}

function mapBridge(input: MapInput): CallbackEvent | null {
  const { resource, hrefs, base, conversation, href } = input;
  if (!conversation) return null;
  return {
    type: 'callback.bridgeAdded',
    ...base,
    conversationHref: conversation,
    bridgeHref: href,
    ...compact({
      bridgedParticipantsHref: linkHref(resource, 'bridgedParticipants', hrefs),
      onlineMeetingUri: stringProp(resource, 'onlineMeetingUri'),
    }),
  };
}

const BRIDGED_TYPES = {
  added: 'callback.bridgedParticipantAdded',
  updated: 'callback.bridgedParticipantUpdated',
  deleted: 'callback.bridgedParticipantDeleted',
} as const;

function mapBridgedParticipant(input: MapInput): CallbackEvent | null {
  const { event, resource, base, conversation, href } = input;
  if (!conversation) return null;
  if (event.type !== 'added' && event.type !== 'updated' && event.type !== 'deleted') return null;
  const state = stringProp(resource, 'messageFilterState');
  const filter: 'Enabled' | 'Disabled' | undefined =
    state === 'Enabled' || state === 'Disabled' ? state : undefined;
  return {
    type: BRIDGED_TYPES[event.type],
    ...base,
    conversationHref: conversation,
    bridgedParticipantHref: href,
    ...compact({
      participantUri: stringProp(resource, 'participantUri'),
      displayName: stringProp(resource, 'displayName'),
      messageFilterState: filter,
    }),
  };
}

const PARTICIPANT_TYPES = {
  added: 'callback.participantAdded',
  updated: 'callback.participantUpdated',
  deleted: 'callback.participantDeleted',
} as const;

function mapParticipant(input: MapInput): CallbackEvent | null {
  const { event, resource, hrefs, base, conversation, href } = input;
  if (!conversation) return null;
  const name = nonEmpty(event.link.title) ?? stringProp(resource, 'name');
  if (event.in && localRel(event.in.rel) === 'typingParticipants') {
    // Typing is a participant joining/leaving the typingParticipants collection (wire-spec 5.5, 6.8).
    if (event.type !== 'added' && event.type !== 'deleted') return null;
    return {
      type: 'callback.typing',
      ...base,
      conversationHref: conversation,
      participantHref: href,
      ...compact({ name }),
      isTyping: event.type === 'added',
    };
  }
  if (event.type !== 'added' && event.type !== 'updated' && event.type !== 'deleted') return null;
  return {
    type: PARTICIPANT_TYPES[event.type],
    ...base,
    conversationHref: conversation,
    participantHref: href,
    ...compact({ uri: stringProp(resource, 'uri'), name: stringProp(resource, 'name') ?? name }),
    links: linksOf(resource, hrefs, ['eject'] as const),
  };
}

function mapParticipantMessaging(input: MapInput): CallbackEvent | null {
  const { event, resource, hrefs, base, conversation } = input;
  if (!conversation) return null;
  if (event.type !== 'added' && event.type !== 'deleted') return null;
  const inParticipant =
    event.in && localRel(event.in.rel) === 'participant' ? hrefs.absolute(event.in.href) : undefined;
  return {
    type:
      event.type === 'added' ? 'callback.participantMessagingAdded' : 'callback.participantMessagingDeleted',
    ...base,
    conversationHref: conversation,
    ...compact({ participantHref: inParticipant ?? linkHref(resource, 'participant', hrefs) }),
  };
}

function mapMessage(input: MapInput): CallbackEvent | null {
  const { event, resource, hrefs, base, conversation, href } = input;
  if (!conversation) return null;
  // A message event without its embedded resource cannot carry a body: it can only confirm one we sent.
  const direction = directionOf(resource) ?? 'Outgoing';
  if (event.type === 'started') {
    return {
      type: 'callback.messageStarted',
      ...base,
      conversationHref: conversation,
      messageHref: href,
      direction,
    };
  }
  if (event.type !== 'completed') return null;
  const failed = event.status === 'Failure' || (event.status === undefined && event.reason !== undefined);
  const participantLink = findLink(resource, 'participant');
  const senderParticipant = findEmbeddedOne(resource, 'senderParticipant');
  const sender = compact({
    href: absoluteOrUndefined(participantLink?.href, hrefs) ?? linkHref(senderParticipant, 'self', hrefs),
    uri: stringProp(senderParticipant, 'uri'),
    name: nonEmpty(participantLink?.title) ?? stringProp(senderParticipant, 'name'),
  });
  return {
    type: 'callback.messageCompleted',
    ...base,
    conversationHref: conversation,
    messageHref: href,
    direction,
    status: failed ? 'Failure' : 'Success',
    ...compact({
      reason: reasonOf(event.reason),
      text: dataUriText(findLink(resource, 'plainMessage')?.href),
      html: dataUriText(findLink(resource, 'htmlMessage')?.href),
      sender: Object.keys(sender).length > 0 ? sender : undefined,
      timestamp: timestampOf(resource),
    }),
  };
}

/**
 * The conversation an event belongs to: the event link itself when it is a conversation; the embedded
 * resource's `conversation` link for invitations; the sender when it is a conversation; else the `in` link
 * when it is one, the embedded resource's `conversation` link, or that of its embedded participant.
 */
function conversationOf(
  rel: string,
  event: WireEvent,
  sender: Sender,
  resource: Resource | undefined,
  hrefs: HrefResolver,
): string | null {
  if (rel === 'conversation') return hrefs.conversation(event.link.href);
  const embeddedLink = hrefOf(findLink(resource, 'conversation'));
  if (rel.endsWith('Invitation') && embeddedLink) return hrefs.conversation(embeddedLink);
  if (localRel(sender.rel) === 'conversation') return hrefs.conversation(sender.href);
  if (event.in && localRel(event.in.rel) === 'conversation') return hrefs.conversation(event.in.href);
  if (embeddedLink) return hrefs.conversation(embeddedLink);
  for (const participantRel of ['from', 'senderParticipant']) {
    const participant = hrefOf(findLink(findEmbeddedOne(resource, participantRel), 'conversation'));
    if (participant) return hrefs.conversation(participant);
  }
  return null;
}

/** The resource embedded in the event: under the event's own rel, else the only one there is. */
function embeddedResource(event: WireEvent, rel: string): Resource | undefined {
  const embedded = event._embedded;
  if (!embedded) return undefined;
  const holder: Resource = { _embedded: embedded };
  const own = findEmbeddedOne(holder, rel);
  if (own) return asResource(own);
  const values = Object.values(embedded);
  if (values.length !== 1) return undefined;
  const only = values[0];
  return asResource(Array.isArray(only) ? only[0] : only);
}

function asResource(value: unknown): Resource | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Resource)
    : undefined;
}

function directionOf(resource: Resource | undefined): Direction | undefined {
  const direction = stringProp(resource, 'direction');
  return direction === 'Incoming' || direction === 'Outgoing' ? direction : undefined;
}

function hrefOf(link: { href?: unknown } | undefined): string | undefined {
  return typeof link?.href === 'string' && link.href !== '' ? link.href : undefined;
}

function absoluteOrUndefined(href: unknown, hrefs: HrefResolver): Href | undefined {
  return typeof href === 'string' && href !== '' ? hrefs.absolute(href) : undefined;
}

function linkHref(resource: Resource | undefined, rel: string, hrefs: HrefResolver): Href | undefined {
  return absoluteOrUndefined(findLink(resource, rel)?.href, hrefs);
}

function linksOf<K extends string>(
  resource: Resource | undefined,
  hrefs: HrefResolver,
  rels: readonly K[],
): Partial<Record<K, Href>> {
  const links: Partial<Record<K, Href>> = {};
  for (const rel of rels) {
    const href = linkHref(resource, rel, hrefs);
    if (href !== undefined) links[rel] = href;
  }
  return links;
}

function reasonOf(reason: ErrorBody | undefined): Reason | undefined {
  if (!reason) return undefined;
  return { code: reason.code, ...compact({ subcode: reason.subcode, message: reason.message }) };
}

/** Text of a data URI (`customContent`, `plainMessage`, `htmlMessage`); undefined for anything else. */
function dataUriText(href: unknown): string | undefined {
  if (typeof href !== 'string' || !href.startsWith('data:')) return undefined;
  try {
    return decodeDataUri(href).text;
  } catch {
    return undefined;
  }
}

/** The message time as ISO 8601 (the wire writes ISO or .NET `/Date(ms)/`); kept raw if unreadable. */
function timestampOf(resource: Resource | undefined): string | undefined {
  const raw = stringProp(resource, 'timeStamp') ?? stringProp(resource, 'timestamp');
  if (raw === undefined) return undefined;
  return parseWireDate(raw)?.toISOString() ?? raw;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Drop undefined members, so events carry only what the payload said. */
function compact<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) if (member !== undefined) out[key] = member;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

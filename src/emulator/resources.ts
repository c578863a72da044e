import { encodeDataUri } from '../wire/dataUri.ts';
import { netDate } from '../wire/dates.ts';
import type { AnonHrefs, PlatformHrefs, Wire, WireLink, WireResource } from './wire.ts';

/**
 * Pure renderers of platform (SA side) and anonymous UCWA (guest side) resources, shaped after the
 * captured payloads: same keys, rels, nesting and value kinds.
 */

export interface ParticipantInfo {
  uri: string;
  name: string;
}

export interface MessageInfo {
  n: number;
  direction: 'Incoming' | 'Outgoing';
  operationId?: string;
  text?: string;
  html?: string;
  time: number;
  /** Author of an incoming message. */
  from?: ParticipantInfo & { title?: string };
}

// ---------------------------------------------------------------- platform (SA) side

export function applicationResource(w: Wire, h: PlatformHrefs): WireResource {
  const communication = w.resource(
    'communication',
    {},
    w.links(h.appLevel('communication'), {
      joinOnlineMeeting: h.appLevel('communication/onlineMeetingInvitations'),
      inviteUserToMeeting: h.appLevel('communication/userMeetingInvitations'),
      startMessaging: h.appLevel('communication/messagingInvitations'),
      startAudioVideo: `${h.A}/communication/audioVideoInvitations?modalities=AudioVideo&${h.E}`,
      startAudio: `${h.A}/communication/audioVideoInvitations?modalities=Audio&${h.E}`,
    }),
  );
  communication.etag = '4294967295';
  // Captured order: _links, rel, etag.
  const { etag, ...rest } = communication;
  return w.resource(
    'application',
    {},
    w.links(h.application(), { anonApplicationTokens: h.appLevel('anonApplicationTokens') }),
    w.embedded({
      communication: { ...rest, etag },
      myOnlineMeetings: w.resource('myOnlineMeetings', {}, w.links(h.appLevel('myOnlineMeetings'))),
      adhocMeetings: w.resource('adhocMeetings', {}, w.links(h.appLevel('adhocMeetings'))),
    }),
  );
}

export interface ConversationView {
  id: string;
  kind: 'p2p' | 'conference';
  state: string;
  subject?: string;
  threadId: string;
  importance: string;
  messagingConnected: boolean;
  hasBridge: boolean;
}

export function conversationResource(w: Wire, h: PlatformHrefs, c: ConversationView): WireResource {
  const conv = (sub: string) => h.conversation(c.id, sub);
  const conferenced = c.kind === 'conference' && c.state === 'Conferenced';
  const props: Record<string, unknown> = { state: c.state, importance: c.importance, threadId: c.threadId };
  if (c.subject !== undefined) props.subject = c.subject;
  props.activeModalities = c.messagingConnected ? ['Messaging'] : [];
  props.onlineMeetingLobbyStatus = 'None';
  const withParticipants = (href: string, filter: string) => `${href}&filter=${filter}`;
  return w.resource(
    'conversation',
    props,
    w.links(h.conversation(c.id), {
      applicationSharing: conv('applicationSharing'),
      audioVideo: conv('audioVideo'),
      dataCollaboration: conv('dataCollaboration'),
      messaging: conv('messaging'),
      enableAudienceMuteLock: conv('enableAudienceMuteLock'),
      conversationBridge: c.hasBridge ? conv('conversationBridge') : undefined,
      onlineMeeting: conferenced ? conv('onlineMeeting') : undefined,
      addParticipant: conferenced ? h.addParticipant(c.id) : undefined,
      leaders: conferenced ? withParticipants(conv('participants'), 'Leaders') : undefined,
      attendees: conferenced ? withParticipants(conv('participants'), 'Attendees') : undefined,
      lobby: conferenced ? withParticipants(conv('participants'), 'Lobby') : undefined,
      participants: conferenced ? conv('participants') : undefined,
      enableConversationExtension: conferenced ? conv('enableConversationExtension') : undefined,
      enableBroadcastingExtension: conferenced ? conv('enableBroadcastingExtension') : undefined,
    }),
  );
}

export function messagingResource(w: Wire, h: PlatformHrefs, cid: string, connected: boolean): WireResource {
  const conv = (sub: string) => h.conversation(cid, sub);
  if (!connected) {
    return w.resource(
      'messaging',
      { state: 'Disconnected' },
      w.links(conv('messaging'), { addMessaging: h.addMessaging(cid), conversation: h.conversation(cid) }),
    );
  }
  return w.resource(
    'messaging',
    { state: 'Connected', negotiatedMessageFormats: ['Html', 'Plain'] },
    w.links(conv('messaging'), {
      stopMessaging: conv('messaging/terminate'),
      conversation: h.conversation(cid),
      sendMessage: conv('messaging/messages'),
      setIsTyping: conv('messaging/typing'),
      typingParticipants: conv('messaging/typingParticipants'),
    }),
  );
}

export function onlineMeetingResource(
  w: Wire,
  h: PlatformHrefs,
  cid: string,
  meetingUri: string,
): WireResource {
  return w.resource(
    'onlineMeeting',
    { onlineMeetingUri: meetingUri },
    w.links(h.conversation(cid, 'onlineMeeting'), {
      conversation: h.conversation(cid),
      terminateOnlineMeeting: h.conversation(cid, 'onlineMeeting/terminateOnlineMeeting'),
    }),
  );
}

export function bridgeResource(w: Wire, h: PlatformHrefs, cid: string, meetingUri: string, etag: string) {
  const bridge = w.resource(
    'conversationBridge',
    { onlineMeetingUri: meetingUri },
    w.links(h.conversation(cid, 'conversationBridge'), {
      bridgedParticipants: h.conversation(cid, 'conversationBridge/bridgedParticipants'),
    }),
  );
  bridge.etag = etag;
  return bridge;
}

export interface BridgedParticipantInfo {
  displayName: string;
  participantUri: string;
  messageFilterState: 'Enabled' | 'Disabled';
}

export function bridgedParticipantResource(
  w: Wire,
  h: PlatformHrefs,
  cid: string,
  bp: BridgedParticipantInfo,
) {
  return w.resource(
    'bridgedParticipant',
    {
      displayName: bp.displayName,
      participantUri: bp.participantUri,
      messageFilterState: bp.messageFilterState,
    },
    w.links(h.bridgedParticipant(cid, bp.participantUri)),
  );
}

export function participantResource(
  w: Wire,
  h: PlatformHrefs,
  cid: string,
  p: ParticipantInfo,
  { eject = false } = {},
): WireResource {
  return w.resource(
    'participant',
    { uri: p.uri, name: p.name },
    w.links(h.participant(cid, p.uri), {
      conversation: h.conversation(cid),
      participantMessaging: h.participant(cid, p.uri, 'messaging'),
      eject: eject ? h.participant(cid, p.uri, 'eject') : undefined,
    }),
  );
}

export function participantMessagingResource(w: Wire, h: PlatformHrefs, cid: string, p: ParticipantInfo) {
  return w.resource(
    'participantMessaging',
    {},
    w.links(h.participant(cid, p.uri, 'messaging'), {
      participant: { href: h.participant(cid, p.uri), title: '' },
    }),
  );
}

function messageBodyLinks(m: MessageInfo): Record<string, WireLink> {
  const links: Record<string, WireLink> = {};
  if (m.html !== undefined) links.htmlMessage = { href: encodeDataUri(m.html, 'text/html') };
  else if (m.text !== undefined) links.plainMessage = { href: encodeDataUri(m.text, 'text/plain') };
  return links;
}

export function messageResource(w: Wire, h: PlatformHrefs, cid: string, m: MessageInfo): WireResource {
  const props: Record<string, unknown> = { direction: m.direction };
  if (m.operationId) props.operationId = m.operationId;
  props.timeStamp = m.direction === 'Incoming' ? netDate(m.time) : new Date(m.time).toISOString();
  const links = w.links(h.message(cid, m.n), {
    participant: m.from
      ? { href: h.participant(cid, m.from.uri), title: m.from.title ?? m.from.name }
      : undefined,
    messaging: h.conversation(cid, 'messaging'),
  });
  if (m.direction === 'Incoming') Object.assign(links, messageBodyLinks(m));
  const embedded = m.from
    ? w.embedded({ senderParticipant: [participantResource(w, h, cid, m.from)] })
    : undefined;
  return w.resource('message', props, links, embedded);
}

export interface IncomingInvitationView {
  id: string;
  conversationId: string;
  operationId: string;
  state: string;
  importance: string;
  threadId: string;
  subject?: string;
  to: string;
  customContent?: string;
  actions: boolean;
  from: ParticipantInfo;
}

/** The guest's invitation as the SA sees it (Event_IncomingIMCall.json). */
export function incomingInvitationResource(
  w: Wire,
  h: PlatformHrefs,
  inv: IncomingInvitationView,
): WireResource {
  const self = h.invitation('messagingInvitations', inv.id);
  const props: Record<string, unknown> = {
    direction: 'Incoming',
    state: inv.state,
    operationId: inv.operationId,
    importance: inv.importance,
    threadId: inv.threadId,
  };
  if (inv.subject !== undefined) props.subject = inv.subject;
  props.to = inv.to;
  const action = (name: string) =>
    inv.actions ? h.live(`communication/messagingInvitations/${inv.id}/${name}`) : undefined;
  const links = w.links(self, {
    conversation: h.conversation(inv.conversationId),
    decline: action('decline'),
    startAdhocMeeting: inv.actions
      ? h.live('communication/onlineMeetingInvitations/startAdhocMeeting')
      : undefined,
    customContent: inv.customContent ? { href: inv.customContent } : undefined,
    acceptAndBridge: action('acceptAndBridge'),
  });
  const from = w.resource(
    'participant',
    { uri: inv.from.uri, name: inv.from.name },
    w.links(h.participant(inv.conversationId, inv.from.uri), {
      conversation: h.conversation(inv.conversationId),
    }),
  );
  return w.resource(
    'messagingInvitation',
    props,
    links,
    w.embedded({ application: applicationResource(w, h), from }),
  );
}

export interface OutgoingInvitationView {
  id: string;
  conversationId: string;
  operationId?: string;
  state: string;
  subject?: string;
  to?: string;
}

/** addMessaging's invitation (Event_MessagingInvitationStarted.json). */
export function outgoingMessagingInvitationResource(
  w: Wire,
  h: PlatformHrefs,
  inv: OutgoingInvitationView,
  self: ParticipantInfo,
): WireResource {
  const props: Record<string, unknown> = { direction: 'Outgoing', state: inv.state };
  if (inv.operationId) props.operationId = inv.operationId;
  props.importance = 'Normal';
  if (inv.subject !== undefined) props.subject = inv.subject;
  return w.resource(
    'messagingInvitation',
    props,
    w.links(h.invitation('messagingInvitations', inv.id), {
      conversation: h.conversation(inv.conversationId),
      from: { href: h.participant(inv.conversationId, self.uri), title: self.name },
      cancel: h.conversation(inv.conversationId, 'messaging/terminate'),
    }),
  );
}

export function onlineMeetingInvitationResource(
  w: Wire,
  h: PlatformHrefs,
  inv: OutgoingInvitationView & { onlineMeetingUri: string },
): WireResource {
  const props: Record<string, unknown> = {
    onlineMeetingUri: inv.onlineMeetingUri,
    direction: 'Outgoing',
    state: inv.state,
  };
  if (inv.operationId) props.operationId = inv.operationId;
  props.importance = 'Normal';
  if (inv.subject !== undefined) props.subject = inv.subject;
  return w.resource(
    'onlineMeetingInvitation',
    props,
    w.links(h.invitation('onlineMeetingInvitations', inv.id), {
      conversation: h.conversation(inv.conversationId),
    }),
  );
}

export function participantInvitationResource(w: Wire, h: PlatformHrefs, inv: OutgoingInvitationView) {
  const props: Record<string, unknown> = { direction: 'Outgoing', state: inv.state };
  if (inv.operationId) props.operationId = inv.operationId;
  props.importance = 'Normal';
  if (inv.subject !== undefined) props.subject = inv.subject;
  if (inv.to !== undefined) props.to = inv.to;
  return w.resource(
    'participantInvitation',
    props,
    w.links(h.invitation('participantInvitations', inv.id), {
      conversation: h.conversation(inv.conversationId),
    }),
  );
}

// ---------------------------------------------------------------- anonymous UCWA (guest) side

export interface AnonAppView {
  id: string;
  culture: string;
  userAgent: string;
  uri: string;
  name: string;
  etag: string;
  expires: number;
}

export function anonApplicationResource(w: Wire, h: AnonHrefs, app: AnonAppView, eventsHref: string) {
  const communication = w.resource(
    'communication',
    { supportedMessageFormats: ['Plain', 'Html'] },
    w.links(h.path('communication'), {
      conversations: `${h.path('communication/conversations')}?filter=active`,
      startMessaging: { href: h.path('communication/messagingInvitations'), revision: '2' },
    }),
  );
  communication.etag = app.etag;
  const me = w.resource('me', { uri: app.uri, name: app.name }, w.links(h.path('me')));
  const resource = w.resource(
    'application',
    { culture: app.culture, userAgent: app.userAgent, type: 'Browser', id: app.id },
    w.links(h.path(), { policies: h.path('policies'), batch: h.path('batch'), events: eventsHref }),
    { me, communication },
  );
  resource.etag = app.etag;
  resource.expires = netDate(app.expires);
  return resource;
}

export interface AnonConversationView {
  id: string;
  state: string;
  subject?: string;
  threadId: string;
  importance: string;
  messagingConnected: boolean;
}

export function ucwaConversationResource(w: Wire, h: AnonHrefs, c: AnonConversationView): WireResource {
  const props: Record<string, unknown> = { state: c.state, threadId: c.threadId };
  if (c.subject !== undefined) props.subject = c.subject;
  props.activeModalities = c.messagingConnected ? ['Messaging'] : [];
  props.importance = c.importance;
  props.recording = false;
  return w.resource(
    'conversation',
    props,
    w.links(h.conversation(c.id), {
      messaging: h.conversation(c.id, 'messaging'),
      participants: h.conversation(c.id, 'participants'),
      localParticipant: h.conversation(c.id, 'participants/me'),
    }),
  );
}

export function ucwaMessagingResource(w: Wire, h: AnonHrefs, cid: string, state: string): WireResource {
  const conv = (sub: string) => h.conversation(cid, sub);
  const connected = state === 'Connected';
  return w.resource(
    'messaging',
    connected ? { state, negotiatedMessageFormats: ['Plain', 'Html'] } : { state },
    w.links(conv('messaging'), {
      conversation: h.conversation(cid),
      sendMessage: connected ? conv('messaging/messages') : undefined,
      setIsTyping: connected ? conv('messaging/typing') : undefined,
      typingParticipants: connected ? conv('messaging/typingParticipants') : undefined,
      stopMessaging: connected ? conv('messaging/terminate') : undefined,
    }),
  );
}

export interface UcwaInvitationView {
  id: string;
  conversationId: string;
  operationId?: string;
  state: string;
  subject?: string;
  threadId: string;
  importance: string;
  to: string;
}

export function ucwaMessagingInvitationResource(
  w: Wire,
  h: AnonHrefs,
  inv: UcwaInvitationView,
): WireResource {
  const props: Record<string, unknown> = {
    direction: 'Outgoing',
    importance: inv.importance,
    threadId: inv.threadId,
    state: inv.state,
  };
  if (inv.subject !== undefined) props.subject = inv.subject;
  if (inv.operationId) props.operationId = inv.operationId;
  props.to = inv.to;
  return w.resource(
    'messagingInvitation',
    props,
    w.links(h.path(`communication/messagingInvitations/${inv.id}`), {
      conversation: h.conversation(inv.conversationId),
      messaging: h.conversation(inv.conversationId, 'messaging'),
      cancel:
        inv.state === 'Connecting' ? h.conversation(inv.conversationId, 'messaging/terminate') : undefined,
      from: h.conversation(inv.conversationId, 'participants/me'),
    }),
  );
}

export function ucwaParticipantResource(
  w: Wire,
  h: AnonHrefs,
  cid: string,
  p: ParticipantInfo,
  local = false,
) {
  const self = local ? h.conversation(cid, 'participants/me') : h.participant(cid, p.uri);
  return w.resource(
    local ? 'localParticipant' : 'participant',
    { name: p.name, uri: p.uri, sourceNetwork: local ? 'Everyone' : 'SameEnterprise', anonymous: local },
    w.links(self, { conversation: h.conversation(cid) }),
  );
}

export function ucwaMessageResource(w: Wire, h: AnonHrefs, cid: string, m: MessageInfo): WireResource {
  const props: Record<string, unknown> = { direction: m.direction, timeStamp: netDate(m.time) };
  if (m.operationId) props.operationId = m.operationId;
  const links = w.links(h.conversation(cid, `messaging/messages/${m.n}`), {
    participant: m.from
      ? { href: h.participant(cid, m.from.uri), title: m.from.title ?? m.from.name }
      : { href: h.conversation(cid, 'participants/me') },
    messaging: h.conversation(cid, 'messaging'),
  });
  if (m.direction === 'Incoming') Object.assign(links, messageBodyLinks(m));
  return w.resource('message', props, links);
}

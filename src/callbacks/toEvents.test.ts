import { describe, expect, it } from 'vitest';
import {
  FIXTURES_PRESENT,
  FIXTURES_SKIP_MESSAGE,
  fixtureNames,
  fixtureText,
  NEGATIVE_FIXTURES,
} from '../../test/helpers/fixtures.ts';
import { type CallbackEnvelope, CallbackEnvelopeSchema } from '../wire/envelope.ts';
import { parseJsonText } from '../wire/json.ts';
import { type NormalisedEvent, toEvents } from './toEvents.ts';

/** Every captured callback envelope (the negative fixtures are not envelopes). */
const CALLBACK_FIXTURES = fixtureNames('Event_').filter((name) => !NEGATIVE_FIXTURES.has(name));
const PREFIXES = ['ms:rtc:saas:', 'service:'] as const;
const POOL = 'https://webpoolbl20r04.infra.lync.com';

// biome-ignore lint/suspicious/noExplicitAny: raw fixture JSON is navigated by wire key in assertions
type Raw = any;

/** The fixture as the platform of a deployment with `prefix` would have sent it (the SDK tests' trick). */
function fixtureWith(name: string, prefix: string): string {
  const text = fixtureText(name);
  return prefix === 'ms:rtc:saas:' ? text : text.replaceAll('ms:rtc:saas:', prefix);
}

function envelopeOf(name: string, prefix: string): CallbackEnvelope {
  return CallbackEnvelopeSchema.parse(parseJsonText(fixtureWith(name, prefix)));
}

function rawOf(name: string, prefix: string): Raw {
  return parseJsonText(fixtureWith(name, prefix));
}

/** What an href of this envelope must come out as: resolved against baseuri per RFC 3986, `\u0026` undone. */
function absolute(raw: Raw, href: string): string {
  return new URL(href.replaceAll('\\u0026', '&'), raw.baseuri).toString();
}

function mapOne(name: string, prefix: string, callbackContext?: string): NormalisedEvent {
  const out = toEvents(envelopeOf(name, prefix), callbackContext === undefined ? {} : { callbackContext });
  expect(out).toHaveLength(1);
  return out[0] as NormalisedEvent;
}

function firstEvent(raw: Raw): Raw {
  return raw.sender[0].events[0];
}

/** All strings inside a value, recursively. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

describe.skipIf(!FIXTURES_PRESENT)('toEvents over every captured callback', () => {
  it('finds the captured callbacks', () => {
    expect(CALLBACK_FIXTURES.length).toBeGreaterThanOrEqual(40);
  });

  describe.each(CALLBACK_FIXTURES)('%s', (name) => {
    it('yields one normalised event per wire event, in envelope order', () => {
      const raw = rawOf(name, 'ms:rtc:saas:');
      const wireEvents: Raw[] = raw.sender.flatMap((sender: Raw) => sender.events);
      const out = toEvents(envelopeOf(name, 'ms:rtc:saas:'));
      expect(out.map((n) => [n.wire.type, n.wire.href])).toEqual(
        wireEvents.map((event) => [event.type, absolute(raw, event.link.href)]),
      );
    });

    it('writes rels as local names and every href absolute on the baseuri host', () => {
      const raw = rawOf(name, 'ms:rtc:saas:');
      const host = new URL(raw.baseuri).host;
      for (const { wire, event } of toEvents(envelopeOf(name, 'ms:rtc:saas:'), { callbackContext: 'ctx' })) {
        expect(wire.rel).not.toContain(':');
        if (wire.in !== undefined) expect(wire.in).not.toContain(':');
        expect(new URL(wire.href).host).toBe(host);
        if (wire.conversation !== null) {
          expect(new URL(wire.conversation).host).toBe(host);
          expect(wire.conversation).toMatch(/\/communication\/conversations\/[0-9a-f-]{36}\?endpointId=/);
        }
        for (const text of strings(event)) {
          expect(text).not.toContain('ms:rtc:saas:');
          expect(text).not.toContain('\\u0026');
          if (/^https?:/.test(text)) expect(new URL(text).host).toBe(host);
          if (text.startsWith('/')) throw new Error(`relative href left in the event: ${text}`);
        }
        if (event) expect(event.callbackContext).toBe('ctx');
      }
    });

    it('maps the service: form exactly like the ms:rtc:saas: form', () => {
      expect(toEvents(envelopeOf(name, 'service:'))).toEqual(toEvents(envelopeOf(name, 'ms:rtc:saas:')));
    });
  });
});

describe.skipIf(!FIXTURES_PRESENT).each(PREFIXES)('toEvents mapping of the chat-flow callbacks (%s)', (P) => {
  it('maps the incoming IM invitation (step 7) to invitationReceived with its action links', () => {
    const raw = rawOf('Event_IncomingIMCall.json', P);
    const ev = firstEvent(raw);
    const inv = ev._embedded[`${P}messagingInvitation`];
    const { wire, event } = mapOne('Event_IncomingIMCall.json', P, 'ctx-1');
    const conversation = absolute(raw, inv._links[`${P}conversation`].href);
    expect(wire).toEqual({
      type: 'started',
      rel: 'messagingInvitation',
      href: absolute(raw, ev.link.href),
      status: null,
      reason: null,
      operationId: '07da2943-dd03-4132-b804-da72dc3ab783',
      conversation,
    });
    expect(event).toEqual({
      type: 'callback.invitationReceived',
      callbackContext: 'ctx-1',
      operationId: '07da2943-dd03-4132-b804-da72dc3ab783',
      invitationHref: absolute(raw, ev.link.href),
      conversationHref: conversation,
      subject: inv.subject,
      threadId: 'AdJrBgU25DrC5QvbS0GP/SoXvvDHpA==',
      to: inv.to,
      from: { uri: 'tel:+14254996692', name: 'Kumar,Sandeep' },
      customContent: 'ThisIsARandomCustomContent',
      links: {
        acceptAndBridge: absolute(raw, inv._links[`${P}acceptAndBridge`].href),
        startAdhocMeeting: absolute(raw, inv._links[`${P}startAdhocMeeting`].href),
        decline: absolute(raw, inv._links[`${P}decline`].href),
      },
    });
    expect(event?.type === 'callback.invitationReceived' && event.links.acceptAndBridge).toMatch(
      new RegExp(
        `^${POOL}/platformservice/tgt-[0-9a-f]+/v1/applications/\\d+/communication/messagingInvitations/[0-9a-f-]+/acceptAndBridge\\?endpointId=`,
      ),
    );
  });

  it('keeps only the decline link when the capability links are missing', () => {
    const { event } = mapOne('Event_IncomingIMCall_NoActionLinks.json', P);
    expect(event?.type).toBe('callback.invitationReceived');
    if (event?.type !== 'callback.invitationReceived') return;
    expect(Object.keys(event.links)).toEqual(['decline']);
  });

  it('maps the outgoing onlineMeetingInvitation (step 8) to invitationStarted with the SIP meeting URI', () => {
    const raw = rawOf('Event_OnlineMeetingInvitationStarted.json', P);
    const ev = firstEvent(raw);
    const inv = ev._embedded[`${P}onlineMeetingInvitation`];
    const { wire, event } = mapOne('Event_OnlineMeetingInvitationStarted.json', P);
    const conversation = absolute(raw, inv._links[`${P}conversation`].href);
    expect(conversation).toContain('/conversations/40ac1ea0-5468-4a8c-a984-0100ff17d4a8?');
    expect(wire.conversation).toBe(conversation);
    expect(event).toEqual({
      type: 'callback.invitationStarted',
      kind: 'onlineMeeting',
      direction: 'Outgoing',
      invitationHref: absolute(raw, ev.link.href),
      conversationHref: conversation,
      operationId: '49541af3-6866-4098-b6d9-b3ecd7784346',
      state: 'Connecting',
      onlineMeetingUri: 'sip:BL20R04meet48@noammeetings.lync.com;gruu;opaque=app:conf:focus:id:8C1RSJYA',
    });
  });

  it('maps messaging and participant invitations started/completed with their kind and operationId', () => {
    expect(mapOne('Event_MessagingInvitationStarted.json', P).event).toMatchObject({
      type: 'callback.invitationStarted',
      kind: 'messaging',
      direction: 'Outgoing',
      state: 'Connecting',
      operationId: '49541af3-6866-4098-b6d9-b3ecd7784346',
    });
    const completed = mapOne('Event_MessagingInvitationCompleted.json', P);
    expect(completed.wire.operationId).toBe('49541af3-6866-4098-b6d9-b3ecd7784346');
    expect(completed.event).toMatchObject({
      type: 'callback.invitationCompleted',
      kind: 'messaging',
      direction: 'Outgoing',
      status: 'Success',
      state: 'Connected',
    });
    const raw = rawOf('Event_ParticipantInvitationStarted.json', P);
    const inv = firstEvent(raw)._embedded[`${P}participantInvitation`];
    const participant = mapOne('Event_ParticipantInvitationStarted.json', P);
    expect(participant.event).toMatchObject({
      type: 'callback.invitationStarted',
      kind: 'participant',
      direction: 'Outgoing',
      state: 'Connecting',
      conversationHref: absolute(raw, inv._links[`${P}conversation`].href),
    });
    expect(participant.wire.conversation).toContain('endpointId=sip:monitoringhelpdesk@');
  });

  it('maps conversation added/Conferencing to conversationUpdated with the state', () => {
    const raw = rawOf('Event_ConversationAdded.json', P);
    const ev = firstEvent(raw);
    expect(mapOne('Event_ConversationAdded.json', P).event).toEqual({
      type: 'callback.conversationUpdated',
      conversationHref: absolute(raw, ev.link.href),
      state: 'Connecting',
      links: { messaging: absolute(raw, ev._embedded[`${P}conversation`]._links[`${P}messaging`].href) },
    });
    expect(mapOne('Event_ConversationConferencing.json', P).event).toMatchObject({
      type: 'callback.conversationUpdated',
      state: 'Conferencing',
    });
    expect(mapOne('Event_ConversationDisconnected.json', P).event).toMatchObject({
      type: 'callback.conversationUpdated',
      state: 'Disconnected',
    });
  });

  it('maps conversation Conferenced to conversationConferenced offering addParticipant', () => {
    const raw = rawOf('Event_ConversationConferenced.json', P);
    const ev = firstEvent(raw);
    const links = ev._embedded[`${P}conversation`]._links;
    const { wire, event } = mapOne('Event_ConversationConferenced.json', P);
    expect(wire.conversation).toBe(absolute(raw, ev.link.href));
    expect(event).toEqual({
      type: 'callback.conversationConferenced',
      conversationHref: absolute(raw, ev.link.href),
      links: {
        addParticipant: absolute(raw, links[`${P}addParticipant`].href),
        onlineMeeting: absolute(raw, links[`${P}onlineMeeting`].href),
        messaging: absolute(raw, links[`${P}messaging`].href),
        participants: absolute(raw, links[`${P}participants`].href),
      },
    });
    if (event?.type !== 'callback.conversationConferenced') throw new Error('not conferenced');
    expect(event.links.addParticipant).toMatch(
      /\/communication\/participantInvitations\?endpointId=.*&conversationId=/,
    );
  });

  it('maps conversation Connected to conversationConnected, with the bridge link after acceptAndBridge', () => {
    expect(mapOne('Event_ConversationConnected.json', P).event?.type).toBe('callback.conversationConnected');
    expect(mapOne('Event_ConversationConnected_NoModality.json', P).event).toMatchObject({
      type: 'callback.conversationConnected',
      links: {},
    });
    const raw = rawOf('Event_ConversationConnected_WithConversationBridge.json', P);
    const links = firstEvent(raw)._embedded[`${P}conversation`]._links;
    expect(mapOne('Event_ConversationConnected_WithConversationBridge.json', P).event).toMatchObject({
      type: 'callback.conversationConnected',
      links: { conversationBridge: absolute(raw, links[`${P}conversationBridge`].href) },
    });
  });

  it('maps conversation deleted to conversationDeleted', () => {
    const raw = rawOf('Event_ConversationDeleted.json', P);
    const { wire, event } = mapOne('Event_ConversationDeleted.json', P);
    expect(wire).toMatchObject({ type: 'deleted', rel: 'conversation', operationId: null });
    expect(event).toEqual({
      type: 'callback.conversationDeleted',
      conversationHref: absolute(raw, firstEvent(raw).link.href),
    });
  });

  it('maps onlineMeeting added (in the conversation) to onlineMeetingAdded with the terminate link', () => {
    const raw = rawOf('Event_ConversationConferenceAdded.json', P);
    const ev = firstEvent(raw);
    const { wire, event } = mapOne('Event_ConversationConferenceAdded.json', P);
    expect(wire.in).toBe('conversation');
    expect(event).toEqual({
      type: 'callback.onlineMeetingAdded',
      conversationHref: absolute(raw, raw.sender[0].href),
      onlineMeetingUri: 'sip:BL20R04meet48@apacmeetings.lync.com;gruu;opaque=app:conf:focus:id:8C1RSJYA',
      terminateHref: absolute(
        raw,
        ev._embedded[`${P}onlineMeeting`]._links[`${P}terminateOnlineMeeting`].href,
      ),
    });
    const second = mapOne('Event_ConversationConferenceUpdated.json', P).event;
    expect(second).toMatchObject({ type: 'callback.onlineMeetingAdded' });
    expect(second).not.toHaveProperty('terminateHref');
  });

  it('maps messaging updated to messagingUpdated with addMessaging or the send/typing/stop links', () => {
    const raw = rawOf('Event_MessagingDisconnected.json', P);
    const links = firstEvent(raw)._embedded[`${P}messaging`]._links;
    expect(mapOne('Event_MessagingDisconnected.json', P).event).toEqual({
      type: 'callback.messagingUpdated',
      conversationHref: absolute(raw, raw.sender[0].href),
      state: 'Disconnected',
      links: { addMessaging: absolute(raw, links[`${P}addMessaging`].href) },
    });
    const connected = rawOf('Event_MessagingConnected.json', P);
    const on = firstEvent(connected)._embedded[`${P}messaging`]._links;
    expect(mapOne('Event_MessagingConnected.json', P).event).toEqual({
      type: 'callback.messagingUpdated',
      conversationHref: absolute(connected, connected.sender[0].href),
      state: 'Connected',
      links: {
        sendMessage: absolute(connected, on[`${P}sendMessage`].href),
        setIsTyping: absolute(connected, on[`${P}setIsTyping`].href),
        stopMessaging: absolute(connected, on[`${P}stopMessaging`].href),
      },
    });
  });

  it('maps conversationBridge added (step 10) to bridgeAdded with the bridgedParticipants link', () => {
    const raw = rawOf('Event_ConversationBridgeAdded.json', P);
    const ev = firstEvent(raw);
    expect(mapOne('Event_ConversationBridgeAdded.json', P).event).toEqual({
      type: 'callback.bridgeAdded',
      conversationHref: absolute(raw, ev.in.href),
      bridgeHref: absolute(raw, ev.link.href),
      bridgedParticipantsHref: absolute(
        raw,
        ev._embedded[`${P}conversationBridge`]._links[`${P}bridgedParticipants`].href,
      ),
      onlineMeetingUri: 'sip:BL20R04meet48@apacmeetings.lync.com;gruu;opaque=app:conf:focus:id:8C1RSJYA',
    });
  });

  it('maps bridgedParticipant added (step 11) with display name, URI and filter state', () => {
    const raw = rawOf('Event_BridgedParticipantAdded.json', P);
    const { wire, event } = mapOne('Event_BridgedParticipantAdded.json', P);
    expect(wire.in).toBe('bridgedParticipants');
    expect(event).toEqual({
      type: 'callback.bridgedParticipantAdded',
      conversationHref: absolute(raw, raw.sender[0].href),
      bridgedParticipantHref: absolute(raw, firstEvent(raw).link.href),
      participantUri: 'sip:bridgedparticipant@example.com',
      displayName: 'john',
      messageFilterState: 'Disabled',
    });
  });

  it('maps roster participant events (no `in`) to participantAdded/Updated/Deleted', () => {
    const raw = rawOf('Event_ParticipantAdded.json', P);
    expect(mapOne('Event_ParticipantAdded.json', P).event).toEqual({
      type: 'callback.participantAdded',
      conversationHref: absolute(raw, raw.sender[0].href),
      participantHref: absolute(raw, firstEvent(raw).link.href),
      uri: 'sip:participant@example.com',
      name: 'Original Name',
      links: {},
    });
    expect(mapOne('Event_ParticipantUpdated.json', P).event).toMatchObject({
      type: 'callback.participantUpdated',
      uri: 'sip:updated@example.com',
      name: 'Updated Name',
      links: {},
    });
    const eject = rawOf('Event_ParticipantUpdated_WithEjectLink.json', P);
    expect(mapOne('Event_ParticipantUpdated_WithEjectLink.json', P).event).toMatchObject({
      type: 'callback.participantUpdated',
      links: {
        eject: absolute(eject, firstEvent(eject)._embedded[`${P}participant`]._links[`${P}eject`].href),
      },
    });
    const deleted = rawOf('Event_ParticipantDeleted.json', P);
    expect(mapOne('Event_ParticipantDeleted.json', P).event).toEqual({
      type: 'callback.participantDeleted',
      conversationHref: absolute(deleted, deleted.sender[0].href),
      participantHref: absolute(deleted, firstEvent(deleted).link.href),
      links: {},
    });
  });

  it('maps participantMessaging added/deleted to the participant it is `in`', () => {
    for (const [name, type] of [
      ['Event_ParticipantMessagingAdded.json', 'callback.participantMessagingAdded'],
      ['Event_ParticipantMessagingDeleted.json', 'callback.participantMessagingDeleted'],
    ] as const) {
      const raw = rawOf(name, P);
      const { wire, event } = mapOne(name, P);
      expect(wire.in).toBe('participant');
      expect(event).toEqual({
        type,
        conversationHref: absolute(raw, raw.sender[0].href),
        participantHref: absolute(raw, firstEvent(raw).in.href),
      });
    }
  });

  it('maps the outgoing message started/completed (step 12) with status and timestamp', () => {
    const raw = rawOf('Event_MessageStarted.json', P);
    expect(mapOne('Event_MessageStarted.json', P).event).toEqual({
      type: 'callback.messageStarted',
      conversationHref: absolute(raw, raw.sender[0].href),
      messageHref: absolute(raw, firstEvent(raw).link.href),
      direction: 'Outgoing',
    });
    const done = rawOf('Event_MessageCompleted.json', P);
    const { wire, event } = mapOne('Event_MessageCompleted.json', P);
    expect(wire.status).toBe('Success');
    expect(event).toEqual({
      type: 'callback.messageCompleted',
      conversationHref: absolute(done, done.sender[0].href),
      messageHref: absolute(done, firstEvent(done).link.href),
      direction: 'Outgoing',
      status: 'Success',
      timestamp: '2016-12-15T20:05:08.631Z',
    });
  });

  it('maps the incoming message with its decoded text, sender and .NET timestamp', () => {
    const raw = rawOf('Event_MessageIncoming.json', P);
    const ev = firstEvent(raw);
    const message = ev._embedded[`${P}message`];
    expect(mapOne('Event_MessageIncoming.json', P, 'conf-7').event).toEqual({
      type: 'callback.messageCompleted',
      callbackContext: 'conf-7',
      conversationHref: absolute(raw, raw.sender[0].href),
      messageHref: absolute(raw, ev.link.href),
      direction: 'Incoming',
      status: 'Success',
      text: '__message__',
      sender: {
        href: absolute(raw, message._links[`${P}participant`].href),
        uri: 'sip:participant@example.com',
        name: 'Original Name',
      },
      timestamp: '2017-03-14T20:42:02.496Z',
    });
  });

  it('lists audio/video, prompt, tone and transfer events with no machine event', () => {
    const ignored = CALLBACK_FIXTURES.filter((name) =>
      /AudioVideo|AudioCall|Prompt|Tone|Transfer/.test(name),
    );
    expect(ignored.length).toBeGreaterThanOrEqual(12);
    for (const name of ignored) {
      const out = toEvents(envelopeOf(name, P));
      expect(out.length, name).toBeGreaterThan(0);
      for (const { wire, event } of out) {
        expect(event, name).toBeNull();
        expect(wire.conversation, name).not.toBeNull();
      }
    }
    expect(mapOne('Event_TransferStarted.json', P).wire.operationId).toBe(
      '49541af3-6866-4098-b6d9-b3ecd7784346',
    );
  });

  it('resolves against the baseuri host even when it differs from the usual pool', () => {
    const raw = rawOf('Event_IncomingAudioCall_NoActionLinks.json', P);
    expect(new URL(raw.baseuri).host).toBe('webpoolbl20r4.infra.lync.com');
    const { wire } = mapOne('Event_IncomingAudioCall_NoActionLinks.json', P);
    expect(new URL(wire.href).host).toBe('webpoolbl20r4.infra.lync.com');
  });

  it('gives a heartbeat no events', () => {
    expect(toEvents(envelopeOf('Event_Empty.json', P))).toEqual([]);
  });
});

if (!FIXTURES_PRESENT) {
  describe('toEvents over the captured callbacks', () => {
    it.skip(FIXTURES_SKIP_MESSAGE, () => {});
  });
}

// ---------------------------------------------------------------------------------------------------------
// Shapes the captures do not cover (wire-spec 5.5, 6.7, 6.8, 9.1). Envelopes written here from the spec.

const BASE = 'https://pool.example.test';
const CONV =
  '/platformservice/v1/applications/42/communication/conversations/c-1?endpointId=sip:helpdesk@contoso.com';
const MSG = '/platformservice/v1/applications/42/communication/conversations/c-1/messaging';

function envelope(events: unknown[], sender = { rel: 'service:conversation', href: CONV }, baseuri = BASE) {
  return CallbackEnvelopeSchema.parse({
    _links: { self: { href: '/events?ack=1' } },
    sender: [{ ...sender, events }],
    baseuri,
  });
}

function typingEvent(type: 'added' | 'deleted' | 'updated', title?: string) {
  return {
    link: { rel: 'service:participant', href: `${CONV.split('?')[0]}/participants/alice@contoso.com`, title },
    in: { rel: 'service:typingParticipants', href: `${MSG}/typingParticipants` },
    type,
  };
}

describe('toEvents typing versus roster', () => {
  it('reads a participant added in typingParticipants as typing started, not as a join', () => {
    const [out] = toEvents(envelope([typingEvent('added', 'Alice Agent')]));
    expect(out?.wire.in).toBe('typingParticipants');
    expect(out?.event).toEqual({
      type: 'callback.typing',
      conversationHref: `${BASE}${CONV}`,
      participantHref: `${BASE}/platformservice/v1/applications/42/communication/conversations/c-1/participants/alice@contoso.com`,
      name: 'Alice Agent',
      isTyping: true,
    });
  });

  it('reads a participant deleted from typingParticipants as typing stopped, not as a leave', () => {
    const [out] = toEvents(envelope([typingEvent('deleted')]));
    expect(out?.event).toMatchObject({ type: 'callback.typing', isTyping: false });
    expect(out?.event).not.toHaveProperty('name');
  });

  it('ignores a participant updated in typingParticipants', () => {
    expect(toEvents(envelope([typingEvent('updated')]))[0]?.event).toBeNull();
  });

  it('reads the same participant without `in` as a roster change', () => {
    const { in: _omitted, ...roster } = typingEvent('added', 'Alice Agent');
    expect(toEvents(envelope([roster]))[0]?.event).toMatchObject({
      type: 'callback.participantAdded',
      name: 'Alice Agent',
    });
  });
});

describe('toEvents failures', () => {
  const invitation = (state: string, extra: Record<string, unknown> = {}) => ({
    link: { rel: 'ms:rtc:saas:participantInvitation', href: '/p/participantInvitations/inv-1' },
    _embedded: {
      'ms:rtc:saas:participantInvitation': {
        direction: 'Outgoing',
        state,
        operationId: 'chat-1:addParticipant:1',
        to: 'sip:alice@contoso.com',
        _links: { 'ms:rtc:saas:conversation': { href: CONV } },
      },
    },
    type: 'completed',
    ...extra,
  });
  const communication = { rel: 'ms:rtc:saas:communication', href: '/p/communication' };

  it('reports an invitation completed with status Failure and copies its reason', () => {
    const reason = { code: 'RemoteFailure', subcode: 'Timeout', message: 'no answer' };
    const [out] = toEvents(envelope([invitation('Failed', { status: 'Failure', reason })], communication));
    expect(out?.wire).toMatchObject({ status: 'Failure', reason, operationId: 'chat-1:addParticipant:1' });
    expect(out?.event).toEqual({
      type: 'callback.invitationCompleted',
      kind: 'participant',
      direction: 'Outgoing',
      invitationHref: `${BASE}/p/participantInvitations/inv-1`,
      conversationHref: `${BASE}${CONV}`,
      operationId: 'chat-1:addParticipant:1',
      status: 'Failure',
      state: 'Failed',
      reason,
      to: 'sip:alice@contoso.com',
    });
  });

  it.each(['Failed', 'Declined', 'Cancelled'])(
    'treats an invitation completed in state %s as a failure',
    (state) => {
      const [out] = toEvents(envelope([invitation(state)], communication));
      expect(out?.wire.status).toBeNull();
      expect(out?.event).toMatchObject({ type: 'callback.invitationCompleted', status: 'Failure', state });
    },
  );

  it('treats an invitation completed Connected as a success', () => {
    const [out] = toEvents(envelope([invitation('Connected', { status: 'Success' })], communication));
    expect(out?.event).toMatchObject({ status: 'Success', state: 'Connected' });
  });

  it('maps the incoming invitation completed after acceptAndBridge with direction Incoming', () => {
    const event = invitation('Connected', { status: 'Success' });
    const rel = 'ms:rtc:saas:messagingInvitation';
    const [out] = toEvents(
      envelope(
        [
          {
            ...event,
            link: { rel, href: '/p/messagingInvitations/m-1' },
            _embedded: {
              [rel]: { ...event._embedded['ms:rtc:saas:participantInvitation'], direction: 'Incoming' },
            },
          },
        ],
        communication,
      ),
    );
    expect(out?.event).toMatchObject({
      type: 'callback.invitationCompleted',
      kind: 'messaging',
      direction: 'Incoming',
      status: 'Success',
    });
  });

  it('reports a message completed with Failure and its reason', () => {
    const reason = { code: 'Timeout', message: 'not delivered' };
    const [out] = toEvents(
      envelope([
        {
          link: { rel: 'service:message', href: `${MSG}/messages/5` },
          status: 'Failure',
          reason,
          _embedded: { 'service:message': { direction: 'Outgoing', operationId: 'chat-1:welcome:1' } },
          type: 'completed',
        },
      ]),
    );
    expect(out?.event).toMatchObject({
      type: 'callback.messageCompleted',
      status: 'Failure',
      reason,
      operationId: 'chat-1:welcome:1',
    });
  });
});

describe('toEvents message bodies', () => {
  it('decodes an HTML message body and takes the sender name from the participant link title', () => {
    const html = 'data:text/html;charset=utf-8,%3cp%3eHello+%3cb%3ethere%3c%2fb%3e%3c%2fp%3e';
    const [out] = toEvents(
      envelope([
        {
          link: { rel: 'service:message', href: `${MSG}/messages/9` },
          status: 'Success',
          _embedded: {
            'service:message': {
              direction: 'Incoming',
              timeStamp: '2024-05-01T10:00:00Z',
              _links: {
                'service:participant': {
                  href: `${CONV.split('?')[0]}/participants/bob@contoso.com`,
                  title: 'Bob',
                },
                htmlMessage: { href: html },
              },
            },
          },
          type: 'completed',
        },
      ]),
    );
    expect(out?.event).toMatchObject({
      type: 'callback.messageCompleted',
      direction: 'Incoming',
      html: '<p>Hello <b>there</b></p>',
      sender: {
        name: 'Bob',
        href: `${BASE}/platformservice/v1/applications/42/communication/conversations/c-1/participants/bob@contoso.com`,
      },
      timestamp: '2024-05-01T10:00:00.000Z',
    });
    expect(out?.event).not.toHaveProperty('text');
  });

  it('ignores a body link that is not a data URI instead of failing', () => {
    const [out] = toEvents(
      envelope([
        {
          link: { rel: 'service:message', href: `${MSG}/messages/10` },
          _embedded: {
            'service:message': { direction: 'Incoming', _links: { plainMessage: { href: '/x/body' } } },
          },
          type: 'completed',
        },
      ]),
    );
    expect(out?.event).toMatchObject({ type: 'callback.messageCompleted', status: 'Success' });
    expect(out?.event).not.toHaveProperty('text');
  });
});

describe('toEvents hrefs and conversations', () => {
  it('names one conversation with one string across the events of a callback', () => {
    const upper = CONV.replace('c-1', 'C-1');
    const out = toEvents(
      CallbackEnvelopeSchema.parse({
        _links: { self: { href: '/events' } },
        sender: [
          {
            rel: 'service:communication',
            href: '/p/communication',
            events: [{ link: { rel: 'service:conversation', href: CONV }, type: 'deleted' }],
          },
          {
            rel: 'service:conversation',
            href: upper,
            events: [{ link: { rel: 'service:participant', href: '/p/participants/x' }, type: 'deleted' }],
          },
        ],
        baseuri: BASE,
      }),
    );
    expect(out.map((n) => n.wire.conversation)).toEqual([`${BASE}${CONV}`, `${BASE}${CONV}`]);
  });

  it('keeps an absolute href as it is and resolves a relative one against a baseuri that has a path', () => {
    const out = toEvents(
      envelope(
        [
          { link: { rel: 'service:participant', href: 'https://other.example/p/1' }, type: 'deleted' },
          { link: { rel: 'service:participant', href: '/p/2?a=1\\u0026b=2' }, type: 'deleted' },
        ],
        { rel: 'service:conversation', href: CONV },
        `${BASE}/platformservice/v1/applications`,
      ),
    );
    expect(out.map((n) => n.wire.href)).toEqual(['https://other.example/p/1', `${BASE}/p/2?a=1&b=2`]);
  });

  it('keeps the envelope order across senders and events', () => {
    const out = toEvents(
      CallbackEnvelopeSchema.parse({
        _links: { self: { href: '/events' } },
        sender: [
          {
            rel: 'service:conversation',
            href: CONV,
            events: [
              { link: { rel: 'service:messaging', href: MSG }, type: 'updated' },
              { link: { rel: 'service:participantMessaging', href: '/p/pm' }, type: 'deleted' },
            ],
          },
          {
            rel: 'service:communication',
            href: '/p/communication',
            events: [{ link: { rel: 'service:conversation', href: CONV }, type: 'deleted' }],
          },
        ],
        baseuri: BASE,
      }),
    );
    expect(out.map((n) => n.event?.type)).toEqual([
      'callback.messagingUpdated',
      'callback.participantMessagingDeleted',
      'callback.conversationDeleted',
    ]);
  });

  it('leaves conversation and event empty when nothing names the conversation', () => {
    const [out] = toEvents(
      envelope([{ link: { rel: 'service:participant', href: '/p/x' }, type: 'added' }], {
        rel: 'service:communication',
        href: '/p/communication',
      }),
    );
    expect(out?.wire.conversation).toBeNull();
    expect(out?.event).toBeNull();
  });

  it('lists unknown resources (localParticipant, …) without a machine event and without callbackContext noise', () => {
    const [out] = toEvents(envelope([{ link: { rel: 'localParticipant', href: '/p/me' }, type: 'added' }]));
    expect(out).toEqual({
      wire: {
        type: 'added',
        rel: 'localParticipant',
        href: `${BASE}/p/me`,
        status: null,
        reason: null,
        operationId: null,
        conversation: `${BASE}${CONV}`,
      },
      event: null,
    });
  });
});

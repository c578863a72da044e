/**
 * Emulator conformance: for every captured payload in ../shared/fixtures/captured, the
 * emulator's own output for the same kind of resource or callback — produced by a real chat over HTTP —
 * has the same structure (keys, rels, embedded resource types, value kinds, status codes). Values are not
 * compared. Every deliberate deviation is an explicit, commented entry below (and in the README).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import { Poster } from '../../src/emulator/post.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { findEmbeddedOne, findLink, type Resource } from '../../src/wire/hal.ts';
import { withQuery } from '../../src/wire/href.ts';
import { parseJsonText } from '../../src/wire/json.ts';
import { localRel } from '../../src/wire/rels.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { FIXTURES_PRESENT, fixtureNames, fixtureText, NEGATIVE_FIXTURES } from '../helpers/fixtures.ts';
import { SaClient } from './helpers.ts';
import { type ShapeOptions, shapeDiff } from './shape.ts';

// ------------------------------------------------------------------------------------------ the lists

/** Resources the emulator serves, by fixture file → what the test fetches. */
const RESOURCES = {
  'Discover.json': 'discover',
  'Applications.json': 'applications',
  'Application.json': 'application',
  'AnonApplicationToken.json': 'anonApplicationToken',
  'Messaging.json': 'messaging',
  'Communication_WithStartMessagingWithIdentity.json': 'communication',
} as const;
type ResourceKey = (typeof RESOURCES)[keyof typeof RESOURCES];

/**
 * Degraded captures (a link or resource missing) that exist to test the SA's robustness. The emulator
 * always serves the complete form, so it must contain every key the degraded capture has (extras allowed).
 */
const DEGRADED: Record<string, ResourceKey | 'event'> = {
  'Application_NoAdhocMeetings.json': 'application',
  'Application_NoCommunicationResource.json': 'application',
  'Application_NoGetAnonApplicationToken.json': 'application',
  'Applications_NoApplication.json': 'applications',
  'Communication_NoStartAudio.json': 'communication',
  'Communication_NoStartAudioVideo.json': 'communication',
  'Event_IncomingIMCall_NoActionLinks.json': 'event',
  // A conversation with no modality links at all: the emulator's Connected conversation always has them.
  'Event_ConversationConnected_NoModality.json': 'event',
};

/** Captures the emulator does not produce at all (it emulates customer chat only). */
const NOT_EMULATED: Record<string, string> = {
  'AdhocMeeting.json':
    'not emulated: no POST adhocMeetings (the chat flow starts its meeting via startAdhocMeeting)',
  'AdhocMeeting_NoJoinAdhocMeetingLink.json':
    'not emulated: no POST adhocMeetings (the chat flow starts its meeting via startAdhocMeeting)',
  // The emulator ends a conversation with `deleted` only; the platform's `updated` Disconnected is not sent.
  'Event_ConversationDisconnected.json': 'not emulated: conversation updated/Disconnected is never sent',
  'AudioVideo.json': 'not emulated (audio/video scenario)',
  'Event_AudioVideoConnected.json': 'not emulated (audio/video scenario)',
  'Event_AudioVideoConnected_NoActionLink.json': 'not emulated (audio/video scenario)',
  'Event_AudioVideoFlowAdded.json': 'not emulated (audio/video scenario)',
  'Event_AudioVideoFlowAddedAsConnected.json': 'not emulated (audio/video scenario)',
  'Event_AudioVideoFlowConnected.json': 'not emulated (audio/video scenario)',
  'Event_AudioVideoInvitationStarted.json': 'not emulated (audio/video scenario)',
  'Event_IncomingAudioCall.json': 'not emulated (audio/video scenario)',
  'Event_IncomingAudioCall_NoActionLinks.json': 'not emulated (audio/video scenario)',
  'Event_PromptCompleted.json': 'not emulated (audio/video scenario: prompts)',
  'Event_PromptStarted.json': 'not emulated (audio/video scenario: prompts)',
  'Event_ToneReceived.json': 'not emulated (audio/video scenario: DTMF tones)',
  'Event_TransferCompleted.json': 'not emulated (audio/video scenario: call transfer)',
  'Event_TransferStarted.json': 'not emulated (audio/video scenario: call transfer)',
};

/** The capture of status codes; checked against the statuses the emulator answered. */
const STATUS_FIXTURE = 'MockResponseData.json';

/**
 * Deliberate structural deviations, per fixture: paths where the emulator may add a key (extra) or lack
 * one (missing). Each entry is documented in the README's "Emulator conformance" section.
 */
const EV = '$.sender[0].events[0]';
const IDENTITY_DEVIATION = {
  // The emulator's communication offers startMessaging, never startMessagingWithIdentity.
  extra: ['$._links.startMessaging'],
  missing: ['$._links.startMessagingWithIdentity'],
};
const DEVIATIONS: Record<string, { extra?: string[]; missing?: string[] }> = {
  'Communication_WithStartMessagingWithIdentity.json': IDENTITY_DEVIATION,
  'Application_NoAdhocMeetings.json': {
    missing: ['$._embedded.communication._links.startMessagingWithIdentity'],
  },
  'Application_NoGetAnonApplicationToken.json': {
    missing: ['$._embedded.communication._links.startMessagingWithIdentity'],
  },
  'Event_IncomingIMCall.json': {
    // No customContent link on the incoming messagingInvitation (the emulator has no custom content).
    missing: [
      `${EV}._embedded.messagingInvitation._links.customContent`,
      `${EV}._embedded.messagingInvitation._embedded.application._embedded.communication._links.startMessagingWithIdentity`,
    ],
    extra: [
      `${EV}._embedded.messagingInvitation._embedded.application._embedded.communication._links.startMessaging`,
    ],
  },
  'Event_IncomingIMCall_NoActionLinks.json': {
    missing: [
      `${EV}._embedded.messagingInvitation._links.customContent`,
      `${EV}._embedded.messagingInvitation._embedded.application._embedded.communication._links.startMessagingWithIdentity`,
    ],
  },
  // The emulator's onlineMeeting always offers terminateOnlineMeeting (the capture's second `added` lacks it).
  'Event_ConversationConferenceUpdated.json': {
    extra: [`${EV}._embedded.onlineMeeting._links.terminateOnlineMeeting`],
  },
  // The emulator echoes the meeting subject on the Conferencing conversation.
  'Event_ConversationConferencing.json': { extra: [`${EV}._embedded.conversation.subject`] },
  // In the chat flow the conversation is always bridged before it is Connected.
  'Event_ConversationConnected.json': { extra: [`${EV}._embedded.conversation._links.conversationBridge`] },
  // Same shape as an audio call's Connected conversation (values such as activeModalities are not compared).
  'Event_ConversationConnected_WithAudio.json': {
    extra: [`${EV}._embedded.conversation._links.conversationBridge`],
  },
  // The emulator echoes the sender's operationId on outgoing messages.
  'Event_MessageStarted.json': { extra: [`${EV}._embedded.message.operationId`] },
  'Event_MessageCompleted.json': { extra: [`${EV}._embedded.message.operationId`] },
  // The emulator adds status (Success) to the completed messagingInvitation event.
  'Event_MessagingInvitationCompleted.json': { extra: [`${EV}.status`] },
  // The emulator echoes the meeting subject on the onlineMeetingInvitation.
  'Event_OnlineMeetingInvitationStarted.json': { extra: [`${EV}._embedded.onlineMeetingInvitation.subject`] },
  // The emulator echoes the invited agent's uri as `to` on the participantInvitation.
  'Event_ParticipantInvitationStarted.json': { extra: [`${EV}._embedded.participantInvitation.to`] },
  // The SA's own participant is always ejectable in the emulator (the _WithEjectLink capture has the link).
  'Event_ParticipantUpdated.json': { extra: [`${EV}._embedded.participant._links.eject`] },
};

/** Status codes that deliberately differ from MockResponseData.json (fixture → emulator status). */
const STATUS_DEVIATIONS: Record<string, number> = {
  // The docs say 200; the SDK mock says 201. Default follows the docs; `anonTokenStatus: 201` switches.
  'AnonApplicationToken.json': 200,
};

// ------------------------------------------------------------------------------------------ capture

interface Recorded {
  url: string;
  method: string;
  body: string;
}
interface WireEvent {
  link: { rel: string; href: string };
  in?: { rel: string };
  type: string;
  status?: string;
  _embedded?: Record<string, Resource>;
}
interface Envelope {
  sender: Array<{ rel: string; href: string; events: WireEvent[] }>;
  [key: string]: unknown;
}

let stack: RunningStack;
let sa: SaClient | undefined;
let customer: AnonCustomer | undefined;
const realFetch = globalThis.fetch;
// The emulator POSTs its callbacks with node:http (Poster), the SA makes its requests with fetch: both recorded.
const realPost = Poster.prototype.post;
const recorded: Recorded[] = [];
const resources = new Map<ResourceKey, { status: number; body: Resource }>();

function callbacks(): Envelope[] {
  const path = stack.sa.config.callbackPath;
  return recorded
    .filter((r) => r.method === 'POST' && new URL(r.url).pathname === path)
    .map((r) => JSON.parse(r.body) as Envelope);
}

function eventKey(senderRel: string, event: WireEvent): string {
  const embedded = event._embedded ? Object.values(event._embedded)[0] : undefined;
  return [
    localRel(senderRel),
    localRel(event.link.rel),
    event.in ? localRel(event.in.rel) : '-',
    event.type,
    typeof embedded?.state === 'string' ? embedded.state : '-',
    typeof embedded?.direction === 'string' ? embedded.direction : '-',
  ].join(' / ');
}

/** Every callback event as a one-sender, one-event envelope, keyed by its kind. */
function emulatorEvents(): Array<{ key: string; envelope: Envelope }> {
  return callbacks().flatMap((envelope) =>
    envelope.sender.flatMap((sender) =>
      sender.events.map((event) => ({
        key: eventKey(sender.rel, event),
        envelope: { ...envelope, sender: [{ ...sender, events: [event] }] },
      })),
    ),
  );
}

function fixtureJson(name: string): unknown {
  return parseJsonText(fixtureText(name));
}

function optionsFor(name: string, degraded: boolean): ShapeOptions {
  const deviation = DEVIATIONS[name] ?? {};
  return {
    allowExtra: new Set(deviation.extra ?? []),
    allowMissing: new Set(deviation.missing ?? []),
    ignoreAllExtra: degraded,
  };
}

function hasKey(key: string): (e: { key: string }) => boolean {
  return (e) => e.key === key;
}

async function recordResource(key: ResourceKey, result: { status: number; json: Resource }): Promise<void> {
  resources.set(key, { status: result.status, body: result.json });
}

/**
 * Messaging.json is a Disconnected messaging (offering addMessaging). The emulator's messaging is in that
 * state when it calls back `messaging updated Disconnected`: GET it then, before the SA sees the callback.
 */
async function snapshotDisconnectedMessaging(url: string, body: string): Promise<void> {
  if (!sa || resources.has('messaging') || new URL(url).pathname !== stack?.sa.config.callbackPath) return;
  let envelope: Envelope;
  try {
    envelope = JSON.parse(body) as Envelope;
  } catch {
    return;
  }
  for (const sender of envelope.sender ?? []) {
    for (const event of sender.events) {
      if (eventKey(sender.rel, event) !== 'conversation / messaging / - / updated / Disconnected / -')
        continue;
      await recordResource('messaging', await sa.get(event.link.href, String(envelope.baseuri)));
      return;
    }
  }
}

// ------------------------------------------------------------------------------------------ the run

describe.skipIf(!FIXTURES_PRESENT)('emulator conformance with the captured payloads', () => {
  beforeAll(async () => {
    globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      if (typeof init?.body === 'string') {
        recorded.push({ url, method: method.toUpperCase(), body: init.body });
        await snapshotDisconnectedMessaging(url, init.body);
      }
      return realFetch(input, init);
    }) as typeof fetch;
    Poster.prototype.post = async function (this: Poster, url, init) {
      recorded.push({ url, method: 'POST', body: init.body });
      await snapshotDisconnectedMessaging(url, init.body);
      return realPost.call(this, url, init);
    };
    stack = await startStack({ logger: silentLogger, emulatorConfig: { heartbeatIntervalMs: 200 } });

    // Resources, as the SA reads them.
    sa = await SaClient.connect(stack.emulatorUrl);
    const discover = await sa.get(`${stack.emulatorUrl}/platformservice/discover`);
    await recordResource('discover', discover);
    const applicationsHref = findLink(discover.json, 'applications')!.href;
    const base = new URL(applicationsHref, stack.emulatorUrl).origin;
    const applications = await sa.get(
      withQuery(applicationsHref, { endpointId: DEMO_TENANT.endpointUri }),
      base,
    );
    await recordResource('applications', applications);
    const application = await sa.get(findLink(applications.json, 'application')!.href, base);
    await recordResource('application', application);
    const communicationHref = findLink(application.json, 'communication')?.href;
    const communication = communicationHref
      ? await sa.get(communicationHref, base)
      : { status: 200, json: findEmbeddedOne(application.json, 'communication') ?? {} };
    await recordResource('communication', communication);
    const token = await sa.post(
      findLink(application.json, 'anonApplicationTokens')!.href,
      { applicationSessionId: 'conformance-1', allowedOrigins: stack.saUrl },
      base,
    );
    await recordResource('anonApplicationToken', token);

    // A full chat: customer ⇄ emulator ⇄ SA; the agent greets and answers, the customer leaves.
    customer = await AnonCustomer.start(stack.saUrl, { name: 'Conformance Customer' });
    await customer.waitForMessage((m) => m.text.includes('How can I help'), 15_000);
    await customer.startTyping();
    await customer.send('hello there');
    await customer.waitForMessage((m) => m.text.includes('You said'), 15_000);
    await customer.leave();
    await eventually(
      () => emulatorEvents(),
      (events) => {
        expect(events.some(hasKey('communication / conversation / - / deleted / - / -'))).toBe(true);
        expect(callbacks().some((c) => c.sender.length === 0)).toBe(true);
      },
      { timeout: 15_000 },
    );
  }, 60_000);

  afterAll(async () => {
    await customer?.close();
    await stack?.close();
    globalThis.fetch = realFetch;
    Poster.prototype.post = realPost;
  });

  it('accounts for every captured fixture in exactly one list', () => {
    const lists = [
      Object.keys(RESOURCES),
      Object.keys(DEGRADED),
      Object.keys(NOT_EMULATED),
      [...NEGATIVE_FIXTURES],
      [STATUS_FIXTURE],
    ];
    for (const name of fixtureNames()) {
      const inLists = lists.filter((list) => list.includes(name)).length;
      const isEvent = name.startsWith('Event_') && inLists === 0;
      expect({ name, lists: inLists + (isEvent ? 1 : 0) }).toEqual({ name, lists: 1 });
    }
  });

  it.each(fixtureNames())('%s', (name) => {
    if (NEGATIVE_FIXTURES.has(name)) {
      // Deliberately broken captures (or placeholders): nothing to conform to; the negative suite uses them.
      const text = fixtureText(name);
      let envelope = false;
      try {
        const parsed = parseJsonText(text) as Record<string, unknown>;
        envelope = Array.isArray(parsed.sender) && parsed.sender.length > 0;
      } catch {
        envelope = false;
      }
      expect(envelope, `${name} is listed as negative but is a usable envelope`).toBe(false);
      return;
    }
    if (name in NOT_EMULATED) {
      expect(NOT_EMULATED[name]).toMatch(/^not emulated/);
      if (name.startsWith('Event_')) {
        // Keeps the list honest: once the emulator produces this kind, it must be compared instead.
        const envelope = fixtureJson(name) as Envelope;
        const seen = new Set(emulatorEvents().map((e) => e.key));
        for (const sender of envelope.sender) {
          for (const event of sender.events) expect(seen.has(eventKey(sender.rel, event))).toBe(false);
        }
      }
      return;
    }
    if (name === STATUS_FIXTURE) {
      const data = fixtureJson(name) as { ResponseData: Array<{ ResponseCode: string; Content?: string }> };
      const checked: string[] = [];
      for (const entry of data.ResponseData) {
        const content = entry.Content;
        if (!content || !(content in RESOURCES)) continue;
        const got = resources.get(RESOURCES[content as keyof typeof RESOURCES]);
        const want = STATUS_DEVIATIONS[content] ?? Number(entry.ResponseCode);
        expect({ content, status: got?.status }).toEqual({ content, status: want });
        checked.push(content);
      }
      expect(checked.length).toBeGreaterThan(0);
      return;
    }
    const expected = fixtureJson(name);
    const degradedSource = DEGRADED[name];
    const resourceKey = name in RESOURCES ? RESOURCES[name as keyof typeof RESOURCES] : degradedSource;
    if (resourceKey && resourceKey !== 'event') {
      const actual = resources.get(resourceKey);
      expect(actual, `the emulator's ${resourceKey} was not captured`).toBeDefined();
      expect(shapeDiff(expected, actual!.body, optionsFor(name, degradedSource !== undefined))).toEqual([]);
      return;
    }
    // A callback envelope: compare each captured event with the emulator's events of the same kind.
    const envelope = expected as Envelope;
    const events = emulatorEvents();
    if (envelope.sender.length === 0) {
      const heartbeat = callbacks().find((c) => c.sender.length === 0);
      expect(heartbeat, 'no heartbeat callback seen').toBeDefined();
      expect(shapeDiff(envelope, heartbeat, optionsFor(name, false))).toEqual([]);
      return;
    }
    for (const sender of envelope.sender) {
      for (const event of sender.events) {
        const key = eventKey(sender.rel, event);
        const candidates = events.filter(hasKey(key));
        const kinds = [...new Set(events.map((e) => e.key))].sort();
        expect(
          candidates.length,
          `no emulator callback of kind ${key}; seen:\n${kinds.join('\n')}`,
        ).toBeGreaterThan(0);
        const single = { ...envelope, sender: [{ ...sender, events: [event] }] };
        const diffs = candidates
          .map((c) => shapeDiff(single, c.envelope, optionsFor(name, degradedSource !== undefined)))
          .sort((a, b) => a.length - b.length);
        expect(diffs[0], `closest emulator callback of kind ${key}`).toEqual([]);
      }
    }
  });
});

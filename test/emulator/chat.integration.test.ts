import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import { findLink, type Resource } from '../../src/wire/hal.ts';
import { resolveHref, withQuery } from '../../src/wire/href.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  type CallbackServer,
  callbackServer,
  closeAll,
  control,
  emulator,
  type FlatEvent,
  Guest,
  SaClient,
} from './helpers.ts';

afterEach(closeAll);

const ALICE = 'sip:alice@contoso.com';

/** Wait for the first callback event matching `match`, after event index `after`. */
async function callbackEvent(
  cb: CallbackServer,
  match: (e: FlatEvent) => boolean,
  after = -1,
): Promise<FlatEvent> {
  const found = await eventually(
    () => cb.events().find((e) => e.index > after && match(e)),
    (e) => expect(e).toBeDefined(),
  );
  return found!;
}

const link = (resource: Resource | undefined, rel: string) => findLink(resource, rel)?.href ?? '';

describe('customer chat over real HTTP against the emulator, driven by a scripted SA', () => {
  it('runs the chat flow end to end: token, guest, invitation, meeting, bridge, welcome, agent, typing, messages, leave', async () => {
    const { url, emulator: emu } = await emulator();
    const cb = await callbackServer(url);
    emu.setCallbackUrl(DEMO_TENANT.applicationId, cb.url);
    const sa = await SaClient.connect(url);

    // Step 3: anonApplicationTokens → psat token + discover link (double-encoded anonymousContext).
    const { result: tokenResult, token, discover } = await sa.anonToken();
    expect(tokenResult.status).toBe(200);
    expect(token.startsWith('psat=')).toBe(true);
    expect(discover).toContain('anonymousContext=psat%253d');

    // Steps 4–5: the guest discovers and creates its anonymous application; the long poll runs.
    const guest = new Guest(token, 'https://contoso.com');
    const created = await guest.start(discover, 'Janardhan');
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe('https://contoso.com');

    // Step 6: the guest invites the helpdesk.
    const invited = await guest.invite();
    expect(invited.status).toBe(201);

    // Step 7: the incoming invitation reaches the SA, signed, with the chat actions.
    const incoming = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation' && e.type === 'started');
    expect(incoming.resource?.direction).toBe('Incoming');
    expect(cb.received[0]?.contentType).toBe(
      'application/json; type="application/vnd.microsoft.com.ucwa+json"; charset=utf-8',
    );
    expect(cb.rejected).toEqual([]);
    const p2pHref = resolveHref(link(incoming.resource, 'conversation'), incoming.baseuri);

    // Step 8: startAdhocMeeting → Conferenced with addParticipant; messaging offers addMessaging.
    const start = await sa.post(
      link(incoming.resource, 'startAdhocMeeting'),
      { subject: 'helpcustomermeeting', operationId: 'op-meeting-1', callbackContext: 'conf-1' },
      incoming.baseuri,
    );
    expect(start.status).toBe(201);
    const conferenced = await callbackEvent(
      cb,
      (e) => e.rel === 'conversation' && e.resource?.state === 'Conferenced',
    );
    expect(conferenced.callbackContext).toBe('conf-1');
    const confHref = conferenced.href;
    const addMessaging = await callbackEvent(
      cb,
      (e) => e.rel === 'messaging' && !!link(e.resource, 'addMessaging'),
    );
    const meetingDone = await callbackEvent(
      cb,
      (e) => e.rel === 'onlineMeetingInvitation' && e.type === 'completed',
    );
    const meetingUri = String(meetingDone.resource?.onlineMeetingUri);
    expect(meetingUri).toMatch(/^sip:/);

    // Step 8b: addMessaging on the conference.
    const added = await sa.post(
      link(addMessaging.resource, 'addMessaging'),
      { operationId: 'op-im-1' },
      addMessaging.baseuri,
    );
    expect(added.status).toBe(201);
    await callbackEvent(
      cb,
      (e) =>
        e.rel === 'messaging' &&
        e.resource?.state === 'Connected' &&
        e.href.startsWith(confHref.split('?')[0]!),
    );

    // Steps 9–10: acceptAndBridge → conversationBridge added.
    const bridged = await sa.post(
      link(incoming.resource, 'acceptAndBridge'),
      { onlineMeetingUri: meetingUri, localUserDisplayName: 'Contoso Help Desk' },
      incoming.baseuri,
    );
    expect(bridged.status).toBe(201);
    const bridge = await callbackEvent(cb, (e) => e.rel === 'conversationBridge' && e.type === 'added');

    // Step 11: bridge the agent (Disabled = relayed to the guest).
    const bp = await sa.post(
      link(bridge.resource, 'bridgedParticipants'),
      { displayName: 'Alice from Contoso', participantUri: ALICE, messageFilterState: 'Disabled' },
      bridge.baseuri,
    );
    expect(bp.status).toBe(201);
    await callbackEvent(cb, (e) => e.rel === 'bridgedParticipant' && e.type === 'added');

    // Step 12: welcome on the P2P leg's sendMessage → 201 + Location, message started/completed.
    const p2pMessaging = await callbackEvent(
      cb,
      (e) =>
        e.rel === 'messaging' &&
        e.resource?.state === 'Connected' &&
        e.href.startsWith(p2pHref.split('?')[0]!),
    );
    const welcome = await sa.postText(
      withQuery(link(p2pMessaging.resource, 'sendMessage'), { operationId: 'op-welcome' }),
      'Welcome customer',
      p2pMessaging.baseuri,
    );
    expect(welcome.status).toBe(201);
    expect(welcome.headers.get('location')).toMatch(/\/messaging\/messages\/\d+/);
    await callbackEvent(cb, (e) => e.rel === 'message' && e.type === 'completed' && e.status === 'Success');

    // Step 13: the welcome reaches the guest's event channel.
    await eventually(
      () => guest.incomingMessages(),
      (messages) => expect(messages).toContainEqual({ text: 'Welcome customer', title: 'Contoso Help Desk' }),
    );

    // Steps 14–15: addParticipant (agent) → participant added on the conference leg.
    const invite = await sa.post(
      link(conferenced.resource, 'addParticipant'),
      { to: ALICE, operationId: 'op-alice' },
      conferenced.baseuri,
    );
    expect(invite.status).toBe(201);
    const joined = await callbackEvent(
      cb,
      (e) => e.rel === 'participant' && e.type === 'added' && !e.in && e.resource?.uri === ALICE,
    );
    expect(joined.href.startsWith(confHref.split('?')[0]!)).toBe(true);
    await callbackEvent(
      cb,
      (e) => e.rel === 'participantInvitation' && e.type === 'completed' && e.status === 'Success',
    );

    // Step 16: the agent types (before the greeting) → the guest sees it in typingParticipants.
    await eventually(
      () =>
        guest.events.find(
          (e) => e.rel === 'participant' && e.in === 'typingParticipants' && e.type === 'added',
        ),
      (e) => expect(e?.title).toBe('Alice from Contoso'),
    );
    // Step 17: the agent's message reaches the guest under the bridged display name.
    await eventually(
      () => guest.incomingMessages(),
      (messages) =>
        expect(messages.some((m) => m.title === 'Alice from Contoso' && m.text.includes('Alice Agent'))).toBe(
          true,
        ),
    );

    // Step 18: the guest types → 204; the agent and the SA (conference leg) see it.
    const typing = await guest.post('setIsTyping');
    expect(typing.status).toBe(204);
    await callbackEvent(
      cb,
      (e) => e.in === 'typingParticipants' && e.type === 'added' && e.title === 'Janardhan',
    );
    await eventually(
      () => control(url, 'GET', `/agents/${encodeURIComponent(ALICE)}`),
      (agent) => {
        const conv = (agent.json.conversations as Array<{ typing: string[] }>)[0];
        expect(conv?.typing).toContain('Janardhan');
      },
    );

    // Step 19: the guest's message reaches the agent and the SA (conference leg, Incoming).
    const sent = await guest.send('Where is my order?');
    expect(sent.status).toBe(201);
    const onConference = await callbackEvent(
      cb,
      (e) =>
        e.rel === 'message' &&
        e.type === 'completed' &&
        e.resource?.direction === 'Incoming' &&
        link(e.resource, 'participant').includes('anonymous.invalid'),
    );
    expect(onConference.href.startsWith(confHref.split('?')[0]!)).toBe(true);
    expect(link(onConference.resource, 'plainMessage')).toBe(
      'data:text/plain;charset=utf-8,Where+is+my+order%3f',
    );
    await eventually(
      () => guest.incomingMessages(),
      (messages) =>
        expect(messages).toContainEqual({
          text: 'You said: "Where is my order?"',
          title: 'Alice from Contoso',
        }),
    );

    // Step 20–21: the guest leaves → P2P messaging Disconnected, participant deleted, conversation deleted.
    const left = await guest.post('stopMessaging');
    expect(left.status).toBe(204);
    const deleted = await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'deleted');
    expect(deleted.href.split('?')[0]).toBe(p2pHref.split('?')[0]);
    const teardown = cb
      .events()
      .filter((e) => e.href.startsWith(p2pHref.split('?')[0]!))
      .map((e) => `${e.rel} ${e.type}`);
    expect(teardown).toEqual(
      expect.arrayContaining(['messaging updated', 'participantMessaging deleted', 'participant deleted']),
    );

    // Step 22: the SA deletes the conference → 204, conversation deleted, the meeting is gone.
    const gone = await sa.delete(confHref);
    expect(gone.status).toBe(204);
    await callbackEvent(cb, (e) => e.rel === 'conversation' && e.type === 'deleted' && e.href === confHref);
    const after = await sa.get(confHref);
    expect(after.status).toBe(404);
    expect(after.json.code).toBe('NotFound');
    expect(emu.stats()).toEqual({ openMeetings: 0, openConversations: 0 });
    expect(cb.rejected).toEqual([]);
    expect(guest.pollError).toBeUndefined();
  });
});

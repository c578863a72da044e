import { expect } from 'vitest';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import type { EmulatorConfig } from '../../src/emulator/index.ts';
import { findLink, type Resource } from '../../src/wire/hal.ts';
import { resolveHref, withQuery } from '../../src/wire/href.ts';
import { eventually } from '../helpers/eventually.ts';
import { type CallbackServer, callbackServer, emulator, type FlatEvent, Guest, SaClient } from './helpers.ts';

export const link = (resource: Resource | undefined, rel: string) => findLink(resource, rel)?.href ?? '';
export const pathOf = (href: string) => href.split('?')[0]!.toLowerCase();

/** Wait for the first callback event matching `match`. */
export async function callbackEvent(
  cb: CallbackServer,
  match: (e: FlatEvent) => boolean,
): Promise<FlatEvent> {
  const found = await eventually(
    () => cb.events().find(match),
    (e) => expect(e).toBeDefined(),
  );
  return found!;
}

/**
 * A chat brought up by a minimal scripted SA: guest invited, ad hoc meeting with messaging, guest
 * bridged (display name "Contoso Help Desk"). Agents are bridged/added by the test.
 */
export async function bridgedChat(config: Partial<EmulatorConfig> = {}) {
  const { url, emulator: emu } = await emulator(config);
  const cb = await callbackServer(url);
  emu.setCallbackUrl(DEMO_TENANT.applicationId, cb.url);
  const sa = await SaClient.connect(url);
  const { token, discover } = await sa.anonToken();
  const guest = new Guest(token);
  await guest.start(discover, 'Janardhan');
  await guest.invite();
  const incoming = await callbackEvent(cb, (e) => e.rel === 'messagingInvitation' && e.type === 'started');
  const base = incoming.baseuri;
  const p2pHref = resolveHref(link(incoming.resource, 'conversation'), base);
  await sa.post(link(incoming.resource, 'startAdhocMeeting'), { subject: 'help', operationId: 'op-m' }, base);
  const conferenced = await callbackEvent(
    cb,
    (e) => e.rel === 'conversation' && e.resource?.state === 'Conferenced',
  );
  const confHref = conferenced.href;
  const addMessaging = await callbackEvent(
    cb,
    (e) => e.rel === 'messaging' && !!link(e.resource, 'addMessaging'),
  );
  await sa.post(link(addMessaging.resource, 'addMessaging'), { operationId: 'op-im' }, base);
  const meeting = await callbackEvent(
    cb,
    (e) => e.rel === 'onlineMeetingInvitation' && e.type === 'completed',
  );
  const bridgedRes = await sa.post(
    link(incoming.resource, 'acceptAndBridge'),
    { onlineMeetingUri: meeting.resource?.onlineMeetingUri, localUserDisplayName: 'Contoso Help Desk' },
    base,
  );
  expect(bridgedRes.status).toBe(201);
  const bridge = await callbackEvent(cb, (e) => e.rel === 'conversationBridge' && e.type === 'added');
  const p2pMessaging = await callbackEvent(
    cb,
    (e) =>
      e.rel === 'messaging' &&
      e.resource?.state === 'Connected' &&
      pathOf(e.href).startsWith(pathOf(p2pHref)),
  );
  await eventually(
    () => guest.messaging()?.state,
    (state) => expect(state).toBe('Connected'),
  );
  return {
    url,
    emu,
    cb,
    sa,
    guest,
    base,
    incoming,
    p2pHref,
    confHref,
    meetingUri: String(meeting.resource?.onlineMeetingUri),
    bridgedParticipantsHref: link(bridge.resource, 'bridgedParticipants'),
    addParticipantHref: link(conferenced.resource, 'addParticipant'),
    p2pSendMessage: link(p2pMessaging.resource, 'sendMessage'),
    async bridgeAgent(uri: string, displayName: string, messageFilterState: 'Enabled' | 'Disabled') {
      const result = await sa.post(
        this.bridgedParticipantsHref,
        { displayName, participantUri: uri, messageFilterState },
        base,
      );
      expect(result.status).toBe(201);
      return result;
    },
    async addAgent(uri: string, operationId = `op-${uri}`) {
      const result = await sa.post(this.addParticipantHref, { to: uri, operationId }, base);
      expect(result.status).toBe(201);
      return result;
    },
    async joined(uri: string) {
      return callbackEvent(
        cb,
        (e) => e.rel === 'participant' && e.type === 'added' && !e.in && e.resource?.uri === uri,
      );
    },
    async welcome(text: string, operationId = 'op-welcome') {
      return sa.postText(withQuery(this.p2pSendMessage, { operationId }), text, base);
    },
  };
}

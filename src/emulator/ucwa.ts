import { encodeDataUri } from '../wire/dataUri.ts';
import { bearer, type PsatClaims } from './auth.ts';
import {
  badParameter,
  EmulatorError,
  member,
  optionalString,
  readBodyText,
  readJsonObject,
  requiredString,
  sipUri,
} from './errors.ts';
import { type Core, empty, json, queryOperationId, type Req, Router, readMessageBody } from './http.ts';
import { ucwaParticipantResource } from './resources.ts';
import type { AnonApp } from './world/index.ts';

const B = '/ucwa/psanon/v1/applications';
const A = `${B}/(?<id>[^/]+)`;
const C = `${A}/communication/conversations/(?<cid>[^/]+)`;

/** The anonymous customer's UCWA endpoints (wire-spec 5), authenticated with the psat token. */
export function ucwaRoutes(core: Core): Router {
  const { world, auth, config } = core;
  const u = world.u;
  const router = new Router();
  const abs = (href: string) => `${core.publicUrl()}${href}`;

  /** Verify the psat token and the request's Origin against the token's allowed origins. */
  const guest = async (req: Req): Promise<PsatClaims> => {
    const claims = await auth.verifyPsat(bearer(req.header('authorization')));
    const origins = claims.ao.split(';').filter(Boolean);
    req.note.corsOrigins = origins;
    const origin = req.header('origin');
    if (origin && !origins.includes(origin)) {
      req.note.corsOrigins = [];
      throw new EmulatorError(403, 'Forbidden', `origin ${origin} is not among the token's allowed origins`);
    }
    return claims;
  };

  /** The guest's application, which must have been created with a token of the same session. */
  const anonApp = async (req: Req): Promise<AnonApp> => {
    const claims = await guest(req);
    const anon = world.anonApp(req.params.id!);
    if (anon.asi !== claims.asi || anon.app.cfg.endpointUri.toLowerCase() !== claims.aeu.toLowerCase()) {
      throw new EmulatorError(403, 'Forbidden', `the token does not belong to application ${anon.id}`);
    }
    return anon;
  };

  router.on('POST', B, async (req) => {
    const claims = await guest(req);
    const app = world.appByEndpoint(claims.aeu);
    if (!app)
      throw new EmulatorError(
        403,
        'Forbidden',
        `endpoint ${claims.aeu} is not provisioned`,
        'ApplicationNotFound',
      );
    const body = await readJsonObject(req.raw);
    const anon = world.createAnonApp(app, claims, {
      culture: requiredString(body, 'culture', { max: 100 }),
      userAgent: requiredString(body, 'userAgent', { max: 100 }),
      displayName: optionalString(body, 'anonymousDisplayName', { max: 250 })?.trim() || 'Guest',
    });
    core.expiry.created(anon);
    return json(world.renderAnonApp(anon), 201, { Location: abs(anon.hrefs.path()) });
  });

  router.on('GET', A, async (req) => json(world.renderAnonApp(await anonApp(req))));

  router.on('DELETE', A, async (req) => {
    world.deleteAnonApp(await anonApp(req));
    return empty(204);
  });

  router.on('GET', `${A}/me`, async (req) => {
    const anon = await anonApp(req);
    return json(u.resource('me', { uri: anon.uri, name: anon.displayName }, u.links(anon.hrefs.path('me'))));
  });

  router.on('GET', `${A}/policies`, async (req) => {
    const anon = await anonApp(req);
    return json(u.resource('policies', {}, u.links(anon.hrefs.path('policies'))));
  });

  router.on('GET', `${A}/communication`, async (req) => {
    const anon = await anonApp(req);
    return json(world.renderAnonApp(anon)._embedded?.communication);
  });

  // ---------------------------------------------------------------- event channel

  router.on('GET', `${A}/events`, async (req) => {
    const anon = await anonApp(req);
    const ackText = req.query('ack') ?? '1';
    const ack = Number(ackText);
    if (!Number.isInteger(ack) || ack < 1)
      throw badParameter('ack', `must be a positive integer, got '${ackText}'`);
    if (req.query('key') !== undefined && req.query('key') !== anon.eventsKey) {
      throw badParameter('key', 'does not belong to this application (use the events link as given)');
    }
    const timeoutText = req.query('timeout');
    let timeoutSec = config.eventChannelTimeoutSec;
    if (timeoutText !== undefined) {
      const value = Number(timeoutText);
      if (!Number.isFinite(value) || value < 1 || value > 1800) {
        throw badParameter('timeout', `must be between 1 and 1800 seconds, got '${timeoutText}'`);
      }
      timeoutSec = Math.min(value, config.eventChannelTimeoutSec);
    }
    // An application whose channel nobody polls expires (expiry.ts); a held poll keeps it alive, until it
    // is answered or the guest goes away (an abandoned poll is never answered).
    let polling = true;
    const pollEnded = () => {
      if (!polling) return;
      polling = false;
      core.expiry.pollEnded(anon);
    };
    const onAbort = () => {
      anon.channel.abandon(ack);
      pollEnded();
    };
    req.raw.signal?.addEventListener('abort', onAbort, { once: true });
    core.expiry.pollStarted(anon);
    let result: Awaited<ReturnType<typeof anon.channel.poll>>;
    try {
      result = await anon.channel.poll(ack, timeoutSec * 1000);
    } finally {
      pollEnded();
      req.raw.signal?.removeEventListener('abort', onAbort);
    }
    if (result.kind === 'replaced') {
      throw new EmulatorError(
        409,
        'Conflict',
        'a newer GET on the event channel replaced this one',
        'PGetReplaced',
      );
    }
    if (result.kind === 'closed') {
      throw new EmulatorError(404, 'NotFound', `application ${anon.id} is gone`, 'ApplicationNotFound');
    }
    return json(result.body);
  });

  // ---------------------------------------------------------------- invitation (step 6)

  router.on('POST', `${A}/communication/messagingInvitations`, async (req) => {
    const anon = await anonApp(req);
    const body = await readJsonObject(req.raw);
    const to = sipUri(requiredString(body, 'to', { max: 1024 }), 'to');
    if (to.toLowerCase() !== anon.app.cfg.endpointUri.toLowerCase()) {
      throw new EmulatorError(
        403,
        'Forbidden',
        `this token may only invite ${anon.app.cfg.endpointUri}, not ${to}`,
      );
    }
    const importance = optionalString(body, 'importance', { max: 20 });
    if (importance !== undefined && !['Normal', 'Urgent', 'Emergency'].includes(importance)) {
      throw badParameter('importance', 'must be Normal, Urgent or Emergency');
    }
    const custom = member(body, 'customContent');
    if (custom !== undefined && typeof custom !== 'string')
      throw badParameter('customContent', 'must be a string');
    const operationId = optionalString(body, 'operationId', { max: 50 });
    req.note.operationId = operationId;
    const conv = world.inviteHelpdesk(anon, {
      to,
      operationId,
      subject: optionalString(body, 'subject', { max: 250 }),
      threadId: optionalString(body, 'threadId', { max: 250 }),
      importance,
      customContent: custom
        ? custom.startsWith('data:')
          ? custom
          : encodeDataUri(custom, 'text/plain')
        : undefined,
    });
    const inv = world.renderUcwaInvitation(conv);
    return json(inv, 201, { Location: abs(inv._links.self!.href) });
  });

  router.on('GET', `${A}/communication/messagingInvitations/(?<iid>[^/]+)`, async (req) => {
    const anon = await anonApp(req);
    for (const cid of anon.conversationIds) {
      const conv = world.conversations.get(cid);
      if (conv?.incoming?.id === req.params.iid!.toLowerCase()) return json(world.renderUcwaInvitation(conv));
    }
    throw new EmulatorError(404, 'NotFound', `messaging invitation ${req.params.iid} was not found`);
  });

  // ---------------------------------------------------------------- conversation

  const conversation = async (req: Req) => {
    const anon = await anonApp(req);
    return { anon, conv: world.anonConversation(anon, req.params.cid!) };
  };

  router.on('GET', `${A}/communication/conversations`, async (req) => {
    const anon = await anonApp(req);
    const items = [...anon.conversationIds]
      .map((cid) => world.conversations.get(cid))
      .filter((c) => c && !c.deleted)
      .map((c) => world.renderUcwaConversation(c!));
    return json(
      u.resource(
        'conversations',
        {},
        u.links(anon.hrefs.path('communication/conversations')),
        items.length ? { conversation: items } : undefined,
      ),
    );
  });

  router.on('GET', C, async (req) => json(world.renderUcwaConversation((await conversation(req)).conv)));

  router.on('DELETE', C, async (req) => {
    const { anon, conv } = await conversation(req);
    world.guestLeave(anon, conv.id);
    return empty(204);
  });

  router.on('GET', `${C}/messaging`, async (req) =>
    json(world.renderUcwaMessaging((await conversation(req)).conv)),
  );

  router.on('POST', `${C}/messaging/messages`, async (req) => {
    const { anon, conv } = await conversation(req);
    const operationId = queryOperationId(req) ?? req.query('OperationContext');
    req.note.operationId = operationId;
    const body = await readMessageBody(req);
    const message = world.guestSendMessage(anon, conv.id, { ...body, operationId });
    return empty(201, { Location: abs(anon.hrefs.conversation(conv.id, `messaging/messages/${message.n}`)) });
  });

  router.on('POST', `${C}/messaging/typing`, async (req) => {
    const { anon, conv } = await conversation(req);
    await readBodyText(req.raw);
    world.guestTypingPost(anon, conv.id);
    return empty(204);
  });

  router.on('POST', `${C}/messaging/terminate`, async (req) => {
    const { anon, conv } = await conversation(req);
    await readBodyText(req.raw);
    world.guestLeave(anon, conv.id);
    return empty(204);
  });

  router.on('GET', `${C}/messaging/typingParticipants`, async (req) => {
    const { anon, conv } = await conversation(req);
    return json(
      u.resource(
        'typingParticipants',
        {},
        u.links(anon.hrefs.conversation(conv.id, 'messaging/typingParticipants')),
      ),
    );
  });

  router.on('GET', `${C}/participants/me`, async (req) => {
    const { anon, conv } = await conversation(req);
    return json(
      ucwaParticipantResource(u, anon.hrefs, conv.id, { uri: anon.uri, name: anon.displayName }, true),
    );
  });

  return router;
}

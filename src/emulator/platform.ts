import { netDate } from '../wire/dates.ts';
import type { RelPrefix } from '../wire/rels.ts';
import { aadIssuer, decodeAnonymousContext, doubleEncode, jwksOf, normaliseOrigins } from './auth.ts';
import {
  badParameter,
  callbackUrlField,
  EmulatorError,
  type JsonObject,
  optionalString,
  readBodyText,
  readJsonObject,
  requiredString,
  sipUri,
} from './errors.ts';
import {
  type Core,
  empty,
  json,
  queryOperationId,
  type Req,
  Router,
  readMessageBody,
  stored,
} from './http.ts';
import {
  applicationResource,
  bridgedParticipantResource,
  participantMessagingResource,
  participantResource,
} from './resources.ts';
import { Wire } from './wire.ts';
import type { AppState, StoredResponse } from './world/index.ts';

const P = `/platformservice(?:/tgt-[0-9a-z]+)?/v1/applications/(?<appId>[^/]+)`;
const C = `${P}/communication/conversations/(?<cid>[^/]+)`;

/**
 * The SA side of the platform (wire-spec 2, 3, 4, 6) and the AAD endpoints (token, OpenID metadata, JWKS).
 */
export function platformRoutes(core: Core): Router {
  const { world, auth, config } = core;
  const router = new Router();

  const wireFor = (req: Req): Wire => {
    const internal = req.header('x-ms-namespace')?.toLowerCase() === 'internal';
    return new Wire(internal ? 'ms:rtc:saas:' : (config.relPrefix as RelPrefix));
  };
  const abs = (href: string) => `${core.publicUrl()}${href}`;

  /** The calling SA's application: valid AAD token for it, matching endpointId (when given). */
  const saApp = async (req: Req): Promise<AppState> => {
    const claims = await auth.verifyAad(req.header('authorization'), core.publicUrl());
    const app = world.apps.get(req.params.appId ?? '');
    const denied = (why: string) => new EmulatorError(403, 'Forbidden', why, 'ApplicationNotFound');
    if (!app) throw denied(`application ${req.params.appId} is not provisioned`);
    if (app.cfg.clientId !== claims.appid || app.cfg.tenantId !== claims.tid) {
      throw denied(`the token's application is not provisioned for application ${app.cfg.applicationId}`);
    }
    const endpointId = req.query('endpointId');
    if (endpointId !== undefined && endpointId.toLowerCase() !== app.cfg.endpointUri.toLowerCase()) {
      throw denied(`endpointId ${endpointId} is not an endpoint of application ${app.cfg.applicationId}`);
    }
    return app;
  };

  /** Run an SA side effect once per (application, operation, target, operationId). */
  const once = async (
    req: Req,
    app: AppState,
    operationId: string | undefined,
    produce: () => Promise<StoredResponse>,
  ) => {
    req.note.operationId = operationId;
    if (!operationId) return stored(await produce());
    const target = `${req.path.toLowerCase()}?conversationId=${(req.query('conversationId') ?? '').toLowerCase()}`;
    const key = `${app.cfg.applicationId}|${req.method}|${target}|${operationId}`;
    const prior = world.remember(key);
    if (prior) {
      req.note.replayed = true;
      return stored(prior);
    }
    const result = await produce();
    if (result.status < 300) world.store(key, result);
    return stored(result);
  };

  const bodyOperationId = (body: JsonObject) => optionalString(body, 'operationId', { max: 50 });

  // ---------------------------------------------------------------- discovery, applications

  router.on('GET', '/platformservice/discover', async (req) => {
    const w = wireFor(req);
    const context = req.query('anonymousContext') ?? req.query('anonymousMeetingJoinContext');
    if (context !== undefined) {
      const token = decodeAnonymousContext(context);
      const claims = await auth.verifyPsat(token);
      req.note.corsOrigins = claims.ao.split(';').filter(Boolean);
      const origin = req.header('origin');
      if (origin && !req.note.corsOrigins.includes(origin)) {
        throw new EmulatorError(403, 'Forbidden', `origin ${origin} is not allowed by the token`);
      }
      return json({
        _links: {
          self: { href: abs(`/platformService/discover?anonymousContext=${token}`) },
          [w.rel('applications')]: { href: abs('/platformService/v1/applications') },
          anonApplications: { href: abs('/ucwa/psanon/v1/applications') },
        },
        rel: w.rel('discover'),
      });
    }
    return json({
      _links: {
        self: { href: abs('/platformservice/discover') },
        [w.rel('applications')]: { href: abs('/platformservice/v1/applications') },
        myApplications: { href: abs('/platformservice/v1/myApplications') },
      },
      rel: w.rel('discover'),
    });
  });

  const applications = async (req: Req) => {
    const claims = await auth.verifyAad(req.header('authorization'), core.publicUrl());
    const w = wireFor(req);
    const app = [...world.apps.values()].find(
      (a) => a.cfg.clientId === claims.appid && a.cfg.tenantId === claims.tid,
    );
    if (!app)
      throw new EmulatorError(
        403,
        'Forbidden',
        'no application is provisioned for this token',
        'ApplicationNotFound',
      );
    const endpointId = req.query('endpointId');
    const links: Record<string, { href: string }> = { self: { href: '/platformservice/v1/applications' } };
    if (endpointId !== undefined) {
      if (endpointId.toLowerCase() !== app.cfg.endpointUri.toLowerCase()) {
        throw new EmulatorError(
          403,
          'Forbidden',
          `endpointId ${endpointId} is not provisioned for this application`,
          'ApplicationNotFound',
        );
      }
      links[w.rel('application')] = { href: `${app.hrefs.A}?${app.hrefs.E}` };
    }
    return json({ _links: links, rel: w.rel('applications') });
  };
  router.on('GET', '/platformservice/v1/applications', applications);
  router.on('GET', '/platformservice/v1/myApplications', applications);

  router.on('GET', P, async (req) => json(applicationResource(wireFor(req), (await saApp(req)).hrefs)));

  router.on('GET', `${P}/communication`, async (req) => {
    const app = await saApp(req);
    const resource = applicationResource(wireFor(req), app.hrefs)._embedded;
    return json(Object.values(resource ?? {})[0]);
  });

  // ---------------------------------------------------------------- anonApplicationTokens (step 3)

  router.on('POST', `${P}/anonApplicationTokens`, async (req) => {
    const app = await saApp(req);
    const body = await readJsonObject(req.raw);
    const asi = requiredString(body, 'applicationSessionId', { max: 100 });
    const allowed = optionalString(body, 'allowedOrigins', { max: 500 }) ?? '';
    const meetingUrl = optionalString(body, 'meetingUrl', { max: 1024 });
    if (meetingUrl !== undefined && !/^https:\/\//i.test(meetingUrl))
      throw badParameter('meetingUrl', 'must be an https URL');
    const { origins, invalid } = normaliseOrigins(allowed);
    if (invalid.length)
      throw badParameter('allowedOrigins', `'${invalid[0]}' is not a web origin (scheme://host[:port])`);
    const { token, claims } = await auth.issuePsat({ asi, aeu: app.cfg.endpointUri, ao: origins.join(';') });
    for (const origin of origins) core.knownOrigins.add(origin);
    const w = wireFor(req);
    return json(
      {
        token,
        expiryTime: netDate(claims.exp * 1000),
        _links: {
          self: { href: abs(app.hrefs.appLevel('anonApplicationTokens')) },
          [w.rel('discover')]: {
            href: abs(`/platformService/discover?anonymousContext=${doubleEncode(token)}`),
          },
        },
        rel: w.rel('anonApplicationToken'),
      },
      config.anonTokenStatus,
    );
  });

  // ---------------------------------------------------------------- invitations

  router.on('POST', `${P}/communication/onlineMeetingInvitations/startAdhocMeeting`, async (req) => {
    const app = await saApp(req);
    const body = await readJsonObject(req.raw);
    const input = {
      subject: optionalString(body, 'subject', { max: 250 }),
      operationId: bodyOperationId(body),
      callbackUrl: callbackUrlField(body),
      callbackContext: optionalString(body, 'callbackContext', { max: 1024 }),
    };
    return once(req, app, input.operationId, async () => {
      const inv = world.startAdhocMeeting(app, input);
      const w = wireFor(req);
      return {
        status: 201,
        headers: { Location: abs(app.hrefs.invitation('onlineMeetingInvitations', inv.id)) },
        body: world.renderOutgoing(w, inv),
      };
    });
  });

  router.on('GET', `${P}/communication/onlineMeetingInvitations/(?<id>[^/]+)`, async (req) => {
    const app = await saApp(req);
    return json(
      world.renderOutgoing(
        wireFor(req),
        world.outgoingInvitation(app, 'onlineMeetingInvitations', req.params.id!),
      ),
    );
  });

  router.on('POST', `${P}/communication/messagingInvitations`, async (req) => {
    const app = await saApp(req);
    const conversationId = req.query('conversationId');
    const body = await readJsonObject(req.raw, { optional: true });
    if (!conversationId) {
      throw badParameter(
        'conversationId',
        'is required: the emulator supports addMessaging on an existing conversation only (outbound startMessaging is not emulated)',
      );
    }
    const input = {
      operationId: bodyOperationId(body),
      subject: optionalString(body, 'subject', { max: 250 }),
      callbackUrl: callbackUrlField(body),
      callbackContext: optionalString(body, 'callbackContext', { max: 1024 }),
    };
    return once(req, app, input.operationId, async () => {
      const inv = world.addMessaging(app, conversationId, input);
      return {
        status: 201,
        headers: { Location: abs(app.hrefs.invitation('messagingInvitations', inv.id)) },
        body: world.renderOutgoing(wireFor(req), inv),
      };
    });
  });

  router.on('GET', `${P}/communication/messagingInvitations/(?<id>[^/]+)`, async (req) => {
    const app = await saApp(req);
    const w = wireFor(req);
    try {
      return json(world.renderIncomingInvitation(w, world.incomingConversation(app, req.params.id!)));
    } catch {
      return json(
        world.renderOutgoing(w, world.outgoingInvitation(app, 'messagingInvitations', req.params.id!)),
      );
    }
  });

  router.on('POST', `${P}/communication/messagingInvitations/(?<id>[^/]+)/acceptAndBridge`, async (req) => {
    const app = await saApp(req);
    const body = await readJsonObject(req.raw);
    const onlineMeetingUri = sipUri(
      requiredString(body, 'onlineMeetingUri', { max: 1024 }),
      'onlineMeetingUri',
    );
    const displayName =
      optionalString(body, 'localUserDisplayName', { max: 250 }) ??
      optionalString(body, 'impersonatedDisplayName', { max: 250 });
    const operationId = bodyOperationId(body);
    const input = {
      onlineMeetingUri,
      displayName,
      callbackUrl: callbackUrlField(body),
      callbackContext: optionalString(body, 'callbackContext', { max: 1024 }),
    };
    return once(req, app, operationId, async () => {
      const conv = world.acceptAndBridge(app, req.params.id!, input);
      return {
        status: config.acceptAndBridgeStatus,
        headers: { Location: abs(app.hrefs.conversation(conv.id)) },
        body: world.renderConversation(wireFor(req), conv),
      };
    });
  });

  router.on('POST', `${P}/communication/messagingInvitations/(?<id>[^/]+)/decline`, async (req) => {
    const app = await saApp(req);
    const body = await readJsonObject(req.raw, { optional: true });
    const reason = optionalString(body, 'reason', { max: 50 });
    if (reason !== undefined && !['Local', 'Global', 'ApplicationInitiatedAction'].includes(reason)) {
      throw badParameter('reason', 'must be Local, Global or ApplicationInitiatedAction');
    }
    world.declineIncoming(app, req.params.id!, reason);
    return empty(204);
  });

  router.on('POST', `${P}/communication/participantInvitations`, async (req) => {
    const app = await saApp(req);
    const body = await readJsonObject(req.raw);
    const conversationId = req.query('conversationId');
    if (!conversationId) throw badParameter('conversationId', 'is required (use the addParticipant link)');
    const input = {
      to: sipUri(requiredString(body, 'to', { max: 1024 }), 'to'),
      operationId: bodyOperationId(body),
      subject: optionalString(body, 'subject', { max: 250 }),
    };
    return once(req, app, input.operationId, async () => {
      const inv = world.addParticipant(app, conversationId, input);
      return {
        status: 201,
        headers: { Location: abs(app.hrefs.invitation('participantInvitations', inv.id)) },
        body: world.renderOutgoing(wireFor(req), inv),
      };
    });
  });

  router.on('GET', `${P}/communication/participantInvitations/(?<id>[^/]+)`, async (req) => {
    const app = await saApp(req);
    return json(
      world.renderOutgoing(
        wireFor(req),
        world.outgoingInvitation(app, 'participantInvitations', req.params.id!),
      ),
    );
  });

  // ---------------------------------------------------------------- conversations

  const conv = async (req: Req) => {
    const app = await saApp(req);
    return { app, conv: world.saConversation(app, req.params.cid!) };
  };

  router.on('GET', C, async (req) => {
    const { conv: c } = await conv(req);
    return json(world.renderConversation(wireFor(req), c));
  });

  router.on('DELETE', C, async (req) => {
    const { app, conv: c } = await conv(req);
    world.saDeleteConversation(app, c.id);
    return empty(204);
  });

  router.on('GET', `${C}/messaging`, async (req) =>
    json(world.renderMessaging(wireFor(req), (await conv(req)).conv)),
  );

  router.on('POST', `${C}/messaging/messages`, async (req) => {
    const { app, conv: c } = await conv(req);
    const operationId = queryOperationId(req);
    const body = await readMessageBody(req);
    return once(req, app, operationId, async () => {
      const message = world.saSendMessage(app, c.id, { ...body, operationId });
      return { status: 201, headers: { Location: abs(app.hrefs.message(c.id, message.n)) }, body: undefined };
    });
  });

  router.on('GET', `${C}/messaging/messages/(?<n>\\d+)`, async (req) => {
    const { conv: c } = await conv(req);
    return json(world.renderMessage(wireFor(req), c, Number(req.params.n)));
  });

  router.on('POST', `${C}/messaging/typing`, async (req) => {
    const { app, conv: c } = await conv(req);
    await readBodyText(req.raw);
    world.saTyping(app, c.id);
    return empty(204);
  });

  router.on('POST', `${C}/messaging/terminate`, async (req) => {
    const { app, conv: c } = await conv(req);
    world.saStopMessaging(app, c.id);
    return empty(204);
  });

  router.on('GET', `${C}/messaging/typingParticipants`, async (req) => {
    const { conv: c } = await conv(req);
    const w = wireFor(req);
    return json(
      w.resource(
        'typingParticipants',
        {},
        w.links(c.app.hrefs.conversation(c.id, 'messaging/typingParticipants')),
      ),
    );
  });

  router.on('GET', `${C}/participants`, async (req) =>
    json(world.renderParticipants(wireFor(req), (await conv(req)).conv)),
  );

  router.on('GET', `${C}/participants/(?<p>[^/]+)`, async (req) => {
    const { conv: c } = await conv(req);
    const p = world.participant(c, req.params.p!);
    return json(participantResource(wireFor(req), c.app.hrefs, c.id, p, { eject: c.kind === 'conference' }));
  });

  router.on('GET', `${C}/participants/(?<p>[^/]+)/messaging`, async (req) => {
    const { conv: c } = await conv(req);
    const p = world.participant(c, req.params.p!);
    return json(participantMessagingResource(wireFor(req), c.app.hrefs, c.id, p));
  });

  router.on('POST', `${C}/participants/(?<p>[^/]+)/eject`, async (req) => {
    const { conv: c } = await conv(req);
    if (c.kind !== 'conference')
      throw new EmulatorError(409, 'Conflict', 'only meeting participants can be ejected');
    const p = world.participant(c, req.params.p!);
    world.removeParticipant(c, p.uri, 'ejected');
    return empty(204);
  });

  router.on('GET', `${C}/onlineMeeting`, async (req) =>
    json(world.renderOnlineMeeting(wireFor(req), (await conv(req)).conv)),
  );

  router.on('POST', `${C}/onlineMeeting/terminateOnlineMeeting`, async (req) => {
    const { app, conv: c } = await conv(req);
    world.terminateMeeting(app, c.id);
    return empty(204);
  });

  router.on('GET', `${C}/conversationBridge`, async (req) =>
    json(world.renderBridge(wireFor(req), (await conv(req)).conv)),
  );

  router.on('GET', `${C}/conversationBridge/bridgedParticipants`, async (req) =>
    json(world.renderBridgedParticipants(wireFor(req), (await conv(req)).conv)),
  );

  const bridgedInput = (body: JsonObject) => {
    const state = requiredString(body, 'messageFilterState');
    const normalised = ['Enabled', 'Disabled'].find((s) => s.toLowerCase() === state.toLowerCase());
    if (!normalised) throw badParameter('messageFilterState', `must be Enabled or Disabled, got '${state}'`);
    return {
      displayName: requiredString(body, 'displayName', { max: 250 }),
      participantUri: sipUri(requiredString(body, 'participantUri', { max: 1024 }), 'participantUri'),
      messageFilterState: normalised as 'Enabled' | 'Disabled',
    };
  };

  router.on('POST', `${C}/conversationBridge/bridgedParticipants`, async (req) => {
    const { app, conv: c } = await conv(req);
    const input = bridgedInput(await readJsonObject(req.raw));
    const { href } = world.addBridgedParticipant(app, c.id, input);
    return json(bridgedParticipantResource(wireFor(req), app.hrefs, c.id, input), 201, {
      Location: abs(href),
    });
  });

  router.on('GET', `${C}/conversationBridge/bridgedParticipants/(?<p>[^/]+)`, async (req) => {
    const { app, conv: c } = await conv(req);
    return json(
      bridgedParticipantResource(wireFor(req), app.hrefs, c.id, world.bridgedParticipant(c, req.params.p!)),
    );
  });

  router.on('PUT', `${C}/conversationBridge/bridgedParticipants/(?<p>[^/]+)`, async (req) => {
    const { app, conv: c } = await conv(req);
    world.bridgedParticipant(c, req.params.p!);
    const input = bridgedInput(await readJsonObject(req.raw));
    world.updateBridgedParticipant(app, c.id, req.params.p!, input);
    return empty(204);
  });

  router.on('DELETE', `${C}/conversationBridge/bridgedParticipants/(?<p>[^/]+)`, async (req) => {
    const { app, conv: c } = await conv(req);
    world.deleteBridgedParticipant(app, c.id, req.params.p!);
    return empty(204);
  });

  // ---------------------------------------------------------------- AAD: token, metadata, keys

  const tokenEndpoint = async (req: Req) => {
    const oauthError = (status: number, error: string, description: string) =>
      json({ error, error_description: description }, status);
    const contentType = req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/x-www-form-urlencoded') {
      return oauthError(
        400,
        'invalid_request',
        'the token request must be application/x-www-form-urlencoded',
      );
    }
    const form = new URLSearchParams(await readBodyText(req.raw));
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') {
      return oauthError(
        400,
        'unsupported_grant_type',
        `grant_type must be client_credentials, got '${grant ?? ''}'`,
      );
    }
    const clientId = form.get('client_id');
    const secret = form.get('client_secret');
    if (!clientId) return oauthError(400, 'invalid_request', "the request body must contain 'client_id'");
    const tenant = (req.params.tenant ?? '').toLowerCase();
    const app = [...world.apps.values()].find((a) => a.cfg.clientId === clientId);
    const tenantMatches =
      app &&
      (tenant === app.cfg.tenantId.toLowerCase() ||
        tenant === app.cfg.endpointUri.split('@')[1]?.toLowerCase());
    if (!app || !tenantMatches || secret !== app.cfg.clientSecret) {
      return oauthError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret or client id provided.');
    }
    let resource = form.get('resource');
    const scope = form.get('scope');
    if (!resource && scope) resource = scope.replace(/\/\.default$/, '');
    if (!resource) return oauthError(400, 'invalid_request', "the request body must contain 'resource'");
    const accepted = config.acceptedAudiences.find(
      (a) => a.toLowerCase().replace(/\/+$/, '') === resource.toLowerCase().replace(/\/+$/, ''),
    );
    if (!accepted) {
      return oauthError(
        400,
        'invalid_resource',
        `AADSTS500011: the resource '${resource}' is not known here`,
      );
    }
    const { token, iat, exp } = await auth.issueAadToken(app.cfg, resource);
    return json({
      token_type: 'Bearer',
      expires_in: String(exp - iat),
      ext_expires_in: String(exp - iat),
      expires_on: String(exp),
      not_before: String(iat),
      resource,
      access_token: token,
    });
  };
  router.on('POST', '/(?<tenant>[^/]+)/oauth2/token', tokenEndpoint);
  router.on('POST', '/(?<tenant>[^/]+)/oauth2/v2\\.0/token', tokenEndpoint);

  router.on('GET', '/(?<tenant>[^/]+)/\\.well-known/openid-configuration', (req) => {
    const tenant = req.params.tenant!;
    const tid = tenant.toLowerCase() === 'common' ? '{tenantid}' : tenant;
    const base = core.publicUrl();
    return json({
      token_endpoint: `${base}/${tenant}/oauth2/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post'],
      jwks_uri: `${base}/common/discovery/keys`,
      response_types_supported: ['code', 'id_token', 'token'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      issuer: aadIssuer(tid),
      authorization_endpoint: `${base}/${tenant}/oauth2/authorize`,
      tenant_region_scope: 'NA',
    });
  });

  const keys = () => json(jwksOf(auth.keys.aad));
  router.on('GET', '/(?<tenant>[^/]+)/discovery/keys', keys);
  router.on('GET', '/(?<tenant>[^/]+)/discovery/v2\\.0/keys', keys);

  return router;
}

import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { describeZodError } from '../wire/envelope.ts';
import { PRESENCES } from './config.ts';
import { EmulatorError, readJsonObject } from './errors.ts';
import { FaultSchema } from './faults.ts';
import type { Core, Env } from './http.ts';

const PresenceBody = z.strictObject({ presence: z.enum(PRESENCES) });
const BehaviourBody = z.strictObject({
  answer: z.enum(['accept', 'decline', 'never', 'manual']).optional(),
  acceptDelayMs: z.number().int().min(0).max(600_000).optional(),
  greeting: z.string().max(2000).optional(),
  autoReply: z.boolean().optional(),
  replyTemplate: z.string().min(1).max(2000).optional(),
  typingMs: z.number().int().min(0).max(600_000).optional(),
});
const InvitationBody = z.strictObject({ invitationId: z.string().min(1).optional() });
const TypingBody = z.strictObject({
  conversationId: z.string().min(1).optional(),
  isTyping: z.boolean().optional(),
});
const MessageBody = z
  .strictObject({
    conversationId: z.string().min(1).optional(),
    text: z.string().min(1).max(32_000).optional(),
    html: z.string().min(1).max(32_000).optional(),
  })
  .refine((b) => (b.text === undefined) !== (b.html === undefined), {
    message: 'give exactly one of text or html',
  });
const LeaveBody = z.strictObject({ conversationId: z.string().min(1).optional() });
const CallbackUrlBody = z.strictObject({ url: z.url({ protocol: /^https?$/ }) });
const RawCallbackBody = z.strictObject({
  to: z.url({ protocol: /^https?$/ }),
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]),
  applicationId: z.string().min(1).optional(),
});

async function parse<T>(request: Request, schema: z.ZodType<T>, { optional = false } = {}): Promise<T> {
  const raw = await readJsonObject(request, { optional });
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new EmulatorError(400, 'BadRequest', describeZodError(result.error), 'ParameterValidationFailure');
  }
  return result.data;
}

/**
 * The JSON control API under /control (documented in README.md, section "Emulator"): agents, faults, log,
 * applications, stats, and signed raw callbacks for `carechat replay`.
 */
export function controlRoutes(core: Core): Hono<Env> {
  const { world, agents, faults, log } = core;
  const control = new Hono<Env>();

  control.get('/stats', (c) => c.json(world.stats()));

  // ---------------------------------------------------------------- agents
  control.get('/agents', (c) => c.json({ agents: agents.list() }));
  control.get('/agents/:uri', (c) => c.json(agents.get(c.req.param('uri'))));
  const presence = async (c: Context<Env>) =>
    agents.setPresence(c.req.param('uri') ?? '', (await parse(c.req.raw, PresenceBody)).presence);
  control.put('/agents/:uri/presence', async (c) => c.json(await presence(c)));
  control.post('/agents/:uri/presence', async (c) => c.json(await presence(c)));
  const behaviour = async (c: Context<Env>) =>
    agents.setBehaviour(c.req.param('uri') ?? '', await parse(c.req.raw, BehaviourBody));
  control.put('/agents/:uri/behaviour', async (c) => c.json(await behaviour(c)));
  control.post('/agents/:uri/behaviour', async (c) => c.json(await behaviour(c)));
  control.post('/agents/:uri/accept', async (c) => {
    const body = await parse(c.req.raw, InvitationBody, { optional: true });
    return c.json(agents.accept(c.req.param('uri'), body.invitationId));
  });
  control.post('/agents/:uri/decline', async (c) => {
    const body = await parse(c.req.raw, InvitationBody, { optional: true });
    return c.json(agents.decline(c.req.param('uri'), body.invitationId));
  });
  control.post('/agents/:uri/typing', async (c) => {
    const body = await parse(c.req.raw, TypingBody, { optional: true });
    return c.json(agents.setTyping(c.req.param('uri'), body.conversationId, body.isTyping ?? true));
  });
  control.post('/agents/:uri/messages', async (c) => {
    const body = await parse(c.req.raw, MessageBody);
    return c.json(agents.send(c.req.param('uri'), body.conversationId, body), 201);
  });
  control.post('/agents/:uri/leave', async (c) => {
    const body = await parse(c.req.raw, LeaveBody, { optional: true });
    return c.json(agents.leave(c.req.param('uri'), body.conversationId));
  });

  // ---------------------------------------------------------------- faults
  control.get('/faults', (c) => c.json({ faults: faults.list() }));
  control.post('/faults', async (c) => {
    const spec = await parse(c.req.raw, FaultSchema);
    if (spec.kind === 'expireTokens') {
      core.auth.expireTokens(spec.tokens);
      return c.json({ expired: spec.tokens });
    }
    try {
      return c.json(faults.add(spec), 201);
    } catch (error) {
      throw new EmulatorError(
        400,
        'BadRequest',
        `path: not a valid regular expression (${(error as Error).message})`,
        'ParameterValidationFailure',
      );
    }
  });
  control.delete('/faults', (c) => {
    faults.clear();
    return c.body(null, 204);
  });
  control.delete('/faults/:id', (c) => {
    if (!faults.remove(c.req.param('id')))
      throw new EmulatorError(404, 'NotFound', `fault ${c.req.param('id')} was not found`);
    return c.body(null, 204);
  });

  // ---------------------------------------------------------------- log
  control.get('/log', (c) => {
    const kind = c.req.query('kind');
    if (kind !== undefined && kind !== 'request' && kind !== 'callback') {
      throw new EmulatorError(
        400,
        'BadRequest',
        `kind: must be request or callback, got '${kind}'`,
        'ParameterValidationFailure',
      );
    }
    const sinceText = c.req.query('since');
    const since = sinceText === undefined ? undefined : Number(sinceText);
    if (since !== undefined && !Number.isInteger(since)) {
      throw new EmulatorError(
        400,
        'BadRequest',
        `since: must be an integer, got '${sinceText}'`,
        'ParameterValidationFailure',
      );
    }
    return c.json({ entries: log.list({ kind, since }) });
  });
  control.delete('/log', (c) => {
    log.clear();
    return c.body(null, 204);
  });

  // ---------------------------------------------------------------- applications
  control.get('/applications', (c) =>
    c.json({
      applications: [...world.apps.values()].map((app) => ({
        applicationId: app.cfg.applicationId,
        tenantId: app.cfg.tenantId,
        clientId: app.cfg.clientId,
        endpointUri: app.cfg.endpointUri,
        appIdUri: app.cfg.appIdUri,
        callbackUrl: app.callbackUrl ?? null,
      })),
    }),
  );
  const setCallback = async (c: Context<Env>) => {
    const app = world.apps.get(c.req.param('applicationId') ?? '');
    if (!app)
      throw new EmulatorError(404, 'NotFound', `application ${c.req.param('applicationId')} was not found`);
    app.callbackUrl = (await parse(c.req.raw, CallbackUrlBody)).url;
    return { applicationId: app.cfg.applicationId, callbackUrl: app.callbackUrl };
  };
  control.put('/applications/:applicationId/callback', async (c) => c.json(await setCallback(c)));
  control.post('/applications/:applicationId/callback', async (c) => c.json(await setCallback(c)));

  // ---------------------------------------------------------------- conversations (read-only view)
  control.get('/conversations', (c) =>
    c.json({
      conversations: [...world.conversations.values()]
        .filter((conv) => !conv.deleted)
        .map((conv) => ({
          conversationId: conv.id,
          kind: conv.kind,
          applicationId: conv.app.cfg.applicationId,
          state: conv.state,
          subject: conv.subject ?? null,
          messaging: conv.messaging,
          guest: conv.anon ? world.guestOf(conv) : null,
          meetingUri: conv.meeting?.uri ?? conv.bridge?.meetingUri ?? null,
          participants: conv.meeting ? [...conv.meeting.participants.values()] : [],
          bridgedParticipants: conv.bridge ? [...conv.bridge.participants.values()] : [],
          callback: { url: conv.routing.url ?? null, callbackContext: conv.routing.context ?? null },
        })),
    }),
  );

  // ---------------------------------------------------------------- raw signed callbacks (carechat replay)
  control.post('/callbacks', async (c) => {
    const input = await parse(c.req.raw, RawCallbackBody);
    const app = input.applicationId ? world.apps.get(input.applicationId) : [...world.apps.values()][0];
    if (!app) throw new EmulatorError(404, 'NotFound', `application ${input.applicationId} was not found`);
    const text = typeof input.body === 'string' ? input.body : JSON.stringify(input.body);
    const result = await core.callbacks.deliverRaw(app.cfg, input.to, text);
    if (result.status === null) {
      throw new EmulatorError(
        502,
        'RemoteFailure',
        `could not deliver to ${input.to}: ${result.error ?? 'no answer'}`,
      );
    }
    return c.json({ status: result.status, body: result.body });
  });

  return control;
}

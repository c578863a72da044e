/**
 * The agent desk: a page of the emulator that plays one agent's Skype for Business client by hand. Choosing
 * an agent takes it over (automatic answers, greeting and replies off) until it is released — by the page,
 * or when no desk has followed it for a while. The page reads the agent's state as server-sent events and
 * acts through the emulator's control API (accept, decline, typing, messages, leave).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AgentBehaviour } from '../config.ts';
import type { Core, Env } from '../http.ts';
import { userPart } from '../wire.ts';
import { deskPageHtml } from './page.ts';

/** How long an agent stays taken over after its last desk went away (page closed without releasing). */
const RELEASE_GRACE_MS = 15_000;
const POLL_MS = 250;
const REFRESH_MS = 10_000;

type AssetName = 'desk.js' | 'desk.css';
const TYPES: Record<AssetName, string> = {
  'desk.js': 'application/javascript; charset=utf-8',
  'desk.css': 'text/css; charset=utf-8',
};
const assets = new Map<AssetName, { text: string; etag: string }>();
function asset(name: AssetName): { text: string; etag: string } {
  let found = assets.get(name);
  if (!found) {
    const text = readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
    found = { text, etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` };
    assets.set(name, found);
  }
  return found;
}

export const DESK_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** What the desk shows of one agent. */
export interface DeskView {
  uri: string;
  name: string;
  presence: string;
  controlled: boolean;
  ringing: Array<{
    invitationId: string;
    conversationId: string;
    subject: string | null;
    customers: string[];
  }>;
  conversations: Array<{
    conversationId: string;
    active: boolean;
    subject: string | null;
    joinedAt: string;
    leftAt: string | null;
    leftReason: string | null;
    customers: string[];
    participants: string[];
    typing: string[];
    lines: Array<{
      at: string;
      author: 'customer' | 'agent' | 'system';
      name: string;
      text: string;
      own: boolean;
    }>;
  }>;
}

interface Takeover {
  previous: AgentBehaviour;
  followers: number;
  releaseTimer?: () => void;
}

export function deskRoutes(core: Core): Hono<Env> {
  const app = new Hono<Env>();
  const { agents, world } = core;
  const takeovers = new Map<string, Takeover>();

  const release = (uri: string): boolean => {
    const key = userPart(uri);
    const taken = takeovers.get(key);
    if (!taken) return false;
    taken.releaseTimer?.();
    takeovers.delete(key);
    agents.setBehaviour(uri, taken.previous);
    core.logger.debug({ agent: uri }, 'desk released the agent');
    return true;
  };

  const take = (uri: string) => {
    const key = userPart(uri);
    const state = agents.get(uri) as { behaviour: AgentBehaviour };
    if (!takeovers.has(key)) takeovers.set(key, { previous: { ...state.behaviour }, followers: 0 });
    agents.setBehaviour(uri, { answer: 'manual', autoReply: false, greeting: '' });
    core.logger.debug({ agent: uri }, 'desk took the agent over');
  };

  const view = (uri: string): DeskView => {
    const agent = agents.get(uri) as {
      uri: string;
      name: string;
      presence: string;
      ringing: Array<{ invitationId: string; conversationId: string; subject?: string }>;
      conversations: Array<{
        conversationId: string;
        active: boolean;
        subject?: string;
        joinedAt: string;
        leftAt?: string;
        leftReason?: string;
        participants: Array<{ uri: string; name: string }>;
        guests: Array<{ uri: string; name: string }>;
        typing: string[];
        messages: Array<{ time: string; from: { uri: string; name: string }; text: string; origin: string }>;
      }>;
    };
    const customersOf = (conversationId: string) =>
      world.conversations.has(conversationId)
        ? world.bridgedLegs(conversationId).map((leg) => world.guestOf(leg).name)
        : [];
    return {
      uri: agent.uri,
      name: agent.name,
      presence: agent.presence,
      controlled: takeovers.has(userPart(agent.uri)),
      ringing: agent.ringing.map((r) => ({
        invitationId: r.invitationId,
        conversationId: r.conversationId,
        subject: r.subject ?? null,
        customers: customersOf(r.conversationId),
      })),
      conversations: agent.conversations
        .slice()
        .reverse()
        .map((conv) => {
          const lines: DeskView['conversations'][number]['lines'] = [
            { at: conv.joinedAt, author: 'system', name: '', text: 'You joined the chat.', own: false },
            ...conv.messages.map((m) => ({
              at: m.time,
              author:
                m.origin === 'customer'
                  ? ('customer' as const)
                  : m.origin === 'sa'
                    ? ('system' as const)
                    : ('agent' as const),
              name: m.from.name,
              text: m.text,
              own: m.origin === 'self',
            })),
          ];
          if (conv.leftAt) {
            lines.push({
              at: conv.leftAt,
              author: 'system',
              name: '',
              text:
                conv.leftReason === 'ejected'
                  ? 'The chat ended: you were removed from it.'
                  : 'You left the chat.',
              own: false,
            });
          }
          return {
            conversationId: conv.conversationId,
            active: conv.active,
            subject: conv.subject ?? null,
            joinedAt: conv.joinedAt,
            leftAt: conv.leftAt ?? null,
            leftReason: conv.leftReason ?? null,
            customers: conv.guests.map((g) => g.name),
            participants: conv.participants
              .filter((p) => userPart(p.uri) !== userPart(agent.uri))
              .map((p) => p.name),
            typing: conv.typing,
            lines,
          };
        }),
    };
  };

  const page = (c: Context<Env>) => {
    c.header('Content-Security-Policy', DESK_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
    return c.html(deskPageHtml());
  };
  app.get('/desk', page);
  app.get('/desk/', page);
  for (const name of ['desk.js', 'desk.css'] as const) {
    app.get(`/desk/${name}`, (c) => {
      const { text, etag } = asset(name);
      c.header('Cache-Control', 'no-cache');
      c.header('ETag', etag);
      c.header('X-Content-Type-Options', 'nosniff');
      if (c.req.header('If-None-Match') === etag) return c.body(null, 304);
      return c.body(text, 200, { 'Content-Type': TYPES[name] });
    });
  }

  app.get('/desk/api/agents', (c) =>
    c.json({
      agents: (agents.list() as Array<{ uri: string; name: string; presence: string }>).map((a) => ({
        uri: a.uri,
        name: a.name,
        presence: a.presence,
        controlled: takeovers.has(userPart(a.uri)),
      })),
    }),
  );
  app.post('/desk/api/agents/:uri/takeover', (c) => {
    const uri = c.req.param('uri');
    take(uri);
    return c.json(view(uri));
  });
  app.post('/desk/api/agents/:uri/release', (c) => {
    const uri = c.req.param('uri');
    agents.get(uri); // 404 for an agent outside the roster
    return c.json({ uri, released: release(uri) });
  });

  app.get('/desk/api/agents/:uri/events', (c) => {
    const uri = c.req.param('uri');
    const first = view(uri); // 404 before the stream starts
    const key = userPart(first.uri);
    c.header('Cache-Control', 'no-store');
    return streamSSE(c, async (stream) => {
      const taken = takeovers.get(key);
      if (taken) {
        taken.followers += 1;
        taken.releaseTimer?.();
        taken.releaseTimer = undefined;
      }
      let closed = false;
      stream.onAbort(() => {
        closed = true;
      });
      let lastKey = '';
      let lastSent = 0;
      try {
        while (!closed && !core.scheduler.isClosed) {
          const current = view(uri);
          const k = JSON.stringify(current);
          if (k !== lastKey || Date.now() - lastSent >= REFRESH_MS) {
            lastKey = k;
            lastSent = Date.now();
            await stream.writeSSE({ event: 'agent', data: k });
          }
          await stream.sleep(POLL_MS);
        }
      } finally {
        const still = takeovers.get(key);
        if (still && taken === still) {
          still.followers -= 1;
          if (still.followers <= 0 && !core.scheduler.isClosed) {
            still.releaseTimer = core.scheduler.after(RELEASE_GRACE_MS, () => {
              if (takeovers.get(key) === still && still.followers <= 0) release(first.uri);
            });
          }
        }
      }
    });
  });

  return app;
}

/**
 * The post-chat survey: "How was your chat?" 1–5 and an optional comment, once per chat.
 *
 * How an answer is tied to its chat: `POST /chat/token` gives the widget a `threadId` (random) and a
 * `surveyToken` (HMAC-SHA256 over that threadId and an expiry, with the SA's SESSION_SECRET). The widget
 * sends the threadId in its messaging invitation, so the SA learns which session it became (from the
 * invitation callback); `POST /chat/survey` with the token then names that session and nothing else.
 * Answers go to a `SurveyStore`: by default the session store (`storeSurveyStore`), where the thread link
 * is written with the chat's first step and the answer with its `survey.submitted` webhook event in one
 * transaction, so an answer survives restarts and a second one is refused on any instance.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { chatEventPayload } from '../ops/webhooks.ts';
import type { Json, Store } from '../store/index.ts';

export type SurveyScore = 1 | 2 | 3 | 4 | 5;

export interface SurveyAnswer {
  score: SurveyScore;
  comment?: string;
  /** ISO time the answer arrived. */
  submittedAt: string;
}

export interface SurveyStore {
  /** 'duplicate' when the chat was answered before; 'unknown' when no such session exists. */
  save(sessionId: string, answer: SurveyAnswer): Promise<'saved' | 'duplicate' | 'unknown'>;
  get(sessionId: string): Promise<SurveyAnswer | undefined>;
  /** The session a widget thread (named by a survey token) became, or undefined. */
  sessionOfThread(threadId: string): Promise<string | undefined>;
  /** True when `save` also queues the `survey.submitted` webhook event, in the answer's transaction. */
  readonly queuesWebhookEvent?: boolean;
}

/**
 * Answers in the session store (`store()` is undefined until it is open: then every chat is unknown). With
 * `webhooks`, `survey.submitted` is queued in the outbox as the chat's latest event, in the transaction
 * that stores the answer.
 */
export function storeSurveyStore(
  store: () => Store | undefined,
  options: { webhooks: boolean },
): SurveyStore {
  return {
    queuesWebhookEvent: options.webhooks,
    async save(sessionId, answer) {
      const opened = store();
      if (!opened) return 'unknown';
      const submittedAt = Date.parse(answer.submittedAt);
      const data = { sessionId, ...answer };
      return opened.surveys.save(
        sessionId,
        { score: answer.score, comment: answer.comment ?? null, submittedAt },
        options.webhooks
          ? {
              type: 'survey.submitted',
              payload: chatEventPayload('survey.submitted', data, submittedAt) as Json,
            }
          : undefined,
      );
    },
    async get(sessionId) {
      const record = await store()?.surveys.get(sessionId);
      if (!record) return undefined;
      return {
        score: record.score as SurveyScore,
        ...(record.comment ? { comment: record.comment } : {}),
        submittedAt: new Date(record.submittedAt).toISOString(),
      };
    },
    async sessionOfThread(threadId) {
      return store()?.surveys.sessionOfThread(threadId);
    },
  };
}

/** Longest comment kept, in characters. */
export const MAX_SURVEY_COMMENT = 1000;

export const SurveyRequestSchema = z.strictObject({
  token: z.string().min(1).max(2000),
  score: z.number().int().min(1).max(5),
  comment: z.string().trim().max(MAX_SURVEY_COMMENT).optional(),
});

/** How long a survey token is good for, from the chat token: the chat plus time to answer. */
export const SURVEY_TOKEN_TTL_MS = 4 * 3_600_000;

export interface SurveyTokens {
  issue(threadId: string): string;
  /** The threadId the token was issued for, or why it is refused. */
  verify(token: string): { threadId: string } | { problem: string };
}

/** `<base64url JSON {t, exp}>.<base64url HMAC-SHA256>`, keyed with `secret`. */
export function surveyTokens(
  secret: Uint8Array,
  now: () => number,
  ttlMs = SURVEY_TOKEN_TTL_MS,
): SurveyTokens {
  const mac = (body: string) =>
    createHmac('sha256', secret).update(`carechat-survey.${body}`).digest('base64url');
  return {
    issue(threadId) {
      const body = Buffer.from(JSON.stringify({ t: threadId, exp: now() + ttlMs })).toString('base64url');
      return `${body}.${mac(body)}`;
    },
    verify(token) {
      const [body, signature, extra] = token.split('.');
      if (!body || !signature || extra !== undefined) return { problem: 'token: not a survey token' };
      const expected = Buffer.from(mac(body));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return { problem: 'token: not a survey token this service issued' };
      }
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
        t: string;
        exp: number;
      };
      if (claims.exp <= now())
        return { problem: 'token: expired; surveys are taken within hours of the chat' };
      return { threadId: claims.t };
    },
  };
}

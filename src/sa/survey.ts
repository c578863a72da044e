/**
 * The post-chat survey: "How was your chat?" 1–5 and an optional comment, once per chat.
 *
 * How an answer is tied to its chat: `POST /chat/token` gives the widget a `threadId` (random) and a
 * `surveyToken` (HMAC-SHA256 over that threadId and an expiry, with the SA's SESSION_SECRET). The widget
 * sends the threadId in its messaging invitation, so the SA learns which session it became (from the
 * invitation callback); `POST /chat/survey` with the token then names that session and nothing else.
 * Answers go to a `SurveyStore` (in memory by default; the durable store plugs in behind the same interface).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

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
}

/** Answers in memory (lost on restart), for sessions `known` says exist. */
export class MemorySurveyStore implements SurveyStore {
  private readonly answers = new Map<string, SurveyAnswer>();

  constructor(private readonly known: (sessionId: string) => boolean) {}

  async save(sessionId: string, answer: SurveyAnswer): Promise<'saved' | 'duplicate' | 'unknown'> {
    if (!this.known(sessionId)) return 'unknown';
    if (this.answers.has(sessionId)) return 'duplicate';
    this.answers.set(sessionId, { ...answer });
    return 'saved';
  }

  async get(sessionId: string): Promise<SurveyAnswer | undefined> {
    const answer = this.answers.get(sessionId);
    return answer ? { ...answer } : undefined;
  }
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

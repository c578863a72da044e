import { z } from 'zod';

/**
 * The callback envelope (wire-spec 7.2) and the UCWA event-channel body (5.3) share one shape:
 * `_links.self/next`, ordered `sender[]` each with ordered `events[]`, and (callbacks only) `baseuri`.
 */
export const EVENT_TYPES = ['added', 'updated', 'deleted', 'started', 'completed'] as const;
export type WireEventType = (typeof EVENT_TYPES)[number];

export const LinkSchema = z.looseObject({ href: z.string().min(1), title: z.string().optional() });
export const RelLinkSchema = z.looseObject({
  rel: z.string().min(1),
  href: z.string().min(1),
  title: z.string().optional(),
});

export const ErrorBodySchema = z.looseObject({
  code: z.string(),
  subcode: z.string().optional(),
  message: z.string().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const WireEventSchema = z.looseObject({
  link: RelLinkSchema,
  in: RelLinkSchema.optional(),
  status: z.enum(['Success', 'Failure']).optional(),
  reason: ErrorBodySchema.optional(),
  _embedded: z.record(z.string(), z.unknown()).optional(),
  type: z.enum(EVENT_TYPES),
});
export type WireEvent = z.infer<typeof WireEventSchema>;

export const SenderSchema = z.looseObject({
  rel: z.string().min(1),
  href: z.string().min(1),
  events: z.array(WireEventSchema),
});
export type Sender = z.infer<typeof SenderSchema>;

const baseUri = z
  .string()
  .refine(
    (value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol),
    'must be an absolute http(s) URL',
  );

export const CallbackEnvelopeSchema = z.looseObject({
  _links: z.looseObject({ self: LinkSchema, next: LinkSchema.optional() }),
  sender: z.array(SenderSchema),
  baseuri: baseUri,
});
export type CallbackEnvelope = z.infer<typeof CallbackEnvelopeSchema>;

/** The UCWA event channel body: no baseuri; `next` (or `resync`/`resume`) tells where to poll next. */
export const EventChannelBodySchema = z.looseObject({
  _links: z.looseObject({
    self: LinkSchema,
    next: LinkSchema.optional(),
    resync: LinkSchema.optional(),
    resume: LinkSchema.optional(),
  }),
  sender: z.array(SenderSchema).default([]),
});
export type EventChannelBody = z.infer<typeof EventChannelBodySchema>;

/** One line naming the first problem zod found, e.g. `sender.0.events.1.type: Invalid option …`. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.length ? issue.path.join('.') : '(body)';
  return `${path}: ${issue.message}`;
}

export function isHeartbeat(envelope: CallbackEnvelope): boolean {
  return envelope.sender.length === 0;
}

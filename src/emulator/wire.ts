import { createHash } from 'node:crypto';
import { qualifyRel, type RelPrefix } from '../wire/rels.ts';

/** A rel-qualifying builder of links, events and senders for one side of the wire. */
export interface WireLink {
  href: string;
  title?: string;
  revision?: string;
}
export type Links = Record<string, WireLink>;
export interface WireResource {
  _links: Links;
  _embedded?: Record<string, unknown>;
  rel: string;
  [property: string]: unknown;
}
export interface WireEvent {
  link: { rel: string; href: string; title?: string };
  in?: { rel: string; href: string; title?: string };
  status?: 'Success' | 'Failure';
  reason?: { code: string; subcode?: string; message?: string };
  _embedded?: Record<string, unknown>;
  type: 'added' | 'updated' | 'deleted' | 'started' | 'completed';
}
export interface WireSender {
  rel: string;
  href: string;
  events: WireEvent[];
}

type LinkValue = string | WireLink | undefined;

export class Wire {
  /** `prefix` '' is the anonymous UCWA side (plain rels). */
  constructor(readonly prefix: RelPrefix | '') {}

  rel(local: string): string {
    return qualifyRel(local, this.prefix);
  }

  /** `_links` with `self` first, then the given links in order, rels qualified; undefined links left out. */
  links(self: string, others: Record<string, LinkValue> = {}): Links {
    const links: Links = { self: { href: self } };
    for (const [local, value] of Object.entries(others)) {
      if (value === undefined) continue;
      links[this.rel(local)] = typeof value === 'string' ? { href: value } : value;
    }
    return links;
  }

  resource(
    local: string,
    properties: Record<string, unknown>,
    links: Links,
    embedded?: Record<string, unknown>,
  ) {
    const resource: WireResource = { ...properties, _links: links, rel: this.rel(local) } as WireResource;
    if (embedded && Object.keys(embedded).length > 0) {
      // Captured order: properties, _links, _embedded, rel.
      const { rel, ...rest } = resource;
      return { ...rest, _embedded: embedded, rel } as WireResource;
    }
    return resource;
  }

  /** `_embedded` map from local rel → resource. */
  embedded(entries: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(entries).map(([local, value]) => [this.rel(local), value]));
  }

  event(
    type: WireEvent['type'],
    local: string,
    link: string | WireLink,
    options: {
      resource?: WireResource;
      in?: { local: string; href: string; title?: string };
      status?: 'Success' | 'Failure';
      reason?: { code: string; subcode?: string; message?: string };
    } = {},
  ): WireEvent {
    const target = typeof link === 'string' ? { href: link } : link;
    const event: WireEvent = { link: { rel: this.rel(local), ...target }, type };
    const ordered: Partial<WireEvent> = { link: event.link };
    if (options.in) {
      ordered.in = { rel: this.rel(options.in.local), href: options.in.href };
      if (options.in.title !== undefined) ordered.in.title = options.in.title;
    }
    if (options.status) ordered.status = options.status;
    if (options.reason) ordered.reason = options.reason;
    if (options.resource) ordered._embedded = { [this.rel(local)]: options.resource };
    ordered.type = type;
    return ordered as WireEvent;
  }

  sender(local: string, href: string, events: WireEvent[]): WireSender {
    return { rel: this.rel(local), href, events };
  }
}

/** `sip:Alice@Contoso.com` → `alice@contoso.com`: the participant path segment of the captures. */
export function userPart(uri: string): string {
  return uri.replace(/^sip:/i, '').split(';')[0]!.toLowerCase();
}

/** Lower-case percent encoding, as the captures write `sip%3ahelpdesk%40contoso.com`. */
export function encodeLower(value: string): string {
  return encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
}

/** Hrefs of one platform application, host-relative as in the captures. */
export class PlatformHrefs {
  /** Application root on the API host: `{A}`. */
  readonly A: string;
  /** Application root of live resources on the pool host: `{T}` (with the routing token). */
  readonly T: string;
  /** `endpointId=sip:…` written raw, as in the captures. */
  readonly E: string;

  constructor(
    readonly applicationId: string,
    readonly endpointUri: string,
  ) {
    const tgt = createHash('sha256').update(`tgt:${applicationId}`).digest('hex').slice(0, 32);
    this.A = `/platformservice/v1/applications/${applicationId}`;
    this.T = `/platformservice/tgt-${tgt}/v1/applications/${applicationId}`;
    this.E = `endpointId=${endpointUri}`;
  }

  application(): string {
    return `${this.A}?endpointId=${encodeLower(this.endpointUri)}`;
  }
  appLevel(path: string): string {
    return `${this.A}/${path}?${this.E}`;
  }
  live(path: string, extra = ''): string {
    return `${this.T}/${path}?${this.E}${extra}`;
  }
  conversation(cid: string, sub = ''): string {
    return this.live(`communication/conversations/${cid}${sub ? `/${sub}` : ''}`);
  }
  participant(cid: string, uri: string, sub = ''): string {
    return this.conversation(cid, `participants/${userPart(uri)}${sub ? `/${sub}` : ''}`);
  }
  bridgedParticipant(cid: string, uri: string): string {
    return this.conversation(cid, `conversationBridge/bridgedParticipants/${userPart(uri)}`);
  }
  message(cid: string, n: number): string {
    return this.conversation(cid, `messaging/messages/${n}`);
  }
  invitation(
    kind: 'messagingInvitations' | 'onlineMeetingInvitations' | 'participantInvitations',
    id: string,
  ) {
    return this.live(`communication/${kind}/${id}`);
  }
  addMessaging(cid: string): string {
    return `${this.T}/communication/messagingInvitations?conversationId=${cid}&${this.E}`;
  }
  addParticipant(cid: string): string {
    return `${this.T}/communication/participantInvitations?${this.E}&conversationId=${cid}`;
  }
  /** The key of the captured event links: `<appId>~<endpoint>~<conversationId>`, `~` percent-encoded. */
  events(ack: number, conversationId: string): string {
    const key = encodeURIComponent(`${this.applicationId}~${this.endpointUri}~${conversationId}`).replace(
      /~/g,
      '%7E',
    );
    return `${this.T}/events?ack=${ack}&key=${key}`;
  }
}

/** Hrefs of one anonymous UCWA application. */
export class AnonHrefs {
  readonly base: string;
  constructor(readonly id: string) {
    this.base = `/ucwa/psanon/v1/applications/${id}`;
  }
  path(sub = ''): string {
    return sub ? `${this.base}/${sub}` : this.base;
  }
  conversation(cid: string, sub = ''): string {
    return this.path(`communication/conversations/${cid}${sub ? `/${sub}` : ''}`);
  }
  participant(cid: string, uri: string, sub = ''): string {
    return this.conversation(cid, `participants/${userPart(uri)}${sub ? `/${sub}` : ''}`);
  }
}

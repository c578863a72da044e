/**
 * A scripted anonymous web customer, speaking UCWA to the platform the way the widget does: token from
 * the SA, then only links discovered from responses (seed steps 3–6, 13, 16–20), with the long-poll
 * event channel running in the background. Used by the tests (over fetch) and by `carechat bench`
 * (over keep-alive node:http). Every event and message keeps the time it arrived (`performance.now()`).
 */
import { decodeDataUri } from '../wire/dataUri.ts';
import { findEmbeddedOne, findLink, type Resource } from '../wire/hal.ts';
import { withQuery } from '../wire/href.ts';
import { localRel } from '../wire/rels.ts';
import { fetchTransport, type HttpTransport } from './http.ts';

export interface ReceivedEvent {
  type: string;
  rel: string;
  in?: string;
  href: string;
  status?: string;
  embedded?: Resource;
  senderRel: string;
  /** performance.now() when the event-channel answer carrying it was read. */
  at: number;
}

export interface ReceivedMessage {
  text: string;
  from?: string;
  direction: string;
  /** performance.now() when the event-channel answer carrying it was read. */
  at: number;
}

export interface AnonCustomerOptions {
  name?: string;
  origin?: string;
  subject?: string;
  /** How requests go out; default the global fetch. */
  transport?: HttpTransport;
}

export class AnonCustomer {
  readonly events: ReceivedEvent[] = [];
  readonly messages: ReceivedMessage[] = [];
  /** Display names seen typing (added) on the customer's channel. */
  readonly typing: string[] = [];
  links: { sendMessage?: string; setIsTyping?: string; stopMessaging?: string; conversation?: string } = {};
  /** performance.now() just before the invitation (startMessaging) was sent. */
  invitedAt: number | undefined;
  /** The survey token the SA gave with the chat token (for `POST /chat/survey`), if it gave one. */
  surveyToken: string | undefined;
  private readonly abort = new AbortController();
  private polling: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  pollError: unknown;

  private constructor(
    readonly token: string,
    readonly helpdeskUri: string,
    private readonly origin: string,
    private readonly transport: HttpTransport,
  ) {}

  /** Steps 3–6: token from the SA, discover, anonymous application, invitation to the helpdesk. */
  static async start(saUrl: string, opts: AnonCustomerOptions = {}): Promise<AnonCustomer> {
    const origin = opts.origin ?? new URL(saUrl).origin;
    const transport = opts.transport ?? fetchTransport;
    const tokenResponse = await transport({
      method: 'POST',
      url: `${saUrl}/chat/token`,
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ displayName: opts.name ?? 'Jane Customer' }),
    });
    if (tokenResponse.status !== 200)
      throw new Error(`/chat/token answered ${tokenResponse.status}: ${tokenResponse.text}`);
    const grant = JSON.parse(tokenResponse.text) as {
      token: string;
      discoverUri: string;
      helpdeskUri: string;
      expiresAt: string;
      threadId?: string;
      surveyToken?: string;
    };
    const customer = new AnonCustomer(grant.token, grant.helpdeskUri, origin, transport);
    customer.surveyToken = grant.surveyToken;

    const discover = await customer.request('GET', grant.discoverUri);
    const anonApplications = customer.linkOf(discover.body, 'anonApplications', discover.url);
    const application = await customer.request('POST', anonApplications, {
      json: {
        anonymousDisplayName: opts.name ?? 'Jane Customer',
        culture: 'en-us',
        userAgent: 'carechat-test/1.0',
      },
      expect: 201,
    });
    const events = customer.linkOf(application.body, 'events', application.url);
    const communication = findEmbeddedOne(application.body, 'communication');
    const startMessaging = customer.linkOf(communication, 'startMessaging', application.url);
    customer.polling = customer.poll(events);
    customer.invitedAt = performance.now();
    await customer.request('POST', startMessaging, {
      json: {
        operationId: crypto.randomUUID(),
        to: grant.helpdeskUri,
        subject: opts.subject ?? 'Order 1234',
        importance: 'Normal',
        // As the widget does: the thread its survey token names.
        ...(grant.threadId ? { threadId: grant.threadId } : {}),
      },
      expect: 201,
    });
    return customer;
  }

  async request(
    method: string,
    url: string,
    opts: { json?: unknown; text?: string; html?: string; expect?: number } = {},
  ): Promise<{ status: number; body: Resource; url: string; headers: { get(name: string): string | null } }> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
      origin: this.origin,
    };
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.text !== undefined) {
      headers['content-type'] = 'text/plain; charset=utf-8';
      body = opts.text;
    } else if (opts.html !== undefined) {
      headers['content-type'] = 'text/html; charset=utf-8';
      body = opts.html;
    }
    const response = await this.transport({
      method,
      url,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: this.abort.signal,
    });
    const { text } = response;
    const expected = opts.expect ?? (method === 'GET' ? 200 : undefined);
    if (expected !== undefined && response.status !== expected) {
      throw new Error(
        `${method} ${new URL(url).pathname} answered ${response.status}, expected ${expected}: ${text}`,
      );
    }
    if (response.status >= 400)
      throw new Error(`${method} ${new URL(url).pathname} answered ${response.status}: ${text}`);
    return {
      status: response.status,
      body: text ? (JSON.parse(text) as Resource) : {},
      url: response.url || url,
      headers: response.headers,
    };
  }

  linkOf(resource: Resource | undefined, rel: string, base: string): string {
    const link = findLink(resource, rel);
    if (!link) throw new Error(`no '${rel}' link in ${JSON.stringify(resource).slice(0, 300)}`);
    return new URL(link.href, base).toString();
  }

  private async poll(first: string): Promise<void> {
    let next: string | undefined = first;
    while (next && !this.abort.signal.aborted) {
      let batch: { body: Resource; url: string };
      try {
        batch = await this.request('GET', next);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.pollError = error;
        this.wake();
        return;
      }
      const at = performance.now();
      const links = batch.body._links ?? {};
      const following = links.next ?? links.resync ?? links.resume;
      next = following ? new URL(following.href, batch.url).toString() : undefined;
      const senders = (batch.body.sender ?? []) as Array<{
        rel: string;
        href: string;
        events?: Array<Record<string, unknown>>;
      }>;
      for (const sender of senders) {
        for (const raw of sender.events ?? []) this.absorb(raw, localRel(sender.rel), batch.url, at);
      }
      this.wake();
    }
  }

  private absorb(raw: Record<string, unknown>, senderRel: string, base: string, at: number): void {
    const link = raw.link as { rel: string; href: string };
    const inLink = raw.in as { rel: string } | undefined;
    const embeddedAll = raw._embedded as Record<string, Resource> | undefined;
    const embedded = embeddedAll ? Object.values(embeddedAll)[0] : undefined;
    const event: ReceivedEvent = {
      type: String(raw.type),
      rel: localRel(link.rel),
      href: new URL(link.href, base).toString(),
      senderRel,
      at,
      ...(inLink ? { in: localRel(inLink.rel) } : {}),
      ...(typeof raw.status === 'string' ? { status: raw.status } : {}),
      ...(embedded ? { embedded } : {}),
    };
    this.events.push(event);
    if (event.rel === 'messaging' && embedded) {
      for (const rel of ['sendMessage', 'setIsTyping', 'stopMessaging'] as const) {
        const found = findLink(embedded, rel);
        if (found) this.links[rel] = new URL(found.href, base).toString();
      }
    }
    if (event.rel === 'conversation' && event.type !== 'deleted') this.links.conversation = event.href;
    if (event.rel === 'message' && event.type === 'completed' && embedded?.direction === 'Incoming') {
      const plain = findLink(embedded, 'plainMessage') ?? findLink(embedded, 'htmlMessage');
      const author = findLink(embedded, 'participant')?.title;
      this.messages.push({
        text: plain ? decodeDataUri(plain.href).text : '',
        direction: 'Incoming',
        at,
        ...(author ? { from: author } : {}),
      });
    }
    if (event.rel === 'participant' && event.in === 'typingParticipants' && event.type === 'added') {
      this.typing.push((link as { title?: string }).title ?? event.href);
    }
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /**
   * Resolve with `find()` as soon as it returns something (checked now and after every event-channel
   * answer); a failed event channel rejects (when `pollErrors`), and so does the timeout, with `missing()`.
   */
  private waitFor<T>(
    find: () => T | undefined,
    missing: () => string,
    timeout: number,
    pollErrors = true,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        if (pollErrors && this.pollError) {
          done();
          reject(this.pollError);
          return;
        }
        const value = find();
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`still failing after ${timeout} ms: ${missing()}`));
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  waitForMessage(match: (m: ReceivedMessage) => boolean, timeout = 10_000): Promise<ReceivedMessage> {
    return this.waitFor(
      () => this.messages.find(match),
      () => `no such message yet; got ${JSON.stringify(this.messages.map(({ at: _, ...m }) => m))}`,
      timeout,
    );
  }

  waitForEvent(match: (e: ReceivedEvent) => boolean, timeout = 10_000): Promise<ReceivedEvent> {
    return this.waitFor(
      () => this.events.find(match),
      () => 'no such event yet',
      timeout,
    );
  }

  async waitForMessaging(timeout = 5_000): Promise<void> {
    await this.waitFor(
      () => this.links.sendMessage,
      () => 'messaging not connected yet',
      timeout,
      false,
    );
  }

  /** Step 19: a customer message. */
  async send(text: string): Promise<void> {
    await this.waitForMessaging();
    await this.request('POST', withQuery(this.links.sendMessage!, { operationId: crypto.randomUUID() }), {
      text,
      expect: 201,
    });
  }

  /** Step 19 with markup: a message sent as text/html. */
  async sendHtml(html: string): Promise<void> {
    await this.waitForMessaging();
    await this.request('POST', withQuery(this.links.sendMessage!, { operationId: crypto.randomUUID() }), {
      html,
      expect: 201,
    });
  }

  /** Step 18: the customer is typing. */
  async startTyping(): Promise<void> {
    await this.waitForMessaging();
    await this.request('POST', this.links.setIsTyping!, { expect: 204 });
  }

  /** Step 20: the customer closes the chat. */
  async leave(): Promise<void> {
    if (this.links.stopMessaging) await this.request('POST', this.links.stopMessaging, { expect: 204 });
    if (this.links.conversation) {
      await this.request('DELETE', this.links.conversation).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.polling?.catch(() => undefined);
  }
}

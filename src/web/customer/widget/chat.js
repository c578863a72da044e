// @ts-check
/**
 * The protocol side of one customer chat (CustomerChat): the token from the SA, then anonymous UCWA to
 * the platform, following only discovered links, reporting to a ChatView. No DOM here: tests can pass
 * their own view and fetch.
 */
import {
  CULTURE,
  decodeDataUri,
  describeFailure,
  findEmbedded,
  findLink,
  hrefKey,
  htmlToText,
  isObject,
  localRel,
  MIN_TYPING_MS,
  POLL_RETRY_DELAYS_MS,
  parseWireDate,
  readJson,
  resolveHref,
  StartError,
  sleep,
  TYPING_INTERVAL_MS,
  USER_AGENT,
  uuid,
} from './wire.js';

/** @typedef {import('./wire.js').Resource} Resource @typedef {import('./wire.js').Link} Link */

/**
 * @typedef {{ setStatus(status: 'sending' | 'sent' | 'delivered' | 'failed', detail?: string): void,
 *   status: string, retry?: () => void }} OutgoingHandle
 * @typedef {object} ChatView
 * @property {(text: string, tone: 'idle' | 'busy' | 'ok' | 'error' | 'ended') => void} status
 * @property {() => void} showChat
 * @property {() => void} startFailed
 * @property {(on: boolean) => void} setConnected
 * @property {(m: { author: string, text: string, time: Date }) => void} incoming
 * @property {(m: { author: string, text: string, time: Date }) => OutgoingHandle} outgoing
 * @property {(text: string) => void} system
 * @property {(names: string[]) => void} typing
 * @property {(text: string) => void} ended
 */

/**
 * One customer chat: the protocol side, reporting to a ChatView. Usable without the DOM view (tests can
 * pass their own view and fetch).
 */
export class CustomerChat {
  /**
   * @param {{ tokenUrl: string, view: ChatView, fetch?: typeof fetch }} options
   */
  constructor({ tokenUrl, view, fetch: fetchImpl }) {
    this.tokenUrl = tokenUrl;
    this.view = view;
    this.fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
    this.abort = new AbortController();
    /** @type {string | undefined} */ this.token = undefined;
    this.name = '';
    this.helpdeskUri = '';
    /** @type {string | undefined} */ this.applicationHref = undefined;
    /** @type {string | undefined} */ this.conversationHref = undefined;
    /** @type {{ sendMessage?: string, setIsTyping?: string, stopMessaging?: string }} */
    this.links = {};
    this.connected = false;
    this.ended = false;
    this.lastTypingAt = 0;
    this.reconnecting = false;
    this.chatShown = false;
    /** @type {{ threadId: string, surveyToken: string } | undefined} from the chat token, for the survey */
    this.survey = undefined;
    /** participant key → display name (roster, for "joined"/"left") */
    this.participants = new Map();
    /** participant key → display name (who is typing now) */
    this.typingNow = new Map();
    /** participant key → when their typing indication was first shown (ms) */
    this.typingSince = new Map();
    /** participant key → timer that will take their typing indication down */
    this.typingStops = new Map();
    /** participant keys of the agents the customer sees in the chat (not the help desk itself) */
    this.agentsHere = new Set();
    /** Incoming messages are shown in order through this chain (one may wait for its typing notice). */
    this.display = Promise.resolve();
    /** keys of incoming messages already shown (a batch fetched twice is not shown twice) */
    this.seenMessages = new Set();
    /** @type {Map<string, OutgoingHandle>} operationId → own message */
    this.byOperation = new Map();
    /** @type {Map<string, OutgoingHandle>} message href key (from Location) → own message */
    this.byLocation = new Map();
    /** @type {Map<string, 'Success' | 'Failure'>} outcomes that arrived before the POST's Location */
    this.earlyOutcomes = new Map();
  }

  /**
   * @param {string} method @param {string} url
   * @param {{ body?: string, contentType?: string, auth?: boolean, detached?: boolean, keepalive?: boolean }}
   *   [options] `detached`: not cancelled when the chat ends (clean-up requests)
   */
  request(method, url, { body, contentType, auth = true, detached = false, keepalive = false } = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    if (contentType) headers['Content-Type'] = contentType;
    return this.fetch(url, {
      method,
      headers,
      body,
      signal: detached || keepalive ? undefined : this.abort.signal,
      credentials: 'omit',
      keepalive,
    });
  }

  /** @param {string} name @param {string} topic */
  async start(name, topic) {
    this.name = name;
    this.view.status('Connecting…', 'busy');
    try {
      await this.bootstrap(name, topic);
    } catch (error) {
      if (this.ended) return;
      const text =
        error instanceof StartError
          ? error.message
          : 'Could not start the chat: the chat service is unreachable.';
      if (!(error instanceof StartError)) console.warn('carechat: start failed', error);
      if (this.chatShown) {
        // The conversation view is up already: end it there, with a way to start again.
        this.end('Chat ended', text, 'error');
        return;
      }
      this.ended = true;
      this.abort.abort();
      this.view.status(text, 'error');
      this.view.startFailed();
    }
  }

  /** @param {string} name @param {string} topic */
  async bootstrap(name, topic) {
    // 1. The SA hands out the psat token and the discover link.
    let res;
    try {
      res = await this.fetch(this.tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ displayName: name }),
        signal: this.abort.signal,
      });
    } catch {
      throw new StartError('Could not reach the chat service. Check your connection and try again.');
    }
    if (!res.ok) throw new StartError(`Could not start the chat: ${await describeFailure(res)}`);
    const grant = await readJson(res).catch(() => undefined);
    if (
      !isObject(grant) ||
      typeof grant.token !== 'string' ||
      typeof grant.discoverUri !== 'string' ||
      typeof grant.helpdeskUri !== 'string'
    ) {
      throw new StartError('Could not start the chat: the chat service sent an incomplete answer.');
    }
    this.token = grant.token;
    this.helpdeskUri = grant.helpdeskUri;
    const { threadId, surveyToken } = grant;
    this.survey =
      typeof threadId === 'string' && typeof surveyToken === 'string' ? { threadId, surveyToken } : undefined;
    const discoverUrl = resolveHref(grant.discoverUri, res.url || location.href);

    // 2. Discover the anonymous applications endpoint.
    res = await this.platform('GET', discoverUrl);
    const discover = await this.platformJson(res, 'discovery');
    const anonLink = findLink(discover, 'anonApplications');
    if (!anonLink)
      throw new StartError('Chat is not available right now (the platform offers no guest access).');
    const anonUrl = resolveHref(anonLink.href, res.url || discoverUrl);

    // 3. Create the anonymous application.
    res = await this.platform('POST', anonUrl, {
      body: JSON.stringify({ anonymousDisplayName: name, culture: CULTURE, userAgent: USER_AGENT }),
      contentType: 'application/json',
    });
    const app = await this.platformJson(res, 'joining');
    const appUrl = res.url || anonUrl;
    const self = findLink(app, 'self');
    this.applicationHref = self ? resolveHref(self.href, appUrl) : undefined;
    const events = findLink(app, 'events');
    const startMessaging = findLink(findEmbedded(app, 'communication'), 'startMessaging');
    if (!events || !startMessaging) {
      throw new StartError('Chat is not available right now (the platform did not offer messaging).');
    }
    if (this.ended) return;
    this.chatShown = true;
    this.view.showChat();
    this.view.status('Waiting for an agent…', 'busy');

    // 4. Listen, then invite the helpdesk.
    void this.pollLoop(resolveHref(events.href, appUrl));
    /** @type {Record<string, string>} */
    const invitation = { operationId: uuid(), to: this.helpdeskUri };
    if (topic) invitation.subject = topic;
    if (this.survey) invitation.threadId = this.survey.threadId; // ties the chat to the survey token
    invitation.importance = 'Normal';
    res = await this.platform('POST', resolveHref(startMessaging.href, appUrl), {
      body: JSON.stringify(invitation),
      contentType: 'application/json',
    });
    if (!res.ok) {
      const reason = await describeFailure(res);
      this.end('Chat ended', `Sorry, we could not start your chat: ${reason}`);
    }
  }

  /**
   * A platform request during start-up; network failures become a StartError.
   * @param {string} method @param {string} url @param {{ body?: string, contentType?: string }} [options]
   */
  async platform(method, url, options) {
    try {
      return await this.request(method, url, options);
    } catch (error) {
      if (this.ended) throw error;
      throw new StartError('Could not reach the chat platform. Check your connection and try again.');
    }
  }

  /** @param {Response} res @param {string} step */
  async platformJson(res, step) {
    if (!res.ok)
      throw new StartError(`Could not start the chat (${step} failed: ${await describeFailure(res)}).`);
    try {
      return await readJson(res);
    } catch {
      throw new StartError(`Could not start the chat (${step} failed: the platform's answer was not JSON).`);
    }
  }

  // ---------------------------------------------------------------------------------------- event channel

  /** GET the events href, then follow `next` (or `resync`/`resume`) until the chat ends. @param {string} first */
  async pollLoop(first) {
    try {
      await this.follow(first);
    } catch (error) {
      console.warn('carechat: event channel stopped', error);
      this.end('Chat ended', 'We lost the connection to the chat. Please start a new chat.', 'error');
    }
  }

  /** @param {string} first */
  async follow(first) {
    let pending = this.poll(first);
    while (!this.ended) {
      const result = await pending;
      if (this.ended) return;
      if (result.kind === 'gone') {
        this.end('Chat ended', 'The chat has ended.');
        return;
      }
      if (result.kind === 'failed') {
        this.end('Chat ended', result.message, 'error');
        return;
      }
      if (result.kind !== 'batch') return;
      const { body, url } = result;
      const next = findLink(body, 'next');
      const restart = findLink(body, 'resync') ?? findLink(body, 'resume');
      const follow = next ?? restart;
      if (!follow) {
        this.end('Chat ended', 'The chat has ended.');
        return;
      }
      // The next GET goes out before this batch is processed; batches are still processed in order.
      pending = this.poll(resolveHref(follow.href, url));
      if (!next && restart) this.resetTransient();
      if (this.reconnecting) {
        this.reconnecting = false;
        this.showStatus();
      }
      await this.processBatch(body, url);
    }
  }

  /**
   * One long-poll GET, retried with backoff on network errors and 5xx/408/409/429.
   * @param {string} href
   * @returns {Promise<{ kind: 'batch', body: unknown, url: string } | { kind: 'gone' } |
   *   { kind: 'failed', message: string } | { kind: 'stopped' }>}
   */
  async poll(href) {
    for (let attempt = 0; ; attempt += 1) {
      if (this.ended) return { kind: 'stopped' };
      try {
        const res = await this.request('GET', href);
        if (res.ok) return { kind: 'batch', body: await readJson(res), url: res.url || href };
        if (res.status === 404 || res.status === 410) return { kind: 'gone' };
        if (res.status === 401 || res.status === 403) {
          return { kind: 'failed', message: 'Your chat session has expired. Please start a new chat.' };
        }
        const retryable = res.status >= 500 || [408, 409, 429].includes(res.status);
        if (!retryable) {
          return { kind: 'failed', message: `The chat connection failed: ${await describeFailure(res)}` };
        }
      } catch (error) {
        if (this.ended) return { kind: 'stopped' };
        console.warn('carechat: event channel request failed', error);
      }
      const delay = POLL_RETRY_DELAYS_MS[attempt];
      if (delay === undefined) {
        return { kind: 'failed', message: 'We lost the connection to the chat. Please start a new chat.' };
      }
      this.reconnecting = true;
      this.view.status('Connection problem, reconnecting…', 'busy');
      await sleep(delay, this.abort.signal);
    }
  }

  /** A `resync`/`resume` means transient state was dropped: forget who is typing. */
  resetTransient() {
    for (const timer of this.typingStops.values()) clearTimeout(timer);
    this.typingStops.clear();
    this.typingSince.clear();
    this.typingNow.clear();
    this.view.typing([]);
  }

  /** The header: waiting until an agent is in the chat, then connected. */
  showStatus() {
    if (this.ended) return;
    if (this.agentsHere.size > 0) this.view.status('Connected', 'ok');
    else this.view.status('Waiting for an agent…', 'busy');
  }

  /** Whether a participant key is the help desk (the service itself), not an agent. @param {string} key */
  isHelpdesk(key) {
    const user = this.helpdeskUri.replace(/^sip:/i, '').toLowerCase();
    return !!user && key.endsWith(`/${user}`);
  }

  /** @param {string} key @param {string} name */
  startTyping(key, name) {
    const stop = this.typingStops.get(key);
    if (stop) clearTimeout(stop);
    this.typingStops.delete(key);
    if (!this.typingNow.has(key)) this.typingSince.set(key, Date.now());
    this.typingNow.set(key, name);
    this.view.typing([...this.typingNow.values()]);
  }

  /**
   * Take a typing indication down, but not before it was up MIN_TYPING_MS (`now`: at once).
   * @param {string} key @param {boolean} [now]
   */
  stopTyping(key, now = false) {
    if (!this.typingNow.has(key)) return;
    const shown = Date.now() - (this.typingSince.get(key) ?? 0);
    if (!now && shown < MIN_TYPING_MS) {
      if (!this.typingStops.has(key)) {
        this.typingStops.set(
          key,
          setTimeout(() => {
            this.typingStops.delete(key);
            this.stopTyping(key, true);
          }, MIN_TYPING_MS - shown),
        );
      }
      return;
    }
    const stop = this.typingStops.get(key);
    if (stop) clearTimeout(stop);
    this.typingStops.delete(key);
    this.typingNow.delete(key);
    this.typingSince.delete(key);
    this.view.typing([...this.typingNow.values()]);
  }

  /** An agent is in the chat (from the roster, or because they wrote). @param {string} key */
  agentArrived(key) {
    if (this.isHelpdesk(key) || this.agentsHere.has(key)) return;
    this.agentsHere.add(key);
    this.showStatus();
  }

  /** @param {unknown} body @param {string} base */
  async processBatch(body, base) {
    const senders = isObject(body) && Array.isArray(body.sender) ? body.sender : [];
    for (const sender of senders) {
      const events = isObject(sender) && Array.isArray(sender.events) ? sender.events : [];
      for (const event of events) {
        if (this.ended) return;
        try {
          await this.handleEvent(event, base);
        } catch (error) {
          console.warn('carechat: could not handle an event', error);
        }
      }
    }
  }

  /** @param {unknown} event @param {string} base */
  async handleEvent(event, base) {
    if (!isObject(event) || !isObject(event.link) || typeof event.link.href !== 'string') return;
    const rel = localRel(event.link.rel);
    const href = resolveHref(event.link.href, base);
    switch (rel) {
      case 'messagingInvitation':
        return this.onInvitation(event, base);
      case 'conversation':
        if (event.type === 'deleted') this.end('Chat ended', 'The chat has ended.');
        else this.conversationHref ??= href;
        return;
      case 'messaging':
        return this.onMessaging(event, base);
      case 'message':
        return this.onMessage(event, href, base);
      case 'participant':
        return this.onParticipant(event, href);
      default:
        return;
    }
  }

  /** @param {Record<string, any>} event @param {string} base */
  onInvitation(event, base) {
    const invitation = findEmbedded(event, 'messagingInvitation');
    const conversation = findLink(invitation, 'conversation');
    if (conversation) this.conversationHref ??= resolveHref(conversation.href, base);
    if (event.type === 'completed' && event.status === 'Failure') {
      this.end('Chat ended', 'Sorry, no one could take your chat right now. Please try again later.');
    }
  }

  /** @param {Record<string, any>} event @param {string} base */
  onMessaging(event, base) {
    const messaging = findEmbedded(event, 'messaging');
    const state = messaging?.state;
    if (state === 'Connected') {
      const link = (/** @type {string} */ local) => {
        const found = findLink(messaging, local);
        return found ? resolveHref(found.href, base) : undefined;
      };
      this.links = {
        sendMessage: link('sendMessage') ?? this.links.sendMessage,
        setIsTyping: link('setIsTyping') ?? this.links.setIsTyping,
        stopMessaging: link('stopMessaging') ?? this.links.stopMessaging,
      };
      const conversation = findLink(messaging, 'conversation');
      if (conversation) this.conversationHref ??= resolveHref(conversation.href, base);
      if (!this.connected && this.links.sendMessage) {
        this.connected = true;
        this.view.setConnected(true);
        this.showStatus();
      }
    } else if (state === 'Disconnected' || event.type === 'deleted') {
      this.end('Chat ended', 'The chat has ended.');
    }
  }

  /** @param {Record<string, any>} event @param {string} href @param {string} base */
  async onMessage(event, href, base) {
    let message = findEmbedded(event, 'message');
    if (!message && event.type === 'completed') {
      // Without an embedded resource only the link is known: read it.
      const res = await this.request('GET', href).catch(() => undefined);
      if (res?.ok) message = await readJson(res).catch(() => undefined);
      if (!isObject(message)) return;
    }
    if (!message) return;
    const key = hrefKey(href);
    if (message.direction === 'Incoming') {
      if (event.status === 'Failure' || this.seenMessages.has(key)) return;
      const plain = findLink(message, 'plainMessage');
      const html = findLink(message, 'htmlMessage');
      let text;
      if (plain) text = decodeDataUri(plain.href).text;
      else if (html) {
        const decoded = decodeDataUri(html.href);
        text = decoded.mediaType === 'text/html' ? htmlToText(decoded.text) : decoded.text;
      }
      if (text === undefined) return;
      this.seenMessages.add(key);
      const participant = findLink(message, 'participant');
      const author = participant?.title || 'Support';
      const who = participant ? hrefKey(resolveHref(participant.href, base)) : undefined;
      const time = parseWireDate(message.timeStamp) ?? new Date();
      if (who) this.agentArrived(who);
      // A message from someone whose typing notice went up a moment ago waits until it was seen.
      const since = who && this.typingNow.has(who) ? this.typingSince.get(who) : undefined;
      const hold = since === undefined ? 0 : Math.max(0, MIN_TYPING_MS - (Date.now() - since));
      this.display = this.display.then(async () => {
        if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
        this.view.incoming({ author, text, time });
        if (who) this.stopTyping(who, true);
      });
      return;
    }
    if (message.direction === 'Outgoing' && event.type === 'completed') {
      const outcome = event.status === 'Failure' ? 'Failure' : 'Success';
      const operationId = typeof message.operationId === 'string' ? message.operationId : undefined;
      const own = (operationId && this.byOperation.get(operationId)) || this.byLocation.get(key);
      if (!own) {
        this.earlyOutcomes.set(key, outcome);
        return;
      }
      this.settle(own, outcome);
    }
  }

  /** @param {OutgoingHandle} own @param {'Success' | 'Failure'} outcome */
  settle(own, outcome) {
    if (outcome === 'Success') own.setStatus('delivered');
    else own.setStatus('failed', 'Not delivered');
  }

  /** @param {Record<string, any>} event @param {string} href */
  onParticipant(event, href) {
    const key = hrefKey(href);
    const embedded = findEmbedded(event, 'participant');
    const name =
      event.link.title ||
      (typeof embedded?.name === 'string' ? embedded.name : '') ||
      this.participants.get(key) ||
      'An agent';
    const inRel = isObject(event.in) ? localRel(event.in.rel) : undefined;
    if (inRel === 'typingParticipants') {
      if (event.type === 'added') this.startTyping(key, name);
      else if (event.type === 'deleted') this.stopTyping(key);
      return;
    }
    if (inRel) return;
    if (event.type === 'added' && !this.participants.has(key)) {
      this.participants.set(key, name);
      this.view.system(`${name} joined`);
      this.agentArrived(key);
    } else if (event.type === 'deleted' && this.participants.has(key)) {
      this.participants.delete(key);
      this.stopTyping(key, true);
      this.view.system(`${name} left`);
      if (this.agentsHere.delete(key)) this.showStatus();
    }
  }

  // ---------------------------------------------------------------------------------------- customer actions

  /** @param {string} text */
  async send(text) {
    if (!this.links.sendMessage || this.ended || !text.trim()) return;
    const own = this.view.outgoing({ author: this.name, text, time: new Date() });
    own.retry = () => {
      if (!this.ended && this.links.sendMessage) void this.deliver(own, text);
    };
    await this.deliver(own, text);
  }

  /** POST one message (again, for a retry) under a fresh operationId. @param {OutgoingHandle} own @param {string} text */
  async deliver(own, text) {
    const target = this.links.sendMessage;
    if (!target || this.ended) return;
    const operationId = uuid();
    own.setStatus('sending');
    this.byOperation.set(operationId, own);
    this.lastTypingAt = 0; // sending ends the typing indication on the platform
    const url = new URL(target);
    url.searchParams.set('operationId', operationId);
    try {
      const res = await this.request('POST', url.toString(), {
        body: text,
        contentType: 'text/plain; charset=utf-8',
      });
      if (!res.ok) {
        own.setStatus('failed', `Not sent: ${await describeFailure(res)}`);
        return;
      }
      await res.text().catch(() => '');
      if (own.status === 'sending') own.setStatus('sent');
      const location = res.headers.get('Location');
      if (location) {
        const key = hrefKey(resolveHref(location, res.url || url.toString()));
        this.byLocation.set(key, own);
        const early = this.earlyOutcomes.get(key);
        if (early) {
          this.earlyOutcomes.delete(key);
          this.settle(own, early);
        }
      }
    } catch (error) {
      if (!this.ended) {
        console.warn('carechat: send failed', error);
        own.setStatus('failed', 'Not sent: check your connection');
      }
    }
  }

  /** The customer typed something: tell the platform, at most every TYPING_INTERVAL_MS. */
  typing() {
    const target = this.links.setIsTyping;
    if (!target || this.ended) return;
    const now = Date.now();
    if (now - this.lastTypingAt < TYPING_INTERVAL_MS) return;
    this.lastTypingAt = now;
    this.request('POST', target).catch((error) => console.debug('carechat: typing not sent', error));
  }

  /** Leave: stop messaging, then delete the conversation (or, before there is one, the application). */
  async leave() {
    if (this.ended) return;
    const { stopMessaging } = this.links;
    const conversation = this.conversationHref;
    const application = this.applicationHref;
    this.end('You left', 'You left the chat.');
    const quietly = (/** @type {string} */ method, /** @type {string} */ url) =>
      this.request(method, url, { detached: true }).then(
        (res) => res,
        (error) => console.debug(`carechat: ${method} on leave failed`, error),
      );
    if (stopMessaging) await quietly('POST', stopMessaging);
    if (conversation) await quietly('DELETE', conversation);
    else if (application) await quietly('DELETE', application);
  }

  /** The page is going away: best-effort cleanup that outlives the page. */
  unload() {
    if (this.ended) return;
    const target = this.conversationHref ?? this.applicationHref;
    this.ended = true;
    this.abort.abort();
    if (target) this.request('DELETE', target, { keepalive: true }).catch(() => {});
  }

  /**
   * @param {string} status @param {string} note
   * @param {'ended' | 'error'} [tone]
   */
  end(status, note, tone = 'ended') {
    if (this.ended) return;
    this.ended = true;
    this.connected = false;
    this.abort.abort();
    this.resetTransient();
    this.agentsHere.clear();
    this.view.system(note);
    this.view.status(status, tone);
    this.view.ended(status);
  }
}

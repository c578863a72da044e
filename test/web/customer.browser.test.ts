/**
 * The customer chat page in Chromium: first against a scripted platform (exact control over every answer
 * and event), then a complete chat on the full stack (SA + emulator with simulated agents).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/runtime/logger.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { customerPageHtml } from '../../src/web/customer/page.ts';
import { customerPageRoutes } from '../../src/web/customer/routes.ts';
import { browserSkipped, launchBrowser } from '../helpers/browser.ts';
import { eventually } from '../helpers/eventually.ts';
import {
  APP,
  CONV,
  HELPDESK_NAME,
  HELPDESK_URI,
  type RecordedRequest,
  type ScriptedOptions,
  ScriptedPlatform,
  SEND_PATH,
  SEND_QUERY,
  TOKEN,
} from './scriptedPlatform.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const TEST_IDS = ['name', 'topic', 'start', 'status', 'messages', 'typing', 'input', 'send', 'leave'];

// ------------------------------------------------------------------------------------------ page helpers

interface ShownMessage {
  direction: string;
  author: string;
  text: string;
  status: string;
}

async function shown(page: Page): Promise<ShownMessage[]> {
  return page.getByTestId('message').evaluateAll((items) =>
    items.map((item) => ({
      direction: item.getAttribute('data-direction') ?? '',
      author: item.getAttribute('data-author') ?? '',
      text: item.querySelector('.text')?.textContent ?? '',
      status: item.getAttribute('data-status') ?? '',
    })),
  );
}

const text = async (page: Page, testId: string) => (await page.getByTestId(testId).textContent()) ?? '';

async function waitForStatus(page: Page, expected: string | RegExp, timeout?: number): Promise<void> {
  await eventually(
    () => text(page, 'status'),
    (value) =>
      typeof expected === 'string' ? expect(value).toBe(expected) : expect(value).toMatch(expected),
    timeout ? { timeout } : undefined,
  );
}

async function waitForMessage(
  page: Page,
  match: (m: ShownMessage) => boolean,
  timeout = 5_000,
): Promise<ShownMessage> {
  const list = await eventually(
    () => shown(page),
    (messages) => expect(messages.some(match), JSON.stringify(messages)).toBe(true),
    { timeout },
  );
  return list.find(match)!;
}

async function startChat(page: Page, name = 'Ada Customer', topic = 'billing'): Promise<void> {
  await page.getByTestId('name').fill(name);
  if (topic) await page.getByTestId('topic').selectOption(topic);
  await page.getByTestId('start').click();
}

// ------------------------------------------------------------------------------------------ HTTP only

describe('customer page routes', () => {
  let server: ScriptedPlatform;
  beforeAll(async () => {
    server = await ScriptedPlatform.start();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('GET / serves the page with every stable test id, a strict CSP and no external resources', async () => {
    const res = await fetch(`${server.saUrl}/`);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    for (const id of TEST_IDS) expect(html).toContain(`data-testid="${id}"`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("default-src 'none'");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain('<script type="module" src="/widget.js"></script>');
  });

  it('GET /widget.js serves the module as JavaScript and answers 304 to a matching If-None-Match', async () => {
    const res = await fetch(`${server.saUrl}/widget.js`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(body).toContain("export { CustomerChat } from './widget/chat.js'");
    expect(body).not.toMatch(/innerHTML|insertAdjacentHTML|document\.write/);
    const etag = res.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(`${server.saUrl}/widget.js`, { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('GET /widget/:module serves the modules widget.js imports, and nothing else', async () => {
    const res = await fetch(`${server.saUrl}/widget/chat.js`);
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(body).toContain('export class CustomerChat');
    const etag = res.headers.get('etag');
    const again = await fetch(`${server.saUrl}/widget/chat.js`, { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    for (const path of ['/widget/nothing.js', '/widget/..%2Froutes.ts', '/widget/%2E%2E%2Fwidget.js']) {
      const missing = await fetch(`${server.saUrl}${path}`);
      expect(missing.status, path).toBe(404);
      await missing.body?.cancel();
    }
  });

  it('escapes the title it is given', () => {
    const html = customerPageHtml({ title: '<b>Help</b> & "care"' });
    expect(html).toContain('<title>&lt;b&gt;Help&lt;/b&gt; &amp; &quot;care&quot;</title>');
    expect(html).not.toContain('<b>Help</b>');
  });

  it('a path the page routes do not know is 404', async () => {
    const app = customerPageRoutes();
    const res = await app.request('/nothing-here');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('404');
  });
});

// ------------------------------------------------------------------------------------------ scripted platform

describe.skipIf(browserSkipped)('customer widget against a scripted platform', () => {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let platform: ScriptedPlatform | undefined;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    context = await browser!.newContext();
    page = await context.newPage();
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });
  afterEach(async () => {
    await context?.close();
    await platform?.close();
    platform = undefined;
    expect(pageErrors).toEqual([]);
  });

  async function open(options: ScriptedOptions = {}): Promise<ScriptedPlatform> {
    platform = await ScriptedPlatform.start(options);
    await page.goto(`${platform.saUrl}/`);
    return platform;
  }

  /** Messaging is connected (the customer can write), but only the help desk is there: no agent yet. */
  async function openConnected(options: ScriptedOptions = {}): Promise<ScriptedPlatform> {
    const p = await open(options);
    await startChat(page);
    await waitForStatus(page, 'Waiting for an agent…');
    // The first long poll is held by the platform before the help desk answers...
    const polls = await eventually(
      () => p.eventPolls().length,
      (n) => expect(n).toBeGreaterThan(0),
    );
    p.connect();
    await eventually(
      () => page.getByTestId('input').isEnabled(),
      (enabled) => expect(enabled).toBe(true),
    );
    // ...and so is the one after the connect batch: tests that count polls start from here.
    await eventually(
      () => p.eventPolls().length,
      (n) => expect(n).toBeGreaterThan(polls),
    );
    return p;
  }

  const only = (requests: RecordedRequest[]): RecordedRequest => {
    expect(requests).toHaveLength(1);
    return requests[0]!;
  };

  it('refuses to start without a name and sends nothing to the SA', async () => {
    const p = await open();
    await page.getByTestId('start').click();
    await waitForStatus(page, 'Please enter your name to start a chat.');
    expect(p.requests).toEqual([]);
    expect(await page.getByTestId('start').isEnabled()).toBe(true);
  });

  it("shows the SA's error message when /chat/token fails, and lets the customer try again", async () => {
    const p = await open({
      tokenFailure: {
        status: 502,
        body: {
          error: 'platform_unavailable',
          message: 'the chat service could not issue a token right now',
        },
      },
    });
    await startChat(page);
    await waitForStatus(page, 'Could not start the chat: the chat service could not issue a token right now');
    expect(await page.getByTestId('start').isEnabled()).toBe(true);
    expect(await page.getByTestId('name').isEnabled()).toBe(true);
    expect(p.requests.filter((r) => r.host !== 'sa')).toEqual([]);
  });

  it('starts through discovered links only, with the documented bodies, resolving relative hrefs against the answering host', async () => {
    const p = await open();
    await startChat(page, 'Ada Customer', 'billing');
    await waitForStatus(page, 'Waiting for an agent…');
    await eventually(
      () => p.requestsTo(`${APP}/communication/messagingInvitations`, 'POST'),
      (list) => expect(list).toHaveLength(1),
    );

    const token = only(p.requests.filter((r) => r.host === 'sa'));
    expect(JSON.parse(token.body)).toEqual({ displayName: 'Ada Customer' });
    expect(token.headers['content-type']).toMatch(/^application\/json/);

    const discover = only(p.requestsTo('/platformService/discover', 'GET'));
    expect(discover.host).toBe('discovery');
    expect(discover.query.get('anonymousContext')).toBe('psat%3dscripted.token.value');
    expect(discover.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(discover.headers.accept).toBe('application/json');

    const application = only(p.requestsTo('/ucwa/psanon/v1/applications', 'POST'));
    expect(application.host).toBe('pool');
    expect(application.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(application.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(application.body)).toEqual({
      anonymousDisplayName: 'Ada Customer',
      culture: 'en-us',
      userAgent: 'carechat-widget/1.0',
    });

    const invitation = only(p.requestsTo(`${APP}/communication/messagingInvitations`, 'POST'));
    expect(invitation.host).toBe('pool');
    const body = JSON.parse(invitation.body) as Record<string, string>;
    expect(body).toEqual({
      operationId: body.operationId,
      to: HELPDESK_URI,
      subject: 'billing',
      importance: 'Normal',
    });
    expect(body.operationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // The widget starts its long poll alongside the invitation: wait for it rather than assume its order.
    const [firstPoll] = await eventually(
      () => p.eventPolls(),
      (polls) => expect(polls.length).toBeGreaterThan(0),
    );
    expect(firstPoll!.host).toBe('pool');
    expect(firstPoll!.query.get('ack')).toBe('1');
    expect(firstPoll!.query.get('key')).toBe('k3y');
    expect(firstPoll!.headers.authorization).toBe(`Bearer ${TOKEN}`);

    // Not connected yet: nothing to type into.
    expect(await page.getByTestId('input').isDisabled()).toBe(true);
    expect(await page.getByTestId('leave').isVisible()).toBe(true);
  });

  it('leaves the subject out when no topic is chosen', async () => {
    const p = await open();
    await startChat(page, 'Ada Customer', '');
    const invitation = await eventually(
      () => p.requestsTo(`${APP}/communication/messagingInvitations`, 'POST'),
      (list) => expect(list).toHaveLength(1),
    );
    expect(JSON.parse(invitation[0]!.body)).not.toHaveProperty('subject');
  });

  it('messaging Connected enables the input and the helpdesk joining is announced', async () => {
    await openConnected();
    expect(await page.getByTestId('input').isEnabled()).toBe(true);
    await waitForMessage(page, (m) => m.direction === 'system' && m.text === `${HELPDESK_NAME} joined`);
  });

  it('the header says "Waiting for an agent…" until an agent is there, "Connected" while one is, and waits again after they left', async () => {
    const p = await openConnected();
    await waitForMessage(page, (m) => m.text === `${HELPDESK_NAME} joined`);
    // The help desk itself is not an agent.
    expect(await text(page, 'status')).toBe('Waiting for an agent…');
    p.push(p.conversationSender(p.participantAdded('Carol Agent', 'carol@contoso.com')));
    await waitForStatus(page, 'Connected');
    await waitForMessage(page, (m) => m.direction === 'system' && m.text === 'Carol Agent joined');
    p.push(p.conversationSender(p.participantDeleted('Carol Agent', 'carol@contoso.com')));
    await waitForStatus(page, 'Waiting for an agent…');
    await waitForMessage(page, (m) => m.direction === 'system' && m.text === 'Carol Agent left');
  });

  it('an agent writing counts as an agent being there, even without a roster event', async () => {
    const p = await openConnected();
    p.push(
      p.conversationSender(p.incoming({ body: 'Hello', author: 'Alice Agent', user: 'alice@contoso.com' })),
    );
    await waitForMessage(page, (m) => m.text === 'Hello');
    await waitForStatus(page, 'Connected');
  });

  it('keeps a typing notice up for at least a second: a message from the typist waits for it', async () => {
    await page.clock.install({ time: new Date('2030-01-01T09:00:00Z') });
    const p = await openConnected();
    await page.clock.pauseAt(new Date('2030-01-01T09:01:00Z'));
    p.push(p.conversationSender(p.typing('Alice Agent', 'alice@contoso.com', true)));
    await eventually(
      () => text(page, 'typing'),
      (value) => expect(value).toBe('Alice Agent is typing…'),
    );
    p.push(
      p.conversationSender(p.incoming({ body: 'Quick', author: 'Alice Agent', user: 'alice@contoso.com' })),
    );
    // The message's batch is processed (the next long poll goes out after it) while the clock stands still.
    const polls = p.eventPolls().length;
    await eventually(
      () => p.eventPolls().length,
      (n) => expect(n).toBeGreaterThan(polls),
    );
    await page.clock.runFor(500);
    expect((await shown(page)).some((m) => m.text === 'Quick')).toBe(false);
    expect(await text(page, 'typing')).toBe('Alice Agent is typing…');
    await page.clock.runFor(600);
    await waitForMessage(page, (m) => m.text === 'Quick');
    expect(await text(page, 'typing')).toBe('');
    // A notice taken down right away by the platform also stays up for its second.
    p.push(p.conversationSender(p.typing('Bob Agent', 'bob@contoso.com', true)));
    await eventually(
      () => text(page, 'typing'),
      (value) => expect(value).toBe('Bob Agent is typing…'),
    );
    p.push(p.conversationSender(p.typing('Bob Agent', 'bob@contoso.com', false)));
    const again = p.eventPolls().length;
    await eventually(
      () => p.eventPolls().length,
      (n) => expect(n).toBeGreaterThan(again),
    );
    expect(await text(page, 'typing')).toBe('Bob Agent is typing…');
    await page.clock.runFor(1000);
    await eventually(
      () => text(page, 'typing'),
      (value) => expect(value).toBe(''),
    );
  });

  it('understands prefixed rels (service:) on discovery, the application and every event', async () => {
    const p = await openConnected({ relPrefix: 'service:' });
    p.push(
      p.conversationSender(
        p.incoming({ body: 'Hello+from+service', author: 'Alice Agent', user: 'alice@contoso.com' }),
      ),
    );
    await waitForMessage(page, (m) => m.text === 'Hello from service' && m.author === 'Alice Agent');
  });

  it('understands ms:rtc:saas: rels too', async () => {
    const p = await openConnected({ relPrefix: 'ms:rtc:saas:' });
    p.push(p.conversationSender(p.typing('Bob Agent', 'bob@contoso.com', true)));
    await eventually(
      () => text(page, 'typing'),
      (value) => expect(value).toBe('Bob Agent is typing…'),
    );
  });

  it('shows an incoming plain message form-decoded, with its author and time', async () => {
    const p = await openConnected();
    p.push(
      p.conversationSender(
        p.incoming({
          body: 'Welcome+customer%21+50%25+off%2c+caf%c3%a9%0d%0aLine+two',
          author: 'Contoso Help Desk',
          user: 'helpdesk@contoso.com',
          timeStamp: '/Date(1700000000000)/',
        }),
      ),
    );
    const message = await waitForMessage(page, (m) => m.direction === 'in');
    expect(message).toEqual({
      direction: 'in',
      author: 'Contoso Help Desk',
      text: 'Welcome customer! 50% off, café\r\nLine two',
      status: '',
    });
    const datetime = await page.locator('[data-direction="in"] time').getAttribute('datetime');
    expect(datetime).toBe(new Date(1700000000000).toISOString());
  });

  it('shows an HTML message as text: no markup is created and no script runs', async () => {
    const p = await openConnected();
    const html = encodeURIComponent(
      '<p>Hi <b>there</b></p><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>',
    );
    p.push(
      p.conversationSender(
        p.incoming({ body: html, html: true, author: 'Alice Agent', user: 'alice@contoso.com' }),
      ),
    );
    const message = await waitForMessage(page, (m) => m.direction === 'in');
    expect(message.text).toBe('Hi there');
    expect(
      await page
        .locator('[data-testid="messages"] img, [data-testid="messages"] b, [data-testid="messages"] script')
        .count(),
    ).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it('does not show the same incoming message twice when a batch is delivered again', async () => {
    const p = await openConnected();
    const event = p.incoming({ body: 'once', author: 'Alice Agent', user: 'alice@contoso.com' });
    p.push(p.conversationSender(event));
    p.push(p.conversationSender(event));
    p.push(
      p.conversationSender(p.incoming({ body: 'twice', author: 'Alice Agent', user: 'alice@contoso.com' })),
    );
    await waitForMessage(page, (m) => m.text === 'twice');
    expect((await shown(page)).filter((m) => m.text === 'once')).toHaveLength(1);
  });

  it('shows who is typing from typingParticipants added/deleted, and a message from the typist clears it', async () => {
    const p = await openConnected();
    p.push(p.conversationSender(p.typing('Alice Agent', 'alice@contoso.com', true)));
    await eventually(
      () => text(page, 'typing'),
      (value) => expect(value).toBe('Alice Agent is typing…'),
    );
    // Typing is not a roster change: nobody "joined".
    expect((await shown(page)).some((m) => m.text.includes('Alice Agent joined'))).toBe(false);

    p.push(p.conversationSender(p.typing('Bob Agent', 'bob@contoso.com', true)));
    await eventually(
      () => text(page, 'typing'),
      (value) => expect(value).toBe('Alice Agent and Bob Agent are typing…'),
    );

    p.push(p.conversationSender(p.typing('Bob Agent', 'bob@contoso.com', false)));
    await eventually(
      () => text(page, 'typing'),
      (value) => expect(value).toBe('Alice Agent is typing…'),
    );

    p.push(
      p.conversationSender(p.incoming({ body: 'Done', author: 'Alice Agent', user: 'alice@contoso.com' })),
    );
    await waitForMessage(page, (m) => m.text === 'Done');
    expect(await text(page, 'typing')).toBe('');
  });

  it('announces a participant who joins and leaves the conversation', async () => {
    const p = await openConnected();
    p.push(p.conversationSender(p.participantAdded('Carol Agent', 'carol@contoso.com')));
    await waitForMessage(page, (m) => m.direction === 'system' && m.text === 'Carol Agent joined');
    p.push(p.conversationSender(p.participantDeleted('Carol Agent', 'carol@contoso.com')));
    await waitForMessage(page, (m) => m.direction === 'system' && m.text === 'Carol Agent left');
  });

  it('Enter sends the text as text/plain to sendMessage with an operationId, keeping its query; Success marks it delivered', async () => {
    const p = await openConnected();
    await page.getByTestId('input').fill('my order is late');
    await page.getByTestId('input').press('Enter');
    const sent = await eventually(
      () => p.requestsTo(SEND_PATH, 'POST'),
      (list) => expect(list).toHaveLength(1),
    );
    const request = sent[0]!;
    expect(request.body).toBe('my order is late');
    expect(request.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.query.get('ref')).toBe(SEND_QUERY.split('=')[1]);
    expect(request.query.get('operationId')).toMatch(/^[0-9a-f-]{36}$/);
    const mine = await waitForMessage(page, (m) => m.direction === 'out' && m.status === 'delivered');
    expect(mine).toEqual({
      direction: 'out',
      author: 'Ada Customer',
      text: 'my order is late',
      status: 'delivered',
    });
    expect(await page.getByTestId('input').inputValue()).toBe('');
  });

  it('the Send button sends too, and a Failure completion marks the message failed', async () => {
    const p = await openConnected({ sendOutcome: 'Failure' });
    await page.getByTestId('input').fill('are you there?');
    await page.getByTestId('send').click();
    await eventually(
      () => p.requestsTo(SEND_PATH, 'POST'),
      (list) => expect(list).toHaveLength(1),
    );
    const mine = await waitForMessage(page, (m) => m.direction === 'out' && m.status === 'failed');
    expect(mine.text).toBe('are you there?');
    expect(await page.locator('[data-direction="out"] .receipt').textContent()).toBe('Not delivered');
  });

  it('a failed message can be sent again with Retry, under a new operationId, and is then delivered', async () => {
    const p = await openConnected({ sendOutcome: 'Failure' });
    await page.getByTestId('input').fill('second chance');
    await page.getByTestId('input').press('Enter');
    await waitForMessage(page, (m) => m.direction === 'out' && m.status === 'failed');
    const retry = page.getByTestId('retry');
    expect(await retry.isVisible()).toBe(true);
    p.setSendOutcome('Success');
    await retry.click();
    const sent = await eventually(
      () => p.requestsTo(SEND_PATH, 'POST'),
      (list) => expect(list).toHaveLength(2),
    );
    expect(sent[1]!.body).toBe('second chance');
    expect(sent[1]!.query.get('operationId')).not.toBe(sent[0]!.query.get('operationId'));
    const again = await waitForMessage(page, (m) => m.direction === 'out' && m.status === 'delivered');
    expect(again.text).toBe('second chance');
    expect((await shown(page)).filter((m) => m.direction === 'out')).toHaveLength(1);
    expect(await retry.isHidden()).toBe(true);
  });

  it('correlates its own message by the Location header when the platform does not echo the operationId', async () => {
    await openConnected({ echoOperationId: false });
    await page.getByTestId('input').fill('second try');
    await page.getByTestId('input').press('Enter');
    await waitForMessage(page, (m) => m.direction === 'out' && m.status === 'delivered');
  });

  it('Shift+Enter adds a line instead of sending', async () => {
    const p = await openConnected({ sendOutcome: 'none' });
    await page.getByTestId('input').fill('line one');
    await page.getByTestId('input').press('Shift+Enter');
    await page.getByTestId('input').pressSequentially('line two');
    expect(await page.getByTestId('input').inputValue()).toBe('line one\nline two');
    await page.getByTestId('input').press('Enter');
    const sent = await eventually(
      () => p.requestsTo(SEND_PATH, 'POST'),
      (list) => expect(list).toHaveLength(1),
    );
    expect(sent[0]!.body).toBe('line one\nline two');
  });

  it('tells the platform about typing at most once every 3 seconds', async () => {
    await page.clock.install({ time: new Date('2030-01-01T09:00:00Z') });
    const p = await openConnected({ sendOutcome: 'none' });
    await page.clock.pauseAt(new Date('2030-01-01T09:01:00Z'));
    const typingPath = `${CONV}/messaging/typing`;
    const issued: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') issued.push(new URL(request.url()).pathname);
    });

    await page.getByTestId('input').pressSequentially('hel');
    await eventually(
      () => p.requestsTo(typingPath, 'POST'),
      (list) => expect(list).toHaveLength(1),
    );
    await page.clock.fastForward(2_999);
    await page.getByTestId('input').pressSequentially('lo');
    await page.clock.fastForward(1);
    await page.getByTestId('input').pressSequentially('!');
    await page.getByTestId('input').press('Enter');
    await eventually(
      () => p.requestsTo(SEND_PATH, 'POST'),
      (list) => expect(list).toHaveLength(1),
    );
    // Requests in the order the page issued them: typing, (2.999 s: none), typing, then the message.
    expect(issued).toEqual([typingPath, typingPath, SEND_PATH]);
    expect(p.requestsTo(typingPath, 'POST')[0]!.body).toBe('');
  });

  it('Leave posts stopMessaging, then deletes the conversation, and says "You left"', async () => {
    const p = await openConnected();
    await page.getByTestId('leave').click();
    await waitForStatus(page, 'You left');
    await eventually(
      () =>
        p.requests.filter((r) => r.host === 'pool' && r.method !== 'GET').map((r) => `${r.method} ${r.path}`),
      (list) => expect(list.slice(-2)).toEqual([`POST ${CONV}/messaging/terminate`, `DELETE ${CONV}`]),
    );
    await waitForMessage(page, (m) => m.direction === 'system' && m.text === 'You left the chat.');
    expect(await page.getByTestId('input').isDisabled()).toBe(true);
    expect(await page.getByTestId('leave').isHidden()).toBe(true);
  });

  it('the end of a long chat is in view: the last line shown in full, and the restart button focused', async () => {
    await page.setViewportSize({ width: 390, height: 700 });
    const p = await openConnected();
    for (let i = 0; i < 14; i++) {
      p.push(
        p.conversationSender(
          p.incoming({ body: `line+${i}+of+a+long+chat`, author: 'Alice Agent', user: 'alice@contoso.com' }),
        ),
      );
    }
    await waitForMessage(page, (m) => m.text === 'line 13 of a long chat');
    await page.getByTestId('leave').click();
    await waitForMessage(page, (m) => m.text === 'You left the chat.');
    await eventually(
      () =>
        page.evaluate(() => {
          const list = document.querySelector('[data-testid="messages"]')!.getBoundingClientRect();
          const items = document.querySelectorAll('[data-testid="message"]');
          const last = items[items.length - 1]!.getBoundingClientRect();
          return {
            fullyShown: last.top >= list.top && last.bottom <= list.bottom + 0.5,
            focused: document.activeElement?.getAttribute('data-testid') ?? null,
          };
        }),
      (state) => expect(state).toEqual({ fullyShown: true, focused: 'restart' }),
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}customer-ended-390x700.png` });
  });

  it('Leave before an agent answered deletes the conversation it was told about', async () => {
    const p = await open();
    await startChat(page);
    await waitForStatus(page, 'Waiting for an agent…');
    await eventually(
      () => p.eventPolls(),
      (polls) => expect(polls.length).toBeGreaterThanOrEqual(2),
    );
    await page.getByTestId('leave').click();
    await waitForStatus(page, 'You left');
    await eventually(
      () => p.requestsTo(CONV, 'DELETE'),
      (list) => expect(list).toHaveLength(1),
    );
    expect(p.requestsTo(`${CONV}/messaging/terminate`, 'POST')).toEqual([]);
  });

  it('ends the chat when the platform deletes the conversation: "Chat ended", input disabled, a way to start again', async () => {
    const p = await openConnected();
    p.push(p.communicationSender(p.conversationDeleted()));
    await waitForStatus(page, 'Chat ended');
    expect(await page.getByTestId('input').isDisabled()).toBe(true);
    expect(await page.getByTestId('leave').isHidden()).toBe(true);
    await page.getByTestId('restart').click();
    expect(await page.getByTestId('start').isEnabled()).toBe(true);
    expect(await page.getByTestId('name').inputValue()).toBe('Ada Customer');
  });

  it('ends the chat when messaging is Disconnected', async () => {
    const p = await openConnected();
    p.push(p.conversationSender(p.messaging('Disconnected')));
    await waitForStatus(page, 'Chat ended');
  });

  it('ends the chat when the event channel answers 404', async () => {
    const p = await openConnected();
    p.failPolls({ kind: 'status', status: 404, body: { code: 'NotFound', subcode: 'ApplicationNotFound' } });
    await waitForStatus(page, 'Chat ended');
    await waitForMessage(page, (m) => m.direction === 'system' && m.text === 'The chat has ended.');
  });

  it('says so when no one takes the chat (invitation completed with Failure)', async () => {
    const p = await open();
    await startChat(page);
    await waitForStatus(page, 'Waiting for an agent…');
    p.push(
      p.communicationSender(
        p.event('completed', 'messagingInvitation', `${APP}/communication/messagingInvitations/inv1`, {
          status: 'Failure',
          reason: { code: 'RemoteFailure', subcode: 'Declined' },
        }),
      ),
    );
    await waitForStatus(page, 'Chat ended');
    await waitForMessage(
      page,
      (m) => m.text === 'Sorry, no one could take your chat right now. Please try again later.',
    );
  });

  it("ends the chat with the platform's reason when the invitation is refused (403)", async () => {
    await open({
      inviteFailure: {
        status: 403,
        body: { code: 'Forbidden', message: 'the token does not allow inviting sip:other@contoso.com' },
      },
    });
    await startChat(page);
    await waitForStatus(page, 'Chat ended');
    await waitForMessage(
      page,
      (m) =>
        m.direction === 'system' &&
        m.text ===
          'Sorry, we could not start your chat: the token does not allow inviting sip:other@contoso.com',
    );
    expect(await page.getByTestId('restart').isVisible()).toBe(true);
  });

  it('ends the chat in the conversation view when the invitation cannot be sent at all', async () => {
    await open({ inviteFailure: 'drop' });
    await startChat(page);
    await waitForStatus(page, 'Chat ended');
    await waitForMessage(
      page,
      (m) => m.text === 'Could not reach the chat platform. Check your connection and try again.',
    );
    expect(await page.getByTestId('restart').isVisible()).toBe(true);
  });

  it('retries the event channel after a dropped connection and a 503, and later events still arrive', async () => {
    const p = await openConnected();
    const before = p.eventPolls().length;
    // The GET held right now is dropped; so is the next, then one meets a 503.
    p.failPolls({ kind: 'drop' }, { kind: 'drop' }, { kind: 'status', status: 503 });
    p.push(
      p.conversationSender(
        p.incoming({ body: 'still+here', author: 'Alice Agent', user: 'alice@contoso.com' }),
      ),
    );
    await waitForMessage(page, (m) => m.text === 'still here', 15_000);
    expect(p.eventPolls().length).toBeGreaterThanOrEqual(before + 3);
    await waitForStatus(page, 'Connected');
  });

  it('gives up after a bounded number of retries and says the connection was lost', async () => {
    await page.clock.install({ time: new Date('2030-01-01T09:00:00Z') });
    const p = await openConnected();
    const before = p.eventPolls().length;
    p.failPolls(...Array.from({ length: 10 }, () => ({ kind: 'status' as const, status: 503 })));
    await eventually(
      async () => {
        await page.clock.fastForward(8_000);
        return text(page, 'status');
      },
      (value) => expect(value).toBe('Chat ended'),
      { timeout: 15_000, interval: 50 },
    );
    // One retry per backoff step, and no more (10 failures were queued: unbounded retries would use them
    // all). The GET held when the failures were queued may be counted before or after `before` was read.
    const polls = p.eventPolls().length - before;
    expect(polls).toBeGreaterThanOrEqual(5);
    expect(polls).toBeLessThanOrEqual(6);
    await waitForMessage(
      page,
      (m) => m.text === 'We lost the connection to the chat. Please start a new chat.',
    );
  });

  it('follows a resync link and forgets who was typing', async () => {
    const p = await openConnected();
    p.push(p.conversationSender(p.typing('Alice Agent', 'alice@contoso.com', true)));
    await eventually(
      () => text(page, 'typing'),
      (value) => expect(value).toBe('Alice Agent is typing…'),
    );
    p.failPolls({
      kind: 'body',
      body: {
        _links: {
          self: { href: `${APP}/events?ack=9&key=k3y` },
          resync: { href: `${APP}/events?ack=4&key=resync` },
        },
        sender: [],
      },
    });
    p.push(
      p.conversationSender(
        p.incoming({ body: 'after+resync', author: 'Alice Agent', user: 'alice@contoso.com' }),
      ),
    );
    await waitForMessage(page, (m) => m.text === 'after resync');
    expect(p.eventPolls().some((r) => r.query.get('key') === 'resync')).toBe(true);
    expect(await text(page, 'typing')).toBe('');
  });
});

// ------------------------------------------------------------------------------------------ full stack

describe.skipIf(browserSkipped)('customer chat on the full stack (SA + emulator)', () => {
  let browser: Browser | undefined;
  let stack: RunningStack | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
    stack = await startStack({
      logger: silentLogger,
      extraRoutes: [(app) => app.route('/', customerPageRoutes())],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('runs a complete chat: welcome, agent greeting, typing, a reply to the customer, leave', async () => {
    const context = await browser!.newContext({ viewport: { width: 960, height: 760 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const typingSeen: string[] = [];
    try {
      await page.goto(`${stack!.saUrl}/`);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}customer-start.png` });
      // Record every typing indication the page shows, however briefly.
      await page.exposeFunction('__typingSeen', (value: string) => typingSeen.push(value));
      await page.evaluate(() => {
        const line = document.querySelector('[data-testid="typing"]')!;
        const report = (window as unknown as { __typingSeen: (v: string) => void }).__typingSeen;
        new MutationObserver(() => {
          if (line.textContent) report(line.textContent);
        }).observe(line, { childList: true, characterData: true, subtree: true });
      });

      await startChat(page, 'Ada Customer', 'billing');
      const welcome = stack!.sa.config.chat.welcomeText;
      await waitForMessage(page, (m) => m.direction === 'in' && m.text === welcome, 10_000);
      const greeting = await waitForMessage(
        page,
        (m) => m.direction === 'in' && m.text !== welcome && m.author !== '',
        10_000,
      );
      await waitForStatus(page, 'Connected');
      expect(typingSeen.some((line) => line === `${greeting.author} is typing…`)).toBe(true);

      await page.getByTestId('input').fill('my order is late');
      await page.getByTestId('input').press('Enter');
      await waitForMessage(
        page,
        (m) => m.direction === 'out' && m.text === 'my order is late' && m.status === 'delivered',
      );
      const reply = await waitForMessage(
        page,
        (m) => m.direction === 'in' && m.text.includes('my order is late'),
        10_000,
      );
      expect(reply.author).toBe(greeting.author);
      await page.screenshot({ path: `${ARTIFACTS}customer-chat.png` });

      await page.getByTestId('leave').click();
      await waitForStatus(page, /^(You left|Chat ended)$/);
      expect(await page.getByTestId('input').isDisabled()).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

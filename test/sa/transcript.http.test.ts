/**
 * GET /sessions/:id/transcript over real HTTP, after a whole chat through the emulator: JSON and text
 * forms with the session's system events, the 400 for an unknown format, and a customer's HTML message
 * stored sanitised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { SessionView, TranscriptEntry } from '../../src/runtime/sessions.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorHeaders } from '../helpers/operator.ts';
import { type RawRequest, send as sendRaw } from './http.ts';

/** Every request of this file is an operator's (the API token). */
const send = (url: string, opts: RawRequest = {}) =>
  sendRaw(url, { ...opts, headers: { ...operatorHeaders, ...opts.headers } });

const HOSTILE_HTML =
  '<p>Hello <b>there</b><img src=x onerror=alert(1)><script>alert(2)</script> ' +
  '<a href="javascript:alert(3)">click</a> <a href="https://contoso.example/faq" onclick="alert(4)">faq</a></p>';

let stack: RunningStack;
let session: SessionView;

beforeAll(async () => {
  stack = await startStack({ logger: silentLogger, env: operatorEnv() });
  const customer = await AnonCustomer.start(stack.saUrl, { name: 'Ada Customer' });
  try {
    const welcome = stack.sa.config.chat.welcomeText;
    await customer.waitForMessage((m) => m.text !== welcome); // an agent has greeted
    await customer.startTyping();
    await customer.sendHtml(HOSTILE_HTML);
    await customer.waitForMessage((m) => m.text.startsWith('You said'));
    await customer.leave();
    session = await eventually(
      () => stack.sa.sessions.list().find((s) => s.customer.name === 'Ada Customer'),
      (view) => expect(view?.state).toBe('terminated'),
      { timeout: 10_000 },
    ).then((view) => view!);
  } finally {
    await customer.close();
  }
});
afterAll(async () => {
  await stack?.close();
});

const transcriptUrl = (query = '') => `${stack.saUrl}/sessions/${session.id}/transcript${query}`;

async function jsonTranscript(query = ''): Promise<{ id: string; entries: TranscriptEntry[] }> {
  const response = await send(transcriptUrl(query));
  expect(response.status, response.text).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return response.json();
}

describe('GET /sessions/:id/transcript', () => {
  it('answers JSON by default: every message, typing and participant entry plus system events, by time', async () => {
    const { id, entries } = await jsonTranscript();
    expect(id).toBe(session.id);
    expect(entries[0]).toEqual({ at: session.history[0]!.at, kind: 'system', text: 'chat started' });
    expect(entries.at(-1)).toMatchObject({ kind: 'system', text: 'chat ended (completed)' });
    const times = entries.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const kinds = new Set(entries.map((e) => e.kind));
    expect(kinds).toEqual(new Set(['system', 'message', 'typing', 'participant']));
    expect(entries).toContainEqual(
      expect.objectContaining({
        kind: 'message',
        direction: 'Outgoing',
        text: stack.sa.config.chat.welcomeText,
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ kind: 'typing', from: 'Ada Customer', isTyping: true }),
    );
  });

  it('answers the same JSON for ?format=json', async () => {
    expect(await jsonTranscript('?format=json')).toEqual(await jsonTranscript());
  });

  it('answers text lines for ?format=text', async () => {
    const response = await send(transcriptUrl('?format=text'));
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const lines = response.text.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}\S/);
    const bodies = lines.map((line) => line.slice(26));
    expect(bodies[0]).toBe('— chat started');
    expect(bodies.at(-1)).toBe('— chat ended (completed)');
    expect(bodies).toContain(`${stack.sa.config.chat.helpdeskName}: ${stack.sa.config.chat.welcomeText}`);
    expect(bodies).toContain('* Ada Customer is typing');
    expect(bodies.some((b) => /^— .+ joined$/.test(b))).toBe(true);
    expect(bodies).toContain('Ada Customer: Hello there click faq (https://contoso.example/faq)');
  });

  it('refuses any other format with 400 naming the allowed values', async () => {
    for (const query of ['?format=xml', '?format=', '?format=TEXT', '?format=text&format=json']) {
      const response = await send(transcriptUrl(query));
      expect(response.status, query).toBe(400);
      const body = response.json<{ error: string; message: string }>();
      expect(body.error).toBe('bad_request');
      expect(body.message, query).toMatch(/json, text/);
    }
    const xml = await send(transcriptUrl('?format=xml'));
    expect(xml.json()).toEqual({
      error: 'bad_request',
      message: 'unknown transcript format "xml": the query parameter format must be one of json, text',
    });
  });

  it('answers 404 for an unknown session, in either format', async () => {
    for (const query of ['', '?format=text']) {
      const response = await send(`${stack.saUrl}/sessions/cnosuchsession/transcript${query}`);
      expect(response.status).toBe(404);
      expect(response.json()).toEqual({ error: 'not_found', message: 'no session cnosuchsession' });
    }
  });
});

describe('customer HTML in the transcript', () => {
  it('is stored sanitised: no script, no event handlers, no javascript: links, safe tags kept', async () => {
    const { entries } = await jsonTranscript();
    const message = entries.find((e) => e.kind === 'message' && e.from === 'Ada Customer');
    expect(message).toBeDefined();
    expect(message!.html).toBe(
      '<p>Hello <b>there</b> click <a href="https://contoso.example/faq" rel="noopener noreferrer" target="_blank">faq</a></p>',
    );
    expect(message!.text).toBe('Hello there click faq (https://contoso.example/faq)');
    for (const bad of ['<script', 'onerror', 'onclick', 'javascript:', '<img', 'alert(']) {
      expect(message!.html).not.toContain(bad);
      expect(message!.text).not.toContain(bad);
    }
  });

  it('never reaches the transcript as it was sent, in either format', async () => {
    const json = await send(transcriptUrl());
    const text = await send(transcriptUrl('?format=text'));
    for (const body of [json.text, text.text]) {
      expect(body).not.toContain('onerror=alert(1)');
      expect(body).not.toContain('<script>alert(2)</script>');
      expect(body).not.toContain('javascript:alert(3)');
    }
  });
});

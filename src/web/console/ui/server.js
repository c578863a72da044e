// @ts-check
/**
 * The console's server access: the signed-in user, JSON reads, actions with the CSRF token, and
 * server-sent event streams that notice a signed-out user.
 */
import { showBanner, signedOutBanner } from './dom.js';

/** @typedef {{ name: string, username: string, role: 'supervisor' | 'agent', agentUri: string | null, csrfToken: string | null }} Me */

/** The signed-in user, once the console has asked (loadMe). @type {Me | undefined} */
let me;

/** The signed-in user, as the views read it. */
export function currentUser() {
  return me;
}

/** Ask who is signed in, and keep it for the views; throws SignedOut when nobody is. @returns {Promise<Me>} */
export async function loadMe() {
  me = /** @type {Me} */ (await getJson('/auth/me'));
  return me;
}

/** @param {string} url */
export async function getJson(url) {
  const res = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) throw new SignedOut();
  if (!res.ok) throw new Error(await failure(res));
  return res.json();
}

class SignedOut extends Error {}

/** @param {Response} res */
async function failure(res) {
  try {
    const body = await res.json();
    if (body && typeof body.message === 'string') return body.message;
  } catch {
    // not JSON
  }
  return `the server answered ${res.status}`;
}

/**
 * A state-changing request: JSON body, the session's CSRF token.
 * @param {string} method @param {string} url @param {unknown} [body]
 * @returns {Promise<{ ok: boolean, status: number, message: string }>}
 */
export async function send(method, url, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json', 'X-CSRF-Token': me?.csrfToken ?? '' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.ok) return { ok: true, status: res.status, message: '' };
  return { ok: false, status: res.status, message: await failure(res) };
}

/**
 * Follow a server-sent event stream; `onData` gets each parsed message of `event`.
 * @param {string} url @param {string} event @param {(data: any) => void} onData
 */
export function follow(url, event, onData) {
  const source = new EventSource(url);
  source.addEventListener(event, (e) => onData(JSON.parse(/** @type {MessageEvent} */ (e).data)));
  source.addEventListener('gone', () => {
    source.close();
    showBanner('This chat is no longer known to the server.');
  });
  source.addEventListener('error', () => {
    // The browser reconnects by itself; find out whether the session ended meanwhile.
    fetch('/auth/me', { credentials: 'same-origin' }).then((res) => {
      if (res.status === 401) {
        source.close();
        signedOutBanner();
      }
    });
  });
  return source;
}

// @ts-check
/**
 * carechat customer widget: a plain browser ES module (no build step).
 *
 * It asks the SA (same origin) for a psat token, then speaks anonymous UCWA to the platform directly, across
 * origins, following only links it discovered (wire-spec sections 4 and 5):
 *   POST /chat/token → GET discoverUri → POST anonApplications → long-poll `events`
 *   → POST startMessaging → react to events; send / type / leave through the links the events carried.
 * Relative hrefs resolve against the URL of the response they came from. Text from the platform is only
 * ever written with textContent.
 *
 * This file is the entry the page loads; the widget's modules sit in widget/ beside it and are served
 * under /widget/ by routes.ts: wire.js (helpers), chat.js (CustomerChat, the protocol), view.js (the DOM).
 */

import { mount } from './widget/view.js';

export { CustomerChat } from './widget/chat.js';
export { mount, typingText } from './widget/view.js';
export {
  decodeDataUri,
  findEmbedded,
  findLink,
  hrefKey,
  htmlToText,
  localRel,
  MIN_TYPING_MS,
  POLL_RETRY_DELAYS_MS,
  parseWireDate,
  resolveHref,
  TYPING_INTERVAL_MS,
  uuid,
} from './widget/wire.js';

if (typeof document !== 'undefined') {
  const root = document.querySelector('[data-carechat]');
  if (root instanceof HTMLElement) mount(root);
}

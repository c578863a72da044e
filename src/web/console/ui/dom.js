// @ts-check
/**
 * The console's DOM helpers and page frame: building elements (text only ever through textContent),
 * times and durations, keyed reconciling of lists, the banner, the signed-out notice and the confirmation
 * dialog.
 */
export const PRESENCES = ['available', 'busy', 'away', 'offline'];

/**
 * Build an element: attributes (`dataset` via `data-*`, `text` for textContent), then children.
 * @param {string} tag @param {Record<string, string | number | boolean | undefined | null>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = String(value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** @param {number | null | undefined} ms */
export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** @param {string} iso */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? ''
    : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** @param {string} uri */
export const shortUri = (uri) => uri.replace(/^sip:/i, '');

export const app = /** @type {HTMLElement} */ (document.getElementById('app'));

/** @param {string} text */
export function showBanner(text) {
  const banner = el('p', { class: 'banner', role: 'status', 'data-testid': 'banner', text });
  app.prepend(banner);
}

export function signedOutBanner() {
  app.replaceChildren(
    el(
      'p',
      { class: 'banner', role: 'status', 'data-testid': 'banner' },
      'Your session has ended. ',
      el('a', {
        href: `/auth/login?returnTo=${encodeURIComponent(location.pathname)}`,
        text: 'Sign in again',
      }),
    ),
  );
}

/**
 * Ask before an operator action. Resolves true when confirmed.
 * @param {string} question
 */
export function confirmAction(question) {
  const dialog = /** @type {HTMLDialogElement} */ (document.querySelector('[data-testid="confirm"]'));
  /** @type {HTMLElement} */ (dialog.querySelector('[data-testid="confirm-text"]')).textContent = question;
  const yes = /** @type {HTMLButtonElement} */ (dialog.querySelector('[data-testid="confirm-yes"]'));
  const no = /** @type {HTMLButtonElement} */ (dialog.querySelector('[data-testid="confirm-no"]'));
  return new Promise((resolve) => {
    const done = (/** @type {boolean} */ answer) => {
      yes.removeEventListener('click', onYes);
      no.removeEventListener('click', onNo);
      dialog.removeEventListener('cancel', onNo);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onYes = () => done(true);
    const onNo = () => done(false);
    yes.addEventListener('click', onYes);
    no.addEventListener('click', onNo);
    dialog.addEventListener('cancel', onNo);
    dialog.showModal();
    no.focus();
  });
}

/**
 * Keep the children of `parent` in step with `items` (by key): existing nodes are updated in place, so a
 * control with focus is not replaced under the user's hands.
 * @template T
 * @param {HTMLElement} parent @param {T[]} items @param {(item: T) => string} key
 * @param {(item: T) => HTMLElement} create @param {(node: HTMLElement, item: T) => void} update
 */
export function reconcile(parent, items, key, create, update) {
  /** @type {Map<string, HTMLElement>} */
  const existing = new Map();
  for (const child of Array.from(parent.children)) {
    const k = /** @type {HTMLElement} */ (child).dataset.key;
    if (k !== undefined) existing.set(k, /** @type {HTMLElement} */ (child));
  }
  let previous = /** @type {Element | null} */ (null);
  for (const item of items) {
    const k = key(item);
    let node = existing.get(k);
    existing.delete(k);
    if (!node) {
      node = create(item);
      node.dataset.key = k;
    }
    update(node, item);
    const expected = previous ? previous.nextElementSibling : parent.firstElementChild;
    if (expected !== node) parent.insertBefore(node, expected);
    previous = node;
  }
  for (const node of existing.values()) node.remove();
}

/** @param {HTMLElement} node @param {string} text */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

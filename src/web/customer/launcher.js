/**
 * carechat launcher: put the customer chat on any website with one tag,
 *
 *   <script src="https://chat.contoso.com/launcher.js" async></script>
 *
 * (optional: data-label="Chat with us", data-position="left"). It adds a floating button; the chat opens
 * in a panel (the SA's own chat page in an iframe, so the website's styles and scripts never touch it),
 * can be minimised, and counts new messages on the button while minimised. The website's origin must be
 * listed in the SA's CHAT_ALLOWED_ORIGINS (the chat page may only be framed by those).
 *
 * Everything is built with DOM methods in a shadow root, styled through a constructed stylesheet (allowed
 * under a strict Content-Security-Policy of the host page).
 */
(() => {
  const script = document.currentScript;
  if (!(script instanceof HTMLScriptElement) || !script.src) return;
  if (document.querySelector('[data-carechat-launcher]')) return; // included twice
  const saOrigin = new URL(script.src).origin;
  const label = script.dataset.label || 'Chat with us';
  const left = script.dataset.position === 'left';

  const CSS = `
    :host { all: initial; }
    .root { position: fixed; bottom: 20px; ${left ? 'left' : 'right'}: 20px; z-index: 2147483000;
      display: flex; flex-direction: column; align-items: ${left ? 'flex-start' : 'flex-end'}; gap: 12px;
      font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
    .panel { width: min(400px, calc(100vw - 24px)); height: min(640px, calc(100vh - 110px)); border: none;
      border-radius: 16px; overflow: hidden; box-shadow: 0 12px 40px rgba(23,40,70,.28); background: #fff;
      display: flex; flex-direction: column; }
    .panel[hidden] { display: none; }
    .bar { display: flex; justify-content: flex-end; background: #174a96; padding: 4px 6px; }
    .min { all: unset; cursor: pointer; color: #fff; font-size: 14px; padding: 4px 10px; border-radius: 8px; }
    .min:hover, .min:focus-visible { background: rgba(255,255,255,.18); outline: 2px solid #8db4f0; }
    iframe { flex: 1; width: 100%; border: none; }
    .button { all: unset; box-sizing: border-box; cursor: pointer; position: relative; display: flex; align-items: center; gap: 8px;
      background: #1f5fbf; color: #fff; border-radius: 999px; padding: 14px 20px; font-size: 15px; font-weight: 600;
      box-shadow: 0 6px 20px rgba(23,40,70,.3); }
    .button:hover { background: #174a96; }
    .button:focus-visible { outline: 3px solid #8db4f0; outline-offset: 3px; }
    .button svg { width: 22px; height: 22px; fill: currentColor; }
    .badge { position: absolute; top: -6px; ${left ? 'right' : 'left'}: -6px; min-width: 22px; height: 22px; padding: 0 6px;
      box-sizing: border-box; border-radius: 11px; background: #b3261e; color: #fff; font-size: 12px; font-weight: 700;
      display: flex; align-items: center; justify-content: center; }
    .badge[hidden] { display: none; }
    @media (max-width: 480px) { .panel { width: calc(100vw - 16px); height: calc(100vh - 96px); } .root { bottom: 8px; ${left ? 'left' : 'right'}: 8px; } }
  `;

  const host = document.createElement('div');
  host.setAttribute('data-carechat-launcher', '');
  const shadow = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  shadow.adoptedStyleSheets = [sheet];

  const root = document.createElement('div');
  root.className = 'root';
  const panel = document.createElement('div');
  panel.className = 'panel';
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', label);
  const bar = document.createElement('div');
  bar.className = 'bar';
  const minimise = document.createElement('button');
  minimise.type = 'button';
  minimise.className = 'min';
  minimise.textContent = 'Minimise';
  minimise.setAttribute('data-testid', 'launcher-minimise');
  bar.append(minimise);
  panel.append(bar);

  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button';
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('data-testid', 'launcher');
  const icon = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  icon.setAttribute('viewBox', '0 0 24 24');
  icon.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute(
    'd',
    'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-4.5 3.6A.6.6 0 0 1 3.5 21V18H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
  );
  icon.append(path);
  const text = document.createElement('span');
  text.textContent = label;
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.hidden = true;
  badge.setAttribute('data-testid', 'launcher-badge');
  button.append(icon, text, badge);
  root.append(panel, button);
  shadow.append(root);

  /** @type {HTMLIFrameElement | undefined} */
  let frame;
  let unread = 0;
  const showUnread = () => {
    badge.hidden = unread === 0;
    badge.textContent = unread > 9 ? '9+' : String(unread);
    button.setAttribute(
      'aria-label',
      unread ? `${label} (${unread} new ${unread === 1 ? 'message' : 'messages'})` : label,
    );
  };

  const open = () => {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.title = label;
      frame.src = `${saOrigin}/?embed=1&host=${encodeURIComponent(location.origin)}`;
      frame.setAttribute('data-testid', 'launcher-frame');
      panel.append(frame);
    }
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    unread = 0;
    showUnread();
    frame.focus();
  };
  const close = () => {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  };
  button.addEventListener('click', () => (panel.hidden ? open() : close()));
  minimise.addEventListener('click', close);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });

  window.addEventListener('message', (event) => {
    if (event.origin !== saOrigin || !frame || event.source !== frame.contentWindow) return;
    const data = event.data;
    if (data?.source !== 'carechat') return;
    if (data.type === 'message' && panel.hidden) {
      unread += 1;
      showUnread();
    }
  });

  showUnread();
  const attach = () => document.body.append(host);
  if (document.body) attach();
  else document.addEventListener('DOMContentLoaded', attach, { once: true });
})();

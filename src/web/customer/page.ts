/**
 * The customer chat page: an HTML shell with inline CSS; the behaviour lives in the static browser module
 * `widget.js` next to this file (served by routes.ts). Nothing here loads external resources: the page must
 * work offline and under a strict Content-Security-Policy (see routes.ts).
 */

export interface CustomerPageOptions {
  /** Heading and document title; default "Contoso Support". */
  title?: string;
  /** Where the widget asks the SA for a chat token; default `/chat/token`. */
  tokenUrl?: string;
  /** Where the widget module is served; default `/widget.js`. */
  scriptUrl?: string;
}

export const DEFAULT_TITLE = 'Contoso Support';

/** Topics offered in the start form; the value is sent as the invitation's `subject`. */
export const TOPICS: readonly { value: string; label: string }[] = [
  { value: 'general', label: 'General question' },
  { value: 'billing', label: 'Billing' },
  { value: 'technical', label: 'Technical support' },
];

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** The page's only stylesheet (inline; routes.ts allows it by hash in the CSP). */
export const CUSTOMER_PAGE_CSS = `
:root {
  --brand: #1f5fbf; --brand-dark: #174a96; --brand-soft: #e8f0fc;
  --ink: #1b2430; --muted: #5b6675; --line: #dde3ea; --bg: #f3f5f8; --card: #ffffff;
  --bubble-in: #eef1f5; --ok: #1d7a46; --bad: #b3261e;
  --radius: 16px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink);
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body {
  background: linear-gradient(160deg, #e9eef6 0%, var(--bg) 55%, #eef2f0 100%);
  display: flex; align-items: center; justify-content: center; padding: 24px;
}
[hidden] { display: none !important; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.widget {
  width: 100%; max-width: 440px; height: min(680px, calc(100vh - 48px));
  display: flex; flex-direction: column; background: var(--card);
  border-radius: var(--radius); box-shadow: 0 12px 40px rgba(23, 40, 70, 0.16), 0 2px 6px rgba(23, 40, 70, 0.08);
  overflow: hidden;
}
.bar {
  display: flex; align-items: center; gap: 12px; padding: 16px 18px;
  background: var(--brand); color: #fff;
}
.logo {
  flex: none; width: 40px; height: 40px; border-radius: 50%; background: rgba(255, 255, 255, 0.18);
  display: grid; place-items: center;
}
.logo svg { width: 22px; height: 22px; fill: #fff; }
.heading { flex: 1; min-width: 0; }
.heading h1 { margin: 0; font-size: 1.05rem; font-weight: 650; letter-spacing: 0.01em; }
.status { margin: 2px 0 0; font-size: 0.85rem; opacity: 0.92; display: flex; align-items: center; gap: 6px; }
.status::before {
  content: ""; width: 8px; height: 8px; border-radius: 50%; background: #c7d3e6; flex: none;
}
.status[data-tone="busy"]::before { background: #ffd166; }
.status[data-tone="ok"]::before { background: #5fd08d; }
.status[data-tone="error"]::before { background: #ff8a80; }
.status[data-tone="ended"]::before { background: #c7d3e6; }
button {
  font: inherit; cursor: pointer; border-radius: 10px; border: 1px solid transparent;
  padding: 10px 16px; font-weight: 600;
}
button:disabled { cursor: not-allowed; opacity: 0.55; }
button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible {
  outline: 3px solid #8db4f0; outline-offset: 2px;
}
.leave { background: rgba(255, 255, 255, 0.14); color: #fff; border-color: rgba(255, 255, 255, 0.45); padding: 7px 12px; }
.leave:hover:not(:disabled) { background: rgba(255, 255, 255, 0.26); }
.start { flex: 1; display: flex; flex-direction: column; gap: 8px; padding: 28px 24px; overflow-y: auto; }
.start .intro { margin: 0 0 12px; color: var(--muted); line-height: 1.5; }
.start label { font-weight: 600; font-size: 0.9rem; margin-top: 8px; }
.optional { font-weight: 400; color: var(--muted); }
.start input, .start select {
  font: inherit; padding: 11px 12px; border: 1px solid var(--line); border-radius: 10px; background: #fff; color: var(--ink);
}
.start input:focus, .start select:focus { border-color: var(--brand); }
.primary { background: var(--brand); color: #fff; margin-top: 18px; padding: 12px 16px; }
.primary:hover:not(:disabled) { background: var(--brand-dark); }
.privacy { margin: auto 0 0; padding-top: 18px; font-size: 0.78rem; color: var(--muted); line-height: 1.45; }
.chat { flex: 1; display: flex; flex-direction: column; min-height: 0; }
.log { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.messages {
  list-style: none; margin: 0; padding: 18px 16px 12px; flex: 1; min-height: 0; overflow-y: auto;
  display: flex; flex-direction: column; gap: 10px;
}
.message { display: flex; flex-direction: column; max-width: 82%; }
.message .meta { display: flex; gap: 8px; align-items: baseline; font-size: 0.75rem; color: var(--muted); margin: 0 4px 3px; }
.message .author { font-weight: 600; color: var(--ink); }
.message .text {
  margin: 0; padding: 9px 13px; border-radius: 14px; line-height: 1.45; white-space: pre-wrap; overflow-wrap: anywhere;
}
.message[data-direction="in"] { align-self: flex-start; }
.message[data-direction="in"] .text { background: var(--bubble-in); border-top-left-radius: 4px; }
.message[data-direction="out"] { align-self: flex-end; align-items: flex-end; }
.message[data-direction="out"] .text { background: var(--brand); color: #fff; border-top-right-radius: 4px; }
.message[data-direction="out"][data-status="failed"] .text { background: #fbe9e8; color: var(--bad); border: 1px solid #f3c1bd; }
.receipt { font-size: 0.72rem; color: var(--muted); margin: 3px 4px 0; }
.retry { margin: 4px 4px 0; padding: 4px 10px; font-size: 0.78rem; background: #fff; color: var(--bad); border-color: #f3c1bd; }
.retry:hover { background: #fbe9e8; }
.message[data-status="delivered"] .receipt { color: var(--ok); }
.message[data-status="failed"] .receipt { color: var(--bad); }
.message[data-direction="system"] {
  align-self: center; max-width: 90%; font-size: 0.8rem; color: var(--muted); text-align: center;
}
.message[data-direction="system"] .text { padding: 4px 10px; background: transparent; }
.typing { margin: 0; padding: 2px 20px 8px; min-height: 1.6em; font-size: 0.8rem; color: var(--muted); font-style: italic; }
.composer { display: flex; gap: 8px; align-items: flex-end; padding: 12px; border-top: 1px solid var(--line); background: #fafbfc; }
.composer textarea {
  flex: 1; font: inherit; resize: none; max-height: 120px; padding: 10px 12px; border: 1px solid var(--line);
  border-radius: 12px; background: #fff; color: var(--ink); line-height: 1.4;
}
.composer textarea:disabled { background: #f1f3f6; }
.send { background: var(--brand); color: #fff; }
.send:hover:not(:disabled) { background: var(--brand-dark); }
.survey { margin: 0 12px 10px; padding: 12px 14px; border: 1px solid var(--line); border-radius: 12px; background: var(--brand-soft); }
.survey fieldset { border: 0; margin: 0; padding: 0; }
.survey legend { font-weight: 650; margin-bottom: 8px; }
.survey .scores { display: flex; gap: 8px; }
.survey .score { position: relative; }
.survey .score input { position: absolute; opacity: 0; width: 100%; height: 100%; margin: 0; }
.survey .score label { display: grid; place-items: center; width: 40px; height: 40px; border-radius: 50%; border: 1px solid var(--brand); background: #fff; color: var(--brand-dark); font-weight: 650; cursor: pointer; }
.survey .score input:checked + label { background: var(--brand); color: #fff; }
.survey .score input:focus-visible + label { outline: 3px solid var(--brand-dark); outline-offset: 2px; }
.survey textarea { width: 100%; margin-top: 4px; }
.survey-actions { display: flex; gap: 8px; align-items: center; }
.survey-actions .primary { margin-top: 10px; }
.survey-actions .ghost { margin-top: 10px; background: transparent; color: var(--brand-dark); }
.survey-status, .survey-done { margin: 6px 12px; font-size: 0.9rem; }
.restart { align-self: center; margin: 6px 0 12px; background: var(--brand-soft); color: var(--brand-dark); }
@media (max-width: 520px) {
  body { padding: 0; }
  .widget { max-width: none; height: 100vh; border-radius: 0; box-shadow: none; }
}
html.embedded body { padding: 0; background: transparent; }
html.embedded .widget { max-width: none; height: 100vh; border-radius: 0; box-shadow: none; }
`;

const CHAT_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-4.5 3.6A.6.6 0 0 1 3.5 21V18H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6.2a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6z"/></svg>';

/**
 * The HTML of the customer page. Stable test ids: name, topic, start, status, messages, message (with
 * data-author and data-direction in|out|system), typing, input, send, leave (plus restart).
 */
export function customerPageHtml(opts: CustomerPageOptions = {}): string {
  const title = escapeHtml(opts.title ?? DEFAULT_TITLE);
  const tokenUrl = escapeHtml(opts.tokenUrl ?? '/chat/token');
  const scriptUrl = escapeHtml(opts.scriptUrl ?? '/widget.js');
  const topics = TOPICS.map(
    (t) => `<option value="${escapeHtml(t.value)}">${escapeHtml(t.label)}</option>`,
  ).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${CUSTOMER_PAGE_CSS}</style>
<script type="module" src="${scriptUrl}"></script>
</head>
<body>
<main class="widget" data-carechat data-token-url="${tokenUrl}" aria-labelledby="cc-title">
  <header class="bar">
    <span class="logo">${CHAT_ICON}</span>
    <div class="heading">
      <h1 id="cc-title">${title}</h1>
      <p class="status" data-testid="status" data-tone="idle" role="status" aria-live="polite">We're online. Start a chat below.</p>
    </div>
    <button type="button" class="leave" data-testid="leave" hidden>Leave</button>
  </header>
  <form class="start" data-part="start" novalidate>
    <p class="intro">Hi there! Tell us your name and what it's about, and one of our team will be with you shortly.</p>
    <label for="cc-name">Your name</label>
    <input id="cc-name" name="name" data-testid="name" autocomplete="name" maxlength="250" required>
    <label for="cc-topic">Topic <span class="optional">(optional)</span></label>
    <select id="cc-topic" name="topic" data-testid="topic">
      <option value="">Choose a topic</option>${topics}
    </select>
    <button type="submit" class="primary" data-testid="start">Start chat</button>
    <noscript><p>This chat needs JavaScript.</p></noscript>
    <p class="privacy">Messages are shared with our support agents to help you. Please don't send passwords or card numbers.</p>
  </form>
  <section class="chat" data-part="chat" aria-label="Chat" hidden>
    <div class="log" role="log" aria-live="polite" aria-label="Messages">
      <ol class="messages" data-testid="messages"></ol>
    </div>
    <p class="typing" data-testid="typing" aria-live="polite"></p>
    <button type="button" class="restart" data-testid="restart" hidden>Start a new chat</button>
    <form class="composer" data-part="composer">
      <label for="cc-input" class="visually-hidden">Message</label>
      <textarea id="cc-input" name="message" data-testid="input" rows="1" placeholder="Type a message…" maxlength="4000" disabled></textarea>
      <button type="submit" class="send" data-testid="send" disabled>Send</button>
    </form>
  </section>
</main>
</body>
</html>
`;
}

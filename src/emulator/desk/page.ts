/**
 * The agent desk's page shell (the emulator's stand-in for an agent's Skype for Business client). The
 * behaviour lives in desk.js; text from customers is only ever set as text.
 */
export function deskPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<link rel="icon" href="data:,">
<title>Agent desk · carechat emulator</title>
<link rel="stylesheet" href="/desk/desk.css">
<script type="module" src="/desk/desk.js"></script>
</head>
<body>
<header class="top">
  <span class="brand">Agent desk <span>emulated Skype for Business</span></span>
  <label for="desk-agent" class="visually-hidden">Agent</label>
  <select id="desk-agent" data-testid="desk-agent">
    <option value="">Choose an agent…</option>
  </select>
  <button type="button" class="ghost" data-testid="desk-release" hidden>Release</button>
</header>
<main class="desk">
  <p class="hint" data-testid="desk-hint">Choose an agent to answer chats as them. While you have an agent, it answers nothing by itself.</p>
  <section class="offers" data-testid="desk-offers" aria-label="Ringing invitations" aria-live="polite"></section>
  <div class="workspace" hidden data-part="workspace">
    <nav class="tabs" data-testid="desk-conversations" aria-label="Conversations"></nav>
    <section class="conversation" aria-labelledby="desk-title">
      <h1 id="desk-title" data-testid="desk-title"></h1>
      <ol class="messages" data-testid="desk-messages" aria-label="Messages"></ol>
      <p class="typing" data-testid="desk-typing" aria-live="polite"></p>
      <div class="composer">
        <label for="desk-input" class="visually-hidden">Message</label>
        <textarea id="desk-input" data-testid="desk-input" rows="2" placeholder="Type a message…" disabled></textarea>
        <div class="composer-buttons">
          <button type="button" class="primary" data-testid="desk-send" disabled>Send</button>
          <button type="button" class="ghost" data-testid="desk-leave" disabled>Leave</button>
        </div>
      </div>
      <p class="result" role="status" data-testid="desk-result"></p>
    </section>
  </div>
</main>
</body>
</html>
`;
}

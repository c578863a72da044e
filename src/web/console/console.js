// @ts-check
/**
 * carechat operator console: a plain browser module (no build step), served by the SA behind sign-in.
 *
 *   /console                 supervisor: live dashboard (sessions, queue, agents, today's figures)
 *                            agent: own presence, own chats (what the customer wrote before you joined),
 *                            earlier chats
 *   /console/sessions/:id    one chat: live state chart, live transcript, routing decisions, and the
 *                            operator actions (close, transfer, second agent, monitor, barge) with confirmation
 *
 * Live updates come as server-sent events. Every string that came from a customer (or anyone) is set with
 * textContent: nothing here ever parses markup.
 *
 * This file is the entry the page loads; the console's modules sit in ui/ beside it and are served under
 * /console/ui/: dom.js (elements and page frame), server.js (reads, actions, event streams, the signed-in
 * user), dashboard.js, session.js and agent.js (the three views).
 */

import { agentView } from './ui/agent.js';
import { dashboardView } from './ui/dashboard.js';
import { signedOutBanner } from './ui/dom.js';
import { loadMe, send } from './ui/server.js';
import { sessionView } from './ui/session.js';

async function main() {
  let me;
  try {
    me = await loadMe();
  } catch {
    signedOutBanner();
    return;
  }
  const user = /** @type {HTMLElement} */ (document.querySelector('[data-testid="user"]'));
  user.textContent = `${me.name} · ${me.role}`;
  const signOut = /** @type {HTMLButtonElement} */ (document.querySelector('[data-testid="sign-out"]'));
  signOut.hidden = false;
  signOut.addEventListener('click', async () => {
    await send('POST', '/auth/logout');
    location.assign('/console');
  });
  const match = /^\/console\/sessions\/([^/]+)\/?$/.exec(location.pathname);
  if (match) {
    document.title = 'Chat · carechat console';
    sessionView(decodeURIComponent(match[1] ?? ''));
  } else if (me.role === 'supervisor') dashboardView();
  else agentView();
}

void main();

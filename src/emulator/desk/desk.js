// @ts-check
/**
 * The agent desk (emulator): play one agent's Skype for Business client by hand. Choosing an agent takes it
 * over (it answers nothing by itself) until released; invitations ring here (accept / decline), the chat
 * shows what the agent sees, and what you type is sent as the agent (typing notices included).
 * Every text is set with textContent.
 */

/** At most one typing notice per this interval while typing. */
const TYPING_EVERY_MS = 2000;

/** @param {string} selector @returns {any} */
const $ = (selector) => {
  const found = document.querySelector(selector);
  if (!found) throw new Error(`desk: ${selector} is missing`);
  return found;
};

/**
 * @param {string} tag @param {Record<string, string | undefined>} [attrs] @param {...(Node | string)} children
 * @returns {HTMLElement}
 */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/** @type {HTMLSelectElement} */ const agentSelect = $('[data-testid="desk-agent"]');
/** @type {HTMLButtonElement} */ const releaseButton = $('[data-testid="desk-release"]');
/** @type {HTMLElement} */ const hint = $('[data-testid="desk-hint"]');
/** @type {HTMLElement} */ const offers = $('[data-testid="desk-offers"]');
/** @type {HTMLElement} */ const workspace = $('[data-part="workspace"]');
/** @type {HTMLElement} */ const tabs = $('[data-testid="desk-conversations"]');
/** @type {HTMLElement} */ const title = $('[data-testid="desk-title"]');
/** @type {HTMLOListElement} */ const messages = $('[data-testid="desk-messages"]');
/** @type {HTMLElement} */ const typingLine = $('[data-testid="desk-typing"]');
/** @type {HTMLTextAreaElement} */ const input = $('[data-testid="desk-input"]');
/** @type {HTMLButtonElement} */ const sendButton = $('[data-testid="desk-send"]');
/** @type {HTMLButtonElement} */ const leaveButton = $('[data-testid="desk-leave"]');
/** @type {HTMLElement} */ const result = $('[data-testid="desk-result"]');

/** @type {string} */ let agentUri = '';
/** @type {EventSource | undefined} */ let source;
/** @type {any} */ let state;
/** @type {string | undefined} */ let selected;
let lastTyping = 0;

const enc = encodeURIComponent;

/**
 * @param {string} method @param {string} url @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    headers:
      body === undefined
        ? { Accept: 'application/json' }
        : { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = {};
  }
  if (!res.ok) throw new Error(data.message || `the emulator answered ${res.status}`);
  return data;
}

/** @param {string} text */
function report(text) {
  result.textContent = text;
}

async function loadAgents() {
  const { agents } = await call('GET', '/desk/api/agents');
  for (const agent of agents) {
    agentSelect.append(
      el('option', { value: agent.uri, text: `${agent.name} (${agent.uri.replace(/^sip:/, '')})` }),
    );
  }
  const wanted = new URLSearchParams(location.search).get('agent');
  if (wanted && agents.some((/** @type {any} */ a) => a.uri === wanted)) {
    agentSelect.value = wanted;
    await choose(wanted);
  }
}

/** @param {string} uri */
async function choose(uri) {
  if (agentUri && agentUri !== uri) await release();
  agentUri = uri;
  selected = undefined;
  report('');
  if (!uri) return;
  try {
    state = await call('POST', `/desk/api/agents/${enc(uri)}/takeover`);
  } catch (error) {
    report(`Could not take the agent over: ${/** @type {Error} */ (error).message}`);
    return;
  }
  releaseButton.hidden = false;
  hint.textContent = `You are ${state.name}. Invitations ring here; nothing is answered automatically until you release the agent.`;
  render();
  source = new EventSource(`/desk/api/agents/${enc(uri)}/events`);
  source.addEventListener('agent', (e) => {
    state = JSON.parse(/** @type {MessageEvent} */ (e).data);
    render();
  });
}

async function release() {
  source?.close();
  source = undefined;
  const uri = agentUri;
  agentUri = '';
  state = undefined;
  releaseButton.hidden = true;
  offers.replaceChildren();
  workspace.hidden = true;
  hint.textContent =
    'Choose an agent to answer chats as them. While you have an agent, it answers nothing by itself.';
  if (uri) await call('POST', `/desk/api/agents/${enc(uri)}/release`).catch(() => {});
}

function current() {
  return state?.conversations.find((/** @type {any} */ c) => c.conversationId === selected);
}

function render() {
  if (!state) return;
  // Ringing invitations.
  const ringing = state.ringing;
  const shown = new Set(
    Array.from(offers.children).map((n) => /** @type {HTMLElement} */ (n).dataset.invitationId),
  );
  for (const node of Array.from(offers.children)) {
    const id = /** @type {HTMLElement} */ (node).dataset.invitationId;
    if (!ringing.some((/** @type {any} */ r) => r.invitationId === id)) node.remove();
  }
  for (const offer of ringing) {
    if (shown.has(offer.invitationId)) continue;
    const accept = /** @type {HTMLButtonElement} */ (
      el('button', { type: 'button', class: 'accept', 'data-testid': 'desk-accept', text: 'Accept' })
    );
    const decline = /** @type {HTMLButtonElement} */ (
      el('button', { type: 'button', class: 'decline', 'data-testid': 'desk-decline', text: 'Decline' })
    );
    const who = offer.customers.length ? offer.customers.join(', ') : 'A customer';
    const node = el(
      'div',
      {
        class: 'offer',
        role: 'alert',
        'data-testid': 'desk-offer',
        'data-invitation-id': offer.invitationId,
      },
      el('span', {
        class: 'what',
        text: `${who} wants to chat${offer.subject ? ` · ${offer.subject}` : ''}`,
      }),
      accept,
      decline,
    );
    accept.addEventListener('click', async () => {
      accept.disabled = decline.disabled = true;
      try {
        const answer = await call('POST', `/control/agents/${enc(agentUri)}/accept`, {
          invitationId: offer.invitationId,
        });
        selected = answer.conversationId;
        report('');
        input.focus();
      } catch (error) {
        report(`Not accepted: ${/** @type {Error} */ (error).message}`);
      }
    });
    decline.addEventListener('click', async () => {
      accept.disabled = decline.disabled = true;
      await call('POST', `/control/agents/${enc(agentUri)}/decline`, {
        invitationId: offer.invitationId,
      }).catch((error) => report(`Not declined: ${error.message}`));
    });
    offers.append(node);
  }

  // Conversations: keep the chosen one, else the newest active one.
  const conversations = state.conversations;
  if (!current())
    selected = (conversations.find((/** @type {any} */ c) => c.active) ?? conversations[0])?.conversationId;
  workspace.hidden = conversations.length === 0;
  tabs.replaceChildren(
    ...conversations.map((/** @type {any} */ conv) => {
      const tab = el('button', {
        type: 'button',
        'data-testid': 'desk-conversation',
        'data-conversation-id': conv.conversationId,
        'data-active': String(conv.active),
        'aria-current': String(conv.conversationId === selected),
        text: `${conv.customers.join(', ') || 'Chat'}${conv.subject ? ` · ${conv.subject}` : ''}${conv.active ? '' : ' (ended)'}`,
      });
      tab.addEventListener('click', () => {
        selected = conv.conversationId;
        render();
      });
      return tab;
    }),
  );
  const conv = current();
  if (!conv) return;
  title.textContent = `${conv.customers.join(', ') || 'Chat'}${conv.subject ? ` · ${conv.subject}` : ''}${
    conv.participants.length ? ` — with ${conv.participants.join(', ')}` : ''
  }`;
  const atEnd = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
  const key = (/** @type {any} */ line, /** @type {number} */ i) => `${conv.conversationId}|${i}|${line.at}`;
  const existing = Array.from(messages.children).map((n) => /** @type {HTMLElement} */ (n).dataset.key);
  const lines = conv.lines;
  if (existing.length > lines.length || existing.some((k, i) => k !== key(lines[i], i)))
    messages.replaceChildren();
  for (let i = messages.children.length; i < lines.length; i++) {
    const line = lines[i];
    const item = el(
      'li',
      {
        class: 'message',
        'data-testid': 'desk-message',
        'data-author': line.author,
        'data-own': String(line.own),
        'data-key': key(line, i),
      },
      ...(line.author === 'system' ? [] : [el('span', { class: 'who', text: line.own ? 'You' : line.name })]),
      el('p', { class: 'text', text: line.text }),
    );
    messages.append(item);
  }
  if (atEnd) messages.scrollTop = messages.scrollHeight;
  typingLine.textContent = conv.typing.length
    ? `${conv.typing.join(', ')} ${conv.typing.length === 1 ? 'is' : 'are'} typing…`
    : '';
  input.disabled = !conv.active;
  leaveButton.disabled = !conv.active;
  sendButton.disabled = !conv.active || !input.value.trim();
}

async function send() {
  const conv = current();
  const text = input.value;
  if (!conv?.active || !text.trim()) return;
  input.value = '';
  sendButton.disabled = true;
  lastTyping = 0;
  try {
    await call('POST', `/control/agents/${enc(agentUri)}/messages`, {
      conversationId: conv.conversationId,
      text,
    });
    report('');
  } catch (error) {
    input.value = text;
    report(`Not sent: ${/** @type {Error} */ (error).message}`);
  }
}

agentSelect.addEventListener('change', () => void choose(agentSelect.value));
releaseButton.addEventListener('click', () => {
  agentSelect.value = '';
  void release();
});
sendButton.addEventListener('click', () => void send());
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    void send();
  }
});
input.addEventListener('input', () => {
  const conv = current();
  sendButton.disabled = !conv?.active || !input.value.trim();
  if (!conv?.active || !input.value.trim()) return;
  const now = Date.now();
  if (now - lastTyping < TYPING_EVERY_MS) return;
  lastTyping = now;
  call('POST', `/control/agents/${enc(agentUri)}/typing`, {
    conversationId: conv.conversationId,
    isTyping: true,
  }).catch(() => {});
});
leaveButton.addEventListener('click', async () => {
  const conv = current();
  if (!conv?.active) return;
  leaveButton.disabled = true;
  await call('POST', `/control/agents/${enc(agentUri)}/leave`, { conversationId: conv.conversationId }).catch(
    (error) => report(`Could not leave: ${error.message}`),
  );
});
window.addEventListener('pagehide', () => {
  if (agentUri) navigator.sendBeacon(`/desk/api/agents/${enc(agentUri)}/release`);
});

void loadAgents().catch((error) => report(`Could not load the agents: ${error.message}`));

// @ts-check
/**
 * The agent's view: own presence, own chats (what the customer wrote before the agent joined), earlier
 * chats.
 */
import { app, clock, el, PRESENCES, reconcile, setText } from './dom.js';
import { currentUser, follow, send } from './server.js';

export function agentView() {
  const presence = /** @type {HTMLSelectElement} */ (
    el('select', { class: 'presence-select', 'data-testid': 'my-presence', id: 'my-presence' })
  );
  for (const p of PRESENCES) presence.append(el('option', { value: p, text: p }));
  const chats = el('div', { class: 'chats', 'data-testid': 'my-chats' });
  const earlier = el('ol', { 'data-testid': 'earlier-chats' });
  const note = el('p', { class: 'result', role: 'status', 'data-testid': 'my-result' });
  app.replaceChildren(
    el('h1', { text: `Hello, ${currentUser()?.name ?? ''}` }),
    el(
      'section',
      { class: 'card actions', 'aria-labelledby': 'h-presence' },
      el('h2', { id: 'h-presence', text: 'Your presence' }),
      el('div', { class: 'row' }, el('label', { for: 'my-presence', text: 'I am' }), presence),
      note,
    ),
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'h-chats' },
      el('h2', { id: 'h-chats', text: 'Your chats' }),
      chats,
    ),
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'h-earlier' },
      el('h2', { id: 'h-earlier', text: 'Earlier chats' }),
      earlier,
    ),
  );
  presence.addEventListener('change', async () => {
    const agentUri = currentUser()?.agentUri;
    if (!agentUri) return;
    const answer = await send('PUT', `/agents/${encodeURIComponent(agentUri)}/presence`, {
      presence: presence.value,
    });
    note.dataset.tone = answer.ok ? 'ok' : 'error';
    note.textContent = answer.ok ? `You are ${presence.value}.` : `Not changed: ${answer.message}`;
  });

  /** @param {any} chat */
  const card = (chat) =>
    el(
      'article',
      { class: 'chat-card', 'data-testid': 'my-chat', 'data-session-id': chat.id },
      el('strong', { 'data-part': 'name' }),
      el('span', { class: 'small muted', 'data-part': 'topic' }),
      el('span', { class: 'small', 'data-part': 'before-label' }),
      el('ul', { 'data-testid': 'my-chat-before', 'data-part': 'before' }),
      el('a', { href: `/console/sessions/${encodeURIComponent(chat.id)}`, text: 'Open' }),
    );
  /** @param {HTMLElement} node @param {any} chat */
  const update = (node, chat) => {
    const part = (/** @type {string} */ name) =>
      /** @type {HTMLElement} */ (node.querySelector(`[data-part="${name}"]`));
    node.dataset.state = chat.state;
    setText(part('name'), chat.customer.name ?? '(no name)');
    setText(
      part('topic'),
      `${chat.customer.topic ? `Topic: ${chat.customer.topic} · ` : ''}${chat.state}${chat.outcome ? ` (${chat.outcome})` : ''} · ${clock(chat.createdAt)}`,
    );
    setText(
      part('before-label'),
      chat.before.length ? 'Wrote before you joined:' : 'Wrote nothing before you joined.',
    );
    const list = part('before');
    const texts = chat.before.map((/** @type {any} */ m) => m.text);
    if (
      Array.from(list.children)
        .map((li) => li.textContent)
        .join('\n') !== texts.join('\n')
    )
      list.replaceChildren(...texts.map((/** @type {string} */ t) => el('li', { text: t })));
  };
  /** @param {any} data */
  const render = (data) => {
    if (data.agent && document.activeElement !== presence) presence.value = data.agent.presence;
    presence.disabled = !data.agent;
    if (!data.agent) {
      note.dataset.tone = 'error';
      note.textContent = 'You are not in the agent roster of this help desk.';
    }
    reconcile(chats, data.chats, (/** @type {any} */ c) => c.id, card, update);
    if (!data.chats.length && !chats.firstElementChild)
      chats.append(el('p', { class: 'muted', text: 'No chats right now.' }));
    else if (data.chats.length) chats.querySelector('p.muted')?.remove();
    reconcile(
      earlier,
      data.earlier,
      (/** @type {any} */ c) => c.id,
      (c) =>
        el(
          'li',
          { 'data-testid': 'earlier-chat', 'data-session-id': c.id },
          el('a', { href: `/console/sessions/${encodeURIComponent(c.id)}` }),
          el('span', { class: 'small muted' }),
        ),
      (li, c) => {
        setText(/** @type {HTMLElement} */ (li.firstElementChild), c.customer.name ?? '(no name)');
        setText(
          /** @type {HTMLElement} */ (li.lastElementChild),
          ` ${c.customer.topic ? `${c.customer.topic} · ` : ''}${c.outcome ?? c.state} · ${clock(c.createdAt)}`,
        );
      },
    );
  };
  follow('/console/api/me/events', 'me', render);
}

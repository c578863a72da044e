// @ts-check
/**
 * The supervisor's live dashboard: sessions, queue, agents with presence, today's figures.
 */
import {
  app,
  clock,
  confirmAction,
  duration,
  el,
  PRESENCES,
  reconcile,
  setText,
  shortUri,
  showBanner,
} from './dom.js';
import { follow, send } from './server.js';
import { webhooksSection } from './webhooks.js';

export function dashboardView() {
  const figure = (/** @type {string} */ id, /** @type {string} */ label) =>
    el(
      'div',
      { class: 'figure' },
      el('div', { class: 'label', text: label }),
      el('div', { class: 'value', 'data-testid': id, text: '–' }),
    );
  const sessionsBody = el('tbody', { 'data-testid': 'sessions' });
  const agentsBody = el('tbody', { 'data-testid': 'agents' });
  const queueCount = el('span', { 'data-testid': 'queue-count', text: '0' });
  const queueList = el('ol', { class: 'small', 'data-testid': 'queue' });
  app.replaceChildren(
    el('h1', { text: 'Dashboard' }),
    el(
      'section',
      { class: 'figures', 'aria-label': "Today's figures" },
      figure('figure-chats', 'Chats today'),
      figure('figure-wait', 'Average wait'),
      figure('figure-abandonment', 'Abandonment'),
      el(
        'div',
        { class: 'figure' },
        el('div', { class: 'label', text: 'In queue' }),
        el('div', { class: 'value' }, queueCount),
      ),
    ),
    el(
      'div',
      { class: 'grid2' },
      el(
        'section',
        { class: 'card', 'aria-labelledby': 'h-sessions' },
        el('h2', { id: 'h-sessions', text: 'Chats' }),
        el(
          'div',
          { class: 'scroll' },
          el(
            'table',
            {},
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                el('th', { text: 'Customer' }),
                el('th', { text: 'State' }),
                el('th', { text: 'Agent' }),
                el('th', { text: 'Waiting' }),
                el('th', { class: 'hide-narrow', text: 'Outcome' }),
                el('th', { class: 'hide-narrow', text: 'Started' }),
              ),
            ),
            sessionsBody,
          ),
        ),
      ),
      el(
        'div',
        { class: 'stack' },
        el(
          'section',
          { class: 'card', 'aria-labelledby': 'h-agents' },
          el('h2', { id: 'h-agents', text: 'Agents' }),
          el(
            'div',
            { class: 'scroll' },
            el(
              'table',
              {},
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  el('th', { text: 'Agent' }),
                  el('th', { text: 'Load' }),
                  el('th', { text: 'Presence' }),
                ),
              ),
              agentsBody,
            ),
          ),
        ),
        el(
          'section',
          { class: 'card', 'aria-labelledby': 'h-queue' },
          el('h2', { id: 'h-queue', text: 'Queue' }),
          queueList,
        ),
      ),
    ),
  );
  app.append(webhooksSection());

  /** @param {any} row */
  const createRow = (row) => {
    const link = el('a', {
      href: `/console/sessions/${encodeURIComponent(row.id)}`,
      'data-testid': 'session-link',
    });
    return el(
      'tr',
      { 'data-testid': 'session-row', 'data-session-id': row.id },
      el('td', {}, link, el('div', { class: 'small muted', 'data-part': 'topic' })),
      el(
        'td',
        {},
        el('span', { class: 'badge', 'data-part': 'state' }),
        el('div', { class: 'small muted', 'data-part': 'detail' }),
      ),
      el('td', { 'data-part': 'agent' }),
      el('td', { 'data-part': 'wait' }),
      el('td', { class: 'hide-narrow', 'data-part': 'outcome' }),
      el('td', { class: 'hide-narrow small', 'data-part': 'started' }),
    );
  };
  /** @param {HTMLElement} tr @param {any} row */
  const updateRow = (tr, row) => {
    const part = (/** @type {string} */ name) =>
      /** @type {HTMLElement} */ (tr.querySelector(`[data-part="${name}"]`));
    tr.dataset.state = row.state;
    tr.dataset.status = row.status;
    setText(
      /** @type {HTMLElement} */ (tr.querySelector('[data-testid="session-link"]')),
      row.customer.name ?? '(no name)',
    );
    setText(part('topic'), row.customer.topic ? `Topic: ${row.customer.topic}` : '');
    const badge = part('state');
    badge.dataset.state = row.state;
    setText(badge, row.state);
    // Parallel states (a running chat) say little in a table cell: the session page shows them in full.
    setText(
      part('detail'),
      row.detail === row.state || row.detail.includes(',') ? '' : row.detail.split('.').slice(1).join(' · '),
    );
    const agents = row.agents.map((/** @type {any} */ a) => a.name).join(', ');
    setText(
      part('agent'),
      agents ||
        (row.offering
          ? `offering to ${row.offering.name}`
          : row.queuePosition
            ? `queued #${row.queuePosition}`
            : '–'),
    );
    tr.dataset.createdAt = row.createdAt;
    tr.dataset.waitMs = String(row.waitMs);
    tr.dataset.waiting = String(row.status === 'active' && !row.answered);
    setText(part('wait'), duration(row.waitMs));
    setText(part('outcome'), row.outcome ?? '');
    setText(part('started'), clock(row.createdAt));
  };

  /** @param {any} agent */
  const createAgent = (agent) => {
    const select = el('select', {
      class: 'presence-select',
      'data-testid': 'presence-select',
      'aria-label': `Presence of ${agent.name}`,
    });
    for (const p of PRESENCES) select.append(el('option', { value: p, text: p }));
    const s = /** @type {HTMLSelectElement} */ (select);
    select.addEventListener('change', async () => {
      const wanted = s.value;
      const uri = /** @type {HTMLElement} */ (select.closest('tr')).dataset.agentUri ?? '';
      if (!(await confirmAction(`Set ${agent.name} to ${wanted}?`))) {
        s.value = /** @type {HTMLElement} */ (select.closest('tr')).dataset.presence ?? wanted;
        return;
      }
      const result = await send('PUT', `/agents/${encodeURIComponent(uri)}/presence`, { presence: wanted });
      if (!result.ok) showBanner(`Presence not changed: ${result.message}`);
    });
    return el(
      'tr',
      { 'data-testid': 'agent-row', 'data-agent-uri': agent.uri },
      el(
        'td',
        {},
        el('span', { class: 'presence', 'data-part': 'dot' }),
        el('span', { 'data-part': 'name' }),
        el('div', { class: 'small muted', 'data-part': 'skills' }),
      ),
      el('td', { 'data-part': 'load' }),
      el('td', {}, select),
    );
  };
  /** @param {HTMLElement} tr @param {any} agent */
  const updateAgent = (tr, agent) => {
    const part = (/** @type {string} */ name) =>
      /** @type {HTMLElement} */ (tr.querySelector(`[data-part="${name}"]`));
    tr.dataset.presence = agent.presence;
    part('dot').dataset.presence = agent.presence;
    setText(part('name'), agent.name);
    setText(
      part('skills'),
      `${shortUri(agent.uri)}${agent.skills.length ? ` · ${agent.skills.join(', ')}` : ''}`,
    );
    setText(part('load'), `${agent.load}/${agent.capacity}`);
    const select = /** @type {HTMLSelectElement} */ (tr.querySelector('select'));
    if (document.activeElement !== select) select.value = agent.presence;
  };

  /** @param {any} data */
  const render = (data) => {
    const f = data.figures;
    setText(/** @type {HTMLElement} */ (app.querySelector('[data-testid="figure-chats"]')), String(f.chats));
    setText(
      /** @type {HTMLElement} */ (app.querySelector('[data-testid="figure-wait"]')),
      duration(f.averageWaitMs),
    );
    setText(
      /** @type {HTMLElement} */ (app.querySelector('[data-testid="figure-abandonment"]')),
      f.abandonmentRate === null
        ? '–'
        : `${Math.round(f.abandonmentRate * 100)} % (${f.abandoned}/${f.ended})`,
    );
    setText(queueCount, String(data.queue.length));
    reconcile(sessionsBody, data.sessions, (/** @type {any} */ s) => s.id, createRow, updateRow);
    if (data.sessions.length === 0 && !sessionsBody.querySelector('[data-empty]')) {
      sessionsBody.append(
        el('tr', { 'data-empty': true }, el('td', { colspan: 6, class: 'muted', text: 'No chats yet.' })),
      );
    } else if (data.sessions.length) sessionsBody.querySelector('[data-empty]')?.remove();
    reconcile(agentsBody, data.agents, (/** @type {any} */ a) => a.uri, createAgent, updateAgent);
    reconcile(
      queueList,
      data.queue,
      (/** @type {any} */ q) => q.sessionId,
      (q) =>
        el(
          'li',
          { 'data-testid': 'queue-entry' },
          el('a', { href: `/console/sessions/${encodeURIComponent(q.sessionId)}` }),
        ),
      (li, q) => {
        const row = data.sessions.find((/** @type {any} */ s) => s.id === q.sessionId);
        setText(
          /** @type {HTMLElement} */ (li.firstElementChild),
          `${row?.customer.name ?? q.sessionId}${q.topic ? ` (${q.topic})` : ''}`,
        );
      },
    );
  };
  follow('/console/api/dashboard/events', 'dashboard', render);
  // Waiting times move between updates.
  setInterval(() => {
    for (const tr of Array.from(sessionsBody.querySelectorAll('tr[data-waiting="true"]'))) {
      const row = /** @type {HTMLElement} */ (tr);
      const waited = Date.now() - Date.parse(row.dataset.createdAt ?? '');
      if (Number.isFinite(waited))
        setText(
          /** @type {HTMLElement} */ (row.querySelector('[data-part="wait"]')),
          duration(Math.max(0, waited)),
        );
    }
  }, 1000);
}

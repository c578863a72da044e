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
 */
import { surveySection } from './survey.js';
import { webhooksSection } from './webhooks.js';

const PRESENCES = ['available', 'busy', 'away', 'offline'];

/** @typedef {{ name: string, username: string, role: 'supervisor' | 'agent', agentUri: string | null, csrfToken: string | null }} Me */

/**
 * Build an element: attributes (`dataset` via `data-*`, `text` for textContent), then children.
 * @param {string} tag @param {Record<string, string | number | boolean | undefined | null>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
function el(tag, attrs = {}, ...children) {
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
function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** @param {string} iso */
function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? ''
    : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** @param {string} uri */
const shortUri = (uri) => uri.replace(/^sip:/i, '');

// ------------------------------------------------------------------------------------------ server access

/** @type {Me | undefined} */
let me;

/** @param {string} url */
async function getJson(url) {
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
async function send(method, url, body) {
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
function follow(url, event, onData) {
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

// ------------------------------------------------------------------------------------------ page frame

const app = /** @type {HTMLElement} */ (document.getElementById('app'));

/** @param {string} text */
function showBanner(text) {
  const banner = el('p', { class: 'banner', role: 'status', 'data-testid': 'banner', text });
  app.prepend(banner);
}

function signedOutBanner() {
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
function confirmAction(question) {
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

// ------------------------------------------------------------------------------------------ dashboard

/**
 * Keep the children of `parent` in step with `items` (by key): existing nodes are updated in place, so a
 * control with focus is not replaced under the user's hands.
 * @template T
 * @param {HTMLElement} parent @param {T[]} items @param {(item: T) => string} key
 * @param {(item: T) => HTMLElement} create @param {(node: HTMLElement, item: T) => void} update
 */
function reconcile(parent, items, key, create, update) {
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
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function dashboardView() {
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

// ------------------------------------------------------------------------------------------ session page

/** @param {string} id */
function sessionView(id) {
  const supervisor = me?.role === 'supervisor';
  const state = el('span', { class: 'badge', 'data-testid': 'session-state' });
  const detail = el('span', { class: 'small muted', 'data-testid': 'session-detail' });
  const title = el('h1', { 'data-testid': 'session-customer' });
  const meta = el('p', { class: 'muted small', 'data-testid': 'session-meta' });
  const chart = /** @type {HTMLImageElement} */ (
    el('img', { class: 'chart', alt: 'State chart of this chat', 'data-testid': 'session-chart' })
  );
  const transcript = el('ol', {
    class: 'transcript',
    'data-testid': 'transcript',
    'aria-label': 'Transcript',
  });
  const typing = el('p', { class: 'typing', 'data-testid': 'session-typing', 'aria-live': 'polite' });
  const assignments = el('ol', { class: 'assignments', 'data-testid': 'assignments' });
  const result = el('p', { class: 'result', role: 'status', 'data-testid': 'action-result' });
  const agentSelect = /** @type {HTMLSelectElement} */ (
    el('select', { 'data-testid': 'action-agent', id: 'action-agent' })
  );
  const uriInput = /** @type {HTMLInputElement} */ (
    el('input', {
      'data-testid': 'action-uri',
      id: 'action-uri',
      placeholder: 'sip:someone@contoso.com',
      autocomplete: 'off',
    })
  );

  /** @param {string} label @param {string} testid @param {string} cls */
  const button = (label, testid, cls = 'ghost') =>
    /** @type {HTMLButtonElement} */ (
      el('button', { type: 'button', class: cls, 'data-testid': testid, text: label })
    );
  const closeButton = button('Close chat', 'action-close', 'danger');
  const transferButton = button('Transfer', 'action-transfer');
  const addButton = button('Add second agent', 'action-add');
  const monitorButton = button('Monitor', 'action-monitor');
  const bargeButton = button('Barge in', 'action-barge');

  const actions = el(
    'section',
    { class: 'card actions', 'aria-labelledby': 'h-actions' },
    el('h2', { id: 'h-actions', text: 'Actions' }),
    supervisor &&
      el(
        'div',
        { class: 'row' },
        el('label', { for: 'action-agent', text: 'Agent' }),
        agentSelect,
        el('label', { for: 'action-uri', text: 'or address' }),
        uriInput,
      ),
    el(
      'div',
      { class: 'row' },
      supervisor && transferButton,
      supervisor && addButton,
      supervisor && monitorButton,
      supervisor && bargeButton,
      closeButton,
    ),
    result,
  );

  app.replaceChildren(
    el('p', { class: 'small' }, el('a', { href: '/console', text: '← Back' })),
    el('div', { class: 'session-head' }, title, state, detail),
    meta,
    el(
      'div',
      { class: 'session-grid' },
      el(
        'section',
        { class: 'card', 'aria-labelledby': 'h-transcript' },
        el('h2', { id: 'h-transcript', text: 'Transcript' }),
        transcript,
        typing,
      ),
      el(
        'div',
        { class: 'stack' },
        actions,
        el(
          'section',
          { class: 'card', 'aria-labelledby': 'h-chart' },
          el('h2', { id: 'h-chart', text: 'State' }),
          chart,
        ),
      ),
    ),
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'h-routing' },
      el('h2', { id: 'h-routing', text: 'Routing decisions' }),
      assignments,
    ),
  );
  const survey = surveySection(id);
  app.append(survey.section);

  /** @type {any} */
  let current;
  const target = () => uriInput.value.trim() || agentSelect.value;
  const nameOf = (/** @type {string} */ uri) =>
    agentSelect.querySelector(`option[value="${CSS.escape(uri)}"]`)?.textContent ?? shortUri(uri);

  /**
   * @param {string} question @param {string} method @param {string} path @param {unknown} [body]
   * @param {string} done
   */
  const act = async (question, method, path, body, done) => {
    if (!(await confirmAction(question))) return;
    result.dataset.tone = '';
    result.textContent = 'Working…';
    const answer = await send(method, path, body);
    result.dataset.tone = answer.ok ? 'ok' : 'error';
    result.textContent = answer.ok ? done : `Not done: ${answer.message}`;
  };
  const base = `/sessions/${encodeURIComponent(id)}`;
  closeButton.addEventListener('click', () =>
    act(
      'Close this chat? The customer and the agents are disconnected.',
      'POST',
      `${base}/close`,
      { reason: 'closed from the console' },
      'Closing the chat.',
    ),
  );
  transferButton.addEventListener('click', () => {
    const uri = target();
    if (uri)
      void act(
        `Transfer this chat to ${nameOf(uri)}?`,
        'POST',
        `${base}/transfer`,
        { uri },
        `Offering the chat to ${nameOf(uri)}.`,
      );
  });
  addButton.addEventListener('click', () => {
    const uri = target();
    if (uri)
      void act(
        `Add ${nameOf(uri)} as a second agent?`,
        'POST',
        `${base}/agents`,
        { uri },
        `Inviting ${nameOf(uri)}.`,
      );
  });
  monitorButton.addEventListener('click', () => {
    const uri = target();
    if (uri)
      void act(
        `Monitor this chat as ${nameOf(uri)}? The customer does not see them.`,
        'POST',
        `${base}/monitor`,
        { uri },
        `Inviting ${nameOf(uri)} to monitor.`,
      );
  });
  bargeButton.addEventListener('click', () =>
    act(
      'Barge in? The monitoring supervisor becomes visible to the customer.',
      'POST',
      `${base}/barge`,
      undefined,
      'Barging in.',
    ),
  );

  if (supervisor) {
    getJson('/agents')
      .then((/** @type {any} */ data) => {
        agentSelect.replaceChildren(
          ...data.agents.map((/** @type {any} */ a) =>
            el('option', { value: a.uri, text: `${a.name} (${a.presence}, ${a.load}/${a.capacity})` }),
          ),
        );
      })
      .catch(() => {});
  }

  /** @param {any} entry */
  const entryNode = (entry) => {
    const li = el(
      'li',
      { 'data-testid': 'transcript-entry', 'data-kind': entry.kind },
      el('time', { datetime: entry.at, text: clock(entry.at) }),
    );
    if (entry.kind === 'message') {
      li.dataset.direction = entry.direction ?? '';
      li.dataset.leg = entry.leg ?? '';
      li.append(
        el('span', {
          class: 'from',
          text: `${entry.from ?? (entry.direction === 'Outgoing' ? 'Help desk' : 'Customer')}:`,
        }),
      );
      li.append(el('span', { class: 'text', 'data-testid': 'transcript-text', text: entry.text ?? '' }));
    } else if (entry.kind === 'participant') {
      li.append(
        el('span', {
          text: `${entry.from ?? 'Someone'} ${entry.change === 'deleted' ? 'left' : entry.change === 'added' ? 'joined' : 'changed'}${entry.leg ? ` (${entry.leg})` : ''}`,
        }),
      );
    } else {
      li.append(el('span', { text: entry.text ?? '' }));
    }
    return li;
  };

  /** @param {any} data */
  const render = (data) => {
    current = data;
    const { row, session } = data;
    setText(title, row.customer.name ?? '(no name)');
    state.dataset.state = row.state;
    setText(state, row.state);
    setText(detail, row.detail);
    setText(
      meta,
      [
        row.customer.topic ? `Topic: ${row.customer.topic}` : '',
        `Started ${clock(row.createdAt)}`,
        `Waited ${duration(row.waitMs)}`,
        row.agents.length ? `Agents: ${row.agents.map((/** @type {any} */ a) => a.name).join(', ')}` : '',
        row.outcome ? `Outcome: ${row.outcome}` : '',
      ]
        .filter(Boolean)
        .join(' · '),
    );
    const src = `/sessions/${encodeURIComponent(session.id)}/chart.svg?v=${encodeURIComponent(data.chartVersion)}`;
    if (chart.getAttribute('src') !== src) chart.setAttribute('src', src);

    // Roster lines: the first report of someone (added, or updated when the added one was not seen) says
    // they joined; later updates say nothing new.
    /** @type {Set<string>} */
    const present = new Set();
    const shown = data.transcript
      .filter((/** @type {any} */ e) => {
        if (e.kind === 'typing') return false;
        if (e.kind !== 'participant') return true;
        const who = e.from ?? '';
        if (e.change === 'deleted') return present.delete(who) || !who;
        if (present.has(who)) return false;
        present.add(who);
        return true;
      })
      .map((/** @type {any} */ e) =>
        e.kind === 'participant' && e.change === 'updated' ? { ...e, change: 'added' } : e,
      );
    const atEnd = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    reconcile(
      transcript,
      shown,
      (/** @type {any} */ e) =>
        `${e.at}|${e.kind}|${e.leg ?? ''}|${e.from ?? ''}|${e.text ?? e.change ?? ''}`,
      entryNode,
      () => {},
    );
    if (atEnd) transcript.scrollTop = transcript.scrollHeight;
    /** @type {Map<string, boolean>} */
    const typingNow = new Map();
    for (const e of data.transcript) {
      if (e.kind === 'typing' && e.from) typingNow.set(e.from, !!e.isTyping);
      if (e.kind === 'message' && e.from) typingNow.set(e.from, false);
    }
    const names = [...typingNow].filter(([, on]) => on).map(([name]) => name);
    setText(typing, names.length ? `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…` : '');

    reconcile(
      assignments,
      session.assignments,
      (/** @type {any} */ a) => `${a.at}`,
      (a) =>
        el(
          'li',
          { 'data-testid': 'assignment' },
          el(
            'div',
            {},
            el('strong', { text: a.winner ? shortUri(a.winner) : 'nobody' }),
            ` · ${a.strategy}${a.topic ? ` · topic ${a.topic}` : ''} · ${clock(new Date(a.at).toISOString())}`,
          ),
          el('div', { class: 'muted', text: a.why }),
        ),
      () => {},
    );
    if (session.assignments.length === 0 && !assignments.firstElementChild)
      assignments.append(el('li', { class: 'muted', text: 'No routing decisions yet.' }));

    const running = session.status === 'active';
    for (const b of [transferButton, addButton, monitorButton])
      b.disabled = !running || row.state !== 'agentsJoined';
    bargeButton.disabled = !running;
    closeButton.disabled = !running;
  };
  follow(`/sessions/${encodeURIComponent(id)}/events`, 'session', (/** @type {any} */ data) => {
    render(data);
    if (data.session?.status !== 'active') void survey.refresh();
  });
  void current;
}

// ------------------------------------------------------------------------------------------ agent view

function agentView() {
  const presence = /** @type {HTMLSelectElement} */ (
    el('select', { class: 'presence-select', 'data-testid': 'my-presence', id: 'my-presence' })
  );
  for (const p of PRESENCES) presence.append(el('option', { value: p, text: p }));
  const chats = el('div', { class: 'chats', 'data-testid': 'my-chats' });
  const earlier = el('ol', { 'data-testid': 'earlier-chats' });
  const note = el('p', { class: 'result', role: 'status', 'data-testid': 'my-result' });
  app.replaceChildren(
    el('h1', { text: `Hello, ${me?.name ?? ''}` }),
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
    if (!me?.agentUri) return;
    const answer = await send('PUT', `/agents/${encodeURIComponent(me.agentUri)}/presence`, {
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

// ------------------------------------------------------------------------------------------ start

async function main() {
  try {
    me = /** @type {Me} */ (await getJson('/auth/me'));
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

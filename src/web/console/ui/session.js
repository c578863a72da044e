// @ts-check
/**
 * One chat (/console/sessions/:id): live state chart, live transcript, routing decisions, and the
 * operator actions (close, transfer, second agent, monitor, barge) with confirmation.
 */
import { app, clock, confirmAction, duration, el, reconcile, setText, shortUri } from './dom.js';
import { currentUser, follow, getJson, send } from './server.js';
import { surveySection } from './survey.js';

/** @param {string} id */
export function sessionView(id) {
  const supervisor = currentUser()?.role === 'supervisor';
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

// @ts-check
/**
 * The widget's DOM view: wires the page's elements (`[data-carechat]`) to a CustomerChat. Text from the
 * platform is only ever written with textContent.
 */
import { CustomerChat } from './chat.js';
import { offerSurvey } from './survey.js';

/** @param {Date} time */
function clock(time) {
  return time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

const RECEIPTS = { sending: 'Sending…', sent: 'Sent', delivered: 'Delivered', failed: 'Not delivered' };

/** @param {string[]} names */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

/** Wire the page's elements to a CustomerChat. @param {HTMLElement} root */
export function mount(root) {
  /** @template {Element} T @param {string} selector @returns {T} */
  const $ = (selector) => {
    const found = root.querySelector(selector);
    if (!found) throw new Error(`carechat widget: ${selector} is missing from the page`);
    return /** @type {T} */ (/** @type {unknown} */ (found));
  };
  /** @type {HTMLFormElement} */ const startForm = $('[data-part="start"]');
  /** @type {HTMLInputElement} */ const nameInput = $('[data-testid="name"]');
  /** @type {HTMLSelectElement} */ const topicSelect = $('[data-testid="topic"]');
  /** @type {HTMLButtonElement} */ const startButton = $('[data-testid="start"]');
  /** @type {HTMLElement} */ const statusLine = $('[data-testid="status"]');
  /** @type {HTMLElement} */ const chatPanel = $('[data-part="chat"]');
  /** @type {HTMLOListElement} */ const list = $('[data-testid="messages"]');
  /** @type {HTMLElement} */ const typingLine = $('[data-testid="typing"]');
  /** @type {HTMLFormElement} */ const composer = $('[data-part="composer"]');
  /** @type {HTMLTextAreaElement} */ const input = $('[data-testid="input"]');
  /** @type {HTMLButtonElement} */ const sendButton = $('[data-testid="send"]');
  /** @type {HTMLButtonElement} */ const leaveButton = $('[data-testid="leave"]');
  /** @type {HTMLButtonElement} */ const restartButton = $('[data-testid="restart"]');
  const tokenUrl = root.dataset.tokenUrl || '/chat/token';

  // Embedded by launcher.js (?embed=1&host=<origin of the website>): tell the launcher about new messages.
  const params = new URLSearchParams(location.search);
  const embedded = params.get('embed') === '1' && window.parent !== window;
  const host = params.get('host');
  const hostOrigin = host && URL.canParse(host) && new URL(host).origin === host ? host : undefined;
  if (embedded) document.documentElement.classList.add('embedded');
  const tellHost = (/** @type {Record<string, unknown>} */ message) => {
    if (embedded && hostOrigin) window.parent.postMessage({ source: 'carechat', ...message }, hostOrigin);
  };

  /** Show the end of the conversation, after the layout settled (a button may just have appeared). */
  const scrollToEnd = () => {
    list.scrollTo({ top: list.scrollHeight, behavior: 'instant' });
    requestAnimationFrame(() => list.scrollTo({ top: list.scrollHeight, behavior: 'instant' }));
  };

  /**
   * @param {'in' | 'out' | 'system'} direction @param {string} author @param {string} text @param {Date} time
   */
  const addMessage = (direction, author, text, time) => {
    const item = document.createElement('li');
    item.className = 'message';
    item.dataset.testid = 'message';
    item.dataset.direction = direction;
    item.dataset.author = author;
    if (direction !== 'system') {
      const meta = document.createElement('div');
      meta.className = 'meta';
      const who = document.createElement('span');
      who.className = 'author';
      who.textContent = author;
      const when = document.createElement('time');
      when.dateTime = time.toISOString();
      when.textContent = clock(time);
      meta.append(who, when);
      item.append(meta);
    }
    const body = document.createElement('p');
    body.className = 'text';
    body.textContent = text;
    item.append(body);
    list.append(item);
    scrollToEnd();
    return item;
  };

  const setComposer = (/** @type {boolean} */ on) => {
    input.disabled = !on;
    sendButton.disabled = !on || !input.value.trim();
  };

  /** @type {ChatView} */
  const view = {
    status(text, tone) {
      statusLine.textContent = text;
      statusLine.dataset.tone = tone;
    },
    showChat() {
      startForm.hidden = true;
      chatPanel.hidden = false;
      leaveButton.hidden = false;
      leaveButton.disabled = false;
      restartButton.hidden = true;
    },
    startFailed() {
      startButton.disabled = false;
      nameInput.disabled = false;
      topicSelect.disabled = false;
      nameInput.focus();
    },
    setConnected(on) {
      setComposer(on);
      if (on) input.focus();
    },
    incoming({ author, text, time }) {
      addMessage('in', author, text, time);
      tellHost({ type: 'message', author });
    },
    outgoing({ author, text, time }) {
      const item = addMessage('out', author, text, time);
      const receipt = document.createElement('span');
      receipt.className = 'receipt';
      item.append(receipt);
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.className = 'retry';
      retry.dataset.testid = 'retry';
      retry.textContent = 'Retry';
      retry.hidden = true;
      item.append(retry);
      /** @type {OutgoingHandle} */
      const handle = {
        status: 'sending',
        setStatus(status, detail) {
          // A delivered message stays so (a late 201 must not turn "Delivered" into "Sent"); a failed one
          // changes only when it is sent again.
          if (this.status === 'delivered' || (this.status === 'failed' && status !== 'sending')) return;
          this.status = status;
          item.dataset.status = status;
          receipt.textContent = detail ?? RECEIPTS[status];
          retry.hidden = status !== 'failed' || !this.retry;
        },
      };
      retry.addEventListener('click', () => {
        retry.hidden = true;
        handle.setStatus('sending');
        handle.retry?.();
        input.focus();
      });
      item.dataset.status = 'sending';
      receipt.textContent = RECEIPTS.sending;
      return handle;
    },
    system(text) {
      addMessage('system', 'system', text, new Date());
    },
    typing(names) {
      typingLine.textContent = typingText(names);
    },
    ended() {
      setComposer(false);
      leaveButton.hidden = true;
      restartButton.hidden = false;
      /** @type {HTMLElement} */ for (const button of list.querySelectorAll('[data-testid="retry"]'))
        button.hidden = true;
      // The last line ("You left the chat.", "The chat has ended.") in full view, and the way on focused.
      scrollToEnd();
      restartButton.focus({ preventScroll: true });
      if (chat?.survey) offerSurvey(chatPanel, { token: chat.survey.surveyToken, before: restartButton });
      tellHost({ type: 'ended' });
    },
  };

  /** @type {CustomerChat | undefined} */
  let chat;

  startForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      view.status('Please enter your name to start a chat.', 'error');
      nameInput.focus();
      return;
    }
    startButton.disabled = true;
    nameInput.disabled = true;
    topicSelect.disabled = true;
    list.replaceChildren();
    typingLine.textContent = '';
    input.value = '';
    chat = new CustomerChat({ tokenUrl, view });
    void chat.start(name, topicSelect.value);
  });

  const submit = () => {
    const text = input.value;
    if (!chat || input.disabled || !text.trim()) return;
    input.value = '';
    sendButton.disabled = true;
    void chat.send(text);
  };

  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });

  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });

  input.addEventListener('input', () => {
    sendButton.disabled = input.disabled || !input.value.trim();
    if (input.value.trim()) chat?.typing();
  });

  leaveButton.addEventListener('click', () => {
    leaveButton.disabled = true;
    void chat?.leave();
  });

  restartButton.addEventListener('click', () => {
    chat = undefined;
    chatPanel.hidden = true;
    restartButton.hidden = true;
    startForm.hidden = false;
    view.startFailed();
    view.status("We're online. Start a chat below.", 'idle');
  });

  window.addEventListener('pagehide', () => chat?.unload());
  return view;
}

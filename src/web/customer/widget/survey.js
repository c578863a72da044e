// @ts-check
/**
 * The post-chat survey in the customer widget: "How was your chat?" 1–5 and an optional comment, or Skip.
 * A plain browser module (no build step), loaded by widget.js. The answer goes to `POST /chat/survey`
 * with the survey token the SA gave with the chat token; the SA keeps one answer per chat.
 */

const LABELS = ['Very poor', 'Poor', 'Okay', 'Good', 'Excellent'];
let forms = 0;

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Record<string, string>} [attrs] @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function make(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Shows the survey at the end of `container` (before `before`, if given); returns the form.
 * @param {HTMLElement} container
 * @param {{ token: string, url?: string, before?: Element | null, fetch?: typeof fetch }} options
 */
export function offerSurvey(container, { token, url = '/chat/survey', before = null, fetch: fetchImpl }) {
  const send = fetchImpl ?? globalThis.fetch.bind(globalThis);
  const n = ++forms;
  const form = make('form', {
    class: 'survey',
    'data-testid': 'survey',
    'aria-labelledby': `cc-survey-${n}`,
  });
  form.noValidate = true;
  const group = make('fieldset', { role: 'radiogroup', 'aria-labelledby': `cc-survey-${n}` });
  group.append(make('legend', { id: `cc-survey-${n}` }, 'How was your chat?'));
  const scores = make('div', { class: 'scores' });
  for (let score = 1; score <= 5; score += 1) {
    const id = `cc-survey-${n}-${score}`;
    const input = make('input', {
      type: 'radio',
      name: 'score',
      value: String(score),
      id,
      'data-testid': `survey-score-${score}`,
    });
    const label = make('label', { for: id, title: LABELS[score - 1] ?? '' });
    label.append(make('span', { 'aria-hidden': 'true' }, String(score)));
    label.append(make('span', { class: 'visually-hidden' }, `${score}: ${LABELS[score - 1]}`));
    scores.append(make('span', { class: 'score' }));
    scores.lastElementChild?.append(input, label);
  }
  group.append(scores);
  const commentId = `cc-survey-${n}-comment`;
  const commentLabel = make('label', { for: commentId }, 'Anything you would like to add? ');
  commentLabel.append(make('span', { class: 'optional' }, '(optional)'));
  const comment = make('textarea', {
    id: commentId,
    name: 'comment',
    rows: '2',
    maxlength: '1000',
    'data-testid': 'survey-comment',
  });
  const submit = make('button', { type: 'submit', class: 'primary', 'data-testid': 'survey-submit' }, 'Send');
  const skip = make('button', { type: 'button', class: 'ghost', 'data-testid': 'survey-skip' }, 'Skip');
  const status = make('p', { class: 'survey-status', role: 'status', 'data-testid': 'survey-status' });
  const actions = make('div', { class: 'survey-actions' });
  actions.append(submit, skip);
  form.append(group, commentLabel, comment, actions, status);
  container.insertBefore(form, before);

  skip.addEventListener('click', () => form.remove());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="score"]:checked'));
    if (!chosen) {
      status.textContent = 'Please choose a rating from 1 to 5, or skip.';
      /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="score"]'))?.focus();
      return;
    }
    submit.disabled = true;
    status.textContent = 'Sending…';
    const text = comment.value.trim();
    try {
      const res = await send(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token, score: Number(chosen.value), ...(text ? { comment: text } : {}) }),
      });
      if (res.ok || res.status === 409) {
        const done = make('p', { class: 'survey-done', role: 'status', 'data-testid': 'survey-thanks' });
        done.textContent = res.ok
          ? 'Thank you for your feedback!'
          : 'You have already rated this chat. Thank you!';
        form.replaceWith(done);
        return;
      }
      const body = await res.json().catch(() => ({}));
      status.textContent = `Could not send your rating: ${body.message ?? `error ${res.status}`}`;
    } catch {
      status.textContent = 'Could not send your rating: the chat service is unreachable.';
    }
    submit.disabled = false;
  });
  return form;
}

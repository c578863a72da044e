// @ts-check
/**
 * The post-chat survey answer on the console's session page: the customer's 1–5 rating and comment, or
 * that there is none yet. Loaded by console.js; reads `GET /sessions/:id/survey`. Text only via textContent.
 */

/**
 * A card that shows the chat's survey answer; `refresh()` reads it again (the view calls it on updates).
 * @param {string} sessionId
 */
export function surveySection(sessionId) {
  const section = document.createElement('section');
  section.className = 'card';
  section.setAttribute('aria-labelledby', 'h-survey');
  const heading = document.createElement('h2');
  heading.id = 'h-survey';
  heading.textContent = 'Customer feedback';
  const body = document.createElement('p');
  body.dataset.testid = 'session-survey';
  body.textContent = 'Loading…';
  const comment = document.createElement('blockquote');
  comment.dataset.testid = 'session-survey-comment';
  comment.hidden = true;
  section.append(heading, body, comment);

  const refresh = async () => {
    try {
      const res = await fetch(`/sessions/${encodeURIComponent(sessionId)}/survey`, {
        headers: { Accept: 'application/json' },
      });
      if (!res.ok) throw new Error(String(res.status));
      const { survey } = /** @type {{ survey: { score: number, comment?: string } | null }} */ (
        await res.json()
      );
      body.textContent = survey ? `Rated ${survey.score} out of 5` : 'No survey answer yet.';
      comment.textContent = survey?.comment ?? '';
      comment.hidden = !survey?.comment;
    } catch {
      body.textContent = 'The survey answer could not be loaded.';
    }
  };
  void refresh();
  return { section, refresh };
}

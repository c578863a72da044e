// @ts-check
/**
 * Webhook deliveries on the console's dashboard: totals by result and the latest failures (target, answer,
 * attempts), read from `GET /console/api/webhooks` now and every 15 s while the card is on the page.
 * Nothing is shown when no webhook is configured. Text only via textContent.
 */

/** @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text] */
function make(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The card (hidden until the SA says webhooks are configured). */
export function webhooksSection() {
  const section = make('section', { class: 'card', 'aria-labelledby': 'h-webhooks', hidden: '' });
  const totals = make('p', { class: 'small', 'data-testid': 'webhook-totals' });
  const failures = make('ol', { class: 'small', 'data-testid': 'webhook-failures' });
  section.append(make('h2', { id: 'h-webhooks' }, 'Webhooks'), totals, failures);

  const refresh = async () => {
    try {
      const res = await fetch('/console/api/webhooks', { headers: { Accept: 'application/json' } });
      if (!res.ok) return;
      /** @type {{ configured: boolean, targets?: string[], totals?: Record<string, number>,
       *   recentFailures?: Array<{ event: string, sessionId: string | null, result: string, attempts: number,
       *   error?: string, at: string }> }} */
      const status = await res.json();
      section.hidden = !status.configured;
      if (!status.configured) return;
      const t = status.totals ?? {};
      totals.textContent = `${t.delivered ?? 0} delivered · ${t.failed ?? 0} failed attempts · ${t.refused ?? 0} refused · ${t.expired ?? 0} given up — to ${(status.targets ?? []).join(', ')}`;
      failures.replaceChildren(
        ...(status.recentFailures ?? []).map((f) =>
          make(
            'li',
            { 'data-testid': 'webhook-failure' },
            `${new Date(f.at).toLocaleTimeString()} ${f.event} (${f.result}, attempt ${f.attempts}): ${f.error ?? ''}`,
          ),
        ),
      );
      if (!failures.firstElementChild)
        failures.append(make('li', { class: 'muted' }, 'No failed deliveries.'));
    } catch {
      // The next refresh tries again.
    }
  };
  void refresh();
  const timer = setInterval(() => {
    if (!section.isConnected) clearInterval(timer);
    else void refresh();
  }, 15_000);
  return section;
}

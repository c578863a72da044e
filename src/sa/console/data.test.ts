import { describe, expect, it } from 'vitest';
import type { SessionView } from '../../runtime/sessions.ts';
import { figures, sessionRow } from './data.ts';

const NOW = new Date(2030, 0, 15, 12, 0, 0).getTime();
const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();

function view(over: Partial<SessionView> & { id: string }): SessionView {
  return {
    state: 'terminated',
    stateValue: 'terminated',
    status: 'done',
    outcome: 'completed',
    createdAt: at(30),
    updatedAt: at(20),
    customer: { name: 'C' },
    agents: [],
    participants: [],
    history: [],
    operations: [],
    assignments: [],
    offering: null,
    queuePosition: null,
    deadlines: {},
    conversations: {},
    error: null,
    ...over,
  };
}

describe('console figures', () => {
  it('wait: until the first agent joined; still waiting: until now; never answered: until it ended', () => {
    const answered = sessionRow(
      view({ id: 'a', history: [{ state: 'agentsJoined.customer.active', at: at(28) }] }),
      NOW,
    );
    expect(answered).toMatchObject({ waitMs: 2 * 60_000, answered: true });
    const waiting = sessionRow(
      view({
        id: 'w',
        state: 'welcomed',
        stateValue: { welcomed: 'offering' },
        status: 'active',
        outcome: null,
        createdAt: at(5),
      }),
      NOW,
    );
    expect(waiting).toMatchObject({ waitMs: 5 * 60_000, answered: false, detail: 'welcomed.offering' });
    const abandoned = sessionRow(
      view({ id: 'x', outcome: 'abandoned', createdAt: at(10), updatedAt: at(7) }),
      NOW,
    );
    expect(abandoned).toMatchObject({ waitMs: 3 * 60_000, answered: false });
  });

  it("today's chats, average wait of the answered ones, and abandonment among the ended ones", () => {
    const rows = [
      sessionRow(view({ id: 'a', history: [{ state: 'agentsJoined', at: at(29) }] }), NOW),
      sessionRow(view({ id: 'b', createdAt: at(20), history: [{ state: 'agentsJoined', at: at(17) }] }), NOW),
      sessionRow(view({ id: 'c', outcome: 'abandoned', createdAt: at(10), updatedAt: at(9) }), NOW),
      sessionRow(
        view({
          id: 'd',
          state: 'welcomed',
          stateValue: 'welcomed',
          status: 'active',
          outcome: null,
          createdAt: at(1),
        }),
        NOW,
      ),
      sessionRow(view({ id: 'old', createdAt: new Date(NOW - 2 * 86_400_000).toISOString() }), NOW),
    ];
    expect(figures(rows, NOW)).toEqual({
      day: '2030-01-15',
      chats: 4,
      answered: 2,
      averageWaitMs: 2 * 60_000,
      abandoned: 1,
      ended: 3,
      abandonmentRate: 1 / 3,
    });
    expect(figures([], NOW)).toMatchObject({ chats: 0, averageWaitMs: null, abandonmentRate: null });
  });
});

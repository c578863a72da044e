/**
 * The Store over SQL: one implementation for both engines (they differ only in how statements reach the
 * database), assembled from one module per concern under sql/ (sessions, leases, callbacks and effects,
 * transcripts and left messages, the agent pool and queue, the inbox, webhooks, survey answers). Session-owned writes are
 * fenced by the session's lease (sql/context.ts).
 */
import type { Engine, Sql } from './engines/engine.ts';
import { storableText } from './json.ts';
import { checkId } from './sql/checks.ts';
import { opsContext, type Runner, type SqlStoreOptions } from './sql/context.ts';
import { effectOps } from './sql/effects.ts';
import { INBOX_CHANNEL, inboxOps } from './sql/inbox.ts';
import { leaseOps } from './sql/leases.ts';
import { LeaseLedger } from './sql/ledger.ts';
import { poolOps } from './sql/pool.ts';
import { sessionOps } from './sql/sessions.ts';
import { surveyOps } from './sql/surveys.ts';
import { transcriptOps } from './sql/transcripts.ts';
import { webhookOps } from './sql/webhooks.ts';
import type { MigrationInfo, Store, StoreOps } from './store.ts';

export type { SqlStoreOptions } from './sql/context.ts';

export function createSqlStore(
  engine: Engine,
  schema: { applied: MigrationInfo[]; version: number },
  options: SqlStoreOptions,
): Store {
  // PGlite: one process, one Store, so a ledger can vouch for leases (sql/ledger.ts). A transaction that
  // failed may have changed leases the ledger recorded: it forgets them all.
  const ledger = engine.kind === 'pglite' ? new LeaseLedger() : undefined;
  const transaction: Engine['transaction'] = ledger
    ? (fn) =>
        engine.transaction(fn).catch((error: unknown) => {
          ledger.forgetAll();
          throw error;
        })
    : (fn) => engine.transaction(fn);
  const top: Runner = {
    sql: paramsCleaned(engine),
    atomic: (fn) => transaction((sql) => fn(paramsCleaned(sql), new Set())),
  };
  // One connection runs every PGlite transaction: its fences need no row locks (see opsContext).
  const locks = { rowLocks: engine.kind !== 'pglite', ...(ledger ? { ledger } : {}) };
  const ops = makeOps(top, options, locks);
  return {
    ...ops,
    engine: engine.kind,
    location: engine.location,
    schema,
    transaction(fn) {
      return transaction((raw) => {
        const sql = paramsCleaned(raw);
        const fenced = new Set<string>();
        return fn(makeOps({ sql, atomic: (inner) => inner(sql, fenced) }, options, locks));
      });
    },
    async onInbox(owner, handler) {
      checkId(owner, 'owner');
      return engine.listen(INBOX_CHANNEL, (payload) => {
        let signal: { o?: unknown; s?: unknown };
        try {
          signal = JSON.parse(payload);
        } catch {
          return;
        }
        if (signal.o === owner && typeof signal.s === 'string') handler(signal.s);
      });
    },
    close: () => engine.close(),
  };
}

/** Every string parameter made storable (no U+0000, no lone surrogates). */
function paramsCleaned(sql: Sql): Sql {
  return {
    query: (text, params) =>
      sql.query(
        text,
        params?.map((p) => (typeof p === 'string' ? storableText(p) : p)),
      ),
  };
}

function makeOps(
  run: Runner,
  options: SqlStoreOptions,
  locks: { rowLocks: boolean; ledger?: LeaseLedger },
): StoreOps {
  const context = opsContext(run, options, locks);
  return {
    sessions: sessionOps(context),
    leases: leaseOps(context),
    ...effectOps(context),
    ...transcriptOps(context),
    ...poolOps(context),
    inbox: inboxOps(context),
    webhooks: webhookOps(context),
    surveys: surveyOps(context),
  };
}

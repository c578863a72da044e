/**
 * The embedded store's lease ledger. One process holds a PGlite data directory (its lock file), so every
 * lease change goes through one Store: this ledger sees them all. While a single owner has ever taken
 * leases in this Store, the leases it was given (created, acquired, taken over, renewed) and has not released
 * are still its own: nobody else could have taken them. `leases.check` then answers from the ledger without
 * a query (a chat step that changes nothing durable asks this before its callback is answered, about 17
 * times per chat).
 *
 * Anything the ledger cannot vouch for goes to the database as before: a second owner seen in this Store
 * (tests run several "instances" on one store) turns the ledger off for good; a release, a purge or a
 * transaction that failed forgets what it might have changed. PostgreSQL stores have no ledger: other
 * processes change leases there.
 */
import type { Lease } from '../store.ts';

export class LeaseLedger {
  private readonly owners = new Set<string>();
  /** Session id → `owner \0 generation` of the lease this Store gave out last. */
  private readonly given = new Map<string, string>();

  /** `owner` took or renewed `lease` (or asked to: an owner is counted even when it got nothing). */
  gave(owner: string, lease?: Pick<Lease, 'sessionId' | 'owner' | 'generation'>): void {
    this.owners.add(owner);
    if (lease) this.given.set(lease.sessionId, key(lease));
  }

  /** The session's lease may have changed in a way the ledger does not follow. */
  forget(sessionId: string): void {
    this.given.delete(sessionId);
  }

  /** Every lease may have changed (a release of all, a failed transaction). */
  forgetAll(): void {
    this.given.clear();
  }

  /** Whether each of `leases` is vouched for; undefined when the database has to be asked. */
  held(leases: ReadonlyArray<Pick<Lease, 'sessionId' | 'owner' | 'generation'>>): Set<string> | undefined {
    if (this.owners.size !== 1) return undefined;
    for (const lease of leases) if (this.given.get(lease.sessionId) !== key(lease)) return undefined;
    return new Set(leases.map((lease) => lease.sessionId));
  }
}

function key(lease: Pick<Lease, 'owner' | 'generation'>): string {
  return `${lease.owner}\u0000${lease.generation}`;
}

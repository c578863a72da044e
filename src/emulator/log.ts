/** The request + callback log readable through `GET /control/log` (no tokens, no message bodies). */
export interface RequestLogEntry {
  seq: number;
  time: string;
  kind: 'request';
  method: string;
  path: string;
  status: number;
  operationId?: string;
  /** The request repeated an operationId already carried out: answered as before, nothing done again. */
  replayed?: true;
  durationMs: number;
  fault?: string;
}

export interface CallbackLogEntry {
  seq: number;
  time: string;
  kind: 'callback';
  /** Conversation the callback belongs to; absent for heartbeats and control-API sends. */
  conversationId?: string;
  url: string;
  /** One line per event, e.g. `communication: messagingInvitation started`. */
  events: string[];
  /** The SA's HTTP status, or null when it did not answer (timeout, connection refused). */
  status: number | null;
  error?: string;
  attempt: number;
  fault?: string;
  durationMs: number;
}

export type LogEntry = RequestLogEntry | CallbackLogEntry;
type NewEntry = Omit<RequestLogEntry, 'seq' | 'time'> | Omit<CallbackLogEntry, 'seq' | 'time'>;

export class ActivityLog {
  private entries: LogEntry[] = [];
  private seq = 0;

  constructor(private readonly limit: number) {}

  add(entry: NewEntry): LogEntry {
    this.seq += 1;
    const full = { ...entry, seq: this.seq, time: new Date().toISOString() } as LogEntry;
    this.entries.push(full);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    return full;
  }

  list(filter: { kind?: string; since?: number } = {}): LogEntry[] {
    return this.entries.filter(
      (entry) =>
        (filter.kind === undefined || entry.kind === filter.kind) &&
        (filter.since === undefined || entry.seq > filter.since),
    );
  }

  clear(): void {
    this.entries = [];
  }
}

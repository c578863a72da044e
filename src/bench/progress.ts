/**
 * Progress on stderr while the bench runs: a redrawn bar when stderr is a terminal, otherwise one terse
 * line per stage (logs and CI stay readable).
 */
export interface Progress {
  /** A new stage; `total` is what `update` counts up to (omit it for a stage without a count). */
  stage(label: string, total?: number): void;
  update(done: number, note?: string): void;
  /** The stage is over; `summary` is printed on its line. */
  done(summary: string): void;
  /** Clear the bar (before the report is printed). */
  finish(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? new Bar(stream) : new Lines(stream);
}

const elapsed = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

class Lines implements Progress {
  private label = '';
  private started = 0;
  constructor(private readonly stream: NodeJS.WritableStream) {}
  private total: number | undefined;
  private lastLine = 0;
  stage(label: string, total?: number): void {
    this.label = label;
    this.total = total;
    this.started = performance.now();
    this.lastLine = this.started;
    this.stream.write(`bench: ${label} …\n`);
  }
  /** A line every 10 s at most, so long stages show they are moving. */
  update(done: number, note = ''): void {
    const now = performance.now();
    if (now - this.lastLine < 10_000) return;
    this.lastLine = now;
    const count = this.total ? `${done}/${this.total}` : String(done);
    this.stream.write(`bench: ${this.label}: ${count} ${note}`.trimEnd() + ` [${elapsed(this.started)}]\n`);
  }
  done(summary: string): void {
    this.stream.write(`bench: ${this.label}: ${summary} [${elapsed(this.started)}]\n`);
  }
  finish(): void {}
}

class Bar implements Progress {
  private label = '';
  private total: number | undefined;
  private started = 0;
  private lastDraw = 0;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  stage(label: string, total?: number): void {
    this.label = label;
    this.total = total;
    this.started = performance.now();
    this.draw(0, '', true);
  }

  update(done: number, note = ''): void {
    this.draw(done, note, false);
  }

  done(summary: string): void {
    this.stream.write(`\r\x1b[K✓ ${this.label}: ${summary} [${elapsed(this.started)}]\n`);
  }

  finish(): void {
    this.stream.write('\r\x1b[K');
  }

  private draw(done: number, note: string, force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const seconds = elapsed(this.started);
    const width = 24;
    let bar = '';
    if (this.total) {
      const filled = Math.min(width, Math.round((done / this.total) * width));
      bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total} `;
    } else if (done) {
      bar = `${done} `;
    }
    const columns = this.stream.columns || 100;
    const line = `${this.label} ${bar}${note} ${seconds}`.slice(0, columns - 1);
    this.stream.write(`\r\x1b[K${line}`);
  }
}

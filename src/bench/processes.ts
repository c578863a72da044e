/**
 * The processes the bench measures: `carechat emulator` and `carechat sa` exactly as a user starts them
 * (plus the bare node:http floor server), each with the bench probe preloaded for its own accounting,
 * output to a log file, and optionally `--cpu-prof`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/carechat.js of this package, from src/bench/ in a clone or from dist/src/bench/ when compiled. */
export const CARECHAT_BIN = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/src/') ? '../../../bin/carechat.js' : '../../bin/carechat.js',
    import.meta.url,
  ),
);
export const PROBE = new URL('./probe.js', import.meta.url).href;

/** What the probe in a child answers (see probe.js). */
export interface ProbeSample {
  cpuUs: number;
  rss: number;
  heapUsed: number;
  served: number;
  fetched: number;
  inflight: number;
  idleMs: number;
  /** Milliseconds from request start to response finish, for the timed path, since the last sample. */
  timings: number[];
}

export interface ChildSpec {
  name: string;
  /** Arguments after `node [flags] --import probe`: a script and its arguments, or `-e <source>`. */
  args: string[];
  env: Record<string, string>;
  /** The ready line; its first group is the URL. */
  ready: RegExp;
  logFile: string;
  /** Write a CPU profile here at exit (`--cpu-prof`). */
  profileDir?: string;
  /** More Node flags, e.g. `--expose-gc` for samples taken after a collection. */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

export class BenchChild {
  private seq = 0;
  private readonly pending = new Map<
    number,
    { resolve: (sample: ProbeSample) => void; reject: (error: Error) => void }
  >();
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly child: ChildProcess,
    exited: Promise<number | null>,
    readonly logFile: string,
    readonly profileFile: string | undefined,
  ) {
    this.exited = exited.then((code) => {
      this.exitCode = code;
      for (const { reject } of this.pending.values()) reject(new Error(`${name} exited (${code})`));
      this.pending.clear();
      return code;
    });
    child.on('message', (message: { type?: string; id?: number } & ProbeSample) => {
      if (message?.type !== 'carechat-bench' || message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(spec: ChildSpec): Promise<BenchChild> {
    const fd = openSync(spec.logFile, 'w');
    const profileFile = spec.profileDir ? join(spec.profileDir, `${spec.name}.cpuprofile`) : undefined;
    const flags = [
      ...(spec.nodeFlags ?? []),
      ...(spec.profileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${spec.profileDir}`, `--cpu-prof-name=${spec.name}.cpuprofile`]
        : []),
    ];
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...flags, '--import', PROBE, ...spec.args], {
        stdio: ['ignore', fd, fd, 'ipc'],
        env: spec.env,
      });
    } finally {
      closeSync(fd);
    }
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    const timeout = spec.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeout;
    let done = false;
    const gone = exited.then((code) => {
      if (!done) throw new Error(`${spec.name} exited (${code}) before it was ready:\n${tail(spec.logFile)}`);
    });
    gone.catch(() => undefined);
    for (;;) {
      const match = spec.ready.exec(safeRead(spec.logFile));
      if (match?.[1]) {
        done = true;
        return new BenchChild(spec.name, match[1], child, exited, spec.logFile, profileFile);
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${spec.name} was not ready after ${timeout} ms:\n${tail(spec.logFile)}`);
      }
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 25))]);
    }
  }

  /** The child's own accounting, now; `timePath` sets the path whose requests are timed from then on. */
  sample(timePath?: string, options: { gc?: boolean } = {}): Promise<ProbeSample> {
    if (this.exitCode !== undefined) {
      return Promise.reject(new Error(`${this.name} has exited (${this.exitCode}):\n${tail(this.logFile)}`));
    }
    this.seq += 1;
    const id = this.seq;
    return new Promise<ProbeSample>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name} did not answer the bench probe within 10 s`));
      }, 10_000);
      this.pending.set(id, {
        resolve: (sample) => {
          clearTimeout(timer);
          resolve(sample);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(new Error(`${error.message}:\n${tail(this.logFile)}`));
        },
      });
      this.child.send({
        type: 'carechat-bench',
        id,
        ...(timePath !== undefined ? { timePath } : {}),
        ...(options.gc ? { gc: true } : {}),
      });
    });
  }

  /** `kill -9`: gone at once, nothing flushed (the crash tests' crash); resolves once it has exited. */
  async kill(): Promise<void> {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Close the channel: the probe then sends the child the SIGTERM a user would (once: a second SIGTERM
   * would kill it before it writes its profile). Wait for the exit; SIGKILL after 20 s.
   */
  async stop(): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    if (this.child.connected) this.child.disconnect();
    else this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 15): string {
  return safeRead(file).trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * `carechat bench`: throughput, CPU per chat, latencies, the machine alone, heap per session and the HTTP
 * floor, in one run (README, "Performance"). Progress on stderr; the summary on stdout; `--json` adds
 * one JSON line with every figure, last.
 */

import { type BenchOptions, MAX_CONCURRENCY, runBench } from '../bench/run.ts';
import { noteDefault } from '../config/settings.ts';
import type { CommandHelp } from './help.ts';
import type { CliIo } from './io.ts';

const USAGE = [
  'usage: carechat bench [--quick] [--json] [--profile DIR] [--concurrency N,N,...]',
  '',
  '  --quick            a short run (under a minute): sweep 1,10, fewer sessions; same figures',
  '  --json             print one JSON line with every figure, last',
  '  --profile DIR      write CPU profiles of the emulator and the SA (node --cpu-prof) and the',
  '                     child logs to DIR, and print their top self-time functions',
  `  --concurrency L    the customers-at-once sweep, e.g. 1,10,50,200 (each 1 to ${MAX_CONCURRENCY})`,
].join('\n');

export const help: CommandHelp = {
  usage: USAGE.split('\n')[0]!,
  about: [
    'Measures chats per second, CPU per chat and latencies with the emulator and the SA as child',
    'processes, then the machine alone, heap per session and the HTTP floor. Progress on stderr, the',
    'summary on stdout. The children get the machine basics and LOG_LEVEL from this environment, nothing else.',
  ],
  options: USAGE.split('\n')
    .slice(2)
    .map((line) => line.trim().replace(/\s{2,}/, '  ')),
  readSettings(env) {
    noteDefault(env, 'LOG_LEVEL', 'info');
    void env.LOG_LEVEL;
  },
};

/** Parse the arguments; a string is the one-line complaint about them. */
export function parseBenchArgs(args: string[]): BenchOptions | string {
  const options: BenchOptions = { quick: false, json: false };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const [name, inline] =
      arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string | undefined => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) return undefined;
      i += 1;
      return next;
    };
    switch (name) {
      case '--quick':
      case '--json':
        if (inline !== undefined) return `${name} takes no value`;
        options[name === '--quick' ? 'quick' : 'json'] = true;
        break;
      case '--profile': {
        const dir = value();
        if (!dir) return '--profile needs a folder to write the profiles to';
        options.profileDir = dir;
        break;
      }
      case '--concurrency': {
        const list = value();
        const levels = (list ?? '').split(',').map((part) => part.trim());
        if (
          !list ||
          !levels.every(
            (level) => /^\d+$/.test(level) && Number(level) >= 1 && Number(level) <= MAX_CONCURRENCY,
          )
        ) {
          return `--concurrency needs a comma-separated list of numbers from 1 to ${MAX_CONCURRENCY}, got '${list ?? ''}'`;
        }
        options.concurrency = levels.map(Number);
        break;
      }
      default:
        return `unknown argument '${arg}'`;
    }
  }
  return options;
}

export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(USAGE);
    return 0;
  }
  const options = parseBenchArgs(args);
  if (typeof options === 'string') {
    io.stderr(`carechat bench: ${options} (see carechat bench --help)`);
    return 2;
  }
  return runBench(options, io);
}

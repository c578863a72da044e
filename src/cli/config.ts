/**
 * `carechat config [start|sa]`: the configuration `carechat start` (default) or `carechat sa` would run
 * with: every setting it reads, its value (secrets redacted) and where the value came from (environment,
 * default). Exit 1, with the problems on stderr, when the configuration would not start.
 */
import type { Env } from '../config/settings.ts';
import { type CommandHelp, effectiveSettings } from './help.ts';
import type { CliIo } from './io.ts';
import { help as startHelp } from './start.ts';

const TARGETS = ['start', 'sa'] as const;
type Target = (typeof TARGETS)[number];

async function helpOf(target: Target): Promise<CommandHelp> {
  return target === 'start' ? startHelp : (await import('./sa.ts')).help;
}

export const help: CommandHelp = {
  usage: 'usage: carechat config [start|sa]',
  about: [
    'Prints the effective configuration of `carechat start` (default) or `carechat sa`: every setting',
    'the command reads, its value and where it came from (environment or default). Secrets (tokens,',
    "secrets, passwords, a database URL's password) are shown as [redacted]. Exits 1 with the problems",
    'on stderr when that configuration would not start.',
  ],
  // The settings of `carechat start`, which it describes by default.
  readSettings: (env) => startHelp.readSettings?.(env),
};

export async function run(args: string[], io: CliIo, env: Env = process.env): Promise<number> {
  const [target = 'start', ...rest] = args;
  if (rest.length || !(TARGETS as readonly string[]).includes(target)) {
    io.stderr(`carechat config: expected start or sa, got ${args.join(' ')}\n${help.usage}`);
    return 2;
  }
  const command = await helpOf(target as Target);
  const read = command.readSettings!;
  const settings = effectiveSettings(read, env);
  const width = Math.max(...settings.map((s) => s.name.length));
  const valueWidth = Math.min(48, Math.max(...settings.map((s) => (s.value ?? '').length)));
  io.stdout(`# carechat ${target}: effective configuration (secrets redacted)`);
  for (const s of settings) {
    const value = s.value === undefined ? '' : s.value;
    io.stdout(`${s.name.padEnd(width)}  ${value.padEnd(valueWidth)}  ${s.source}`);
  }
  try {
    read(env);
    return 0;
  } catch (error) {
    io.stderr(`carechat config: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

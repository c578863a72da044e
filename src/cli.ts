/**
 * `carechat <command>`: each command lives in its own module under src/cli/ and is loaded on demand,
 * so `carechat inspect` does not pay for starting servers.
 */
import type { CommandHelp } from './cli/help.ts';
import type { CliIo, CommandMain } from './cli/io.ts';

export type { CliIo, CommandMain } from './cli/io.ts';

type CommandModule = { run: CommandMain; help?: CommandHelp };

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  start: { summary: 'run emulator + SA + web pages in one process', load: () => import('./cli/start.ts') },
  sa: { summary: 'run the SA alone against a configured API', load: () => import('./cli/sa.ts') },
  emulator: { summary: 'run the platform emulator alone', load: () => import('./cli/emulator.ts') },
  replay: { summary: 'replay a captured callback, signed, to an SA', load: () => import('./cli/replay.ts') },
  inspect: { summary: 'print the events of a callback body', load: () => import('./cli/inspect.ts') },
  viz: { summary: 'write the state charts (--check: fail if stale)', load: () => import('./cli/viz.ts') },
  migrate: { summary: "apply the store's schema migrations", load: () => import('./cli/migrate.ts') },
  config: {
    summary: 'print the effective configuration and where each value came from',
    load: () => import('./cli/config.ts'),
  },
  bench: {
    summary: 'measure chats/s, CPU per chat and latencies (emulator + SA as child processes)',
    load: () => import('./cli/bench.ts'),
  },
};

const defaultIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: carechat <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'carechat <command> --help: what it does and every setting it reads, with defaults.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`carechat: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  if (module.help && (rest.includes('--help') || rest.includes('-h'))) {
    const { formatHelp } = await import('./cli/help.ts');
    io.stdout(formatHelp(module.help));
    return 0;
  }
  return module.run(rest, io);
}

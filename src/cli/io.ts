/** Where a `carechat` command writes: every command takes one, so tests can capture what it prints. */
export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/** A command's entry point: its arguments (after the command name) in, its exit code out. */
export type CommandMain = (args: string[], io: CliIo) => Promise<number>;

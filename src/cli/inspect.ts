/**
 * `carechat inspect <file|->`: parse one callback body and print, per wire event in envelope order, one
 * JSON line: `type`, `rel`, `href`, `status`, `reason`, `operationId`, `conversation`, `event`.
 * A heartbeat prints nothing. Bad input: one line on stderr, exit 1. Usage errors: exit 2.
 */
import { readFile } from 'node:fs/promises';
import { describeEnvelopeProblem } from '../callbacks/envelope.ts';
import { toEvents } from '../callbacks/toEvents.ts';
import { CallbackEnvelopeSchema } from '../wire/envelope.ts';
import { JsonTextError, parseJsonText } from '../wire/json.ts';
import type { CliIo } from './io.ts';

const USAGE = 'usage: carechat inspect <file|->   (- reads the callback body from stdin)';

export async function run(
  args: string[],
  io: CliIo,
  readStdin: () => Promise<string> = readProcessStdin,
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(USAGE);
    return 0;
  }
  const unknown = args.find((arg) => arg.startsWith('-') && arg !== '-');
  if (unknown !== undefined) {
    io.stderr(`carechat inspect: unknown option ${unknown}\n${USAGE}`);
    return 2;
  }
  if (args.length !== 1) {
    io.stderr(`carechat inspect: expected one file (or - for stdin), got ${args.length}\n${USAGE}`);
    return 2;
  }
  const source = args[0] as string;
  const label = source === '-' ? 'stdin' : source;

  let text: string;
  try {
    text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
  } catch (error) {
    io.stderr(`carechat inspect: ${readProblem(source, error)}`);
    return 1;
  }
  const lines = inspectText(text);
  if ('error' in lines) {
    io.stderr(`carechat inspect: ${label}: ${lines.error}`);
    return 1;
  }
  for (const line of lines.lines) io.stdout(line);
  return 0;
}

/** The lines `inspect` prints for a callback body, or the one-line reason it cannot. */
export function inspectText(text: string): { lines: string[] } | { error: string } {
  let body: unknown;
  try {
    body = parseJsonText(text);
  } catch (error) {
    return { error: oneLine(error instanceof JsonTextError ? error.message : String(error)) };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { error: 'not a callback envelope: expected a JSON object with _links, sender and baseuri' };
  }
  const parsed = CallbackEnvelopeSchema.safeParse(body);
  if (!parsed.success) {
    return { error: oneLine(`not a callback envelope: ${describeEnvelopeProblem(parsed.error, body)}`) };
  }
  const lines = toEvents(parsed.data).map(({ wire, event }) =>
    JSON.stringify({
      type: wire.type,
      rel: wire.rel,
      href: wire.href,
      status: wire.status,
      reason: wire.reason,
      operationId: wire.operationId,
      conversation: wire.conversation,
      event: event?.type ?? null,
    }),
  );
  return { lines };
}

function readProblem(source: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (source === '-') return `cannot read stdin (${code ?? oneLine(String(error))})`;
  switch (code) {
    case 'ENOENT':
      return `file not found: ${source}`;
    case 'EISDIR':
      return `${source} is a directory, expected a file`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${source}`;
    default:
      return `cannot read ${source} (${code ?? oneLine(error instanceof Error ? error.message : String(error))})`;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

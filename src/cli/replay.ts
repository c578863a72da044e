import { readFile } from 'node:fs/promises';
import { JsonTextError, parseJsonText, stripBom } from '../wire/json.ts';
import type { CliIo } from './io.ts';

const USAGE = 'usage: carechat replay <file> --to <url> [--emulator <url>] [--application <id>]';

/** The capture tool wrote `&` inside hrefs as a literal `\\u0026`; put the `&` back. */
export function cleanCapture(text: string): string {
  return stripBom(text).replaceAll('\\\\u0026', '&');
}

/**
 * `carechat replay`: read a captured callback body, have the emulator sign it exactly as it signs its own
 * callbacks (`POST /control/callbacks`), deliver it to the SA and print the SA's answer.
 */
export async function run(args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(USAGE);
    return 0;
  }
  let file: string | undefined;
  let to: string | undefined;
  let emulator = 'http://127.0.0.1:3001';
  let applicationId: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    const next = () => {
      const value = args[i + 1];
      i += 1;
      return value;
    };
    if (arg === '--to') to = next();
    else if (arg === '--emulator') emulator = next() ?? '';
    else if (arg === '--application') applicationId = next();
    else if (arg.startsWith('--')) return fail(io, `unknown option '${arg}'`);
    else if (file === undefined) file = arg;
    else return fail(io, `only one file can be replayed at a time (got '${file}' and '${arg}')`);
  }
  if (!file) return fail(io, 'the file to replay is missing');
  if (!to || !URL.canParse(to) || !/^https?:$/.test(new URL(to).protocol)) {
    return fail(io, `--to needs the SA's absolute http(s) callback URL, got '${to ?? ''}'`);
  }
  if (!URL.canParse(emulator)) return fail(io, `--emulator needs an absolute URL, got '${emulator}'`);

  let text: string;
  try {
    text = cleanCapture(await readFile(file, 'utf8'));
  } catch (error) {
    io.stderr(
      `carechat replay: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
    return 2;
  }
  try {
    parseJsonText(text);
  } catch (error) {
    io.stderr(`carechat replay: ${file}: ${error instanceof JsonTextError ? error.message : String(error)}`);
    return 2;
  }

  let response: Response;
  try {
    response = await fetch(new URL('/control/callbacks', emulator), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ to, body: text, ...(applicationId ? { applicationId } : {}) }),
    });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    io.stderr(
      `carechat replay: cannot reach the emulator at ${emulator} (${cause}); start it with 'carechat emulator'`,
    );
    return 1;
  }
  const answer = await response.text();
  if (!response.ok) {
    let message = answer;
    try {
      message = (JSON.parse(answer) as { message?: string }).message ?? answer;
    } catch {
      // keep the raw text
    }
    io.stderr(`carechat replay: the emulator refused (${response.status}): ${message}`);
    return 1;
  }
  const result = JSON.parse(answer) as { status: number; body: string };
  io.stdout(`SA answered ${result.status}${result.body ? `: ${result.body}` : ''}`);
  return result.status >= 200 && result.status < 300 ? 0 : 1;
}

function fail(io: CliIo, message: string): number {
  io.stderr(`carechat replay: ${message}\n${USAGE}`);
  return 2;
}

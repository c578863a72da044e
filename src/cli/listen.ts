/** A server that could not listen, said in terms of the setting to change. */

/**
 * Turns EADDRINUSE / EACCES from a listen into an Error naming the setting whose port it was (`ports`:
 * setting name → port asked for). Any other error is returned as it is.
 */
export function describeListenError(error: unknown, ports: Record<string, number>): unknown {
  const code = (error as { code?: string } | null)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return error;
  const port = (error as { port?: number }).port;
  const address = (error as { address?: string }).address;
  const names = Object.entries(ports)
    .filter(([, asked]) => asked === port)
    .map(([name]) => name);
  const setting = names.length ? names.join(' or ') : Object.keys(ports).join(' or ');
  const where = `${address ?? ''}${port !== undefined ? `:${port}` : ''}`;
  const problem = code === 'EADDRINUSE' ? 'is already in use' : 'may not be used by this user';
  return new Error(
    `port ${where} ${problem}: set ${setting} to a free port (0 picks one), or stop what listens there`,
    { cause: error },
  );
}

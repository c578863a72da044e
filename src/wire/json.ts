/** Parse JSON text as the platform and the captures write it: a UTF-8 byte-order mark must not trip us. */
export class JsonTextError extends Error {
  override name = 'JsonTextError';
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseJsonText(text: string): unknown {
  const body = stripBom(text).trim();
  if (body === '') throw new JsonTextError('body is empty, expected JSON');
  try {
    return JSON.parse(body);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new JsonTextError(`body is not valid JSON (${detail})`);
  }
}

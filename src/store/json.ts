/**
 * Values on their way into PostgreSQL text and JSONB, which refuse U+0000 and lone surrogates (a customer
 * can type the first; a malformed callback can carry the second). Both become U+FFFD, so a chat is never
 * lost because one message could not be stored.
 */
import { StoreInputError } from './errors.ts';

/** A string PostgreSQL text can hold. */
export function storableText(value: string): string {
  return value.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// JSON.stringify escapes U+0000 as \u0000 and a lone surrogate as \udXXX (paired ones stay literal);
// jsonb refuses both. An odd run of backslashes before `u` means the escape is real, not an escaped `\`.
const BAD_ESCAPE = /(\\+)u(0000|d[89a-f][0-9a-f]{2})/gi;

/** Texts made by {@link jsonTextOnce}, by the object they were made of. */
const made = new WeakMap<object, string>();

/**
 * `jsonText(value)`, remembered for this object: when the store serialises the same object later (a
 * session's snapshot the caller digested first), it is not serialised again. The object must not change
 * afterwards.
 */
export function jsonTextOnce(value: object, what: string): string {
  let text = made.get(value);
  if (text === undefined) {
    text = jsonText(value, what);
    made.set(value, text);
  }
  return text;
}

/** JSON text of `value` that jsonb accepts. Throws StoreInputError for what JSON cannot represent. */
export function jsonText(value: unknown, what: string): string {
  const known = typeof value === 'object' && value !== null ? made.get(value) : undefined;
  if (known !== undefined) return known;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new StoreInputError(
      `${what} is not JSON-serialisable: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (text === undefined) throw new StoreInputError(`${what} is not JSON-serialisable: got ${typeof value}`);
  return text.replace(BAD_ESCAPE, (match, slashes: string) =>
    slashes.length % 2 === 1 ? `${slashes}ufffd` : match,
  );
}

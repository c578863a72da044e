import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The captured payloads live outside the repository (../shared/fixtures/captured from the repo root)
 * and must never be copied in. Tests that need them skip, with this message, when the folder is absent.
 */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../shared/fixtures/captured/', import.meta.url));
export const FIXTURES_PRESENT = existsSync(FIXTURES_DIR);
export const FIXTURES_SKIP_MESSAGE = `captured fixtures not found at ${'../shared/fixtures/captured'} (relative to the repository root): conformance tests skipped`;

/** Files deliberately not valid JSON, or placeholders that are no envelope at all. */
export const NEGATIVE_FIXTURES = new Set([
  'AdhocMeeting_Malformed.json',
  'AnonApplicationToken_Malformed.json',
  'AnonApplicationToken_MalformedDiscoverUri.json',
  'Event_AudioInvitationStarted.json',
]);

export function fixtureNames(prefix = ''): string[] {
  if (!FIXTURES_PRESENT) return [];
  return readdirSync(FIXTURES_DIR)
    .filter((name) => name.endsWith('.json') && name.startsWith(prefix))
    .sort();
}

/** Raw text, byte-order mark and all, exactly as captured. */
export function fixtureText(name: string): string {
  return readFileSync(FIXTURES_DIR + name, 'utf8');
}

if (!FIXTURES_PRESENT) console.warn(FIXTURES_SKIP_MESSAGE);

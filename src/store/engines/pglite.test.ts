/**
 * Parameters written into a statement as literals (the embedded engine's fast path): quoted so that no
 * value can end its literal, placed only where a parameter stands (never inside quotes or comments), and
 * refused for values the literal form cannot carry.
 */
import { describe, expect, it } from 'vitest';
import { inlineParams } from './pglite.ts';

describe('inlineParams', () => {
  it('writes each $n as a quoted literal, quotes doubled, NULL for null and undefined', () => {
    expect(
      inlineParams('UPDATE t SET a = $1, b = $2::jsonb, c = $3 WHERE id = $10', [
        "it's",
        '{"x":"\\\\"}',
        null,
        4,
        5,
        6,
        7,
        8,
        9,
        undefined,
      ]),
    ).toBe(`UPDATE t SET a = 'it''s', b = '{"x":"\\\\"}'::jsonb, c = NULL WHERE id = NULL`);
    expect(inlineParams('SELECT $1, $2', [12.5, 7n])).toBe("SELECT '12.5', '7'");
  });

  it('leaves $n alone inside strings, quoted identifiers, comments and dollar quotes', () => {
    const text = `SELECT '$1', E'\\'$1', "$1", $$ $1 $$, $tag$ $1 $tag$ -- $1
      /* $1 */ FROM t WHERE a = $1`;
    expect(inlineParams(text, ['v'])).toBe(text.replace(/\$1$/, "'v'"));
  });

  it('writes an array of strings as an array literal', () => {
    expect(inlineParams('SELECT 1 WHERE id = ANY($1::text[])', [['a', 'b"c', "d'e", 'f\\g']])).toBe(
      `SELECT 1 WHERE id = ANY('{"a","b\\"c","d''e","f\\\\g"}'::text[])`,
    );
  });

  it('refuses what a literal cannot carry, and parameters the statement does not have', () => {
    expect(inlineParams('SELECT $1', ['a\u0000b'])).toBeUndefined();
    expect(inlineParams('SELECT $1', [true])).toBeUndefined();
    expect(inlineParams('SELECT $1', [{ a: 1 }])).toBeUndefined();
    expect(inlineParams('SELECT $1', [Number.NaN])).toBeUndefined();
    expect(inlineParams('SELECT $2', ['a'])).toBeUndefined();
  });
});

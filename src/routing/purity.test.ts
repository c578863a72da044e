import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIR = new URL('./', import.meta.url);
const SOURCES = readdirSync(DIR).filter(
  (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'testSupport.ts',
);

describe('the routing core stays pure', () => {
  it('has source files to check', () => {
    expect(SOURCES).toEqual(
      expect.arrayContaining(['pool.ts', 'select.ts', 'queue.ts', 'hours.ts', 'index.ts']),
    );
  });

  it.each(SOURCES)('%s reads no clock, no randomness and imports only routing siblings', (file) => {
    const text = readFileSync(new URL(file, DIR), 'utf8');
    expect(text).not.toMatch(/Date\.now|Math\.random|new Date\(\)|performance\.now|process\./);
    const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    for (const source of imports) expect(source, `${file} imports ${source}`).toMatch(/^\.\/[a-zA-Z]+\.ts$/);
  });
});

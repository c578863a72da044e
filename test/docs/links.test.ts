/**
 * The documentation holds together: every relative link in README.md and docs/*.md points at a file of the
 * repository and, with a `#fragment`, at a heading of that page (GitHub's anchor rules); every docs page is
 * linked from the README; and the README stays a front door (under 25,000 bytes, no line over 300
 * characters, the two quick-start commands verbatim).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = join(ROOT, 'README.md');
const DOCS = join(ROOT, 'docs');
const PAGES = [
  README,
  ...readdirSync(DOCS)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join(DOCS, name)),
];

/** The text with fenced code blocks and inline code spans blanked, so links shown as code do not count. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Relative link targets: `[text](target)` and `![alt](target)`, without URLs (`https:`, `mailto:`, …). */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of withoutCode(markdown).matchAll(
    /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
  )) {
    const target = match[1]!;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) targets.push(target);
  }
  return targets;
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as `-`, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of text.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const slug = match[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/**
 * One line per broken link of `file`: a missing file, or a fragment naming no heading of its page (paths shown
 * relative to `root`).
 */
function brokenLinks(
  root: string,
  file: string,
  markdown: string,
  read: (path: string) => string | undefined,
): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    const hash = target.indexOf('#');
    const path = hash === -1 ? target : target.slice(0, hash);
    const fragment = hash === -1 ? '' : decodeURIComponent(target.slice(hash + 1));
    const targetFile = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    const content = read(targetFile);
    if (content === undefined) {
      problems.push(`${target}: no file ${relative(root, targetFile)}`);
    } else if (fragment && targetFile.endsWith('.md') && !headingAnchors(content).has(fragment)) {
      problems.push(`${target}: no heading #${fragment} in ${relative(root, targetFile)}`);
    }
  }
  return problems;
}

function readRepoFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  return path.endsWith('.md') ? readFileSync(path, 'utf8') : '';
}

describe('the link checker', () => {
  const pages: Record<string, string> = {
    '/repo/README.md': '# Title\n\n## Quick start\n\n## Quick start\n',
    '/repo/docs/a.md': '# Page A\n\n## The `carechat replay` command (short)\n',
  };
  const read = (path: string) => pages[path];

  it('accepts links to existing files and headings, including repeated and code-named headings', () => {
    const text =
      '[a](docs/a.md) [b](docs/a.md#page-a) [c](docs/a.md#the-carechat-replay-command-short) ' +
      '[d](#quick-start-1) ![e](README.md) [f](https://example.com/x.md) [g](mailto:x@example.com)';
    expect(brokenLinks('/repo', '/repo/README.md', text, read)).toEqual([]);
  });

  it('reports a missing file and a missing heading, and ignores links shown as code', () => {
    const text = '[a](docs/missing.md) [b](docs/a.md#nowhere) [c](#quick-start-2) `[d](docs/gone.md)`';
    expect(brokenLinks('/repo', '/repo/README.md', text, read)).toEqual([
      'docs/missing.md: no file docs/missing.md',
      'docs/a.md#nowhere: no heading #nowhere in docs/a.md',
      '#quick-start-2: no heading #quick-start-2 in README.md',
    ]);
  });
});

describe('the documentation', () => {
  it.each(PAGES.map((page) => [relative(ROOT, page), page]))(
    '%s: every relative link resolves',
    (_name, page) => {
      expect(brokenLinks(ROOT, page, readFileSync(page, 'utf8'), readRepoFile)).toEqual([]);
    },
  );

  it('links every docs page from the README', () => {
    const linked = new Set(
      linkTargets(readFileSync(README, 'utf8')).map((t) => resolve(ROOT, t.split('#')[0]!)),
    );
    const unlinked = PAGES.filter((page) => page !== README && !linked.has(page)).map((p) =>
      relative(ROOT, p),
    );
    expect(unlinked).toEqual([]);
  });

  it('keeps the README a front door with the two quick-start commands', () => {
    const text = readFileSync(README, 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(25_000);
    const long = text
      .split('\n')
      .flatMap((line, i) => (line.length > 300 ? [`line ${i + 1}: ${line.length}`] : []));
    expect(long).toEqual([]);
    expect(text).toContain('npm install && npm start');
    expect(text).toContain('npm install && npm test');
  });
});

/**
 * The browser scripts that show other people's text (widget, launcher, console, desk) never parse markup:
 * text goes in with textContent only. A grep, so that a change cannot slip one in unnoticed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { consoleCsp, consolePageHtml } from './console/page.ts';

const SRC = fileURLToPath(new URL('../', import.meta.url));
/** Every browser script under src/web (widget, launcher, console and their modules) and the desk's. */
const SCRIPTS = [
  ...readdirSync(new URL('./', import.meta.url), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.js'))
    .map((name) => `web/${name}`),
  'emulator/desk/desk.js',
].sort();

describe('browser scripts', () => {
  it('finds the scripts: widget, launcher, console and desk', () => {
    expect(SCRIPTS).toEqual(
      expect.arrayContaining([
        'web/customer/widget.js',
        'web/customer/launcher.js',
        'web/console/console.js',
        'emulator/desk/desk.js',
      ]),
    );
  });

  it.each(SCRIPTS)('src/%s builds the DOM without parsing markup', (path) => {
    const source = readFileSync(`${SRC}${path}`, 'utf8');
    expect(source).not.toMatch(
      /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|\beval\(/,
    );
  });

  it('the console page loads only its own script and stylesheet, under a policy that allows nothing else', () => {
    const html = consolePageHtml();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>|<style>| style="/);
    expect(consoleCsp()).toContain("default-src 'none'");
    expect(consoleCsp()).toContain("script-src 'self'");
    expect(consoleCsp()).toContain("frame-ancestors 'none'");
  });
});

/**
 * The browser scripts that show other people's text (widget, launcher, console, desk) never parse markup:
 * text goes in with textContent only. A grep, so that a change cannot slip one in unnoticed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { consoleCsp, consolePageHtml } from '../../src/web/console/page.ts';

const SCRIPTS = [
  '../../src/web/customer/widget.js',
  '../../src/web/customer/survey.js',
  '../../src/web/console/survey.js',
  '../../src/web/console/webhooks.js',
  '../../src/web/customer/launcher.js',
  '../../src/web/console/console.js',
  '../../src/emulator/desk/desk.js',
];

describe('browser scripts', () => {
  it.each(SCRIPTS)('%s builds the DOM without parsing markup', (path) => {
    const source = readFileSync(new URL(path, import.meta.url), 'utf8');
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

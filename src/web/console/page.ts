/**
 * The operator console's page shell: one HTML document for every console URL; the script (console.js,
 * a plain browser module, no build step) renders the view for the signed-in user's role. Nothing external
 * is loaded, and the Content-Security-Policy allows only this server's own script, stylesheet, images and
 * connections: customer-provided text is only ever set as text.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export type ConsoleAssetName = 'console.js' | 'console.css';

/** The console's modules, beside its entry in ui/: the only names GET /console/ui/:module serves. */
const MODULES = new Set(
  readdirSync(new URL('./ui/', import.meta.url)).filter((name) => name.endsWith('.js')),
);

const TYPES: Record<string, string> = {
  js: 'application/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

const assets = new Map<string, { text: string; etag: string; type: string }>();

function read(path: string): { text: string; etag: string; type: string } {
  let asset = assets.get(path);
  if (!asset) {
    const text = readFileSync(new URL(`./${path}`, import.meta.url), 'utf8');
    asset = {
      text,
      etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`,
      type: TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
    };
    assets.set(path, asset);
  }
  return asset;
}

/** A static file of the console, read once from next to this module. */
export function consoleAsset(name: ConsoleAssetName): { text: string; etag: string; type: string } {
  return read(name);
}

/** One of the modules console.js imports (ui/<name>), read once; undefined for any other name. */
export function consoleModule(name: string): { text: string; etag: string; type: string } | undefined {
  return MODULES.has(name) ? read(`ui/${name}`) : undefined;
}

export function consoleCsp(): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function consolePageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<link rel="icon" href="data:,">
<title>carechat console</title>
<link rel="stylesheet" href="/console/console.css">
<script type="module" src="/console/console.js"></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/console">carechat <span>console</span></a>
  <span class="who" data-testid="user"></span>
  <button type="button" class="ghost" data-testid="sign-out" hidden>Sign out</button>
</header>
<main id="app" class="app" data-testid="console" aria-live="polite">
  <p class="muted">Loading…</p>
</main>
<dialog class="confirm" data-testid="confirm" aria-labelledby="confirm-text">
  <p id="confirm-text" data-testid="confirm-text"></p>
  <div class="buttons">
    <button type="button" value="no" class="ghost" data-testid="confirm-no">Cancel</button>
    <button type="button" value="yes" class="primary" data-testid="confirm-yes">Confirm</button>
  </div>
</dialog>
<noscript><p>The console needs JavaScript.</p></noscript>
</body>
</html>
`;
}

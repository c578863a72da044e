/**
 * Sanitising HTML that customers (or anyone on the platform) send, before the SA stores it in a transcript
 * or shows it anywhere. No regular-expression filtering: a small tokenizer that follows the HTML tokenizer's
 * rules (tags, attributes with any quoting, comments, raw-text elements, character references) feeds a
 * builder that re-creates markup from scratch.
 *
 * Why this cannot be talked into emitting script: the output is never a filtered copy of the input. Every
 * tag in it is written here, from a fixed allowlist (b, i, em, strong, u, p, br, ul, ol, li, a), with no
 * attributes except an `a`'s href, which must parse as an absolute http, https or mailto URL after the same
 * character-reference decoding and control-character stripping a browser does; every other character of the
 * input ends up as entity-escaped text. A misparse can therefore only lose or show text, never run it.
 *
 * Dropped with their content: script, style, iframe, object, svg, math, template and the like (raw-text
 * elements are skipped up to their end tag exactly as a browser would). Dropped but content kept: any other
 * element (div, span, font, img, …). Comments, doctypes, processing instructions and CDATA are dropped.
 */

export interface SanitizedHtml {
  /** Safe markup: allowlisted tags only, text entity-escaped. */
  html: string;
  /** A plain-text rendition (line breaks for br/p/li, links as `text (url)`); never markup. */
  text: string;
}

const ALLOWED = new Set(['b', 'i', 'em', 'strong', 'u', 'p', 'br', 'ul', 'ol', 'li', 'a']);
const VOID = new Set(['br']);
/** Elements whose content is raw text up to `</name`; all of them are dropped with their content. */
const RAW_TEXT = new Set([
  'script',
  'style',
  'xmp',
  'iframe',
  'noembed',
  'noframes',
  'noscript',
  'textarea',
  'title',
  'plaintext',
]);
/** Elements dropped together with everything inside them (markup content, skipped to the matching end). */
const DROP_WITH_CONTENT = new Set([
  'svg',
  'math',
  'object',
  'applet',
  'template',
  'select',
  'head',
  'frameset',
  'audio',
  'video',
  'canvas',
]);
/** Elements not kept whose start and end still separate lines of text. */
const BLOCKISH = new Set([
  'div',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'pre',
  'hr',
  'table',
  'tr',
  'section',
  'article',
  'header',
  'footer',
  'aside',
  'nav',
  'main',
  'address',
  'figure',
  'figcaption',
  'dl',
  'dt',
  'dd',
  'center',
]);
const MAX_DEPTH = 64;
const MAX_HREF_LENGTH = 2048;
const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/** Escape text for HTML content and (double- or single-quoted) attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function sanitizeHtml(input: string): SanitizedHtml {
  const builder = new Builder();
  for (const token of tokenize(String(input ?? ''))) builder.add(token);
  return builder.finish();
}

/**
 * An `href` a sanitised link may carry: absolute http(s) or mailto, after removing what browsers ignore
 * (ASCII control characters anywhere, surrounding whitespace). Undefined when not acceptable.
 */
export function safeHref(value: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  if (!cleaned || cleaned.length > MAX_HREF_LENGTH) return undefined;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(cleaned)) return undefined;
  if (!URL.canParse(cleaned)) return undefined;
  const url = new URL(cleaned);
  if (!SAFE_SCHEMES.has(url.protocol)) return undefined;
  if (url.protocol !== 'mailto:' && !url.hostname) return undefined;
  return url.href;
}

// ---------------------------------------------------------------------------------------------------------
// Tokenizer

type Token =
  | { type: 'text'; value: string }
  | { type: 'start'; name: string; attrs: Map<string, string> }
  | { type: 'end'; name: string };

const WS = new Set(['\t', '\n', '\f', '\r', ' ']);
const isAsciiLetter = (ch: string | undefined) => !!ch && /^[A-Za-z]$/.test(ch);

function* tokenize(raw: string): Generator<Token> {
  const s = raw.replaceAll('\0', '');
  const n = s.length;
  let i = 0;
  while (i < n) {
    const lt = s.indexOf('<', i);
    if (lt === -1) {
      yield { type: 'text', value: decodeEntities(s.slice(i), false) };
      return;
    }
    if (lt > i) yield { type: 'text', value: decodeEntities(s.slice(i, lt), false) };
    i = lt;
    const next = s[i + 1];
    if (next === '!') {
      i = skipMarkupDeclaration(s, i);
      continue;
    }
    if (next === '?') {
      i = skipTo(s, '>', i + 2);
      continue;
    }
    if (next === '/') {
      const after = s[i + 2];
      if (isAsciiLetter(after)) {
        const tag = readTag(s, i + 2);
        if (!tag) return; // end of input inside a tag: nothing is emitted
        i = tag.end;
        yield { type: 'end', name: tag.name };
      } else if (after === '>') {
        i += 3; // `</>` is ignored
      } else {
        i = skipTo(s, '>', i + 2); // `</ …>` is a bogus comment
      }
      continue;
    }
    if (isAsciiLetter(next)) {
      const tag = readTag(s, i + 1);
      if (!tag) return;
      i = tag.end;
      yield { type: 'start', name: tag.name, attrs: tag.attrs };
      if (RAW_TEXT.has(tag.name)) {
        // Raw text: nothing inside is markup; skip to `</name` followed by whitespace, `/` or `>`.
        if (tag.name === 'plaintext') return;
        const close = findRawTextEnd(s, tag.name, i);
        if (close === -1) return;
        i = close;
      }
      continue;
    }
    yield { type: 'text', value: '<' };
    i += 1;
  }
}

/** Index just past the first `>` at or after `from`, or the end of input. */
function skipTo(s: string, ch: string, from: number): number {
  const at = s.indexOf(ch, from);
  return at === -1 ? s.length : at + 1;
}

/** `<!-- … -->` (and its abrupt forms), `<!DOCTYPE …>`, `<![CDATA[ … ]]>`, any other `<! … >`. */
function skipMarkupDeclaration(s: string, i: number): number {
  if (s.startsWith('<!--', i)) {
    const body = i + 4;
    if (s.startsWith('>', body)) return body + 1;
    if (s.startsWith('->', body)) return body + 2;
    // Ends at the first `-->` or `--!>`.
    for (let at = s.indexOf('--', body); at !== -1; at = s.indexOf('--', at + 1)) {
      if (s[at + 2] === '>') return at + 3;
      if (s[at + 2] === '!' && s[at + 3] === '>') return at + 4;
    }
    return s.length;
  }
  return skipTo(s, '>', i + 2);
}

/** Where the raw text of `name` ends: the next `</name` (any case) followed by whitespace, `/` or `>`. */
function findRawTextEnd(s: string, name: string, from: number): number {
  let at = from;
  for (;;) {
    const found = s.indexOf('</', at);
    if (found === -1) return -1;
    const after = s[found + 2 + name.length];
    if (
      s.slice(found + 2, found + 2 + name.length).toLowerCase() === name &&
      (after === undefined || after === '>' || after === '/' || WS.has(after))
    ) {
      return found;
    }
    at = found + 2;
  }
}

/**
 * A tag from its name (at `start`) to just past its `>`: lower-cased name and attributes (first
 * occurrence wins, values with character references decoded). Undefined when the input ends inside it.
 */
function readTag(
  s: string,
  start: number,
): { name: string; attrs: Map<string, string>; end: number } | undefined {
  const n = s.length;
  let i = start;
  while (i < n && !WS.has(s[i]!) && s[i] !== '/' && s[i] !== '>') i++;
  const name = s.slice(start, i).toLowerCase();
  const attrs = new Map<string, string>();
  for (;;) {
    while (i < n && (WS.has(s[i]!) || s[i] === '/')) i++;
    if (i >= n) return undefined;
    if (s[i] === '>') return { name, attrs, end: i + 1 };
    const nameStart = i;
    i++; // the first character may be anything, even `=`
    while (i < n && !WS.has(s[i]!) && s[i] !== '/' && s[i] !== '>' && s[i] !== '=') i++;
    const attrName = s.slice(nameStart, i).toLowerCase();
    while (i < n && WS.has(s[i]!)) i++;
    let value = '';
    if (s[i] === '=') {
      i++;
      while (i < n && WS.has(s[i]!)) i++;
      const quote = s[i];
      if (quote === '"' || quote === "'") {
        const close = s.indexOf(quote, i + 1);
        if (close === -1) return undefined;
        value = s.slice(i + 1, close);
        i = close + 1;
      } else {
        const valueStart = i;
        while (i < n && !WS.has(s[i]!) && s[i] !== '>') i++;
        value = s.slice(valueStart, i);
      }
    }
    if (!attrs.has(attrName)) attrs.set(attrName, decodeEntities(value, true));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Character references

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  colon: ':',
  semi: ';',
  comma: ',',
  period: '.',
  excl: '!',
  quest: '?',
  num: '#',
  dollar: '$',
  percnt: '%',
  ast: '*',
  plus: '+',
  equals: '=',
  commat: '@',
  sol: '/',
  bsol: '\\',
  lpar: '(',
  rpar: ')',
  lsqb: '[',
  rsqb: ']',
  lcub: '{',
  rcub: '}',
  lowbar: '_',
  grave: '`',
  Hat: '^',
  verbar: '|',
  vert: '|',
  Tab: '\t',
  NewLine: '\n',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  sbquo: '‚',
  ldquo: '“',
  rdquo: '”',
  bdquo: '„',
  laquo: '«',
  raquo: '»',
  bull: '•',
  middot: '·',
  euro: '€',
  pound: '£',
  yen: '¥',
  cent: '¢',
  sect: '§',
  para: '¶',
  deg: '°',
  plusmn: '±',
  times: '×',
  divide: '÷',
  frac12: '½',
  frac14: '¼',
  frac34: '¾',
  iexcl: '¡',
  iquest: '¿',
  shy: '\u00ad',
  zwj: '\u200d',
  zwnj: '\u200c',
  agrave: 'à',
  aacute: 'á',
  acirc: 'â',
  atilde: 'ã',
  auml: 'ä',
  aring: 'å',
  aelig: 'æ',
  ccedil: 'ç',
  egrave: 'è',
  eacute: 'é',
  ecirc: 'ê',
  euml: 'ë',
  igrave: 'ì',
  iacute: 'í',
  icirc: 'î',
  iuml: 'ï',
  ntilde: 'ñ',
  ograve: 'ò',
  oacute: 'ó',
  ocirc: 'ô',
  otilde: 'õ',
  ouml: 'ö',
  oslash: 'ø',
  ugrave: 'ù',
  uacute: 'ú',
  ucirc: 'û',
  uuml: 'ü',
  yacute: 'ý',
  yuml: 'ÿ',
  szlig: 'ß',
  Agrave: 'À',
  Aacute: 'Á',
  Acirc: 'Â',
  Auml: 'Ä',
  Aring: 'Å',
  Ccedil: 'Ç',
  Egrave: 'È',
  Eacute: 'É',
  Ntilde: 'Ñ',
  Ouml: 'Ö',
  Oslash: 'Ø',
  Uuml: 'Ü',
  AMP: '&',
  LT: '<',
  GT: '>',
  QUOT: '"',
};
/** References browsers also honour without the closing semicolon. */
const LEGACY = new Set(['amp', 'lt', 'gt', 'quot', 'nbsp', 'copy', 'reg', 'AMP', 'LT', 'GT', 'QUOT']);
/** Numeric references 0x80–0x9F mean windows-1252 characters (HTML spec). */
const C1: Record<number, number> = {
  128: 0x20ac,
  130: 0x201a,
  131: 0x0192,
  132: 0x201e,
  133: 0x2026,
  134: 0x2020,
  135: 0x2021,
  136: 0x02c6,
  137: 0x2030,
  138: 0x0160,
  139: 0x2039,
  140: 0x0152,
  142: 0x017d,
  145: 0x2018,
  146: 0x2019,
  147: 0x201c,
  148: 0x201d,
  149: 0x2022,
  150: 0x2013,
  151: 0x2014,
  152: 0x02dc,
  153: 0x2122,
  154: 0x0161,
  155: 0x203a,
  156: 0x0153,
  158: 0x017e,
  159: 0x0178,
};

/** Decode character references the way a browser would (the common named ones, all numeric ones). */
export function decodeEntities(text: string, inAttribute: boolean): string {
  if (!text.includes('&')) return text;
  return text.replace(
    /&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|([A-Za-z][A-Za-z0-9]*))(;?)/g,
    (
      whole,
      hex: string | undefined,
      dec: string | undefined,
      name: string | undefined,
      semi: string,
      offset: number,
    ) => {
      if (hex !== undefined || dec !== undefined) {
        const code = hex !== undefined ? Number.parseInt(hex.slice(0, 8), 16) : Number(dec!.slice(0, 10));
        return fromCodePoint(hex !== undefined && hex.length > 8 ? 0x110000 : code);
      }
      const value = NAMED[name!];
      if (value === undefined) return whole;
      if (semi) return value;
      if (!LEGACY.has(name!)) return whole;
      // In attribute values a legacy reference followed by `=` or an alphanumeric stays as written.
      const after = text[offset + whole.length];
      if (inAttribute && after !== undefined && /[=A-Za-z0-9]/.test(after)) return whole;
      return value;
    },
  );
}

function fromCodePoint(code: number): string {
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(C1[code] ?? code);
}

// ---------------------------------------------------------------------------------------------------------
// Builder: re-creates markup from tokens, allowlisted elements only

interface OpenElement {
  name: string;
  /** For `a`: the href and where its text started in the plain rendition. */
  href?: string;
  textStart?: number;
  /** For `ol`: the next item number. */
  counter?: number;
}

class Builder {
  private readonly html: string[] = [];
  private text = '';
  private readonly open: OpenElement[] = [];
  /** While skipping an element dropped with its content: its name and nesting depth. */
  private skipping: { name: string; depth: number } | undefined;
  /** True when the html written so far ends at a line boundary (nothing since the last block or br). */
  private atLineStart = true;
  /** A dropped block element ended: the next inline content starts on a new line. */
  private pendingBreak = false;

  add(token: Token): void {
    if (this.skipping) {
      if (token.type === 'start' && token.name === this.skipping.name) this.skipping.depth++;
      if (token.type === 'end' && token.name === this.skipping.name && --this.skipping.depth === 0) {
        this.skipping = undefined;
      }
      return;
    }
    if (token.type === 'text') this.addText(token.value);
    else if (token.type === 'start') this.start(token.name, token.attrs);
    else this.end(token.name);
  }

  finish(): SanitizedHtml {
    while (this.open.length) this.close();
    const text = this.text
      .split('\n')
      .map((line) => line.replace(/[ \t]+/g, ' ').trim())
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim();
    return { html: this.html.join(''), text };
  }

  private addText(value: string): void {
    if (!value) return;
    const visible = /[^\t\n\f\r ]/.test(value);
    if (visible) this.flushBreak();
    this.html.push(escapeHtml(value));
    if (visible) this.atLineStart = false;
    this.text += value.replace(/[\t\n\f\r ]+/g, ' ');
  }

  private start(name: string, attrs: Map<string, string>): void {
    if (RAW_TEXT.has(name)) return; // its content was skipped by the tokenizer
    if (DROP_WITH_CONTENT.has(name)) {
      this.skipping = { name, depth: 1 };
      return;
    }
    if (!ALLOWED.has(name)) {
      if (BLOCKISH.has(name)) this.softBreak();
      return;
    }
    if (name === 'p' || name === 'ul' || name === 'ol' || name === 'li') this.pendingBreak = false;
    else this.flushBreak();
    if (name === 'br') {
      this.html.push('<br>');
      this.atLineStart = true;
      this.text += '\n';
      return;
    }
    if (name === 'p' || name === 'ul' || name === 'ol') this.closeIfOpen('p');
    if (name === 'li') this.closeOpenItem();
    if (name === 'a') {
      this.closeIfOpen('a');
      const href = safeHref(attrs.get('href') ?? '');
      if (!href) return; // kept as text only
      if (this.open.length >= MAX_DEPTH) return;
      this.open.push({ name, href, textStart: this.text.length });
      this.html.push(`<a href="${escapeHtml(href)}" rel="noopener noreferrer" target="_blank">`);
      return;
    }
    if (this.open.length >= MAX_DEPTH) return;
    const element: OpenElement = { name };
    if (name === 'ol') element.counter = 1;
    this.open.push(element);
    this.html.push(`<${name}>`);
    if (name === 'p') this.paragraphBreak();
    if (name === 'ul' || name === 'ol') this.lineBreak();
    if (name === 'li') {
      this.lineBreak();
      const list = this.open.findLast((e) => e.name === 'ul' || e.name === 'ol');
      this.text += list?.counter !== undefined ? `${list.counter++}. ` : '- ';
    }
    if (name === 'p' || name === 'ul' || name === 'ol' || name === 'li') this.atLineStart = true;
  }

  private end(name: string): void {
    if (!ALLOWED.has(name) || VOID.has(name)) {
      if (BLOCKISH.has(name)) this.softBreak();
      return;
    }
    if (!this.open.some((e) => e.name === name)) return;
    while (this.open.length) {
      if (this.close() === name) break;
    }
  }

  /** Close the innermost open element, writing its end tag; returns its name. */
  private close(): string {
    const element = this.open.pop()!;
    this.html.push(`</${element.name}>`);
    if (element.name === 'p') this.paragraphBreak();
    if (element.name === 'ul' || element.name === 'ol' || element.name === 'li') this.lineBreak();
    if (element.name === 'p' || element.name === 'ul' || element.name === 'ol' || element.name === 'li')
      this.atLineStart = true;
    if (element.name === 'a' && element.href) {
      const label = this.text.slice(element.textStart).trim();
      const shown = element.href.startsWith('mailto:') ? element.href.slice('mailto:'.length) : element.href;
      if (!label) this.text += element.href;
      else if (label !== element.href && label !== shown && `${label}/` !== element.href) {
        this.text += ` (${element.href})`;
      }
    }
    return element.name;
  }

  private closeIfOpen(name: string): void {
    if (this.open.some((e) => e.name === name)) this.end(name);
  }

  /** A new `li` closes the previous item of the same list. */
  private closeOpenItem(): void {
    for (let k = this.open.length - 1; k >= 0; k--) {
      const element = this.open[k]!;
      if (element.name === 'ul' || element.name === 'ol') return;
      if (element.name === 'li') {
        this.end('li');
        return;
      }
    }
  }

  /** Separate lines where a dropped block element was (a `<br>` before what follows, if anything does). */
  private softBreak(): void {
    this.pendingBreak = true;
    this.lineBreak();
  }

  private flushBreak(): void {
    if (this.pendingBreak && !this.atLineStart) {
      this.html.push('<br>');
      this.atLineStart = true;
    }
    this.pendingBreak = false;
  }

  private lineBreak(): void {
    if (this.text && !this.text.endsWith('\n')) this.text += '\n';
  }

  private paragraphBreak(): void {
    if (!this.text) return;
    if (!this.text.endsWith('\n')) this.text += '\n';
    if (!this.text.endsWith('\n\n')) this.text += '\n';
  }
}

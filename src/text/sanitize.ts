/**
 * Sanitising HTML that customers (or anyone on the platform) send, before the SA stores it in a transcript
 * or shows it anywhere, and its plain-text rendition. Three maintained libraries, each doing one job:
 *
 * 1. parse5's tokenizer (the WHATWG HTML tokenizer jsdom uses) reads the input the way a browser does:
 *    comments in all their abrupt forms, `<![CDATA[` outside SVG, end tags carrying attributes, and the
 *    raw-text elements (script, style, noscript, textarea, …) whose content is never markup. Its tokens
 *    are written back as markup with nothing ambiguous left (`plainMarkup`): text entity-escaped, no
 *    attribute but an `a`'s href, and that only when it parses as an absolute http, https or mailto URL
 *    (`safeHref`); no comments or doctypes. htmlparser2 (inside sanitize-html) does not follow the
 *    browser's rules for those constructs; given this markup it reads what a browser would have read.
 * 2. sanitize-html re-creates markup from that, from a fixed allowlist (b, i, em, strong, u, p, br, ul,
 *    ol, li, a) with no attributes except an `a`'s href (checked again) and rel=noopener noreferrer and
 *    target=_blank. Elements that can carry script, styling or other documents (script, style, iframe,
 *    object, svg, math, template, …) are dropped with their content; any other element is dropped and
 *    its text kept; a dropped block element (div, h1, …) leaves a line break where it separated text.
 * 3. html-to-text renders the sanitised markup as plain text (line breaks for br, p and li, links as
 *    `text (url)`).
 *
 * Why this cannot be talked into emitting script: the output is never a filtered copy of the input. Every
 * tag in it is written by sanitize-html from the allowlist, and every other character of the input ends up
 * as entity-escaped text. A misreading can only lose or show text, never run it.
 */
import { DecodingMode, decodeHTML } from 'entities';
import { compile, type FormatCallback } from 'html-to-text';
import { type Token, Tokenizer, TokenizerMode } from 'parse5';
import sanitize from 'sanitize-html';

export interface SanitizedHtml {
  /** Safe markup: allowlisted tags only, text entity-escaped. */
  html: string;
  /** A plain-text rendition (line breaks for br/p/li, links as `text (url)`); never markup. */
  text: string;
}

const ALLOWED = ['b', 'i', 'em', 'strong', 'u', 'p', 'br', 'ul', 'ol', 'li', 'a'];
/** Elements whose content the tokenizer reads as text up to their end tag, and the state it reads it in. */
const RAW_TEXT: Record<string, (typeof TokenizerMode)[keyof typeof TokenizerMode]> = {
  script: TokenizerMode.SCRIPT_DATA,
  style: TokenizerMode.RAWTEXT,
  xmp: TokenizerMode.RAWTEXT,
  iframe: TokenizerMode.RAWTEXT,
  noembed: TokenizerMode.RAWTEXT,
  noframes: TokenizerMode.RAWTEXT,
  noscript: TokenizerMode.RAWTEXT,
  textarea: TokenizerMode.RCDATA,
  title: TokenizerMode.RCDATA,
  plaintext: TokenizerMode.PLAINTEXT,
};
/** Elements dropped together with everything inside them. */
const DROP_WITH_CONTENT = [
  ...Object.keys(RAW_TEXT),
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
];
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
/** Where a dropped block element started or ended (resolved to a `<br>` or nothing by `placeBreaks`). */
const BREAK = 'carechat-break';

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

/** Decode character references the way a browser does in text (or in an attribute value). */
export function decodeEntities(text: string, inAttribute: boolean): string {
  return decodeHTML(text, inAttribute ? DecodingMode.Attribute : DecodingMode.Legacy);
}

export function sanitizeHtml(input: string): SanitizedHtml {
  const html = placeBreaks(sanitize(plainMarkup(String(input ?? '')), SANITIZE_OPTIONS));
  return { html, text: plainText(html) };
}

/**
 * The input as a browser tokenizes it, written back so that no parser can read it differently: tag names
 * that are not plain words encoded (`x-…`), every attribute dropped but an `a`'s href, text and that href
 * entity-escaped, comments, doctypes and NUL characters gone, end tags of `br` ignored, a new `a` closing
 * the one still open, and dropped block elements marked where they start and end.
 */
function plainMarkup(input: string): string {
  const out: string[] = [];
  let anchorOpen = false;
  const text = (token: Token.CharacterToken) => out.push(escapeHtml(token.chars));
  const tokenizer: Tokenizer = new Tokenizer(
    { sourceCodeLocationInfo: false },
    {
      onStartTag(token) {
        const name = tagName(token.tagName);
        if (BLOCKISH.has(name)) {
          out.push(`<${BREAK}></${BREAK}>`);
          return;
        }
        if (name === 'a') {
          // A link inside a link closes the first (as a browser does); one without an acceptable href
          // is not written, its text is.
          if (anchorOpen) out.push('</a>');
          const href = safeHref(token.attrs.find((attr) => attr.name === 'href')?.value ?? '');
          anchorOpen = href !== undefined;
          if (href !== undefined) out.push(`<a href="${escapeHtml(href)}">`);
        } else {
          out.push(`<${name}>`);
        }
        const mode = RAW_TEXT[name];
        if (mode !== undefined) tokenizer.state = mode;
      },
      onEndTag(token) {
        const name = tagName(token.tagName);
        if (BLOCKISH.has(name)) out.push(`<${BREAK}></${BREAK}>`);
        else if (name === 'a') {
          if (anchorOpen) out.push('</a>');
          anchorOpen = false;
        } else if (name !== 'br') out.push(`</${name}>`);
      },
      onCharacter: text,
      onWhitespaceCharacter: text,
      onNullCharacter: () => {},
      onComment: () => {},
      onDoctype: () => {},
      onEof: () => {},
    },
  );
  tokenizer.write(input.replaceAll('\0', ''), true);
  return out.join('');
}

/** Tag names as they are when made of ASCII letters and digits; anything else spelled out in hex. */
function tagName(name: string): string {
  if (/^[a-z][a-z0-9]*$/.test(name)) return name;
  return `x-${[...name].map((ch) => ch.codePointAt(0)!.toString(16)).join('-')}`;
}

const SANITIZE_OPTIONS: sanitize.IOptions = {
  allowedTags: [...ALLOWED, BREAK],
  allowedAttributes: { a: ['href', 'rel', 'target'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: DROP_WITH_CONTENT,
  nestingLimit: MAX_DEPTH,
  selfClosing: ['br', BREAK],
  transformTags: {
    a: (tagName, attribs): sanitize.Tag => ({
      tagName,
      attribs: { href: attribs.href ?? '', rel: 'noopener noreferrer', target: '_blank' },
    }),
  },
  // A link whose href sanitize-html refused (plainMarkup only writes acceptable ones) keeps its text only.
  exclusiveFilter: (frame) => (frame.tag === 'a' && !frame.attribs.href ? 'excludeTag' : false),
  // sanitize-html escapes & < > in text; quotes too, so text is safe in any attribute it may end up in.
  textFilter: (text) => text.replaceAll('"', '&quot;').replaceAll("'", '&#39;'),
};

/**
 * Turns the marks of dropped block elements into `<br>` where they separate text on one line (not at the
 * start, not twice, not where a paragraph or list starts anyway), writes `<br>` as `<br>`, and drops
 * empty paragraphs (a stray `</p>`, which HTML parsers read as `<p></p>`).
 */
function placeBreaks(html: string): string {
  let out = '';
  let atLineStart = true;
  let pending = false;
  const flush = () => {
    if (pending && !atLineStart) {
      out += '<br>';
      atLineStart = true;
    }
    pending = false;
  };
  // The markup is sanitize-html's: `<` only ever starts one of its tags.
  for (const [piece] of html.replaceAll('<p></p>', '').matchAll(/<[^>]*>|[^<]+/g)) {
    const tag = /^<(\/?)([a-z-]+)/.exec(piece);
    if (!tag) {
      if (/[^\t\n\f\r ]/.test(piece)) {
        flush();
        atLineStart = false;
      }
      out += piece;
      continue;
    }
    const [, end, name] = tag;
    if (name === BREAK) {
      pending = true;
      continue;
    }
    const block = name === 'p' || name === 'ul' || name === 'ol' || name === 'li';
    if (block && !end) pending = false;
    else if (!end) flush();
    out += name === 'br' ? '<br>' : piece;
    if (block || name === 'br') atLineStart = true;
  }
  return out;
}

/** A link as its text, then its target in brackets unless the text already says it. */
const formatLink: FormatCallback = (elem, walk, builder) => {
  const href: string = elem.attribs?.href ?? '';
  let label = '';
  builder.pushWordTransform((word) => {
    label += word;
    return word;
  });
  walk(elem.children, builder);
  builder.popWordTransform();
  label = label.trim(); // html-to-text keeps no-break spaces in words; a label of only those is empty
  const shown = href.startsWith('mailto:') ? href.slice('mailto:'.length) : href;
  if (!label) builder.addInline(href, { noWordTransform: true });
  else if (label !== href && label !== shown && `${label}/` !== href) {
    builder.addInline(` (${href})`, { noWordTransform: true });
  }
};

/** A list item outside any list still starts a line with `- ` (inside one, the list writes its prefix). */
const formatItem: FormatCallback = (elem, walk, builder) => {
  const parent = elem.parent?.name;
  if (parent === 'ul' || parent === 'ol') {
    walk(elem.children, builder);
    return;
  }
  builder.openBlock({ leadingLineBreaks: 1 });
  builder.addInline('- ', { noWordTransform: true });
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks: 1 });
};

/** html-to-text, set up once (compiling its options is most of the cost of a call). */
const toText = compile({
  wordwrap: false,
  formatters: { carechatLink: formatLink, carechatItem: formatItem },
  selectors: [
    { selector: 'a', format: 'carechatLink' },
    { selector: 'li', format: 'carechatItem' },
    { selector: 'ul', options: { itemPrefix: '- ', leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'ol', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
  ],
});

/** The plain rendition: html-to-text's, each line with runs of spaces collapsed and trimmed. */
function plainText(html: string): string {
  return toText(html)
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

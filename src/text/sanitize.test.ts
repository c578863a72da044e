import { describe, expect, it } from 'vitest';
import { decodeEntities, escapeHtml, safeHref, sanitizeHtml } from './sanitize.ts';

/** Everything a browser could run or load, in any spelling the output might carry. */
function expectInert(html: string): void {
  const lower = html.toLowerCase();
  for (const bad of [
    '<script',
    '<img',
    '<svg',
    '<iframe',
    '<object',
    '<embed',
    '<style',
    '<math',
    '<form',
    '<input',
    '<!--',
    'javascript:',
    'vbscript:',
    'data:',
  ]) {
    expect(lower, `${bad} in ${html}`).not.toContain(bad);
  }
  expect(html, `event handler attribute in ${html}`).not.toMatch(/\son[a-z]+\s*=/i);
  // Every tag left is one of ours, written by the sanitiser with no attributes but an a's three.
  for (const tag of html.match(/<[^>]*>/g) ?? []) {
    expect(tag).toMatch(
      /^<\/?(b|i|em|strong|u|p|br|ul|ol|li)>$|^<a href="(https?|mailto):[^"<>]*" rel="noopener noreferrer" target="_blank">$|^<\/a>$/,
    );
  }
}

describe('sanitizeHtml keeps the safe subset', () => {
  it('keeps b, i, em, strong, u, p, br, ul, ol and li as they are', () => {
    const input =
      '<p>Hi <b>bold</b> <i>it</i> <em>em</em> <strong>s</strong> <u>u</u><br>line</p><ul><li>a</li></ul><ol><li>b</li></ol>';
    expect(sanitizeHtml(input).html).toBe(input);
  });

  it('keeps http, https and mailto links, adding rel=noopener noreferrer and target=_blank', () => {
    expect(sanitizeHtml('<a href="https://contoso.com/help?a=1&amp;b=2">help</a>').html).toBe(
      '<a href="https://contoso.com/help?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">help</a>',
    );
    expect(sanitizeHtml("<a href='http://contoso.com'>x</a>").html).toBe(
      '<a href="http://contoso.com/" rel="noopener noreferrer" target="_blank">x</a>',
    );
    expect(sanitizeHtml('<a href=mailto:help@contoso.com>mail</a>').html).toBe(
      '<a href="mailto:help@contoso.com" rel="noopener noreferrer" target="_blank">mail</a>',
    );
  });

  it("replaces a link's own rel and target and drops every other attribute", () => {
    const { html } = sanitizeHtml(
      '<a href="https://x.example" rel="opener" target="_self" style="x" title="t" id="i">x</a>',
    );
    expect(html).toBe('<a href="https://x.example/" rel="noopener noreferrer" target="_blank">x</a>');
  });

  it('drops attributes from the other allowed tags', () => {
    expect(sanitizeHtml('<p class="x" style="color:red" title="t">a</p><b id=y>b</b>').html).toBe(
      '<p>a</p><b>b</b>',
    );
  });

  it('lower-cases allowed tags written in upper case', () => {
    expect(sanitizeHtml('<B>x</B><P>y</P><BR>').html).toBe('<b>x</b><p>y</p><br>');
  });

  it('closes what the input left open and ignores end tags that close nothing', () => {
    expect(sanitizeHtml('<b>unclosed <i>nest').html).toBe('<b>unclosed <i>nest</i></b>');
    expect(sanitizeHtml('a</b></p></li>b').html).toBe('ab');
    expect(sanitizeHtml('<b><i>x</b>y</i>').html).toBe('<b><i>x</i></b>y');
  });

  it('closes a paragraph or list item the way a browser would before the next one starts', () => {
    expect(sanitizeHtml('<p>one<p>two').html).toBe('<p>one</p><p>two</p>');
    expect(sanitizeHtml('<ul><li>a<li>b</ul>').html).toBe('<ul><li>a</li><li>b</li></ul>');
  });

  it('entity-escapes all text, including what looked like markup but was not', () => {
    expect(sanitizeHtml(`x < y && y > z "q" 'a'`).html).toBe(
      'x &lt; y &amp;&amp; y &gt; z &quot;q&quot; &#39;a&#39;',
    );
    expect(sanitizeHtml('&lt;script&gt;alert(1)&lt;/script&gt;').html).toBe(
      '&lt;script&gt;alert(1)&lt;/script&gt;',
    );
    expect(sanitizeHtml('3 <4 and 1<2').html).toBe('3 &lt;4 and 1&lt;2');
  });

  it('keeps the text of elements it does not allow', () => {
    expect(sanitizeHtml('<span style="x">in <font color=red>side</font></span>').html).toBe('in side');
  });

  it('separates the lines of dropped block elements with <br>', () => {
    expect(sanitizeHtml('<div>a</div><div>b</div>').html).toBe('a<br>b');
    expect(sanitizeHtml('<h1>Title</h1>body').html).toBe('Title<br>body');
  });

  it('caps nesting depth (deeper allowed tags are dropped, their text kept)', () => {
    const { html } = sanitizeHtml(`${'<b>'.repeat(500)}deep${'</b>'.repeat(500)}`);
    expect(html.match(/<b>/g)).toHaveLength(64);
    expect(html.match(/<\/b>/g)).toHaveLength(64);
    expect(html).toContain('deep');
  });

  it('handles large input in linear time', () => {
    const big = '<script>x</script><!-- c --><b>t</b>'.repeat(20_000);
    const { html } = sanitizeHtml(big);
    expect(html).toBe('<b>t</b>'.repeat(20_000));
  });
});

describe('sanitizeHtml against XSS vectors (OWASP cheat-sheet style)', () => {
  const vectors: Array<[string, string, string]> = [
    // [name, input, expected html]
    ['a script element', '<script>alert(1)</script>hi', 'hi'],
    ['an upper-case script element', '<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>x', 'x'],
    ['a mixed-case script element', '<ScRiPt>alert(1)</sCrIpT>x', 'x'],
    ['a script end tag with attributes', '<script>a</script foo="bar">after', 'after'],
    ['a script that never ends', 'before<script>alert(1)', 'before'],
    ['markup inside a script', '<script><b>x</b></script>y', 'y'],
    ['img onerror', '<img src=x onerror=alert(1)>after', 'after'],
    ['img onerror with quotes', '<img src="x" onerror="alert(\'XSS\')">', ''],
    ['img src javascript', '<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>', ''],
    ['img with a grave accent', '<IMG SRC=`javascript:alert("RSnake says, \'XSS\'")`>', ''],
    ['malformed img with a script after it', '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">', '&quot;&gt;'],
    ['svg onload', '<svg onload=alert(1)>', ''],
    ['script inside svg', '<svg><script>alert(1)</script></svg>ok', 'ok'],
    ['nested svg', '<svg><svg></svg><script>alert(1)</script></svg>ok', 'ok'],
    ['math with a javascript link', '<math><mi xlink:href="javascript:alert(1)">x</mi></math>m', 'm'],
    ['an iframe', '<iframe src="javascript:alert(1)"></iframe>x', 'x'],
    ['iframe content', '<iframe><b>not shown</b></iframe>x', 'x'],
    ['an object', '<object data="javascript:alert(1)">fallback</object>x', 'x'],
    ['an embed', '<embed src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x', 'x'],
    ['a style element', '<style>@import "http://xss.example/xss.css";</style>x', 'x'],
    ['a style attribute', '<b style="background:url(javascript:alert(1))">x</b>', '<b>x</b>'],
    ['a textarea hiding a script', '<textarea><script>alert(1)</script></textarea>t', 't'],
    ['a title hiding a script end', '<title></title><script>alert(1)</script>t', 't'],
    ['noscript', '<noscript><p title="</noscript><img src=x onerror=alert(1)>">', '&quot;&gt;'],
    ['plaintext', 'a<plaintext><script>alert(1)</script>', 'a'],
    ['a template', '<template><script>alert(1)</script></template>t', 't'],
    ['a form and input', '<form action="javascript:alert(1)"><input type=submit></form>x', 'x'],
    ['body onload', '<body onload=alert(1)>x', 'x'],
    ['a meta refresh', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">x', 'x'],
    ['a base href', '<base href="javascript:alert(1)//">x', 'x'],
    ['a link stylesheet', '<link rel=stylesheet href="javascript:alert(1)">x', 'x'],
    ['a comment', '<!--<script>alert(1)</script>-->z', 'z'],
    ['an abruptly closed comment', '<!-->a<b>x</b>', 'a<b>x</b>'],
    ['a comment closed with --!>', '<!-- x --!><b>y</b>', '<b>y</b>'],
    ['an unterminated comment', 'a<!-- <script>alert(1)</script>', 'a'],
    ['a conditional comment', '<!--[if gte IE 4]><script>alert(1)</script><![endif]-->x', 'x'],
    ['a CDATA section', '<![CDATA[<script>alert(1)</script>]]>x', 'alert(1)]]&gt;x'],
    ['a doctype', '<!DOCTYPE html>x', 'x'],
    ['a processing instruction', '<?xml version="1.0"?>x', 'x'],
    ['a javascript: link', '<a href="javascript:alert(1)">x</a>', 'x'],
    ['an upper-case JAVASCRIPT: link', '<a href="JAVASCRIPT:alert(1)">x</a>', 'x'],
    ['javascript&colon;', '<a href="javascript&colon;alert(1)">x</a>', 'x'],
    ['entity-encoded java&#115;cript:', '<a href="java&#115;cript:alert(1)">x</a>', 'x'],
    ['hex-encoded scheme', '<a href="&#x6A;&#x61;&#x76;&#x61;script:alert(1)">x</a>', 'x'],
    [
      'decimal entities without semicolons',
      '<a href="&#106&#97&#118&#97&#115&#99&#114&#105&#112&#116&#58alert(1)">x</a>',
      'x',
    ],
    ['zero-padded decimal entities', '<a href="&#0000106&#0000097vascript:alert(1)">x</a>', 'x'],
    ['an embedded tab', '<a href="jav\tascript:alert(1)">x</a>', 'x'],
    ['an encoded tab', '<a href="jav&#x09;ascript:alert(1)">x</a>', 'x'],
    ['an encoded newline', '<a href="jav&#x0A;ascript:alert(1)">x</a>', 'x'],
    ['&Tab; and &NewLine;', '<a href="java&Tab;scr&NewLine;ipt:alert(1)">x</a>', 'x'],
    ['a leading space and control character', '<a href=" &#14;  javascript:alert(1)">x</a>', 'x'],
    ['a leading non-breaking space', '<a href="\u00a0javascript:alert(1)">x</a>', 'x'],
    ['vbscript:', '<a href="vbscript:msgbox(1)">x</a>', 'x'],
    ['a data: URL', '<a href="data:text/html,<script>alert(1)</script>">x</a>', 'x'],
    ['a protocol-relative URL', '<a href="//evil.example/x">x</a>', 'x'],
    ['a relative URL', '<a href="/account/delete">x</a>', 'x'],
    [
      'an on* attribute on a link',
      '<a href="https://ok.example" onclick="alert(1)">x</a>',
      '<a href="https://ok.example/" rel="noopener noreferrer" target="_blank">x</a>',
    ],
    [
      'an attribute glued after a quoted one',
      '<a href="http://x"onmouseover="alert(1)">y</a>',
      '<a href="http://x/" rel="noopener noreferrer" target="_blank">y</a>',
    ],
    ['a slash instead of a space', '<b/onmouseover=alert(1)>x</b>', '<b>x</b>'],
    ['a quoted > inside an attribute', '<b title="a>b" onclick=alert(1)>x</b>', '<b>x</b>'],
    [
      'an unquoted attribute with a quote inside',
      '<a href=http://x.example/"onclick="alert(1)>x</a>',
      '<a href="http://x.example/%22onclick=%22alert(1)" rel="noopener noreferrer" target="_blank">x</a>',
    ],
    ['a double open bracket', '<<script>alert(1)//<</script>', '&lt;'],
    ['a split script tag', '<scr<script>ipt>alert(1)</script>', 'ipt&gt;alert(1)'],
    ['a null byte in a tag name', '<scr\u0000ipt>alert(1)</scr\u0000ipt>x', 'x'],
    ['a null byte in a scheme', '<a href="java\u0000script:alert(1)">x</a>', 'x'],
    ['a null byte in text', 'a\u0000b', 'ab'],
    ['an unterminated tag', 'hi <b onclick="alert(1)', 'hi '],
    ['an unterminated quoted attribute', '<a href="https://ok.example>x</a>', ''],
    ['an end tag with a script inside its attributes', '</b title="<script>alert(1)</script>">x', 'x'],
    ['a bogus end tag', '</ script>x', 'x'],
    [
      '&lt;script&gt; as text',
      '&lt;script&gt;alert(1)&lt;/script&gt;',
      '&lt;script&gt;alert(1)&lt;/script&gt;',
    ],
    ['a double-encoded script', '&amp;lt;script&amp;gt;', '&amp;lt;script&amp;gt;'],
    ['an event handler on an allowed tag', '<p onmouseover="alert(1)">x</p>', '<p>x</p>'],
    [
      'a duplicated href (first one wins)',
      '<a href="https://ok.example" href="javascript:alert(1)">x</a>',
      '<a href="https://ok.example/" rel="noopener noreferrer" target="_blank">x</a>',
    ],
    [
      'a javascript href first, a good one second',
      '<a href="javascript:alert(1)" href="https://ok.example">x</a>',
      'x',
    ],
    [
      'an audio/video onerror',
      '<video><source onerror="alert(1)"></video><audio src=x onerror=alert(1)>x',
      '',
    ],
    ['a details ontoggle', '<details open ontoggle=alert(1)>x</details>', 'x'],
    ['a marquee onstart', '<marquee onstart=alert(1)>x</marquee>', 'x'],
    [
      'an xml namespace script',
      '<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>',
      'alert(1)',
    ],
  ];

  it.each(vectors)('neutralises %s', (_name, input, expected) => {
    const { html } = sanitizeHtml(input);
    expect(html).toBe(expected);
    expectInert(html);
    // What comes out is already safe: sanitising it again changes nothing.
    expect(sanitizeHtml(html).html).toBe(html);
  });
});

describe('sanitizeHtml text rendition', () => {
  it('is plain text: entities decoded, tags gone, whitespace collapsed', () => {
    expect(sanitizeHtml('  Hello   <b>there</b>,\n&amp; welcome&nbsp;back  ').text).toBe(
      'Hello there, & welcome\u00a0back',
    );
  });

  it('breaks lines at br, separates paragraphs, and marks list items', () => {
    expect(
      sanitizeHtml('<p>one<br>two</p><p>three</p><ul><li>a</li><li>b</li></ul><ol><li>x</li><li>y</li></ol>')
        .text,
    ).toBe('one\ntwo\n\nthree\n\n- a\n- b\n1. x\n2. y');
  });

  it('shows a link target after its text unless the text is the target', () => {
    expect(sanitizeHtml('see <a href="https://contoso.com/faq">the FAQ</a>').text).toBe(
      'see the FAQ (https://contoso.com/faq)',
    );
    expect(sanitizeHtml('<a href="https://contoso.com/">https://contoso.com/</a>').text).toBe(
      'https://contoso.com/',
    );
    expect(sanitizeHtml('<a href="mailto:help@contoso.com">help@contoso.com</a>').text).toBe(
      'help@contoso.com',
    );
    expect(sanitizeHtml('<a href="https://contoso.com/x"></a>').text).toBe('https://contoso.com/x');
  });

  it('leaves out the content of dropped elements', () => {
    expect(sanitizeHtml('a<script>secret()</script><style>p{}</style>b').text).toBe('ab');
  });

  it('keeps what an escaped text says, as text', () => {
    expect(sanitizeHtml('1 &lt; 2 &amp;&amp; 3 &gt; 2').text).toBe('1 < 2 && 3 > 2');
  });
});

describe('helpers', () => {
  it('escapeHtml escapes the five characters that matter', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('decodeEntities decodes named, decimal and hex references and leaves unknown ones', () => {
    expect(decodeEntities('&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&colon;&unknown;', false)).toBe(
      `<>&"'AB:&unknown;`,
    );
    expect(decodeEntities('&#0;&#xD800;&#x110000;&#128;', false)).toBe('\ufffd\ufffd\ufffd€');
    expect(decodeEntities('&amp &lt', false)).toBe('& <');
    expect(decodeEntities('?a=1&amp=2', true)).toBe('?a=1&amp=2');
  });

  it('safeHref accepts absolute http, https and mailto URLs only', () => {
    expect(safeHref('https://contoso.com/a b')).toBe('https://contoso.com/a%20b');
    expect(safeHref(' HTTP://CONTOSO.COM ')).toBe('http://contoso.com/');
    expect(safeHref('mailto:a@b.example')).toBe('mailto:a@b.example');
    for (const bad of [
      'javascript:alert(1)',
      'data:text/html,x',
      'ftp://x.example',
      'file:///etc/passwd',
      '//x.example',
      '/relative',
      'https://',
      `https://x.example/${'a'.repeat(3000)}`,
      '',
    ]) {
      expect(safeHref(bad), bad).toBeUndefined();
    }
  });
});

describe('sanitizeHtml on generated input', () => {
  /** A small seeded PRNG so every run checks the same inputs (mulberry32). */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const PIECES = [
    '<',
    '>',
    '</',
    '/>',
    '"',
    "'",
    '`',
    '=',
    ' ',
    '\t',
    '\n',
    '\0',
    '&',
    '&#',
    '&#x',
    ';',
    'amp;',
    'lt;',
    '&colon;',
    '106',
    '6A',
    'script',
    'SCRIPT',
    'a',
    'b',
    'p',
    'li',
    'ul',
    'br',
    'img',
    'svg',
    'iframe',
    'style',
    'textarea',
    'href',
    'src',
    'onerror',
    'onclick',
    'javascript:',
    'java',
    'script:',
    'http://x.example',
    'https://y.example/',
    'mailto:z@x.example',
    '<!--',
    '-->',
    '--!>',
    '<!',
    '<?',
    'alert(1)',
    'x',
    'ß',
  ];

  it('only ever writes allowlisted tags, escapes all text, and is idempotent (3000 inputs)', () => {
    const next = random(20261125);
    for (let run = 0; run < 3000; run++) {
      const length = 1 + Math.floor(next() * 40);
      let input = '';
      for (let k = 0; k < length; k++) input += PIECES[Math.floor(next() * PIECES.length)];
      const { html, text } = sanitizeHtml(input);
      for (const tag of html.match(/<[^>]*>/g) ?? []) {
        expect(tag, `from ${JSON.stringify(input)}`).toMatch(
          /^<\/?(b|i|em|strong|u|p|br|ul|ol|li)>$|^<a href="(https?|mailto):[^"<>\s]*" rel="noopener noreferrer" target="_blank">$|^<\/a>$/,
        );
      }
      const outside = html.replace(/<[^>]*>/g, '');
      expect(outside, `from ${JSON.stringify(input)}`).not.toMatch(/[<>"']|&(?!(amp|lt|gt|quot|#39);)/);
      expect(sanitizeHtml(html).html, `from ${JSON.stringify(input)}`).toBe(html);
      expect(text).not.toContain('\0');
    }
  });
});

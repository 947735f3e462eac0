// Readable text from HTML: scripts, styles and <head> dropped, whitespace collapsed as a browser
// would, line and paragraph breaks where block elements start and end, <pre> kept as written.
// Browsers parse with DOMParser; elsewhere (Node, workers) a small tag scanner feeds the same rules.

const tags = (names: string) => new Set(names.split(' '));
const SKIPPED = tags('head title script style noscript template svg iframe object select');
const PARAGRAPH = tags(
  'p h1 h2 h3 h4 h5 h6 blockquote pre ul ol dl table figure section article header footer aside nav main hr ' +
    'address details fieldset form',
);
const LINE = tags('div li dt dd tr caption figcaption summary legend option');
const CELL = tags('td th');
const VOID = tags('area base br col embed hr img input link meta source track wbr');

export function htmlToText(html: string): string {
  const sink = new TextSink();
  if (typeof DOMParser !== 'undefined') {
    const doc = new DOMParser().parseFromString(html, 'text/html');
    walk(doc.body ?? doc.documentElement, sink);
  } else {
    scan(html, sink);
  }
  return sink.result();
}

/** Collects text with HTML's whitespace rules; tags arrive as open/close events. */
class TextSink {
  private parts: string[] = [];
  private breaks = 0;
  private space = false;
  private skipping = 0;
  private pre = 0;

  open(tag: string): void {
    if (SKIPPED.has(tag)) this.skipping++;
    if (this.skipping > 0) return;
    if (tag === 'br') this.breaks++;
    else if (PARAGRAPH.has(tag)) this.paragraph(2);
    else if (LINE.has(tag)) this.paragraph(1);
    else if (CELL.has(tag)) this.space = true;
    if (tag === 'pre') this.pre++;
  }

  close(tag: string): void {
    if (SKIPPED.has(tag)) {
      this.skipping = Math.max(0, this.skipping - 1);
      return;
    }
    if (this.skipping > 0) return;
    if (PARAGRAPH.has(tag)) this.paragraph(2);
    else if (LINE.has(tag)) this.paragraph(1);
    if (tag === 'pre') this.pre = Math.max(0, this.pre - 1);
  }

  /** The document's body starts: an unclosed <head> ends here. */
  body(): void {
    this.skipping = 0;
  }

  text(raw: string): void {
    if (this.skipping > 0 || raw.length === 0) return;
    if (this.pre > 0) {
      this.emit(raw.replace(/\r\n?/g, '\n'));
      return;
    }
    const collapsed = raw.replace(/[ \t\n\r\f]+/g, ' ');
    if (collapsed.startsWith(' ')) this.space = true;
    const body = collapsed.replace(/^ | $/g, '');
    if (body.length > 0) {
      this.emit(body);
      this.space = collapsed.endsWith(' ');
    }
  }

  result(): string {
    return this.parts.join('');
  }

  private paragraph(n: number): void {
    this.breaks = Math.max(this.breaks, n);
  }

  private emit(text: string): void {
    if (this.parts.length > 0) {
      if (this.breaks > 0) this.parts.push('\n'.repeat(this.breaks));
      else if (this.space) this.parts.push(' ');
    }
    this.breaks = 0;
    this.space = false;
    this.parts.push(text);
  }
}

function walk(root: Node, sink: TextSink): void {
  for (let node = root.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 3) {
      sink.text((node as Text).data);
    } else if (node.nodeType === 1) {
      const tag = (node as Element).localName;
      if (SKIPPED.has(tag)) continue;
      sink.open(tag);
      walk(node, sink);
      sink.close(tag);
    }
  }
}

// A comment, a doctype / CDATA / processing instruction, a tag (attribute values may hold '>').
const MARKUP = /<!--[\s\S]*?(?:-->|$)|<![^>]*>?|<\?[^>]*>?|<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;

function scan(html: string, sink: TextSink): void {
  let at = 0;
  MARKUP.lastIndex = 0;
  for (let m = MARKUP.exec(html); m; m = MARKUP.exec(html)) {
    sink.text(decodeEntities(html.slice(at, m.index)));
    at = MARKUP.lastIndex;
    const tag = m[2]?.toLowerCase();
    if (tag === undefined) continue;
    if (m[1]) {
      sink.close(tag);
      continue;
    }
    if (tag === 'body') sink.body();
    sink.open(tag);
    if (tag === 'script' || tag === 'style' || tag === 'textarea' || tag === 'title') {
      // Raw text: everything up to the matching end tag is content, not markup.
      const end = new RegExp(`</${tag}`, 'ig');
      end.lastIndex = at;
      const stop = end.exec(html)?.index ?? html.length;
      if (tag === 'textarea') sink.text(decodeEntities(html.slice(at, stop)));
      at = stop;
      MARKUP.lastIndex = stop;
    } else if (tag === 'pre') {
      // HTML drops one newline right after <pre>.
      const newline = /^\r?\n/.exec(html.slice(at, at + 2));
      if (newline) {
        at += newline[0].length;
        MARKUP.lastIndex = at;
      }
    } else if (VOID.has(tag) || m[3].trimEnd().endsWith('/')) {
      sink.close(tag);
    }
  }
  sink.text(decodeEntities(html.slice(at)));
}

// HTML's named character references: all of Latin-1 (U+00A0–U+00FF, in order) and the common rest.
const LATIN1 = (
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 ' +
  'acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml ' +
  'Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde ' +
  'Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ' +
  'ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide ' +
  'oslash ugrave uacute ucirc uuml yacute thorn yuml'
).split(' ');
const NAMED: Record<string, string> = {
  ...Object.fromEntries(LATIN1.map((name, i) => [name, String.fromCharCode(0xa0 + i)])),
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", OElig: 'Œ', oelig: 'œ', Scaron: 'Š', scaron: 'š',
  Yuml: 'Ÿ', fnof: 'ƒ', circ: 'ˆ', tilde: '˜', trade: '™', lsquo: '‘', rsquo: '’', sbquo: '‚',
  ldquo: '“', rdquo: '”', bdquo: '„', ndash: '–', mdash: '—', hellip: '…', bull: '•', prime: '′',
  Prime: '″', lsaquo: '‹', rsaquo: '›', euro: '€', dagger: '†', Dagger: '‡', permil: '‰', larr: '←',
  rarr: '→', uarr: '↑', darr: '↓', harr: '↔', le: '≤', ge: '≥', ne: '≠', asymp: '≈', infin: '∞',
  minus: '−', ensp: '\u2002', emsp: '\u2003', thinsp: '\u2009', zwnj: '\u200c', zwj: '\u200d',
  lrm: '\u200e', rlm: '\u200f',
};

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]{1,31}));/g, (whole, dec, hex, name) => {
    if (name !== undefined) return NAMED[name] ?? whole;
    const code = dec !== undefined ? Number(dec) : parseInt(hex, 16);
    const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    return valid ? String.fromCodePoint(code) : '\ufffd';
  });
}

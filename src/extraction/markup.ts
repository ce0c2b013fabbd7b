/**
 * A small streaming XML/HTML tokenizer (not a validating parser): feed text chunks, get open/close/text events.
 * Comments, processing instructions and doctypes are dropped; CDATA is text; raw-text elements (HTML script and
 * style) are skipped whole. Entities are decoded in text and attribute values.
 */

export type MarkupEvent =
  | { type: 'open'; name: string; attrs: Record<string, string>; selfClosing: boolean }
  | { type: 'close'; name: string }
  | { type: 'text'; text: string };

export interface MarkupOptions {
  /** Lower-case tag names and skip the content of these elements (HTML mode). */
  html?: boolean;
}

/** A markup construct longer than this is given up on (passed over as text), bounding memory. */
const MAX_PENDING = 1024 * 1024;

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  copy: '©',
  reg: '®',
  trade: '™',
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
  micro: 'µ',
  middot: '·',
  laquo: '«',
  raquo: '»',
  ndash: '–',
  mdash: '—',
  lsquo: '‘',
  rsquo: '’',
  sbquo: '‚',
  ldquo: '“',
  rdquo: '”',
  bdquo: '„',
  hellip: '…',
  bull: '•',
  dagger: '†',
  iexcl: '¡',
  iquest: '¿',
  shy: '\u00ad',
  ordf: 'ª',
  ordm: 'º',
  sup1: '¹',
  sup2: '²',
  sup3: '³',
  frac14: '¼',
  frac12: '½',
  frac34: '¾',
  szlig: 'ß',
  Agrave: 'À',
  Aacute: 'Á',
  Acirc: 'Â',
  Atilde: 'Ã',
  Auml: 'Ä',
  Aring: 'Å',
  AElig: 'Æ',
  Ccedil: 'Ç',
  Egrave: 'È',
  Eacute: 'É',
  Ecirc: 'Ê',
  Euml: 'Ë',
  Igrave: 'Ì',
  Iacute: 'Í',
  Icirc: 'Î',
  Iuml: 'Ï',
  ETH: 'Ð',
  Ntilde: 'Ñ',
  Ograve: 'Ò',
  Oacute: 'Ó',
  Ocirc: 'Ô',
  Otilde: 'Õ',
  Ouml: 'Ö',
  Oslash: 'Ø',
  Ugrave: 'Ù',
  Uacute: 'Ú',
  Ucirc: 'Û',
  Uuml: 'Ü',
  Yacute: 'Ý',
  THORN: 'Þ',
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
  eth: 'ð',
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
  thorn: 'þ',
  yuml: 'ÿ',
  OElig: 'Œ',
  oelig: 'œ',
  Scaron: 'Š',
  scaron: 'š',
  Yuml: 'Ÿ',
  zwnj: '\u200c',
  zwj: '\u200d',
  ensp: '\u2002',
  emsp: '\u2003',
  thinsp: '\u2009',
};

export function decodeEntities(text: string): string {
  if (text.indexOf('&') === -1) return text;
  return text.replace(
    /&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});/g,
    (whole, body: string) => {
      if (body[0] === '#') {
        const code =
          body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return NAMED_ENTITIES[body] ?? whole;
    },
  );
}

const ATTRIBUTE = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

function parseAttributes(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  ATTRIBUTE.lastIndex = 0;
  for (let match = ATTRIBUTE.exec(source); match; match = ATTRIBUTE.exec(source)) {
    attrs[match[1]] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attrs;
}

/** Index of the '>' ending a tag that starts at `start`, skipping quoted attribute values; -1 when not yet seen. */
function tagEnd(text: string, start: number): number {
  let quote = '';
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '>') return i;
  }
  return -1;
}

const RAW_TEXT_ELEMENTS = new Set(['script', 'style', 'noscript', 'template']);

export class MarkupTokenizer {
  private pending = '';
  /** Inside a raw-text element: its closing tag. */
  private skipUntil: string | undefined;

  constructor(private readonly options: MarkupOptions = {}) {}

  push(chunk: string): MarkupEvent[] {
    const events: MarkupEvent[] = [];
    const text = this.pending + chunk;
    let i = 0;
    while (i < text.length) {
      if (this.skipUntil) {
        const end = text.toLowerCase().indexOf(this.skipUntil, i);
        if (end === -1) {
          // Keep just enough to find the closing tag across chunks.
          i = Math.max(i, text.length - this.skipUntil.length);
          break;
        }
        this.skipUntil = undefined;
        i = end; // the closing tag itself is tokenized normally
        continue;
      }
      const lt = text.indexOf('<', i);
      if (lt === -1) {
        // Keep a trailing, possibly cut entity for the next chunk.
        const amp = text.lastIndexOf('&');
        const cut = amp >= i && amp > text.length - 34 && text.indexOf(';', amp) === -1 ? amp : text.length;
        if (cut > i) events.push({ type: 'text', text: decodeEntities(text.slice(i, cut)) });
        i = cut;
        break;
      }
      if (lt > i) events.push({ type: 'text', text: decodeEntities(text.slice(i, lt)) });
      i = lt;
      const consumed = this.markup(text, i, events);
      if (consumed === -1) break; // incomplete; wait for more text
      i = consumed;
    }
    this.pending = text.slice(i);
    if (this.pending.length > MAX_PENDING) {
      // Not real markup (or absurdly long): give it up as text.
      events.push({ type: 'text', text: this.pending.slice(1) });
      this.pending = '';
    }
    return events;
  }

  end(): MarkupEvent[] {
    const rest = this.pending;
    this.pending = '';
    if (!rest || this.skipUntil) return [];
    return rest.startsWith('<') ? [] : [{ type: 'text', text: decodeEntities(rest) }];
  }

  /** Tokenizes the construct starting with '<' at `start`; returns the index after it, or -1 if incomplete. */
  private markup(text: string, start: number, events: MarkupEvent[]): number {
    if (text.startsWith('<!--', start)) {
      const end = text.indexOf('-->', start + 4);
      return end === -1 ? -1 : end + 3;
    }
    if (text.startsWith('<![CDATA[', start)) {
      const end = text.indexOf(']]>', start + 9);
      if (end === -1) return -1;
      events.push({ type: 'text', text: text.slice(start + 9, end) });
      return end + 3;
    }
    if (text.length < start + 2) return -1;
    const next = text[start + 1];
    if (next === '!' || next === '?') {
      const end = text.indexOf('>', start);
      return end === -1 ? -1 : end + 1;
    }
    if (next !== '/' && !/[A-Za-z_:]/.test(next)) {
      // A lone '<' in text (HTML is lenient).
      events.push({ type: 'text', text: '<' });
      return start + 1;
    }
    const end = tagEnd(text, start + 1);
    if (end === -1) return -1;
    const body = text.slice(start + 1, end);
    if (body[0] === '/') {
      let name = body.slice(1).trim();
      if (this.options.html) name = name.toLowerCase();
      events.push({ type: 'close', name });
      return end + 1;
    }
    const selfClosing = body.endsWith('/');
    const nameEnd = body.search(/[\s/]/);
    let name = nameEnd === -1 ? body : body.slice(0, nameEnd);
    if (this.options.html) name = name.toLowerCase();
    const attrSource = nameEnd === -1 ? '' : body.slice(nameEnd, selfClosing ? -1 : undefined);
    events.push({ type: 'open', name, attrs: attrSource ? parseAttributes(attrSource) : {}, selfClosing });
    if (this.options.html && !selfClosing && RAW_TEXT_ELEMENTS.has(name)) this.skipUntil = `</${name}`;
    return end + 1;
  }
}

/** Local part of a qualified XML name: `w:t` → `t`. */
export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

/**
 * Builds readable text from runs and breaks: collapses whitespace runs to one space, turns breaks into single
 * newlines (no blank-line runs), and trims spaces at line edges.
 */
export class TextNormalizer {
  private pendingSpace = false;
  private pendingBreak = false;
  private atStart = true;

  /** Appends a run of text (whitespace collapsed); returns the output produced. */
  text(run: string): string {
    if (!run) return '';
    const collapsed = run.replace(/[\s\u00a0]+/g, ' ');
    if (collapsed === ' ') {
      this.pendingSpace = true;
      return '';
    }
    const leading = collapsed.startsWith(' ');
    const trailing = collapsed.endsWith(' ');
    const core = collapsed.slice(leading ? 1 : 0, trailing ? -1 : undefined);
    let out = '';
    if (!this.atStart && this.pendingBreak) out = '\n';
    else if (!this.atStart && (this.pendingSpace || leading)) out = ' ';
    out += core;
    this.pendingBreak = false;
    this.pendingSpace = trailing;
    this.atStart = false;
    return out;
  }

  /** A line break (block boundary). */
  lineBreak(): void {
    this.pendingBreak = true;
    this.pendingSpace = false;
  }

  /** Ends the text: a final newline when anything was written. */
  end(): string {
    return this.atStart ? '' : '\n';
  }
}

const HTML_BLOCKS = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'br',
  'caption',
  'dd',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'li',
  'main',
  'nav',
  'ol',
  'option',
  'p',
  'pre',
  'section',
  'summary',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'title',
  'tr',
  'ul',
  'body',
  'head',
  'html',
  'label',
  'legend',
  'select',
  'textarea',
]);

/** HTML → text: block elements break lines, inline elements do not; form field values are kept. */
export class HtmlToText {
  private tokenizer = new MarkupTokenizer({ html: true });
  private normalizer = new TextNormalizer();

  push(chunk: string): string {
    return this.consume(this.tokenizer.push(chunk));
  }

  end(): string {
    return this.consume(this.tokenizer.end()) + this.normalizer.end();
  }

  private consume(events: MarkupEvent[]): string {
    let out = '';
    for (const event of events) {
      if (event.type === 'text') out += this.normalizer.text(event.text);
      else if (HTML_BLOCKS.has(event.name)) this.normalizer.lineBreak();
      else if (event.type === 'open' && event.name === 'input' && event.attrs.value) {
        out += this.normalizer.text(` ${event.attrs.value} `);
      }
    }
    return out;
  }
}

/** Generic XML → text: every element boundary is a line break, so each text node lands on its own line. */
export class XmlToText {
  private tokenizer = new MarkupTokenizer();
  private normalizer = new TextNormalizer();

  push(chunk: string): string {
    return this.consume(this.tokenizer.push(chunk));
  }

  end(): string {
    return this.consume(this.tokenizer.end()) + this.normalizer.end();
  }

  private consume(events: MarkupEvent[]): string {
    let out = '';
    for (const event of events) {
      if (event.type === 'text') out += this.normalizer.text(event.text);
      else this.normalizer.lineBreak();
    }
    return out;
  }
}

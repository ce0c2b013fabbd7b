/**
 * PDF text layer extraction, good enough for generated documents: scans the file for indirect objects (no xref
 * needed, so damaged files still give what they have), inflates FlateDecode streams, and reads the text-showing
 * operators (Tj, TJ, ', ") of page content streams. Simple fonts only: strings are decoded as PDFDocEncoding /
 * WinAnsi, or UTF-16BE with a BOM; CID fonts (Identity-H without ToUnicode) come out as noise or nothing.
 */
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { LoopYielder, decodeWindows1252 } from './text';

const inflate = promisify(zlib.inflate);

export interface PdfText {
  /** Text of each content stream, in file order. */
  texts: string[];
  /** Problems worth reporting (damaged streams, truncation). */
  problems: string[];
  encrypted: boolean;
}

const OBJECT_START = /(\d+)\s+(\d+)\s+obj\b/g;

/** Stream dictionaries that never hold page text. */
const NON_TEXT_STREAM =
  /\/Subtype\s*\/(Image|XML|Type1C|CIDFontType0C|OpenType)\b|\/Type\s*\/(XRef|ObjStm|Metadata|EmbeddedFile)\b|\/Length[123]\b/;

interface PdfObject {
  dictionary: string;
  /** Decoded stream content (latin1), for streams that may hold text or a ToUnicode CMap. */
  content?: string;
}

export async function extractPdfText(data: Buffer, maxInflatedBytes: number): Promise<PdfText> {
  const result: PdfText = { texts: [], problems: [], encrypted: false };
  const source = data.toString('latin1');
  if (!source.startsWith('%PDF-')) {
    result.problems.push('missing %PDF header');
    return result;
  }
  if (/\/Encrypt\s+(\d+\s+\d+\s+R|<<)/.test(source)) {
    result.encrypted = true;
    return result;
  }
  const yielder = new LoopYielder();
  const objects = new Map<number, PdfObject>();
  /** Object ids in file order (a later revision of an id replaces the earlier one). */
  const order: number[] = [];
  let inflatedTotal = 0;
  OBJECT_START.lastIndex = 0;
  for (let match = OBJECT_START.exec(source); match; match = OBJECT_START.exec(source)) {
    const id = Number(match[1]);
    const bodyStart = match.index + match[0].length;
    const endObj = source.indexOf('endobj', bodyStart);
    const streamAt = source.indexOf('stream', bodyStart);
    if (streamAt === -1 || (endObj !== -1 && streamAt > endObj)) {
      objects.set(id, {
        dictionary: source.slice(
          bodyStart,
          endObj === -1 ? Math.min(source.length, bodyStart + 4096) : endObj,
        ),
      });
      order.push(id);
      if (endObj !== -1) OBJECT_START.lastIndex = endObj + 6;
      continue;
    }
    const dictionary = source.slice(bodyStart, streamAt);
    const object: PdfObject = { dictionary };
    objects.set(id, object);
    order.push(id);
    let dataStart = streamAt + 6;
    if (source[dataStart] === '\r') dataStart++;
    if (source[dataStart] === '\n') dataStart++;
    const endStream = source.indexOf('endstream', dataStart);
    if (endStream === -1) {
      result.problems.push(`object ${match[1]}: stream without endstream (truncated file)`);
      break;
    }
    OBJECT_START.lastIndex = endStream + 9;
    if (NON_TEXT_STREAM.test(dictionary)) continue;
    let raw = data.subarray(dataStart, endStream);
    const filters = [
      ...dictionary.matchAll(
        /\/(FlateDecode|Fl|ASCIIHexDecode|AHx|ASCII85Decode|A85|LZWDecode|DCTDecode|JPXDecode|CCITTFaxDecode|JBIG2Decode|RunLengthDecode)\b/g,
      ),
    ].map((m) => m[1]);
    let usable = true;
    for (const filter of filters) {
      if (filter === 'FlateDecode' || filter === 'Fl') {
        try {
          raw = await inflate(raw, { maxOutputLength: Math.max(1, maxInflatedBytes - inflatedTotal) });
        } catch {
          // A stream cut short or with trailing junk: keep what inflates.
          try {
            raw = zlib.inflateSync(raw, {
              finishFlush: zlib.constants.Z_SYNC_FLUSH,
              maxOutputLength: Math.max(1, maxInflatedBytes - inflatedTotal),
            });
          } catch {
            result.problems.push(`object ${match[1]}: damaged FlateDecode stream`);
            usable = false;
            break;
          }
        }
      } else if (filter === 'ASCIIHexDecode' || filter === 'AHx') {
        raw = Buffer.from(raw.toString('latin1').replace(/[^0-9a-fA-F]/g, ''), 'hex');
      } else {
        usable = false; // images and rare filters: no text
        break;
      }
    }
    if (!usable) continue;
    inflatedTotal += raw.length;
    if (inflatedTotal >= maxInflatedBytes) {
      result.problems.push('inflated PDF streams exceed the decompression limit');
      break;
    }
    object.content = raw.toString('latin1');
    await yielder.maybeYield();
  }
  if (objects.size === 0) {
    result.problems.push('no PDF objects found');
    return result;
  }
  if (!/%%EOF\s*$/.test(source.slice(-1024))) result.problems.push('missing %%EOF (truncated file)');

  // Fonts with a ToUnicode CMap (CID fonts from Word, browsers…), and the font names each page uses.
  const fonts = new Map<number, PdfFont>();
  for (const [id, object] of objects) {
    if (!/\/Type\s*\/Font\b/.test(object.dictionary)) continue;
    const toUnicode = /\/ToUnicode\s+(\d+)\s+\d+\s+R/.exec(object.dictionary);
    const cmap = toUnicode ? objects.get(Number(toUnicode[1]))?.content : undefined;
    const twoByte = /\/Subtype\s*\/Type0\b/.test(object.dictionary);
    if (cmap) fonts.set(id, parseToUnicode(cmap, twoByte ? 2 : 1));
    else if (twoByte) fonts.set(id, { codeBytes: 2, map: new Map() });
  }
  const allFontNames = new Map<string, PdfFont>();
  const streamFonts = new Map<number, Map<string, PdfFont>>();
  for (const object of objects.values()) {
    const names = fontNamesOf(object.dictionary, objects, fonts);
    for (const [name, font] of names) if (!allFontNames.has(name)) allFontNames.set(name, font);
    if (!/\/Type\s*\/Page\b/.test(object.dictionary)) continue;
    const contents = /\/Contents\s*(\[[^\]]*\]|\d+\s+\d+\s+R)/.exec(object.dictionary);
    for (const ref of contents?.[1].matchAll(/(\d+)\s+\d+\s+R/g) ?? [])
      streamFonts.set(Number(ref[1]), names);
  }

  for (const id of order) {
    const content = objects.get(id)?.content;
    if (!content || !/\bBT\b/.test(content) || !/(Tj|TJ|'|")/.test(content)) continue;
    const names = streamFonts.get(id);
    const text = contentStreamText(content, (name) => names?.get(name) ?? allFontNames.get(name));
    if (text.trim()) result.texts.push(text);
    await yielder.maybeYield();
  }
  return result;
}

/** How a font's string bytes become text: fixed-width codes through a ToUnicode map. */
export interface PdfFont {
  codeBytes: number;
  map: Map<number, string>;
}

/** Font resource names (`/F1`) of a page or form dictionary, resolved to fonts with ToUnicode maps. */
function fontNamesOf(
  dictionary: string,
  objects: Map<number, PdfObject>,
  fonts: Map<number, PdfFont>,
): Map<string, PdfFont> {
  const names = new Map<string, PdfFont>();
  let resources = dictionary;
  const resourcesRef = /\/Resources\s+(\d+)\s+\d+\s+R/.exec(dictionary);
  if (resourcesRef) resources = objects.get(Number(resourcesRef[1]))?.dictionary ?? '';
  let fontDictionary: string | undefined;
  const fontRef = /\/Font\s+(\d+)\s+\d+\s+R/.exec(resources);
  if (fontRef) fontDictionary = objects.get(Number(fontRef[1]))?.dictionary;
  else fontDictionary = /\/Font\s*<<([\s\S]*?)>>/.exec(resources)?.[1];
  for (const entry of fontDictionary?.matchAll(/\/([^\s/<>[\]()]+)\s+(\d+)\s+\d+\s+R/g) ?? []) {
    const font = fonts.get(Number(entry[2]));
    if (font) names.set(entry[1], font);
  }
  return names;
}

function utf16beHex(hex: string): string {
  return new TextDecoder('utf-16be').decode(Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex'));
}

/** Parses a ToUnicode CMap: codespace width, bfchar and bfrange entries. */
export function parseToUnicode(cmap: string, defaultCodeBytes: number): PdfFont {
  const codespace = /begincodespacerange\s*<([0-9a-fA-F]+)>/.exec(cmap);
  const font: PdfFont = {
    codeBytes: codespace ? Math.max(1, codespace[1].length / 2) : defaultCodeBytes,
    map: new Map(),
  };
  for (const block of cmap.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const pair of block[1].matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>/g)) {
      font.map.set(parseInt(pair[1], 16), utf16beHex(pair[2]));
    }
  }
  for (const block of cmap.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const range of block[1].matchAll(
      /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(?:<([0-9a-fA-F]*)>|\[([^\]]*)\])/g,
    )) {
      const low = parseInt(range[1], 16);
      const high = Math.min(parseInt(range[2], 16), low + 65535);
      if (range[3] !== undefined) {
        const base = utf16beHex(range[3]);
        const last = base.charCodeAt(base.length - 1);
        for (let code = low; code <= high; code++) {
          font.map.set(code, base.slice(0, -1) + String.fromCharCode(last + (code - low)));
        }
      } else {
        const targets = [...range[4].matchAll(/<([0-9a-fA-F]*)>/g)].map((m) => utf16beHex(m[1]));
        targets.forEach((target, i) => font.map.set(low + i, target));
      }
    }
  }
  return font;
}

function decodeWithFont(bytes: string, font: PdfFont | undefined): string {
  if (!font) return decodePdfString(bytes);
  let out = '';
  for (let i = 0; i + font.codeBytes <= bytes.length; i += font.codeBytes) {
    let code = 0;
    for (let j = 0; j < font.codeBytes; j++) code = code * 256 + bytes.charCodeAt(i + j);
    const mapped = font.map.get(code);
    if (mapped !== undefined) out += mapped;
    else if (font.codeBytes === 1) out += decodePdfString(bytes[i]);
  }
  return out;
}

type Operand =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'array'; items: Operand[] }
  | { kind: 'name'; value: string }
  | { kind: 'other' };

/** Interprets the text operators of a content stream. */
export function contentStreamText(
  content: string,
  fontNamed: (name: string) => PdfFont | undefined = () => undefined,
): string {
  let out = '';
  let font: PdfFont | undefined;
  const show = (operand: Operand | undefined): string =>
    operand?.kind === 'string' ? decodeWithFont(operand.value, font) : '';
  const operands: Operand[] = [];
  const arrays: Operand[][] = [];
  let i = 0;
  const push = (operand: Operand) => (arrays.length ? arrays[arrays.length - 1] : operands).push(operand);
  const newline = () => {
    if (out && !out.endsWith('\n')) out += '\n';
  };
  while (i < content.length) {
    const ch = content[i];
    if (ch === '(') {
      const [value, next] = readLiteralString(content, i);
      push({ kind: 'string', value });
      i = next;
    } else if (ch === '<' && content[i + 1] !== '<') {
      const end = content.indexOf('>', i);
      const hex = content.slice(i + 1, end === -1 ? content.length : end).replace(/[^0-9a-fA-F]/g, '');
      push({
        kind: 'string',
        value: Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex').toString('latin1'),
      });
      i = end === -1 ? content.length : end + 1;
    } else if (ch === '[') {
      arrays.push([]);
      i++;
    } else if (ch === ']') {
      const items = arrays.pop() ?? [];
      push({ kind: 'array', items });
      i++;
    } else if (ch === '%') {
      const end = content.indexOf('\n', i);
      i = end === -1 ? content.length : end + 1;
    } else if (/\s/.test(ch)) {
      i++;
    } else {
      let j = i + 1;
      while (j < content.length && !/[\s()<>[\]{}/%]/.test(content[j])) j++;
      if (ch === '/' || ch === '{' || ch === '}' || ch === '>') {
        if (ch === '/') push({ kind: 'name', value: content.slice(i + 1, j) });
        i = ch === '/' ? j : i + 1;
        continue;
      }
      const token = content.slice(i, j);
      i = j;
      const number = Number(token);
      if (!Number.isNaN(number) && /^[-+.\d]/.test(token)) {
        push({ kind: 'number', value: number });
        continue;
      }
      switch (token) {
        case 'Tf': {
          const name = operands[operands.length - 2];
          font = name?.kind === 'name' ? fontNamed(name.value) : undefined;
          break;
        }
        case 'Tj':
          out += show(operands[operands.length - 1]);
          break;
        case "'":
        case '"':
          newline();
          out += show(operands[operands.length - 1]);
          break;
        case 'TJ': {
          const array = operands[operands.length - 1];
          if (array?.kind === 'array') {
            for (const item of array.items) {
              if (item.kind === 'string') out += show(item);
              // A large negative kerning gap is a word space.
              else if (item.kind === 'number' && item.value < -200 && !out.endsWith(' ')) out += ' ';
            }
          }
          break;
        }
        case 'T*':
        case 'ET':
          newline();
          break;
        case 'Td':
        case 'TD': {
          const ty = operands[operands.length - 1];
          if (ty?.kind === 'number' && ty.value !== 0) newline();
          else if (out && !/\s$/.test(out)) out += ' ';
          break;
        }
        case 'Tm':
          newline();
          break;
        default:
          break;
      }
      operands.length = 0;
    }
  }
  newline();
  return out;
}

/** Reads a literal string `( … )` with escapes and balanced parentheses; returns raw bytes (latin1) and next index. */
function readLiteralString(content: string, start: number): [string, number] {
  let depth = 0;
  let out = '';
  let i = start + 1;
  for (; i < content.length; i++) {
    const ch = content[i];
    if (ch === '\\') {
      const next = content[++i];
      if (next === undefined) break;
      const escapes: Record<string, string> = {
        n: '\n',
        r: '\r',
        t: '\t',
        b: '\b',
        f: '\f',
        '(': '(',
        ')': ')',
        '\\': '\\',
      };
      if (escapes[next] !== undefined) out += escapes[next];
      else if (/[0-7]/.test(next)) {
        let octal = next;
        while (octal.length < 3 && /[0-7]/.test(content[i + 1] ?? '')) octal += content[++i];
        out += String.fromCharCode(parseInt(octal, 8) & 0xff);
      } else if (next === '\r') {
        if (content[i + 1] === '\n') i++;
      } else if (next !== '\n') out += next;
    } else if (ch === '(') {
      depth++;
      out += ch;
    } else if (ch === ')') {
      if (depth === 0) return [out, i + 1];
      depth--;
      out += ch;
    } else out += ch;
  }
  return [out, i];
}

function decodePdfString(bytes: string): string {
  if (bytes.charCodeAt(0) === 0xfe && bytes.charCodeAt(1) === 0xff) {
    return new TextDecoder('utf-16be').decode(Buffer.from(bytes, 'latin1'));
  }
  return decodeWindows1252(Buffer.from(bytes, 'latin1'));
}

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
  let objects = 0;
  let inflatedTotal = 0;
  OBJECT_START.lastIndex = 0;
  for (let match = OBJECT_START.exec(source); match; match = OBJECT_START.exec(source)) {
    objects++;
    const bodyStart = match.index + match[0].length;
    const endObj = source.indexOf('endobj', bodyStart);
    const streamAt = source.indexOf('stream', bodyStart);
    if (streamAt === -1 || (endObj !== -1 && streamAt > endObj)) {
      if (endObj !== -1) OBJECT_START.lastIndex = endObj + 6;
      continue;
    }
    const dictionary = source.slice(bodyStart, streamAt);
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
    const content = raw.toString('latin1');
    if (!/\b(Tj|TJ)\b|'|"/.test(content) || !/\bBT\b/.test(content)) continue;
    const text = contentStreamText(content);
    if (text.trim()) result.texts.push(text);
    await yielder.maybeYield();
  }
  if (objects === 0) result.problems.push('no PDF objects found');
  else if (!/%%EOF\s*$/.test(source.slice(-1024))) result.problems.push('missing %%EOF (truncated file)');
  return result;
}

type Operand =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'array'; items: Operand[] }
  | { kind: 'other' };

/** Interprets the text operators of a content stream. */
export function contentStreamText(content: string): string {
  let out = '';
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
      push({ kind: 'string', value: decodePdfString(value) });
      i = next;
    } else if (ch === '<' && content[i + 1] !== '<') {
      const end = content.indexOf('>', i);
      const hex = content.slice(i + 1, end === -1 ? content.length : end).replace(/[^0-9a-fA-F]/g, '');
      push({
        kind: 'string',
        value: decodePdfString(Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex').toString('latin1')),
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
        if (ch === '/') push({ kind: 'other' });
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
        case 'Tj':
          out += stringOf(operands[operands.length - 1]);
          break;
        case "'":
        case '"':
          newline();
          out += stringOf(operands[operands.length - 1]);
          break;
        case 'TJ': {
          const array = operands[operands.length - 1];
          if (array?.kind === 'array') {
            for (const item of array.items) {
              if (item.kind === 'string') out += item.value;
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

function stringOf(operand: Operand | undefined): string {
  return operand?.kind === 'string' ? operand.value : '';
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

/**
 * PDF text layer extraction, good enough for generated documents: scans the file for indirect objects (no xref
 * needed, so damaged files still give what they have), unpacks object streams (PDF 1.5+, where Page and Font
 * dictionaries often live), decodes streams through their filter chain (FlateDecode, LZWDecode, ASCII85Decode,
 * ASCIIHexDecode; image filters, other filters and PNG/TIFF predictors are skipped), and reads the text-showing
 * operators (Tj, TJ, ', ") of page content streams. Fonts with a ToUnicode CMap (CID fonts from Word, browsers…)
 * are mapped through it; CID fonts without one through the cmap of their embedded TrueType program (truetype.ts),
 * when there is one (CFF programs are not read, and their text is not guessed at); other strings are decoded as
 * PDFDocEncoding / WinAnsi, or UTF-16BE with a BOM. Every decoded stream, object streams and font programs
 * included, counts against one decompression budget. Files encrypted with an owner password only are decrypted first
 * (pdf-crypt.ts); one that needs a password to open is reported as encrypted.
 */
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { pdfSecurity } from './pdf-crypt';
import { readLiteralString } from './pdf-syntax';
import { LoopYielder, decodeWindows1252 } from './text';
import { glyphCharacters } from './truetype';

const inflate = promisify(zlib.inflate);

export interface PdfText {
  /** Text of each content stream, in file order. */
  texts: string[];
  /** Problems worth reporting (damaged streams, truncation). */
  problems: string[];
  /** Why the text cannot be read without a password (or another security handler); unset when it can. */
  encrypted?: string;
  /** Decoding stopped at the decompression budget: the text is what came before. */
  overLimit: boolean;
}

const OBJECT_START = /(\d+)\s+(\d+)\s+obj\b/;

const OBJECT_STREAM = /\/Type\s*\/ObjStm\b/;

/** Stream dictionaries that never hold page text. */
const NON_TEXT_STREAM =
  /\/Subtype\s*\/(Image|XML|Type1C|CIDFontType0C|OpenType)\b|\/Type\s*\/(XRef|Metadata|EmbeddedFile)\b|\/Length[123]\b/;

interface PdfObject {
  dictionary: string;
  /** Decoded stream content (latin1), for streams that may hold text or a ToUnicode CMap. */
  content?: string;
}

export async function extractPdfText(data: Buffer, maxInflatedBytes: number): Promise<PdfText> {
  const result: PdfText = { texts: [], problems: [], overLimit: false };
  const source = data.toString('latin1');
  if (!source.startsWith('%PDF-')) {
    result.problems.push('missing %PDF header');
    return result;
  }
  // Encrypted with an owner password only (no password to open): decrypted like any reader would.
  const security = pdfSecurity(source);
  if (security.kind === 'locked') {
    result.encrypted = security.reason;
    return result;
  }
  const decryptor = security.kind === 'open' ? security.decryptor : undefined;
  const yielder = new LoopYielder();
  // The last definition of an object number in file order wins, whether top-level or inside an object stream:
  // an incremental update appends its objects (loose or packed), so a later definition is the newer one.
  const objects = new Map<number, PdfObject>();
  /** Object ids in file order (a later revision of an id replaces the earlier one). */
  const order: number[] = [];
  /** Where the streams skipped on the way lie (font programs among them), should one be needed later. */
  const skippedStreams = new Map<number, { start: number; end: number; generation: number }>();
  let inflatedTotal = 0;
  // A regex of its own: the loop awaits, and a shared global regex's lastIndex would be moved by another PDF.
  const objectStart = new RegExp(OBJECT_START.source, 'g');
  for (let match = objectStart.exec(source); match; match = objectStart.exec(source)) {
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
      if (endObj !== -1) objectStart.lastIndex = endObj + 6;
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
    objectStart.lastIndex = endStream + 9;
    const isObjectStream = OBJECT_STREAM.test(dictionary);
    if (!isObjectStream && NON_TEXT_STREAM.test(dictionary)) {
      skippedStreams.set(id, { start: dataStart, end: endStream, generation: Number(match[2]) });
      continue;
    }
    skippedStreams.delete(id);
    let raw: Buffer | undefined = data.subarray(dataStart, endStream);
    if (decryptor) {
      raw = await decryptor.decrypt(Number(match[1]), Number(match[2]), exactCiphertext(raw, dictionary));
      if (!raw) {
        result.problems.push(`object ${match[1]}: stream does not decrypt`);
        continue;
      }
    }
    const decoded = await decodeStream(raw, dictionary, maxInflatedBytes - inflatedTotal);
    if (decoded.status === 'over-limit') {
      result.overLimit = true;
      break;
    }
    if (decoded.status === 'damaged') {
      result.problems.push(`object ${match[1]}: damaged ${decoded.filter} stream`);
      continue;
    }
    if (decoded.status === 'skipped') {
      // Losing an object stream loses the pages and fonts in it: worth saying. Other streams: images, no text.
      if (isObjectStream) result.problems.push(`object ${match[1]}: object stream with unsupported encoding`);
      continue;
    }
    inflatedTotal += decoded.data.length;
    if (inflatedTotal >= maxInflatedBytes) {
      result.overLimit = true;
      break;
    }
    if (isObjectStream) {
      const problem = unpackObjectStream(decoded.data.toString('latin1'), dictionary, objects);
      if (problem) result.problems.push(`object ${match[1]}: ${problem}`);
    } else object.content = decoded.data.toString('latin1');
    await yielder.maybeYield();
  }
  if (objects.size === 0) {
    result.problems.push('no PDF objects found');
    return result;
  }
  if (!/%%EOF\s*$/.test(source.slice(-1024))) result.problems.push('missing %%EOF (truncated file)');

  /** A stream passed over in the scan (a font program), decrypted and decoded now, within the same budget. */
  const skippedStream = async (id: number): Promise<Buffer | undefined> => {
    const at = skippedStreams.get(id);
    const dictionary = objects.get(id)?.dictionary;
    if (!at || dictionary === undefined || result.overLimit) return undefined;
    let raw: Buffer | undefined = data.subarray(at.start, at.end);
    if (decryptor) raw = await decryptor.decrypt(id, at.generation, exactCiphertext(raw, dictionary));
    if (!raw) return undefined;
    const decoded = await decodeStream(raw, dictionary, maxInflatedBytes - inflatedTotal);
    if (decoded.status === 'over-limit') result.overLimit = true;
    if (decoded.status !== 'decoded') return undefined;
    inflatedTotal += decoded.data.length;
    return decoded.data;
  };

  // Fonts with a ToUnicode CMap (CID fonts from Word, browsers…), and the font names each page uses. A CID font
  // without one is read through the character map of its embedded TrueType program, when it has one.
  const fonts = new Map<number, PdfFont>();
  for (const [id, object] of objects) {
    if (!/\/Type\s*\/Font\b/.test(object.dictionary)) continue;
    const toUnicode = /\/ToUnicode\s+(\d+)\s+\d+\s+R/.exec(object.dictionary);
    const cmap = toUnicode ? objects.get(Number(toUnicode[1]))?.content : undefined;
    const twoByte = /\/Subtype\s*\/Type0\b/.test(object.dictionary);
    if (cmap) fonts.set(id, parseToUnicode(cmap, twoByte ? 2 : 1));
    else if (twoByte) fonts.set(id, await embeddedCidFont(object.dictionary, objects, skippedStream));
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

/** Ciphertext must be exact: a stream's /Length bytes when given directly, else without the EOL before endstream. */
function exactCiphertext(raw: Buffer, dictionary: string): Buffer {
  // A direct number only: not the object number of `/Length 12 0 R` (nor a prefix of it).
  const length = /\/Length\s+(\d+)(?!\d|\s+\d+\s+R)/.exec(dictionary);
  if (length && Number(length[1]) <= raw.length) return raw.subarray(0, Number(length[1]));
  return raw.subarray(0, raw.length - (/\r?\n$/.exec(raw.subarray(-2).toString('latin1'))?.[0].length ?? 0));
}

/**
 * A Type0 font without ToUnicode (Identity-H or -V encoding, so codes are CIDs): its CIDFontType2 descendant's
 * embedded TrueType program maps glyphs to characters, and /CIDToGIDMap (Identity, or a stream of glyph ids)
 * CIDs to glyphs. Anything missing leaves the font without a map: its text is then not guessed at.
 */
async function embeddedCidFont(
  type0: string,
  objects: Map<number, PdfObject>,
  skippedStream: (id: number) => Promise<Buffer | undefined>,
): Promise<PdfFont> {
  const font: PdfFont = { codeBytes: 2, map: new Map() };
  if (!/\/Encoding\s*\/Identity-[HV]\b/.test(type0)) return font;
  const reference = (dictionary: string | undefined, key: string) => {
    const match = new RegExp(`/${key}\\s*\\[?\\s*(\\d+)\\s+\\d+\\s+R`).exec(dictionary ?? '');
    return match ? Number(match[1]) : undefined;
  };
  let descendantId = reference(type0, 'DescendantFonts');
  // /DescendantFonts may be an indirect array: `[8 0 R]` as an object of its own.
  const indirect = descendantId === undefined ? undefined : objects.get(descendantId)?.dictionary;
  if (indirect && !/\/Type\s*\/Font\b/.test(indirect)) {
    const inArray = /(\d+)\s+\d+\s+R/.exec(indirect);
    descendantId = inArray ? Number(inArray[1]) : undefined;
  }
  const descendant = descendantId === undefined ? undefined : objects.get(descendantId)?.dictionary;
  if (!descendant || !/\/Subtype\s*\/CIDFontType2\b/.test(descendant)) return font;
  const fontFileId = reference(
    objects.get(reference(descendant, 'FontDescriptor') ?? -1)?.dictionary,
    'FontFile2',
  );
  const program = fontFileId === undefined ? undefined : await skippedStream(fontFileId);
  if (!program) return font;
  const characters = glyphCharacters(program);
  const cidToGidId = reference(descendant, 'CIDToGIDMap');
  if (cidToGidId === undefined) {
    for (const [glyph, text] of characters) font.map.set(glyph, text);
    return font;
  }
  const cidToGid = objects.get(cidToGidId)?.content ?? (await skippedStream(cidToGidId))?.toString('latin1');
  for (let cid = 0; cidToGid && cid * 2 + 1 < cidToGid.length; cid++) {
    const text = characters.get(cidToGid.charCodeAt(cid * 2) * 256 + cidToGid.charCodeAt(cid * 2 + 1));
    if (text !== undefined) font.map.set(cid, text);
  }
  return font;
}

/** Most objects read from one object stream; a larger /N is damage or an attack, and only this many are read. */
const MAX_OBJECT_STREAM_OBJECTS = 100_000;

/**
 * Adds the objects of a decoded object stream (PDF 32000-1 §7.5.7) to `objects`, as dictionary-only objects
 * (streams cannot be packed). The header holds /N pairs `objnum offset`; a body starts at /First + offset and runs
 * to the next body. Returns a problem when the header is damaged; the objects it still locates are kept.
 */
function unpackObjectStream(
  content: string,
  dictionary: string,
  objects: Map<number, PdfObject>,
): string | undefined {
  const count = Number(/\/N\s+(\d+)/.exec(dictionary)?.[1]);
  const first = Number(/\/First\s+(\d+)/.exec(dictionary)?.[1]);
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(first) || first > content.length) {
    return 'damaged object stream (no valid /N and /First)';
  }
  const header = content.slice(0, first);
  const token = /\S+/g;
  const entries: { id: number; start: number }[] = [];
  let damaged = count > MAX_OBJECT_STREAM_OBJECTS;
  for (let pair = 0; pair < Math.min(count, MAX_OBJECT_STREAM_OBJECTS); pair++) {
    const id = token.exec(header)?.[0];
    const offset = token.exec(header)?.[0];
    if (!id || !offset || !/^\d+$/.test(id) || !/^\d+$/.test(offset)) {
      damaged = true;
      break;
    }
    const start = first + Number(offset);
    if (start >= content.length) damaged = true;
    else entries.push({ id: Number(id), start });
  }
  // Offsets should ascend, but each body is cut at the next start whatever the header's order.
  const starts = [...new Set(entries.map((entry) => entry.start))].sort((a, b) => a - b);
  const endOf = new Map(starts.map((start, i) => [start, starts[i + 1] ?? content.length]));
  for (const { id, start } of entries) {
    objects.set(id, { dictionary: content.slice(start, endOf.get(start)) });
  }
  return damaged ? 'damaged object stream header' : undefined;
}

type DecodedStream =
  | { status: 'decoded'; data: Buffer }
  /** Images, rare filters and predictors: no text to be had. */
  | { status: 'skipped' }
  | { status: 'damaged'; filter: string }
  | { status: 'over-limit' };

/** Output of one filter: the bytes, or why there are none. */
type FilterOutput = Buffer | 'damaged' | 'over-limit';

/** The stream's filters in decoding order, each with its /DecodeParms dictionary ('' when it has none). */
function filterChain(dictionary: string): { filter: string; parameters: string }[] {
  const filterValue = /\/Filter\s*(\[[^\]]*\]|\/[^\s/<>[\]()]+)/.exec(dictionary)?.[1] ?? '';
  const filters = [...filterValue.matchAll(/\/([^\s/<>[\]()]+)/g)].map((m) => m[1]);
  const parametersValue = /\/DecodeParms\s*(\[[^\]]*\]|<<[\s\S]*?>>)/.exec(dictionary)?.[1] ?? '';
  const parameters = parametersValue.startsWith('[')
    ? [...parametersValue.matchAll(/<<[\s\S]*?>>|null/g)].map((m) => m[0])
    : [parametersValue];
  return filters.map((filter, i) => ({ filter, parameters: parameters[i] ?? '' }));
}

/** Applies the stream's filters in order; every filter's output is bounded by `budget` bytes. */
async function decodeStream(raw: Buffer, dictionary: string, budget: number): Promise<DecodedStream> {
  let data = raw;
  for (const { filter, parameters } of filterChain(dictionary)) {
    let output: FilterOutput;
    if (filter === 'FlateDecode' || filter === 'Fl' || filter === 'LZWDecode' || filter === 'LZW') {
      // A PNG/TIFF predictor is for images and xref streams; text content streams practically never use one,
      // and decoding without undoing it would give garbage: skip the stream.
      if (Number(/\/Predictor\s+(\d+)/.exec(parameters)?.[1] ?? 1) >= 2) return { status: 'skipped' };
      if (filter === 'FlateDecode' || filter === 'Fl') output = await inflateWithin(data, budget);
      else {
        const earlyChange = /\/EarlyChange\s+0\b/.test(parameters) ? 0 : 1;
        output = decodeLzw(data, earlyChange, budget);
      }
    } else if (filter === 'ASCII85Decode' || filter === 'A85') output = decodeAscii85(data, budget);
    else if (filter === 'ASCIIHexDecode' || filter === 'AHx') {
      output = Buffer.from(data.toString('latin1').replace(/[^0-9a-fA-F]/g, ''), 'hex');
    } else return { status: 'skipped' };
    if (output === 'over-limit') return { status: 'over-limit' };
    if (output === 'damaged') return { status: 'damaged', filter };
    data = output;
  }
  return { status: 'decoded', data };
}

const isTooLarge = (error: unknown): boolean =>
  (error as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE';

async function inflateWithin(data: Buffer, budget: number): Promise<FilterOutput> {
  const maxOutputLength = Math.max(1, budget);
  try {
    return await inflate(data, { maxOutputLength });
  } catch (error) {
    if (isTooLarge(error)) return 'over-limit';
  }
  // A stream cut short or with trailing junk: keep what inflates.
  try {
    return zlib.inflateSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength });
  } catch (error) {
    return isTooLarge(error) ? 'over-limit' : 'damaged';
  }
}

/** A byte buffer that grows on demand but never past `maxBytes` (the remaining decompression budget). */
class BoundedOutput {
  bytes: Buffer;
  length = 0;
  constructor(
    private readonly maxBytes: number,
    expectedBytes: number,
  ) {
    this.bytes = Buffer.alloc(Math.max(1, Math.min(maxBytes, expectedBytes)));
  }

  /** Makes room for `count` more bytes at `length`; false when that would pass `maxBytes`. */
  reserve(count: number): boolean {
    const needed = this.length + count;
    if (needed > this.maxBytes) return false;
    if (needed > this.bytes.length) {
      const grown = Buffer.alloc(Math.min(this.maxBytes, Math.max(needed, this.bytes.length * 2)));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    return true;
  }

  result(): Buffer {
    return this.bytes.subarray(0, this.length);
  }
}

const LZW_CLEAR = 256;
const LZW_END = 257;
const LZW_FIRST_ENTRY = 258;
const LZW_TABLE_SIZE = 4096;

/**
 * LZWDecode (§7.4.4): 9- to 12-bit codes, most significant bit first, clear code 256, end code 257. With
 * `earlyChange` 1 (the default) codes widen one table entry early, with 0 exactly when the table needs it.
 * Output past `maxBytes` is refused ('over-limit'); data after an invalid code is dropped, as for a cut Flate
 * stream, and a stream with nothing valid is 'damaged'.
 */
export function decodeLzw(input: Buffer, earlyChange: 0 | 1, maxBytes: number): FilterOutput {
  // Entry = string of `prefix` + `lastByte`; strings are written backwards from their last byte.
  const prefix = new Uint16Array(LZW_TABLE_SIZE);
  const lastByte = new Uint8Array(LZW_TABLE_SIZE);
  const firstByte = new Uint8Array(LZW_TABLE_SIZE);
  const entryLength = new Uint16Array(LZW_TABLE_SIZE);
  for (let code = 0; code < 256; code++) {
    lastByte[code] = code;
    firstByte[code] = code;
    entryLength[code] = 1;
  }
  const output = new BoundedOutput(maxBytes, input.length * 4 + 1024);
  const partial = (): FilterOutput => (output.length > 0 ? output.result() : 'damaged');
  let width = 9;
  let nextEntry = LZW_FIRST_ENTRY;
  let previous = -1;
  let bits = 0;
  let bitCount = 0;
  let position = 0;
  for (;;) {
    while (bitCount < width && position < input.length) {
      bits = (bits << 8) | input[position++];
      bitCount += 8;
    }
    if (bitCount < width) break; // no end code: keep what decoded
    bitCount -= width;
    const code = (bits >>> bitCount) & ((1 << width) - 1);
    bits &= (1 << bitCount) - 1;
    if (code === LZW_CLEAR) {
      width = 9;
      nextEntry = LZW_FIRST_ENTRY;
      previous = -1;
      continue;
    }
    if (code === LZW_END) break;
    if (previous === -1) {
      if (code > 255) return partial();
    } else {
      if (code > nextEntry) return partial();
      // A full table takes no more entries (12-bit codes cannot reach past it) until the next clear code.
      if (nextEntry < LZW_TABLE_SIZE) {
        // The new entry is the previous string plus the first byte of this one (its own first byte when this
        // code is the entry being defined).
        prefix[nextEntry] = previous;
        lastByte[nextEntry] = code === nextEntry ? firstByte[previous] : firstByte[code];
        firstByte[nextEntry] = firstByte[previous];
        entryLength[nextEntry] = entryLength[previous] + 1;
        nextEntry++;
        if (nextEntry + earlyChange >= 1 << width && width < 12) width++;
      }
    }
    const length = entryLength[code];
    if (!output.reserve(length)) return 'over-limit';
    for (let i = output.length + length - 1, entry = code; i >= output.length; i--, entry = prefix[entry]) {
      output.bytes[i] = lastByte[entry];
    }
    output.length += length;
    previous = code;
  }
  return output.result();
}

/**
 * ASCII85Decode (§7.4.3): five digits '!'..'u' make four bytes, 'z' four zero bytes, a final group of n digits
 * n − 1 bytes; '~>' ends the data and white space is ignored.
 */
export function decodeAscii85(input: Buffer, maxBytes: number): FilterOutput {
  const output = new BoundedOutput(maxBytes, Math.ceil(input.length * 0.8) + 4);
  let start = 0;
  while (start < input.length && isPdfWhiteSpace(input[start])) start++;
  if (input[start] === 0x3c && input[start + 1] === 0x7e) start += 2; // some writers keep the '<~' opener
  let group = 0;
  let digits = 0;
  const write = (value: number, count: number): boolean => {
    if (!output.reserve(count)) return false;
    for (let i = 0; i < count; i++) output.bytes[output.length++] = (value >>> (24 - 8 * i)) & 0xff;
    return true;
  };
  for (let i = start; i < input.length; i++) {
    const byte = input[i];
    if (byte === 0x7e) break; // '~' of the '~>' end marker
    if (isPdfWhiteSpace(byte)) continue;
    if (byte === 0x7a && digits === 0) {
      if (!write(0, 4)) return 'over-limit';
      continue;
    }
    if (byte < 0x21 || byte > 0x75) return 'damaged';
    group = group * 85 + (byte - 0x21);
    if (++digits < 5) continue;
    if (group > 0xffffffff) return 'damaged';
    if (!write(group, 4)) return 'over-limit';
    group = 0;
    digits = 0;
  }
  if (digits === 1) return 'damaged';
  if (digits > 1) {
    // Pad with the highest digit so the kept bytes round correctly.
    for (let i = digits; i < 5; i++) group = group * 85 + 84;
    if (group > 0xffffffff) return 'damaged';
    if (!write(group, digits - 1)) return 'over-limit';
  }
  return output.result();
}

function isPdfWhiteSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0x0c || byte === 0x00;
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

function decodePdfString(bytes: string): string {
  if (bytes.charCodeAt(0) === 0xfe && bytes.charCodeAt(1) === 0xff) {
    return new TextDecoder('utf-16be').decode(Buffer.from(bytes, 'latin1'));
  }
  return decodeWindows1252(Buffer.from(bytes, 'latin1'));
}

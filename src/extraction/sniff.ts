/**
 * Content type detection: magic bytes first, then the file name's extension, then a look at the text.
 * Works on the first bytes of a component only (see HEAD_BYTES).
 */
import { isUtf8 } from 'node:buffer';

export type Format =
  'text' | 'csv' | 'tsv' | 'json' | 'xml' | 'html' | 'eml' | 'pdf' | 'zip' | 'gzip' | 'tar' | 'unsupported';

export interface Detection {
  format: Format;
  /** For 'unsupported': what the content is, for the error message. */
  description?: string;
}

/** Bytes peeked from the start of a component for detection. */
export const HEAD_BYTES = 8192;

interface Magic {
  offset: number;
  bytes: number[] | string;
  result: Detection;
}

const unsupported = (description: string): Detection => ({ format: 'unsupported', description });

const MAGICS: Magic[] = [
  { offset: 0, bytes: '%PDF-', result: { format: 'pdf' } },
  { offset: 0, bytes: [0x50, 0x4b, 0x03, 0x04], result: { format: 'zip' } },
  { offset: 0, bytes: [0x50, 0x4b, 0x05, 0x06], result: { format: 'zip' } },
  { offset: 0, bytes: [0x50, 0x4b, 0x07, 0x08], result: { format: 'zip' } },
  { offset: 0, bytes: [0x1f, 0x8b], result: { format: 'gzip' } },
  { offset: 257, bytes: 'ustar', result: { format: 'tar' } },
  { offset: 0, bytes: [0x89, 0x50, 0x4e, 0x47], result: unsupported('PNG image') },
  { offset: 0, bytes: [0xff, 0xd8, 0xff], result: unsupported('JPEG image') },
  { offset: 0, bytes: 'GIF8', result: unsupported('GIF image') },
  { offset: 0, bytes: [0x49, 0x49, 0x2a, 0x00], result: unsupported('TIFF image') },
  { offset: 0, bytes: [0x4d, 0x4d, 0x00, 0x2a], result: unsupported('TIFF image') },
  { offset: 8, bytes: 'WEBP', result: unsupported('WebP image') },
  { offset: 4, bytes: 'ftypheic', result: unsupported('HEIC image') },
  { offset: 4, bytes: 'ftyp', result: unsupported('MP4/QuickTime media') },
  { offset: 8, bytes: 'WAVE', result: unsupported('WAV audio') },
  { offset: 8, bytes: 'AVI ', result: unsupported('AVI video') },
  { offset: 0, bytes: 'ID3', result: unsupported('MP3 audio') },
  { offset: 0, bytes: 'OggS', result: unsupported('Ogg media') },
  { offset: 0, bytes: 'fLaC', result: unsupported('FLAC audio') },
  { offset: 0, bytes: [0x1a, 0x45, 0xdf, 0xa3], result: unsupported('Matroska/WebM media') },
  { offset: 0, bytes: [0x00, 0x00, 0x01, 0x00], result: unsupported('ICO image') },
  { offset: 0, bytes: 'MZ', result: unsupported('Windows executable (PE)') },
  { offset: 0, bytes: [0x7f, 0x45, 0x4c, 0x46], result: unsupported('ELF executable') },
  { offset: 0, bytes: [0xcf, 0xfa, 0xed, 0xfe], result: unsupported('Mach-O executable') },
  { offset: 0, bytes: [0xce, 0xfa, 0xed, 0xfe], result: unsupported('Mach-O executable') },
  { offset: 0, bytes: [0xfe, 0xed, 0xfa, 0xce], result: unsupported('Mach-O executable') },
  { offset: 0, bytes: [0xfe, 0xed, 0xfa, 0xcf], result: unsupported('Mach-O executable') },
  {
    offset: 0,
    bytes: [0xca, 0xfe, 0xba, 0xbe],
    result: unsupported('Java class or Mach-O universal binary'),
  },
  { offset: 0, bytes: [0x00, 0x61, 0x73, 0x6d], result: unsupported('WebAssembly module') },
  { offset: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], result: unsupported('7-Zip archive') },
  { offset: 0, bytes: 'Rar!', result: unsupported('RAR archive') },
  { offset: 0, bytes: 'BZh', result: unsupported('bzip2 stream') },
  { offset: 0, bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], result: unsupported('xz stream') },
  { offset: 0, bytes: [0x28, 0xb5, 0x2f, 0xfd], result: unsupported('Zstandard stream') },
  { offset: 0, bytes: 'SQLite format 3\0', result: unsupported('SQLite database') },
  {
    offset: 0,
    bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    result: unsupported('legacy Office (OLE2: .doc/.xls/.ppt/.msg) document'),
  },
];

const EXTENSIONS: Record<string, Format> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  json: 'json',
  ndjson: 'json',
  jsonl: 'json',
  geojson: 'json',
  xml: 'xml',
  xsd: 'xml',
  xsl: 'xml',
  svg: 'xml',
  rss: 'xml',
  atom: 'xml',
  plist: 'xml',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  eml: 'eml',
  mht: 'eml',
  pdf: 'pdf',
  zip: 'zip',
  jar: 'zip',
  docx: 'zip',
  xlsx: 'zip',
  pptx: 'zip',
  odt: 'zip',
  ods: 'zip',
  odp: 'zip',
  gz: 'gzip',
  tgz: 'gzip',
  tar: 'tar',
};

/** MAGICS with their byte strings converted once. */
const MAGIC_BYTES: Array<{ offset: number; bytes: Uint8Array; result: Detection }> = MAGICS.map((magic) => ({
  offset: magic.offset,
  bytes: typeof magic.bytes === 'string' ? Buffer.from(magic.bytes, 'latin1') : Uint8Array.from(magic.bytes),
  result: magic.result,
}));

function matches(head: Buffer, magic: { offset: number; bytes: Uint8Array }): boolean {
  const bytes = magic.bytes;
  if (head.length < magic.offset + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[magic.offset + i] !== bytes[i]) return false;
  return true;
}

export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** True when `bytes` is valid UTF-8, allowing a sequence cut off at the end. */
export function isValidUtf8Prefix(bytes: Buffer): boolean {
  // Fast path (native check): wholly valid UTF-8 is a valid prefix; only the rest needs the decoder.
  if (isUtf8(bytes)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

const PRINTABLE = 1;
const HIGH = 2;
const NUL = 4;
/** Per byte value: PRINTABLE (printable ASCII, whitespace, ESC or any byte >= 0x80), HIGH (>= 0x80), NUL. */
const BYTE_CLASS = Uint8Array.from({ length: 256 }, (_, byte) => {
  if (byte === 0) return NUL;
  const printable =
    byte >= 0x20
      ? byte !== 0x7f
      : byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0c || byte === 0x1b;
  return (printable ? PRINTABLE : 0) | (byte >= 0x80 ? HIGH : 0);
});

/**
 * Whether bytes without a BOM look like text: few NULs, mostly printable ASCII/whitespace, and bytes >= 0x80
 * either forming valid UTF-8 or rare enough to be a single-byte encoding's accents (random binary is ~50% high).
 */
export function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return true;
  let nul = 0;
  let high = 0;
  let printable = 0;
  const countByte = (byte: number): void => {
    const kind = BYTE_CLASS[byte];
    printable += kind & PRINTABLE;
    high += (kind & HIGH) >> 1;
    nul += (kind & NUL) >> 2;
  };
  // Four bytes at a time where all four are printable ASCII (0x20–0x7e), which is nearly all of most text;
  // other words go byte by byte through the class table. The same counts, four times fewer steps.
  const start = head.byteOffset;
  const alignedStart = (4 - (start & 3)) & 3;
  const words = head.length >= alignedStart ? (head.length - alignedStart) >> 2 : 0;
  const wordsFrom = words > 0 ? alignedStart : head.length;
  for (let i = 0; i < wordsFrom; i++) countByte(head[i]);
  const view = words > 0 ? new Uint32Array(head.buffer, start + alignedStart, words) : new Uint32Array(0);
  for (let w = 0; w < words; w++) {
    const word = view[w];
    // A byte below 0x20 borrows in the subtraction, one at or above 0x80 sets its top bit, and 0x7f or 0xff
    // carries into it in the addition: any of them marks the word.
    if ((((word - 0x20202020) | word | (word + 0x01010101)) & 0x80808080) === 0) printable += 4;
    else {
      const at = alignedStart + w * 4;
      countByte(head[at]);
      countByte(head[at + 1]);
      countByte(head[at + 2]);
      countByte(head[at + 3]);
    }
  }
  for (let i = wordsFrom + words * 4; i < head.length; i++) countByte(head[i]);
  if (nul > head.length * 0.01) return false;
  if (high > head.length * 0.3 && !isValidUtf8Prefix(head)) return false;
  return printable / head.length >= 0.85;
}

/** UTF-16 without a BOM: every other byte zero in mostly-ASCII text. */
export function utf16WithoutBom(head: Buffer): 'utf-16le' | 'utf-16be' | undefined {
  const pairs = Math.floor(Math.min(head.length, 4096) / 2);
  if (pairs < 8) return undefined;
  // Most text has no NUL at all (a native scan): then neither half can be mostly zero.
  const nul = head.indexOf(0);
  if (nul === -1 || nul >= pairs * 2) return undefined;
  let zeroEven = 0;
  let zeroOdd = 0;
  for (let i = 0; i < pairs; i++) {
    if (head[2 * i] === 0) zeroEven++;
    if (head[2 * i + 1] === 0) zeroOdd++;
  }
  if (zeroOdd > pairs * 0.7 && zeroEven < pairs * 0.05) return 'utf-16le';
  if (zeroEven > pairs * 0.7 && zeroOdd < pairs * 0.05) return 'utf-16be';
  return undefined;
}

const HEADER_LINE = /^[A-Za-z][A-Za-z0-9-]*:[ \t]/;
const MAIL_HEADERS =
  /^(from|to|subject|date|message-id|mime-version|received|return-path|delivered-to|reply-to|content-type)$/i;

/** An RFC 5322 message: starts with header lines and has at least two well-known mail headers. */
function looksLikeMail(text: string): boolean {
  // The first line must be a header: checked before splitting (most text fails here).
  if (!HEADER_LINE.test(text)) return false;
  const lines = text.split(/\r?\n/, 40);
  let known = 0;
  for (const [i, line] of lines.entries()) {
    if (line === '') return i > 0 && known >= 2;
    if (/^[ \t]/.test(line) && i > 0) continue;
    if (!HEADER_LINE.test(line)) return false;
    if (MAIL_HEADERS.test(line.slice(0, line.indexOf(':')))) known++;
  }
  return known >= 3;
}

/** Detects a text format from decoded leading text. */
function sniffText(text: string): Format {
  const start = text.replace(/^\uFEFF/, '').trimStart();
  const lower = start.slice(0, 512).toLowerCase();
  if (
    lower.startsWith('<!doctype html') ||
    lower.startsWith('<html') ||
    /^<\?xml[^>]*>\s*<!doctype html/.test(lower)
  )
    return 'html';
  if (lower.startsWith('<?xml')) return 'xml';
  if (start.startsWith('{') || start.startsWith('[')) return 'json';
  if (looksLikeMail(start)) return 'eml';
  return 'text';
}

/** Non-streaming decoders keep no state between calls: one each, created once. */
const HEAD_DECODERS = {
  'utf-8': new TextDecoder('utf-8'),
  'utf-16le': new TextDecoder('utf-16le'),
  'utf-16be': new TextDecoder('utf-16be'),
};

/**
 * Detects the format of a component from its first bytes (HEAD_BYTES of them, fewer when the component is
 * shorter) and its name.
 */
export function detectFormat(head: Buffer, name: string): Detection {
  for (const magic of MAGIC_BYTES) if (matches(head, magic)) return magic.result;
  const byExtension = EXTENSIONS[extensionOf(name)];
  // Binary containers must carry their magic; a .zip that is not a zip is corrupt, reported by its reader.
  if (byExtension === 'zip' || byExtension === 'gzip' || byExtension === 'pdf' || byExtension === 'tar')
    return { format: byExtension };
  const hasBom =
    (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) ||
    (head[0] === 0xff && head[1] === 0xfe) ||
    (head[0] === 0xfe && head[1] === 0xff);
  const utf16 = hasBom ? undefined : utf16WithoutBom(head);
  if (!hasBom && !utf16 && !looksLikeText(head)) return unsupported('binary content with no text layer');
  if (byExtension) return { format: byExtension };
  const encoding = utf16 ?? (head[0] === 0xff ? 'utf-16le' : head[0] === 0xfe ? 'utf-16be' : 'utf-8');
  return { format: sniffHead(head, HEAD_DECODERS[encoding]) };
}

/** Leading bytes decoded first: sniffText reads 512 characters past leading whitespace, mail up to 40 lines. */
const SNIFF_PREFIX_BYTES = 2048;

/**
 * sniffText of the decoded head, decoding only a prefix when that decides it (most text: a small file's head is
 * the whole file, and decoding it twice was a tenth of what the main thread allocated per file).
 */
function sniffHead(head: Buffer, decoder: (typeof HEAD_DECODERS)['utf-8']): Format {
  if (head.length > SNIFF_PREFIX_BYTES) {
    // The prefix's last characters may be a cut sequence: only what comes before them is the head's own text.
    const start = decoder.decode(head.subarray(0, SNIFF_PREFIX_BYTES)).slice(0, -4).trimStart();
    // A mail-like start may need more lines than the prefix holds.
    if (start.length >= 512 && !HEADER_LINE.test(start)) return sniffText(start);
  }
  return sniffText(decoder.decode(head));
}

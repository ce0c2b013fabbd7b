/** Streaming text decoding (encoding detection) and chunking into text/table components. */
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import type { ContentComponent } from '../core/models';
import { isValidUtf8Prefix, utf16WithoutBom } from './sniff';

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/**
 * Picks the encoding from the first bytes: a BOM decides; else UTF-16 by its zero bytes; else UTF-8 when the
 * bytes are valid UTF-8 (a sequence cut at the end of `head` is fine); else Windows-1252 (a superset of Latin-1).
 */
export function detectEncoding(head: Buffer): TextEncodingName {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  const utf16 = utf16WithoutBom(head);
  if (utf16) return utf16;
  return isValidUtf8Prefix(head) ? 'utf-8' : 'windows-1252';
}

/** Windows-1252 bytes 0x80–0x9F (the rest is Latin-1); undefined bytes map to themselves as C1 controls. */
const WINDOWS_1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/**
 * Windows-1252 decoding. Node 20's TextDecoder('windows-1252') decodes 0x80–0x9F as Latin-1 C1 controls on its
 * non-streaming path, so € would be lost; this does it by table.
 */
export function decodeWindows1252(bytes: Uint8Array): string {
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return latin1.replace(/[\x80-\x9f]/g, (ch) => WINDOWS_1252_HIGH[ch.charCodeAt(0) - 0x80]);
}

export interface DecodedChunk {
  text: string;
  /** Source bytes that produced this text. */
  bytes: number;
}

/** Lets other work run between CPU-heavy steps: yields to the event loop at most every `sliceMs`. */
export class LoopYielder {
  private last = performance.now();
  constructor(private readonly sliceMs = 8) {}
  async maybeYield(): Promise<void> {
    const now = performance.now();
    if (now - this.last >= this.sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.last = performance.now();
    }
  }
}

/** Start of an incomplete UTF-8 sequence at the end of `bytes` (bytes.length when complete). */
function incompleteUtf8Tail(bytes: Buffer): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 3); i--) {
    const byte = bytes[i];
    if ((byte & 0xc0) === 0x80) continue;
    if (byte >= 0xc0) {
      const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return bytes.length - i < needed ? i : bytes.length;
    }
    break;
  }
  return bytes.length;
}

/**
 * Decodes bytes to text chunk by chunk. UTF-8 that turns out invalid later in the stream switches to
 * Windows-1252 from the offending chunk on, rather than filling the text with U+FFFD.
 */
export class IncrementalTextDecoder {
  private current: TextEncodingName;
  /** UTF-16 only (created only then: a decoder costs more than decoding a small file's UTF-8). */
  private readonly decoder: TextDecoder | undefined;
  /** UTF-8 mode: bytes of a sequence cut at the end of the previous chunk. */
  private carry: Buffer | undefined;
  /** UTF-8 mode: a BOM is dropped only at the very start. */
  private atStart = true;

  constructor(encoding: TextEncodingName) {
    this.current = encoding;
    this.decoder = encoding.startsWith('utf-16')
      ? new TextDecoder(encoding === 'utf-16be' ? 'utf-16be' : 'utf-16le')
      : undefined;
  }

  /** The text of the next chunk (a sequence cut at its end waits for the next one). */
  push(chunk: Buffer): string {
    if (this.current === 'utf-8') {
      const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
      const cut = incompleteUtf8Tail(data);
      const complete = data.subarray(0, cut);
      // Native validation and decoding: what a fatal TextDecoder does, several times faster.
      if (isUtf8(complete)) {
        let text = complete.toString('utf8');
        if (this.atStart && text.length > 0) {
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
          this.atStart = false;
        }
        this.carry = cut < data.length ? Buffer.from(data.subarray(cut)) : undefined;
        return text;
      }
      this.current = 'windows-1252';
      this.carry = undefined;
      return decodeWindows1252(data);
    }
    if (this.current === 'windows-1252') return decodeWindows1252(chunk);
    return this.decoder ? this.decoder.decode(chunk, { stream: true }) : decodeWindows1252(chunk);
  }

  /** What the end of the input leaves: a sequence cut by it is not UTF-8 after all. */
  end(): string {
    if (this.carry) return decodeWindows1252(this.carry);
    return this.decoder && this.current.startsWith('utf-16') ? this.decoder.decode() : '';
  }
}

/** Decodes a byte stream to text chunks (see IncrementalTextDecoder), letting other work run between them. */
export async function* decodeText(
  chunks: AsyncIterable<Buffer>,
  encoding: TextEncodingName,
  yielder = new LoopYielder(),
): AsyncGenerator<DecodedChunk> {
  const decoder = new IncrementalTextDecoder(encoding);
  for await (const chunk of chunks) {
    const text = decoder.push(chunk);
    if (text.length > 0 || chunk.length > 0) yield { text, bytes: chunk.length };
    await yielder.maybeYield();
  }
  const tail = decoder.end();
  if (tail) yield { text: tail, bytes: 0 };
}

/** One component's bytes to `kind:'text'` components: decoded, transformed (JSON, XML, HTML to text), chunked. */
export class TextComponents {
  private readonly decoder: IncrementalTextDecoder;
  private readonly chunker: TextChunker;

  constructor(
    objectId: string,
    componentPath: string,
    chunkChars: number,
    encoding: TextEncodingName,
    private readonly transform: (text: string) => string,
    private readonly end?: () => string,
  ) {
    this.decoder = new IncrementalTextDecoder(encoding);
    this.chunker = new TextChunker(objectId, componentPath, chunkChars);
  }

  /** The components the next chunk of bytes completes. */
  push(chunk: Buffer): ContentComponent[] {
    if (chunk.length === 0) return [];
    return this.chunker.push(this.transform(this.decoder.push(chunk)), chunk.length);
  }

  /** The rest, at the end of the bytes. */
  finish(): ContentComponent[] {
    const tail = this.decoder.end();
    const out = tail ? this.chunker.push(this.transform(tail)) : [];
    if (this.end) out.push(...this.chunker.push(this.end()));
    out.push(...this.chunker.flush());
    return out;
  }
}

/** Cuts a stream of text into consecutive, non-overlapping `kind:'text'` components with offset and line. */
export class TextChunker {
  private pending: string[] = [];
  private pendingLength = 0;
  private pendingBytes = 0;
  private offset = 0;
  private line = 1;

  constructor(
    private readonly objectId: string,
    private readonly componentPath: string,
    private readonly chunkChars: number,
  ) {}

  /** Adds text; returns the components that are full. */
  push(text: string, bytes = 0): ContentComponent[] {
    this.pendingBytes += bytes;
    if (text.length === 0) return [];
    this.pending.push(text);
    this.pendingLength += text.length;
    const out: ContentComponent[] = [];
    if (this.pendingLength >= this.chunkChars) {
      let all = this.pending.join('');
      while (all.length >= this.chunkChars) {
        let cut = this.chunkChars;
        // Never split a surrogate pair.
        const code = all.charCodeAt(cut - 1);
        if (code >= 0xd800 && code <= 0xdbff) cut--;
        out.push(this.emit(all.slice(0, cut), all.length === cut));
        all = all.slice(cut);
      }
      this.pending = all ? [all] : [];
      this.pendingLength = all.length;
    }
    return out;
  }

  /** Emits whatever is left (nothing when no text was pushed at all). */
  flush(): ContentComponent[] {
    if (this.pendingLength === 0) return [];
    const text = this.pending.join('');
    this.pending = [];
    this.pendingLength = 0;
    return [this.emit(text, true)];
  }

  /** Characters emitted or pending so far. */
  get length(): number {
    return this.offset + this.pendingLength;
  }

  private emit(text: string, takesAllBytes: boolean): ContentComponent {
    // Bytes are attributed to the chunk that completes them; the last chunk takes the rest.
    const bytes = takesAllBytes ? this.pendingBytes : Math.min(this.pendingBytes, text.length);
    this.pendingBytes -= bytes;
    const component: ContentComponent = {
      objectId: this.objectId,
      componentPath: this.componentPath,
      kind: 'text',
      text,
      offset: this.offset,
      line: this.line,
      bytes,
    };
    this.offset += text.length;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.line++;
    return component;
  }
}

/** Batches table rows into `kind:'table'` components with rowOffset. */
export class TableBatcher {
  private rows: unknown[][] = [];
  private rowOffset = 0;
  private pendingBytes = 0;
  private emitted = false;
  columns: string[] | undefined;

  constructor(
    private readonly objectId: string,
    private readonly componentPath: string,
    private readonly batchRows: number,
  ) {}

  addBytes(bytes: number): void {
    this.pendingBytes += bytes;
  }

  /** The first row added becomes the header unless columns were set. */
  push(row: unknown[]): ContentComponent | undefined {
    if (!this.columns) {
      this.columns = row.map(
        (cell, i) => (cell === null || cell === undefined ? '' : String(cell)) || `column_${i + 1}`,
      );
      return undefined;
    }
    this.rows.push(row);
    return this.rows.length >= this.batchRows ? this.emit() : undefined;
  }

  /** Emits the last batch; a table with a header and no rows still yields one component (its columns). */
  flush(): ContentComponent | undefined {
    if (!this.columns) return undefined;
    if (this.rows.length === 0 && this.emitted) return undefined;
    return this.emit();
  }

  private emit(): ContentComponent {
    const component: ContentComponent = {
      objectId: this.objectId,
      componentPath: this.componentPath,
      kind: 'table',
      columns: this.columns,
      rows: this.rows,
      rowOffset: this.rowOffset,
      bytes: this.pendingBytes,
    };
    this.rowOffset += this.rows.length;
    this.rows = [];
    this.pendingBytes = 0;
    this.emitted = true;
    return component;
  }
}

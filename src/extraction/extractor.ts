/**
 * ContentExtractor (the guide's `extract_from_file`): detects each component's format and yields its text or
 * table content as ContentComponents, recursing into archives (zip, gzip, tar) and mail attachments.
 *
 * Content problems never throw: anything refused (limits), unreadable (corrupt) or without text (images,
 * executables) becomes a `kind:'error'` component and extraction goes on with the next component. What does throw
 * is not about the content: cancellation (CANCELLED) and failures of the caller's source stream, wrapped by
 * ErrorHandler so they keep their retry decision.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import type { ContentComponent } from '../core/models';
import { ErrorType, PlatformError, platformError } from '../core/errors';
import { ErrorHandler } from '../core/error-handler';
import { CsvParser, isBlankRecord, sniffDelimiter } from './csv';
import { JsonFlattener } from './json';
import { resolveLimits, type ExtractionLimits, type ResolvedExtractionLimits } from './limits';
import { HtmlToText, XmlToText } from './markup';
import { parseMail, decodeCharset } from './mime';
import { detectOfficeFormat, extractOffice, type OfficeParts } from './office';
import { extractPdfText } from './pdf';
import { HEAD_BYTES, detectFormat, extensionOf, type Format } from './sniff';
import { LoopYielder, TableBatcher, TextChunker, TextComponents, decodeText, detectEncoding } from './text';
import { ZipReader, type ZipEntry } from './zip';

const TEXT_TRANSFORMS = { json: JsonFlattener, xml: XmlToText, html: HtmlToText } as const;

/** How a text-like format becomes text (a fresh streaming transform per component), or undefined for others. */
function textTransform(format: Format): { push: (text: string) => string; end?: () => string } | undefined {
  if (format === 'text') return { push: (text) => text };
  if (format !== 'json' && format !== 'xml' && format !== 'html') return undefined;
  // Streaming text transforms: each keeps its own state across chunks.
  const transform = new TEXT_TRANSFORMS[format]();
  return { push: (text) => transform.push(text), end: () => transform.end() };
}

export interface ExtractOptions {
  /** Path shown for the component; default: the objectId's path part (after the first ':'). */
  componentPath?: string;
  /** Name used for extension-based detection; default: the component path (then the file path). */
  fileName?: string;
  /** Cancels extraction: the iterator throws a CANCELLED PlatformError. */
  abortSignal?: AbortSignal;
}

/** Largest piece handed to a parser at once, so no single step holds the event loop long. */
const SLICE_BYTES = 64 * 1024;
/** Files up to this size are read whole with one readFile rather than streamed. */
export const SMALL_FILE_BYTES = 64 * 1024;

/** One component's bytes plus what is known about it. */
interface Source {
  /** Name for extension-based detection. */
  name: string;
  componentPath: string;
  /** Archive nesting depth: 0 for the object itself, n+1 for the entries of an archive at depth n. */
  depth: number;
  /** A file on disk holding exactly these bytes (random access for zip). */
  filePath?: string;
  chunks: AsyncIterable<Buffer>;
  /** Set by meter() when a limit cut the byte stream short. */
  cut?: { message: string };
}

/** Per-object state: limits, budgets shared by nested archives, temp files. */
class ObjectExtraction {
  entries = 0;
  decompressedBytes = 0;
  /** Compressed size of the object (file size, or bytes read so far from a stream). */
  objectBytes = 0;
  /** Set once an object-wide budget is spent: nothing further is decompressed. */
  exhausted: string | undefined;
  private tempDir: string | undefined;
  private tempCounter = 0;

  constructor(
    readonly objectId: string,
    readonly limits: ResolvedExtractionLimits,
    readonly signal: AbortSignal | undefined,
  ) {}

  checkAbort(): void {
    if (this.signal?.aborted) {
      throw platformError(ErrorType.CANCELLED, 'content extraction cancelled', { objectId: this.objectId });
    }
  }

  error(componentPath: string, type: ErrorType, message: string, bytes?: number): ContentComponent {
    const component: ContentComponent = {
      objectId: this.objectId,
      componentPath,
      kind: 'error',
      error: { type, message },
    };
    if (bytes !== undefined) component.bytes = bytes;
    return component;
  }

  async tempFile(): Promise<string> {
    this.tempDir ??= await fsp.mkdtemp(path.join(os.tmpdir(), 'assay-extract-'));
    return path.join(this.tempDir, `spool-${++this.tempCounter}`);
  }

  async cleanup(): Promise<void> {
    if (this.tempDir) await fsp.rm(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }
}

/** The source of bytes in memory: named by its component path, or by `filePath` when only that has an extension. */
function bufferSource(
  objectId: string,
  options: ExtractOptions & { filePath?: string },
): Omit<Source, 'chunks'> {
  const componentPath = options.componentPath ?? defaultComponentPath(objectId);
  return {
    name:
      options.fileName ??
      (extensionOf(componentPath) || !options.filePath ? componentPath : options.filePath),
    componentPath,
    depth: 0,
    filePath: options.filePath,
  };
}

/** Errors that must stop the scan of this object rather than become an error component. */
function isFatal(err: unknown): boolean {
  return err instanceof PlatformError && !(err.type in CONTENT_TYPES);
}
const CONTENT_TYPES: Record<string, true> = {
  [ErrorType.CONTENT_CORRUPT]: true,
  [ErrorType.CONTENT_TOO_LARGE]: true,
  [ErrorType.CONTENT_UNSUPPORTED]: true,
};

/** The error component of content its parser could not read. */
function unreadable(
  source: Pick<Source, 'name' | 'componentPath'>,
  ctx: ObjectExtraction,
  err: unknown,
): ContentComponent {
  const type = err instanceof PlatformError ? err.type : ErrorType.CONTENT_CORRUPT;
  return ctx.error(
    source.componentPath,
    type,
    `unreadable ${source.name.slice(source.name.lastIndexOf('/') + 1)}: ${messageOf(err)}`,
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Splits big buffers so parsers get bounded slices. */
async function* slices(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    if (chunk.length <= SLICE_BYTES) yield chunk;
    else for (let i = 0; i < chunk.length; i += SLICE_BYTES) yield chunk.subarray(i, i + SLICE_BYTES);
  }
}

/** Reads the first `size` bytes without losing them: `all` yields the whole stream again from the start. */
async function peek(chunks: AsyncIterable<Buffer>, size: number) {
  const iterator = chunks[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < size) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    taken.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(taken).subarray(0, size);
  async function* all(): AsyncGenerator<Buffer> {
    for (const chunk of taken.splice(0)) yield chunk;
    while (!done) {
      const next = await iterator.next();
      if (next.done) break;
      yield next.value;
    }
  }
  return {
    head,
    all: all(),
    close: async () => {
      await iterator.return?.();
    },
  };
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

interface MeterOptions {
  /** Stop after this many bytes. */
  maxBytes: number;
  maxBytesMessage: string;
  /** The bytes are decompressed archive content: count them against the object-wide budgets. */
  decompressed: boolean;
  /** Compressed bytes behind these bytes so far, for the per-component ratio guard. */
  compressedBytes?: () => number;
  /** The bytes are the object's own: count them as its compressed size. */
  objectBytes?: boolean;
}

export class ContentExtractor {
  private readonly limits: ResolvedExtractionLimits;
  private readonly errorHandler = new ErrorHandler();

  constructor(options: ExtractionLimits = {}) {
    this.limits = resolveLimits(options);
  }

  /** Extracts a local file (random access for zip-based formats without spooling). */
  async *extractFromFile(
    filePath: string,
    objectId: string,
    options: ExtractOptions = {},
  ): AsyncIterable<ContentComponent> {
    const componentPath = options.componentPath ?? defaultComponentPath(objectId);
    const ctx = new ObjectExtraction(objectId, this.limits, options.abortSignal);
    try {
      ctx.checkAbort();
      let size: number;
      try {
        const stat = await fsp.stat(filePath);
        if (stat.isDirectory()) {
          yield ctx.error(componentPath, ErrorType.CONTENT_UNSUPPORTED, 'a directory has no content');
          return;
        }
        size = stat.size;
      } catch (err) {
        throw this.errorHandler.wrap(err, { objectId }, 'reading file for extraction');
      }
      if (size > this.limits.maxObjectBytes) {
        yield ctx.error(
          componentPath,
          ErrorType.CONTENT_TOO_LARGE,
          `object of ${size} bytes exceeds maxObjectBytes (${this.limits.maxObjectBytes})`,
        );
        return;
      }
      ctx.objectBytes = size;
      const source = {
        name: options.fileName ?? (extensionOf(componentPath) ? componentPath : filePath),
        componentPath,
        depth: 0,
        filePath,
      };
      let chunks: AsyncIterable<Buffer>;
      if (size <= SMALL_FILE_BYTES) {
        // Small files: one readFile instead of a stream (fewer syscalls and promise hops per object).
        let data: Buffer;
        try {
          data = await fsp.readFile(filePath, { signal: options.abortSignal });
        } catch (err) {
          ctx.checkAbort();
          throw this.errorHandler.wrap(err, { objectId }, 'reading object content');
        }
        const text = this.textInMemory(source, data, ctx);
        if (text) {
          for (const component of text) yield component;
          return;
        }
        chunks = this.bufferChunks(data, ctx);
      } else {
        chunks = this.sourceChunks(createReadStream(filePath, { highWaterMark: SLICE_BYTES }), ctx);
      }
      yield* this.extractSource({ ...source, chunks }, ctx);
    } finally {
      await ctx.cleanup();
    }
  }

  /**
   * Extracts bytes already in memory (a small file or object read whole). `filePath`, when given, is a file
   * holding exactly these bytes (zip-based formats read it instead of spooling). Same components as
   * `extractFromStream(Readable.from([data]))`. Callers holding many small objects try `extractTextInMemory` first,
   * which gives small text-like content's components in one step.
   */
  async *extractFromBuffer(
    data: Buffer,
    objectId: string,
    options: ExtractOptions & { filePath?: string } = {},
  ): AsyncIterable<ContentComponent> {
    const source = bufferSource(objectId, options);
    const ctx = new ObjectExtraction(objectId, this.limits, options.abortSignal);
    try {
      ctx.checkAbort();
      if (data.length > this.limits.maxObjectBytes) {
        yield ctx.error(
          source.componentPath,
          ErrorType.CONTENT_TOO_LARGE,
          `object of ${data.length} bytes exceeds maxObjectBytes (${this.limits.maxObjectBytes})`,
        );
        return;
      }
      ctx.objectBytes = data.length;
      yield* this.extractSource({ ...source, chunks: this.bufferChunks(data, ctx) }, ctx);
    } finally {
      await ctx.cleanup();
    }
  }

  /**
   * `extractFromBuffer`'s components in one synchronous step when the bytes are small text-like content (plain text,
   * JSON, XML or HTML within one slice), else undefined. Connectors holding many small objects call it first: an
   * async generator per object costs more than such an object's text does.
   */
  extractTextInMemory(
    data: Buffer,
    objectId: string,
    options: ExtractOptions & { filePath?: string } = {},
  ): ContentComponent[] | undefined {
    const ctx = new ObjectExtraction(objectId, this.limits, options.abortSignal);
    ctx.checkAbort();
    if (data.length > this.limits.maxObjectBytes) return undefined;
    ctx.objectBytes = data.length;
    return this.textInMemory(bufferSource(objectId, options), data, ctx);
  }

  /** Bytes in memory as parser-sized slices, checking for cancellation between them. */
  private async *bufferChunks(data: Buffer, ctx: ObjectExtraction): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += SLICE_BYTES) {
      ctx.checkAbort();
      yield data.subarray(i, Math.min(data.length, i + SLICE_BYTES));
    }
  }

  /** Extracts a byte stream; zip-based formats are spooled to a temporary file (removed before returning). */
  async *extractFromStream(
    stream: Readable,
    objectId: string,
    options: ExtractOptions = {},
  ): AsyncIterable<ContentComponent> {
    const componentPath = options.componentPath ?? defaultComponentPath(objectId);
    const ctx = new ObjectExtraction(objectId, this.limits, options.abortSignal);
    try {
      ctx.checkAbort();
      const source: Source = {
        name: options.fileName ?? componentPath,
        componentPath,
        depth: 0,
        chunks: NO_CHUNKS,
      };
      source.chunks = this.meter(
        slices(this.sourceChunks(stream, ctx)),
        source,
        {
          maxBytes: this.limits.maxObjectBytes,
          maxBytesMessage: `object exceeds maxObjectBytes (${this.limits.maxObjectBytes})`,
          decompressed: false,
          objectBytes: true,
        },
        ctx,
      );
      yield* this.extractSource(source, ctx);
    } finally {
      if (!stream.destroyed) stream.destroy();
      await ctx.cleanup();
    }
  }

  /** The caller's stream: its failures are not content problems; they are wrapped and thrown. */
  private async *sourceChunks(stream: Readable, ctx: ObjectExtraction): AsyncGenerator<Buffer> {
    // Abort interrupts a read that is waiting on the source, not only between chunks.
    const onAbort = () =>
      stream.destroy(
        platformError(ErrorType.CANCELLED, 'content extraction cancelled', { objectId: ctx.objectId }),
      );
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of stream) {
        ctx.checkAbort();
        yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      }
    } catch (err) {
      throw this.errorHandler.wrap(err, { objectId: ctx.objectId }, 'reading object content');
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
      stream.destroy();
    }
  }

  /**
   * Counts bytes against the limits and stops the stream (setting `source.cut`) when one is reached; the
   * component then ends with a CONTENT_TOO_LARGE error component.
   */
  private async *meter(
    chunks: AsyncIterable<Buffer>,
    source: Source,
    options: MeterOptions,
    ctx: ObjectExtraction,
  ): AsyncGenerator<Buffer> {
    const limits = this.limits;
    let bytes = 0;
    for await (const chunk of chunks) {
      ctx.checkAbort();
      bytes += chunk.length;
      if (options.objectBytes) ctx.objectBytes += chunk.length;
      let cut: string | undefined;
      if (bytes > options.maxBytes) cut = options.maxBytesMessage;
      if (options.decompressed) {
        ctx.decompressedBytes += chunk.length;
        const compressed = options.compressedBytes?.() ?? 0;
        if (ctx.decompressedBytes > limits.maxTotalDecompressedBytes) {
          ctx.exhausted = `object decompresses to more than maxTotalDecompressedBytes (${limits.maxTotalDecompressedBytes})`;
          cut = ctx.exhausted;
        } else if (
          ctx.decompressedBytes > limits.compressionRatioMinBytes &&
          ctx.objectBytes > 0 &&
          ctx.decompressedBytes > limits.maxCompressionRatio * ctx.objectBytes
        ) {
          ctx.exhausted = `object decompresses more than ${limits.maxCompressionRatio}x its size (zip bomb guard)`;
          cut = ctx.exhausted;
        } else if (
          bytes > limits.compressionRatioMinBytes &&
          compressed > 0 &&
          bytes > limits.maxCompressionRatio * compressed
        ) {
          cut = `compression ratio above maxCompressionRatio (${limits.maxCompressionRatio}); zip bomb guard`;
        }
      }
      if (cut) {
        source.cut = { message: cut };
        return;
      }
      yield chunk;
    }
  }

  /** Detects the format of one component and extracts it; content problems become error components. */
  private async *extractSource(source: Source, ctx: ObjectExtraction): AsyncGenerator<ContentComponent> {
    ctx.checkAbort();
    const peeked = await peek(source.chunks, HEAD_BYTES).catch((err: unknown) => ({ failed: err }) as const);
    if ('failed' in peeked) {
      if (isFatal(peeked.failed) || !(peeked.failed instanceof Error)) throw peeked.failed;
      yield ctx.error(
        source.componentPath,
        ErrorType.CONTENT_CORRUPT,
        `unreadable: ${messageOf(peeked.failed)}`,
      );
      return;
    }
    try {
      if (peeked.head.length === 0) {
        if (source.cut)
          yield ctx.error(source.componentPath, ErrorType.CONTENT_TOO_LARGE, source.cut.message);
        return;
      }
      const detection = detectFormat(peeked.head, source.name);
      const bytes = peeked.all;
      yield* this.extractFormat(detection.format, detection.description, source, peeked.head, bytes, ctx);
      if (source.cut) {
        yield ctx.error(
          source.componentPath,
          ErrorType.CONTENT_TOO_LARGE,
          `extraction stopped: ${source.cut.message}`,
        );
      }
    } catch (err) {
      if (isFatal(err)) throw err;
      yield unreadable(source, ctx, err);
    } finally {
      await peeked.close();
    }
  }

  private extractFormat(
    format: Format,
    description: string | undefined,
    source: Source,
    head: Buffer,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
  ): AsyncGenerator<ContentComponent> {
    switch (format) {
      case 'text':
      case 'json':
      case 'xml':
      case 'html':
        return this.extractText(source, head, bytes, ctx, textTransform(format)!);
      case 'csv':
      case 'tsv':
        return this.extractCsv(source, head, bytes, ctx, format === 'tsv' ? '\t' : undefined);
      case 'eml':
        return this.extractMail(source, bytes, ctx);
      case 'pdf':
        return this.extractPdf(source, bytes, ctx);
      case 'gzip':
        return this.extractGzip(source, bytes, ctx);
      case 'tar':
        return this.extractTar(source, bytes, ctx);
      case 'zip':
        return this.extractZip(source, bytes, ctx);
      case 'unsupported':
        return single(
          ctx.error(
            source.componentPath,
            ErrorType.CONTENT_UNSUPPORTED,
            `${description ?? 'binary content'}: no extractable text`,
          ),
        );
    }
  }

  private async *extractText(
    source: Source,
    head: Buffer,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
    transform: { push: (text: string) => string; end?: () => string },
  ): AsyncGenerator<ContentComponent> {
    const text = this.textComponents(source.componentPath, head, ctx, transform);
    const yielder = new LoopYielder();
    for await (const chunk of bytes) {
      yield* text.push(chunk);
      await yielder.maybeYield();
    }
    yield* text.finish();
  }

  private textComponents(
    componentPath: string,
    head: Buffer,
    ctx: ObjectExtraction,
    transform: { push: (text: string) => string; end?: () => string },
  ): TextComponents {
    return new TextComponents(
      ctx.objectId,
      componentPath,
      this.limits.textChunkChars,
      detectEncoding(head),
      transform.push,
      transform.end,
    );
  }

  /**
   * The components of text-like bytes held in memory in one slice (most small files), made in one step: what
   * extractSource gives for them, without its stream layers (a few promises each per step: ~30 per small file).
   * Undefined for bigger or other content.
   */
  private textInMemory(
    source: Omit<Source, 'chunks'>,
    data: Buffer,
    ctx: ObjectExtraction,
  ): ContentComponent[] | undefined {
    if (data.length > SLICE_BYTES) return undefined;
    if (data.length === 0) return [];
    const head = data.subarray(0, HEAD_BYTES);
    const transform = textTransform(detectFormat(head, source.name).format);
    if (!transform) return undefined;
    const components: ContentComponent[] = [];
    try {
      const text = this.textComponents(source.componentPath, head, ctx, transform);
      components.push(...text.push(data));
      components.push(...text.finish());
    } catch (err) {
      if (isFatal(err)) throw err;
      components.push(unreadable(source, ctx, err));
    }
    return components;
  }

  private async *extractCsv(
    source: Source,
    head: Buffer,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
    fixedDelimiter: string | undefined,
  ): AsyncGenerator<ContentComponent> {
    const batcher = new TableBatcher(ctx.objectId, source.componentPath, this.limits.tableBatchRows);
    let parser: CsvParser | undefined;
    let sample = '';
    const feed = function* (text: string): Generator<ContentComponent> {
      for (const record of parser!.push(text)) {
        if (isBlankRecord(record)) continue;
        const component = batcher.push(record);
        if (component) yield component;
      }
    };
    for await (const decoded of decodeText(bytes, detectEncoding(head))) {
      batcher.addBytes(decoded.bytes);
      if (!parser) {
        sample += decoded.text;
        if (sample.length < 64 * 1024) continue;
        parser = new CsvParser(fixedDelimiter ?? sniffDelimiter(sample));
        yield* feed(sample);
        sample = '';
        continue;
      }
      yield* feed(decoded.text);
    }
    if (!parser) {
      parser = new CsvParser(fixedDelimiter ?? sniffDelimiter(sample));
      yield* feed(sample);
    }
    for (const record of parser.end()) {
      if (isBlankRecord(record)) continue;
      const component = batcher.push(record);
      if (component) yield component;
    }
    const last = batcher.flush();
    if (last) yield last;
  }

  /** Reads a whole component into memory (PDF, EML); refuses it when a limit cut it short. */
  private async readWhole(source: Source, bytes: AsyncIterable<Buffer>): Promise<Buffer | undefined> {
    const data = await collect(bytes);
    return source.cut ? undefined : data;
  }

  private async *extractPdf(
    source: Source,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
  ): AsyncGenerator<ContentComponent> {
    const data = await this.readWhole(source, this.limitComponent(source, bytes, ctx));
    if (!data) return; // extractSource reports the cut
    const pdf = await extractPdfText(data, this.limits.maxComponentBytes);
    if (pdf.encrypted) {
      yield ctx.error(
        source.componentPath,
        ErrorType.CONTENT_UNSUPPORTED,
        `encrypted PDF: text not extractable (${pdf.encrypted})`,
        data.length,
      );
      return;
    }
    const chunker = new TextChunker(ctx.objectId, source.componentPath, this.limits.textChunkChars);
    for (const [i, text] of pdf.texts.entries()) {
      yield* chunker.push(i === 0 ? text : `\n${text}`, i === 0 ? data.length : 0);
    }
    yield* chunker.flush();
    if (pdf.overLimit) {
      yield ctx.error(
        source.componentPath,
        ErrorType.CONTENT_TOO_LARGE,
        `extraction stopped: PDF streams inflate beyond maxComponentBytes (${this.limits.maxComponentBytes})`,
      );
    } else if (pdf.problems.length > 0) {
      yield ctx.error(
        source.componentPath,
        ErrorType.CONTENT_CORRUPT,
        `damaged PDF: ${pdf.problems.slice(0, 5).join('; ')}`,
      );
    } else if (pdf.texts.length === 0) {
      yield ctx.error(
        source.componentPath,
        ErrorType.CONTENT_UNSUPPORTED,
        'PDF has no text layer (scanned or image-only?)',
        data.length,
      );
    }
  }

  private async *extractMail(
    source: Source,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
  ): AsyncGenerator<ContentComponent> {
    const data = await this.readWhole(source, this.limitComponent(source, bytes, ctx));
    if (!data) return;
    const mail = parseMail(data);
    const chunker = new TextChunker(ctx.objectId, source.componentPath, this.limits.textChunkChars);
    const yielder = new LoopYielder();
    let text = mail.headerLines.length ? `${mail.headerLines.join('\n')}\n` : '';
    for (const body of mail.bodies) {
      const decoded = decodeCharset(body.body, body.charset);
      if (body.contentType === 'text/html') {
        const html = new HtmlToText();
        text += `\n${html.push(decoded)}${html.end()}`;
      } else text += `\n${decoded.endsWith('\n') ? decoded : `${decoded}\n`}`;
      await yielder.maybeYield();
    }
    yield* chunker.push(text, data.length);
    yield* chunker.flush();
    const attachments = mail.attachments;
    if (attachments.length === 0) return;
    const refused = this.tooDeep(source, ctx);
    if (refused) {
      yield refused;
      return;
    }
    yield* this.extractMembers(
      source,
      ctx,
      (async function* () {
        for (const attachment of attachments) {
          yield {
            name: attachment.fileName,
            size: attachment.body.length,
            open: async () => Readable.from([attachment.body]),
          };
        }
      })(),
      false,
    );
  }

  /** Bounds a component read whole into memory by maxComponentBytes. */
  private limitComponent(
    source: Source,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
  ): AsyncIterable<Buffer> {
    return this.meter(
      bytes,
      source,
      {
        maxBytes: this.limits.maxComponentBytes,
        maxBytesMessage: `component exceeds maxComponentBytes (${this.limits.maxComponentBytes})`,
        decompressed: false,
      },
      ctx,
    );
  }

  /** The depth guard: an archive whose members would be nested too deep is refused whole. */
  private tooDeep(source: Source, ctx: ObjectExtraction): ContentComponent | undefined {
    if (source.depth + 1 <= this.limits.maxArchiveDepth) return undefined;
    return ctx.error(
      source.componentPath,
      ErrorType.CONTENT_TOO_LARGE,
      `archive nested deeper than maxArchiveDepth (${this.limits.maxArchiveDepth}); not opened`,
    );
  }

  private async *extractGzip(
    source: Source,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
  ): AsyncGenerator<ContentComponent> {
    const refused = this.tooDeep(source, ctx);
    if (refused) {
      yield refused;
      return;
    }
    let compressed = 0;
    const counted = (async function* () {
      for await (const chunk of bytes) {
        compressed += chunk.length;
        yield chunk;
      }
    })();
    const gunzip = zlib.createGunzip();
    const done = pipeline(counted, gunzip).catch(() => undefined); // errors surface through the iteration below
    const extension = extensionOf(source.name);
    const innerName =
      extension === 'tgz'
        ? `${source.name.slice(0, -4)}.tar`
        : extension === 'gz'
          ? source.name.slice(0, -3)
          : source.name;
    // The gzip layer is transparent in paths: `backup.tar.gz!/a.csv`, `notes.txt.gz`.
    const inner: Source = {
      name: innerName,
      componentPath: source.componentPath,
      depth: source.depth + 1,
      chunks: NO_CHUNKS,
    };
    inner.chunks = this.meter(
      slices(gunzip as AsyncIterable<Buffer>),
      inner,
      {
        maxBytes: this.limits.maxComponentBytes,
        maxBytesMessage: `decompressed content exceeds maxComponentBytes (${this.limits.maxComponentBytes})`,
        decompressed: true,
        compressedBytes: () => compressed,
      },
      ctx,
    );
    try {
      yield* this.extractSource(inner, ctx);
    } finally {
      gunzip.destroy();
      await done;
    }
  }

  private async *extractTar(
    source: Source,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
  ): AsyncGenerator<ContentComponent> {
    const refused = this.tooDeep(source, ctx);
    if (refused) {
      yield refused;
      return;
    }
    const extract = tar.extract();
    const done = pipeline(bytes, extract).catch(() => undefined);
    const members = (async function* () {
      for await (const tarEntry of extract) {
        const entry = tarEntry as unknown as Readable & { header: tar.Header };
        const type = entry.header.type ?? 'file';
        if (type !== 'file' && type !== 'contiguous-file') {
          entry.resume();
          continue;
        }
        // tar-stream entries are streamx streams: track the end by event, drain what extraction left unread.
        let ended = false;
        const whenEnded = new Promise<void>((resolve) => {
          entry.once('end', () => {
            ended = true;
            resolve();
          });
          entry.once('close', () => resolve());
          entry.once('error', () => resolve());
        });
        yield {
          name: entry.header.name,
          size: entry.header.size,
          open: async () => entry,
          finish: async () => {
            if (!ended) entry.resume();
            await whenEnded;
          },
          keepOpen: true,
        };
      }
    })();
    try {
      yield* this.extractMembers(source, ctx, members, true);
    } finally {
      extract.destroy();
      await done;
    }
  }

  private async *extractZip(
    source: Source,
    bytes: AsyncIterable<Buffer>,
    ctx: ObjectExtraction,
  ): AsyncGenerator<ContentComponent> {
    let zipPath = source.filePath;
    let spooled: string | undefined;
    try {
      if (!zipPath) {
        spooled = await ctx.tempFile();
        await pipeline(bytes, createWriteStream(spooled));
        if (source.cut) return; // extractSource reports the cut
        zipPath = spooled;
      }
      let zip: ZipReader;
      try {
        zip = await ZipReader.open(zipPath);
      } catch (err) {
        yield ctx.error(source.componentPath, ErrorType.CONTENT_CORRUPT, `corrupt zip: ${messageOf(err)}`);
        return;
      }
      try {
        yield* this.extractZipEntries(source, zip, ctx);
      } finally {
        zip.close();
      }
    } finally {
      if (spooled) await fsp.rm(spooled, { force: true });
    }
  }

  private async *extractZipEntries(
    source: Source,
    zip: ZipReader,
    ctx: ObjectExtraction,
  ): AsyncGenerator<ContentComponent> {
    // Office documents are their parts' XML; the part limit is the entry limit (a docx has tens of parts).
    let entries: ZipEntry[];
    try {
      entries = await zip.list(this.limits.maxArchiveEntries + 1);
    } catch (err) {
      yield ctx.error(source.componentPath, ErrorType.CONTENT_CORRUPT, `corrupt zip: ${messageOf(err)}`);
      return;
    }
    const byName = new Map(entries.map((entry) => [entry.fileName, entry]));
    const mimetypeEntry = byName.get('mimetype');
    let mimetype: string | undefined;
    if (mimetypeEntry && mimetypeEntry.uncompressedSize < 256) {
      mimetype = (await collect(await zip.openStream(mimetypeEntry))).toString('utf8').trim();
    }
    const office = detectOfficeFormat(new Set(byName.keys()), mimetype);
    if (office) {
      if (entries.some((entry) => entry.isEncrypted())) {
        yield ctx.error(source.componentPath, ErrorType.CONTENT_UNSUPPORTED, 'encrypted office document');
        return;
      }
      const parts: OfficeParts = {
        names: [...byName.keys()],
        text: (name) => this.zipPartText(source, zip, byName.get(name), ctx),
      };
      yield* extractOffice(office, parts, {
        objectId: ctx.objectId,
        componentPath: source.componentPath,
        textChunkChars: this.limits.textChunkChars,
        tableBatchRows: this.limits.tableBatchRows,
      });
      if (source.cut) {
        yield ctx.error(
          source.componentPath,
          ErrorType.CONTENT_TOO_LARGE,
          `extraction stopped: ${source.cut.message}`,
        );
        source.cut = undefined;
      }
      return;
    }
    const refused = this.tooDeep(source, ctx);
    if (refused) {
      yield refused;
      return;
    }
    const members = (async function* () {
      for (const entry of entries) {
        if (entry.fileName.endsWith('/')) continue;
        yield {
          name: entry.fileName,
          size: entry.uncompressedSize,
          compressedSize: entry.compressedSize,
          encrypted: entry.isEncrypted(),
          open: () => zip.openStream(entry),
        };
      }
    })();
    yield* this.extractMembers(source, ctx, members, true);
  }

  /** Decoded UTF-8 text of one office part, metered as decompressed content. */
  private async *zipPartText(
    source: Source,
    zip: ZipReader,
    entry: ZipEntry | undefined,
    ctx: ObjectExtraction,
  ): AsyncGenerator<{ text: string; bytes: number }> {
    if (!entry) return;
    if (entry.uncompressedSize > this.limits.maxComponentBytes) {
      source.cut = {
        message: `part ${entry.fileName} exceeds maxComponentBytes (${this.limits.maxComponentBytes})`,
      };
      return;
    }
    const stream = await zip.openStream(entry);
    const part: Source = {
      name: entry.fileName,
      componentPath: source.componentPath,
      depth: source.depth,
      chunks: NO_CHUNKS,
    };
    try {
      const metered = this.meter(
        slices(stream),
        part,
        {
          maxBytes: this.limits.maxComponentBytes,
          maxBytesMessage: `part ${entry.fileName} exceeds maxComponentBytes`,
          decompressed: true,
          compressedBytes: () => entry.compressedSize,
        },
        ctx,
      );
      yield* decodeText(metered, 'utf-8');
      if (part.cut) source.cut = part.cut;
    } finally {
      stream.destroy();
    }
  }

  /**
   * Extracts archive members (zip entries, tar entries, mail attachments) one after the other, applying the
   * entry, size, ratio and depth limits; every refusal is an error component and the next member follows.
   */
  private async *extractMembers(
    archive: Source,
    ctx: ObjectExtraction,
    members: AsyncIterable<Member>,
    countsAsDecompressed: boolean,
  ): AsyncGenerator<ContentComponent> {
    const limits = this.limits;
    const iterator = members[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<Member>;
        try {
          next = await iterator.next();
        } catch (err) {
          if (isFatal(err)) throw err;
          yield ctx.error(
            archive.componentPath,
            ErrorType.CONTENT_CORRUPT,
            `corrupt archive: ${messageOf(err)}`,
          );
          return;
        }
        if (next.done) return;
        const member = next.value;
        try {
          ctx.checkAbort();
          const memberPath = `${archive.componentPath}!/${member.name}`;
          if (ctx.exhausted) {
            yield ctx.error(
              archive.componentPath,
              ErrorType.CONTENT_TOO_LARGE,
              `remaining members not extracted: ${ctx.exhausted}`,
            );
            return;
          }
          if (++ctx.entries > limits.maxArchiveEntries) {
            ctx.exhausted = `more than maxArchiveEntries (${limits.maxArchiveEntries}) archive members`;
            yield ctx.error(
              archive.componentPath,
              ErrorType.CONTENT_TOO_LARGE,
              `remaining members not extracted: ${ctx.exhausted}`,
            );
            return;
          }
          const size = member.size;
          if (member.encrypted) {
            yield ctx.error(memberPath, ErrorType.CONTENT_UNSUPPORTED, 'encrypted archive entry');
            continue;
          }
          if (size !== undefined && size > limits.maxComponentBytes) {
            yield ctx.error(
              memberPath,
              ErrorType.CONTENT_TOO_LARGE,
              `${size} bytes exceeds maxComponentBytes (${limits.maxComponentBytes})`,
            );
            continue;
          }
          if (
            size !== undefined &&
            member.compressedSize !== undefined &&
            size > limits.compressionRatioMinBytes &&
            size > limits.maxCompressionRatio * Math.max(1, member.compressedSize)
          ) {
            yield ctx.error(
              memberPath,
              ErrorType.CONTENT_TOO_LARGE,
              `compression ratio ${Math.round(size / Math.max(1, member.compressedSize))}:1 exceeds maxCompressionRatio (${limits.maxCompressionRatio}); zip bomb guard`,
            );
            continue;
          }
          if (
            countsAsDecompressed &&
            size !== undefined &&
            ctx.decompressedBytes + size > limits.maxTotalDecompressedBytes
          ) {
            ctx.exhausted = `object decompresses to more than maxTotalDecompressedBytes (${limits.maxTotalDecompressedBytes})`;
            yield ctx.error(memberPath, ErrorType.CONTENT_TOO_LARGE, ctx.exhausted);
            continue;
          }
          let stream: Readable;
          try {
            stream = await member.open();
          } catch (err) {
            if (isFatal(err)) throw err;
            yield ctx.error(memberPath, ErrorType.CONTENT_CORRUPT, `unreadable entry: ${messageOf(err)}`);
            continue;
          }
          const child: Source = {
            name: member.name,
            componentPath: memberPath,
            depth: archive.depth + 1,
            chunks: NO_CHUNKS,
          };
          const raw = member.keepOpen
            ? withoutReturn(stream as AsyncIterable<Buffer>)
            : (stream as AsyncIterable<Buffer>);
          child.chunks = this.meter(
            slices(raw as AsyncIterable<Buffer>),
            child,
            {
              maxBytes: limits.maxComponentBytes,
              maxBytesMessage: `component exceeds maxComponentBytes (${limits.maxComponentBytes})`,
              decompressed: countsAsDecompressed,
              compressedBytes: member.compressedSize !== undefined ? () => member.compressedSize! : undefined,
            },
            ctx,
          );
          try {
            yield* this.extractSource(child, ctx);
          } finally {
            if (!member.keepOpen) stream.destroy();
          }
        } finally {
          await member.finish?.();
        }
      }
    } finally {
      await iterator.return?.();
    }
  }
}

/** One member of an archive or mail, opened on demand. */
interface Member {
  name: string;
  /** Declared uncompressed size, when the container says. */
  size?: number;
  compressedSize?: number;
  encrypted?: boolean;
  open(): Promise<Readable>;
  /** Called after the member's extraction, opened or not (tar: drain it). */
  finish?: () => Promise<void>;
  /** The stream belongs to the container (tar): never destroy it, let finish() drain it. */
  keepOpen?: boolean;
}

/** Placeholder until a source's metered chunks are attached. */
const NO_CHUNKS: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => [][Symbol.iterator]() as never };

/** Iterates a stream that belongs to its container: abandoning the iteration must not destroy it. */
function withoutReturn(stream: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = stream[Symbol.asyncIterator]();
      return {
        next: () => iterator.next(),
        return: async () => ({ done: true, value: undefined }),
      };
    },
  };
}

async function* single(component: ContentComponent): AsyncGenerator<ContentComponent> {
  yield component;
}

function defaultComponentPath(objectId: string): string {
  const colon = objectId.indexOf(':');
  return colon === -1 ? objectId : objectId.slice(colon + 1);
}

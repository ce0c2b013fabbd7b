/**
 * S3 connector (AWS S3 and compatible servers such as SeaweedFS or MinIO), read-only.
 *
 * Enumeration lists the bucket with ListObjectsV2. Large buckets are split into key-range
 * partitions on the first character after the prefix; the partitions are listed in parallel
 * (each with its own paginator) and yielded one after the other, so the order is the same as one
 * paginator's and the cursor stays small: partition index + the page it was on + the last key.
 *
 * Requests go through `S3HttpClient` (./s3-http): SigV4-signed by the AWS SDK's signer, keep-alive
 * sockets, a lean listing parser. Objects up to `inMemoryMaxBytes` are read into memory; larger ones
 * are streamed to a temp file that is always removed.
 */
import { setMaxListeners } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { z } from 'zod';
import { ConfigurationError, ErrorType, PlatformError, platformError } from '../core/errors';
import type { ErrorHandler } from '../core/error-handler';
import type { ConnectorDependencies, IFileDataSourceConnector } from '../core/interfaces';
import type { SystemLogger } from '../core/logger';
import {
  discoveredBatch,
  type ContentComponent,
  type DiscoveredBatch,
  type DiscoveredObject,
  type EnumerationCursor,
  type ObjectMetadata,
  type WorkPacket,
} from '../core/models';
import { ContentExtractor } from '../extraction';
import type { ConnectorDefinition } from './registry';
import {
  S3HttpClient,
  S3ResponseError,
  type ListPage,
  type ListedObject,
  type ObjectHead,
  type S3CredentialsProvider,
} from './s3-http';
import {
  ConcurrencyLimiter,
  compareCodePoints,
  errorComponent,
  isObjectScoped,
  mapWithConcurrency,
  objectPathOf,
  retryWithBackoff,
  throwIfAborted,
} from './common';
import type { FileConnectorOptions } from './filesystem';

export const s3ConfigSchema = z
  .object({
    bucket: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
      ),
    prefix: z.string().max(1024).default('').describe('Only keys starting with this are scanned'),
    region: z.string().min(1).default('us-east-1'),
    endpoint: z
      .url({ message: 'must be a URL such as http://127.0.0.1:9000' })
      .optional()
      .describe('Default: AWS'),
    forcePathStyle: z
      .boolean()
      .default(false)
      .describe('Path-style URLs (needed by most S3-compatible servers)'),
    accessKeyIdEnv: z.string().min(1).optional().describe('Environment variable holding the access key id'),
    secretAccessKeyEnv: z.string().min(1).optional().describe('Environment variable holding the secret key'),
    sessionTokenEnv: z.string().min(1).optional().describe('Environment variable holding a session token'),
    profile: z
      .string()
      .min(1)
      .optional()
      .describe('Shared config/credentials profile; default: SDK default chain'),
    maxConcurrency: z.number().int().min(1).max(256).default(8).describe('Requests in flight at once'),
    listPartitions: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(8)
      .describe('Key-range partitions listed in parallel'),
    inMemoryMaxBytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('Objects up to this size are read into memory; larger ones go through a temp file'),
    detailsReadAheadBytes: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024)
      .default(64 * 1024)
      .describe(
        'getObjectDetails reads objects up to this size whole (one ranged GET instead of a HEAD) and ' +
          'keeps them for the next getObjectContent; 0: HEAD only',
      ),
    connectTimeoutMs: z.number().int().positive().default(5_000),
    requestTimeoutMs: z.number().int().positive().default(60_000).describe('Socket idle timeout per request'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (Boolean(config.accessKeyIdEnv) !== Boolean(config.secretAccessKeyEnv)) {
      ctx.addIssue({
        code: 'custom',
        path: [config.accessKeyIdEnv ? 'secretAccessKeyEnv' : 'accessKeyIdEnv'],
        message: 'accessKeyIdEnv and secretAccessKeyEnv must be given together',
      });
    }
    if (config.profile && config.accessKeyIdEnv) {
      ctx.addIssue({
        code: 'custom',
        path: ['profile'],
        message: 'give either profile or accessKeyIdEnv, not both',
      });
    }
  });

export type S3Config = z.output<typeof s3ConfigSchema>;

const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_MAX_OBJECT_BYTES = 100 * 1024 * 1024;
/** Bytes of objects read ahead by getObjectDetails that one connector keeps for getObjectContent. */
const READ_AHEAD_BUDGET_BYTES = 32 * 1024 * 1024;
/**
 * Pages listed ahead of the consumer, over all partitions (memory: about 250 bytes per key, so 64
 * pages of 1,000 keys ≈ 16 MB). Each partition's pages come one after the other (a continuation
 * token needs the page before), so partitions waiting their turn must be able to run well ahead
 * for the parallel listing to pay off.
 */
const PAGES_AHEAD_TOTAL = 64;
/** Pages each partition may list ahead: its share of PAGES_AHEAD_TOTAL, 2 to 8. */
function pagesAhead(partitions: number): number {
  return Math.min(8, Math.max(2, Math.floor(PAGES_AHEAD_TOTAL / partitions)));
}
/** Distinct first characters probed when splitting the key space. */
const MAX_SPLIT_PROBES = 128;
/** Sorts after every character a key can hold: `c + TOP` is an upper bound of all keys starting with c. */
const TOP = '\u{10FFFF}';

/**
 * Resume point. `markers` (key suffixes after the prefix) fix the partitions; `partition`,
 * `startAfter`/`token` name the page that held `key`, the last key yielded. Resuming re-lists that
 * page and continues after `key`; if `key` has gone, after the keys that sort before it.
 */
interface S3Cursor extends EnumerationCursor {
  markers: string[];
  partition: number;
  startAfter: string | null;
  token: string | null;
  key: string;
}

interface PageRequest {
  startAfter: string | null;
  token: string | null;
}

interface Page {
  request: PageRequest;
  objects: ListedObject[];
}

export class S3Connector implements IFileDataSourceConnector {
  readonly kind = 'file' as const;
  readonly datasourceId: string;
  private readonly logger: SystemLogger;
  private readonly errorHandler: ErrorHandler;
  private readonly config: S3Config;
  private readonly http: S3HttpClient;
  private readonly limiter: ConcurrencyLimiter;
  private readonly extractor: ContentExtractor;
  private readonly tempDir: string | undefined;
  /**
   * Bodies of small objects getObjectDetails read (with their details, so the content classified is
   * the version described), taken by getObjectContent. Dropped at the next getObjectDetails.
   */
  private readonly readAhead = new Map<string, Buffer>();
  private readAheadBytes = 0;
  private closed = false;

  constructor(deps: ConnectorDependencies<S3Config>, options: FileConnectorOptions = {}) {
    this.datasourceId = deps.datasourceId;
    this.logger = deps.logger;
    this.errorHandler = deps.errorHandler;
    this.config = s3ConfigSchema.parse(deps.config);
    this.limiter = new ConcurrencyLimiter(this.config.maxConcurrency);
    this.extractor = options.contentExtractor ?? new ContentExtractor();
    this.tempDir = options.tempDir;
    // No retries inside the client: retryWithBackoff retries only where the error type says so.
    this.http = new S3HttpClient({
      bucket: this.config.bucket,
      region: this.config.region,
      endpoint: this.config.endpoint,
      forcePathStyle: this.config.forcePathStyle,
      credentials:
        this.config.accessKeyIdEnv && this.config.secretAccessKeyEnv
          ? envCredentials(
              this.config.accessKeyIdEnv,
              this.config.secretAccessKeyEnv,
              this.config.sessionTokenEnv,
            )
          : // The SDK's default chain (env, shared files, SSO, web identity, IMDS), memoized.
            defaultProvider(this.config.profile ? { profile: this.config.profile } : {}),
      maxSockets: this.config.maxConcurrency * 2,
      connectTimeoutMs: this.config.connectTimeoutMs,
      requestTimeoutMs: this.config.requestTimeoutMs,
    });
  }

  async *enumerateObjects(packet: WorkPacket): AsyncIterable<DiscoveredBatch> {
    this.assertOpen();
    const batchSize = packet.payload.options?.batchSize ?? DEFAULT_BATCH_SIZE;
    const signal = packet.payload.options?.abortSignal;
    const cursor = parseCursor(packet.payload.cursor);
    const markers = cursor ? cursor.markers : await this.splitKeySpace(signal);
    const bounds = markers.map((suffix) => this.config.prefix + suffix);
    this.logger.info('s3 enumeration started', {
      bucket: this.config.bucket,
      prefix: this.config.prefix,
      partitions: bounds.length + 1,
      resumed: cursor !== undefined,
    });

    // Listing stops when the consumer stops: no request outlives the generator.
    const stop = new AbortController();
    // Every in-flight list request listens on it; more than Node's default warning threshold of 10.
    const ahead = pagesAhead(this.config.listPartitions);
    setMaxListeners(this.config.listPartitions * ahead + this.config.maxConcurrency + 10, stop.signal);
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const first = cursor?.partition ?? 0;
    const listers: PrefetchingPages[] = [];
    const lister = (index: number) => {
      listers[index] ??= new PrefetchingPages(
        this.partitionPages(
          index === 0 ? null : bounds[index - 1],
          index < bounds.length ? bounds[index] : null,
          index === first ? cursor : undefined,
          stop.signal,
        ),
        ahead,
      );
      return listers[index];
    };
    let batch: DiscoveredObject[] = [];
    let position: S3Cursor | undefined;
    let total = 0;
    try {
      for (let index = first; index <= bounds.length; index++) {
        // Keep the next partitions listing while this one is consumed.
        for (
          let ahead = index;
          ahead <= Math.min(bounds.length, index + this.config.listPartitions - 1);
          ahead++
        )
          lister(ahead);
        for (;;) {
          const page = await listers[index].next();
          if (!page) break;
          for (const object of page.objects) {
            const key = object.key;
            batch.push(this.discovered(object));
            position = {
              markers,
              partition: index,
              startAfter: page.request.startAfter,
              token: page.request.token,
              key,
            };
            if (batch.length >= batchSize) {
              total += batch.length;
              yield discoveredBatch(batch, position);
              batch = [];
            }
          }
        }
        delete listers[index];
      }
      if (batch.length > 0 && position) {
        total += batch.length;
        yield discoveredBatch(batch, position);
      }
      this.logger.info('s3 enumeration finished', { bucket: this.config.bucket, objects: total });
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stop.abort();
      for (const pending of listers) pending?.discard();
    }
  }

  async getObjectDetails(packet: WorkPacket): Promise<ObjectMetadata[]> {
    this.assertOpen();
    const signal = packet.payload.options?.abortSignal;
    for (const objectId of [...this.readAhead.keys()]) this.takeReadAhead(objectId);
    const prefetch = packet.payload.options?.prefetchContent !== false;
    return mapWithConcurrency(packet.payload.objectIds, this.config.maxConcurrency, (objectId) =>
      this.describe(objectId, signal, prefetch),
    );
  }

  async *getObjectContent(packet: WorkPacket): AsyncIterable<ContentComponent> {
    this.assertOpen();
    const maxBytes = packet.payload.options?.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
    const signal = packet.payload.options?.abortSignal;
    for (const objectId of packet.payload.objectIds) {
      throwIfAborted(signal, { bucket: this.config.bucket, objectId });
      const key = objectPathOf(objectId, this.datasourceId);
      let tempDir: string | undefined;
      try {
        // Small objects stay in memory; bigger ones are staged in a temp file (memory stays flat).
        const stagingFile = async () => {
          tempDir ??= await mkdtemp(path.join(this.tempDir ?? os.tmpdir(), 'assay-s3-'));
          return path.join(tempDir, 'object');
        };
        const readAhead = this.takeReadAhead(objectId);
        if (readAhead && readAhead.length > maxBytes)
          throw platformError(
            ErrorType.CONTENT_TOO_LARGE,
            `${key} is ${readAhead.length} bytes, over the ${maxBytes}-byte limit`,
            { bucket: this.config.bucket },
          );
        const fetched =
          readAhead ??
          (await this.request(objectId, 'download object', signal, (abortSignal) =>
            this.download(key, stagingFile, maxBytes, abortSignal),
          ));
        const extractOptions = { componentPath: key, abortSignal: signal };
        const text =
          typeof fetched === 'string'
            ? undefined
            : this.extractor.extractTextInMemory(fetched, objectId, extractOptions);
        if (text) yield* text;
        else
          yield* typeof fetched === 'string'
            ? this.extractor.extractFromFile(fetched, objectId, extractOptions)
            : this.extractor.extractFromBuffer(fetched, objectId, extractOptions);
      } catch (err) {
        const error = this.wrap(err, objectId, 'read object', signal);
        if (!isObjectScoped(error)) throw error;
        this.logger.warn('object skipped', { bucket: this.config.bucket, objectId, errorType: error.type });
        yield errorComponent(objectId, key, error);
      } finally {
        // Also runs when the consumer stops early or the activity is cancelled.
        if (tempDir) await rm(tempDir, { recursive: true, force: true });
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readAhead.clear();
    this.http.destroy();
  }

  private takeReadAhead(objectId: string): Buffer | undefined {
    const body = this.readAhead.get(objectId);
    if (body) {
      this.readAhead.delete(objectId);
      this.readAheadBytes -= body.length;
    }
    return body;
  }

  /**
   * Partition bounds for parallel listing: after the prefix, one probe per distinct first
   * character (each lists one key after the previous character's range), then the characters
   * grouped evenly into `listPartitions` ranges.
   */
  private async splitKeySpace(signal: AbortSignal | undefined): Promise<string[]> {
    const { prefix, listPartitions } = this.config;
    if (listPartitions <= 1) return [];
    // A bucket that fits in one page gains nothing from partitions: skip the probes.
    const firstPage = await this.listObjects({ startAfter: null, token: null }, 1000, signal);
    if (!firstPage.isTruncated) return [];
    const chars: string[] = [];
    let startAfter: string | undefined;
    for (let probe = 0; probe < MAX_SPLIT_PROBES; probe++) {
      const output = await this.listObjects({ startAfter: startAfter ?? null, token: null }, 1, signal);
      const key = output.objects[0]?.key;
      if (key === undefined) break;
      if (key.length === prefix.length) {
        startAfter = key;
        continue;
      }
      const char = String.fromCodePoint(key.codePointAt(prefix.length) as number);
      chars.push(char);
      startAfter = prefix + char + TOP;
    }
    // A boundary after a character sorting below '/' would split keys of a folder named exactly
    // like the prefix on servers that list folder by folder (SeaweedFS): keep those together.
    const prefixIsFolder = prefix === '' || prefix.endsWith('/');
    const candidates = chars
      .slice(0, -1)
      .filter((char) => prefixIsFolder || compareCodePoints(char, '/') >= 0);
    const partitions = Math.min(listPartitions, candidates.length + 1);
    const markers: string[] = [];
    for (let j = 1; j < partitions; j++) {
      const marker = candidates[Math.floor((j * (candidates.length + 1)) / partitions) - 1] + TOP;
      if (markers[markers.length - 1] !== marker) markers.push(marker);
    }
    return markers;
  }

  /** Pages of the keys in (lower, upper], starting at `resume`'s page when given. */
  private async *partitionPages(
    lower: string | null,
    upper: string | null,
    resume: S3Cursor | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<Page> {
    let request: PageRequest = resume
      ? { startAfter: resume.startAfter, token: resume.token }
      : { startAfter: lower, token: null };
    let skipThrough = resume?.key;
    for (;;) {
      const output = await this.listObjects(request, 1000, signal);
      let objects = output.objects.filter((object) => !isFolderMarker(object));
      if (skipThrough !== undefined) {
        const last = skipThrough;
        const index = objects.findIndex((object) => object.key === last);
        objects =
          index >= 0
            ? objects.slice(index + 1)
            : objects.filter((object) => compareCodePoints(object.key, last) > 0);
        skipThrough = undefined;
      }
      let done = !output.isTruncated || !output.nextContinuationToken;
      if (upper !== null) {
        const bound = upper;
        const cut = objects.findIndex((object) => compareCodePoints(object.key, bound) > 0);
        if (cut >= 0) {
          objects = objects.slice(0, cut);
          done = true;
        }
      }
      yield { request, objects };
      if (done) return;
      request = { startAfter: null, token: output.nextContinuationToken as string };
    }
  }

  private listObjects(
    request: PageRequest,
    maxKeys: number,
    signal: AbortSignal | undefined,
  ): Promise<ListPage> {
    return this.request(undefined, 'list objects', signal, (abortSignal) =>
      this.http.listObjectsV2(
        {
          prefix: this.config.prefix,
          startAfter: request.token ? undefined : (request.startAfter ?? undefined),
          continuationToken: request.token ?? undefined,
          maxKeys,
        },
        abortSignal,
      ),
    );
  }

  private discovered(object: ListedObject): DiscoveredObject {
    return {
      objectId: `${this.datasourceId}:${object.key}`,
      datasourceId: this.datasourceId,
      objectPath: object.key,
      objectType: 'file',
      size: object.size,
      lastModified: object.lastModified,
      etag: unquote(object.etag),
    };
  }

  private async describe(
    objectId: string,
    signal: AbortSignal | undefined,
    prefetch: boolean,
  ): Promise<ObjectMetadata> {
    const key = objectPathOf(objectId, this.datasourceId);
    const base: ObjectMetadata = { objectId, objectPath: key, objectType: 'file' };
    try {
      const head = await this.request(objectId, 'head object', signal, async (abortSignal) => {
        try {
          const read = prefetch ? await this.readAheadObject(objectId, key, abortSignal) : undefined;
          return read ?? (await this.http.headObject(key, abortSignal));
        } catch (err) {
          throw await this.explainHeadError(err, key, abortSignal);
        }
      });
      const attributes: NonNullable<ObjectMetadata['attributes']> = {
        storageClass: head.storageClass ?? 'STANDARD',
        serverSideEncryption: head.serverSideEncryption ?? null,
      };
      if (head.kmsKeyId) attributes.kmsKeyId = head.kmsKeyId;
      if (head.versionId) attributes.versionId = head.versionId;
      return {
        ...base,
        size: head.objectSize,
        lastModified: head.lastModified,
        etag: unquote(head.etag),
        contentType: head.contentType,
        attributes,
      };
    } catch (err) {
      const error = this.wrap(err, objectId, 'describe object', signal);
      if (!isObjectScoped(error)) throw error;
      return { ...base, error: { type: error.type, message: error.message } };
    }
  }

  /**
   * Details by a GET of the first `detailsReadAheadBytes`: the same headers as a HEAD, and a small
   * object's whole body, kept for getObjectContent. Undefined when a HEAD is the better call: read-ahead
   * off or its budget spent, or an empty object (a range of it is 416 InvalidRange).
   */
  private async readAheadObject(
    objectId: string,
    key: string,
    abortSignal: AbortSignal | undefined,
  ): Promise<ObjectHead | undefined> {
    const limit = this.config.detailsReadAheadBytes;
    if (limit === 0 || this.readAheadBytes + limit > READ_AHEAD_BUDGET_BYTES) return undefined;
    this.readAheadBytes += limit; // reserved while the request runs
    let kept = 0;
    try {
      let response;
      try {
        response = await this.http.getObject(key, abortSignal, `bytes=0-${limit - 1}`);
      } catch (err) {
        if (err instanceof S3ResponseError && err.$metadata.httpStatusCode === 416) return undefined;
        throw err;
      }
      const { head, body } = response;
      if (head.objectSize === undefined || head.objectSize > limit) {
        // Larger object: a ranged answer is at most `limit` bytes, drained to keep the socket;
        // a server that ignored the range is cut off.
        if (head.contentLength !== undefined && head.contentLength <= limit) body.resume();
        else body.destroy();
        return head;
      }
      const parts: Buffer[] = [];
      let received = 0;
      for await (const chunk of body) {
        parts.push(chunk as Buffer);
        received += (chunk as Buffer).length;
      }
      const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, received);
      if (bytes.length === head.objectSize && !this.readAhead.has(objectId)) {
        this.readAhead.set(objectId, bytes);
        kept = bytes.length;
      }
      return head;
    } finally {
      this.readAheadBytes += kept - limit;
    }
  }

  /**
   * HEAD responses have no body, so a 404 does not say whether the key or the bucket is missing,
   * nor a 403 whether the key or the permission is wrong. A one-byte GET returns the error code.
   */
  private async explainHeadError(
    err: unknown,
    key: string,
    abortSignal: AbortSignal | undefined,
  ): Promise<unknown> {
    if (!(err instanceof S3ResponseError) || err.Code !== undefined) return err;
    if (![301, 400, 403, 404].includes(err.$metadata.httpStatusCode)) return err;
    try {
      const probe = await this.http.getObject(key, abortSignal, 'bytes=0-0');
      probe.body.destroy();
      return err;
    } catch (explained) {
      return explained;
    }
  }

  /**
   * Fetches one object: its bytes when the server says it is small (≤ inMemoryMaxBytes), else streamed
   * to the file `stagingFile` names (memory stays flat whatever the size), returning that path.
   */
  private async download(
    key: string,
    stagingFile: () => Promise<string>,
    maxBytes: number,
    abortSignal: AbortSignal | undefined,
  ): Promise<Buffer | string> {
    const { head, body } = await this.http.getObject(key, abortSignal);
    const tooLarge = (size: number) =>
      platformError(ErrorType.CONTENT_TOO_LARGE, `${key} is ${size} bytes, over the ${maxBytes}-byte limit`, {
        bucket: this.config.bucket,
      });
    const length = head.contentLength;
    if (length !== undefined && length > maxBytes) {
      body.destroy();
      throw tooLarge(length);
    }
    if (length !== undefined && length <= this.config.inMemoryMaxBytes) {
      const parts: Buffer[] = [];
      let received = 0;
      try {
        for await (const chunk of body) {
          parts.push(chunk as Buffer);
          received += (chunk as Buffer).length;
          if (received > maxBytes) throw tooLarge(received);
        }
      } finally {
        body.destroy();
      }
      return parts.length === 1 ? parts[0] : Buffer.concat(parts, received);
    }
    const file = await stagingFile();
    let received = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        callback(received > maxBytes ? tooLarge(received) : null, chunk);
      },
    });
    await pipeline(body, limit, createWriteStream(file), { signal: abortSignal });
    return file;
  }

  /** One S3 call: bounded concurrency, raw errors wrapped, retryable ones retried with back-off. */
  private request<T>(
    objectId: string | undefined,
    what: string,
    signal: AbortSignal | undefined,
    fn: (abortSignal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    return retryWithBackoff(
      () =>
        this.limiter.run(async () => {
          throwIfAborted(signal, { bucket: this.config.bucket });
          try {
            return await fn(signal);
          } catch (err) {
            throw this.wrap(err, objectId, what, signal);
          }
        }),
      { abortSignal: signal },
    );
  }

  private wrap(
    err: unknown,
    objectId: string | undefined,
    what: string,
    signal: AbortSignal | undefined,
  ): PlatformError {
    if (err instanceof PlatformError) return err;
    const context = { bucket: this.config.bucket, objectId };
    if (signal?.aborted) return platformError(ErrorType.CANCELLED, `${what} cancelled`, context, err);
    return this.errorHandler.wrap(err, context, what);
  }

  private assertOpen(): void {
    if (this.closed)
      throw new PlatformError('connector is closed', ErrorType.INTERNAL, { datasourceId: this.datasourceId });
  }
}

/**
 * Runs an async page generator ahead of its consumer, holding at most `depth` pages. Errors are
 * kept and thrown to the consumer when it reaches them, never left unhandled.
 */
class PrefetchingPages {
  private readonly pages: Array<Page | null> = [];
  private error: unknown;
  private failed = false;
  private wake?: () => void;
  private space?: () => void;
  private discarded = false;

  constructor(
    private readonly source: AsyncGenerator<Page>,
    private readonly depth: number,
  ) {
    void this.pump();
  }

  async next(): Promise<Page | null> {
    while (this.pages.length === 0 && !this.failed)
      await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.pages.length === 0) throw this.error;
    const page = this.pages.shift() as Page | null;
    this.space?.();
    return page;
  }

  discard(): void {
    this.discarded = true;
    this.space?.();
  }

  private async pump(): Promise<void> {
    try {
      for await (const page of this.source) {
        if (this.discarded) break;
        this.pages.push(page);
        this.wake?.();
        while (this.pages.length >= this.depth && !this.discarded)
          await new Promise<void>((resolve) => (this.space = resolve));
      }
      this.pages.push(null);
    } catch (err) {
      this.error = err;
      this.failed = true;
    }
    this.wake?.();
  }
}

function envCredentials(
  accessKeyIdEnv: string,
  secretAccessKeyEnv: string,
  sessionTokenEnv: string | undefined,
): S3CredentialsProvider {
  return async () => {
    const read = (name: string, field: string) => {
      const value = process.env[name];
      if (!value)
        throw new ConfigurationError(`${field}: environment variable ${name} is not set`, { field });
      return value;
    };
    return {
      accessKeyId: read(accessKeyIdEnv, 'accessKeyIdEnv'),
      secretAccessKey: read(secretAccessKeyEnv, 'secretAccessKeyEnv'),
      sessionToken: sessionTokenEnv ? read(sessionTokenEnv, 'sessionTokenEnv') : undefined,
    };
  };
}

/** Zero-byte keys ending in '/' are folder placeholders made by consoles, not content. */
function isFolderMarker(object: ListedObject): boolean {
  return object.key.endsWith('/') && object.size === 0;
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

function parseCursor(cursor: EnumerationCursor | undefined): S3Cursor | undefined {
  if (cursor === undefined) return undefined;
  const { markers, partition, startAfter, token, key } = cursor;
  const valid =
    Array.isArray(markers) &&
    markers.every((marker) => typeof marker === 'string') &&
    typeof partition === 'number' &&
    partition >= 0 &&
    partition <= markers.length &&
    (startAfter === null || typeof startAfter === 'string') &&
    (token === null || typeof token === 'string') &&
    typeof key === 'string';
  if (!valid) throw platformError(ErrorType.CONFIGURATION_INVALID, 's3 cursor is malformed', {});
  return cursor as S3Cursor;
}

export const s3Connector: ConnectorDefinition<S3Config> = {
  type: 's3',
  configSchema: s3ConfigSchema,
  create: (deps) => new S3Connector(deps),
};

/**
 * S3 connector (AWS S3 and compatible servers such as SeaweedFS or MinIO), read-only.
 *
 * Enumeration lists the bucket with ListObjectsV2. Large buckets are split into key-range
 * partitions on the first character after the prefix; the partitions are listed in parallel
 * (each with its own paginator) and yielded one after the other, so the order is the same as one
 * paginator's and the cursor stays small: partition index + the page it was on + the last key.
 */
import { setMaxListeners } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type ListObjectsV2CommandOutput,
  type S3ClientConfig,
  type _Object as S3Object,
} from '@aws-sdk/client-s3';
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
import { SMALL_FILE_BYTES } from '../extraction/extractor';
import type { ConnectorDefinition } from './registry';
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
/** Pages each partition lists ahead of the consumer (memory stays at pages × 1000 keys). */
const PAGES_AHEAD = 2;
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
  objects: S3Object[];
}

export class S3Connector implements IFileDataSourceConnector {
  readonly kind = 'file' as const;
  readonly datasourceId: string;
  private readonly logger: SystemLogger;
  private readonly errorHandler: ErrorHandler;
  private readonly config: S3Config;
  private readonly client: S3Client;
  private readonly limiter: ConcurrencyLimiter;
  private readonly extractor: ContentExtractor;
  private readonly tempDir: string | undefined;
  private closed = false;

  constructor(deps: ConnectorDependencies<S3Config>, options: FileConnectorOptions = {}) {
    this.datasourceId = deps.datasourceId;
    this.logger = deps.logger;
    this.errorHandler = deps.errorHandler;
    this.config = s3ConfigSchema.parse(deps.config);
    this.limiter = new ConcurrencyLimiter(this.config.maxConcurrency);
    this.extractor = options.contentExtractor ?? new ContentExtractor();
    this.tempDir = options.tempDir;
    const clientConfig: S3ClientConfig = {
      region: this.config.region,
      endpoint: this.config.endpoint,
      forcePathStyle: this.config.forcePathStyle,
      // We retry ourselves (retryWithBackoff), only where the error type says so.
      maxAttempts: 1,
      requestHandler: {
        connectionTimeout: this.config.connectTimeoutMs,
        requestTimeout: this.config.requestTimeoutMs,
        httpAgent: { keepAlive: true, maxSockets: this.config.maxConcurrency * 2 },
        httpsAgent: { keepAlive: true, maxSockets: this.config.maxConcurrency * 2 },
      },
    };
    if (this.config.profile) clientConfig.profile = this.config.profile;
    if (this.config.accessKeyIdEnv && this.config.secretAccessKeyEnv) {
      clientConfig.credentials = envCredentials(
        this.config.accessKeyIdEnv,
        this.config.secretAccessKeyEnv,
        this.config.sessionTokenEnv,
      );
    }
    this.client = new S3Client(clientConfig);
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
    setMaxListeners(this.config.listPartitions * PAGES_AHEAD + this.config.maxConcurrency + 10, stop.signal);
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
        PAGES_AHEAD,
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
            const key = object.Key as string;
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
    return mapWithConcurrency(packet.payload.objectIds, this.config.maxConcurrency, (objectId) =>
      this.describe(objectId, signal),
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
        const fetched = await this.request(objectId, 'download object', signal, (abortSignal) =>
          this.download(key, stagingFile, maxBytes, abortSignal),
        );
        const components =
          typeof fetched === 'string'
            ? this.extractor.extractFromFile(fetched, objectId, { componentPath: key, abortSignal: signal })
            : this.extractor.extractFromBuffer(fetched, objectId, {
                componentPath: key,
                abortSignal: signal,
              });
        for await (const component of components) {
          yield component;
        }
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
    this.client.destroy();
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
    if (!firstPage.IsTruncated) return [];
    const chars: string[] = [];
    let startAfter: string | undefined;
    for (let probe = 0; probe < MAX_SPLIT_PROBES; probe++) {
      const output = await this.listObjects({ startAfter: startAfter ?? null, token: null }, 1, signal);
      const key = output.Contents?.[0]?.Key;
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
      let objects = (output.Contents ?? []).filter(
        (object) => object.Key !== undefined && !isFolderMarker(object),
      );
      if (skipThrough !== undefined) {
        const last = skipThrough;
        const index = objects.findIndex((object) => object.Key === last);
        objects =
          index >= 0
            ? objects.slice(index + 1)
            : objects.filter((object) => compareCodePoints(object.Key as string, last) > 0);
        skipThrough = undefined;
      }
      let done = !output.IsTruncated || !output.NextContinuationToken;
      if (upper !== null) {
        const bound = upper;
        const cut = objects.findIndex((object) => compareCodePoints(object.Key as string, bound) > 0);
        if (cut >= 0) {
          objects = objects.slice(0, cut);
          done = true;
        }
      }
      yield { request, objects };
      if (done) return;
      request = { startAfter: null, token: output.NextContinuationToken as string };
    }
  }

  private listObjects(
    request: PageRequest,
    maxKeys: number,
    signal: AbortSignal | undefined,
  ): Promise<ListObjectsV2CommandOutput> {
    return this.request(undefined, 'list objects', signal, (abortSignal) =>
      this.client.send(
        new ListObjectsV2Command({
          Bucket: this.config.bucket,
          Prefix: this.config.prefix || undefined,
          StartAfter: request.token ? undefined : (request.startAfter ?? undefined),
          ContinuationToken: request.token ?? undefined,
          MaxKeys: maxKeys,
        }),
        { abortSignal },
      ),
    );
  }

  private discovered(object: S3Object): DiscoveredObject {
    const key = object.Key as string;
    return {
      objectId: `${this.datasourceId}:${key}`,
      datasourceId: this.datasourceId,
      objectPath: key,
      objectType: 'file',
      size: object.Size,
      lastModified: object.LastModified?.toISOString(),
      etag: unquote(object.ETag),
    };
  }

  private async describe(objectId: string, signal: AbortSignal | undefined): Promise<ObjectMetadata> {
    const key = objectPathOf(objectId, this.datasourceId);
    const base: ObjectMetadata = { objectId, objectPath: key, objectType: 'file' };
    try {
      const head = await this.request(objectId, 'head object', signal, async (abortSignal) => {
        try {
          return await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }), {
            abortSignal,
          });
        } catch (err) {
          throw await this.explainHeadError(err, key, abortSignal);
        }
      });
      const attributes: NonNullable<ObjectMetadata['attributes']> = {
        storageClass: head.StorageClass ?? 'STANDARD',
        serverSideEncryption: head.ServerSideEncryption ?? null,
      };
      if (head.SSEKMSKeyId) attributes.kmsKeyId = head.SSEKMSKeyId;
      if (head.VersionId) attributes.versionId = head.VersionId;
      return {
        ...base,
        size: head.ContentLength,
        lastModified: head.LastModified?.toISOString(),
        etag: unquote(head.ETag),
        contentType: head.ContentType,
        attributes,
      };
    } catch (err) {
      const error = this.wrap(err, objectId, 'describe object', signal);
      if (!isObjectScoped(error)) throw error;
      return { ...base, error: { type: error.type, message: error.message } };
    }
  }

  /**
   * HEAD responses have no body, so a 404 does not say whether the key or the bucket is missing,
   * nor a 403 whether the key or the permission is wrong. A one-byte GET returns the error code.
   */
  private async explainHeadError(err: unknown, key: string, abortSignal: AbortSignal): Promise<unknown> {
    const raw = err as { Code?: unknown; $metadata?: { httpStatusCode?: number } };
    const status = raw.$metadata?.httpStatusCode;
    if (raw.Code !== undefined || (status !== 403 && status !== 404 && status !== 400 && status !== 301))
      return err;
    try {
      const probe = await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: key, Range: 'bytes=0-0' }),
        {
          abortSignal,
        },
      );
      (probe.Body as Readable | undefined)?.destroy();
      return err;
    } catch (explained) {
      return explained;
    }
  }

  /**
   * Fetches one object: its bytes when the server says it is small (≤ SMALL_FILE_BYTES), else streamed to
   * the file `stagingFile` names (memory stays flat whatever the size), returning that path.
   */
  private async download(
    key: string,
    stagingFile: () => Promise<string>,
    maxBytes: number,
    abortSignal: AbortSignal,
  ): Promise<Buffer | string> {
    const output = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }), {
      abortSignal,
    });
    const body = output.Body as Readable | undefined;
    if (!body)
      throw platformError(ErrorType.INTERNAL, `GetObject returned no body for ${key}`, {
        bucket: this.config.bucket,
      });
    const tooLarge = (size: number) =>
      platformError(ErrorType.CONTENT_TOO_LARGE, `${key} is ${size} bytes, over the ${maxBytes}-byte limit`, {
        bucket: this.config.bucket,
      });
    if (output.ContentLength !== undefined && output.ContentLength > maxBytes) {
      body.destroy();
      throw tooLarge(output.ContentLength);
    }
    if (output.ContentLength !== undefined && output.ContentLength <= SMALL_FILE_BYTES) {
      const parts: Buffer[] = [];
      let length = 0;
      try {
        for await (const chunk of body) {
          if (abortSignal.aborted) throw abortSignal.reason ?? new Error('aborted');
          parts.push(chunk as Buffer);
          length += (chunk as Buffer).length;
          if (length > maxBytes) throw tooLarge(length);
        }
      } finally {
        body.destroy();
      }
      return Buffer.concat(parts, length);
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
    fn: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const abortSignal = signal ?? new AbortController().signal;
    return retryWithBackoff(
      () =>
        this.limiter.run(async () => {
          throwIfAborted(signal, { bucket: this.config.bucket });
          try {
            return await fn(abortSignal);
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
) {
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
function isFolderMarker(object: S3Object): boolean {
  return (object.Key as string).endsWith('/') && (object.Size ?? 0) === 0;
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

/**
 * Filesystem connector: walks local (or mounted) directory trees read-only, in a deterministic
 * sorted order that a small cursor can resume. Unreadable folders are reported as objects (see
 * `walkDirectory`); unreadable files fail alone, never the batch.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Dirent, type Stats } from 'node:fs';
import { access, constants, open, opendir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import { ErrorType, PlatformError, platformError } from '../core/errors';
import type { ErrorHandler } from '../core/error-handler';
import type { ConnectorDependencies, IFileDataSourceConnector } from '../core/interfaces';
import type { SystemLogger } from '../core/logger';
import { loadAddon } from '../core/native-addon';
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
  compareCodePoints,
  errorComponent,
  isObjectScoped,
  mapWithConcurrency,
  objectPathOf,
  retryWithBackoff,
  throwIfAborted,
} from './common';

export const filesystemConfigSchema = z
  .object({
    roots: z
      .array(
        z
          .string()
          .min(1)
          .refine((p) => path.isAbsolute(p), 'must be an absolute path'),
      )
      .min(1, 'at least one root directory is required')
      .describe('Directories to scan, walked in this order'),
    include: z
      .array(z.string().min(1))
      .default(['**/*'])
      .describe('Globs (relative to the root) a file must match'),
    exclude: z.array(z.string().min(1)).default([]).describe('Globs of files and folders to skip'),
    followSymlinks: z.boolean().default(false).describe('Follow symbolic links (loops are detected)'),
    maxDepth: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Folder levels below a root to walk; 0 = the root only'),
    hashContent: z.boolean().default(false).describe('Add a streamed sha256 of the content to the details'),
    maxConcurrency: z.number().int().min(1).max(256).default(8).describe('Parallel file system calls'),
  })
  .strict();

export type FilesystemConfig = z.output<typeof filesystemConfigSchema>;

export interface FileConnectorOptions {
  /** Turns fetched files into content components. Default: a new ContentExtractor. */
  contentExtractor?: ContentExtractor;
  /** Where downloads are staged (connectors that copy objects locally). Default: os.tmpdir(). */
  tempDir?: string;
}

const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_MAX_OBJECT_BYTES = 100 * 1024 * 1024;
const STAT_CHUNK = 256;

/** Resume point: root index and the root-relative path ('/'-joined names) of the last object yielded. */
interface FilesystemCursor extends EnumerationCursor {
  root: number;
  after: string;
}

interface WalkItem {
  object: DiscoveredObject;
  rootIndex: number;
  relative: string;
}

interface Candidate {
  name: string;
  absolute: string;
  relative: string[];
  kind: 'file' | 'directory';
  /** From following a symbolic link, when the walk follows links. */
  stats?: Stats;
  /** A file's size and modification time, stat'ed with the rest of its chunk. */
  listed?: ListedStats;
}

/** What the inventory records of a listed file. */
interface ListedStats {
  size: number;
  mtimeMs: number;
}

export class FilesystemConnector implements IFileDataSourceConnector {
  readonly kind = 'file' as const;
  /** Each object's first content component carries its details (from fstat of the open file). */
  readonly describesContent = true;
  readonly datasourceId: string;
  private readonly logger: SystemLogger;
  private readonly errorHandler: ErrorHandler;
  private readonly config: FilesystemConfig;
  private readonly roots: string[];
  private readonly isIncluded: (relative: string) => boolean;
  private readonly isExcluded: (relative: string) => boolean;
  private readonly extractor: ContentExtractor;
  private closed = false;

  constructor(deps: ConnectorDependencies<FilesystemConfig>, options: FileConnectorOptions = {}) {
    this.datasourceId = deps.datasourceId;
    this.logger = deps.logger;
    this.errorHandler = deps.errorHandler;
    this.config = filesystemConfigSchema.parse(deps.config);
    this.roots = this.config.roots.map((root) => path.resolve(root));
    this.isIncluded = picomatch(this.config.include, { dot: true });
    this.isExcluded =
      this.config.exclude.length > 0 ? picomatch(this.config.exclude, { dot: true }) : () => false;
    this.extractor = options.contentExtractor ?? new ContentExtractor();
  }

  async *enumerateObjects(packet: WorkPacket): AsyncIterable<DiscoveredBatch> {
    this.assertOpen();
    const batchSize = packet.payload.options?.batchSize ?? DEFAULT_BATCH_SIZE;
    const signal = packet.payload.options?.abortSignal;
    const cursor = parseCursor(packet.payload.cursor);
    this.logger.info('filesystem enumeration started', {
      roots: this.roots.length,
      resumed: cursor !== undefined,
    });
    let batch: DiscoveredObject[] = [];
    let last: WalkItem | undefined;
    let total = 0;
    for (let rootIndex = cursor?.root ?? 0; rootIndex < this.roots.length; rootIndex++) {
      const resumeAfter = cursor && rootIndex === cursor.root ? cursor.after.split('/') : undefined;
      for await (const item of this.walkRoot(rootIndex, resumeAfter, signal)) {
        batch.push(item.object);
        last = item;
        if (batch.length >= batchSize) {
          total += batch.length;
          yield discoveredBatch(batch, { root: last.rootIndex, after: last.relative });
          batch = [];
        }
      }
    }
    if (batch.length > 0 && last) {
      total += batch.length;
      yield discoveredBatch(batch, { root: last.rootIndex, after: last.relative });
    }
    this.logger.info('filesystem enumeration finished', { objects: total });
  }

  async getObjectDetails(packet: WorkPacket): Promise<ObjectMetadata[]> {
    this.assertOpen();
    return mapWithConcurrency(packet.payload.objectIds, this.config.maxConcurrency, (objectId) =>
      this.describe(objectId, packet.payload.options?.abortSignal),
    );
  }

  async *getObjectContent(packet: WorkPacket): AsyncIterable<ContentComponent> {
    this.assertOpen();
    const maxBytes = packet.payload.options?.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
    const signal = packet.payload.options?.abortSignal;
    const filePaths = packet.payload.objectIds.map((objectId) => objectPathOf(objectId, this.datasourceId));
    // Small files are read ahead, many per thread-pool job; paths outside the roots are never opened.
    const smallFiles = new SmallFileReader(
      filePaths.map((filePath) => (this.insideRoots(filePath) ? filePath : undefined)),
      Math.min(maxBytes, SMALL_FILE_BYTES),
    );
    for (const [index, objectId] of packet.payload.objectIds.entries()) {
      throwIfAborted(signal);
      const filePath = filePaths[index];
      try {
        this.assertInsideRoots(filePath, objectId);
        // Common case first: a small readable file, read whole through one handle; its fstat gives the details.
        const small = await smallFiles.read(index);
        if (small) {
          let details: ObjectMetadata | undefined = this.detailsOf(
            objectId,
            filePath,
            small.stats,
            this.config.hashContent ? createHash('sha256').update(small.data).digest('hex') : undefined,
          );
          const withDetails = (component: ContentComponent): ContentComponent => {
            const first = details ? { ...component, details } : component;
            details = undefined;
            return first;
          };
          const extractOptions = { componentPath: filePath, filePath, abortSignal: signal };
          const text = this.extractor.extractTextInMemory(small.data, objectId, extractOptions);
          if (text) for (const component of text) yield withDetails(component);
          else
            for await (const component of this.extractor.extractFromBuffer(
              small.data,
              objectId,
              extractOptions,
            ))
              yield withDetails(component);
          continue;
        }
        const stats = await this.fsCall(() => stat(filePath), filePath, objectId, 'stat');
        if (stats.isDirectory()) throw await this.directoryError(filePath, objectId);
        // A FIFO, socket or device put where a file was listed: opening a FIFO would block a pool thread.
        if (!stats.isFile()) {
          throw platformError(ErrorType.CONTENT_UNSUPPORTED, `${filePath} is not a regular file`, {
            objectId,
          });
        }
        if (stats.size > maxBytes) {
          throw platformError(
            ErrorType.CONTENT_TOO_LARGE,
            `${filePath} is ${stats.size} bytes, over the ${maxBytes}-byte limit`,
            { objectId },
          );
        }
        // Opening first turns "permission denied" into this object's error before any content flows.
        const handle = await this.fsCall(() => open(filePath, 'r'), filePath, objectId, 'open');
        await handle.close();
        let details: ObjectMetadata | undefined = await this.describeReadable(objectId, filePath, stats);
        for await (const component of this.extractor.extractFromFile(filePath, objectId, {
          componentPath: filePath,
          abortSignal: signal,
        })) {
          yield details ? { ...component, details } : component;
          details = undefined;
        }
      } catch (err) {
        const error = this.errorHandler.wrap(err, { path: filePath, objectId }, 'read file');
        if (!isObjectScoped(error)) throw error;
        this.logger.warn('file skipped', { objectId, errorType: error.type });
        yield errorComponent(objectId, filePath, error);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async *walkRoot(
    rootIndex: number,
    resumeAfter: string[] | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<WalkItem> {
    const root = this.roots[rootIndex];
    let rootStats: Stats;
    try {
      rootStats = await stat(root);
    } catch (err) {
      const error = this.errorHandler.wrap(err, { path: root }, 'open root');
      if (error.type === ErrorType.OBJECT_NOT_FOUND) {
        throw platformError(
          ErrorType.CONFIGURATION_INVALID,
          `root ${root} does not exist`,
          { path: root },
          err,
        );
      }
      throw error;
    }
    if (!rootStats.isDirectory()) {
      throw platformError(ErrorType.CONFIGURATION_INVALID, `root ${root} is not a directory`, { path: root });
    }
    const ancestors = new Set([`${rootStats.dev}:${rootStats.ino}`]);
    yield* this.walkDirectory(rootIndex, root, [], 0, resumeAfter, ancestors, signal);
  }

  /**
   * Depth-first, entries sorted by code point, so the order (and so the cursor) is the same on
   * every run. A folder that cannot be listed is yielded as an object itself, so the scan records
   * it; its details and content then report RIGHTS_ACCESS_DENIED.
   */
  private async *walkDirectory(
    rootIndex: number,
    directory: string,
    relative: string[],
    depth: number,
    resumeAfter: string[] | undefined,
    ancestors: Set<string>,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<WalkItem> {
    throwIfAborted(signal);
    let entries: Dirent[];
    try {
      // Listed whole (the walk sorts them anyway): one promise per folder, not one per entry.
      entries = await readdir(directory, { withFileTypes: true });
    } catch (err) {
      const error = this.errorHandler.wrap(err, { path: directory }, 'list folder');
      if (error.type === ErrorType.RIGHTS_ACCESS_DENIED && relative.length > 0) {
        this.logger.warn('folder not readable; recorded as an object', { path: directory });
        yield this.item(rootIndex, directory, relative);
        return;
      }
      if (error.type === ErrorType.OBJECT_NOT_FOUND && relative.length > 0) return; // vanished mid-walk
      throw error;
    }
    entries.sort((a, b) => compareCodePoints(a.name, b.name));

    const candidates: Candidate[] = [];
    for (const entry of entries) {
      if (resumeAfter) {
        const order = compareCodePoints(entry.name, resumeAfter[0]);
        if (order < 0 || (order === 0 && resumeAfter.length === 1)) continue;
      }
      // Only a followed link needs a stat first.
      const candidate = entry.isSymbolicLink()
        ? await this.classifyLink(entry, directory, relative)
        : this.classify(entry, directory, relative);
      if (candidate) candidates.push(candidate);
    }

    for (let start = 0; start < candidates.length; start += STAT_CHUNK) {
      const chunk = candidates.slice(start, start + STAT_CHUNK);
      // The chunk's files are stat'ed in one thread-pool job; folders are walked in order below.
      const files = chunk.filter((candidate) => candidate.kind === 'file');
      const listed = await fsAddon().statFiles(files.map((candidate) => candidate.absolute));
      files.forEach((candidate, i) => {
        // A file gone since the listing (size -1) is skipped.
        if (listed[2 * i] >= 0) candidate.listed = { size: listed[2 * i], mtimeMs: listed[2 * i + 1] };
      });
      for (const candidate of chunk) {
        const childResume =
          resumeAfter && candidate.name === resumeAfter[0] && resumeAfter.length > 1
            ? resumeAfter.slice(1)
            : undefined;
        if (candidate.kind === 'file') {
          if (candidate.listed)
            yield this.item(rootIndex, candidate.absolute, candidate.relative, candidate.listed);
          continue;
        }
        if (this.config.maxDepth !== undefined && depth + 1 > this.config.maxDepth) continue;
        let nextAncestors = ancestors;
        if (this.config.followSymlinks) {
          const stats = candidate.stats ?? (await stat(candidate.absolute).catch(() => undefined));
          if (!stats) continue;
          const identity = `${stats.dev}:${stats.ino}`;
          if (ancestors.has(identity)) {
            this.logger.warn('symbolic link loop skipped', { path: candidate.absolute });
            continue;
          }
          nextAncestors = new Set(ancestors).add(identity);
        }
        yield* this.walkDirectory(
          rootIndex,
          candidate.absolute,
          candidate.relative,
          depth + 1,
          childResume,
          nextAncestors,
          signal,
        );
      }
    }
  }

  /** What a symbolic link is for the walk: what it points to when links are followed, else skipped. */
  private async classifyLink(
    entry: Dirent,
    directory: string,
    parent: string[],
  ): Promise<Candidate | undefined> {
    if (!this.config.followSymlinks) return undefined;
    const stats = await stat(path.join(directory, entry.name)).catch(() => undefined); // dangling or looping links are skipped
    return stats && this.classify(entry, directory, parent, stats);
  }

  /**
   * What a folder entry (or, with `stats`, what a followed link points to) is for the walk; undefined when it is
   * skipped (filtered, special file).
   */
  private classify(entry: Dirent, directory: string, parent: string[], stats?: Stats): Candidate | undefined {
    const relative = [...parent, entry.name];
    const relativePath = relative.join('/');
    const absolute = path.join(directory, entry.name);
    const isDirectory = stats ? stats.isDirectory() : entry.isDirectory();
    const isFile = stats ? stats.isFile() : entry.isFile();
    if (isDirectory) {
      if (this.isExcluded(`${relativePath}/`)) return undefined;
      return { name: entry.name, absolute, relative, kind: 'directory', stats };
    }
    // Sockets, FIFOs and devices are never read: a FIFO would block the reader forever.
    if (!isFile) return undefined;
    if (!this.isIncluded(relativePath) || this.isExcluded(relativePath)) return undefined;
    return { name: entry.name, absolute, relative, kind: 'file', stats };
  }

  private item(rootIndex: number, absolute: string, relative: string[], stats?: ListedStats): WalkItem {
    return {
      rootIndex,
      relative: relative.join('/'),
      object: {
        objectId: `${this.datasourceId}:${absolute}`,
        datasourceId: this.datasourceId,
        objectPath: absolute,
        objectType: 'file',
        size: stats?.size,
        lastModified: stats && isoFromMs(stats.mtimeMs),
      },
    };
  }

  private async describe(objectId: string, signal: AbortSignal | undefined): Promise<ObjectMetadata> {
    throwIfAborted(signal);
    const filePath = objectPathOf(objectId, this.datasourceId);
    const base: ObjectMetadata = { objectId, objectPath: filePath, objectType: 'file' };
    try {
      this.assertInsideRoots(filePath, objectId);
      const stats = await this.fsCall(() => stat(filePath), filePath, objectId, 'stat');
      if (stats.isDirectory()) throw await this.directoryError(filePath, objectId);
      await this.fsCall(() => access(filePath, constants.R_OK), filePath, objectId, 'check read access');
      return await this.describeReadable(objectId, filePath, stats);
    } catch (err) {
      const error = this.errorHandler.wrap(err, { path: filePath, objectId }, 'describe file');
      if (!isObjectScoped(error)) throw error;
      return { ...base, error: { type: error.type, message: error.message } };
    }
  }

  /** The details of a readable file, hashing it from disk when `hashContent` asks for it. */
  private async describeReadable(objectId: string, filePath: string, stats: Stats): Promise<ObjectMetadata> {
    const sha256 = this.config.hashContent
      ? await this.fsCall(() => sha256Of(filePath), filePath, objectId, 'hash')
      : undefined;
    return this.detailsOf(objectId, filePath, stats, sha256);
  }

  /** The details of a readable file from its stats (and content hash, with `hashContent`). */
  private detailsOf(objectId: string, filePath: string, stats: FileStats, sha256?: string): ObjectMetadata {
    const attributes: NonNullable<ObjectMetadata['attributes']> = {
      mode: `0${(stats.mode & 0o7777).toString(8)}`,
      uid: stats.uid,
      gid: stats.gid,
      ctime: isoFromMs(stats.ctimeMs),
      inode: stats.ino,
    };
    if (sha256 !== undefined) attributes.sha256 = sha256;
    return {
      objectId,
      objectPath: filePath,
      objectType: 'file',
      size: stats.size,
      lastModified: isoFromMs(stats.mtimeMs),
      attributes,
    };
  }

  /** A folder object is one the walk could not list: report why (normally RIGHTS_ACCESS_DENIED). */
  private async directoryError(directory: string, objectId: string): Promise<PlatformError> {
    try {
      const dir = await opendir(directory);
      await dir.close();
    } catch (err) {
      return this.errorHandler.wrap(err, { path: directory, objectId }, 'list folder');
    }
    return platformError(ErrorType.CONTENT_UNSUPPORTED, `${directory} is a folder`, { objectId });
  }

  private insideRoots(filePath: string): boolean {
    return this.roots.some((root) => {
      const relative = path.relative(root, filePath);
      return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
    });
  }

  private assertInsideRoots(filePath: string, objectId: string): void {
    if (!this.insideRoots(filePath))
      throw platformError(ErrorType.OBJECT_NOT_FOUND, `${filePath} is outside the configured roots`, {
        objectId,
      });
  }

  /** One file system call: raw errors wrapped; transient ones (EMFILE…) retried with back-off. */
  private fsCall<T>(fn: () => Promise<T>, filePath: string, objectId: string, what: string): Promise<T> {
    return retryWithBackoff(async () => {
      try {
        return await fn();
      } catch (err) {
        throw this.errorHandler.wrap(err, { path: filePath, objectId }, what);
      }
    });
  }

  private assertOpen(): void {
    if (this.closed)
      throw new PlatformError('connector is closed', ErrorType.INTERNAL, { datasourceId: this.datasourceId });
  }
}

/** A stat time as ISO text, rounded to the millisecond as Node's `Stats` dates are (so scans stay comparable). */
function isoFromMs(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

/** The stat fields a file's details are made of (a Stats has them all). */
type FileStats = Pick<Stats, 'size' | 'mode' | 'uid' | 'gid' | 'ino' | 'mtimeMs' | 'ctimeMs'>;

type SmallFile = { data: Buffer } & FileStats;

interface FsAddon {
  /** From the first path on, until the files read reach budgetBytes: so possibly fewer results than paths. */
  readSmallFiles(
    paths: string[],
    maxBytes: number,
    budgetBytes: number,
  ): Promise<Array<SmallFile | undefined>>;
  /** (size, mtimeMs) per path, following links; (-1, -1) where stat failed. */
  statFiles(paths: string[]): Promise<Float64Array>;
}

const fsAddon = (): FsAddon => loadAddon<FsAddon>('assay_fs');

/** Bytes of small files one thread-pool job reads ahead (and so holds in memory per packet being read). */
const READ_AHEAD_BYTES = 512 * 1024;

/**
 * The content and stats of a packet's small files, read ahead in order by as few thread-pool jobs as the
 * byte budget allows (native/assay_fs.cc: open, fstat, read and close each, with no event-loop round trip
 * between files). `read(i)` gives the content and stats of a non-empty regular file of at most `maxBytes`,
 * else undefined (an error, a folder, an empty or bigger file, a path not to open), which the caller then
 * handles on its general path.
 */
class SmallFileReader {
  /** The job reading from `from` on: its array ends where the budget ran out. */
  private batch?: { from: number; files: Promise<Array<SmallFile | undefined>> };

  constructor(
    /** undefined: a path not to open. */
    private readonly paths: Array<string | undefined>,
    private readonly maxBytes: number,
  ) {}

  /** Files are asked for in order; going back starts a new job. */
  async read(index: number): Promise<{ data: Buffer; stats: FileStats } | undefined> {
    if (this.paths[index] === undefined) return undefined;
    if (!this.batch || index < this.batch.from) this.batch = this.readFrom(index);
    for (;;) {
      const { from, files } = this.batch;
      const read = await files;
      if (index - from < read.length) {
        const file = read[index - from];
        return file && { data: file.data, stats: file };
      }
      this.batch = this.readFrom(from + read.length);
    }
  }

  private readFrom(from: number): { from: number; files: Promise<Array<SmallFile | undefined>> } {
    // '' (a path not to open) names no file: it comes back undefined, like a path with a NUL byte.
    const paths = this.paths.slice(from).map((filePath) => filePath ?? '');
    return { from, files: fsAddon().readSmallFiles(paths, this.maxBytes, READ_AHEAD_BYTES) };
  }
}

async function sha256Of(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function parseCursor(cursor: EnumerationCursor | undefined): FilesystemCursor | undefined {
  if (cursor === undefined) return undefined;
  if (typeof cursor.root !== 'number' || typeof cursor.after !== 'string' || cursor.after === '') {
    throw platformError(ErrorType.CONFIGURATION_INVALID, 'filesystem cursor is malformed', {});
  }
  return { root: cursor.root, after: cursor.after };
}

export const filesystemConnector: ConnectorDefinition<FilesystemConfig> = {
  type: 'filesystem',
  configSchema: filesystemConfigSchema,
  create: (deps) => new FilesystemConnector(deps),
};

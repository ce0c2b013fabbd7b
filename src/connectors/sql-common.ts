/**
 * What the PostgreSQL and MySQL/MariaDB connectors share: config fields (sampling, table patterns,
 * timeouts, pool size), identifier quoting, the enumeration cursor, object-path parsing, seeded
 * sampling thresholds, value conversion for the classifier, and the connector flow itself
 * (`SqlDataSourceConnector`), which each dialect completes.
 */
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import type { ErrorHandler } from '../core/error-handler';
import { ERROR_TYPE_RULES, ErrorType, PlatformError, platformError, type ErrorContext } from '../core/errors';
import type { ConnectorDependencies, IDatabaseDataSourceConnector } from '../core/interfaces';
import type { SystemLogger } from '../core/logger';
import {
  discoveredBatch,
  type DatabaseRow,
  type DiscoveredBatch,
  type DiscoveredObject,
  type EnumerationCursor,
  type ObjectMetadata,
  type SamplingOptions,
  type WorkPacket,
} from '../core/models';
import { objectPathOf, resolveSecret, retryWithBackoff } from './common';

// ---------------------------------------------------------------------------------------------
// Config

/** `{mode:'full'} | {mode:'limit', rows} | {mode:'percent', percent, seed?}`. */
export const samplingSchema = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({ mode: z.literal('full') }),
    z.strictObject({
      mode: z.literal('limit'),
      rows: z
        .number({ error: 'sampling.rows must be a number' })
        .int({ error: 'sampling.rows must be an integer' })
        .positive({ error: 'sampling.rows must be at least 1' }),
    }),
    z.strictObject({
      mode: z.literal('percent'),
      percent: z
        .number({ error: 'sampling.percent must be a number' })
        .gt(0, { error: 'sampling.percent must be greater than 0' })
        .max(100, { error: 'sampling.percent must be at most 100' }),
      seed: z
        .number({ error: 'sampling.seed must be a number' })
        .int({ error: 'sampling.seed must be an integer' })
        .min(0, { error: 'sampling.seed must be >= 0' })
        .max(2147483647, { error: 'sampling.seed must be < 2^31' })
        .optional(),
    }),
  ],
  { error: "sampling.mode must be 'full', 'limit' or 'percent'" },
);

const patternList = (field: string) =>
  z.array(
    z
      .string({ error: `${field} entries must be strings` })
      .min(1, { error: `${field} entries must not be empty` }),
    {
      error: `${field} must be an array of glob patterns`,
    },
  );

const positiveInt = (field: string, max?: number) => {
  let schema = z
    .number({ error: `${field} must be a number` })
    .int({ error: `${field} must be an integer` })
    .positive({ error: `${field} must be at least 1` });
  if (max !== undefined) schema = schema.max(max, { error: `${field} must be at most ${max}` });
  return schema;
};

/** Fields both SQL connectors accept, with their defaults. */
export const sqlCommonConfigFields = {
  host: z.string({ error: 'host must be a string' }).min(1, { error: 'host must not be empty' }),
  user: z.string({ error: 'user must be a string' }).min(1, { error: 'user must not be empty' }),
  /** Tables to scan: glob patterns (`*`, `?`); a pattern with a `.` matches `schema.table`, else the table name. Default ['*']. */
  include: patternList('include').default(['*']),
  /** Tables to skip, same syntax as include; exclude wins. Default []. */
  exclude: patternList('exclude').default([]),
  /** Default `{mode:'full'}`; `packet.payload.options.sampling` overrides it. */
  sampling: samplingSchema.default({ mode: 'full' }),
  /** Per statement (PostgreSQL: each FETCH; MySQL/MariaDB: the whole streamed SELECT). Default 60000. */
  statementTimeoutMs: positiveInt('statementTimeoutMs').default(60_000),
  /** Pool size. Default 4. */
  maxConnections: positiveInt('maxConnections', 64).default(4),
  /** TCP connect + handshake timeout. Default 10000. */
  connectTimeoutMs: positiveInt('connectTimeoutMs').default(10_000),
  /**
   * Most rows per batch while streaming (memory bound): PostgreSQL cursor reads FETCH this many; COPY
   * and MySQL hand out each network read's rows at once, split at this size. Default 2000.
   */
  fetchRows: positiveInt('fetchRows', 100_000).default(2000),
  /** Connection attempts for retryable failures (server down, too many connections). Default 4. */
  connectAttempts: positiveInt('connectAttempts', 20).default(4),
};

/** TLS: false (default), true (verify the server certificate) or `{rejectUnauthorized}`. */
export const sslSchema = z
  .union([z.boolean(), z.strictObject({ rejectUnauthorized: z.boolean().default(true) })], {
    error: 'ssl must be a boolean or {rejectUnauthorized: boolean}',
  })
  .default(false);

/** The driver's TLS options for a configured `ssl`; undefined for plain TCP. */
export function tlsOptions(ssl: z.output<typeof sslSchema>): { rejectUnauthorized: boolean } | undefined {
  return ssl === false ? undefined : ssl === true ? { rejectUnauthorized: true } : ssl;
}

/** Adds the check that at most one of passwordEnv and passwordFile is set. */
export function withExclusivePassword<T extends z.ZodType<{ passwordEnv?: string; passwordFile?: string }>>(
  schema: T,
): T {
  return schema.refine((c) => !(c.passwordEnv && c.passwordFile), {
    error: 'passwordEnv and passwordFile are exclusive: set one',
    path: ['passwordFile'],
  });
}

export function portSchema(defaultPort: number) {
  return z
    .number({ error: 'port must be a number' })
    .int({ error: 'port must be an integer' })
    .min(1, { error: 'port must be between 1 and 65535' })
    .max(65535, { error: 'port must be between 1 and 65535' })
    .default(defaultPort);
}

/** The packet's sampling when given, else the configured one. */
export function effectiveSampling(packet: WorkPacket, configured: SamplingOptions): SamplingOptions {
  const override = packet.payload.options?.sampling;
  if (!override) return configured;
  const parsed = samplingSchema.safeParse(override);
  if (!parsed.success) {
    throw platformError(
      ErrorType.CONFIGURATION_INVALID,
      `payload.options.sampling: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      { field: 'payload.options.sampling' },
    );
  }
  return parsed.data;
}

/** Enumeration batch size: `payload.options.batchSize`, default 100. */
export function batchSizeOf(packet: WorkPacket): number {
  const size = packet.payload.options?.batchSize ?? 100;
  if (!Number.isInteger(size) || size < 1) {
    throw platformError(
      ErrorType.CONFIGURATION_INVALID,
      `payload.options.batchSize must be a positive integer`,
      {
        field: 'payload.options.batchSize',
      },
    );
  }
  return size;
}

// ---------------------------------------------------------------------------------------------
// Table patterns

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.+()[\]{}|/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * Include/exclude filter over (schema, table). Patterns are case-sensitive globs with `*` (any run,
 * dots included) and `?` (one character); a pattern containing `.` is matched against
 * `schema.table`, one without against the table name alone. Exclude wins over include.
 */
export function tableFilter(
  include: readonly string[],
  exclude: readonly string[],
): (schema: string, table: string) => boolean {
  const compile = (patterns: readonly string[]) =>
    patterns.map((p) => ({ qualified: p.includes('.'), re: globToRegExp(p) }));
  const inc = compile(include);
  const exc = compile(exclude);
  const hit = (list: ReturnType<typeof compile>, schema: string, table: string) =>
    list.some((p) => p.re.test(p.qualified ? `${schema}.${table}` : table));
  return (schema, table) => hit(inc, schema, table) && !hit(exc, schema, table);
}

// ---------------------------------------------------------------------------------------------
// Identifiers

/** PostgreSQL identifier: double quotes, embedded `"` doubled. NUL is rejected (the server would too). */
export function quotePgIdent(name: string): string {
  if (name.includes('\0')) throw platformError(ErrorType.CONFIGURATION_INVALID, 'identifier contains NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** MySQL/MariaDB identifier: backticks, embedded backtick doubled. */
export function quoteMysqlIdent(name: string): string {
  if (name.includes('\0')) throw platformError(ErrorType.CONFIGURATION_INVALID, 'identifier contains NUL');
  return `\`${name.replace(/`/g, '``')}\``;
}

// ---------------------------------------------------------------------------------------------
// Object paths and the enumeration cursor

export interface TableRef {
  schema: string;
  table: string;
}

/** `${schema}.${table}` — the objectPath of a table or view. */
export function tableObjectPath(ref: TableRef): string {
  return `${ref.schema}.${ref.table}`;
}

/**
 * Every (schema, table) split of an objectPath, first dot first. Names may contain dots, so the
 * connector resolves the candidates against the catalogue and takes the first that exists.
 */
export function tableRefCandidates(objectPath: string): TableRef[] {
  const candidates: TableRef[] = [];
  for (let i = objectPath.indexOf('.'); i >= 0; i = objectPath.indexOf('.', i + 1)) {
    if (i > 0 && i < objectPath.length - 1)
      candidates.push({ schema: objectPath.slice(0, i), table: objectPath.slice(i + 1) });
  }
  return candidates;
}

/** Cursor: the last (schema, table) emitted; enumeration resumes strictly after it. */
export function tableCursor(ref: TableRef): EnumerationCursor {
  return { schema: ref.schema, table: ref.table };
}

export function parseTableCursor(cursor: EnumerationCursor | undefined): TableRef | undefined {
  if (cursor === undefined) return undefined;
  if (typeof cursor.schema !== 'string' || typeof cursor.table !== 'string') {
    throw platformError(
      ErrorType.CONFIGURATION_INVALID,
      'payload.cursor must be {schema: string, table: string}',
      {
        field: 'payload.cursor',
      },
    );
  }
  return { schema: cursor.schema, table: cursor.table };
}

// ---------------------------------------------------------------------------------------------
// Sampling

/**
 * Threshold out of 10000 for hash sampling (`hash % 10000 < threshold`): percent with two decimals.
 * At least 1 so a tiny percent still samples something from big tables.
 */
export function percentThreshold(percent: number): number {
  return Math.min(10_000, Math.max(1, Math.round(percent * 100)));
}

/** The default seed when `percent` sampling gives none: fixed, so rescans sample the same rows. */
export const DEFAULT_SAMPLING_SEED = 0;

// ---------------------------------------------------------------------------------------------
// Values and rows

/**
 * Makes a column value readable by the classifier: strings and numbers (and booleans, null) as
 * they are; bigint → decimal string; Date → ISO string; Buffer → UTF-8 text when it is valid UTF-8,
 * else `\x`-prefixed hex; arrays and objects (JSON columns) → JSON text.
 */
export function toClassifiableValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'object':
      if (Buffer.isBuffer(value))
        return isUtf8(value) ? value.toString('utf8') : `\\x${value.toString('hex')}`;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
      try {
        return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      } catch {
        return String(value);
      }
    default:
      return String(value);
  }
}

/** Converts one non-null column value. */
export type ValueConverter = (value: unknown) => unknown;

/** For drivers that already give strings and numbers: anything else goes through toClassifiableValue. */
export const toClassifiableIfNeeded: ValueConverter = (value) =>
  typeof value === 'string' || typeof value === 'number' ? value : toClassifiableValue(value);

/**
 * Compiles a row builder for one result shape: `values[i]` → `{[names[i]]: converters[i](values[i])}`
 * as a single object literal (far cheaper per row than adding keys one by one). Column names enter
 * the generated code only as JSON string literals; `__proto__` becomes a computed key so it stays
 * an own property. A column without a converter is copied as is; null/undefined → null.
 */
export function compileRowBuilder(
  names: readonly string[],
  converters: ReadonlyArray<ValueConverter | undefined>,
): (values: readonly unknown[]) => Record<string, unknown> {
  const properties = names.map((name, i) => {
    const key = name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name);
    const value = converters[i]
      ? `(v[${i}] === null || v[${i}] === undefined ? null : c[${i}](v[${i}]))`
      : `(v[${i}] === undefined ? null : v[${i}])`;
    return `${key}: ${value}`;
  });
  const factory = new Function(
    'c',
    `'use strict'; return function buildRow(v) { return { ${properties.join(', ')} }; };`,
  );
  return factory(converters) as (values: readonly unknown[]) => Record<string, unknown>;
}

/** Whether a wrapped error concerns only the current table (yield an error row) or the whole source (throw). */
export function isPerObjectError(error: PlatformError): boolean {
  return ERROR_TYPE_RULES[error.type].scope === 'object';
}

/**
 * Turns batches of driver value arrays into DatabaseRows of one table, compiling the row builder
 * (classifier-readable values) from the first batch's column names.
 */
export function classifiableRows(
  objectId: string,
): (names: readonly string[], rows: readonly unknown[][]) => DatabaseRow[] {
  let buildRow: ((values: readonly unknown[]) => Record<string, unknown>) | undefined;
  return (names, rows) => {
    const build = (buildRow ??= compileRowBuilder(
      names,
      names.map(() => toClassifiableIfNeeded),
    ));
    return rows.map((values) => ({ objectId, row: build(values) }));
  };
}

export function errorRow(objectId: string, error: PlatformError): DatabaseRow {
  return { objectId, row: {}, error: { type: error.type, message: error.message } };
}

export function cancelledError(objectId?: string): PlatformError {
  return platformError(ErrorType.CANCELLED, 'content read cancelled', objectId ? { objectId } : {});
}

/**
 * Flattens a batch stream into single rows (the interface's `AsyncIterable<DatabaseRow>`). Hand-rolled
 * rather than an async generator with `yield*`: rows already in memory are handed out with one
 * resolved promise each, which is several times cheaper per row. `return()` (a consumer's `break`)
 * is passed on so the batch source releases its connection.
 */
export function flattenRowBatches(batches: AsyncIterable<DatabaseRow[]>): AsyncIterableIterator<DatabaseRow> {
  const source = batches[Symbol.asyncIterator]();
  let batch: DatabaseRow[] = [];
  let index = 0;
  let finished = false;
  const pull = async (): Promise<IteratorResult<DatabaseRow>> => {
    for (;;) {
      const next = await source.next();
      if (next.done) {
        finished = true;
        return { value: undefined, done: true };
      }
      batch = next.value;
      index = 0;
      if (batch.length > 0) return { value: batch[index++], done: false };
    }
  };
  const iterator: AsyncIterableIterator<DatabaseRow> = {
    next(): Promise<IteratorResult<DatabaseRow>> {
      if (index < batch.length) return Promise.resolve({ value: batch[index++], done: false });
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return pull();
    },
    async return(): Promise<IteratorResult<DatabaseRow>> {
      batch = [];
      index = 0;
      if (!finished) {
        finished = true;
        await source.return?.();
      }
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

// ---------------------------------------------------------------------------------------------
// The shared connector flow

/** The config fields the shared flow reads (both dialects' configs have them). */
export interface SqlConnectorConfig {
  host: string;
  port: number;
  database: string;
  include: string[];
  exclude: string[];
  sampling: SamplingOptions;
  connectAttempts: number;
  passwordEnv?: string | undefined;
  passwordFile?: string | undefined;
}

/** A dialect's pool as the shared flow sees it. */
export interface SqlPool<Connection> {
  acquire(): Promise<Connection>;
  end(): Promise<void>;
}

/** Per content call: set once the connection cannot be reused (link failure, result set abandoned mid-stream). */
export interface ConnectionState {
  broken?: Error;
}

/** One table being read; the dialect sets the flags so the shared flow knows what to undo. */
export interface TableRead<Table> {
  readonly packet: WorkPacket;
  readonly objectId: string;
  readonly table: Table;
  readonly sampling: SamplingOptions;
  /** A transaction is open on the connection. */
  inTransaction: boolean;
  /** Rows are still arriving on the wire: the connection cannot run another statement. */
  streaming: boolean;
}

/**
 * The flow both SQL connectors share: enumeration (catalogue pages, include/exclude filter, batches,
 * resume cursor), details (one entry per object, errors as entries), content (tables in order, one
 * error row per unreadable table, sampling from the packet or the config), pool life cycle with
 * connect retries, abort checks and error wrapping. A dialect supplies the catalogue queries, the
 * description and the row stream of one table, its pool and its error specifics.
 */
export abstract class SqlDataSourceConnector<
  Config extends SqlConnectorConfig,
  Connection,
  CatalogRow extends { schema: string; name: string },
  Table extends TableRef,
> implements IDatabaseDataSourceConnector {
  readonly kind = 'database' as const;
  readonly datasourceId: string;
  protected readonly logger: SystemLogger;
  protected readonly errorHandler: ErrorHandler;
  protected readonly config: Config;
  private readonly filter: (schema: string, table: string) => boolean;
  private poolPromise: Promise<SqlPool<Connection>> | undefined;
  private closed = false;

  /** `connectorName` tags the logger; `serverName` names the server in connect errors. */
  protected constructor(
    deps: ConnectorDependencies<Config>,
    connectorName: string,
    private readonly serverName: string,
  ) {
    this.datasourceId = deps.datasourceId;
    this.logger = deps.logger.child({ connector: connectorName, datasourceId: deps.datasourceId });
    this.errorHandler = deps.errorHandler;
    this.config = deps.config;
    this.filter = tableFilter(this.config.include, this.config.exclude);
  }

  // ---- dialect ----------------------------------------------------------------------------

  /** Up to `limit` catalogue rows strictly after `after`, in the cursor's (byte) order. */
  protected abstract catalogPage(
    conn: Connection,
    after: TableRef | undefined,
    limit: number,
  ): Promise<CatalogRow[]>;
  protected abstract toDiscovered(row: CatalogRow): DiscoveredObject;
  /** The table `objectPath` names, or undefined when none exists (or it is outside the scanned schemas). */
  protected abstract resolve(conn: Connection, objectPath: string): Promise<Table | undefined>;
  protected abstract describeTable(
    conn: Connection,
    objectId: string,
    objectPath: string,
    table: Table,
  ): Promise<ObjectMetadata>;
  /**
   * One table's rows in batches; sets `read.inTransaction` / `read.streaming` as it goes. A
   * transaction still open when it returns is committed by the shared flow.
   */
  protected abstract readTable(
    conn: Connection,
    read: TableRead<Table>,
    state: ConnectionState,
  ): AsyncGenerator<DatabaseRow[]>;
  /** The consumer stopped mid-table (`read.streaming` or `read.inTransaction` still set): make the connection safe or mark it broken. */
  protected abstract abandonRead(
    conn: Connection,
    read: TableRead<Table>,
    state: ConnectionState,
  ): Promise<void>;
  protected abstract createPool(): Promise<SqlPool<Connection>>;
  /** Runs one statement whose result is not needed (transaction control). */
  protected abstract execute(conn: Connection, sql: string): Promise<void>;
  /** Returns a connection to the pool, or drops it for good when `broken` is set. */
  protected abstract releaseConnection(conn: Connection, broken: Error | undefined): void;
  /** Dialect errors the ErrorHandler does not know; undefined to use it. */
  protected abstract wrapDialectError(
    err: unknown,
    context: ErrorContext,
    what: string,
  ): PlatformError | undefined;

  /** Session setup before a content read. Default: none. */
  protected async prepareSession(_conn: Connection): Promise<void> {}

  /** Maps a failed connection attempt. Default: `wrap`. */
  protected connectError(err: unknown, context: ErrorContext, what: string): PlatformError {
    return this.wrap(err, context, what);
  }

  // ---- enumeration ------------------------------------------------------------------------

  async *enumerateObjects(packet: WorkPacket): AsyncGenerator<DiscoveredBatch> {
    const batchSize = batchSizeOf(packet);
    let after = parseTableCursor(packet.payload.cursor);
    let pending: DiscoveredObject[] = [];
    let lastEmitted: TableRef | undefined;
    const pageSize = Math.max(batchSize, 500);
    for (;;) {
      this.throwIfAborted(packet);
      const rows = await this.withConnection(
        packet,
        (conn) => this.catalogPage(conn, after, pageSize),
        'enumerate tables',
      );
      for (const row of rows) {
        after = { schema: row.schema, table: row.name };
        if (!this.filter(row.schema, row.name)) continue;
        pending.push(this.toDiscovered(row));
        lastEmitted = after;
        if (pending.length >= batchSize) {
          yield discoveredBatch(pending, tableCursor(lastEmitted));
          pending = [];
        }
      }
      if (rows.length < pageSize) break;
    }
    if (pending.length > 0 && lastEmitted) yield discoveredBatch(pending, tableCursor(lastEmitted));
  }

  /** A discovered table or view of this datasource; `extra` adds size, etag, lastModified. */
  protected discoveredObject(
    objectPath: string,
    objectType: DiscoveredObject['objectType'],
    extra: Partial<DiscoveredObject>,
  ): DiscoveredObject {
    return {
      objectId: `${this.datasourceId}:${objectPath}`,
      datasourceId: this.datasourceId,
      objectPath,
      objectType,
      ...extra,
    };
  }

  // ---- details ----------------------------------------------------------------------------

  async getObjectDetails(packet: WorkPacket): Promise<ObjectMetadata[]> {
    return this.withConnection(
      packet,
      async (conn) => {
        const results: ObjectMetadata[] = [];
        for (const objectId of packet.payload.objectIds) {
          this.throwIfAborted(packet);
          results.push(await this.describe(conn, objectId));
        }
        return results;
      },
      'describe tables',
    );
  }

  private async describe(conn: Connection, objectId: string): Promise<ObjectMetadata> {
    const objectPath = this.safeObjectPath(objectId);
    const table = objectPath === undefined ? undefined : await this.resolve(conn, objectPath);
    if (!table || objectPath === undefined) {
      return {
        objectId,
        objectPath: objectPath ?? objectId,
        objectType: 'table',
        error: {
          type: ErrorType.OBJECT_NOT_FOUND,
          message: `table ${objectPath ?? objectId} does not exist`,
        },
      };
    }
    return this.describeTable(conn, objectId, objectPath, table);
  }

  // ---- content ----------------------------------------------------------------------------

  getObjectContent(packet: WorkPacket): AsyncIterable<DatabaseRow> {
    return flattenRowBatches(this.getObjectContentBatches(packet));
  }

  /**
   * The batch path under `getObjectContent`: rows of each table in arrays of at most `fetchRows`. A
   * table that cannot be read yields one array holding its error row.
   */
  async *getObjectContentBatches(packet: WorkPacket): AsyncGenerator<DatabaseRow[]> {
    const sampling = effectiveSampling(packet, this.config.sampling);
    const conn = await this.connect(packet);
    const state: ConnectionState = {};
    try {
      await this.prepareSession(conn);
      for (const objectId of packet.payload.objectIds) {
        this.throwIfAborted(packet, objectId);
        yield* this.readObject(conn, packet, objectId, sampling, state);
        if (state.broken) break;
      }
    } catch (err) {
      const wrapped = this.wrap(err, { datasourceId: this.datasourceId }, 'read tables');
      state.broken ??= wrapped;
      throw wrapped;
    } finally {
      this.releaseConnection(conn, state.broken);
    }
  }

  private async *readObject(
    conn: Connection,
    packet: WorkPacket,
    objectId: string,
    sampling: SamplingOptions,
    state: ConnectionState,
  ): AsyncGenerator<DatabaseRow[]> {
    const context: ErrorContext = { datasourceId: this.datasourceId, objectId };
    let read: TableRead<Table> | undefined;
    try {
      const objectPath = this.safeObjectPath(objectId);
      const table = objectPath === undefined ? undefined : await this.resolve(conn, objectPath);
      if (!table) {
        yield [
          errorRow(
            objectId,
            platformError(
              ErrorType.OBJECT_NOT_FOUND,
              `table ${objectPath ?? objectId} does not exist`,
              context,
            ),
          ),
        ];
        return;
      }
      read = { packet, objectId, table, sampling, inTransaction: false, streaming: false };
      yield* this.readTable(conn, read, state);
      if (read.inTransaction) {
        await this.execute(conn, 'COMMIT');
        read.inTransaction = false;
      }
    } catch (err) {
      if (read) read.streaming = false;
      const wrapped = this.wrap(err, context, `read ${objectId}`);
      if (state.broken) throw wrapped;
      if (read?.inTransaction) {
        read.inTransaction = false;
        await this.execute(conn, 'ROLLBACK').catch((rollbackError: Error) => {
          state.broken = rollbackError;
        });
      }
      if (!isPerObjectError(wrapped)) {
        state.broken ??= wrapped;
        throw wrapped;
      }
      this.logger.warn('table skipped', { objectId, errorType: wrapped.type, error: wrapped.message });
      yield [errorRow(objectId, wrapped)];
    } finally {
      if (read && (read.streaming || read.inTransaction)) await this.abandonRead(conn, read, state);
    }
  }

  // ---- pool -------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = this.poolPromise;
    this.poolPromise = undefined;
    if (!pending) return;
    const pool = await pending.catch(() => undefined);
    await pool?.end().catch((err: unknown) => this.logger.warn('pool end failed', { error: String(err) }));
  }

  private pool(): Promise<SqlPool<Connection>> {
    if (this.closed) {
      return Promise.reject(
        platformError(ErrorType.CANCELLED, 'connector is closed', { datasourceId: this.datasourceId }),
      );
    }
    this.poolPromise ??= this.createPool().catch((err: unknown) => {
      this.poolPromise = undefined;
      throw err;
    });
    return this.poolPromise;
  }

  /** A pooled connection, retrying retryable failures (server down, too many connections) with back-off. */
  protected async connect(packet: WorkPacket): Promise<Connection> {
    const pool = await this.pool();
    const context: ErrorContext = {
      datasourceId: this.datasourceId,
      host: this.config.host,
      port: this.config.port,
      database: this.config.database,
    };
    const what = `connect to ${this.serverName} ${this.config.host}:${this.config.port}/${this.config.database}`;
    return retryWithBackoff(
      async () => {
        try {
          return await pool.acquire();
        } catch (err) {
          throw this.connectError(err, context, what);
        }
      },
      { attempts: this.config.connectAttempts, abortSignal: packet.payload.options?.abortSignal },
    );
  }

  /** Runs `fn` on a pooled connection; a source-scoped failure drops the connection. */
  protected async withConnection<T>(
    packet: WorkPacket,
    fn: (conn: Connection) => Promise<T>,
    what: string,
  ): Promise<T> {
    const conn = await this.connect(packet);
    let failure: PlatformError | undefined;
    try {
      return await fn(conn);
    } catch (err) {
      const wrapped = this.wrap(err, { datasourceId: this.datasourceId }, what);
      failure = wrapped;
      throw wrapped;
    } finally {
      this.releaseConnection(conn, failure?.scope === 'source' ? failure : undefined);
    }
  }

  protected wrap(err: unknown, context: ErrorContext, what: string): PlatformError {
    if (err instanceof PlatformError) return err;
    return this.wrapDialectError(err, context, what) ?? this.errorHandler.wrap(err, context, what);
  }

  /** The configured password (from passwordEnv or passwordFile); undefined when neither is set. */
  protected resolvePassword(): Promise<string | undefined> {
    return resolveSecret({
      envName: this.config.passwordEnv,
      file: this.config.passwordFile,
      field: 'password',
    });
  }

  protected safeObjectPath(objectId: string): string | undefined {
    try {
      return objectPathOf(objectId, this.datasourceId);
    } catch {
      return undefined;
    }
  }

  /** Mid-stream the connection cannot run ROLLBACK: on abort it is marked broken (dropped) instead. */
  protected throwIfAbortedMidStream(read: TableRead<Table>, state: ConnectionState): void {
    if (read.packet.payload.options?.abortSignal?.aborted) {
      state.broken = cancelledError(read.objectId);
      throw state.broken;
    }
  }

  protected throwIfAborted(packet: WorkPacket, objectId?: string): void {
    if (packet.payload.options?.abortSignal?.aborted) throw cancelledError(objectId);
  }
}

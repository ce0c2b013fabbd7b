/**
 * MySQL / MariaDB connector (`mysql2`): enumerates tables and views from information_schema,
 * describes them, and streams rows inside a READ ONLY transaction with a statement timeout. Rows
 * come off the socket in `fetchRows`-sized batches; the socket is paused while the consumer is
 * behind, so memory stays flat whatever the table size.
 */
import mysql, { type Pool, type PoolConnection, type PoolOptions } from 'mysql2/promise';
import type { Connection as CoreConnection, FieldPacket } from 'mysql2';
import { z } from 'zod';
import type { ErrorHandler } from '../core/error-handler';
import { ErrorType, PlatformError, platformError, type ErrorContext } from '../core/errors';
import type { ConnectorDependencies, IDatabaseDataSourceConnector } from '../core/interfaces';
import type { SystemLogger } from '../core/logger';
import {
  discoveredBatch,
  type ColumnMetadata,
  type DatabaseRow,
  type DiscoveredBatch,
  type DiscoveredObject,
  type ObjectMetadata,
  type ObjectType,
  type SamplingOptions,
  type WorkPacket,
} from '../core/models';
import { objectPathOf, resolveSecret, retryWithBackoff, secretRefSchema } from './common';
import type { ConnectorDefinition } from './registry';
import {
  DEFAULT_SAMPLING_SEED,
  batchSizeOf,
  cancelledError,
  compileRowBuilder,
  effectiveSampling,
  errorRow,
  flattenRowBatches,
  isPerObjectError,
  parseTableCursor,
  percentThreshold,
  portSchema,
  quoteMysqlIdent,
  sqlCommonConfigFields,
  tableCursor,
  tableFilter,
  tableObjectPath,
  tableRefCandidates,
  toClassifiableIfNeeded,
  type TableRef,
} from './sql-common';

// ---------------------------------------------------------------------------------------------
// Config

const databaseName = (field: string) =>
  z.string({ error: `${field} must be a string` }).min(1, { error: `${field} must not be empty` });

export const mysqlConfigSchema = z
  .strictObject({
    ...sqlCommonConfigFields,
    port: portSchema(3306),
    /** The database connected to; also the one scanned when `databases` is omitted. */
    database: databaseName('database'),
    /** Databases (schemas) to scan. Default: [database]. */
    databases: z
      .array(databaseName('databases entries'), { error: 'databases must be an array of database names' })
      .min(1, { error: 'databases must name at least one database (omit it to scan `database`)' })
      .optional(),
    ...secretRefSchema,
    /** TLS: false (default), true (verify the server certificate) or `{rejectUnauthorized}`. */
    ssl: z
      .union([z.boolean(), z.strictObject({ rejectUnauthorized: z.boolean().default(true) })], {
        error: 'ssl must be a boolean or {rejectUnauthorized: boolean}',
      })
      .default(false),
  })
  .refine((c) => !(c.passwordEnv && c.passwordFile), {
    error: 'passwordEnv and passwordFile are exclusive: set one',
    path: ['passwordFile'],
  });

export type MysqlConfig = z.output<typeof mysqlConfigSchema>;

const SYSTEM_DATABASES = ['mysql', 'performance_schema', 'sys', 'information_schema'];
/** MariaDB's system-versioned tables are plain tables for scanning; sequences are skipped. */
const TABLE_TYPES: Record<string, ObjectType> = {
  'BASE TABLE': 'table',
  'SYSTEM VERSIONED': 'table',
  VIEW: 'view',
};

/** MariaDB's max_statement_time error (1969) has no mysql2 code name. */
const MARIADB_STATEMENT_TIMEOUT_ERRNO = 1969;

interface CatalogRow {
  schema: string;
  name: string;
  type: string;
  tableRows: string | number | null;
  dataLength: string | number | null;
  indexLength: string | number | null;
  updated: string | null;
  created: string | null;
}

interface ResolvedTable extends TableRef {
  objectType: ObjectType;
  estimatedRows: number | null;
  bytes: number | null;
}

// ---------------------------------------------------------------------------------------------
// Connector

export class MysqlConnector implements IDatabaseDataSourceConnector {
  readonly kind = 'database' as const;
  readonly datasourceId: string;
  private readonly logger: SystemLogger;
  private readonly errorHandler: ErrorHandler;
  private readonly config: MysqlConfig;
  private readonly databases: string[];
  private readonly filter: (schema: string, table: string) => boolean;
  private poolPromise: Promise<Pool> | undefined;
  private flavour: Promise<'mariadb' | 'mysql'> | undefined;
  private closed = false;

  constructor(deps: ConnectorDependencies<MysqlConfig>) {
    this.datasourceId = deps.datasourceId;
    this.logger = deps.logger.child({ connector: 'mysql', datasourceId: deps.datasourceId });
    this.errorHandler = deps.errorHandler;
    this.config = deps.config;
    this.databases = (this.config.databases ?? [this.config.database]).filter(
      (d) => !SYSTEM_DATABASES.includes(d.toLowerCase()),
    );
    this.filter = tableFilter(this.config.include, this.config.exclude);
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

  private async catalogPage(
    conn: PoolConnection,
    after: TableRef | undefined,
    limit: number,
  ): Promise<CatalogRow[]> {
    if (this.databases.length === 0) return [];
    // information_schema names compare case-insensitively; binary casts give one exact byte order.
    const resume = after
      ? 'AND (CAST(TABLE_SCHEMA AS BINARY), CAST(TABLE_NAME AS BINARY)) > (CAST(? AS BINARY), CAST(? AS BINARY))'
      : '';
    const [rows] = await conn.query(
      `SELECT TABLE_SCHEMA AS \`schema\`, TABLE_NAME AS name, TABLE_TYPE AS type, TABLE_ROWS AS tableRows,
              DATA_LENGTH AS dataLength, INDEX_LENGTH AS indexLength,
              DATE_FORMAT(CONVERT_TZ(UPDATE_TIME, @@session.time_zone, '+00:00'), '%Y-%m-%dT%H:%i:%sZ') AS updated,
              DATE_FORMAT(CONVERT_TZ(CREATE_TIME, @@session.time_zone, '+00:00'), '%Y-%m-%dT%H:%i:%sZ') AS created
       FROM information_schema.TABLES
       WHERE TABLE_SCHEMA IN (?) AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW') ${resume}
       ORDER BY CAST(TABLE_SCHEMA AS BINARY), CAST(TABLE_NAME AS BINARY)
       LIMIT ?`,
      after ? [this.databases, after.schema, after.table, limit] : [this.databases, limit],
    );
    return (rows as CatalogRow[]).map((r) => ({ ...r, schema: String(r.schema), name: String(r.name) }));
  }

  private toDiscovered(row: CatalogRow): DiscoveredObject {
    const objectPath = tableObjectPath({ schema: row.schema, table: row.name });
    const objectType = TABLE_TYPES[row.type] ?? 'table';
    const bytes =
      objectType === 'table' ? Number(row.dataLength ?? 0) + Number(row.indexLength ?? 0) : undefined;
    // Statistics only (no checksums): rows estimate, data size, last update. Views: none, always rescanned.
    const etag =
      objectType === 'table'
        ? `${row.tableRows ?? ''}:${row.dataLength ?? ''}:${row.indexLength ?? ''}:${row.updated ?? ''}:${row.created ?? ''}`
        : undefined;
    return {
      objectId: `${this.datasourceId}:${objectPath}`,
      datasourceId: this.datasourceId,
      objectPath,
      objectType,
      ...(bytes !== undefined ? { size: bytes } : {}),
      ...(row.updated ? { lastModified: row.updated } : {}),
      ...(etag ? { etag } : {}),
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

  private async describe(conn: PoolConnection, objectId: string): Promise<ObjectMetadata> {
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
    // MySQL has no has_table_privilege(): an empty SELECT is the exact check.
    try {
      await conn.query(`SELECT * FROM ${qualified(table)} LIMIT 0`);
    } catch (err) {
      const wrapped = this.wrap(err, { datasourceId: this.datasourceId, objectId }, `read ${objectPath}`);
      if (!isPerObjectError(wrapped)) throw wrapped;
      return {
        objectId,
        objectPath,
        objectType: table.objectType,
        error: { type: wrapped.type, message: wrapped.message },
      };
    }
    const [rows] = await conn.query(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_KEY AS \`key\`
       FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)
       ORDER BY ORDINAL_POSITION`,
      [table.schema, table.table, table.table],
    );
    const columns: ColumnMetadata[] = (
      rows as Array<{ name: string; type: string; nullable: string; key: string }>
    ).map((r) => ({
      name: String(r.name),
      dataType: String(r.type),
      nullable: r.nullable === 'YES',
      primaryKey: r.key === 'PRI',
    }));
    return {
      objectId,
      objectPath,
      objectType: table.objectType,
      columns,
      ...(table.estimatedRows !== null ? { estimatedRowCount: table.estimatedRows } : {}),
      ...(table.bytes !== null ? { estimatedBytes: table.bytes, size: table.bytes } : {}),
      attributes: { schema: table.schema, table: table.table },
    };
  }

  /** The first (database, table) split of `objectPath` that names a table or view. */
  private async resolve(conn: PoolConnection, objectPath: string): Promise<ResolvedTable | undefined> {
    for (const candidate of tableRefCandidates(objectPath)) {
      if (!this.databases.includes(candidate.schema)) continue;
      const [rows] = await conn.query(
        `SELECT TABLE_SCHEMA AS \`schema\`, TABLE_NAME AS name, TABLE_TYPE AS type, TABLE_ROWS AS tableRows,
                DATA_LENGTH AS dataLength, INDEX_LENGTH AS indexLength
         FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
           AND CAST(TABLE_SCHEMA AS BINARY) = CAST(? AS BINARY) AND CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)
           AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW')`,
        [candidate.schema, candidate.table, candidate.schema, candidate.table],
      );
      const row = (rows as CatalogRow[])[0];
      if (!row) continue;
      const objectType = TABLE_TYPES[row.type] ?? 'table';
      return {
        schema: candidate.schema,
        table: candidate.table,
        objectType,
        estimatedRows: row.tableRows === null || objectType === 'view' ? null : Number(row.tableRows),
        bytes: objectType === 'view' ? null : Number(row.dataLength ?? 0) + Number(row.indexLength ?? 0),
      };
    }
    return undefined;
  }

  // ---- content ----------------------------------------------------------------------------

  getObjectContent(packet: WorkPacket): AsyncIterable<DatabaseRow> {
    return flattenRowBatches(this.getObjectContentBatches(packet));
  }

  /**
   * The batch path under `getObjectContent`: rows of each table in `fetchRows`-sized arrays. A table
   * that cannot be read yields one array holding its error row.
   */
  async *getObjectContentBatches(packet: WorkPacket): AsyncGenerator<DatabaseRow[]> {
    const sampling = effectiveSampling(packet, this.config.sampling);
    const conn = await this.connect(packet);
    // Destroyed (not released) when a result set was abandoned mid-stream or the link failed.
    const state = { reusable: true };
    try {
      await this.prepareSession(conn);
      for (const objectId of packet.payload.objectIds) {
        this.throwIfAborted(packet, objectId);
        yield* this.readTable(conn, packet, objectId, sampling, state);
        if (!state.reusable) break;
      }
    } catch (err) {
      state.reusable = false;
      throw this.wrap(err, { datasourceId: this.datasourceId }, 'read tables');
    } finally {
      if (state.reusable) conn.release();
      else destroyConnection(conn);
    }
  }

  private async *readTable(
    conn: PoolConnection,
    packet: WorkPacket,
    objectId: string,
    sampling: SamplingOptions,
    state: { reusable: boolean },
  ): AsyncGenerator<DatabaseRow[]> {
    const context: ErrorContext = { datasourceId: this.datasourceId, objectId };
    let inTransaction = false;
    let streaming = false;
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
      const select = this.selectStatement(table, await this.keyColumns(conn, table), sampling);
      await conn.query('START TRANSACTION READ ONLY');
      inTransaction = true;
      streaming = true;
      let buildRow: ((values: readonly unknown[]) => Record<string, unknown>) | undefined;
      for await (const { names, rows } of streamBatches(
        coreConnection(conn),
        select,
        this.config.fetchRows,
      )) {
        if (packet.payload.options?.abortSignal?.aborted) {
          // The result set is still on the wire: no ROLLBACK possible, the connection is dropped.
          state.reusable = false;
          throw cancelledError(objectId);
        }
        buildRow ??= compileRowBuilder(
          names,
          names.map(() => toClassifiableIfNeeded),
        );
        const build = buildRow;
        yield rows.map((values) => ({ objectId, row: build(values) }));
      }
      streaming = false;
      await conn.query('COMMIT');
      inTransaction = false;
    } catch (err) {
      streaming = false;
      const wrapped = this.wrap(err, context, `read ${objectId}`);
      if (!state.reusable) throw wrapped;
      if (inTransaction) {
        inTransaction = false;
        await conn.query('ROLLBACK').catch(() => {
          state.reusable = false;
        });
      }
      if (!isPerObjectError(wrapped)) {
        state.reusable = false;
        throw wrapped;
      }
      this.logger.warn('table skipped', { objectId, errorType: wrapped.type, error: wrapped.message });
      yield [errorRow(objectId, wrapped)];
    } finally {
      // The consumer stopped mid-stream: the rest of the result set is still on the wire, so the
      // connection cannot be reused; destroying it also ends the transaction.
      if (streaming || inTransaction) state.reusable = false;
    }
  }

  /** Primary-key columns in key order; every column when the table has no primary key (views). */
  private async keyColumns(
    conn: PoolConnection,
    table: ResolvedTable,
  ): Promise<{ primaryKey: string[]; all: string[] }> {
    const [pk] = await conn.query(
      `SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY) AND INDEX_NAME = 'PRIMARY'
       ORDER BY SEQ_IN_INDEX`,
      [table.schema, table.table, table.table],
    );
    const [all] = await conn.query(
      `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CAST(TABLE_NAME AS BINARY) = CAST(? AS BINARY)
       ORDER BY ORDINAL_POSITION`,
      [table.schema, table.table, table.table],
    );
    return {
      primaryKey: (pk as Array<{ name: string }>).map((r) => String(r.name)),
      all: (all as Array<{ name: string }>).map((r) => String(r.name)),
    };
  }

  /**
   * full: every row. limit: the first n rows in primary-key order (repeatable), any n rows without a
   * key. percent: MySQL/MariaDB have no TABLESAMPLE, so a row is kept when
   * `CRC32(CONCAT_WS('|', <primary key…>, seed)) % 10000 < percent × 100` — deterministic for a
   * given seed (default 0), independent of physical order; without a primary key every column is
   * hashed instead (identical duplicate rows are then kept or dropped together).
   */
  private selectStatement(
    table: ResolvedTable,
    keys: { primaryKey: string[]; all: string[] },
    sampling: SamplingOptions,
  ): string {
    const from = qualified(table);
    switch (sampling.mode) {
      case 'full':
        return `SELECT * FROM ${from}`;
      case 'limit': {
        const order =
          keys.primaryKey.length > 0 ? ` ORDER BY ${keys.primaryKey.map(quoteMysqlIdent).join(', ')}` : '';
        return `SELECT * FROM ${from}${order} LIMIT ${sampling.rows}`;
      }
      case 'percent': {
        const seed = sampling.seed ?? DEFAULT_SAMPLING_SEED;
        const hashed = (keys.primaryKey.length > 0 ? keys.primaryKey : keys.all).map(quoteMysqlIdent);
        return (
          `SELECT * FROM ${from} ` +
          `WHERE CRC32(CONCAT_WS('|', ${hashed.join(', ')}, ${seed})) % 10000 < ${percentThreshold(sampling.percent)}`
        );
      }
    }
  }

  /** UTC timestamps as text, and the statement timeout in the flavour's own variable. */
  private async prepareSession(conn: PoolConnection): Promise<void> {
    const flavour = await this.serverFlavour(conn);
    const timeout =
      flavour === 'mariadb'
        ? `max_statement_time = ${this.config.statementTimeoutMs / 1000}`
        : `MAX_EXECUTION_TIME = ${this.config.statementTimeoutMs}`;
    await conn.query(`SET SESSION time_zone = '+00:00', SESSION ${timeout}`);
  }

  private serverFlavour(conn: PoolConnection): Promise<'mariadb' | 'mysql'> {
    this.flavour ??= conn.query('SELECT VERSION() AS version').then(
      ([rows]) =>
        /mariadb/i.test(String((rows as Array<{ version: string }>)[0]?.version)) ? 'mariadb' : 'mysql',
      (err: unknown) => {
        this.flavour = undefined;
        throw err;
      },
    );
    return this.flavour;
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

  private pool(): Promise<Pool> {
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

  private async createPool(): Promise<Pool> {
    const password = await resolveSecret({
      envName: this.config.passwordEnv,
      file: this.config.passwordFile,
      field: 'password',
    });
    const options: PoolOptions = {
      host: this.config.host,
      port: this.config.port,
      database: this.config.database,
      user: this.config.user,
      password,
      connectionLimit: this.config.maxConnections,
      maxIdle: this.config.maxConnections,
      idleTimeout: 30_000,
      connectTimeout: this.config.connectTimeoutMs,
      waitForConnections: true,
      queueLimit: 0,
      // Values the classifier reads as text: no Date objects, no lossy big numbers, JSON as sent.
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      jsonStrings: true,
      multipleStatements: false,
      charset: 'utf8mb4',
      ssl:
        this.config.ssl === false
          ? undefined
          : this.config.ssl === true
            ? { rejectUnauthorized: true }
            : this.config.ssl,
    };
    return mysql.createPool(options);
  }

  /** A pooled connection, retrying retryable failures (server down, too many connections) with back-off. */
  private async connect(packet: WorkPacket): Promise<PoolConnection> {
    const pool = await this.pool();
    const context: ErrorContext = {
      datasourceId: this.datasourceId,
      host: this.config.host,
      port: this.config.port,
      database: this.config.database,
    };
    const what = `connect to MySQL ${this.config.host}:${this.config.port}/${this.config.database}`;
    return retryWithBackoff(
      async () => {
        try {
          return await pool.getConnection();
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          // Without global privileges MariaDB/MySQL answer 1044 for a missing database too.
          if (code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_BAD_DB_ERROR') {
            throw platformError(
              ErrorType.CONFIGURATION_INVALID,
              `${what} failed: database ${this.config.database} does not exist or ${this.config.user} may not use it (${(err as Error).message})`,
              { ...context, field: 'database' },
              err,
            );
          }
          throw this.wrap(err, context, what);
        }
      },
      { attempts: this.config.connectAttempts, abortSignal: packet.payload.options?.abortSignal },
    );
  }

  private async withConnection<T>(
    packet: WorkPacket,
    fn: (conn: PoolConnection) => Promise<T>,
    what: string,
  ): Promise<T> {
    const conn = await this.connect(packet);
    let failed = false;
    try {
      return await fn(conn);
    } catch (err) {
      const wrapped = this.wrap(err, { datasourceId: this.datasourceId }, what);
      failed = wrapped.scope === 'source';
      throw wrapped;
    } finally {
      if (failed) destroyConnection(conn);
      else conn.release();
    }
  }

  private wrap(err: unknown, context: ErrorContext, what: string): PlatformError {
    if (err instanceof PlatformError) return err;
    const raw = err as { code?: unknown; errno?: unknown; message?: string } | undefined;
    if (raw && raw.errno === MARIADB_STATEMENT_TIMEOUT_ERRNO && raw.code === undefined) {
      return platformError(
        ErrorType.QUERY_TIMEOUT,
        `${what} failed: statement timed out (${raw.message})`,
        context,
        err,
      );
    }
    return this.errorHandler.wrap(err, context, what);
  }

  private safeObjectPath(objectId: string): string | undefined {
    try {
      return objectPathOf(objectId, this.datasourceId);
    } catch {
      return undefined;
    }
  }

  private throwIfAborted(packet: WorkPacket, objectId?: string): void {
    if (packet.payload.options?.abortSignal?.aborted) throw cancelledError(objectId);
  }
}

/** The callback-style connection under a promise one (its typings hide it), for row events and pause(). */
function coreConnection(conn: PoolConnection): CoreConnection {
  return (conn as unknown as { connection: CoreConnection }).connection;
}

/**
 * Drops a connection for good. mysql2's destroy() only half-closes the socket; with a result set
 * still streaming, the server would then block writing to it until net_write_timeout (holding
 * its locks), so the socket is closed outright too.
 */
function destroyConnection(conn: PoolConnection): void {
  conn.destroy();
  (coreConnection(conn) as unknown as { stream?: { destroy(): void } }).stream?.destroy();
}

function qualified(table: TableRef): string {
  return `${quoteMysqlIdent(table.schema)}.${quoteMysqlIdent(table.table)}`;
}

/**
 * Streams a query's rows in arrays of `batchRows`, pausing the socket while two batches wait for
 * the consumer (backpressure). Abandoning the iteration leaves the result set unread: the caller
 * must destroy the connection.
 */
async function* streamBatches(
  connection: CoreConnection,
  sql: string,
  batchRows: number,
): AsyncGenerator<{ names: string[]; rows: unknown[][] }> {
  let names: string[] = [];
  let current: unknown[][] = [];
  const ready: unknown[][][] = [];
  let finished = false;
  let failure: unknown;
  let paused = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const query = connection.query({ sql, rowsAsArray: true });
  query.on('fields', (fields: FieldPacket[]) => {
    names = fields.map((f) => f.name);
  });
  query.on('result', (row: unknown) => {
    current.push(row as unknown[]);
    if (current.length >= batchRows) {
      ready.push(current);
      current = [];
      if (ready.length >= 2 && !paused) {
        paused = true;
        connection.pause();
      }
      notify();
    }
  });
  query.on('error', (err: unknown) => {
    failure ??= err;
    finished = true;
    notify();
  });
  query.on('end', () => {
    if (current.length > 0) ready.push(current);
    current = [];
    finished = true;
    notify();
  });
  for (;;) {
    const batch = ready.shift();
    if (batch) {
      if (paused && ready.length < 2) {
        paused = false;
        connection.resume();
      }
      yield { names, rows: batch };
      continue;
    }
    if (failure !== undefined) throw failure;
    if (finished) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
}

export const mysqlConnector: ConnectorDefinition<MysqlConfig> = {
  type: 'mysql',
  configSchema: mysqlConfigSchema,
  create: (deps) => new MysqlConnector(deps),
};

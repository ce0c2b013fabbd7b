/**
 * MySQL / MariaDB connector (`mysql2`): enumerates tables and views from information_schema,
 * describes them, and streams rows (text protocol, rows as arrays) inside a READ ONLY transaction
 * with a statement timeout. Each socket read's rows are handed out at once, in arrays of at most
 * `fetchRows`; the socket is paused while the consumer is behind, so memory stays flat whatever the
 * table size.
 */
import mysql, { type PoolConnection, type PoolOptions } from 'mysql2/promise';
import type { Connection as CoreConnection, FieldPacket } from 'mysql2';
import { z } from 'zod';
import { ErrorType, PlatformError, platformError, type ErrorContext } from '../core/errors';
import type { ConnectorDependencies } from '../core/interfaces';
import type {
  ColumnMetadata,
  DatabaseRow,
  DiscoveredObject,
  ObjectMetadata,
  ObjectType,
  SamplingOptions,
} from '../core/models';
import { secretRefSchema } from './common';
import type { ConnectorDefinition } from './registry';
import {
  DEFAULT_SAMPLING_SEED,
  SqlDataSourceConnector,
  compileRowBuilder,
  isPerObjectError,
  percentThreshold,
  portSchema,
  quoteMysqlIdent,
  sqlCommonConfigFields,
  sslSchema,
  tlsOptions,
  withExclusivePassword,
  tableObjectPath,
  tableRefCandidates,
  toClassifiableIfNeeded,
  type ConnectionState,
  type SqlPool,
  type TableRead,
  type TableRef,
  type ValueConverter,
} from './sql-common';

// ---------------------------------------------------------------------------------------------
// Config

const databaseName = (field: string) =>
  z.string({ error: `${field} must be a string` }).min(1, { error: `${field} must not be empty` });

export const mysqlConfigSchema = withExclusivePassword(
  z.strictObject({
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
    ssl: sslSchema,
  }),
);

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

export class MysqlConnector extends SqlDataSourceConnector<
  MysqlConfig,
  PoolConnection,
  CatalogRow,
  ResolvedTable
> {
  private readonly databases: string[];
  private flavour: Promise<'mariadb' | 'mysql'> | undefined;

  constructor(deps: ConnectorDependencies<MysqlConfig>) {
    super(deps, 'mysql', 'MySQL');
    this.databases = (this.config.databases ?? [this.config.database]).filter(
      (d) => !SYSTEM_DATABASES.includes(d.toLowerCase()),
    );
  }

  // ---- enumeration ------------------------------------------------------------------------

  protected async catalogPage(
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

  protected toDiscovered(row: CatalogRow): DiscoveredObject {
    const objectPath = tableObjectPath({ schema: row.schema, table: row.name });
    const objectType = TABLE_TYPES[row.type] ?? 'table';
    const bytes =
      objectType === 'table' ? Number(row.dataLength ?? 0) + Number(row.indexLength ?? 0) : undefined;
    // Statistics only (no checksums): rows estimate, data size, last update. Views: none, always rescanned.
    const etag =
      objectType === 'table'
        ? `${row.tableRows ?? ''}:${row.dataLength ?? ''}:${row.indexLength ?? ''}:${row.updated ?? ''}:${row.created ?? ''}`
        : undefined;
    return this.discoveredObject(objectPath, objectType, {
      ...(bytes !== undefined ? { size: bytes } : {}),
      ...(row.updated ? { lastModified: row.updated } : {}),
      ...(etag ? { etag } : {}),
    });
  }

  // ---- details ----------------------------------------------------------------------------

  protected async describeTable(
    conn: PoolConnection,
    objectId: string,
    objectPath: string,
    table: ResolvedTable,
  ): Promise<ObjectMetadata> {
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
  protected async resolve(conn: PoolConnection, objectPath: string): Promise<ResolvedTable | undefined> {
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

  protected async *readTable(
    conn: PoolConnection,
    read: TableRead<ResolvedTable>,
    state: ConnectionState,
  ): AsyncGenerator<DatabaseRow[]> {
    const { objectId, table } = read;
    const select = this.selectStatement(table, await this.keyColumns(conn, table), read.sampling);
    await conn.query('START TRANSACTION READ ONLY');
    read.inTransaction = true;
    read.streaming = true;
    let buildRow: ((values: readonly unknown[]) => Record<string, unknown>) | undefined;
    for await (const { fields, rows } of streamBatches(coreConnection(conn), select, this.config.fetchRows)) {
      // The result set is still on the wire: no ROLLBACK possible, the connection is dropped.
      this.throwIfAbortedMidStream(read, state);
      const build = (buildRow ??= compileRowBuilder(
        fields.map((f) => f.name),
        fields.map(mysqlValueConverter),
      ));
      yield rows.map((values) => ({ objectId, row: build(values) }));
    }
    read.streaming = false;
  }

  protected async execute(conn: PoolConnection, sql: string): Promise<void> {
    await conn.query(sql);
  }

  /**
   * The consumer stopped mid-stream: the rest of the result set is still on the wire, so the
   * connection cannot be reused; destroying it also ends the transaction.
   */
  protected async abandonRead(
    _conn: PoolConnection,
    _read: TableRead<ResolvedTable>,
    state: ConnectionState,
  ): Promise<void> {
    state.broken ??= new Error('MySQL result set abandoned');
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
  protected override async prepareSession(conn: PoolConnection): Promise<void> {
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

  protected async createPool(): Promise<SqlPool<PoolConnection>> {
    const password = await this.resolvePassword();
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
      ssl: tlsOptions(this.config.ssl),
    };
    const pool = mysql.createPool(options);
    return { acquire: () => pool.getConnection(), end: () => pool.end() };
  }

  protected override connectError(err: unknown, context: ErrorContext, what: string): PlatformError {
    const code = (err as { code?: unknown }).code;
    // Without global privileges MariaDB/MySQL answer 1044 for a missing database too.
    if (code === 'ER_DBACCESS_DENIED_ERROR' || code === 'ER_BAD_DB_ERROR') {
      return platformError(
        ErrorType.CONFIGURATION_INVALID,
        `${what} failed: database ${this.config.database} does not exist or ${this.config.user} may not use it (${(err as Error).message})`,
        { ...context, field: 'database' },
        err,
      );
    }
    return this.wrap(err, context, what);
  }

  protected releaseConnection(conn: PoolConnection, broken: Error | undefined): void {
    if (broken) destroyConnection(conn);
    else conn.release();
  }

  protected wrapDialectError(err: unknown, context: ErrorContext, what: string): PlatformError | undefined {
    const raw = err as { code?: unknown; errno?: unknown; message?: string } | undefined;
    if (raw && raw.errno === MARIADB_STATEMENT_TIMEOUT_ERRNO && raw.code === undefined) {
      return platformError(
        ErrorType.QUERY_TIMEOUT,
        `${what} failed: statement timed out (${raw.message})`,
        context,
        err,
      );
    }
    return undefined;
  }
}

/** Column types mysql2 gives as number, string or null with the pool's options (dates as text, big numbers as strings). */
const PLAIN_VALUE_TYPES = new Set([
  0, // DECIMAL
  1, // TINY
  2, // SHORT
  3, // LONG
  4, // FLOAT
  5, // DOUBLE
  7, // TIMESTAMP
  8, // LONGLONG
  9, // INT24
  10, // DATE
  11, // TIME
  12, // DATETIME
  13, // YEAR
  246, // NEWDECIMAL
]);
/** String and blob types: text, unless the column's character set is binary (then a Buffer). */
const STRING_TYPES = new Set([15, 247, 248, 249, 250, 251, 252, 253, 254]);
const BINARY_CHARSET = 63;

/** No conversion where the driver already gives classifier-readable values (saves a call per value). */
function mysqlValueConverter(field: FieldPacket): ValueConverter | undefined {
  const type = field.columnType ?? field.type;
  if (type === undefined) return toClassifiableIfNeeded;
  if (PLAIN_VALUE_TYPES.has(type)) return undefined;
  if (STRING_TYPES.has(type) && field.characterSet !== BINARY_CHARSET) return undefined;
  return toClassifiableIfNeeded;
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
 * Streams a query's rows in arrays of at most `batchRows`. The rows one socket read produced are
 * handed out together at the end of that tick rather than held for a fuller array: rows kept
 * waiting would outlive young-generation GC and cost a full collection each. The socket is paused
 * while twice `batchRows` rows wait for the consumer (backpressure). Abandoning the iteration leaves
 * the result set unread: the caller must destroy the connection.
 */
async function* streamBatches(
  connection: CoreConnection,
  sql: string,
  batchRows: number,
): AsyncGenerator<{ fields: FieldPacket[]; rows: unknown[][] }> {
  let fields: FieldPacket[] = [];
  let current: unknown[][] = [];
  const ready: unknown[][][] = [];
  let readyRows = 0;
  let finished = false;
  let failure: unknown;
  let paused = false;
  let flushScheduled = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const flush = () => {
    if (current.length === 0) return;
    ready.push(current);
    readyRows += current.length;
    current = [];
    if (readyRows >= 2 * batchRows && !paused) {
      paused = true;
      connection.pause();
    }
    notify();
  };
  const flushAtTickEnd = () => {
    flushScheduled = false;
    flush();
  };
  const query = connection.query({ sql, rowsAsArray: true });
  query.on('fields', (described: FieldPacket[]) => {
    fields = described;
  });
  query.on('result', (row: unknown) => {
    current.push(row as unknown[]);
    if (current.length >= batchRows) flush();
    else if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flushAtTickEnd);
    }
  });
  query.on('error', (err: unknown) => {
    failure ??= err;
    finished = true;
    notify();
  });
  query.on('end', () => {
    flush();
    finished = true;
    notify();
  });
  for (;;) {
    const batch = ready.shift();
    if (batch) {
      readyRows -= batch.length;
      if (paused && readyRows < batchRows) {
        paused = false;
        connection.resume();
      }
      yield { fields, rows: batch };
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

/**
 * PostgreSQL connector (`pg`): enumerates tables and views, describes them from the catalogue and
 * streams rows inside a READ ONLY transaction, by default as `COPY (SELECT …) TO STDOUT` text cut
 * up by `CopyTextParser` (readMethod 'copy'), else through a server-side cursor (`DECLARE … CURSOR`
 * + `FETCH n`). Either way the socket is read only as fast as the consumer takes rows, so memory
 * stays flat whatever the table size.
 */
import { Pool, types as pgTypes, type PoolClient, type PoolConfig } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
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
import { CopyTextParser } from './pg-copy-text';
import type { ConnectorDefinition } from './registry';
import {
  DEFAULT_SAMPLING_SEED,
  SqlDataSourceConnector,
  classifiableRows,
  compileRowBuilder,
  percentThreshold,
  portSchema,
  quotePgIdent,
  sqlCommonConfigFields,
  sslSchema,
  tlsOptions,
  withExclusivePassword,
  tableObjectPath,
  tableRefCandidates,
  toClassifiableValue,
  type ConnectionState,
  type SqlPool,
  type TableRead,
  type TableRef,
  type ValueConverter,
} from './sql-common';

// ---------------------------------------------------------------------------------------------
// Config

export const postgresConfigSchema = withExclusivePassword(
  z.strictObject({
    ...sqlCommonConfigFields,
    port: portSchema(5432),
    database: z
      .string({ error: 'database must be a string' })
      .min(1, { error: 'database must not be empty' }),
    ...secretRefSchema,
    /** Schemas to scan. Default: every non-system schema. */
    schemas: z
      .array(
        z
          .string({ error: 'schemas entries must be strings' })
          .min(1, { error: 'schemas entries must not be empty' }),
        {
          error: 'schemas must be an array of schema names',
        },
      )
      .min(1, { error: 'schemas must name at least one schema (omit it to scan all)' })
      .optional(),
    /**
     * How rows are read. 'copy' (default, fastest): `COPY (SELECT …) TO STDOUT`, statement timeout
     * bounding the whole read of a table. 'cursor': `DECLARE … CURSOR` + `FETCH fetchRows`, the
     * timeout bounding each FETCH (use it when slow consumers read very large tables).
     */
    readMethod: z
      .enum(['copy', 'cursor'], { error: "readMethod must be 'copy' or 'cursor'" })
      .default('copy'),
    ssl: sslSchema,
  }),
);

export type PostgresConfig = z.output<typeof postgresConfigSchema>;

const SYSTEM_SCHEMA_FILTER = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'`;

/** Relation kinds scanned: tables, partitioned tables, foreign tables, views, materialized views. */
const RELKINDS = `c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition`;

const CURSOR_NAME = 'assay_scan';

/**
 * Type parsers: date/time types and JSON stay the server's text (no Date objects, no re-encoding);
 * int8 and numeric are already strings in `pg`; everything else keeps the `pg` default.
 */
const RAW_TEXT_TYPE_OIDS = new Set([1082, 1083, 1114, 1184, 1186, 1266, 114, 3802]);
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    RAW_TEXT_TYPE_OIDS.has(oid) && format !== 'binary'
      ? (value: string) => value
      : pgTypes.getTypeParser(oid, format as 'text')) as typeof pgTypes.getTypeParser,
};

interface ResolvedTable extends TableRef {
  oid: number;
  relkind: string;
  canSelect: boolean;
  estimatedRows: number | null;
  bytes: number | null;
}

// ---------------------------------------------------------------------------------------------
// Connector

export class PostgresConnector extends SqlDataSourceConnector<
  PostgresConfig,
  PoolClient,
  CatalogRow,
  ResolvedTable
> {
  constructor(deps: ConnectorDependencies<PostgresConfig>) {
    super(deps, 'postgres', 'PostgreSQL');
  }

  // ---- enumeration ------------------------------------------------------------------------

  protected async catalogPage(
    client: PoolClient,
    after: TableRef | undefined,
    limit: number,
  ): Promise<CatalogRow[]> {
    const result = await client.query<CatalogRow>(
      `SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
              c.relfilenode::text AS relfilenode,
              (COALESCE(s.n_tup_ins, 0) + COALESCE(s.n_tup_upd, 0) + COALESCE(s.n_tup_del, 0))::text AS changes,
              CASE WHEN c.relkind IN ('r', 'm') THEN pg_total_relation_size(c.oid)
                   WHEN c.relkind = 'p' THEN (SELECT COALESCE(sum(pg_total_relation_size(relid)), 0)::bigint
                                              FROM pg_partition_tree(c.oid))
              END::text AS bytes
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
       WHERE ${RELKINDS} AND ${SYSTEM_SCHEMA_FILTER}
         AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))
         AND ($2::text IS NULL OR (n.nspname::text COLLATE "C", c.relname::text COLLATE "C") > ($2::text, $3::text))
       ORDER BY n.nspname::text COLLATE "C", c.relname::text COLLATE "C"
       LIMIT $4`,
      [this.config.schemas ?? null, after?.schema ?? null, after?.table ?? null, limit],
    );
    return result.rows;
  }

  protected toDiscovered(row: CatalogRow): DiscoveredObject {
    const objectPath = tableObjectPath({ schema: row.schema, table: row.name });
    const objectType: ObjectType = row.relkind === 'v' || row.relkind === 'm' ? 'view' : 'table';
    // Plain views and partitioned parents have no storage of their own: no etag, always rescanned.
    const etag =
      row.relkind === 'r' || row.relkind === 'm' || row.relkind === 'f'
        ? `${row.relfilenode}:${row.changes}`
        : undefined;
    return this.discoveredObject(objectPath, objectType, {
      ...(row.bytes !== null ? { size: Number(row.bytes) } : {}),
      ...(etag ? { etag } : {}),
    });
  }

  // ---- details ----------------------------------------------------------------------------

  protected async describeTable(
    client: PoolClient,
    objectId: string,
    objectPath: string,
    table: ResolvedTable,
  ): Promise<ObjectMetadata> {
    const objectType: ObjectType = table.relkind === 'v' || table.relkind === 'm' ? 'view' : 'table';
    if (!table.canSelect) {
      return {
        objectId,
        objectPath,
        objectType,
        error: { type: ErrorType.RIGHTS_ACCESS_DENIED, message: `no SELECT privilege on ${objectPath}` },
      };
    }
    const { rows } = await client.query<{ name: string; type: string; nullable: boolean; pk: boolean }>(
      `SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
              COALESCE(a.attnum = ANY (i.indkey), false) AS pk
       FROM pg_attribute a
       LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
       WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [table.oid],
    );
    const columns: ColumnMetadata[] = rows.map((r) => ({
      name: r.name,
      dataType: r.type,
      nullable: r.nullable,
      primaryKey: r.pk,
    }));
    return {
      objectId,
      objectPath,
      objectType,
      columns,
      ...(table.estimatedRows !== null ? { estimatedRowCount: table.estimatedRows } : {}),
      ...(table.bytes !== null ? { estimatedBytes: table.bytes, size: table.bytes } : {}),
      attributes: { schema: table.schema, table: table.table, relkind: table.relkind },
    };
  }

  /** The first (schema, table) split of `objectPath` that names a scannable relation. */
  protected async resolve(client: PoolClient, objectPath: string): Promise<ResolvedTable | undefined> {
    const candidates = tableRefCandidates(objectPath).filter(
      (c) => !this.config.schemas || this.config.schemas.includes(c.schema),
    );
    if (candidates.length === 0) return undefined;
    const { rows } = await client.query<{
      oid: number;
      schema: string;
      name: string;
      relkind: string;
      can_select: boolean;
      reltuples: number;
      bytes: string | null;
    }>(
      `SELECT c.oid::int8::float8 AS oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
              has_table_privilege(c.oid, 'SELECT') AS can_select, c.reltuples::float8 AS reltuples,
              CASE WHEN c.relkind IN ('r', 'm') THEN pg_total_relation_size(c.oid)::text END AS bytes
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN unnest($1::text[], $2::text[]) AS wanted(schema, name)
         ON wanted.schema = n.nspname::text AND wanted.name = c.relname::text
       WHERE ${RELKINDS} AND ${SYSTEM_SCHEMA_FILTER}`,
      [candidates.map((c) => c.schema), candidates.map((c) => c.table)],
    );
    for (const candidate of candidates) {
      const row = rows.find((r) => r.schema === candidate.schema && r.name === candidate.table);
      if (row) {
        return {
          schema: row.schema,
          table: row.name,
          oid: Number(row.oid),
          relkind: row.relkind,
          canSelect: row.can_select,
          // reltuples is -1 until the first VACUUM/ANALYZE.
          estimatedRows: row.reltuples >= 0 ? Math.round(row.reltuples) : null,
          bytes: row.bytes === null ? null : Number(row.bytes),
        };
      }
    }
    return undefined;
  }

  // ---- content ----------------------------------------------------------------------------

  protected async *readTable(
    client: PoolClient,
    read: TableRead<ResolvedTable>,
    state: ConnectionState,
  ): AsyncGenerator<DatabaseRow[]> {
    const { packet, objectId, table } = read;
    const primaryKey = await this.primaryKeyColumns(client, table.oid);
    const select = this.selectStatement(table, primaryKey, read.sampling);
    await client.query('BEGIN READ ONLY');
    read.inTransaction = true;
    await client.query(`SET LOCAL statement_timeout = ${this.config.statementTimeoutMs}`);
    if (this.config.readMethod === 'copy') {
      // COPY carries no column descriptions: an empty SELECT gives names and types (and checks rights).
      const probe = await client.query({
        text: `SELECT * FROM ${qualifiedPg(table)} LIMIT 0`,
        rowMode: 'array',
      });
      const buildRow = compileRowBuilder(
        probe.fields.map((f) => f.name),
        probe.fields.map((f) => copyValueConverter(f.dataTypeID)),
      );
      const parser = new CopyTextParser(probe.fields.length, (fields) => ({
        objectId,
        row: buildRow(fields),
      }));
      read.streaming = true;
      const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`)) as AsyncIterable<Buffer>;
      // Each chunk's rows are handed out at once (at most fetchRows per array): rows kept waiting for
      // a fuller batch would outlive young-generation GC and cost a full collection each.
      const fetchRows = this.config.fetchRows;
      for await (const chunk of stream) {
        const rows: DatabaseRow[] = [];
        parser.push(chunk, rows);
        if (rows.length === 0) continue;
        this.throwIfAbortedMidStream(read, state);
        if (rows.length <= fetchRows) yield rows;
        else for (let i = 0; i < rows.length; i += fetchRows) yield rows.slice(i, i + fetchRows);
      }
      parser.finish();
      read.streaming = false;
    } else {
      await client.query(`DECLARE ${CURSOR_NAME} NO SCROLL CURSOR FOR ${select}`);
      const fetchSql = `FETCH ${this.config.fetchRows} FROM ${CURSOR_NAME}`;
      const toRows = classifiableRows(objectId);
      for (;;) {
        this.throwIfAborted(packet, objectId);
        const result = await client.query({ text: fetchSql, rowMode: 'array' });
        const rows = result.rows as unknown[][];
        if (rows.length > 0)
          yield toRows(
            result.fields.map((f) => f.name),
            rows,
          );
        if (rows.length < this.config.fetchRows) break;
      }
    }
  }

  protected async execute(client: PoolClient, sql: string): Promise<void> {
    await client.query(sql);
  }

  protected async abandonRead(
    client: PoolClient,
    read: TableRead<ResolvedTable>,
    state: ConnectionState,
  ): Promise<void> {
    if (read.streaming) {
      // The consumer stopped mid-COPY: the rest is still on the wire, so the client is dropped.
      state.broken ??= new Error('COPY abandoned');
    } else if (read.inTransaction && !state.broken) {
      // The consumer stopped between FETCHes: end the transaction (and cursor) before reuse.
      await this.execute(client, 'ROLLBACK').catch((rollbackError: Error) => {
        state.broken = rollbackError;
      });
    }
  }

  private async primaryKeyColumns(client: PoolClient, oid: number): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT a.attname::text AS name
       FROM pg_index i
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indrelid = $1 AND i.indisprimary
       ORDER BY k.ord`,
      [oid],
    );
    return rows.map((r) => r.name);
  }

  /**
   * full: every row. limit: the first n rows in primary-key order (repeatable), any n rows without a
   * key. percent: `TABLESAMPLE BERNOULLI(p) REPEATABLE(seed)` on tables and materialized views; views
   * and foreign tables hash each row's text with the seed (`hashtextextended`) instead.
   */
  private selectStatement(table: ResolvedTable, primaryKey: string[], sampling: SamplingOptions): string {
    const from = qualifiedPg(table);
    switch (sampling.mode) {
      case 'full':
        return `SELECT * FROM ${from}`;
      case 'limit': {
        const order = primaryKey.length > 0 ? ` ORDER BY ${primaryKey.map(quotePgIdent).join(', ')}` : '';
        return `SELECT * FROM ${from}${order} LIMIT ${sampling.rows}`;
      }
      case 'percent': {
        const seed = sampling.seed ?? DEFAULT_SAMPLING_SEED;
        if (['r', 'm', 'p'].includes(table.relkind)) {
          return `SELECT * FROM ${from} TABLESAMPLE BERNOULLI (${Number(sampling.percent)}) REPEATABLE (${seed})`;
        }
        return (
          `SELECT s.* FROM (SELECT * FROM ${from}) AS s ` +
          `WHERE (hashtextextended(s::text, ${seed}) & 9223372036854775807) % 10000 < ${percentThreshold(sampling.percent)}`
        );
      }
    }
  }

  // ---- pool -------------------------------------------------------------------------------

  protected async createPool(): Promise<SqlPool<PoolClient>> {
    const password = await this.resolvePassword();
    const options: PoolConfig = {
      host: this.config.host,
      port: this.config.port,
      database: this.config.database,
      user: this.config.user,
      password,
      max: this.config.maxConnections,
      connectionTimeoutMillis: this.config.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      ssl: tlsOptions(this.config.ssl) ?? false,
      types: typeParsers,
      application_name: 'assay',
      // Stable text for dates and times whatever the server's defaults.
      options: '-c TimeZone=UTC -c DateStyle=ISO,YMD',
    };
    const pool = new Pool(options);
    // An idle client losing its connection must not crash the process; the next checkout reconnects.
    pool.on('error', (err) => this.logger.warn('idle PostgreSQL connection failed', { error: err.message }));
    return { acquire: () => pool.connect(), end: () => pool.end() };
  }

  protected releaseConnection(client: PoolClient, broken: Error | undefined): void {
    client.release(broken);
    // end() only half-closes: a backend still sending COPY data would block on the full socket.
    if (broken)
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }

  protected wrapDialectError(err: unknown, context: ErrorContext, what: string): PlatformError | undefined {
    if (!this.errorHandler.classify(err) && err instanceof Error) {
      // `pg` raises code-less errors for connect timeouts and dropped connections.
      if (/timeout/i.test(err.message))
        return platformError(ErrorType.NETWORK_TIMEOUT, `${what} failed: ${err.message}`, context, err);
      if (/Connection terminated|connection.*(closed|ended)/i.test(err.message)) {
        return platformError(
          ErrorType.NETWORK_CONNECTION_FAILED,
          `${what} failed: ${err.message}`,
          context,
          err,
        );
      }
    }
    return undefined;
  }
}

interface CatalogRow {
  schema: string;
  name: string;
  relkind: string;
  relfilenode: string;
  changes: string;
  bytes: string | null;
}

function qualifiedPg(table: TableRef): string {
  return `${quotePgIdent(table.schema)}.${quotePgIdent(table.table)}`;
}

type CopyConverter = (text: string) => unknown;

const asNumber: CopyConverter = (text) => Number(text);
const asBoolean: CopyConverter = (text) => text === 't';
const asBytea: CopyConverter = (text) =>
  text.startsWith('\\x') ? toClassifiableValue(Buffer.from(text.slice(2), 'hex')) : text;

/**
 * COPY text to the same values the cursor path gives: int2/int4/oid/float4/float8 → number, bool →
 * boolean, bytea → text (UTF-8) or `\x` hex; everything else stays the server's text (int8 and
 * numeric as decimal strings, dates as ISO text, arrays as PostgreSQL array literals `{a,b}`).
 */
function copyValueConverter(typeOid: number): ValueConverter | undefined {
  switch (typeOid) {
    case 21:
    case 23:
    case 26:
    case 700:
    case 701:
      return asNumber as ValueConverter;
    case 16:
      return asBoolean as ValueConverter;
    case 17:
      return asBytea as ValueConverter;
    default:
      return undefined; // text as sent
  }
}

export const postgresConnector: ConnectorDefinition<PostgresConfig> = {
  type: 'postgres',
  configSchema: postgresConfigSchema,
  create: (deps) => new PostgresConnector(deps),
};

/**
 * PostgreSQL connector (`pg`): enumerates tables and views, describes them from the catalogue and
 * streams rows through a server-side cursor (`DECLARE … CURSOR` + `FETCH n`) inside a READ ONLY
 * transaction, so memory stays flat whatever the table size.
 */
import { StringDecoder } from 'node:string_decoder';
import { Pool, types as pgTypes, type PoolClient, type PoolConfig } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
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
  quotePgIdent,
  sqlCommonConfigFields,
  tableCursor,
  tableFilter,
  tableObjectPath,
  tableRefCandidates,
  toClassifiableIfNeeded,
  toClassifiableValue,
  type TableRef,
  type ValueConverter,
} from './sql-common';

// ---------------------------------------------------------------------------------------------
// Config

export const postgresConfigSchema = z
  .strictObject({
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

export class PostgresConnector implements IDatabaseDataSourceConnector {
  readonly kind = 'database' as const;
  readonly datasourceId: string;
  private readonly logger: SystemLogger;
  private readonly errorHandler: ErrorHandler;
  private readonly config: PostgresConfig;
  private readonly filter: (schema: string, table: string) => boolean;
  private poolPromise: Promise<Pool> | undefined;
  private closed = false;

  constructor(deps: ConnectorDependencies<PostgresConfig>) {
    this.datasourceId = deps.datasourceId;
    this.logger = deps.logger.child({ connector: 'postgres', datasourceId: deps.datasourceId });
    this.errorHandler = deps.errorHandler;
    this.config = deps.config;
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
      const rows = await this.withClient(
        packet,
        (client) => this.catalogPage(client, after, pageSize),
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

  private toDiscovered(row: CatalogRow): DiscoveredObject {
    const objectPath = tableObjectPath({ schema: row.schema, table: row.name });
    const objectType: ObjectType = row.relkind === 'v' || row.relkind === 'm' ? 'view' : 'table';
    // Plain views and partitioned parents have no storage of their own: no etag, always rescanned.
    const etag =
      row.relkind === 'r' || row.relkind === 'm' || row.relkind === 'f'
        ? `${row.relfilenode}:${row.changes}`
        : undefined;
    return {
      objectId: `${this.datasourceId}:${objectPath}`,
      datasourceId: this.datasourceId,
      objectPath,
      objectType,
      ...(row.bytes !== null ? { size: Number(row.bytes) } : {}),
      ...(etag ? { etag } : {}),
    };
  }

  // ---- details ----------------------------------------------------------------------------

  async getObjectDetails(packet: WorkPacket): Promise<ObjectMetadata[]> {
    return this.withClient(
      packet,
      async (client) => {
        const results: ObjectMetadata[] = [];
        for (const objectId of packet.payload.objectIds) {
          this.throwIfAborted(packet);
          results.push(await this.describe(client, objectId));
        }
        return results;
      },
      'describe tables',
    );
  }

  private async describe(client: PoolClient, objectId: string): Promise<ObjectMetadata> {
    const objectPath = this.safeObjectPath(objectId);
    const table = objectPath === undefined ? undefined : await this.resolve(client, objectPath);
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
  private async resolve(client: PoolClient, objectPath: string): Promise<ResolvedTable | undefined> {
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

  getObjectContent(packet: WorkPacket): AsyncIterable<DatabaseRow> {
    return flattenRowBatches(this.getObjectContentBatches(packet));
  }

  /**
   * The batch path under `getObjectContent`: rows of each table in arrays of about `fetchRows`. A
   * table that cannot be read yields one array holding its error row.
   */
  async *getObjectContentBatches(packet: WorkPacket): AsyncGenerator<DatabaseRow[]> {
    const sampling = effectiveSampling(packet, this.config.sampling);
    const client = await this.connect(packet);
    // Set when the client cannot be reused: link failure, or a COPY abandoned mid-stream.
    const state: ReadState = {};
    try {
      for (const objectId of packet.payload.objectIds) {
        this.throwIfAborted(packet, objectId);
        yield* this.readTable(client, packet, objectId, sampling, state);
        if (state.broken) break;
      }
    } catch (err) {
      state.broken ??= err as Error;
      throw err;
    } finally {
      client.release(state.broken);
      // end() only half-closes: a backend still sending COPY data would block on the full socket.
      if (state.broken)
        (
          client as unknown as { connection?: { stream?: { destroy(): void } } }
        ).connection?.stream?.destroy();
    }
  }

  private async *readTable(
    client: PoolClient,
    packet: WorkPacket,
    objectId: string,
    sampling: SamplingOptions,
    state: ReadState,
  ): AsyncGenerator<DatabaseRow[]> {
    const context: ErrorContext = { datasourceId: this.datasourceId, objectId };
    let inTransaction = false;
    let streaming = false;
    try {
      const objectPath = this.safeObjectPath(objectId);
      const table = objectPath === undefined ? undefined : await this.resolve(client, objectPath);
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
      const primaryKey = await this.primaryKeyColumns(client, table.oid);
      const select = this.selectStatement(table, primaryKey, sampling);
      await client.query('BEGIN READ ONLY');
      inTransaction = true;
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
        streaming = true;
        const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`));
        for await (const rows of copyTextRows(stream, this.config.fetchRows)) {
          if (packet.payload.options?.abortSignal?.aborted) {
            // Mid-COPY the connection cannot run ROLLBACK: it is dropped instead.
            state.broken = cancelledError(objectId);
            throw state.broken;
          }
          yield rows.map((fields) => ({ objectId, row: buildRow(fields) }));
        }
        streaming = false;
      } else {
        await client.query(`DECLARE ${CURSOR_NAME} NO SCROLL CURSOR FOR ${select}`);
        const fetchSql = `FETCH ${this.config.fetchRows} FROM ${CURSOR_NAME}`;
        let buildRow: ((values: readonly unknown[]) => Record<string, unknown>) | undefined;
        for (;;) {
          this.throwIfAborted(packet, objectId);
          const result = await client.query({ text: fetchSql, rowMode: 'array' });
          const rows = result.rows as unknown[][];
          if (rows.length > 0) {
            buildRow ??= compileRowBuilder(
              result.fields.map((f) => f.name),
              result.fields.map(() => toClassifiableIfNeeded),
            );
            const build = buildRow;
            yield rows.map((values) => ({ objectId, row: build(values) }));
          }
          if (rows.length < this.config.fetchRows) break;
        }
      }
      await client.query('COMMIT');
      inTransaction = false;
    } catch (err) {
      streaming = false;
      const wrapped = this.wrap(err, context, `read ${objectId}`);
      if (state.broken) throw wrapped;
      if (inTransaction) {
        inTransaction = false;
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
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
      if (streaming) {
        // The consumer stopped mid-COPY: the rest is still on the wire, so the client is dropped.
        state.broken ??= new Error('COPY abandoned');
      } else if (inTransaction && !state.broken) {
        // The consumer stopped between FETCHes: end the transaction (and cursor) before reuse.
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          state.broken = rollbackError;
        });
      }
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
    const options: PoolConfig = {
      host: this.config.host,
      port: this.config.port,
      database: this.config.database,
      user: this.config.user,
      password,
      max: this.config.maxConnections,
      connectionTimeoutMillis: this.config.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      ssl:
        this.config.ssl === false
          ? false
          : this.config.ssl === true
            ? { rejectUnauthorized: true }
            : this.config.ssl,
      types: typeParsers,
      application_name: 'assay',
      // Stable text for dates and times whatever the server's defaults.
      options: '-c TimeZone=UTC -c DateStyle=ISO,YMD',
    };
    const pool = new Pool(options);
    // An idle client losing its connection must not crash the process; the next checkout reconnects.
    pool.on('error', (err) => this.logger.warn('idle PostgreSQL connection failed', { error: err.message }));
    return pool;
  }

  /** A pooled client, retrying retryable failures (server down, too many connections) with back-off. */
  private async connect(packet: WorkPacket): Promise<PoolClient> {
    const pool = await this.pool();
    const context: ErrorContext = {
      datasourceId: this.datasourceId,
      host: this.config.host,
      port: this.config.port,
      database: this.config.database,
    };
    return retryWithBackoff(
      async () => {
        try {
          return await pool.connect();
        } catch (err) {
          throw this.wrap(
            err,
            context,
            `connect to PostgreSQL ${this.config.host}:${this.config.port}/${this.config.database}`,
          );
        }
      },
      { attempts: this.config.connectAttempts, abortSignal: packet.payload.options?.abortSignal },
    );
  }

  private async withClient<T>(
    packet: WorkPacket,
    fn: (client: PoolClient) => Promise<T>,
    what: string,
  ): Promise<T> {
    const client = await this.connect(packet);
    let failure: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      const wrapped = this.wrap(err, { datasourceId: this.datasourceId }, what);
      failure = wrapped;
      throw wrapped;
    } finally {
      client.release(
        failure && failure instanceof PlatformError && failure.scope === 'source' ? failure : undefined,
      );
    }
  }

  private wrap(err: unknown, context: ErrorContext, what: string): PlatformError {
    if (err instanceof PlatformError) return err;
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

interface CatalogRow {
  schema: string;
  name: string;
  relkind: string;
  relfilenode: string;
  changes: string;
  bytes: string | null;
}

interface ReadState {
  broken?: Error;
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

const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Undoes COPY text escaping (COPY TO emits only `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v`). */
function unescapeCopy(field: string): string {
  return field.replace(/\\(.)/gs, (_m, ch: string) => COPY_ESCAPES[ch] ?? ch);
}

/** Splits a COPY text stream into rows of raw fields (null for `\N`), in arrays of at least `batchRows` rows. */
async function* copyTextRows(
  stream: AsyncIterable<Buffer>,
  batchRows: number,
): AsyncGenerator<Array<Array<string | null>>> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let batch: Array<Array<string | null>> = [];
  for await (const chunk of stream) {
    const text = rest + decoder.write(chunk);
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      const fields: Array<string | null> = text.slice(start, newline).split('\t');
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i] as string;
        if (field.includes('\\')) fields[i] = field === '\\N' ? null : unescapeCopy(field);
      }
      batch.push(fields);
      start = newline + 1;
    }
    rest = text.slice(start);
    if (batch.length >= batchRows) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export const postgresConnector: ConnectorDefinition<PostgresConfig> = {
  type: 'postgres',
  configSchema: postgresConfigSchema,
  create: (deps) => new PostgresConnector(deps),
};

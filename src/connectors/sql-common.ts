/**
 * What the PostgreSQL and MySQL/MariaDB connectors share: config fields (sampling, table patterns,
 * timeouts, pool size), identifier quoting, the enumeration cursor, object-path parsing, seeded
 * sampling thresholds and value conversion for the classifier.
 */
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { ERROR_TYPE_RULES, ErrorType, PlatformError, platformError } from '../core/errors';
import type { DatabaseRow, EnumerationCursor, SamplingOptions, WorkPacket } from '../core/models';

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
  /** Rows per fetched batch while streaming (memory bound). Default 2000. */
  fetchRows: positiveInt('fetchRows', 100_000).default(2000),
  /** Connection attempts for retryable failures (server down, too many connections). Default 4. */
  connectAttempts: positiveInt('connectAttempts', 20).default(4),
};

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

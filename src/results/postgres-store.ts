import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Pool, type PoolClient, type QueryResultRow } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CopyTextWriter, escapeCopyField } from '../connectors/pg-copy-text';
import { ErrorHandler } from '../core/error-handler';
import { ErrorType, ObjectNotFoundError, PlatformError, platformError } from '../core/errors';
import { SystemLogger } from '../core/logger';
import type { DiscoveredObject, ObjectMetadata } from '../core/models';
import type {
  ColumnClassification,
  Finding,
  InfoTypeCategory,
  Likelihood,
  ObjectClassification,
} from '../classification/types';
import { TERMINAL_SCAN_PHASES, type ScanPhase } from '../scan/types';
import { MIGRATION_LOCK_KEY, MIGRATIONS, type Migration } from './migrations';
import type {
  ObjectRecord,
  ObjectStatus,
  ObjectVersion,
  ResultsStore,
  ScanDiff,
  ScanRecord,
  ScanReport,
} from './types';

export interface ResultsStoreOptions {
  /** Most connections the pool opens. Default 5. */
  poolSize?: number;
  /** `application_name` reported to PostgreSQL. Default 'assay'. */
  applicationName?: string;
  /** Milliseconds to wait for a connection. Default 10000. */
  connectionTimeoutMs?: number;
  /** Where pool-level errors (a server restart dropping idle connections) are logged. Default: a new SystemLogger. */
  logger?: SystemLogger;
  /** Migrations to apply (tests and future versions). Default: MIGRATIONS. */
  migrations?: readonly Migration[];
}

export interface ReportOptions {
  /** Objects with findings listed. Default 500. */
  objectLimit?: number;
  /** Failed objects (and component failures) listed. Default 1000. */
  failureLimit?: number;
  /** Column classifications listed. Default 2000. */
  columnLimit?: number;
  /** Hot spots listed. Default 20. */
  hotSpotLimit?: number;
}

export interface FailureInput {
  objectId: string;
  errorType: string;
  message: string;
}

const MAX_MESSAGE_CHARS = 4000;

/** PostgreSQL text cannot hold NUL; strip it rather than fail a whole batch. */
function clean(value: string): string;
function clean(value: string | undefined | null): string | null;
function clean(value: string | undefined | null): string | null {
  if (value === undefined || value === null) return null;
  return value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
}

/**
 * JSON for a jsonb parameter, without NUL characters (jsonb rejects `\u0000`). The replacer runs only when
 * the plain serialisation shows one: calling it for every value costs more than the rest of the write.
 */
function jsonWithoutNul(value: unknown): string {
  const text = JSON.stringify(value);
  if (!text.includes('\\u0000')) return text;
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? clean(item) : item));
}

/** What the `details` jsonb column keeps of an object's details (the rest has columns of its own). */
function detailsColumn(d: ObjectMetadata): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  if (d.contentType !== undefined) extra.contentType = d.contentType;
  if (d.attributes !== undefined) extra.attributes = d.attributes;
  if (d.columns !== undefined) extra.columns = d.columns;
  if (d.estimatedRowCount !== undefined) extra.estimatedRowCount = d.estimatedRowCount;
  if (d.estimatedBytes !== undefined) extra.estimatedBytes = d.estimatedBytes;
  return extra;
}

function cleanMessage(message: string): string {
  const text = clean(message);
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

function toIso(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  return value instanceof Date ? value.toISOString() : String(value);
}

function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

/** The path part of `${datasourceId}:${path}` when an object was never enumerated into this scan. */
function pathFromObjectId(objectId: string): string {
  const colon = objectId.indexOf(':');
  return colon >= 0 ? objectId.slice(colon + 1) : objectId;
}

/** Loads rows into `target` (`table (columns)`) with COPY FROM STDIN on the transaction's connection. */
async function copyRows(client: PoolClient, target: string, rows: CopyTextWriter): Promise<void> {
  if (rows.rows === 0) return;
  await pipeline(Readable.from([rows.toString()]), client.query(copyFrom(`COPY ${target} FROM STDIN`)));
}

/** Last entry per key wins (one INSERT … ON CONFLICT DO UPDATE may touch a row only once). */
function dedupeBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(key(item), item);
  return [...byKey.values()];
}

/**
 * Whether no two findings can share a natural key: each starts after the one before, in the same text component
 * (the classifier's order). Most objects' findings are so, and then need no keyed de-duplication.
 */
function placesDistinct(findings: readonly Finding[]): boolean {
  for (let i = 1; i < findings.length; i++) {
    const before = findings[i - 1];
    const finding = findings[i];
    if (
      finding.start <= before.start ||
      finding.componentPath !== before.componentPath ||
      finding.column !== undefined ||
      finding.row !== undefined
    )
      return false;
  }
  return true;
}

/**
 * Which completed scan counts as a source's last one: newest start first. One rule for incremental comparison,
 * carrying findings forward, diffs and retention, which must all agree on it.
 */
function latestScanFirst(alias: string): string {
  return `${alias}.started_at DESC, ${alias}.finished_at DESC NULLS LAST, ${alias}.scan_id DESC`;
}

function scanFromRow(row: QueryResultRow): ScanRecord {
  return {
    scanId: row.scan_id,
    datasourceId: row.datasource_id,
    datasourceType: row.datasource_type,
    rulesetVersion: row.ruleset_version,
    phase: row.phase as ScanPhase,
    startedAt: toIso(row.started_at) as string,
    ...(row.finished_at ? { finishedAt: toIso(row.finished_at) } : {}),
  };
}

function objectFromRow(row: QueryResultRow): ObjectRecord {
  const record: ObjectRecord = {
    objectId: row.object_id,
    objectPath: row.path,
    objectType: row.object_type,
    status: row.status as ObjectStatus,
    findingCount: toNumber(row.finding_count),
  };
  if (row.size !== null) record.size = Number(row.size);
  if (row.etag !== null) record.etag = row.etag;
  if (row.last_modified !== null) record.lastModified = row.last_modified;
  if (row.error_type !== null) record.errorType = row.error_type;
  if (row.error_message !== null) record.errorMessage = row.error_message;
  if (row.ruleset_version !== null) record.rulesetVersion = row.ruleset_version;
  return record;
}

function findingFromRow(row: QueryResultRow): Finding & { objectId: string } {
  const finding: Finding & { objectId: string } = {
    objectId: row.object_id,
    infoType: row.info_type,
    category: row.category as InfoTypeCategory,
    likelihood: row.likelihood as Likelihood,
    componentPath: row.component_path,
    start: Number(row.start_offset),
    end: Number(row.end_offset),
    line: row.line,
    masked: row.masked,
    fingerprint: row.fingerprint,
    detectorVersion: row.detector_version,
  };
  if (row.column_name !== null) finding.column = row.column_name;
  if (row.row_index !== null) finding.row = Number(row.row_index);
  return finding;
}

function columnFromRow(row: QueryResultRow): ColumnClassification & { objectId: string } {
  return {
    objectId: row.object_id,
    componentPath: row.component_path,
    column: row.column_name,
    infoType: row.info_type,
    category: row.category as InfoTypeCategory,
    matchedRows: Number(row.matched_rows),
    sampledRows: Number(row.sampled_rows),
    ratio: Number(row.ratio),
    likelihood: row.likelihood as Likelihood,
  };
}

/**
 * The results store on PostgreSQL (schema `assay`). Writes are idempotent (upserts on natural keys; a classified
 * object's child rows replaced whole under its row lock) and batched (`unnest` arrays, jsonb, COPY), so a
 * retried activity or replayed workflow never duplicates a row.
 */
export class PostgresResultsStore implements ResultsStore {
  readonly pool: Pool;
  private readonly errors = new ErrorHandler();
  private readonly migrations: readonly Migration[];
  private closed = false;

  constructor(url: string, options: ResultsStoreOptions = {}) {
    this.migrations = options.migrations ?? MIGRATIONS;
    this.pool = new Pool({
      connectionString: url,
      max: options.poolSize ?? 5,
      application_name: options.applicationName ?? 'assay',
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    this.pool.on('error', (error) => {
      (options.logger ?? new SystemLogger()).warn('results store: idle connection lost', {
        errorType: this.errors.wrap(error).type,
      });
    });
  }

  // ---------------------------------------------------------------- schema

  async migrate(): Promise<void> {
    await this.transaction('migrate results schema', {}, async (client) => {
      // Serialises every process calling migrate() at once; released at commit.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query('CREATE SCHEMA IF NOT EXISTS assay');
      await client.query(
        `CREATE TABLE IF NOT EXISTS assay.schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query('SELECT version FROM assay.schema_migrations');
      const applied = new Set(rows.map((row) => Number(row.version)));
      for (const migration of [...this.migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue;
        await client.query(migration.sql);
        await client.query('INSERT INTO assay.schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
      }
    });
  }

  /** Versions applied so far, ascending. */
  async schemaVersions(): Promise<number[]> {
    const rows = await this.query(
      'read schema versions',
      {},
      'SELECT version FROM assay.schema_migrations ORDER BY version',
    );
    return rows.map((row) => Number(row.version));
  }

  // ---------------------------------------------------------------- scans

  async upsertScan(scan: ScanRecord): Promise<void> {
    await this.query(
      'record scan',
      { scanId: scan.scanId },
      `INSERT INTO assay.scans AS s
         (scan_id, datasource_id, datasource_type, ruleset_version, phase, started_at, finished_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT (scan_id) DO UPDATE SET
         datasource_id = EXCLUDED.datasource_id,
         datasource_type = EXCLUDED.datasource_type,
         ruleset_version = EXCLUDED.ruleset_version,
         -- A replayed "starting" never rewinds a finished scan.
         phase = CASE WHEN s.phase = ANY($8::text[]) AND NOT (EXCLUDED.phase = ANY($8::text[]))
                      THEN s.phase ELSE EXCLUDED.phase END,
         started_at = LEAST(s.started_at, EXCLUDED.started_at),
         finished_at = COALESCE(EXCLUDED.finished_at, s.finished_at),
         updated_at = now()`,
      [
        scan.scanId,
        scan.datasourceId,
        scan.datasourceType,
        scan.rulesetVersion,
        scan.phase,
        scan.startedAt,
        scan.finishedAt ?? null,
        TERMINAL_SCAN_PHASES,
      ],
    );
  }

  /** Sets the phase; a terminal phase without `finishedAt` keeps the recorded one, else now(). */
  async setScanPhase(scanId: string, phase: ScanPhase, finishedAt?: string): Promise<void> {
    await this.query(
      'set scan phase',
      { scanId },
      `UPDATE assay.scans SET phase = $2,
         finished_at = COALESCE($3, finished_at, CASE WHEN $2 = ANY($4::text[]) THEN now() END),
         updated_at = now()
       WHERE scan_id = $1`,
      [scanId, phase, finishedAt ?? null, TERMINAL_SCAN_PHASES],
    );
  }

  async getScan(scanId: string): Promise<ScanRecord | undefined> {
    const rows = await this.query('read scan', { scanId }, 'SELECT * FROM assay.scans WHERE scan_id = $1', [
      scanId,
    ]);
    return rows[0] ? scanFromRow(rows[0]) : undefined;
  }

  /** Newest first. Default limit 50. */
  async listScans(limit = 50): Promise<ScanRecord[]> {
    const rows = await this.query(
      'list scans',
      {},
      'SELECT * FROM assay.scans ORDER BY started_at DESC, scan_id DESC LIMIT $1',
      [limit],
    );
    return rows.map(scanFromRow);
  }

  /**
   * Deletes a scan and everything recorded for it (retention, tests). Idempotent. Returns how many objects
   * and findings went with it.
   */
  async deleteScan(scanId: string): Promise<{ objects: number; findings: number }> {
    const deleted = { objects: 0, findings: 0 };
    await this.transaction('delete scan', { scanId }, async (client) => {
      for (const table of [
        'findings',
        'finding_counts',
        'column_classifications',
        'component_failures',
        'objects',
        'scans',
      ]) {
        const result = await client.query(`DELETE FROM assay.${table} WHERE scan_id = $1`, [scanId]);
        if (table === 'findings') deleted.findings = result.rowCount ?? 0;
        if (table === 'objects') deleted.objects = result.rowCount ?? 0;
      }
    });
    return deleted;
  }

  /**
   * Finished scans (completed, failed or cancelled) that ended before `cutoff`, oldest first, except each
   * datasource's latest completed scan per ruleset: the one incremental rescans compare with and carry
   * findings from, so a source's current picture survives retention.
   */
  async scansEndedBefore(cutoff: Date): Promise<ScanRecord[]> {
    const rows = await this.query(
      'list scans to prune',
      {},
      `SELECT s.* FROM assay.scans s
       WHERE s.phase = ANY($2::text[]) AND COALESCE(s.finished_at, s.updated_at) < $1
         AND s.scan_id IS DISTINCT FROM (
           SELECT p.scan_id FROM assay.scans p
           WHERE p.datasource_id = s.datasource_id AND p.ruleset_version = s.ruleset_version
             AND p.phase = 'completed'
           ORDER BY ${latestScanFirst('p')}
           LIMIT 1)
       ORDER BY COALESCE(s.finished_at, s.updated_at), s.scan_id`,
      [cutoff.toISOString(), TERMINAL_SCAN_PHASES],
    );
    return rows.map(scanFromRow);
  }

  // ---------------------------------------------------------------- inventory

  async upsertObjects(scanId: string, objects: DiscoveredObject[], batchNo: number): Promise<void> {
    if (objects.length === 0) return;
    // Position in the batch = first occurrence; rows go in sorted so concurrent batches lock in one order.
    const positioned = new Map<string, { object: DiscoveredObject; index: number }>();
    objects.forEach((object, index) => {
      if (!positioned.has(object.objectId)) positioned.set(object.objectId, { object, index });
    });
    const unique = [...positioned.values()].sort((a, b) => (a.object.objectId < b.object.objectId ? -1 : 1));
    await this.query(
      'record discovered objects',
      { scanId, batchNo, objects: unique.length },
      `INSERT INTO assay.objects AS o
         (scan_id, object_id, path, object_type, size, etag, last_modified, batch_no, batch_index)
       SELECT $1, t.object_id, t.path, t.object_type, t.size, t.etag, t.last_modified, $2, t.batch_index
       FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::integer[])
         AS t(object_id, path, object_type, size, etag, last_modified, batch_index)
       ON CONFLICT (scan_id, object_id) DO UPDATE SET
         path = EXCLUDED.path, object_type = EXCLUDED.object_type, size = EXCLUDED.size,
         etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
         batch_no = EXCLUDED.batch_no, batch_index = EXCLUDED.batch_index, updated_at = now()
       -- Re-discovery never touches a finished object, and skips no-op rewrites.
       WHERE o.status = 'discovered'
         AND (o.path, o.object_type, o.size, o.etag, o.last_modified, o.batch_no, o.batch_index) IS DISTINCT FROM
             (EXCLUDED.path, EXCLUDED.object_type, EXCLUDED.size, EXCLUDED.etag, EXCLUDED.last_modified,
              EXCLUDED.batch_no, EXCLUDED.batch_index)`,
      [
        scanId,
        batchNo,
        unique.map(({ object }) => clean(object.objectId)),
        unique.map(({ object }) => clean(object.objectPath)),
        unique.map(({ object }) => object.objectType),
        unique.map(({ object }) => (object.size === undefined ? null : Math.trunc(object.size))),
        unique.map(({ object }) => clean(object.etag)),
        unique.map(({ object }) => clean(object.lastModified)),
        unique.map(({ index }) => index),
      ],
    );
    // Statistics that have never seen a scan estimate one row for it, and the planner may then look its
    // objects up through the batch index (every row of the scan read per object written: a 250-object write
    // took 1.6 s at 20,000 objects, and grows with the scan). Autovacuum analyzes at moments of its own, often
    // before a new scan has rows; once the first batch is in, the statistics know the scan. Only the two columns
    // those lookups filter on: the whole table's statistics (paths, details) cost ~20 µs per object of a
    // 20,000-object scan, ten times these two.
    if (batchNo === 0)
      await this.query(
        'refresh inventory statistics',
        { scanId },
        'ANALYZE assay.objects (scan_id, batch_no)',
      );
  }

  async objectsInBatch(scanId: string, batchNo: number): Promise<ObjectRecord[]> {
    const rows = await this.query(
      'read objects of batch',
      { scanId, batchNo },
      `SELECT * FROM assay.objects WHERE scan_id = $1 AND batch_no = $2 ORDER BY batch_index, object_id`,
      [scanId, batchNo],
    );
    return rows.map(objectFromRow);
  }

  async recordDetails(scanId: string, details: ObjectMetadata[]): Promise<void> {
    if (details.length === 0) return;
    const unique = dedupeBy(details, (d) => d.objectId).sort((a, b) => (a.objectId < b.objectId ? -1 : 1));
    const detailJson = unique.map((d) => jsonWithoutNul(detailsColumn(d)));
    await this.query(
      'record object details',
      { scanId, objects: unique.length },
      `INSERT INTO assay.objects AS o
         (scan_id, object_id, path, object_type, size, etag, last_modified, status, error_type, error_message, details)
       SELECT $1, t.object_id, t.path, t.object_type, t.size, t.etag, t.last_modified,
              CASE WHEN t.error_type IS NULL THEN 'discovered' ELSE 'failed' END,
              t.error_type, t.error_message, t.details::jsonb
       FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
         AS t(object_id, path, object_type, size, etag, last_modified, error_type, error_message, details)
       ON CONFLICT (scan_id, object_id) DO UPDATE SET
         details = EXCLUDED.details,
         -- The enumerated version stays authoritative: incremental rescans compare against it.
         size = COALESCE(o.size, EXCLUDED.size),
         etag = COALESCE(o.etag, EXCLUDED.etag),
         last_modified = COALESCE(o.last_modified, EXCLUDED.last_modified),
         status = CASE WHEN EXCLUDED.error_type IS NOT NULL AND o.status IN ('discovered', 'failed')
                       THEN 'failed' ELSE o.status END,
         error_type = CASE WHEN EXCLUDED.error_type IS NOT NULL AND o.status IN ('discovered', 'failed')
                           THEN EXCLUDED.error_type ELSE o.error_type END,
         error_message = CASE WHEN EXCLUDED.error_type IS NOT NULL AND o.status IN ('discovered', 'failed')
                              THEN EXCLUDED.error_message ELSE o.error_message END,
         updated_at = now()`,
      [
        scanId,
        unique.map((d) => clean(d.objectId)),
        unique.map((d) => clean(d.objectPath)),
        unique.map((d) => d.objectType),
        unique.map((d) => (d.size === undefined ? null : Math.trunc(d.size))),
        unique.map((d) => clean(d.etag)),
        unique.map((d) => clean(d.lastModified)),
        unique.map((d) => (d.error ? d.error.type : null)),
        unique.map((d) => (d.error ? cleanMessage(d.error.message) : null)),
        detailJson,
      ],
    );
  }

  // ---------------------------------------------------------------- classification results

  async recordClassification(
    scanId: string,
    result: ObjectClassification,
    rulesetVersion: string,
  ): Promise<void> {
    await this.recordClassifications(scanId, [result], rulesetVersion);
  }

  /**
   * Batch form of `recordClassification`: one transaction for many objects. Replaces each object's
   * findings, columns, counts and component failures in this scan and marks it classified. `details` (error-free
   * details learned while reading the objects) are recorded in the same write, as `recordDetails` would.
   */
  async recordClassifications(
    scanId: string,
    results: ObjectClassification[],
    rulesetVersion: string,
    details: ObjectMetadata[] = [],
  ): Promise<void> {
    if (results.length === 0) return;
    const detailsById = new Map(details.filter((d) => !d.error).map((d) => [d.objectId, d]));
    const unique = dedupeBy(results, (r) => r.objectId).sort((a, b) => (a.objectId < b.objectId ? -1 : 1));
    const objectIds = unique.map((r) => clean(r.objectId));

    // Findings and counts go straight to COPY text: key columns escaped once per object, no row objects.
    const findings = new CopyTextWriter();
    const counts = new CopyTextWriter();
    const scanField = escapeCopyField(scanId);
    const columns: Array<ColumnClassification & { objectId: string }> = [];
    const failures: Array<{ objectId: string; componentPath: string; type: string; message: string }> = [];
    const totals: number[] = [];
    for (const result of unique) {
      const objectId = clean(result.objectId);
      const objectField = escapeCopyField(objectId);
      const kept = placesDistinct(result.findings)
        ? result.findings
        : dedupeBy(
            result.findings,
            (f) =>
              `${f.componentPath}\u0000${f.start}\u0000${f.infoType}\u0000${f.column ?? ''}\u0000${f.row ?? -1}`,
          );
      let componentPath: string | undefined;
      let componentField = '';
      for (const f of kept) {
        if (f.componentPath !== componentPath) {
          componentPath = f.componentPath;
          componentField = escapeCopyField(componentPath);
        }
        findings
          .escaped(scanField)
          .escaped(objectField)
          .escaped(componentField)
          .field(f.start)
          .field(f.end)
          .field(f.line)
          .field(f.column)
          .field(f.row)
          .field(f.infoType)
          .field(f.category)
          .field(f.likelihood)
          .field(f.masked)
          .field(f.fingerprint)
          .field(f.detectorVersion)
          .endRow();
      }
      for (const c of dedupeBy(
        result.columns,
        (c) => `${c.componentPath}\u0000${c.column}\u0000${c.infoType}`,
      )) {
        columns.push({ ...c, objectId });
      }
      for (const f of dedupeBy(result.failures, (f) => `${f.componentPath}\u0000${f.type}`)) {
        failures.push({ objectId, componentPath: f.componentPath, type: f.type, message: f.message });
      }
      // Exact counts come from the classifier; never fewer than the detailed findings kept.
      const perType = new Map<string, { count: number; category: string | null }>();
      for (const [infoType, count] of Object.entries(result.findingCounts ?? {})) {
        perType.set(infoType, { count, category: null });
      }
      for (const f of kept) {
        const entry = perType.get(f.infoType) ?? { count: 0, category: null };
        entry.category = entry.category ?? f.category;
        perType.set(f.infoType, entry);
      }
      const keptByType = new Map<string, number>();
      for (const f of kept) keptByType.set(f.infoType, (keptByType.get(f.infoType) ?? 0) + 1);
      for (const c of result.columns) {
        const entry = perType.get(c.infoType);
        if (entry && !entry.category) entry.category = c.category;
      }
      let total = 0;
      for (const [infoType, entry] of perType) {
        const count = Math.max(entry.count, keptByType.get(infoType) ?? 0);
        if (count <= 0) continue;
        total += count;
        counts
          .escaped(scanField)
          .escaped(objectField)
          .field(infoType)
          .field(entry.category)
          .field(count)
          .endRow();
      }
      totals.push(total);
    }

    // One transaction: the function locks the objects, records them and replaces their child rows; the findings
    // and counts (most of the rows) follow by COPY.
    const json = jsonWithoutNul;
    await this.transaction(
      'record classification results',
      { scanId, objects: unique.length },
      async (client) => {
        await client.query(
          'SELECT assay.record_classified_objects($1, $2, $3::jsonb, $4::jsonb, $5::jsonb)',
          [
            scanId,
            rulesetVersion,
            json(
              unique.map((r, index) => {
                const described = detailsById.get(r.objectId);
                return {
                  object_id: objectIds[index],
                  path: pathFromObjectId(objectIds[index]),
                  finding_count: totals[index],
                  bytes_scanned: Math.trunc(r.bytesScanned ?? 0),
                  ...(described
                    ? {
                        size: described.size === undefined ? null : Math.trunc(described.size),
                        etag: described.etag ?? null,
                        last_modified: described.lastModified ?? null,
                        details: detailsColumn(described),
                      }
                    : {}),
                };
              }),
            ),
            json(
              columns.map((c) => ({
                object_id: c.objectId,
                component_path: c.componentPath,
                column_name: c.column,
                info_type: c.infoType,
                category: c.category,
                likelihood: c.likelihood,
                matched_rows: c.matchedRows,
                sampled_rows: c.sampledRows,
                ratio: c.ratio,
              })),
            ),
            json(
              failures.map((f) => ({
                object_id: f.objectId,
                component_path: f.componentPath,
                error_type: f.type,
                error_message: cleanMessage(f.message),
              })),
            ),
          ],
        );
        await copyRows(
          client,
          `assay.findings (scan_id, object_id, component_path, start_offset, end_offset, line, column_name, row_index,
           info_type, category, likelihood, masked, fingerprint, detector_version)`,
          findings,
        );
        await copyRows(
          client,
          'assay.finding_counts (scan_id, object_id, info_type, category, count)',
          counts,
        );
      },
    );
  }

  /** Marks the object failed, unless it was already classified in this scan (a late retry's failure). */
  async recordFailure(scanId: string, objectId: string, errorType: string, message: string): Promise<void> {
    await this.recordFailures(scanId, [{ objectId, errorType, message }]);
  }

  /** Batch form of `recordFailure`. */
  async recordFailures(scanId: string, failures: FailureInput[]): Promise<void> {
    if (failures.length === 0) return;
    const unique = dedupeBy(failures, (f) => f.objectId).sort((a, b) => (a.objectId < b.objectId ? -1 : 1));
    await this.query(
      'record object failures',
      { scanId, objects: unique.length },
      `INSERT INTO assay.objects AS o (scan_id, object_id, path, object_type, status, error_type, error_message)
       SELECT $1, t.object_id, t.path, 'file', 'failed', t.error_type, t.error_message
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS t(object_id, path, error_type, error_message)
       ON CONFLICT (scan_id, object_id) DO UPDATE SET
         status = 'failed', error_type = EXCLUDED.error_type, error_message = EXCLUDED.error_message, updated_at = now()
       WHERE o.status <> 'classified'`,
      [
        scanId,
        unique.map((f) => clean(f.objectId)),
        unique.map((f) => pathFromObjectId(clean(f.objectId))),
        unique.map((f) => f.errorType),
        unique.map((f) => cleanMessage(f.message)),
      ],
    );
  }

  /**
   * Marks discovered objects skipped (unchanged since the last completed scan); finished ones keep
   * their status. With `carryForward` (default true) each newly skipped object's findings, columns and
   * counts are copied from the last completed scan of the same datasource and ruleset (the scan
   * `previousVersions` reads), so an incremental scan's report still covers the unchanged objects.
   */
  async markSkipped(
    scanId: string,
    objectIds: string[],
    options: { carryForward?: boolean } = {},
  ): Promise<void> {
    if (objectIds.length === 0) return;
    const ids = [...new Set(objectIds.map((id) => clean(id)))].sort();
    await this.transaction('mark objects skipped', { scanId, objects: ids.length }, async (client) => {
      const { rows: skipped } = await client.query(
        `UPDATE assay.objects SET status = 'skipped', updated_at = now()
         WHERE scan_id = $1 AND object_id = ANY($2::text[]) AND status = 'discovered'
         RETURNING object_id`,
        [scanId, ids],
      );
      if (skipped.length === 0 || options.carryForward === false) return;
      const { rows: previous } = await client.query(
        `SELECT p.scan_id FROM assay.scans c
         JOIN assay.scans p ON p.datasource_id = c.datasource_id AND p.ruleset_version = c.ruleset_version
           AND p.phase = 'completed' AND p.scan_id <> c.scan_id
         WHERE c.scan_id = $1
         ORDER BY ${latestScanFirst('p')}
         LIMIT 1`,
        [scanId],
      );
      if (previous.length === 0) return;
      const source = previous[0].scan_id as string;
      const { rows: carried } = await client.query(
        `UPDATE assay.objects o SET finding_count = p.finding_count, ruleset_version = p.ruleset_version
         FROM assay.objects p
         WHERE o.scan_id = $1 AND o.object_id = ANY($2::text[])
           AND p.scan_id = $3 AND p.object_id = o.object_id AND p.status IN ('classified', 'skipped')
         RETURNING o.object_id`,
        [scanId, skipped.map((row) => row.object_id), source],
      );
      if (carried.length === 0) return;
      const carriedIds = carried.map((row) => row.object_id as string);
      const copies: Record<string, string> = {
        findings: `component_path, start_offset, end_offset, line, column_name, row_index, info_type, category,
                   likelihood, masked, fingerprint, detector_version`,
        column_classifications: `component_path, column_name, info_type, category, likelihood, matched_rows,
                                 sampled_rows, ratio`,
        finding_counts: 'info_type, category, count',
        component_failures: 'component_path, error_type, error_message',
      };
      for (const [table, columns] of Object.entries(copies)) {
        await client.query(`DELETE FROM assay.${table} WHERE scan_id = $1 AND object_id = ANY($2::text[])`, [
          scanId,
          carriedIds,
        ]);
        await client.query(
          `INSERT INTO assay.${table} (scan_id, object_id, ${columns})
           SELECT $1, object_id, ${columns} FROM assay.${table}
           WHERE scan_id = $2 AND object_id = ANY($3::text[])
           ON CONFLICT DO NOTHING`,
          [scanId, source, carriedIds],
        );
      }
    });
  }

  // ---------------------------------------------------------------- reads

  async previousVersions(
    datasourceId: string,
    rulesetVersion: string,
    objectIds: string[],
  ): Promise<Map<string, ObjectVersion>> {
    const versions = new Map<string, ObjectVersion>();
    if (objectIds.length === 0) return versions;
    const rows = await this.query(
      'read previous object versions',
      { datasourceId },
      `WITH last_scan AS (
         SELECT scan_id FROM assay.scans
         WHERE datasource_id = $1 AND ruleset_version = $2 AND phase = 'completed'
         ORDER BY ${latestScanFirst('scans')}
         LIMIT 1)
       SELECT o.object_id, o.etag, o.size, o.last_modified
       FROM assay.objects o JOIN last_scan USING (scan_id)
       WHERE o.object_id = ANY($3::text[]) AND o.status IN ('classified', 'skipped')`,
      [datasourceId, rulesetVersion, [...new Set(objectIds)]],
    );
    for (const row of rows) {
      const version: ObjectVersion = { objectId: row.object_id };
      if (row.etag !== null) version.etag = row.etag;
      if (row.size !== null) version.size = Number(row.size);
      if (row.last_modified !== null) version.lastModified = row.last_modified;
      versions.set(row.object_id, version);
    }
    return versions;
  }

  /** Objects of a scan, by path (paging with `offset`). Default limit 1000. */
  async objects(
    scanId: string,
    options: { status?: ObjectStatus; limit?: number; offset?: number } = {},
  ): Promise<ObjectRecord[]> {
    const rows = await this.query(
      'read objects',
      { scanId },
      `SELECT * FROM assay.objects WHERE scan_id = $1 AND ($2::text IS NULL OR status = $2)
       ORDER BY path, object_id LIMIT $3 OFFSET $4`,
      [scanId, options.status ?? null, options.limit ?? 1000, options.offset ?? 0],
    );
    return rows.map(objectFromRow);
  }

  /** Detailed findings of a scan (or one object), by object and offset. Default limit 1000. */
  async findings(
    scanId: string,
    options: { objectId?: string; limit?: number } = {},
  ): Promise<Array<Finding & { objectId: string }>> {
    const rows = await this.query(
      'read findings',
      { scanId },
      `SELECT * FROM assay.findings WHERE scan_id = $1 AND ($2::text IS NULL OR object_id = $2)
       ORDER BY object_id, component_path, start_offset, info_type, column_name NULLS FIRST, row_index NULLS FIRST
       LIMIT $3`,
      [scanId, options.objectId ?? null, options.limit ?? 1000],
    );
    return rows.map(findingFromRow);
  }

  /** The last completed scan of the same datasource and ruleset started before `scanId`, if any. */
  async previousCompletedScan(scanId: string): Promise<ScanRecord | undefined> {
    const rows = await this.query(
      'read previous scan',
      { scanId },
      `SELECT p.* FROM assay.scans c
       JOIN assay.scans p ON p.datasource_id = c.datasource_id AND p.ruleset_version = c.ruleset_version
         AND p.phase = 'completed' AND p.scan_id <> c.scan_id AND p.started_at <= c.started_at
       WHERE c.scan_id = $1
       ORDER BY ${latestScanFirst('p')}
       LIMIT 1`,
      [scanId],
    );
    return rows[0] ? scanFromRow(rows[0]) : undefined;
  }

  /**
   * What changed between two scans of a source: findings present in `scanId` and not in `baseScanId` (added)
   * and the reverse (removed). A finding is identified by its object, component, column, infoType and
   * fingerprint, not its offset, so a value that moved inside a file is no change; a value found more often
   * than before counts the difference. Stored findings are capped per object (the classifier's maxFindings).
   */
  async diffScans(baseScanId: string, scanId: string, limit = 1000): Promise<ScanDiff> {
    for (const id of [baseScanId, scanId]) {
      if (!(await this.getScan(id)))
        throw new ObjectNotFoundError(`scan ${id} not found in the results store`, { scanId: id });
    }
    const diff: ScanDiff = {
      baseScanId,
      scanId,
      added: [],
      removed: [],
      addedByInfoType: {},
      removedByInfoType: {},
    };
    // A scan against itself: nothing changed (the query below would count its findings as added).
    if (baseScanId === scanId) return diff;
    const rows = await this.query(
      'diff scans',
      { scanId },
      `WITH counted AS (
         SELECT f.scan_id, f.object_id, f.component_path, COALESCE(f.column_name, '') AS column_name, f.info_type,
                f.fingerprint, min(f.masked) AS masked, min(f.category) AS category, count(*) AS n
         FROM assay.findings f WHERE f.scan_id = ANY($1::text[])
         GROUP BY 1, 2, 3, 4, 5, 6),
       delta AS (
         SELECT object_id, component_path, column_name, info_type, fingerprint, min(masked) AS masked,
                min(category) AS category,
                sum(CASE WHEN scan_id = $3 THEN n ELSE -n END) AS change
         FROM counted GROUP BY 1, 2, 3, 4, 5)
       SELECT d.*, o.path
       FROM delta d
       LEFT JOIN assay.objects o ON o.scan_id = (CASE WHEN d.change > 0 THEN $3 ELSE $2 END) AND o.object_id = d.object_id
       WHERE d.change <> 0
       ORDER BY sign(d.change) DESC, o.path, d.component_path, d.column_name, d.info_type, d.fingerprint`,
      [[baseScanId, scanId], baseScanId, scanId],
    );
    for (const row of rows) {
      const change = Number(row.change);
      const side = change > 0 ? 'added' : 'removed';
      const byInfoType = change > 0 ? diff.addedByInfoType : diff.removedByInfoType;
      byInfoType[row.info_type] = (byInfoType[row.info_type] ?? 0) + Math.abs(change);
      if (diff[side].length >= limit) continue;
      diff[side].push({
        objectId: row.object_id,
        path: row.path ?? pathFromObjectId(row.object_id),
        componentPath: row.component_path,
        ...(row.column_name ? { column: row.column_name } : {}),
        infoType: row.info_type,
        category: row.category,
        masked: row.masked,
        fingerprint: row.fingerprint,
        count: Math.abs(change),
      });
    }
    return diff;
  }

  async report(scanId: string, options: ReportOptions = {}): Promise<ScanReport> {
    const scan = await this.getScan(scanId);
    if (!scan) throw new ObjectNotFoundError(`scan ${scanId} not found in the results store`, { scanId });
    const params = [scanId];
    const [
      coverageRows,
      infoTypeRows,
      objectRows,
      columnRows,
      failureRows,
      componentFailureRows,
      hotSpotRows,
    ] = await Promise.all([
      this.query(
        'report coverage',
        { scanId },
        `SELECT count(*) AS enumerated,
                  count(*) FILTER (WHERE details IS NOT NULL) AS detailed,
                  count(*) FILTER (WHERE status = 'classified') AS classified,
                  count(*) FILTER (WHERE status = 'failed') AS failed,
                  count(*) FILTER (WHERE status = 'skipped') AS skipped
           FROM assay.objects WHERE scan_id = $1`,
        params,
      ),
      this.query(
        'report findings by infoType',
        { scanId },
        `SELECT info_type, COALESCE(max(category), 'UNKNOWN') AS category, sum(count) AS count,
                  count(DISTINCT object_id) AS objects
           FROM assay.finding_counts WHERE scan_id = $1 AND count > 0
           GROUP BY info_type ORDER BY sum(count) DESC, info_type`,
        params,
      ),
      this.query(
        'report objects with findings',
        { scanId },
        `SELECT o.*, ARRAY(
                    SELECT fc.info_type FROM assay.finding_counts fc
                    WHERE fc.scan_id = o.scan_id AND fc.object_id = o.object_id AND fc.count > 0
                    ORDER BY fc.count DESC, fc.info_type) AS info_types
           FROM assay.objects o WHERE o.scan_id = $1 AND o.finding_count > 0
           ORDER BY o.finding_count DESC, o.path, o.object_id LIMIT $2`,
        [scanId, options.objectLimit ?? 500],
      ),
      this.query(
        'report columns',
        { scanId },
        `SELECT * FROM assay.column_classifications WHERE scan_id = $1
           ORDER BY object_id, component_path, column_name, info_type LIMIT $2`,
        [scanId, options.columnLimit ?? 2000],
      ),
      this.query(
        'report failures',
        { scanId },
        `SELECT object_id, path, error_type, error_message FROM assay.objects
           WHERE scan_id = $1 AND status = 'failed' ORDER BY path, object_id LIMIT $2`,
        [scanId, options.failureLimit ?? 1000],
      ),
      this.query(
        'report component failures',
        { scanId },
        `SELECT object_id, component_path, error_type, error_message FROM assay.component_failures
           WHERE scan_id = $1 ORDER BY object_id, component_path, error_type LIMIT $2`,
        [scanId, options.failureLimit ?? 1000],
      ),
      this.query(
        'report hot spots',
        { scanId },
        // Files: parent directory. Tables/views (`schema.table`): the schema.
        `SELECT location, sum(finding_count) AS findings, count(*) AS objects FROM (
             SELECT CASE
                      WHEN object_type IN ('table', 'view') THEN
                        CASE WHEN strpos(path, '.') > 0 THEN split_part(path, '.', 1) ELSE path END
                      WHEN strpos(path, '/') > 0 THEN
                        COALESCE(NULLIF(regexp_replace(path, '/[^/]*$', ''), ''), '/')
                      ELSE '.'
                    END AS location,
                    finding_count
             FROM assay.objects WHERE scan_id = $1 AND finding_count > 0) located
           GROUP BY location ORDER BY sum(finding_count) DESC, location LIMIT $2`,
        [scanId, options.hotSpotLimit ?? 20],
      ),
    ]);

    const coverage = coverageRows[0];
    const findingsByInfoType = infoTypeRows.map((row) => ({
      infoType: row.info_type as string,
      category: row.category as string,
      count: toNumber(row.count),
      objects: toNumber(row.objects),
    }));
    const byCategory = new Map<string, number>();
    for (const entry of findingsByInfoType) {
      byCategory.set(entry.category, (byCategory.get(entry.category) ?? 0) + entry.count);
    }
    return {
      scan,
      coverage: {
        enumerated: toNumber(coverage.enumerated),
        detailed: toNumber(coverage.detailed),
        classified: toNumber(coverage.classified),
        failed: toNumber(coverage.failed),
        skipped: toNumber(coverage.skipped),
      },
      findingsByInfoType,
      findingsByCategory: [...byCategory.entries()]
        .map(([category, count]) => ({ category, count }))
        .sort((a, b) => b.count - a.count || (a.category < b.category ? -1 : 1)),
      objects: objectRows.map((row) => ({ ...objectFromRow(row), infoTypes: row.info_types as string[] })),
      columns: columnRows.map(columnFromRow),
      failures: failureRows.map((row) => ({
        objectId: row.object_id,
        objectPath: row.path,
        errorType: row.error_type ?? ErrorType.INTERNAL,
        errorMessage: row.error_message ?? '',
      })),
      componentFailures: componentFailureRows.map((row) => ({
        objectId: row.object_id,
        componentPath: row.component_path,
        errorType: row.error_type,
        errorMessage: row.error_message,
      })),
      hotSpots: hotSpotRows.map((row) => ({
        location: row.location as string,
        findings: toNumber(row.findings),
        objects: toNumber(row.objects),
      })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // end() resolves once every client has been told to end, before their connections close: a server stopped
    // right after close() then failed the idle ones ("idle connection lost"). Wait for the closes too (bounded).
    const open = this.pool.totalCount;
    let removed = 0;
    const allClosed = new Promise<void>((resolve) => {
      if (open === 0) resolve();
      this.pool.on('remove', () => {
        if (++removed >= open) resolve();
      });
      setTimeout(resolve, 5000).unref();
    });
    await this.pool.end();
    await allClosed;
  }

  // ---------------------------------------------------------------- plumbing

  private async query(
    what: string,
    context: Record<string, string | number | undefined>,
    sql: string,
    params: unknown[] = [],
  ): Promise<QueryResultRow[]> {
    try {
      const result = await this.pool.query(sql, params);
      return result.rows;
    } catch (error) {
      throw this.wrap(error, context, what);
    }
  }

  private async transaction<T>(
    what: string,
    context: Record<string, string | number | undefined>,
    fn: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.wrap(error, context, what);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone; do not return it to the pool
      }
      throw this.wrap(error, context, what);
    } finally {
      client.release(broken);
    }
  }

  private wrap(
    error: unknown,
    context: Record<string, string | number | undefined>,
    what: string,
  ): PlatformError {
    if (error instanceof PlatformError) return error;
    const wrapped = this.errors.wrap(error, context, `results store: ${what}`);
    // A missing assay.* table means the schema was never migrated: configuration, not a missing object.
    return wrapped.type === ErrorType.OBJECT_NOT_FOUND && (error as { code?: string }).code === '42P01'
      ? platformError(
          ErrorType.CONFIGURATION_INVALID,
          `${wrapped.message}: run migrate() (assay.* tables missing)`,
          context,
          error,
        )
      : wrapped;
  }
}

/** Opens the PostgreSQL results store at `url` (call `migrate()` once before first use). */
export function openResultsStore(url: string, options: ResultsStoreOptions = {}): PostgresResultsStore {
  return new PostgresResultsStore(url, options);
}

/**
 * The scan activities, backed by the connectors, the classifier and the results store. Created by
 * `createActivities(deps)` (closure-injected dependencies shared per worker process). Every activity
 * runs inside an ambient log context (workflowId, activityId, scanId, taskId) and every error it throws
 * leaves through `toApplicationFailure`, so Temporal's retry decision follows the platform error table.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { createConnector } from '../src/connectors/registry';
import { ErrorHandler } from '../src/core/error-handler';
import { ErrorType, PlatformError, platformError } from '../src/core/errors';
import type { DataSourceConnector } from '../src/core/interfaces';
import { currentLogContext, runWithLogContext, type SystemLogger } from '../src/core/logger';
import type { ObjectMetadata, WorkPacket } from '../src/core/models';
import { toApplicationFailure } from '../src/core/temporal-errors';
import type { ClassifierThreadInit } from '../src/classification';
import type { ObjectClassification } from '../src/classification/types';
import type { ObjectRecord, ObjectVersion, ResultsStore, ScanReport } from '../src/results/types';
import { TERMINAL_SCAN_PHASES, type DatasourceSpec } from '../src/scan/types';
import type {
  BatchCounts,
  ClassifyBatchInput,
  EnumerateCheckpoint,
  EnumerateInput,
  EnumerateResult,
  FinishScanInput,
  FinishScanResult,
  PrepareScanInput,
  ScanActivities,
  ScanPlan,
  ScanRunOptions,
} from '../workflows/types';
import { readAndClassify, type ContentClassifier, type ContentOutcome } from './content';
import type { ContentPool } from './content-pool';
import { scanMetrics } from './metrics';
import { SCAN_DEFAULTS, validateScanOptions } from './options';

export { SCAN_DEFAULTS, validateScanOptions } from './options';

/** What the activities need from a classifier (src/classification's Classifier fits). */
export interface ScanClassifier extends ContentClassifier {
  readonly rulesetVersion: string;
  /** Lets content threads classify exactly as this classifier does (src/classification's classifiers set it). */
  readonly threadInit?: ClassifierThreadInit;
}

/** The store, with the optional batch writes and report limits the PostgreSQL store offers. */
export type ScanResultsStore = ResultsStore & {
  report(
    scanId: string,
    options?: { objectLimit?: number; failureLimit?: number; columnLimit?: number; hotSpotLimit?: number },
  ): Promise<ScanReport>;
  /** `details`: error-free details of these objects, recorded in the same write (as recordDetails would). */
  recordClassifications?(
    scanId: string,
    results: ObjectClassification[],
    rulesetVersion: string,
    details?: ObjectMetadata[],
  ): Promise<void>;
  recordFailures?(
    scanId: string,
    failures: Array<{ objectId: string; errorType: string; message: string }>,
  ): Promise<void>;
};

export type ConnectorFactory = typeof createConnector;

export interface ActivityDependencies {
  store: ResultsStore;
  classifier: ScanClassifier;
  logger: SystemLogger;
  /** Default: the connector registry's `createConnector`. */
  connectorFactory?: ConnectorFactory;
  /** Default: a new ErrorHandler. */
  errorHandler?: ErrorHandler;
  /**
   * Reads and classifies file sources that describe while reading (the filesystem) on these threads, off the main
   * thread; only with the default `connectorFactory`, which the threads can rebuild. Default: none (read and
   * classified from the main thread; classification may still use its own pool).
   */
  contentPool?: ContentPool;
  /**
   * Builds a classifier for a scan that narrows the catalogue (`options.detectors`) or raises the
   * threshold (`options.minLikelihood`); called once per distinct selection and cached. Without it such
   * scans fail with CONFIGURATION_INVALID rather than silently running the default ruleset.
   */
  classifierFor?: (selection: ClassifierSelection) => Promise<ScanClassifier>;
}

/** The per-scan part of the ruleset. */
export interface ClassifierSelection {
  detectors?: string[];
  minLikelihood?: ScanRunOptions['minLikelihood'];
}

/** Heartbeat details of `classifyBatch`: objects [0, index) are finished and counted in `counts`. */
interface ClassifyCheckpoint {
  index: number;
  counts: BatchCounts;
  /** `counts.detailed` already counts the details of the whole batch, described before any content. */
  detailsCounted?: boolean;
}

const FINISHED = new Set(['classified', 'failed', 'skipped']);
/**
 * Results are written (and the batch checkpointed) once this many objects are pending: a default batch of small
 * objects in one transaction, since each write has a fixed cost (round trips, locks, commit) that 250-object writes
 * paid four times as often (bench:e2e, local disk: ~10 % more objects/s).
 */
export const FLUSH_OBJECTS = 1000;
/** …or once their detailed findings reach this many, which bounds the memory a batch holds (≈ 10 MB). */
const FLUSH_FINDINGS = 25_000;
/** …or this long after the last write, so slow objects are checkpointed (and heartbeated) as they finish. */
const FLUSH_INTERVAL_MS = 2000;

function emptyCounts(): BatchCounts {
  return { detailed: 0, classified: 0, failed: 0, skipped: 0, bytesScanned: 0, findingsByInfoType: {} };
}

/** Whether the object looks unchanged since the previous version (ETag when both have one, else size + mtime). */
export function unchangedSince(
  previous: ObjectVersion | undefined,
  current: { etag?: string; size?: number; lastModified?: string },
): boolean {
  if (!previous) return false;
  if (previous.etag && current.etag)
    return previous.etag === current.etag && (previous.size === undefined || previous.size === current.size);
  if (
    previous.size === undefined ||
    previous.lastModified === undefined ||
    current.lastModified === undefined
  )
    return false;
  return (
    previous.size === current.size && Date.parse(previous.lastModified) === Date.parse(current.lastModified)
  );
}

export function createActivities(deps: ActivityDependencies): ScanActivities {
  const store = deps.store as ScanResultsStore;
  const { classifier } = deps;
  const errorHandler = deps.errorHandler ?? new ErrorHandler();
  const connectorFactory = deps.connectorFactory ?? createConnector;
  const logger = deps.logger.child({ component: 'activity' });

  const selectedClassifiers = new Map<string, Promise<ScanClassifier>>();
  /** The classifier for a scan's options: the worker's default, or one built for its selection. */
  function classifierFor(options: ScanRunOptions): Promise<ScanClassifier> {
    if (!options.detectors && !options.minLikelihood) return Promise.resolve(classifier);
    const selection: ClassifierSelection = {
      detectors: options.detectors ? [...options.detectors].sort() : undefined,
      minLikelihood: options.minLikelihood,
    };
    const key = JSON.stringify(selection);
    let selected = selectedClassifiers.get(key);
    if (!selected) {
      if (!deps.classifierFor) {
        throw platformError(
          ErrorType.CONFIGURATION_INVALID,
          'options.detectors / options.minLikelihood: this worker cannot build per-scan classifiers',
          { field: 'options.detectors' },
        );
      }
      selected = deps.classifierFor(selection);
      // A failed build (e.g. an unknown detector) is not cached: the next scan may ask differently.
      selected.catch(() => selectedClassifiers.delete(key));
      selectedClassifiers.set(key, selected);
    }
    return selected;
  }

  /** Ambient log context + error mapping around one activity. */
  function wrap<I extends { scanId: string }, O>(fn: (input: I) => Promise<O>): (input: I) => Promise<O> {
    return async (input: I) => {
      const info = Context.current().info;
      const context = {
        workflowId: info.workflowExecution?.workflowId,
        activityId: info.activityId,
        scanId: input.scanId,
        taskId: `${info.activityType}:${info.activityId}#${info.attempt}`,
      };
      return runWithLogContext(context, async () => {
        try {
          return await fn(input);
        } catch (err) {
          if (err instanceof CancelledFailure || Context.current().cancellationSignal.aborted) {
            throw err instanceof CancelledFailure ? err : new CancelledFailure('activity cancelled');
          }
          const failure = toApplicationFailure(
            err instanceof PlatformError ? err : errorHandler.wrap(err, {}, info.activityType),
          );
          logger.warn('activity failed', {
            activity: info.activityType,
            errorType: failure.type,
            nonRetryable: failure.nonRetryable,
            error: failure.message,
          });
          throw failure;
        }
      });
    };
  }

  function openConnector(datasource: DatasourceSpec): DataSourceConnector {
    return connectorFactory(datasource.type, {
      datasourceId: datasource.id,
      logger: deps.logger,
      errorHandler,
      config: datasource.config,
    });
  }

  function packet(
    scanId: string,
    datasource: DatasourceSpec,
    objectIds: string[],
    extra: Partial<WorkPacket['payload']> = {},
    options: ScanRunOptions = {},
  ): WorkPacket {
    const ctx = Context.current();
    return {
      header: {
        taskId: `${ctx.info.activityType}:${ctx.info.activityId}#${ctx.info.attempt}`,
        traceId: ctx.info.workflowExecution?.runId ?? ctx.info.activityId,
        scanId,
        datasourceId: datasource.id,
      },
      payload: {
        objectIds,
        ...extra,
        options: {
          batchSize: options.batchSize ?? SCAN_DEFAULTS.batchSize,
          maxObjectBytes: options.maxObjectBytes ?? SCAN_DEFAULTS.maxObjectBytes,
          sampling: options.sampling,
          abortSignal: ctx.cancellationSignal,
          // An incremental rescan reads only the changed objects: details would fetch the rest for nothing.
          prefetchContent: options.incremental !== true,
        },
      },
    };
  }

  async function closeQuietly(connector: DataSourceConnector): Promise<void> {
    await connector.close().catch((err) => logger.warn('connector close failed', { error: String(err) }));
  }

  /** Whether the namespace has the Assay search attributes (so the workflow may upsert them). */
  async function searchAttributesRegistered(): Promise<boolean> {
    try {
      const client = Context.current().client;
      const response = await client.connection.operatorService.listSearchAttributes({
        namespace: client.options.namespace,
      });
      const custom = response.customAttributes ?? {};
      return ['AssayPhase', 'AssayDatasource', 'AssayDatasourceType'].every((name) => name in custom);
    } catch (err) {
      logger.debug('search attributes not checked', { error: String(err) });
      return false;
    }
  }

  const prepareScan = wrap(async (input: PrepareScanInput): Promise<ScanPlan> => {
    const options = validateScanOptions(input.options);
    const datasource = input.datasource;
    if (!datasource || typeof datasource.id !== 'string' || datasource.id.length === 0) {
      throw platformError(ErrorType.CONFIGURATION_INVALID, 'datasource.id: must be a non-empty string', {
        field: 'datasource.id',
      });
    }
    if (datasource.id.includes(':')) {
      throw platformError(ErrorType.CONFIGURATION_INVALID, 'datasource.id: must not contain ":"', {
        field: 'datasource.id',
      });
    }
    // A new run under the id of a scan that ended (a workflow id reused from the UI or CLI, two schedule runs in
    // one second) would find every object finished and report the old scan as its own: refuse it instead.
    const existing = await store.getScan(input.scanId);
    if (existing && TERMINAL_SCAN_PHASES.includes(existing.phase)) {
      throw platformError(
        ErrorType.CONFIGURATION_INVALID,
        `scanId: "${input.scanId}" already names a scan that ended (${existing.phase}${existing.finishedAt ? ` at ${existing.finishedAt}` : ''}); start the new scan under another workflow id or scanId`,
        { field: 'scanId' },
      );
    }
    // Validates the config (naming bad fields) and proves the source answers and accepts our credentials.
    const connector = openConnector(datasource);
    try {
      const probe = connector.enumerateObjects(
        packet(input.scanId, datasource, [], {}, { ...options, batchSize: 1 }),
      );
      const iterator = probe[Symbol.asyncIterator]();
      try {
        await iterator.next();
      } finally {
        await iterator.return?.();
      }
    } finally {
      await closeQuietly(connector);
    }
    const plan: ScanPlan = {
      scanId: input.scanId,
      datasourceId: datasource.id,
      datasourceType: datasource.type,
      rulesetVersion: (await classifierFor(options)).rulesetVersion,
      batchSize: options.batchSize ?? SCAN_DEFAULTS.batchSize,
      maxConcurrentBatches: options.maxConcurrentBatches ?? SCAN_DEFAULTS.maxConcurrentBatches,
      searchAttributes: await searchAttributesRegistered(),
    };
    await store.upsertScan({
      scanId: plan.scanId,
      datasourceId: plan.datasourceId,
      datasourceType: plan.datasourceType,
      rulesetVersion: plan.rulesetVersion,
      phase: 'enumerating',
      startedAt: input.startedAt,
    });
    logger.info('scan prepared', {
      datasourceId: plan.datasourceId,
      datasourceType: plan.datasourceType,
      rulesetVersion: plan.rulesetVersion,
    });
    return plan;
  });

  const enumerate = wrap(async (input: EnumerateInput): Promise<EnumerateResult> => {
    const ctx = Context.current();
    const options = input.options ?? {};
    // Default: enough batches to refill every classification lane twice (the workflow sees a slice's batches
    // only when it returns, so a long slice starves the lanes), ramped up from one so that the first batch is
    // classifiable at once.
    const steadyBatches = Math.min(
      SCAN_DEFAULTS.sliceBatches,
      2 * (options.maxConcurrentBatches ?? SCAN_DEFAULTS.maxConcurrentBatches),
    );
    const maxBatches = options.sliceBatches ?? Math.min(steadyBatches, Math.max(1, input.firstBatchNo));
    const deadline = Date.now() + (options.sliceSeconds ?? SCAN_DEFAULTS.sliceSeconds) * 1000;
    const checkpoint = ctx.info.heartbeatDetails as EnumerateCheckpoint | undefined;
    let cursor = checkpoint ? checkpoint.cursor : input.cursor;
    let enumerated = checkpoint?.enumerated ?? input.enumeratedBefore;
    let nextBatchNo = checkpoint?.nextBatchNo ?? input.firstBatchNo;
    const result = (done: boolean): EnumerateResult => ({
      cursor,
      enumerated,
      firstBatchNo: input.firstBatchNo,
      lastBatchNo: nextBatchNo - 1,
      done,
      ...(checkpoint ? { resumedFromBatchNo: checkpoint.nextBatchNo } : {}),
    });
    if (checkpoint) {
      logger.info('enumeration resumed from checkpoint', {
        attempt: ctx.info.attempt,
        resumedFromBatchNo: checkpoint.nextBatchNo,
        sliceFirstBatchNo: input.firstBatchNo,
        enumerated,
      });
      if (nextBatchNo - input.firstBatchNo >= maxBatches) return result(false);
    }
    const metrics = scanMetrics(input.datasource);
    const connector = openConnector(input.datasource);
    try {
      const batches = connector.enumerateObjects(
        packet(input.scanId, input.datasource, [], { cursor }, options),
      );
      for await (const batch of batches) {
        if (batch.length > 0) {
          await store.upsertObjects(input.scanId, [...batch], nextBatchNo);
          metrics.enumerated(batch.length);
          enumerated += batch.length;
          nextBatchNo++;
        }
        cursor = batch.cursor;
        const details: EnumerateCheckpoint = { cursor, enumerated, nextBatchNo };
        ctx.heartbeat(details);
        if (nextBatchNo - input.firstBatchNo >= maxBatches || Date.now() >= deadline) return result(false);
      }
      return result(true);
    } finally {
      await closeQuietly(connector);
    }
  });

  const classifyBatch = wrap(async (input: ClassifyBatchInput): Promise<BatchCounts> => {
    const ctx = Context.current();
    const options = input.options ?? {};
    const { scanId, datasource, rulesetVersion } = input;
    const checkpoint = ctx.info.heartbeatDetails as ClassifyCheckpoint | undefined;
    const counts: BatchCounts = checkpoint ? structuredClone(checkpoint.counts) : emptyCounts();
    const scanClassifier = await classifierFor(options);
    const records = await store.objectsInBatch(scanId, input.batchNo);
    const startIndex = Math.min(checkpoint?.index ?? 0, records.length);
    // Idempotent on retry: objects finished by an earlier attempt are left alone.
    const todo: ObjectRecord[] = records.slice(startIndex).filter((record) => !FINISHED.has(record.status));
    if (checkpoint)
      logger.info('batch resumed from checkpoint', {
        batchNo: input.batchNo,
        index: startIndex,
        remaining: todo.length,
      });
    const finishedIds = new Set<string>();
    let detailsCounted = checkpoint?.detailsCounted ?? false;
    const metrics = scanMetrics(datasource);

    // Results are buffered and written in chunks; the checkpoint only ever covers written objects.
    let pendingResults: ObjectClassification[] = [];
    let pendingFindings = 0;
    let pendingFailures: Array<{ objectId: string; errorType: string; message: string }> = [];
    /** Details read with the content (connectors that describe while reading), written with the results. */
    let pendingDetails: ObjectMetadata[] = [];
    /** Set for such connectors: describes classified objects whose content carried no details. */
    let describeMissing: ((objectIds: string[]) => Promise<ObjectMetadata[]>) | undefined;
    let lastFlush = Date.now();
    const flush = async (force = false) => {
      if (
        !force &&
        pendingResults.length + pendingFailures.length < FLUSH_OBJECTS &&
        pendingFindings < FLUSH_FINDINGS &&
        Date.now() - lastFlush < FLUSH_INTERVAL_MS
      )
        return;
      const results = pendingResults;
      const failures = pendingFailures;
      const writtenDetails = pendingDetails;
      pendingResults = [];
      pendingFindings = 0;
      pendingFailures = [];
      pendingDetails = [];
      lastFlush = Date.now();
      if (describeMissing && results.length > 0) {
        // Empty files and the like yield no component to carry their details.
        const described = new Set(writtenDetails.map((d) => d.objectId));
        const missing = results.filter((r) => !described.has(r.objectId)).map((r) => r.objectId);
        if (missing.length > 0)
          writtenDetails.push(...(await describeMissing(missing)).filter((d) => !d.error));
      }
      // Details of classified objects go with their results (one write); the rest (failed objects) alone.
      const classifiedIds = new Set(results.map((r) => r.objectId));
      const detailsApart = store.recordClassifications
        ? writtenDetails.filter((d) => !classifiedIds.has(d.objectId))
        : writtenDetails;
      if (detailsApart.length > 0) await store.recordDetails(scanId, detailsApart);
      if (results.length > 0) {
        if (store.recordClassifications)
          await store.recordClassifications(
            scanId,
            results,
            rulesetVersion,
            writtenDetails.filter((d) => classifiedIds.has(d.objectId)),
          );
        else for (const result of results) await store.recordClassification(scanId, result, rulesetVersion);
      }
      counts.detailed += writtenDetails.length;
      if (failures.length > 0) {
        if (store.recordFailures) await store.recordFailures(scanId, failures);
        else for (const f of failures) await store.recordFailure(scanId, f.objectId, f.errorType, f.message);
      }
      // Counted only once written, so a checkpoint's counts match what a retry will skip.
      const written: Pick<BatchCounts, 'bytesScanned' | 'findingsByInfoType'> = {
        bytesScanned: 0,
        findingsByInfoType: {},
      };
      for (const result of results) {
        finishedIds.add(result.objectId);
        written.bytesScanned += result.bytesScanned;
        for (const [infoType, count] of Object.entries(result.findingCounts)) {
          written.findingsByInfoType[infoType] = (written.findingsByInfoType[infoType] ?? 0) + count;
          counts.findingsByInfoType[infoType] = (counts.findingsByInfoType[infoType] ?? 0) + count;
        }
      }
      counts.classified += results.length;
      counts.bytesScanned += written.bytesScanned;
      metrics.classified(results.length, written.bytesScanned, written.findingsByInfoType);
      for (const failure of failures) finishedIds.add(failure.objectId);
      counts.failed += failures.length;
      metrics.failed(failures.map((f) => f.errorType));
      // Checkpoint: the longest prefix of the batch that is finished.
      let index = startIndex;
      while (
        index < records.length &&
        (finishedIds.has(records[index].objectId) || FINISHED.has(records[index].status))
      )
        index++;
      const details: ClassifyCheckpoint = { index, counts, detailsCounted };
      ctx.heartbeat(details);
    };
    const fail = async (objectId: string, errorType: string, message: string, details?: ObjectMetadata) => {
      pendingFailures.push({ objectId, errorType, message });
      if (details) pendingDetails.push(details);
      await flush();
    };
    const classified = async (result: ObjectClassification, details?: ObjectMetadata) => {
      pendingResults.push(result);
      pendingFindings += result.findings.length;
      if (details) pendingDetails.push(details);
      await flush();
    };
    const throwIfCancelled = () => {
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('activity cancelled');
    };

    if (todo.length === 0) {
      return counts;
    }
    const connector = openConnector(datasource);
    try {
      // Details: read with the content when the connector can (one pass per object), else described first.
      const describesContent = connector.kind === 'file' && connector.describesContent === true;
      let detailsById = new Map<string, ObjectMetadata>();
      if (describesContent) {
        describeMissing = (objectIds) =>
          connector.getObjectDetails(packet(scanId, datasource, objectIds, {}, options));
      } else {
        const details: ObjectMetadata[] = await connector.getObjectDetails(
          packet(
            scanId,
            datasource,
            todo.map((r) => r.objectId),
            {},
            options,
          ),
        );
        throwIfCancelled();
        detailsById = new Map(details.map((d) => [d.objectId, d]));
        const described = details.filter((d) => !d.error);
        if (described.length > 0) await store.recordDetails(scanId, described);
        // A retried attempt describes again the objects an earlier one counted.
        if (!detailsCounted) counts.detailed += described.length;
        detailsCounted = true;
        ctx.heartbeat({ index: startIndex, counts, detailsCounted } satisfies ClassifyCheckpoint);
      }

      let candidates: ObjectRecord[] = [];
      const maxObjectBytes = options.maxObjectBytes ?? SCAN_DEFAULTS.maxObjectBytes;
      for (const record of todo) {
        const detail = detailsById.get(record.objectId);
        if (detail?.error) {
          await fail(record.objectId, detail.error.type, detail.error.message);
        } else if (connector.kind === 'file' && (detail?.size ?? record.size ?? 0) > maxObjectBytes) {
          await fail(
            record.objectId,
            ErrorType.CONTENT_TOO_LARGE,
            `object is ${detail?.size ?? record.size} bytes, more than maxObjectBytes ${maxObjectBytes}`,
          );
        } else {
          candidates.push(record);
        }
      }

      // Incremental: unchanged since the last completed scan with this ruleset → skipped.
      if (options.incremental && candidates.length > 0) {
        const previous = await store.previousVersions(
          datasource.id,
          rulesetVersion,
          candidates.map((r) => r.objectId),
        );
        const unchanged = candidates.filter((record) => {
          const detail = detailsById.get(record.objectId);
          return unchangedSince(previous.get(record.objectId), {
            etag: detail?.etag ?? record.etag,
            size: detail?.size ?? record.size,
            lastModified: detail?.lastModified ?? record.lastModified,
          });
        });
        if (unchanged.length > 0) {
          await flush(true);
          await store.markSkipped(
            scanId,
            unchanged.map((r) => r.objectId),
          );
          counts.skipped += unchanged.length;
          metrics.skipped(unchanged.length);
          for (const record of unchanged) finishedIds.add(record.objectId);
          const skippedIds = new Set(unchanged.map((r) => r.objectId));
          candidates = candidates.filter((record) => !skippedIds.has(record.objectId));
        }
      }

      // Content and classification: chunks of the batch read in parallel lanes (I/O overlaps CPU), on content
      // threads when the worker has them and any thread can read this source (it describes while reading).
      const contentPool =
        deps.contentPool &&
        !deps.connectorFactory &&
        connector.kind === 'file' &&
        connector.describesContent === true &&
        scanClassifier.threadInit
          ? { pool: deps.contentPool, classifier: scanClassifier.threadInit }
          : undefined;
      const record = (outcome: ContentOutcome) =>
        'failure' in outcome
          ? fail(outcome.objectId, outcome.failure.type, outcome.failure.message, outcome.details)
          : classified(outcome.result, outcome.details);
      const readChunk = async (chunk: string[]) => {
        throwIfCancelled();
        if (!contentPool) {
          await readAndClassify(chunk, {
            connector,
            classifier: scanClassifier,
            errorHandler,
            packet: (objectIds) => packet(scanId, datasource, objectIds, {}, options),
            cancellationSignal: ctx.cancellationSignal,
            emit: record,
          });
          return;
        }
        const { header, payload } = packet(scanId, datasource, chunk, {}, options);
        const { abortSignal, ...chunkOptions } = payload.options ?? {};
        try {
          await contentPool.pool.run(
            {
              datasource,
              objectIds: chunk,
              header,
              options: chunkOptions,
              classifier: contentPool.classifier,
              logContext: currentLogContext(),
            },
            abortSignal,
            record,
          );
        } catch (err) {
          throwIfCancelled();
          throw err;
        }
      };
      const ids = candidates.map((r) => r.objectId);
      const lanes = options.contentConcurrency ?? (connector.kind === 'file' ? 8 : 2);
      const chunkSize =
        connector.kind === 'file' ? Math.max(1, Math.min(32, Math.ceil(ids.length / lanes))) : 1;
      const chunks: string[][] = [];
      for (let i = 0; i < ids.length; i += chunkSize) chunks.push(ids.slice(i, i + chunkSize));
      await runLanes(chunks, lanes, readChunk);
      await flush(true);
      logger.debug('batch classified', { batchNo: input.batchNo, ...counts, findingsByInfoType: undefined });
      return counts;
    } finally {
      await closeQuietly(connector);
    }
  });

  const finishScan = wrap(async (input: FinishScanInput): Promise<FinishScanResult> => {
    const finishedAt = new Date().toISOString();
    await store.setScanPhase(input.scanId, input.phase, finishedAt);
    const report = await store.report(input.scanId, {
      objectLimit: 1,
      failureLimit: 1,
      columnLimit: 1,
      hotSpotLimit: 1,
    });
    const findingsByInfoType: Record<string, number> = {};
    for (const row of report.findingsByInfoType) findingsByInfoType[row.infoType] = Number(row.count);
    logger.info('scan finished', { phase: input.phase, ...report.coverage });
    return {
      enumerated: Number(report.coverage.enumerated),
      detailed: Number(report.coverage.detailed),
      classified: Number(report.coverage.classified),
      failed: Number(report.coverage.failed),
      skipped: Number(report.coverage.skipped),
      findingsByInfoType,
      finishedAt,
    };
  });

  return { prepareScan, enumerate, classifyBatch, finishScan };
}

/** Runs `fn` over `items` with at most `lanes` at once; the first failure stops new work and is thrown. */
async function runLanes<T>(
  items: readonly T[],
  lanes: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane));
  if (failure) throw failure.error;
}

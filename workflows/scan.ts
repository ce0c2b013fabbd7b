/**
 * The durable scan: prepare → enumerate in slices (heartbeat-checkpointed) → classify batches in parallel,
 * pipelined with enumeration → finish. Only scan ids, batch numbers, cursors and counts pass through here;
 * object lists and content stay in the results store. Deterministic: @temporalio/workflow and types only.
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import {
  SearchAttributeType,
  defineSearchAttributeKey,
  type Duration,
  type SearchAttributeUpdatePair,
} from '@temporalio/common';
import type { ScanPhase, ScanProgress } from '../src/scan/types';
import { cancelSignal, pauseSignal, progressQuery, resumeSignal, setConcurrencyUpdate } from './definitions';
import { SCAN_NON_RETRYABLE_ERROR_TYPES } from './retry-policy';
import type { BatchCounts, ScanActivities, ScanContinuation, ScanPlan, ScanWorkflowInput } from './types';

export const AssayPhaseKey = defineSearchAttributeKey('AssayPhase', SearchAttributeType.KEYWORD);
export const AssayDatasourceKey = defineSearchAttributeKey('AssayDatasource', SearchAttributeType.KEYWORD);
export const AssayDatasourceTypeKey = defineSearchAttributeKey(
  'AssayDatasourceType',
  SearchAttributeType.KEYWORD,
);

/** Largest value `setConcurrency` accepts. */
export const MAX_CONCURRENT_BATCHES = 64;

const RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: [...SCAN_NON_RETRYABLE_ERROR_TYPES],
};

/** Short, bounded set-up and finishing steps. A source that stays unreachable fails the scan after ~4 minutes. */
const shortActivityOptions: ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { ...RETRY, maximumAttempts: 10 },
};

function workActivityOptions(
  heartbeatTimeoutSeconds: number,
  startToCloseTimeout: Duration,
): ActivityOptions {
  // Unlimited attempts: a long source outage pauses the scan instead of losing it; cancel ends it.
  return { startToCloseTimeout, heartbeatTimeout: heartbeatTimeoutSeconds * 1000, retry: { ...RETRY } };
}

export async function scanDataSource(input: ScanWorkflowInput): Promise<ScanProgress> {
  const info = workflowInfo();
  const carried: ScanContinuation | undefined = input.continuation;
  const scanId = carried?.plan.scanId ?? input.scanId ?? info.workflowId;
  const nowIso = () => new Date(Date.now()).toISOString();
  const options = input.options ?? {};

  const progress: ScanProgress = carried?.progress ?? {
    scanId,
    datasourceId: input.datasource.id,
    phase: 'starting',
    enumerated: 0,
    detailed: 0,
    classified: 0,
    failed: 0,
    skipped: 0,
    bytesScanned: 0,
    findingsByInfoType: {},
    startedAt: nowIso(),
    updatedAt: nowIso(),
    objectsPerSecond: 0,
  };
  const state = {
    plan: carried?.plan as ScanPlan | undefined,
    cursor: carried?.cursor,
    enumerationDone: carried?.enumerationDone ?? false,
    nextBatchNo: carried?.nextBatchNo ?? 0,
    nextDispatchBatchNo: carried?.nextDispatchBatchNo ?? 0,
    maxConcurrentBatches: carried?.maxConcurrentBatches ?? options.maxConcurrentBatches ?? 4,
    paused: carried?.paused ?? false,
    cancelRequested: false,
    cancelReason: undefined as string | undefined,
    inFlight: 0,
    enumerating: false,
    batchesThisRun: 0,
    runs: (carried?.runs ?? 0) + 1,
  };
  let upsertedPhase: ScanPhase | undefined;

  /** Recomputes phase and rates; mirrors them to the UI (current details, search attributes). */
  const touch = (phase?: ScanPhase) => {
    progress.phase =
      phase ??
      (state.cancelRequested
        ? 'cancelling'
        : state.paused
          ? 'paused'
          : !state.plan
            ? 'starting'
            : state.enumerationDone
              ? 'classifying'
              : 'enumerating');
    progress.updatedAt = nowIso();
    const seconds = (Date.parse(progress.updatedAt) - Date.parse(progress.startedAt)) / 1000;
    const done = progress.classified + progress.failed + progress.skipped;
    progress.objectsPerSecond = seconds > 0 ? Math.round((done / seconds) * 10) / 10 : 0;
    setCurrentDetails(
      `**${progress.phase}** ${input.datasource.type}:${input.datasource.id} — enumerated ${progress.enumerated}, ` +
        `classified ${progress.classified}, failed ${progress.failed}, skipped ${progress.skipped}, ` +
        `batches ${state.nextDispatchBatchNo - state.inFlight}/${state.nextBatchNo}${state.enumerationDone ? '' : '+'}, ` +
        `findings ${Object.values(progress.findingsByInfoType).reduce((a, b) => a + b, 0)}`,
    );
    if (state.plan?.searchAttributes && upsertedPhase !== progress.phase) {
      const attributes: SearchAttributeUpdatePair[] = [
        { key: AssayPhaseKey, value: progress.phase as string },
      ];
      if (upsertedPhase === undefined) {
        attributes.push(
          { key: AssayDatasourceKey, value: input.datasource.id },
          { key: AssayDatasourceTypeKey, value: input.datasource.type },
        );
      }
      upsertSearchAttributes(attributes);
      upsertedPhase = progress.phase;
    }
  };

  setHandler(progressQuery, () => ({ ...progress, findingsByInfoType: { ...progress.findingsByInfoType } }));
  setHandler(pauseSignal, () => {
    state.paused = true;
    touch();
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
    touch();
  });
  setHandler(cancelSignal, (reason?: string) => {
    state.cancelRequested = true;
    state.cancelReason = reason;
    touch();
  });
  setHandler(
    setConcurrencyUpdate,
    (value: number) => {
      const previous = state.maxConcurrentBatches;
      state.maxConcurrentBatches = value;
      return previous;
    },
    {
      validator: (value: number) => {
        if (!Number.isInteger(value) || value < 1 || value > MAX_CONCURRENT_BATCHES) {
          throw new Error(
            `maxConcurrentBatches must be an integer from 1 to ${MAX_CONCURRENT_BATCHES}, got ${value}`,
          );
        }
      },
    },
  );

  const { prepareScan, finishScan } = proxyActivities<ScanActivities>(shortActivityOptions);
  const heartbeatTimeoutSeconds = options.heartbeatTimeoutSeconds ?? 30;
  const { enumerate } = proxyActivities<ScanActivities>(workActivityOptions(heartbeatTimeoutSeconds, '30m'));
  const { classifyBatch } = proxyActivities<ScanActivities>(
    workActivityOptions(heartbeatTimeoutSeconds, '2h'),
  );

  const continueAsNewDue = () =>
    workflowInfo().continueAsNewSuggested ||
    (options.maxBatchesPerRun !== undefined && state.batchesThisRun >= options.maxBatchesPerRun);

  const addCounts = (counts: BatchCounts) => {
    progress.detailed += counts.detailed;
    progress.classified += counts.classified;
    progress.failed += counts.failed;
    progress.skipped += counts.skipped;
    progress.bytesScanned += counts.bytesScanned;
    for (const [infoType, count] of Object.entries(counts.findingsByInfoType)) {
      progress.findingsByInfoType[infoType] = (progress.findingsByInfoType[infoType] ?? 0) + count;
    }
  };

  /** Runs enumeration slices and batch classification until done, cancelled, failed or due to continue-as-new. */
  const runPipeline = async (plan: ScanPlan): Promise<'done' | 'stopped'> => {
    let failure: unknown;
    const work = new CancellationScope();
    const stopping = () => failure !== undefined || state.cancelRequested || continueAsNewDue();

    const enumerationLoop = async () => {
      state.enumerating = true;
      try {
        while (!state.enumerationDone) {
          await condition(() => !state.paused || stopping());
          if (stopping()) return;
          const slice = await work.run(() =>
            enumerate({
              scanId: plan.scanId,
              datasource: input.datasource,
              options,
              cursor: state.cursor,
              firstBatchNo: state.nextBatchNo,
              enumeratedBefore: progress.enumerated,
            }),
          );
          if (slice.resumedFromBatchNo !== undefined) {
            log.info('enumeration slice resumed from heartbeat checkpoint', {
              batchNo: slice.resumedFromBatchNo,
            });
          }
          state.cursor = slice.cursor;
          progress.enumerated = slice.enumerated;
          if (slice.lastBatchNo >= slice.firstBatchNo) state.nextBatchNo = slice.lastBatchNo + 1;
          state.enumerationDone = slice.done;
          touch();
        }
      } catch (err) {
        failure ??= err;
        work.cancel();
      } finally {
        state.enumerating = false;
      }
    };

    const dispatch = (batchNo: number) => {
      state.inFlight++;
      state.batchesThisRun++;
      work
        .run(() =>
          classifyBatch({
            scanId: plan.scanId,
            batchNo,
            datasource: input.datasource,
            options,
            rulesetVersion: plan.rulesetVersion,
          }),
        )
        .then(addCounts)
        .catch((err) => {
          failure ??= err;
          work.cancel();
        })
        .finally(() => {
          state.inFlight--;
          touch();
        });
    };

    const enumeration = state.enumerationDone ? Promise.resolve() : enumerationLoop();
    const canDispatch = () =>
      !stopping() &&
      !state.paused &&
      state.inFlight < state.maxConcurrentBatches &&
      state.nextDispatchBatchNo < state.nextBatchNo;
    const finished = () =>
      state.enumerationDone && state.nextDispatchBatchNo === state.nextBatchNo && state.inFlight === 0;
    const drained = () => stopping() && state.inFlight === 0 && !state.enumerating;

    for (;;) {
      await condition(() => canDispatch() || finished() || drained());
      while (canDispatch()) dispatch(state.nextDispatchBatchNo++);
      touch();
      if (finished() || drained()) break;
    }
    await enumeration;
    if (failure !== undefined) throw failure;
    return finished() ? 'done' : 'stopped';
  };

  const finish = async (phase: 'completed' | 'cancelled' | 'failed') => {
    const totals = await CancellationScope.nonCancellable(() => finishScan({ scanId, phase }));
    progress.enumerated = totals.enumerated;
    progress.detailed = totals.detailed ?? progress.detailed;
    progress.classified = totals.classified;
    progress.failed = totals.failed;
    progress.skipped = totals.skipped;
    progress.findingsByInfoType = totals.findingsByInfoType;
    touch(phase);
    progress.updatedAt = totals.finishedAt;
  };

  let outcome: 'done' | 'stopped';
  try {
    if (!state.plan) {
      touch();
      state.plan = await prepareScan({
        scanId,
        datasource: input.datasource,
        options,
        startedAt: progress.startedAt,
      });
      if (carried === undefined && input.options?.maxConcurrentBatches === undefined) {
        state.maxConcurrentBatches = state.plan.maxConcurrentBatches;
      }
      touch();
    }
    outcome = await runPipeline(state.plan);
    if (outcome === 'done' || state.cancelRequested) {
      await finish(outcome === 'done' ? 'completed' : 'cancelled');
      if (outcome !== 'done') log.info('scan cancelled', { reason: state.cancelReason });
      return progress;
    }
  } catch (err) {
    if (isCancellation(err)) {
      // Temporal-level cancellation: record the partial result, then let the workflow end as cancelled.
      if (state.plan) await finish('cancelled');
      throw err;
    }
    const cause = failureCause(err);
    progress.error = cause;
    if (state.plan) {
      try {
        await finish('failed');
      } catch (finishErr) {
        log.warn('could not record the failed phase', { error: String(finishErr) });
      }
    }
    touch('failed');
    throw ApplicationFailure.create({
      message: `${cause.type}: ${cause.message}`,
      type: cause.type,
      nonRetryable: true,
    });
  }

  // Continue-as-new: in-flight batches have drained; carry numbers only.
  await condition(allHandlersFinished);
  const continuation: ScanContinuation = {
    plan: state.plan,
    cursor: state.cursor,
    enumerationDone: state.enumerationDone,
    nextBatchNo: state.nextBatchNo,
    nextDispatchBatchNo: state.nextDispatchBatchNo,
    maxConcurrentBatches: state.maxConcurrentBatches,
    paused: state.paused,
    progress,
    runs: state.runs,
  };
  log.info('continuing as new', { run: state.runs, nextDispatchBatchNo: state.nextDispatchBatchNo });
  return continueAsNew<typeof scanDataSource>({ ...input, continuation });
}

/** The platform error type and message at the root of an activity failure. */
function failureCause(err: unknown): { type: string; message: string } {
  let current: unknown = err;
  for (let depth = 0; depth < 10 && current; depth++) {
    if (current instanceof ApplicationFailure && current.type) {
      return { type: current.type, message: current.message };
    }
    const next = (current as { cause?: unknown }).cause;
    if (!next) break;
    current = next;
  }
  const message = err instanceof Error ? err.message : String(err);
  return { type: 'INTERNAL', message };
}

/**
 * Names of the scan workflow and its messages, shared by the workflow, the CLI and any client.
 * Only @temporalio/workflow and type imports here, so clients and workflow code can both use it.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ScanProgress } from '../src/scan/types';

export const SCAN_WORKFLOW_TYPE = 'scanDataSource';
export const DEFAULT_TASK_QUEUE = 'assay';

/** Live counters: `temporal workflow query --name progress`. */
export const progressQuery = defineQuery<ScanProgress>('progress');
/** Stop dispatching new batches; in-flight batches finish. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Graceful cancel: stop dispatching, let in-flight batches finish, record a partial result. */
export const cancelSignal = defineSignal<[reason?: string]>('cancel');
/** Changes how many batches run at once (1–64); returns the previous value. */
export const setConcurrencyUpdate = defineUpdate<number, [maxConcurrentBatches: number]>('setConcurrency');

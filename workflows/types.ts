/**
 * Types shared by the scan workflow and its activities. Type-only (workflow code may import it):
 * nothing here carries object lists or content — only scan ids, batch numbers, cursors and counts.
 */
import type { EnumerationCursor } from '../src/core/models';
import type { DatasourceSpec, ScanInput, ScanOptions, ScanProgress } from '../src/scan/types';

/** Workflow tuning on top of ScanOptions; defaults suit production. */
export interface ScanRunOptions extends ScanOptions {
  /**
   * Enumeration batches one `enumerate` slice writes before it returns. Default: twice maxConcurrentBatches, at
   * most 20, reached by doubling from 1 (1, 1, 2, 4, 8, …), so classification starts after the first batch and
   * the workflow learns of new batches before its lanes run dry. A value given here is used from the first slice.
   */
  sliceBatches?: number;
  /** Seconds one `enumerate` slice runs before it returns. Default 10. */
  sliceSeconds?: number;
  /** Activity heartbeat timeout in seconds: how soon a crashed worker's activity is retried. Default 30. */
  heartbeatTimeoutSeconds?: number;
  /** Objects read and classified at once inside one batch. Default 8 for files, 2 for databases. */
  contentConcurrency?: number;
  /** Continue-as-new after this many classified batches in one run (tests); default: only when Temporal suggests. */
  maxBatchesPerRun?: number;
}

/** What `scanDataSource` takes: plain JSON. */
export interface ScanWorkflowInput extends ScanInput {
  options?: ScanRunOptions;
  /** Set by continue-as-new only. */
  continuation?: ScanContinuation;
}

/** Everything a new run needs to go on where the previous one stopped (numbers, never object lists). */
export interface ScanContinuation {
  plan: ScanPlan;
  /** Cursor after the last enumerated batch; undefined = enumeration not started. */
  cursor?: EnumerationCursor;
  enumerationDone: boolean;
  /** Batch numbers in [nextDispatchBatchNo, nextBatchNo) are enumerated but not yet classified. */
  nextBatchNo: number;
  nextDispatchBatchNo: number;
  maxConcurrentBatches: number;
  paused: boolean;
  progress: ScanProgress;
  runs: number;
}

/** What `prepareScan` settles once per scan. */
export interface ScanPlan {
  scanId: string;
  datasourceId: string;
  datasourceType: string;
  rulesetVersion: string;
  batchSize: number;
  maxConcurrentBatches: number;
  /** Whether the namespace has the Assay search attributes registered (else the workflow does not upsert them). */
  searchAttributes: boolean;
}

export interface PrepareScanInput {
  scanId: string;
  datasource: DatasourceSpec;
  options?: ScanRunOptions;
  /** ISO-8601, from the workflow. */
  startedAt: string;
}

export interface EnumerateInput {
  scanId: string;
  datasource: DatasourceSpec;
  options?: ScanRunOptions;
  /** Resume point; undefined = from the start. */
  cursor?: EnumerationCursor;
  /** Batch number the first batch of this slice gets. */
  firstBatchNo: number;
  /** Objects enumerated before this slice. */
  enumeratedBefore: number;
}

/** Heartbeat details of `enumerate`: the checkpoint a retried attempt resumes from. */
export interface EnumerateCheckpoint {
  cursor?: EnumerationCursor;
  enumerated: number;
  nextBatchNo: number;
}

export interface EnumerateResult {
  cursor?: EnumerationCursor;
  /** Objects enumerated in the scan so far (this slice included). */
  enumerated: number;
  /** Batches of this slice: firstBatchNo..lastBatchNo inclusive; lastBatchNo < firstBatchNo when none. */
  firstBatchNo: number;
  lastBatchNo: number;
  done: boolean;
  /** Set when this attempt resumed from a heartbeat checkpoint (observability and tests). */
  resumedFromBatchNo?: number;
}

export interface ClassifyBatchInput {
  scanId: string;
  batchNo: number;
  datasource: DatasourceSpec;
  options?: ScanRunOptions;
  rulesetVersion: string;
}

export interface BatchCounts {
  detailed: number;
  classified: number;
  failed: number;
  skipped: number;
  bytesScanned: number;
  findingsByInfoType: Record<string, number>;
}

export interface FinishScanInput {
  scanId: string;
  phase: 'completed' | 'cancelled' | 'failed';
}

/** Exact totals from the results store, for the final ScanProgress. */
export interface FinishScanResult {
  enumerated: number;
  /** Absent from results recorded before it was added (replayed histories). */
  detailed?: number;
  classified: number;
  failed: number;
  skipped: number;
  findingsByInfoType: Record<string, number>;
  finishedAt: string;
}

/** The activities the scan workflow calls (implemented by `createActivities`). */
export interface ScanActivities {
  prepareScan(input: PrepareScanInput): Promise<ScanPlan>;
  enumerate(input: EnumerateInput): Promise<EnumerateResult>;
  classifyBatch(input: ClassifyBatchInput): Promise<BatchCounts>;
  finishScan(input: FinishScanInput): Promise<FinishScanResult>;
}

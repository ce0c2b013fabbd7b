/** Scan input, options and progress: plain JSON shared by the workflow, activities, CLI and UI. */
import type { SamplingOptions } from '../core/models';
import type { Likelihood } from '../classification/types';

export interface DatasourceSpec {
  /** Stable name of the source, e.g. "docs" or "crm-db"; part of every objectId. */
  id: string;
  /** Connector type: filesystem | s3 | postgres | mysql. */
  type: string;
  /** Connector config (secrets only by env/file name). */
  config: Record<string, unknown>;
}

export interface ScanOptions {
  /** Objects per enumeration batch and per details/content activity. Default 1000. */
  batchSize?: number;
  /** Content/details batches in flight at once. Default 4. */
  maxConcurrentBatches?: number;
  /** Database row sampling. Default: the connector config's, else { mode: 'limit', rows: 1000 }. */
  sampling?: SamplingOptions;
  /** infoTypes to run; default all built-in detectors. */
  detectors?: string[];
  /** Reporting threshold. Default POSSIBLE. */
  minLikelihood?: Likelihood;
  /** Skip objects unchanged since the last completed scan with the same ruleset. Default false. */
  incremental?: boolean;
  /** Objects larger than this are recorded as CONTENT_TOO_LARGE. Default 100 MiB. */
  maxObjectBytes?: number;
}

export interface ScanInput {
  /** Default: the workflow id. */
  scanId?: string;
  datasource: DatasourceSpec;
  options?: ScanOptions;
}

export type ScanPhase =
  'starting' | 'enumerating' | 'classifying' | 'paused' | 'cancelling' | 'completed' | 'cancelled' | 'failed';

/** Phases a scan ends in. */
export const TERMINAL_SCAN_PHASES: readonly ScanPhase[] = ['completed', 'cancelled', 'failed'];

export interface ScanProgress {
  scanId: string;
  datasourceId: string;
  phase: ScanPhase;
  enumerated: number;
  detailed: number;
  classified: number;
  failed: number;
  skipped: number;
  bytesScanned: number;
  findingsByInfoType: Record<string, number>;
  /** ISO-8601 */
  startedAt: string;
  updatedAt: string;
  objectsPerSecond: number;
  /** Set when phase is 'failed': the ErrorType and message. */
  error?: { type: string; message: string };
}

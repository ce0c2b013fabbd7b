/**
 * The results store contract. Every write is idempotent (upserts on natural keys; an object's findings are
 * replaced whole under its row lock), so activity retries and workflow replays never duplicate a row.
 */
import type { DiscoveredObject, ObjectMetadata } from '../core/models';
import type { ColumnClassification, Finding, ObjectClassification } from '../classification/types';
import type { ScanPhase } from '../scan/types';

export type ObjectStatus = 'discovered' | 'classified' | 'failed' | 'skipped';

export interface ScanRecord {
  scanId: string;
  datasourceId: string;
  datasourceType: string;
  rulesetVersion: string;
  phase: ScanPhase;
  startedAt: string;
  finishedAt?: string;
}

/** What incremental rescans compare: ETag/mtime/size for files, table statistics for databases. */
export interface ObjectVersion {
  objectId: string;
  etag?: string;
  size?: number;
  lastModified?: string;
}

export interface ObjectRecord {
  objectId: string;
  objectPath: string;
  objectType: string;
  size?: number;
  etag?: string;
  lastModified?: string;
  status: ObjectStatus;
  errorType?: string;
  errorMessage?: string;
  rulesetVersion?: string;
  findingCount: number;
}

export interface ScanReport {
  scan: ScanRecord;
  /** Objects enumerated, with details recorded, classified, failed and skipped. */
  coverage: { enumerated: number; detailed: number; classified: number; failed: number; skipped: number };
  findingsByInfoType: Array<{ infoType: string; category: string; count: number; objects: number }>;
  findingsByCategory: Array<{ category: string; count: number }>;
  /** Objects with findings, most first. */
  objects: Array<ObjectRecord & { infoTypes: string[] }>;
  columns: Array<ColumnClassification & { objectId: string }>;
  failures: Array<{ objectId: string; objectPath: string; errorType: string; errorMessage: string }>;
  /** Folders (files) or tables (databases) with the most findings. */
  hotSpots: Array<{ location: string; findings: number; objects: number }>;
  /** Parts of classified objects that could not be read (a corrupt archive member, …). */
  componentFailures?: Array<{
    objectId: string;
    componentPath: string;
    errorType: string;
    errorMessage: string;
  }>;
}

export interface ResultsStore {
  /** Creates or upgrades the schema (versioned migrations). Safe to call from many processes. */
  migrate(): Promise<void>;
  upsertScan(scan: ScanRecord): Promise<void>;
  setScanPhase(scanId: string, phase: ScanPhase, finishedAt?: string): Promise<void>;
  /**
   * Inventory: insert discovered objects under enumeration batch number `batchNo` (idempotent;
   * re-discovery keeps a finished object's status). The scan workflow passes only (scanId, batchNo)
   * to later activities, which read the batch back with `objectsInBatch`.
   */
  upsertObjects(scanId: string, objects: DiscoveredObject[], batchNo: number): Promise<void>;
  /** The objects written under `batchNo`, in enumeration order, with their current status. */
  objectsInBatch(scanId: string, batchNo: number): Promise<ObjectRecord[]>;
  recordDetails(scanId: string, details: ObjectMetadata[]): Promise<void>;
  /** Replaces the object's findings and column results in this scan (idempotent) and marks it classified. */
  recordClassification(scanId: string, result: ObjectClassification, rulesetVersion: string): Promise<void>;
  recordFailure(scanId: string, objectId: string, errorType: string, message: string): Promise<void>;
  markSkipped(scanId: string, objectIds: string[]): Promise<void>;
  /** Versions seen in the last completed scan of this datasource with this ruleset (for incremental). */
  previousVersions(
    datasourceId: string,
    rulesetVersion: string,
    objectIds: string[],
  ): Promise<Map<string, ObjectVersion>>;
  getScan(scanId: string): Promise<ScanRecord | undefined>;
  listScans(limit?: number): Promise<ScanRecord[]>;
  /** Deletes a scan's records (idempotent); returns the objects and findings deleted. */
  deleteScan(scanId: string): Promise<{ objects: number; findings: number }>;
  /** Finished scans that ended before `cutoff`, except each source's latest completed one (per ruleset). */
  scansEndedBefore(cutoff: Date): Promise<ScanRecord[]>;
  findings(
    scanId: string,
    options?: { objectId?: string; limit?: number },
  ): Promise<Array<Finding & { objectId: string }>>;
  report(scanId: string): Promise<ScanReport>;
  /** The last completed scan of the same datasource and ruleset started before this one. */
  previousCompletedScan(scanId: string): Promise<ScanRecord | undefined>;
  /** Findings added and removed between two scans (see PostgresResultsStore.diffScans). */
  diffScans(baseScanId: string, scanId: string, limit?: number): Promise<ScanDiff>;
  close(): Promise<void>;
}

/** One finding identity (object, component, column, infoType, fingerprint) that changed between two scans. */
export interface ScanDiffEntry {
  objectId: string;
  path: string;
  componentPath: string;
  column?: string;
  infoType: string;
  category: string;
  masked: string;
  fingerprint: string;
  /** How many more (added) or fewer (removed) times the value was found there. */
  count: number;
}

export interface ScanDiff {
  baseScanId: string;
  scanId: string;
  /** Up to the limit each, by path; the ByInfoType totals count every change. */
  added: ScanDiffEntry[];
  removed: ScanDiffEntry[];
  addedByInfoType: Record<string, number>;
  removedByInfoType: Record<string, number>;
}

/**
 * Scan metrics for operators: counters on the running activity's metric meter, which the worker exports
 * together with Temporal's own worker metrics when `ASSAY_METRICS_ADDRESS` is set (Prometheus, `/metrics`);
 * without it the meter discards them. Labels name the datasource, its type, infoTypes and error types: never
 * an object's path or a found value.
 *
 * Counted when the work is written to the results store, by the process that did it, so a worker's
 * counters add up to what it wrote (a retried attempt counts only what it wrote itself).
 */
import { Context } from '@temporalio/activity';
import type { MetricCounter } from '@temporalio/common';
import type { DatasourceSpec } from '../src/scan/types';

/** Metric names as exported (Prometheus counters carry `_total`). */
export const SCAN_METRICS = {
  enumerated: 'assay_objects_enumerated_total',
  classified: 'assay_objects_classified_total',
  failed: 'assay_objects_failed_total',
  skipped: 'assay_objects_skipped_total',
  bytesScanned: 'assay_bytes_scanned_total',
  findings: 'assay_findings_total',
} as const;

/** Counters of one activity execution, labelled with its datasource. */
export interface ScanMetrics {
  enumerated(objects: number): void;
  classified(objects: number, bytesScanned: number, findingsByInfoType: Record<string, number>): void;
  failed(errorTypes: string[]): void;
  skipped(objects: number): void;
}

export function scanMetrics(datasource: DatasourceSpec): ScanMetrics {
  const meter = Context.current().metricMeter.withTags({
    datasource: datasource.id,
    datasource_type: datasource.type,
  });
  const counters = new Map<string, MetricCounter>();
  const counter = (name: string, unit: string, description: string): MetricCounter => {
    let found = counters.get(name);
    if (!found) counters.set(name, (found = meter.createCounter(name, unit, description)));
    return found;
  };
  const add = (name: string, value: number, unit: string, description: string, tags = {}) => {
    if (value > 0) counter(name, unit, description).add(value, tags);
  };
  return {
    enumerated: (objects) =>
      add(
        SCAN_METRICS.enumerated,
        objects,
        'objects',
        'objects listed by enumeration and written to the inventory',
      ),
    classified: (objects, bytesScanned, findingsByInfoType) => {
      add(SCAN_METRICS.classified, objects, 'objects', 'objects classified and written to the results store');
      add(SCAN_METRICS.bytesScanned, bytesScanned, 'bytes', 'content bytes read by classification');
      for (const [infoType, count] of Object.entries(findingsByInfoType))
        add(SCAN_METRICS.findings, count, 'findings', 'findings written, by infoType', {
          info_type: infoType,
        });
    },
    failed: (errorTypes) => {
      const byType = new Map<string, number>();
      for (const type of errorTypes) byType.set(type, (byType.get(type) ?? 0) + 1);
      for (const [type, count] of byType)
        add(SCAN_METRICS.failed, count, 'objects', 'objects recorded as failed, by error type', {
          error_type: type,
        });
    },
    skipped: (objects) =>
      add(SCAN_METRICS.skipped, objects, 'objects', 'objects skipped by an incremental scan (unchanged)'),
  };
}

/** Piscina worker: builds the scan engine once per thread from workerData and runs groups of scan tasks. */

import { workerData } from 'node:worker_threads';
import { runTask, type ScanTask } from './classifier';
import { ScanEngine, type RulesetSpec, type TableScanResult, type TextScanResult } from './engine';

export interface WorkerInit {
  spec: RulesetSpec;
  keyHex: string;
}

/** Tasks sent together (one thread hop for all of them). */
export interface TaskGroup {
  tasks: ScanTask[];
}

/** One outcome per task, in order: a task's failure does not fail the others. */
export type TaskGroupResult = Array<{ result: TextScanResult | TableScanResult } | { error: string }>;

let engine: ScanEngine | undefined;

export default function scan(group: TaskGroup): TaskGroupResult {
  if (!engine) {
    const init = workerData as WorkerInit;
    engine = new ScanEngine(init.spec, Buffer.from(init.keyHex, 'hex'));
  }
  const scanEngine = engine;
  return group.tasks.map((task) => {
    try {
      return { result: runTask(scanEngine, task) };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  });
}

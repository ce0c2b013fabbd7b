/** Piscina worker: builds the scan engine once per thread from workerData and runs scan tasks. */

import { workerData } from 'node:worker_threads';
import { runTask, type ScanTask } from './classifier';
import { ScanEngine, type RulesetSpec, type TableScanResult, type TextScanResult } from './engine';

export interface WorkerInit {
  spec: RulesetSpec;
  keyHex: string;
}

let engine: ScanEngine | undefined;

export default function scan(task: ScanTask): TextScanResult | TableScanResult {
  if (!engine) {
    const init = workerData as WorkerInit;
    engine = new ScanEngine(init.spec, Buffer.from(init.keyHex, 'hex'));
  }
  return runTask(engine, task);
}

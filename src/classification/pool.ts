/**
 * Worker-thread backend: scan tasks run in a piscina pool so the event loop (and with it Temporal
 * activity heartbeats) never waits on regex work.
 */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import type { ScanBackend, ScanTask, TableTask, TextTask } from './classifier';
import type { TableScanResult, TextScanResult } from './engine';
import type { WorkerInit } from './worker';

export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** The worker entry: the compiled worker.js, or the shim that loads worker.ts through ts-node. */
export function workerFilename(): string {
  const compiled = path.join(__dirname, 'worker.js');
  if (__filename.endsWith('.js') && existsSync(compiled)) return compiled;
  return path.join(__dirname, 'worker-shim.js');
}

export class PoolBackend implements ScanBackend {
  readonly parallelism: number;
  private readonly pool: Piscina;

  constructor(init: WorkerInit, size = defaultPoolSize()) {
    this.parallelism = size;
    this.pool = new Piscina({
      filename: workerFilename(),
      workerData: init,
      minThreads: size,
      maxThreads: size,
      idleTimeout: 60_000,
    });
  }

  run(task: TextTask): Promise<TextScanResult>;
  run(task: TableTask): Promise<TableScanResult>;
  run(task: ScanTask): Promise<TextScanResult | TableScanResult> {
    return this.pool.run(task) as Promise<TextScanResult | TableScanResult>;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

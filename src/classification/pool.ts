/**
 * Worker-thread backend: scan tasks run in a piscina pool so the event loop (and with it Temporal
 * activity heartbeats) never waits on regex work.
 *
 * A thread hop costs far more than scanning a few KB (≈0.3 ms against ≈0.06 ms on this kind of machine), so
 * tasks submitted close together — the objects of a batch being read in parallel lanes — travel as one pool
 * task: they are queued until the current turn of the event loop ends (or a size bound is reached) and sent
 * together. The hop is paid per group, not per document; big texts still go in bounded windows.
 */

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { workerThreadEntry } from '../core/worker-thread';
import type { ScanBackend, ScanTask, TableTask, TextTask } from './classifier';
import type { TableScanResult, TextScanResult } from './engine';
import type { TaskGroup, TaskGroupResult, WorkerInit } from './worker';

export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** Most tasks sent as one pool task. */
export const MAX_GROUP_TASKS = 64;
/** A group is sent at once when its texts and cells reach this many characters (≈ a window). */
export const MAX_GROUP_CHARS = 256 * 1024;

interface Queued {
  task: ScanTask;
  resolve: (result: TextScanResult | TableScanResult) => void;
  reject: (error: unknown) => void;
}

function taskChars(task: ScanTask): number {
  if (task.kind === 'text') return task.text.length;
  let n = 0;
  for (const row of task.rows) for (const cell of row) n += typeof cell === 'string' ? cell.length : 8;
  return n;
}

export class PoolBackend implements ScanBackend {
  readonly parallelism: number;
  private readonly pool: Piscina;
  private queue: Queued[] = [];
  private queuedChars = 0;
  private flushScheduled = false;

  /** `idleThreadTimeoutMs`: threads exit after this long without work (default: they all stay). */
  constructor(init: WorkerInit, size = defaultPoolSize(), idleThreadTimeoutMs?: number) {
    this.parallelism = size;
    const { filename, tsEntry } = workerThreadEntry(__dirname, 'worker');
    this.pool = new Piscina({
      filename,
      workerData: { ...init, tsEntry },
      maxThreads: size,
      // Idle timeouts apply only to threads above the minimum: all of them when one is set, else none.
      ...(idleThreadTimeoutMs === undefined
        ? { minThreads: size }
        : { minThreads: 0, idleTimeout: idleThreadTimeoutMs }),
    });
  }

  /** Threads running now. */
  get threads(): number {
    return this.pool.threads.length;
  }

  run(task: TextTask): Promise<TextScanResult>;
  run(task: TableTask): Promise<TableScanResult>;
  run(task: ScanTask): Promise<TextScanResult | TableScanResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.queuedChars += taskChars(task);
      if (this.queue.length >= MAX_GROUP_TASKS || this.queuedChars >= MAX_GROUP_CHARS) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends the queued tasks as one pool task and settles each task's promise with its own outcome. */
  private flush(): void {
    this.flushScheduled = false;
    const group = this.queue;
    if (group.length === 0) return;
    this.queue = [];
    this.queuedChars = 0;
    const message: TaskGroup = { tasks: group.map((queued) => queued.task) };
    (this.pool.run(message) as Promise<TaskGroupResult>).then(
      (outcomes) =>
        outcomes.forEach((outcome, i) => {
          if ('result' in outcome) group[i].resolve(outcome.result);
          else group[i].reject(new Error(outcome.error));
        }),
      (error: unknown) => group.forEach((queued) => queued.reject(error)),
    );
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/**
 * Content threads: a piscina pool that reads and classifies chunks of a file source's objects off the worker's main
 * thread (content-thread.ts). Used for connectors that describe objects while reading them (`describesContent`),
 * whose content calls keep no state between calls, so any thread can serve any chunk.
 */
import { availableParallelism } from 'node:os';
import { SHARE_ENV } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ClassifierThreadInit } from '../src/classification';
import { platformError, type ErrorContext, type ErrorType } from '../src/core/errors';
import type { LogContext } from '../src/core/logger';
import type { WorkPacketHeader, WorkPacketOptions } from '../src/core/models';
import { workerThreadEntry } from '../src/core/worker-thread';
import type { DatasourceSpec } from '../src/scan/types';
import type { ContentOutcome } from './content';

/** One chunk of objects to read and classify on a content thread (plain data: it is copied to the thread). */
export interface ContentChunk {
  datasource: DatasourceSpec;
  objectIds: string[];
  header: WorkPacketHeader;
  options: Omit<WorkPacketOptions, 'abortSignal'>;
  classifier: ClassifierThreadInit;
  logContext: LogContext;
}

export interface ContentChunkResult {
  outcomes: ContentOutcome[];
  /** The error that stopped the chunk after `outcomes` (a source-level failure, say). */
  error?: { type: ErrorType; message: string; context: ErrorContext };
}

/** Most content threads by default, whatever the core count (each holds its own classifier). */
export const MAX_DEFAULT_CONTENT_THREADS = 16;

/**
 * Content threads by default: two per core, at most MAX_DEFAULT_CONTENT_THREADS. A thread waits while its chunk's
 * files are read, so one per core leaves cores idle (direct pipeline, 2 cores, 20,000 small files: 2 threads
 * ~6,600 objects/s, 3 ~7,000, 4 ~7,200, 6 and 8 no better).
 */
export function defaultContentThreads(): number {
  return Math.min(2 * availableParallelism(), MAX_DEFAULT_CONTENT_THREADS);
}

export class ContentPool {
  private pool: Piscina | undefined;

  /** `threads`: content threads, started on first use. Default `defaultContentThreads()`. */
  constructor(readonly threads = defaultContentThreads()) {}

  /** Reads and classifies a chunk; its error (if any) is thrown after `onOutcome` has seen every outcome before it. */
  async run(
    chunk: ContentChunk,
    signal: AbortSignal | undefined,
    onOutcome: (outcome: ContentOutcome) => Promise<void>,
  ): Promise<void> {
    const result = (await this.start().run(chunk, { signal })) as ContentChunkResult;
    for (const outcome of result.outcomes) await onOutcome(outcome);
    if (result.error) throw platformError(result.error.type, result.error.message, result.error.context);
  }

  private start(): Piscina {
    if (!this.pool) {
      const { filename, tsEntry } = workerThreadEntry(__dirname, 'content-thread');
      this.pool = new Piscina({
        filename,
        workerData: { tsEntry },
        minThreads: this.threads,
        maxThreads: this.threads,
        // Credentials are referenced by environment variable name: threads see the process's variables as they are.
        env: SHARE_ENV,
      });
    }
    return this.pool;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

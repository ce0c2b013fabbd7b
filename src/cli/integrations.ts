/**
 * The CLI's entry points into the worker, the results store, the classifier and the connector
 * registry. Loaded lazily: `assay --help` and `assay scan status` stay fast and do not load the
 * classifier or database drivers they do not use.
 */
import type { Command } from 'commander';
import type { ResultsStore } from '../results/types';
import { unreachableError, usageError } from './exit-codes';
import { redactDatabaseUrl } from '../results/embedded';

export interface WorkerRunOptions {
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
  databaseUrl?: string;
}

export interface RunningWorker {
  /** Resolves when the worker stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export interface EmbeddedStore {
  url: string;
  stop(): Promise<void>;
}

/** Opens and migrates the results store; one line and exit 3 when it cannot be reached. */
export async function openStore(url: string | undefined): Promise<ResultsStore> {
  if (!url) {
    throw usageError(
      'no results store configured: set ASSAY_DATABASE_URL (postgres://…) or run `assay dev` in this directory',
    );
  }
  const { openResultsStore } = await import('../results');
  let store: ResultsStore | undefined;
  try {
    store = openResultsStore(url);
    await store.migrate();
    return store;
  } catch (err) {
    await store?.close().catch(() => undefined);
    const reason = (err as Error).message.split('\n')[0];
    throw unreachableError(`cannot open the results store at ${redactDatabaseUrl(url)}: ${reason}`, err);
  }
}

export async function startEmbeddedStore(dir: string): Promise<EmbeddedStore> {
  const { startEmbeddedStore: start } = await import('../results');
  // 'reuse' adopts a store left running by an `assay dev` that was killed.
  return start({ dir, ifRunning: 'reuse' });
}

/** Starts a scan worker (src/worker createWorker) and runs it until `shutdown()`. */
export async function startWorker(options: WorkerRunOptions): Promise<RunningWorker> {
  const { createWorker } = await import('../worker');
  const created = await createWorker({
    address: options.temporalAddress,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    databaseUrl: options.databaseUrl,
  });
  const done = created.worker.run().finally(() => created.close());
  // Observed by callers through `done`; avoid an unhandled rejection before they attach.
  done.catch(() => undefined);
  return {
    done,
    async shutdown() {
      try {
        if (created.worker.getState() === 'RUNNING') created.worker.shutdown();
      } catch {
        // already stopping (the SDK runtime also reacts to SIGINT/SIGTERM)
      }
      await done.catch(() => undefined);
    },
  };
}

/** Adds `assay classify` (src/cli/classify-command.ts) with the CLI's output streams and exit code. */
export function registerClassify(
  program: Command,
  io: {
    stdout: { write(t: string): unknown };
    stderr: { write(t: string): unknown };
    setExitCode(code: number): void;
  },
): void {
  const { registerClassifyCommand } = require('./classify-command') as typeof import('./classify-command');
  registerClassifyCommand(program, io as Parameters<typeof registerClassifyCommand>[1]);
}

/** Validates a connector config before starting a scan (exit 2 instead of a failed workflow). */
export function validateDatasource(type: string, config: unknown): void {
  const { validateConnectorConfig } =
    require('../connectors/registry') as typeof import('../connectors/registry');
  validateConnectorConfig(type, config);
}

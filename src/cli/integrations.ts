/**
 * The CLI's entry points into the worker, the results store, the classifier and the connector
 * registry. Loaded lazily: `assay --help` and `assay scan status` stay fast and do not load the
 * classifier or database drivers they do not use.
 */
import type { Command } from 'commander';
import type { ResultsStore } from '../results/types';
import { unreachableError, usageError } from './exit-codes';
import { redactUrl } from './settings';

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

type AnyFn = (...args: unknown[]) => unknown;

function load(modulePath: string, what: string): Record<string, unknown> {
  try {
    return require(modulePath) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${what} is not available in this build (${(err as Error).message.split('\n')[0]})`, {
      cause: err,
    });
  }
}

/** Opens and migrates the results store; one line and exit 3 when it cannot be reached. */
export async function openStore(url: string | undefined): Promise<ResultsStore> {
  if (!url) {
    throw usageError(
      'no results store configured: set ASSAY_DATABASE_URL (postgres://…) or run `assay dev` in this directory',
    );
  }
  const mod = load('../results', 'the results store');
  const open = mod.openResultsStore as (url: string) => Promise<ResultsStore> | ResultsStore;
  let store: ResultsStore | undefined;
  try {
    store = await open(url);
    await store.migrate();
    return store;
  } catch (err) {
    await store?.close().catch(() => undefined);
    const reason = (err as Error).message.split('\n')[0];
    throw unreachableError(`cannot open the results store at ${redactUrl(url)}: ${reason}`, err);
  }
}

export async function startEmbeddedStore(dir: string): Promise<EmbeddedStore> {
  const mod = load('../results', 'the embedded results store');
  return (mod.startEmbeddedStore as (o: { dir: string }) => Promise<EmbeddedStore>)({ dir });
}

/** Starts a scan worker (src/worker createWorker) and runs it until `shutdown()`. */
export async function startWorker(options: WorkerRunOptions): Promise<RunningWorker> {
  const mod = load('../worker', 'the scan worker');
  const created = (await (mod.createWorker as AnyFn)({
    address: options.temporalAddress,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    databaseUrl: options.databaseUrl,
  })) as { worker: { run(): Promise<void>; shutdown(): void; getState(): string }; close(): Promise<void> };
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
  let mod: Record<string, unknown>;
  try {
    mod = require('./classify-command') as Record<string, unknown>;
  } catch (err) {
    // Only a build without the classifier command skips it; a broken module is an error.
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes('classify-command')) return;
    throw err;
  }
  (mod.registerClassifyCommand as (p: Command, io: unknown) => void)(program, io);
}

/** Validates a connector config before starting a scan (exit 2 instead of a failed workflow). */
export function validateDatasource(type: string, config: unknown): void {
  let mod: Record<string, unknown>;
  try {
    mod = require('../connectors/registry') as Record<string, unknown>;
  } catch {
    return; // registry not built yet: the workflow validates it.
  }
  (mod.validateConnectorConfig as (t: string, c: unknown) => unknown)(type, config);
}

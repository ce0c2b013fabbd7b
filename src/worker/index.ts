/**
 * The Assay worker: polls the scan task queue, runs the scan workflow and its activities, stores
 * results in the results store. Connection settings follow Temporal's environment conventions.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions as TemporalWorkerOptions,
} from '@temporalio/worker';
import { createActivities, type ActivityDependencies, type ScanClassifier } from '../../activities';
import { ContentPool } from '../../activities/content-pool';
import { DEFAULT_TASK_QUEUE } from '../../workflows/definitions';
import { ConfigurationError } from '../core/errors';
import { SystemLogger } from '../core/logger';
import { openResultsStore, redactDatabaseUrl, resolveResultsStoreUrl } from '../results';
import type { ResultsStore } from '../results/types';
import { TemporalLoggerAdapter } from './logger';

export { TemporalLoggerAdapter } from './logger';

export interface AssayWorkerOptions {
  /** Temporal frontend. Default: `TEMPORAL_ADDRESS`, else `localhost:7233`. */
  address?: string;
  /** Default: `TEMPORAL_NAMESPACE`, else `default`. */
  namespace?: string;
  /** Default: `ASSAY_TASK_QUEUE`, else `assay`. */
  taskQueue?: string;
  /**
   * Results store URL. Default: `ASSAY_DATABASE_URL`, else the embedded store running from
   * `storeDir` (see resolveResultsStoreUrl).
   */
  databaseUrl?: string;
  /** The embedded store's directory. Default: `$ASSAY_HOME/store` (where `assay dev` keeps it), `ASSAY_HOME` defaulting to `.assay`. */
  storeDir?: string;
  /** Activities run at once by this worker. Default: `ASSAY_MAX_CONCURRENT_ACTIVITIES`, else 8. */
  maxConcurrentActivities?: number;
  /** How long shutdown waits for in-flight activities. Default '20s'. */
  shutdownGraceTime?: TemporalWorkerOptions['shutdownGraceTime'];
  /**
   * Pre-built workflow bundle. Default: `ASSAY_WORKFLOW_BUNDLE`, else `dist/workflow-bundle.js` when it
   * exists and `ASSAY_FROM_SOURCE` is unset; otherwise the workflows are bundled from source.
   */
  workflowBundlePath?: string;
  /** Already-bundled workflow code (tests share one bundle across workers). */
  workflowBundle?: { code: string };
  /** Default: a SystemLogger with `{ component: 'worker' }`. */
  logger?: SystemLogger;
  /** Inject a store / classifier (tests, embedding); otherwise opened here and closed on shutdown. */
  store?: ResultsStore;
  classifier?: ScanClassifier & { close?(): Promise<void> | void };
  /**
   * Classifier worker threads. 0 classifies on the worker's main thread (long texts are scanned in bounded
   * windows). Default: `ASSAY_CLASSIFIER_THREADS`, else the classifier's default pool (cores − 1, at least 1).
   * Documents of objects read at the same time travel to the pool together, so small files pay one thread hop
   * per group, not per document.
   */
  classifierThreads?: number;
  /**
   * Threads that read and classify local files (the filesystem source), so the main thread keeps to Temporal, the
   * store and heartbeats. 0 reads on the main thread. Default: `ASSAY_CONTENT_THREADS`, else two per core (at most 16).
   */
  contentThreads?: number;
  /** Inject a content pool (shared with other activities, as the bench does); otherwise made here from `contentThreads`. */
  contentPool?: ContentPool;
  /** Builds classifiers for scans that set `detectors`/`minLikelihood`. Default: like the worker's own. */
  classifierFor?: ActivityDependencies['classifierFor'];
  /** Install the SDK runtime with the log adapter (once per process). Default true. */
  installRuntime?: boolean;
  /**
   * `host:port` where the worker serves Prometheus metrics (`/metrics`): Temporal's worker metrics
   * (`temporal_*`: task slots, poll and activity latencies) and Assay's scan counters (`assay_*`, see
   * activities/metrics.ts). Needs the runtime installed here. Default: `ASSAY_METRICS_ADDRESS`, else none.
   */
  metricsAddress?: string;
  /** Worker identity shown in the Temporal UI. Default: SDK's `pid@host`. */
  identity?: string;
  env?: NodeJS.ProcessEnv;
}

export interface AssayWorker {
  worker: Worker;
  taskQueue: string;
  /** Closes what createWorker opened (connection, store, classifier); call after the worker stopped. */
  close(): Promise<void>;
}

/**
 * Idle time after which the threads of a classifier built for a scan's detector selection exit (they start again
 * with the next scan that selects the same). Without it, every selection a worker ever saw kept a full pool.
 */
export const SELECTED_CLASSIFIER_IDLE_MS = 5 * 60_000;

/** The compiled bundle next to dist/src/worker (dist/workflow-bundle.js). */
export const DEFAULT_WORKFLOW_BUNDLE = path.resolve(__dirname, '..', '..', 'workflow-bundle.js');

export function workflowsSourcePath(): string {
  return require.resolve('../../workflows');
}

async function tlsFromEnv(env: NodeJS.ProcessEnv): Promise<Parameters<typeof NativeConnection.connect>[0]> {
  const certPath = env.TEMPORAL_TLS_CERT ?? env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const keyPath = env.TEMPORAL_TLS_KEY ?? env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  const caPath = env.TEMPORAL_TLS_CA ?? env.TEMPORAL_TLS_SERVER_CA_CERT_PATH;
  const apiKey = env.TEMPORAL_API_KEY;
  if (Boolean(certPath) !== Boolean(keyPath)) {
    throw new ConfigurationError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together', {
      field: 'TEMPORAL_TLS_CERT',
    });
  }
  const options: Parameters<typeof NativeConnection.connect>[0] = {};
  if (certPath && keyPath) {
    options.tls = {
      clientCertPair: { crt: await readFile(certPath), key: await readFile(keyPath) },
      ...(caPath ? { serverRootCACertificate: await readFile(caPath) } : {}),
    };
  } else if (caPath) {
    options.tls = { serverRootCACertificate: await readFile(caPath) };
  }
  if (apiKey) {
    options.apiKey = apiKey;
    options.tls ??= true;
  }
  return options;
}

function nonNegativeInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ConfigurationError(`${name} must be an integer ≥ 0, got "${value}"`, { field: name });
  return n;
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigurationError(`${name} must be a positive integer, got "${value}"`, { field: name });
  return n;
}

/** `host:port` with a numeric port (what the metrics exporter binds), or a configuration error. */
function metricsBindAddress(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^(.+):(\d{1,5})$/.exec(value.trim());
  if (!match || Number(match[2]) > 65535) {
    throw new ConfigurationError(
      `ASSAY_METRICS_ADDRESS must be host:port (e.g. 0.0.0.0:9464), got "${value}"`,
      {
        field: 'ASSAY_METRICS_ADDRESS',
      },
    );
  }
  return `${match[1]}:${match[2]}`;
}

let runtimeInstalled = false;

/** Creates (but does not run) a worker on the scan task queue. */
export async function createWorker(options: AssayWorkerOptions = {}): Promise<AssayWorker> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? new SystemLogger({ base: { component: 'worker' } });
  const metricsAddress = metricsBindAddress(options.metricsAddress ?? env.ASSAY_METRICS_ADDRESS);
  if (options.installRuntime !== false && !runtimeInstalled) {
    try {
      Runtime.install({
        logger: new TemporalLoggerAdapter(logger),
        ...(metricsAddress
          ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } }
          : {}),
      });
      if (metricsAddress) logger.info('worker metrics served', { url: `http://${metricsAddress}/metrics` });
    } catch (err) {
      logger.debug('Temporal runtime already installed', { error: String(err) });
      if (metricsAddress) logger.warn('metrics not served: the Temporal runtime was installed before', {});
    }
    runtimeInstalled = true;
  } else if (metricsAddress) {
    logger.warn('metrics not served: this worker does not install the Temporal runtime', {});
  }
  const address = options.address ?? env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const namespace = options.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = options.taskQueue ?? env.ASSAY_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
  const maxConcurrentActivities =
    options.maxConcurrentActivities ??
    positiveInt(env.ASSAY_MAX_CONCURRENT_ACTIVITIES, 'ASSAY_MAX_CONCURRENT_ACTIVITIES') ??
    8;

  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const closer of closers.reverse()) {
      try {
        await closer();
      } catch (err) {
        logger.warn('worker clean-up step failed', { error: String(err) });
      }
    }
    closers.length = 0;
  };

  try {
    const home = path.resolve(env.ASSAY_HOME ?? '.assay');
    let store = options.store;
    if (!store) {
      const storeDir = options.storeDir ?? path.join(home, 'store');
      const url = options.databaseUrl ?? (await resolveResultsStoreUrl({ env, dir: storeDir }));
      if (!url) {
        throw new ConfigurationError(
          `no results store: set ASSAY_DATABASE_URL or start the embedded store (\`assay dev\`) in ${storeDir}`,
          { field: 'ASSAY_DATABASE_URL' },
        );
      }
      const opened = openResultsStore(url, { logger, poolSize: Math.max(5, maxConcurrentActivities + 2) });
      closers.push(() => opened.close());
      await opened.migrate();
      logger.info('results store ready', { url: redactDatabaseUrl(url) });
      store = opened;
    }
    let classifier = options.classifier;
    let classifierFor = options.classifierFor;
    if (!classifier) {
      // Loaded only when not injected: the detector set compiles at start-up.
      const { createClassifier, createLocalClassifier } = await import('../classification');
      const threads =
        options.classifierThreads ?? nonNegativeInt(env.ASSAY_CLASSIFIER_THREADS, 'ASSAY_CLASSIFIER_THREADS');
      const classifierOptions = { fingerprintKeyFile: path.join(home, 'fingerprint.key') };
      const created =
        threads === 0
          ? await createLocalClassifier(classifierOptions)
          : await createClassifier({ ...classifierOptions, ...(threads ? { poolSize: threads } : {}) });
      closers.push(() => created.close());
      classifier = created;
      // Scans that pick detectors or a threshold get their own classifier, built like the default one.
      classifierFor ??= async (selection) => {
        const selected =
          threads === 0
            ? await createLocalClassifier({ ...classifierOptions, ...selection })
            : await createClassifier({
                ...classifierOptions,
                ...selection,
                ...(threads ? { poolSize: threads } : {}),
                // Kept for the worker's life, used only while scans with this selection run.
                idleThreadTimeoutMs: SELECTED_CLASSIFIER_IDLE_MS,
              });
        closers.push(() => selected.close());
        return selected;
      };
    }

    let contentPool = options.contentPool;
    const contentThreads =
      options.contentThreads ?? nonNegativeInt(env.ASSAY_CONTENT_THREADS, 'ASSAY_CONTENT_THREADS');
    if (!contentPool && contentThreads !== 0) {
      const created = new ContentPool(contentThreads);
      closers.push(() => created.close());
      contentPool = created;
    }

    const connection = await NativeConnection.connect({ address, ...(await tlsFromEnv(env)) });
    closers.push(() => connection.close());

    const bundlePath =
      options.workflowBundlePath ??
      env.ASSAY_WORKFLOW_BUNDLE ??
      (!env.ASSAY_FROM_SOURCE && existsSync(DEFAULT_WORKFLOW_BUNDLE) ? DEFAULT_WORKFLOW_BUNDLE : undefined);
    const workflowSource: Pick<TemporalWorkerOptions, 'workflowBundle' | 'workflowsPath'> =
      options.workflowBundle
        ? { workflowBundle: options.workflowBundle }
        : bundlePath
          ? { workflowBundle: { codePath: bundlePath } }
          : { workflowsPath: workflowsSourcePath() };

    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      ...workflowSource,
      activities: createActivities({
        store,
        classifier: classifier as ScanClassifier,
        logger,
        classifierFor,
        contentPool,
      }),
      maxConcurrentActivityTaskExecutions: maxConcurrentActivities,
      shutdownGraceTime: options.shutdownGraceTime ?? '20s',
      // Checkpoints (heartbeat details) reach the server within a second, so a crash redoes little.
      maxHeartbeatThrottleInterval: '1s',
      ...(options.identity ? { identity: options.identity } : {}),
    });
    logger.info('worker ready', {
      address,
      namespace,
      taskQueue,
      maxConcurrentActivities,
      workflows: 'workflowBundle' in workflowSource ? 'bundle' : 'source',
    });
    return { worker, taskQueue, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Runs a worker until SIGINT/SIGTERM (the SDK runtime's shutdown signals), then waits up to
 * `shutdownGraceTime` for in-flight activities and closes the store and connection.
 */
export async function runWorker(options: AssayWorkerOptions = {}): Promise<void> {
  const assay = await createWorker(options);
  try {
    await assay.worker.run();
  } finally {
    await assay.close();
  }
}

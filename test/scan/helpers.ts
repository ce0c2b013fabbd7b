/** Shared set-up for the scan tests: a private results database, one workflow bundle, workers. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { ContentPool } from '../../activities/content-pool';
import { createClassifier, type Classifier } from '../../src/classification';
import { SystemLogger } from '../../src/core/logger';
import { ManagedProcess, sleep } from '../../src/services/managed-process';
import { PROJECT_ROOT } from '../../src/services/tools';
import { openResultsStore, type PostgresResultsStore } from '../../src/results';
import { createWorker, workflowsSourcePath, type AssayWorkerOptions } from '../../src/worker';
import type { ScanProgress } from '../../src/scan/types';
import { testServices, type TestServices } from '../harness/services-info';
import { SCAN_WORKFLOW_TYPE } from '../../workflows/definitions';
import type { ScanWorkflowInput } from '../../workflows/types';

export const services: TestServices = testServices();

/** Fingerprint key for test classifiers (in-process and worker processes). */
export const FINGERPRINT_KEY = 'assay-scan-tests-fingerprint-key';

/** Quiet by default; LOG_LEVEL=debug shows everything. */
export const testLogger = new SystemLogger({
  level: (process.env.LOG_LEVEL as 'info' | undefined) ?? 'warn',
  base: { component: 'test' },
});

export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

let bundlePromise: Promise<{ code: string; codePath: string }> | undefined;

/** One workflow bundle per test run (written under the harness temp dir for child-process workers). */
export function workflowBundle(): Promise<{ code: string; codePath: string }> {
  bundlePromise ??= (async () => {
    const codePath = path.join(services.tmpRoot, 'scan-workflow-bundle.js');
    if (existsSync(codePath)) return { code: await readFile(codePath, 'utf8'), codePath };
    const { code } = await bundleWorkflowCode({
      workflowsPath: workflowsSourcePath(),
      logger: quietBundlerLogger,
    });
    await writeFile(`${codePath}.tmp`, code);
    await import('node:fs/promises').then((fs) => fs.rename(`${codePath}.tmp`, codePath));
    return { code, codePath };
  })();
  return bundlePromise;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => testLogger.warn(message),
  error: (message: string) => testLogger.error(message),
};

/** Content threads of the in-process workers: under ts-node each one compiles the sources again (seconds of CPU). */
const TEST_CONTENT_THREADS = 2;

export interface ScanTestEnv {
  databaseUrl: string;
  store: PostgresResultsStore;
  classifier: Classifier;
  /** Shared by the in-process workers: under ts-node each content thread compiles the sources again. */
  contentPool: ContentPool;
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

/** A fresh results database in the harness PostgreSQL, a classifier and a Temporal client. */
export async function setupScanTestEnv(): Promise<ScanTestEnv> {
  const database = `assay_scan_${randomBytes(4).toString('hex')}`;
  const admin = new PgClient({ ...services.postgres, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const { user, password, host, port } = services.postgres;
  const databaseUrl = `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/${database}`;
  const store = openResultsStore(databaseUrl, { logger: testLogger, poolSize: 10 });
  await store.migrate();
  const classifier = await createClassifier({ fingerprintKey: FINGERPRINT_KEY });
  const contentPool = new ContentPool(TEST_CONTENT_THREADS);
  const connection = await Connection.connect({ address: services.temporal.address });
  const client = new Client({ connection, namespace: services.temporal.namespace });
  return {
    databaseUrl,
    store,
    classifier,
    contentPool,
    client,
    connection,
    close: async () => {
      await connection.close();
      await contentPool.close();
      await classifier.close();
      await store.close();
      const dropper = new PgClient({ ...services.postgres, database: 'postgres' });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

/** An in-process worker on `taskQueue` sharing the test's store and classifier. */
export async function inProcessWorker(
  env: ScanTestEnv,
  taskQueue: string,
  options: Partial<AssayWorkerOptions> = {},
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const { code } = await workflowBundle();
  const assay = await createWorker({
    address: services.temporal.address,
    namespace: services.temporal.namespace,
    taskQueue,
    store: env.store,
    classifier: env.classifier,
    contentPool: env.contentPool,
    workflowBundle: { code },
    logger: testLogger,
    shutdownGraceTime: '5s',
    ...options,
  });
  return { worker: assay.worker, close: assay.close };
}

/** Runs `fn` while an in-process worker polls `taskQueue`. */
export async function withWorker<T>(
  env: ScanTestEnv,
  taskQueue: string,
  fn: () => Promise<T>,
  options: Partial<AssayWorkerOptions> = {},
): Promise<T> {
  const { worker, close } = await inProcessWorker(env, taskQueue, options);
  try {
    return await worker.runUntil(fn);
  } finally {
    await close();
  }
}

export async function startScan(
  env: ScanTestEnv,
  taskQueue: string,
  input: ScanWorkflowInput,
  workflowId = unique('scan'),
) {
  return env.client.workflow.start(SCAN_WORKFLOW_TYPE, { taskQueue, workflowId, args: [input] });
}

export async function runScan(
  env: ScanTestEnv,
  taskQueue: string,
  input: ScanWorkflowInput,
  workflowId = unique('scan'),
): Promise<ScanProgress> {
  const handle = await startScan(env, taskQueue, input, workflowId);
  return (await handle.result()) as ScanProgress;
}

/** A worker in its own process (`src/worker/main.ts` through ts-node), for crash tests. */
export async function startWorkerProcess(
  env: ScanTestEnv,
  taskQueue: string,
  extraEnv: Record<string, string> = {},
  options: { address?: string; logFile?: string } = {},
): Promise<ManagedProcess> {
  const { codePath } = await workflowBundle();
  const logDir = path.join(services.tmpRoot, 'scan-workers');
  await mkdir(logDir, { recursive: true });
  const logFile = options.logFile ?? path.join(logDir, `${unique('worker')}.log`);
  return new ManagedProcess(
    'worker',
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(PROJECT_ROOT, 'src', 'worker', 'main.ts')],
    logFile,
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: options.address ?? services.temporal.address,
        TEMPORAL_NAMESPACE: services.temporal.namespace,
        ASSAY_TASK_QUEUE: taskQueue,
        ASSAY_DATABASE_URL: env.databaseUrl,
        ASSAY_WORKFLOW_BUNDLE: codePath,
        LOG_LEVEL: 'info',
        ASSAY_FINGERPRINT_KEY: FINGERPRINT_KEY,
        // Worker processes read files on the main thread: under ts-node a content thread takes 7–12 s to load the
        // sources, which the kill-and-restart rounds cannot afford. In-process workers run the content threads.
        ASSAY_CONTENT_THREADS: '0',
        ASSAY_HOME: path.join(services.tmpRoot, 'scan-worker-home'),
        TS_NODE_PROJECT: path.join(PROJECT_ROOT, 'tsconfig.json'),
        ...extraEnv,
      },
    },
  );
}

/** Waits until the worker process logs "worker ready" (or fails). */
export async function waitForWorkerReady(proc: ManagedProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await readFile(proc.logFile, 'utf8').catch(() => '');
    if (log.includes('worker ready')) return;
    if (!proc.alive) throw new Error(`worker process exited:\n${await proc.tail()}`);
    if (Date.now() > deadline)
      throw new Error(`worker not ready after ${timeoutMs} ms:\n${await proc.tail()}`);
    await sleep(200);
  }
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A Luhn-valid card number from a prefix (e.g. '4' for Visa) and a body of digits. */
export function luhnCard(body: string): string {
  const digits = body.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits[i];
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body + String((10 - (sum % 10)) % 10);
}

/** Counts by infoType from the store's report. */
export async function findingCounts(
  store: PostgresResultsStore,
  scanId: string,
): Promise<Record<string, number>> {
  const report = await store.report(scanId);
  return Object.fromEntries(report.findingsByInfoType.map((row) => [row.infoType, Number(row.count)]));
}

/** `attempt` / identity of every classifyBatch and enumerate activity, from the workflow history (all runs). */
export async function activityStarts(
  handle: WorkflowHandle,
): Promise<Array<{ type: string; identity: string; attempt: number }>> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string>();
  const starts: Array<{ type: string; identity: string; attempt: number }> = [];
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    if (event.activityTaskScheduledEventAttributes) {
      scheduled.set(id, event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    }
    if (event.activityTaskStartedEventAttributes) {
      const attrs = event.activityTaskStartedEventAttributes;
      starts.push({
        type: scheduled.get(String(attrs.scheduledEventId)) ?? '',
        identity: attrs.identity ?? '',
        attempt: attrs.attempt ?? 1,
      });
    }
  }
  return starts;
}

/** The results of the completed activities of one type, in history order, with the attempt that completed. */
export async function completedResults<T>(
  handle: WorkflowHandle,
  activityType: string,
): Promise<Array<{ result: T; attempt: number }>> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts = new Map<string, number>();
  const results: Array<{ result: T; attempt: number }> = [];
  for (const event of history.events ?? []) {
    if (event.activityTaskScheduledEventAttributes)
      scheduled.set(
        String(event.eventId),
        event.activityTaskScheduledEventAttributes.activityType?.name ?? '',
      );
    if (event.activityTaskStartedEventAttributes) {
      attempts.set(
        String(event.activityTaskStartedEventAttributes.scheduledEventId),
        event.activityTaskStartedEventAttributes.attempt ?? 1,
      );
    }
    const done = event.activityTaskCompletedEventAttributes;
    if (done && scheduled.get(String(done.scheduledEventId)) === activityType) {
      const payload = done.result?.payloads?.[0];
      results.push({
        result: defaultPayloadConverter.fromPayload<T>(payload!),
        attempt: attempts.get(String(done.scheduledEventId)) ?? 1,
      });
    }
  }
  return results;
}

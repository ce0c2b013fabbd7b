/** Scan control: pause/resume, graceful cancel, the concurrency update, and forced continue-as-new. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { sleep } from '../../src/services/managed-process';
import type { ScanProgress } from '../../src/scan/types';
import {
  cancelSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
  setConcurrencyUpdate,
} from '../../workflows/definitions';
import type { ScanWorkflowInput } from '../../workflows/types';
import {
  findingCounts,
  inProcessWorker,
  setupScanTestEnv,
  startScan,
  unique,
  waitFor,
  type ScanTestEnv,
} from './helpers';

const FILES = 400;
let env: ScanTestEnv;
let dir: string;
let worker: Awaited<ReturnType<typeof inProcessWorker>>;
let running: Promise<void>;
const taskQueue = unique('control');

const input = (options: ScanWorkflowInput['options'] = {}): ScanWorkflowInput => ({
  datasource: { id: 'many', type: 'filesystem', config: { roots: [dir] } },
  options: { batchSize: 10, maxConcurrentBatches: 1, ...options },
});

beforeAll(async () => {
  env = await setupScanTestEnv();
  dir = await mkdtemp(path.join(os.tmpdir(), 'assay-control-'));
  for (let i = 0; i < FILES; i++)
    await writeFile(
      path.join(dir, `file-${String(i).padStart(4, '0')}.txt`),
      `owner: user${i}@example.com\n`,
    );
  worker = await inProcessWorker(env, taskQueue);
  running = worker.worker.run();
});

afterAll(async () => {
  worker?.worker.shutdown();
  await running;
  await worker?.close();
  await rm(dir, { recursive: true, force: true });
  await env?.close();
});

test('pause stops dispatching (in-flight work finishes), resume completes the scan; setConcurrency is validated', async () => {
  const handle = await startScan(env, taskQueue, input());
  await handle.signal(pauseSignal);
  await waitFor('phase paused', async () => (await handle.query(progressQuery)).phase === 'paused');
  await sleep(1500);
  const paused = await handle.query(progressQuery);
  await sleep(1500);
  const stillPaused = await handle.query(progressQuery);
  expect(stillPaused.phase).toBe('paused');
  expect(stillPaused.classified).toBe(paused.classified);
  expect(stillPaused.classified).toBeLessThanOrEqual(10);

  const rejection = async (value: number) => {
    const err = await handle.executeUpdate(setConcurrencyUpdate, { args: [value] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return (err as WorkflowUpdateFailedError).cause?.message;
  };
  expect(await rejection(0)).toMatch(/integer from 1 to 64, got 0/);
  expect(await rejection(65)).toMatch(/got 65/);
  expect(await rejection(2.5)).toMatch(/got 2.5/);
  expect(await handle.executeUpdate(setConcurrencyUpdate, { args: [3] })).toBe(1);
  expect(await handle.executeUpdate(setConcurrencyUpdate, { args: [4] })).toBe(3);

  await handle.signal(resumeSignal);
  const result = (await handle.result()) as ScanProgress;
  expect(result).toMatchObject({ phase: 'completed', enumerated: FILES, classified: FILES, failed: 0 });
  expect(result.findingsByInfoType).toEqual({ EMAIL_ADDRESS: FILES });
});

test('cancel stops dispatching, drains in-flight batches and records a partial result', async () => {
  const handle = await startScan(env, taskQueue, input());
  await waitFor(
    'some progress',
    async () => (await handle.query(progressQuery)).classified >= 20,
    60_000,
    20,
  );
  await handle.signal(cancelSignal, 'test');
  const result = (await handle.result()) as ScanProgress;
  expect(result.phase).toBe('cancelled');
  expect(result.classified).toBeGreaterThanOrEqual(20);
  expect(result.classified).toBeLessThan(FILES);
  const report = await env.store.report(result.scanId);
  expect(report.scan.phase).toBe('cancelled');
  expect(report.coverage.classified).toBe(result.classified);
  expect((await findingCounts(env.store, result.scanId)).EMAIL_ADDRESS).toBe(result.classified);
});

test("Temporal's own workflow cancellation cancels in-flight work and records the scan as cancelled", async () => {
  const handle = await startScan(env, taskQueue, input());
  await waitFor(
    'some progress',
    async () => (await handle.query(progressQuery)).classified >= 10,
    60_000,
    20,
  );
  await handle.cancel();
  const failure = await handle.result().catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  const scan = await env.store.getScan(handle.workflowId);
  expect(scan?.phase).toBe('cancelled');
});

test('continue-as-new at a small threshold loses nothing', async () => {
  const workflowId = unique('scan-can');
  const handle = await startScan(
    env,
    taskQueue,
    input({ maxBatchesPerRun: 7, maxConcurrentBatches: 3, sliceBatches: 5 }),
    workflowId,
  );
  const firstRunId = handle.firstExecutionRunId;
  const result = (await handle.result()) as ScanProgress;
  expect(result).toMatchObject({
    scanId: workflowId,
    phase: 'completed',
    enumerated: FILES,
    classified: FILES,
    failed: 0,
    skipped: 0,
  });
  expect(await findingCounts(env.store, workflowId)).toEqual({ EMAIL_ADDRESS: FILES });
  // Progress counters carried across runs equal the store's totals.
  expect(result.detailed).toBe(FILES);
  const firstRun = await env.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
  const last = firstRun.events?.[firstRun.events.length - 1];
  expect(last?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
  const final = await env.client.workflow.getHandle(workflowId).describe();
  expect(final.runId).not.toBe(firstRunId);
});

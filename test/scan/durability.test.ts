/**
 * Durability: worker processes killed with SIGKILL mid-enumeration and mid-classification, two
 * workers sharing one scan, the Temporal server restarted from its database file, and the S3 server
 * stopped for 20 s. Every scan must end with exactly the fixture's inventory and findings.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { ManagedProcess } from '../../src/services/managed-process';
import { sleep } from '../../src/services/managed-process';
import { startLocalS3 } from '../../src/services/seaweedfs';
import { startTemporalDevServer } from '../../src/services/temporal';
import type { ScanProgress } from '../../src/scan/types';
import { SCAN_WORKFLOW_TYPE, progressQuery } from '../../workflows/definitions';
import type { EnumerateCheckpoint, EnumerateResult, ScanWorkflowInput } from '../../workflows/types';
import {
  activityStarts,
  completedResults,
  findingCounts,
  inProcessWorker,
  services,
  setupScanTestEnv,
  startScan,
  startWorkerProcess,
  unique,
  waitFor,
  waitForWorkerReady,
  workflowBundle,
  type ScanTestEnv,
} from './helpers';

const FILES = 8000;
/**
 * One large file without PII, last in enumeration order: its batch runs for a good fraction of a second,
 * so a kill can land on a running batch even when small batches finish in milliseconds.
 */
const LARGE_FILE = path.join('d39', 'zz-large.txt');
const LARGE_FILE_BYTES = 32 * 1024 * 1024;
/** A quarter of the files (folders d00–d09), for the tests that need no long enumeration. */
const SUBSET_GLOB = ['d0*/*.txt'];
const SUBSET = FILES / 4;
let env: ScanTestEnv;
let dir: string;
const processes: ManagedProcess[] = [];

async function objectCount(scanId: string, status?: string): Promise<number> {
  const { rows } = await env.store.pool.query(
    `SELECT count(*) AS n FROM assay.objects WHERE scan_id = $1 AND ($2::text IS NULL OR status = $2)`,
    [scanId, status ?? null],
  );
  return Number(rows[0].n);
}

/** The heartbeat details Temporal holds for the pending `enumerate` activity, if any. */
async function enumerateCheckpoint(handle: WorkflowHandle): Promise<EnumerateCheckpoint | undefined> {
  const description = await handle.describe();
  for (const pending of description.raw.pendingActivities ?? []) {
    if (pending.activityType?.name !== 'enumerate') continue;
    const payload = pending.heartbeatDetails?.payloads?.[0];
    if (payload) return defaultPayloadConverter.fromPayload<EnumerateCheckpoint>(payload);
  }
  return undefined;
}

async function spawnWorker(
  taskQueue: string,
  extraEnv: Record<string, string> = {},
  address?: string,
): Promise<ManagedProcess> {
  const proc = await startWorkerProcess(env, taskQueue, extraEnv, { address });
  processes.push(proc);
  await waitForWorkerReady(proc);
  return proc;
}

beforeAll(async () => {
  env = await setupScanTestEnv();
  await workflowBundle();
  dir = await mkdtemp(path.join(os.tmpdir(), 'assay-durable-'));
  const writes: Array<Promise<void>> = [];
  for (let i = 0; i < FILES; i++) {
    const sub = path.join(dir, `d${String(i % 40).padStart(2, '0')}`);
    if (i < 40) await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    writes.push(
      writeFile(
        path.join(sub, `f${String(i).padStart(5, '0')}.txt`),
        `record ${i}\ncontact: person${i}@example.com\n`,
      ),
    );
    if (writes.length >= 256) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  const line = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n';
  await writeFile(path.join(dir, LARGE_FILE), line.repeat(Math.ceil(LARGE_FILE_BYTES / line.length)));
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await rm(dir, { recursive: true, force: true });
  await env?.close();
});

const fileScan = (options: ScanWorkflowInput['options'], subset = false): ScanWorkflowInput => ({
  datasource: {
    id: 'durable',
    type: 'filesystem',
    config: { roots: [dir], ...(subset ? { include: SUBSET_GLOB } : {}) },
  },
  options: { heartbeatTimeoutSeconds: 3, ...options },
});

test('kill -9 during enumeration and again during classification: resumes from checkpoints, nothing lost or doubled', async () => {
  const taskQueue = unique('crash');
  const first = await spawnWorker(taskQueue);
  const workflowId = unique('scan-crash');
  // One long enumeration slice of small batches, so the kill lands mid-slice.
  const handle = await startScan(
    env,
    taskQueue,
    fileScan({ batchSize: 20, sliceBatches: 10_000, sliceSeconds: 600, maxConcurrentBatches: 4 }),
    workflowId,
  );

  // The first checkpoint is heartbeated as soon as the first batch is recorded; the next ones at most once a
  // second. Killing on the first leaves the rest of the enumeration (hundreds of batches) as margin, however
  // fast the store is.
  let checkpoint: EnumerateCheckpoint | undefined;
  await waitFor(
    'an enumeration checkpoint',
    async () => {
      checkpoint = await enumerateCheckpoint(handle);
      return (checkpoint?.nextBatchNo ?? 0) >= 1;
    },
    60_000,
    50,
  );
  await first.kill();
  const killedAt = checkpoint as EnumerateCheckpoint;
  expect(await objectCount(workflowId)).toBeLessThan(FILES + 1);

  // Kill while a classifyBatch attempt is running (not merely scheduled), so it must be retried.
  // A small batch can finish between the describe and the kill; then try again with a new worker.
  let interrupted = false;
  for (let round = 0; round < 5 && !interrupted; round++) {
    const worker = await spawnWorker(taskQueue);
    let runningId: string | undefined;
    await waitFor(
      'classification under way',
      async () => {
        if ((await objectCount(workflowId, 'classified')) < FILES / 5) return false;
        const running = ((await handle.describe()).raw.pendingActivities ?? []).find(
          (a) =>
            a.activityType?.name === 'classifyBatch' &&
            a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
        );
        runningId = running?.activityId ?? undefined;
        return runningId !== undefined;
      },
      120_000,
      50,
    );
    await worker.kill();
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    interrupted = pending.some((a) => a.activityId === runningId);
  }
  expect(interrupted).toBe(true);
  await spawnWorker(taskQueue);

  const result = (await handle.result()) as ScanProgress;
  expect(result).toMatchObject({
    phase: 'completed',
    enumerated: FILES + 1,
    classified: FILES + 1,
    failed: 0,
    skipped: 0,
  });
  expect(await findingCounts(env.store, workflowId)).toEqual({ EMAIL_ADDRESS: FILES });
  const report = await env.store.report(workflowId);
  expect(report.coverage).toEqual({
    enumerated: FILES + 1,
    detailed: FILES + 1,
    classified: FILES + 1,
    failed: 0,
    skipped: 0,
  });

  // Enumeration resumed from the heartbeat checkpoint on the retried attempt, not from batch 0.
  const slices = await completedResults<EnumerateResult>(handle, 'enumerate');
  const resumed = slices.find((s) => s.result.resumedFromBatchNo !== undefined);
  expect(resumed?.attempt).toBeGreaterThanOrEqual(2);
  expect(resumed?.result.resumedFromBatchNo).toBeGreaterThanOrEqual(killedAt.nextBatchNo);
  expect(resumed?.result.firstBatchNo).toBe(0);
  const log = await readFile(processes[1].logFile, 'utf8');
  expect(log).toMatch(/enumeration resumed from checkpoint/);
  // Some batch was retried after the second kill.
  const starts = await activityStarts(handle);
  expect(starts.some((s) => s.type === 'classifyBatch' && s.attempt >= 2)).toBe(true);
});

test('two worker processes on one task queue share a scan with the same results as one', async () => {
  const taskQueue = unique('shared');
  // Four activities at most per worker against eight batches at once: neither worker can take the whole scan.
  const capacity = { ASSAY_MAX_CONCURRENT_ACTIVITIES: '4' };
  await Promise.all([spawnWorker(taskQueue, capacity), spawnWorker(taskQueue, capacity)]);
  const workflowId = unique('scan-shared');
  const handle = await startScan(
    env,
    taskQueue,
    fileScan({ batchSize: 50, maxConcurrentBatches: 8, sliceBatches: 10 }, true),
    workflowId,
  );
  const result = (await handle.result()) as ScanProgress;
  expect(result).toMatchObject({ phase: 'completed', enumerated: SUBSET, classified: SUBSET, failed: 0 });
  expect(await findingCounts(env.store, workflowId)).toEqual({ EMAIL_ADDRESS: SUBSET });
  const identities = new Map<string, number>();
  for (const start of await activityStarts(handle)) {
    if (start.type === 'classifyBatch')
      identities.set(start.identity, (identities.get(start.identity) ?? 0) + 1);
  }
  expect(identities.size).toBe(2);
  for (const count of identities.values()) expect(count).toBeGreaterThanOrEqual(1);
});

test('the Temporal server restarted from its database file mid-scan: the scan completes', async () => {
  const dbFile = path.join(services.tmpRoot, unique('temporal-restart'), 'temporal.db');
  let server = await startTemporalDevServer({ dbFile, uiPort: false });
  const taskQueue = unique('restart');
  let connection: Connection | undefined;
  const worker = await inProcessWorker(env, taskQueue, { address: server.address });
  const running = worker.worker.run();
  try {
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const workflowId = unique('scan-restart');
    await waitFor('namespace ready', async () =>
      client.workflow
        .start(SCAN_WORKFLOW_TYPE, {
          taskQueue,
          workflowId,
          args: [fileScan({ batchSize: 20, maxConcurrentBatches: 2, sliceBatches: 5 }, true)],
        })
        .then(() => true)
        .catch(() => false),
    );
    const handle = client.workflow.getHandle(workflowId);
    await waitFor(
      'some progress',
      async () => (await objectCount(workflowId, 'classified')) >= 200,
      60_000,
      50,
    );
    await server.stop();
    await sleep(1000);
    server = await startTemporalDevServer({ dbFile, uiPort: false, port: server.port });
    let result: ScanProgress | undefined;
    await waitFor(
      'the scan result',
      async () => {
        result = (await handle.result().catch(() => undefined)) as ScanProgress | undefined;
        return result !== undefined;
      },
      180_000,
      500,
    );
    expect(result).toMatchObject({ phase: 'completed', enumerated: SUBSET, classified: SUBSET, failed: 0 });
    expect(await findingCounts(env.store, workflowId)).toEqual({ EMAIL_ADDRESS: SUBSET });
  } finally {
    worker.worker.shutdown();
    await running.catch(() => undefined);
    await worker.close();
    await connection?.close();
    await server.stop();
  }
});

test('the S3 server stopped for 20 s: activities retry, then the scan completes', async () => {
  const s3Dir = path.join(services.tmpRoot, unique('s3-outage'));
  const identity = {
    name: 'admin',
    accessKey: 'outageadmin',
    secretKey: 'outage-secret-key',
    actions: ['Admin', 'Read', 'List', 'Write'],
  };
  let s3Server = await startLocalS3({ dir: s3Dir, identities: [identity] });
  const client = new S3Client({
    endpoint: s3Server.endpoint,
    region: s3Server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: identity.accessKey, secretAccessKey: identity.secretKey },
  });
  const objects = 300;
  process.env.ASSAY_OUTAGE_KEY = identity.accessKey;
  process.env.ASSAY_OUTAGE_SECRET = identity.secretKey;
  const taskQueue = unique('s3-outage');
  const worker = await inProcessWorker(env, taskQueue);
  const running = worker.worker.run();
  try {
    await client.send(new CreateBucketCommand({ Bucket: 'outage' }));
    for (let i = 0; i < objects; i++) {
      await client.send(
        new PutObjectCommand({
          Bucket: 'outage',
          Key: `docs/${String(i).padStart(4, '0')}.txt`,
          Body: `mail: s3user${i}@example.com\n`,
        }),
      );
    }
    const workflowId = unique('scan-s3-outage');
    const handle = await startScan(
      env,
      taskQueue,
      {
        datasource: {
          id: 'outage',
          type: 's3',
          config: {
            bucket: 'outage',
            endpoint: s3Server.endpoint,
            forcePathStyle: true,
            accessKeyIdEnv: 'ASSAY_OUTAGE_KEY',
            secretAccessKeyEnv: 'ASSAY_OUTAGE_SECRET',
            connectTimeoutMs: 1000,
            requestTimeoutMs: 5000,
          },
        },
        options: { batchSize: 10, maxConcurrentBatches: 1, heartbeatTimeoutSeconds: 10 },
      },
      workflowId,
    );
    await waitFor(
      'some progress',
      async () => (await handle.query(progressQuery)).classified >= 30,
      60_000,
      20,
    );
    await s3Server.stop();
    await sleep(20_000);
    const during = await handle.query(progressQuery);
    expect(during.classified).toBeLessThan(objects);
    s3Server = await startLocalS3({ dir: s3Dir, identities: [identity], ports: s3Server.allPorts });
    const result = (await handle.result()) as ScanProgress;
    expect(result).toMatchObject({ phase: 'completed', enumerated: objects, classified: objects, failed: 0 });
    expect(await findingCounts(env.store, workflowId)).toEqual({ EMAIL_ADDRESS: objects });
    const starts = await activityStarts(handle);
    expect(starts.some((s) => s.attempt >= 2)).toBe(true);
  } finally {
    worker.worker.shutdown();
    await running.catch(() => undefined);
    await worker.close();
    client.destroy();
    await s3Server.stop();
  }
});

/**
 * Full scans through a real Temporal dev server, a real worker and real sources, ending with exactly
 * the findings the fixtures hold; failures that must end a scan fast; the replay (determinism) guard.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import {
  ApplicationFailure,
  type MetricCounter,
  type MetricMeter,
  type MetricTags,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import mysql from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import type { ContentPool } from '../../activities/content-pool';
import { SCAN_METRICS } from '../../activities/metrics';
import { PlatformError } from '../../src/core/errors';
import { createLocalClassifier } from '../../src/classification';
import { PROJECT_ROOT } from '../../src/services/tools';
import { progressQuery } from '../../workflows/definitions';
import type {
  BatchCounts,
  EnumerateResult,
  ScanActivities,
  ScanPlan,
  ScanWorkflowInput,
} from '../../workflows/types';
import {
  FINGERPRINT_KEY,
  completedResults,
  findingCounts,
  luhnCard,
  runScan,
  services,
  setupScanTestEnv,
  startScan,
  testLogger,
  unique,
  withWorker,
  workflowBundle,
  type ScanTestEnv,
} from './helpers';

const HISTORY_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');

// Fixture: 3 documents, 4 e-mail addresses and 2 valid card numbers in all, one clean file.
const CARD_A = luhnCard('453201511283036');
const CARD_B = luhnCard('542523343010990');
const DOCUMENTS: Record<string, string> = {
  'contacts.txt': 'Team contacts\nalice.smith@example.com\nbob.jones@example.org\ncarol@example.net\n',
  'billing/payment.txt': `Customer email: dave@example.com\nCredit card number: ${CARD_A}\nBackup card: ${CARD_B}\n`,
  'notes/readme.txt': 'Nothing sensitive here, just notes about the quarterly plan.\n',
};
const EXPECTED_DOCUMENT_FINDINGS = { EMAIL_ADDRESS: 4, CREDIT_CARD_NUMBER: 2 };

// Tables: 5 customers with an email and a card each; a clean table.
const CUSTOMERS = Array.from({ length: 5 }, (_, i) => ({
  id: i + 1,
  email: `customer${i + 1}@example.com`,
  card: luhnCard(`4556737586899${String(i).padStart(2, '0')}`),
}));
const EXPECTED_TABLE_FINDINGS = { EMAIL_ADDRESS: 5, CREDIT_CARD_NUMBER: 5 };

let env: ScanTestEnv;
let docsDir: string;
const taskQueue = unique('full-scan');

beforeAll(async () => {
  env = await setupScanTestEnv();
  await workflowBundle();
  docsDir = await mkdtemp(path.join(os.tmpdir(), 'assay-docs-'));
  for (const [name, text] of Object.entries(DOCUMENTS)) {
    await mkdir(path.dirname(path.join(docsDir, name)), { recursive: true });
    await writeFile(path.join(docsDir, name), text);
  }
});

afterAll(async () => {
  await rm(docsDir, { recursive: true, force: true });
  await env?.close();
});

test('filesystem: a full scan finds exactly the fixture findings; its history replays deterministically', async () => {
  await withWorker(env, taskQueue, async () => {
    const workflowId = unique('scan-fs');
    const handle = await startScan(
      env,
      taskQueue,
      {
        datasource: { id: 'docs', type: 'filesystem', config: { roots: [docsDir] } },
        options: { batchSize: 2, maxConcurrentBatches: 2 },
      },
      workflowId,
    );
    const result = await handle.result();
    expect(result).toMatchObject({
      scanId: workflowId,
      phase: 'completed',
      enumerated: 3,
      classified: 3,
      failed: 0,
      skipped: 0,
    });
    expect(result.findingsByInfoType).toEqual(EXPECTED_DOCUMENT_FINDINGS);
    expect(await findingCounts(env.store, workflowId)).toEqual(EXPECTED_DOCUMENT_FINDINGS);
    const report = await env.store.report(workflowId);
    expect(report.scan.phase).toBe('completed');
    expect(report.coverage).toEqual({ enumerated: 3, detailed: 3, classified: 3, failed: 0, skipped: 0 });
    // The query answers after completion too.
    expect((await handle.query(progressQuery)).phase).toBe('completed');
    // The Temporal UI sees where the scan stands.
    const description = await handle.describe();
    expect(description.searchAttributes).toMatchObject({
      AssayPhase: ['completed'],
      AssayDatasource: ['docs'],
      AssayDatasourceType: ['filesystem'],
    });

    // Determinism guard: this history, and every saved one, replays on the current workflow code.
    const history = await handle.fetchHistory();
    await mkdir(HISTORY_DIR, { recursive: true });
    // Binary protobuf: this tree's protobufjs copies disagree, so proto-JSON (historyToJSON) cannot be used.
    const saved = path.join(HISTORY_DIR, 'scan-filesystem.binpb');
    if (process.env.ASSAY_RECORD_HISTORIES || !(await readFile(saved).catch(() => undefined))) {
      await writeFile(saved, temporal.api.history.v1.History.encode(history).finish());
    }
    const histories = [{ workflowId, history }];
    for (const file of (await readdir(HISTORY_DIR)).filter((f) => f.endsWith('.binpb'))) {
      histories.push({
        workflowId: file,
        history: temporal.api.history.v1.History.decode(await readFile(path.join(HISTORY_DIR, file))),
      });
    }
    const { code } = await workflowBundle();
    for await (const replay of Worker.runReplayHistories({ workflowBundle: { code } }, histories)) {
      expect({ workflowId: replay.workflowId, error: replay.error?.message }).toEqual({
        workflowId: replay.workflowId,
        error: undefined,
      });
    }
  });
});

test('filesystem: details come with the content, in the same write; files without content are described apart', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'assay-details-'));
  try {
    await writeFile(path.join(dir, 'a.txt'), 'mail me: erin@example.com\n');
    await writeFile(path.join(dir, 'empty.txt'), '');
    await writeFile(path.join(dir, 'nothing.json'), '{}');
    const workflowId = unique('scan-details');
    const result = await withWorker(env, taskQueue, () =>
      runScan(
        env,
        taskQueue,
        { datasource: { id: 'details', type: 'filesystem', config: { roots: [dir] } } },
        workflowId,
      ),
    );
    expect(result).toMatchObject({ enumerated: 3, detailed: 3, classified: 3, failed: 0 });
    const { rows } = await env.store.pool.query(
      `SELECT path, size, details FROM assay.objects WHERE scan_id = $1 ORDER BY path`,
      [workflowId],
    );
    const expected = await Promise.all(
      ['a.txt', 'empty.txt', 'nothing.json'].map(async (name) => {
        const stats = await stat(path.join(dir, name));
        return {
          path: path.join(dir, name),
          size: String(stats.size),
          details: {
            attributes: {
              mode: `0${(stats.mode & 0o7777).toString(8)}`,
              uid: stats.uid,
              gid: stats.gid,
              ctime: stats.ctime.toISOString(),
              inode: stats.ino,
            },
          },
        };
      }),
    );
    expect(rows).toEqual(expected);
    expect(await findingCounts(env.store, workflowId)).toEqual({ EMAIL_ADDRESS: 1 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A metric meter that sums counter values per name and label set, as a Prometheus scrape would show them. */
function recordingMeter(): { meter: MetricMeter; totals: Map<string, number> } {
  const totals = new Map<string, number>();
  const counter = (name: string, base: MetricTags): MetricCounter => ({
    name,
    kind: 'counter',
    valueType: 'int',
    add: (value, extra = {}) => {
      const k = metricKey(name, { ...base, ...extra });
      totals.set(k, (totals.get(k) ?? 0) + value);
    },
    withTags: (tags) => counter(name, { ...base, ...tags }),
  });
  const meterWith = (base: MetricTags): MetricMeter => ({
    createCounter: (name) => counter(name, base),
    createHistogram: () => {
      throw new Error('no histograms expected');
    },
    createGauge: () => {
      throw new Error('no gauges expected');
    },
    withTags: (tags) => meterWith({ ...base, ...tags }),
  });
  return { meter: meterWith({}), totals };
}

function metricKey(name: string, tags: MetricTags): string {
  const labels = Object.entries(tags)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${String(v)}`);
  return `${name}{${labels.join(',')}}`;
}

test('scan metrics count what each activity wrote: enumerated, classified, failed by error type, skipped, findings by infoType', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'assay-metrics-'));
  try {
    const content = 'mail me: erin@example.com or frank@example.org\n';
    await writeFile(path.join(dir, 'a.txt'), content);
    await writeFile(path.join(dir, 'gone.txt'), 'soon deleted\n');
    const activities = createActivities({ store: env.store, classifier: env.classifier, logger: testLogger });
    const datasource = { id: 'metered', type: 'filesystem', config: { roots: [dir] } };
    // The SDK's own tags on an activity's meter (a mock environment's values), then ours.
    const labels = (extra: MetricTags = {}) => ({
      activityType: 'unknown',
      namespace: 'test',
      taskQueue: 'test',
      datasource: 'metered',
      datasource_type: 'filesystem',
      ...extra,
    });
    const scan = async (options: { incremental?: boolean }) => {
      const { meter, totals } = recordingMeter();
      const scanId = unique('metrics');
      const environment = () => new MockActivityEnvironment({}, { metricMeter: meter });
      const plan = (await environment().run(activities.prepareScan, {
        scanId,
        datasource,
        options,
        startedAt: new Date().toISOString(),
      })) as ScanPlan;
      await environment().run(activities.enumerate, {
        scanId,
        datasource,
        options,
        firstBatchNo: 0,
        enumeratedBefore: 0,
      });
      return { scanId, plan, options, totals, environment };
    };
    const classify = (run: Awaited<ReturnType<typeof scan>>) =>
      run.environment().run(activities.classifyBatch, {
        scanId: run.scanId,
        batchNo: 0,
        datasource,
        options: run.options,
        rulesetVersion: run.plan.rulesetVersion,
      });

    const first = await scan({});
    await rm(path.join(dir, 'gone.txt'));
    expect(await classify(first)).toMatchObject({ classified: 1, failed: 1 });
    await first.environment().run(activities.finishScan, {
      scanId: first.scanId,
      phase: 'completed' as const,
    });
    expect(Object.fromEntries(first.totals)).toEqual({
      [metricKey(SCAN_METRICS.enumerated, labels())]: 2,
      [metricKey(SCAN_METRICS.classified, labels())]: 1,
      [metricKey(SCAN_METRICS.bytesScanned, labels())]: Buffer.byteLength(content),
      [metricKey(SCAN_METRICS.findings, labels({ info_type: 'EMAIL_ADDRESS' }))]: 2,
      [metricKey(SCAN_METRICS.failed, labels({ error_type: 'OBJECT_NOT_FOUND' }))]: 1,
    });

    // Incremental: the unchanged file is skipped (the vanished one is no longer enumerated).
    const second = await scan({ incremental: true });
    expect(await classify(second)).toMatchObject({ classified: 0, skipped: 1 });
    expect(Object.fromEntries(second.totals)).toEqual({
      [metricKey(SCAN_METRICS.enumerated, labels())]: 1,
      [metricKey(SCAN_METRICS.skipped, labels())]: 1,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** prepareScan, one enumeration slice and batch 0's classifyBatch, in mock activity environments. */
async function scanFirstBatch(
  activities: ScanActivities,
  scanId: string,
  datasource: ScanWorkflowInput['datasource'],
  options: ScanWorkflowInput['options'],
  beforeClassify?: () => Promise<void>,
): Promise<BatchCounts> {
  const plan = (await new MockActivityEnvironment().run(activities.prepareScan, {
    scanId,
    datasource,
    options,
    startedAt: new Date().toISOString(),
  })) as ScanPlan;
  await new MockActivityEnvironment().run(activities.enumerate, {
    scanId,
    datasource,
    options,
    firstBatchNo: 0,
    enumeratedBefore: 0,
  });
  await beforeClassify?.();
  return (await new MockActivityEnvironment().run(activities.classifyBatch, {
    scanId,
    batchNo: 0,
    datasource,
    options,
    rulesetVersion: plan.rulesetVersion,
  })) as BatchCounts;
}

test('classifyBatch writes results in bounded chunks: at most 1,000 objects, or 25,000 findings, per write', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'assay-chunks-'));
  try {
    // 30 objects of 1,000 findings each (the classifier's default cap), and 1,001 objects of one each.
    await mkdir(path.join(dir, 'heavy'));
    await mkdir(path.join(dir, 'light'));
    for (let i = 0; i < 30; i++) {
      const lines = Array.from({ length: 1000 }, (_, j) => `user${i}.${j}@example.com`);
      await writeFile(path.join(dir, 'heavy', `h${i}.txt`), `${lines.join('\n')}\n`);
    }
    for (let i = 0; i < 1001; i++)
      await writeFile(path.join(dir, 'light', `l${i}.txt`), `l${i}@example.com\n`);
    const writes: number[] = [];
    const store = new Proxy(env.store, {
      get(target, property) {
        if (property === 'recordClassifications')
          return (...args: Parameters<typeof target.recordClassifications>) => {
            writes.push(args[1].length);
            return target.recordClassifications(...args);
          };
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const activities = createActivities({ store, classifier: env.classifier, logger: testLogger });
    for (const [folder, objects] of [
      ['heavy', 30],
      ['light', 1001],
    ] as const) {
      writes.length = 0;
      const scanId = unique(`chunks-${folder}`);
      const datasource = {
        id: `chunks-${folder}`,
        type: 'filesystem',
        config: { roots: [path.join(dir, folder)] },
      };
      const counts = await scanFirstBatch(activities, scanId, datasource, { batchSize: 2000 });
      expect(counts).toMatchObject({ classified: objects, failed: 0 });
      expect(counts.findingsByInfoType).toEqual({ EMAIL_ADDRESS: folder === 'heavy' ? 30_000 : 1001 });
      expect(writes.reduce((a, b) => a + b, 0)).toBe(objects);
      // A write also comes every 2 s, so a slow machine writes smaller chunks, never larger ones.
      expect(writes.length).toBeGreaterThanOrEqual(2);
      expect(Math.max(...writes)).toBeLessThanOrEqual(folder === 'heavy' ? 25 : 1000);
      expect(await findingCounts(env.store, scanId)).toEqual({
        EMAIL_ADDRESS: folder === 'heavy' ? 30_000 : 1001,
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('content threads read and classify local files exactly as the main thread does, failures included', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'assay-threads-'));
  try {
    await mkdir(path.join(dir, 'notes'));
    for (let i = 0; i < 70; i++)
      await writeFile(path.join(dir, 'notes', `n${i}.txt`), `note ${i}: write to user${i}@example.com\n`);
    await writeFile(path.join(dir, 'cards.csv'), 'name,card\nAda,4111 1111 1111 1111\n');
    await writeFile(path.join(dir, 'empty.txt'), '');
    await writeFile(path.join(dir, 'broken.zip'), Buffer.from('PK\u0003\u0004 not really a zip archive'));
    const datasource = { id: 'threads', type: 'filesystem', config: { roots: [dir] } };
    const scan = async (pool?: ContentPool) => {
      const activities = createActivities({
        store: env.store,
        classifier: env.classifier,
        logger: testLogger,
        contentPool: pool,
      });
      const scanId = unique(pool ? 'threads' : 'main-thread');
      await writeFile(path.join(dir, 'gone.txt'), 'enumerated, then deleted\n');
      const counts = await scanFirstBatch(activities, scanId, datasource, { batchSize: 100 }, () =>
        rm(path.join(dir, 'gone.txt')),
      );
      const report = await env.store.report(scanId);
      const findings = (await env.store.findings(scanId))
        .map((f) => ({ ...f, objectId: f.objectId.slice(f.objectId.indexOf(':')) }))
        .sort((a, b) => (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : a.start - b.start));
      return {
        counts,
        coverage: report.coverage,
        failures: report.failures.map((f) => [path.relative(dir, f.objectPath), f.errorType]),
        componentFailures: (report.componentFailures ?? []).map((f) => [
          path.relative(dir, f.componentPath),
          f.errorType,
        ]),
        findings,
      };
    };
    const mainThread = await scan();
    const chunks = jest.spyOn(env.contentPool, 'run');
    const threads = await scan(env.contentPool);
    expect(chunks.mock.calls.reduce((n, [chunk]) => n + chunk.objectIds.length, 0)).toBe(74);
    chunks.mockRestore();
    expect(threads).toEqual(mainThread);
    expect(threads.coverage).toEqual({ enumerated: 74, detailed: 73, classified: 72, failed: 2, skipped: 0 });
    expect(threads.failures).toEqual([
      ['broken.zip', 'CONTENT_CORRUPT'],
      ['gone.txt', 'OBJECT_NOT_FOUND'],
    ]);
    expect(threads.counts.findingsByInfoType).toEqual({ EMAIL_ADDRESS: 70, CREDIT_CARD_NUMBER: 1 });
    expect(threads.findings).toHaveLength(71);
    expect(threads.findings.find((f) => f.infoType === 'CREDIT_CARD_NUMBER')).toMatchObject({
      objectId: `:${path.join(dir, 'cards.csv')}`,
      masked: expect.not.stringContaining('4111 1111 1111 1111'),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a content thread's error reaches the activity as the same platform error", async () => {
  const outcomes: unknown[] = [];
  const failure = await env.contentPool
    .run(
      {
        datasource: { id: 'bad', type: 'filesystem', config: { roots: ['relative/path'] } },
        objectIds: ['bad:relative/path/a.txt'],
        header: { taskId: 't', traceId: 't', scanId: 's', datasourceId: 'bad' },
        options: {},
        classifier: env.classifier.threadInit,
        logContext: { scanId: 's' },
      },
      undefined,
      async (outcome) => {
        outcomes.push(outcome);
      },
    )
    .catch((err: unknown) => err);
  expect(outcomes).toEqual([]);
  expect(failure).toBeInstanceOf(PlatformError);
  expect(failure).toMatchObject({
    type: 'CONFIGURATION_INVALID',
    context: { field: 'datasource.config.roots.0' },
    message: expect.stringContaining('must be an absolute path'),
  });
});

test('filesystem: an incremental rescan skips unchanged files and classifies the changed one', async () => {
  const datasource = { id: 'docs-incremental', type: 'filesystem', config: { roots: [docsDir] } };
  await withWorker(env, taskQueue, async () => {
    const first = await runScan(env, taskQueue, { datasource });
    expect(first).toMatchObject({ phase: 'completed', classified: 3 });
    // A different size, so the change shows whatever the file system's mtime resolution.
    await writeFile(
      path.join(docsDir, 'notes/readme.txt'),
      'Now with a contact: erin@example.com and more text\n',
    );
    const second = await runScan(env, taskQueue, { datasource, options: { incremental: true } });
    expect(second).toMatchObject({ phase: 'completed', enumerated: 3, classified: 1, skipped: 2, failed: 0 });
    // The store carries unchanged objects' findings forward: the report describes the whole source.
    expect(second.findingsByInfoType).toEqual({ EMAIL_ADDRESS: 5, CREDIT_CARD_NUMBER: 2 });
  });
  await writeFile(path.join(docsDir, 'notes/readme.txt'), DOCUMENTS['notes/readme.txt']);
});

test('enumeration slices ramp up to twice maxConcurrentBatches by default; an explicit sliceBatches is used as is', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'assay-ramp-'));
  try {
    for (let i = 0; i < 60; i++)
      await writeFile(path.join(dir, `f${String(i).padStart(2, '0')}.txt`), `n ${i}\n`);
    const datasource = { id: 'ramp', type: 'filesystem', config: { roots: [dir] } };
    const slices = async (options: ScanWorkflowInput['options']) => {
      const handle = await startScan(env, taskQueue, { datasource, options });
      expect(await handle.result()).toMatchObject({ phase: 'completed', enumerated: 60, classified: 60 });
      return (await completedResults<EnumerateResult>(handle, 'enumerate')).map(({ result }) => [
        result.firstBatchNo,
        result.lastBatchNo,
      ]);
    };
    await withWorker(env, taskQueue, async () => {
      // 60 batches of one file; the last slice reaches the end of the listing.
      expect(await slices({ batchSize: 1, maxConcurrentBatches: 4 })).toEqual([
        [0, 0],
        [1, 1],
        [2, 3],
        [4, 7],
        [8, 15],
        [16, 23],
        [24, 31],
        [32, 39],
        [40, 47],
        [48, 55],
        [56, 59],
      ]);
      expect(await slices({ batchSize: 1, maxConcurrentBatches: 16 })).toEqual([
        [0, 0],
        [1, 1],
        [2, 3],
        [4, 7],
        [8, 15],
        [16, 31],
        [32, 51],
        [52, 59],
      ]);
      expect(await slices({ batchSize: 1, sliceBatches: 25 })).toEqual([
        [0, 24],
        [25, 49],
        [50, 59],
      ]);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('S3: a full scan of a bucket finds exactly the fixture findings', async () => {
  const s3 = new S3Client({
    endpoint: services.s3.endpoint,
    region: services.s3.region,
    forcePathStyle: true,
    credentials: services.s3.admin,
  });
  const bucket = unique('scan').toLowerCase();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  process.env.ASSAY_TEST_S3_KEY = services.s3.admin.accessKeyId;
  process.env.ASSAY_TEST_S3_SECRET = services.s3.admin.secretAccessKey;
  try {
    for (const [key, text] of Object.entries(DOCUMENTS))
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text }));
    const s3Config = {
      bucket,
      endpoint: services.s3.endpoint,
      region: services.s3.region,
      forcePathStyle: true,
      accessKeyIdEnv: 'ASSAY_TEST_S3_KEY',
      secretAccessKeyEnv: 'ASSAY_TEST_S3_SECRET',
    };
    const result = await withWorker(env, taskQueue, () =>
      runScan(env, taskQueue, { datasource: { id: 'bucket', type: 's3', config: s3Config } }),
    );
    expect(result).toMatchObject({
      phase: 'completed',
      enumerated: 3,
      detailed: 3,
      classified: 3,
      failed: 0,
    });
    expect(await findingCounts(env.store, result.scanId)).toEqual(EXPECTED_DOCUMENT_FINDINGS);

    // A classifyBatch attempt retried after its first attempt described the batch and died: it describes the
    // objects again but counts their details once (the checkpoint says they are counted).
    const activities = createActivities({ store: env.store, classifier: env.classifier, logger: testLogger });
    const retryScanId = unique('s3-retry');
    const datasource = { id: 'bucket', type: 's3', config: s3Config };
    const plan = (await new MockActivityEnvironment().run(activities.prepareScan, {
      scanId: retryScanId,
      datasource,
      startedAt: new Date().toISOString(),
    })) as ScanPlan;
    await new MockActivityEnvironment().run(activities.enumerate, {
      scanId: retryScanId,
      datasource,
      firstBatchNo: 0,
      enumeratedBefore: 0,
    });
    const counted = {
      detailed: 3,
      classified: 0,
      failed: 0,
      skipped: 0,
      bytesScanned: 0,
      findingsByInfoType: {},
    };
    const retried = await new MockActivityEnvironment({
      attempt: 2,
      heartbeatDetails: { index: 0, counts: counted, detailsCounted: true },
    }).run(activities.classifyBatch, {
      scanId: retryScanId,
      batchNo: 0,
      datasource,
      rulesetVersion: plan.rulesetVersion,
    });
    expect(retried).toMatchObject({ detailed: 3, classified: 3, failed: 0 });
    expect((await env.store.report(retryScanId)).coverage).toEqual({
      enumerated: 3,
      detailed: 3,
      classified: 3,
      failed: 0,
      skipped: 0,
    });
  } finally {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const object of listed.Contents ?? [])
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
  }
});

describe('databases', () => {
  const database = `scan_src_${Date.now().toString(36)}`;

  test('PostgreSQL: a full scan finds exactly the fixture findings; a wrong password fails fast, non-retryably', async () => {
    const admin = new PgClient({ ...services.postgres, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const db = new PgClient({ ...services.postgres, database });
    await db.connect();
    process.env.ASSAY_TEST_PG_PASSWORD = services.postgres.password;
    process.env.ASSAY_TEST_PG_WRONG = 'not-the-password';
    try {
      await db.query('CREATE TABLE customers (id int PRIMARY KEY, email text, card text)');
      await db.query('CREATE TABLE plans (id int PRIMARY KEY, title text)');
      for (const c of CUSTOMERS)
        await db.query('INSERT INTO customers VALUES ($1, $2, $3)', [c.id, c.email, c.card]);
      await db.query(`INSERT INTO plans VALUES (1, 'quarterly plan'), (2, 'annual review')`);
      const config = {
        host: services.postgres.host,
        port: services.postgres.port,
        user: services.postgres.user,
        database,
      };

      await withWorker(env, taskQueue, async () => {
        const result = await runScan(env, taskQueue, {
          datasource: {
            id: 'crm',
            type: 'postgres',
            config: { ...config, passwordEnv: 'ASSAY_TEST_PG_PASSWORD' },
          },
        });
        expect(result).toMatchObject({ phase: 'completed', enumerated: 2, classified: 2, failed: 0 });
        expect(await findingCounts(env.store, result.scanId)).toEqual(EXPECTED_TABLE_FINDINGS);
        const report = await env.store.report(result.scanId);
        expect(new Set(report.columns.map((c) => `${c.column}:${c.infoType}`))).toEqual(
          new Set(['email:EMAIL_ADDRESS', 'card:CREDIT_CARD_NUMBER']),
        );

        const started = Date.now();
        const handle = await startScan(env, taskQueue, {
          datasource: {
            id: 'crm',
            type: 'postgres',
            config: { ...config, passwordEnv: 'ASSAY_TEST_PG_WRONG' },
          },
        });
        const failure = await handle.result().then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(failure).toBeInstanceOf(WorkflowFailedError);
        const cause = (failure as WorkflowFailedError).cause;
        expect(cause).toBeInstanceOf(ApplicationFailure);
        expect((cause as ApplicationFailure).type).toBe('RIGHTS_AUTHENTICATION_FAILED');
        expect((cause as ApplicationFailure).nonRetryable).toBe(true);
        expect(Date.now() - started).toBeLessThan(20_000);
        // Failed once, not retried.
        const history = await handle.fetchHistory();
        const attempts = (history.events ?? [])
          .filter((e) => e.activityTaskStartedEventAttributes)
          .map((e) => e.activityTaskStartedEventAttributes?.attempt);
        expect(attempts).toEqual([1]);
      });
    } finally {
      await db.end();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });

  test('MariaDB: a full scan finds exactly the fixture findings', async () => {
    const conn = await mysql.createConnection({ ...services.mariadb });
    process.env.ASSAY_TEST_MARIADB_PASSWORD = services.mariadb.password;
    try {
      await conn.query(`CREATE DATABASE ${database}`);
      await conn.query(
        `CREATE TABLE ${database}.customers (id int PRIMARY KEY, email varchar(100), card varchar(32))`,
      );
      await conn.query(`CREATE TABLE ${database}.plans (id int PRIMARY KEY, title varchar(100))`);
      for (const c of CUSTOMERS)
        await conn.query(`INSERT INTO ${database}.customers VALUES (?, ?, ?)`, [c.id, c.email, c.card]);
      await conn.query(`INSERT INTO ${database}.plans VALUES (1, 'quarterly plan'), (2, 'annual review')`);
      const result = await withWorker(env, taskQueue, () =>
        runScan(env, taskQueue, {
          datasource: {
            id: 'shop',
            type: 'mysql',
            config: {
              host: services.mariadb.host,
              port: services.mariadb.port,
              user: services.mariadb.user,
              passwordEnv: 'ASSAY_TEST_MARIADB_PASSWORD',
              database,
            },
          },
        }),
      );
      expect(result).toMatchObject({ phase: 'completed', enumerated: 2, classified: 2, failed: 0 });
      expect(await findingCounts(env.store, result.scanId)).toEqual(EXPECTED_TABLE_FINDINGS);
    } finally {
      await conn.query(`DROP DATABASE IF EXISTS ${database}`);
      await conn.end();
    }
  });
});

test('options.detectors narrows the ruleset for that scan only; an unknown detector fails it at once', async () => {
  const built: Array<{ close(): Promise<void> }> = [];
  const classifierFor = async (selection: { detectors?: string[] }) => {
    const selected = await createLocalClassifier({ fingerprintKey: FINGERPRINT_KEY, ...selection });
    built.push(selected);
    return selected;
  };
  try {
    await withWorker(
      env,
      taskQueue,
      async () => {
        const datasource = { id: 'docs', type: 'filesystem', config: { roots: [docsDir] } };
        const narrowed = await runScan(env, taskQueue, {
          datasource,
          options: { detectors: ['EMAIL_ADDRESS'] },
        });
        expect(narrowed).toMatchObject({ phase: 'completed', classified: 3 });
        expect(narrowed.findingsByInfoType).toEqual({ EMAIL_ADDRESS: 4 });
        expect(await findingCounts(env.store, narrowed.scanId)).toEqual({ EMAIL_ADDRESS: 4 });
        const narrowedScan = await env.store.getScan(narrowed.scanId);
        expect(narrowedScan?.rulesetVersion).not.toBe(env.classifier.rulesetVersion);

        const handle = await startScan(env, taskQueue, {
          datasource,
          options: { detectors: ['NO_SUCH_DETECTOR'] },
        });
        const failure = (await handle.result().catch((err: unknown) => err)) as WorkflowFailedError;
        expect(failure).toBeInstanceOf(WorkflowFailedError);
        expect((failure.cause as ApplicationFailure).type).toBe('CONFIGURATION_INVALID');
        expect(failure.cause?.message).toMatch(/NO_SUCH_DETECTOR/);
      },
      { classifierFor },
    );
  } finally {
    for (const selected of built) await selected.close();
  }
});

test("a new run under a finished scan's workflow id fails at once and leaves that scan's results alone", async () => {
  const datasource = { id: 'docs', type: 'filesystem', config: { roots: [docsDir] } };
  const workflowId = unique('scan-reused');
  await withWorker(env, taskQueue, async () => {
    expect(await runScan(env, taskQueue, { datasource }, workflowId)).toMatchObject({ phase: 'completed' });
    const again = await startScan(env, taskQueue, { datasource }, workflowId);
    const failure = (await again.result().catch((err: unknown) => err)) as WorkflowFailedError;
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure.cause as ApplicationFailure).type).toBe('CONFIGURATION_INVALID');
    expect(failure.cause?.message).toMatch(
      new RegExp(`scanId: "${workflowId}" already names a scan that ended \\(completed at `),
    );
  });
  expect(await env.store.getScan(workflowId)).toMatchObject({ phase: 'completed' });
  expect(await findingCounts(env.store, workflowId)).toEqual(EXPECTED_DOCUMENT_FINDINGS);
});

test('an invalid config fails the scan at once with CONFIGURATION_INVALID naming the field', async () => {
  await withWorker(env, taskQueue, async () => {
    const handle = await startScan(env, taskQueue, {
      datasource: { id: 'docs', type: 'filesystem', config: { roots: ['relative/path'] } },
    });
    const failure = (await handle.result().catch((err: unknown) => err)) as WorkflowFailedError;
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure.cause as ApplicationFailure).type).toBe('CONFIGURATION_INVALID');
    expect(failure.cause?.message).toMatch(/datasource\.config\.roots/);
    const bad = await startScan(env, taskQueue, {
      datasource: { id: 'docs', type: 'filesystem', config: { roots: [docsDir] } },
      options: { batchSize: 0 },
    });
    const badFailure = (await bad.result().catch((err: unknown) => err)) as WorkflowFailedError;
    expect(badFailure.cause?.message).toMatch(/options\.batchSize/);
  });
});

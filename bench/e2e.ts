/**
 * End-to-end benchmark: N small files (1–8 KB, default 20,000) scanned from local disk and from
 * SeaweedFS S3, (a) through a real Temporal dev server and one worker, (b) through the same activities
 * called directly in-process without Temporal. Prints objects/s and Temporal's overhead.
 *
 *   npx ts-node --transpile-only bench/e2e.ts            # BENCH_FILES=5000 for a quicker run
 *   BENCH_SOURCES=fs|s3 (one source) · BENCH_CLASSIFIER=local (all in-thread) · BENCH_INLINE=1 (files
 *   ≤ 32 KiB classified in-thread, the rest in the pool; the worker's ASSAY_INLINE_CLASSIFY_BYTES)
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { SystemLogger } from '../src/core/logger';
import { openResultsStore } from '../src/results';
import type { ScanProgress } from '../src/scan/types';
import { startLocalPostgres } from '../src/services/postgres';
import { startLocalS3 } from '../src/services/seaweedfs';
import { startTemporalDevServer } from '../src/services/temporal';
import { createWorker } from '../src/worker';
import { SCAN_WORKFLOW_TYPE } from '../workflows/definitions';
import type { EnumerateResult, ScanActivities, ScanWorkflowInput } from '../workflows/types';

const FILES = Number(process.env.BENCH_FILES ?? 20_000);
const OPTIONS = { batchSize: 500, maxConcurrentBatches: 4 };

/** Deterministic pseudo-random numbers, so every run scans the same corpus. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

const WORDS =
  'the quarterly plan review meeting notes budget team project customer order invoice shipping status update'.split(
    ' ',
  );

function document(i: number, random: () => number): string {
  const size = 1024 + Math.floor(random() * 7 * 1024);
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const word =
      random() < 0.01
        ? `user${i}.${Math.floor(random() * 1000)}@example.com`
        : WORDS[Math.floor(random() * WORDS.length)];
    parts.push(word);
    length += word.length + 1;
    if (parts.length % 12 === 0) parts.push('\n');
  }
  return parts.join(' ').slice(0, size);
}

/** The workflow's pipeline without Temporal: enumeration slices, batches dispatched as they appear. */
async function runDirect(
  activities: ScanActivities,
  input: ScanWorkflowInput & { scanId: string },
): Promise<void> {
  const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
    new MockActivityEnvironment({ activityType: fn.name || 'activity' }).run(fn, ...args);
  const plan = await run(activities.prepareScan, {
    scanId: input.scanId,
    datasource: input.datasource,
    options: input.options,
    startedAt: new Date().toISOString(),
  });
  const pending: number[] = [];
  let enumerationDone = false;
  let enumerated = 0;
  let cursor: EnumerateResult['cursor'];
  let nextBatchNo = 0;
  const enumeration = (async () => {
    while (!enumerationDone) {
      const slice = await run(activities.enumerate, {
        scanId: input.scanId,
        datasource: input.datasource,
        options: input.options,
        cursor,
        firstBatchNo: nextBatchNo,
        enumeratedBefore: enumerated,
      });
      cursor = slice.cursor;
      enumerated = slice.enumerated;
      for (let b = slice.firstBatchNo; b <= slice.lastBatchNo; b++) pending.push(b);
      nextBatchNo = slice.lastBatchNo + 1;
      enumerationDone = slice.done;
    }
  })();
  const lanes = Array.from({ length: input.options?.maxConcurrentBatches ?? 4 }, async () => {
    for (;;) {
      const batchNo = pending.shift();
      if (batchNo === undefined) {
        if (enumerationDone) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      await run(activities.classifyBatch, {
        scanId: input.scanId,
        batchNo,
        datasource: input.datasource,
        options: input.options,
        rulesetVersion: plan.rulesetVersion,
      });
    }
  });
  await Promise.all([enumeration, ...lanes]);
  await run(activities.finishScan, { scanId: input.scanId, phase: 'completed' });
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-bench-e2e-'));
  await chmod(tmp, 0o711);
  const stops: Array<() => Promise<void>> = [];
  const logger = new SystemLogger({ level: 'warn', base: { component: 'bench' } });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  try {
    console.log(
      `assay e2e bench: ${FILES} files of 1–8 KB, batchSize ${OPTIONS.batchSize}, ${OPTIONS.maxConcurrentBatches} batches at once, ${os.cpus().length} CPUs`,
    );
    const [pg, temporal, s3] = await Promise.all([
      startLocalPostgres({ dataDir: path.join(tmp, 'pg', 'data'), superuserPassword: 'bench-password' }),
      startTemporalDevServer({ dbFile: path.join(tmp, 'temporal', 'temporal.db'), uiPort: false }),
      startLocalS3({
        dir: path.join(tmp, 's3'),
        identities: [
          {
            name: 'admin',
            accessKey: 'benchadmin',
            secretKey: 'bench-secret',
            actions: ['Admin', 'Read', 'List', 'Write'],
          },
        ],
      }),
    ]);
    stops.push(
      () => pg.stop(),
      () => temporal.stop(),
      () => s3.stop(),
    );
    const store = openResultsStore(pg.url, { logger, poolSize: 12 });
    stops.unshift(() => store.close());
    await store.migrate();
    const { createClassifier, createLocalClassifier } = await import('../src/classification');
    // BENCH_CLASSIFIER=local classifies on the main thread (ASSAY_CLASSIFIER_THREADS=0 in the worker).
    const classifier =
      process.env.BENCH_CLASSIFIER === 'local'
        ? await createLocalClassifier({ fingerprintKey: 'assay-bench-key' })
        : await createClassifier({ fingerprintKey: 'assay-bench-key' });
    stops.unshift(() => classifier.close());
    // BENCH_INLINE=1: small files are classified in-thread, the rest in the pool.
    const inlineClassifier =
      process.env.BENCH_CLASSIFIER === 'local' || process.env.BENCH_INLINE !== '1'
        ? undefined
        : await createLocalClassifier({ fingerprintKey: 'assay-bench-key' });
    if (inlineClassifier) stops.unshift(() => inlineClassifier.close());

    // Corpus on disk and in a bucket.
    const dir = path.join(tmp, 'files');
    const random = prng(42);
    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'benchadmin', secretAccessKey: 'bench-secret' },
    });
    await s3Client.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const docs = Array.from({ length: FILES }, (_, i) => ({
      name: `d${String(i % 100).padStart(3, '0')}/f${String(i).padStart(6, '0')}.txt`,
      text: document(i, random),
    }));
    for (let i = 0; i < 100; i++)
      await mkdir(path.join(dir, `d${String(i).padStart(3, '0')}`), { recursive: true });
    const t = Date.now();
    for (let i = 0; i < docs.length; i += 64) {
      await Promise.all(
        docs.slice(i, i + 64).map(async (doc) => {
          await writeFile(path.join(dir, doc.name), doc.text);
          if (process.env.BENCH_SOURCES !== 'fs') {
            await s3Client.send(new PutObjectCommand({ Bucket: 'bench', Key: doc.name, Body: doc.text }));
          }
        }),
      );
    }
    console.log(
      `corpus written in ${((Date.now() - t) / 1000).toFixed(1)} s (${(docs.reduce((a, d) => a + d.text.length, 0) / 1e6).toFixed(1)} MB)`,
    );
    s3Client.destroy();
    process.env.BENCH_S3_KEY = 'benchadmin';
    process.env.BENCH_S3_SECRET = 'bench-secret';
    const sources: Record<string, ScanWorkflowInput['datasource']> = {
      'local disk': { id: 'bench-fs', type: 'filesystem', config: { roots: [dir] } },
      SeaweedFS: {
        id: 'bench-s3',
        type: 's3',
        config: {
          bucket: 'bench',
          endpoint: s3.endpoint,
          forcePathStyle: true,
          accessKeyIdEnv: 'BENCH_S3_KEY',
          secretAccessKeyEnv: 'BENCH_S3_SECRET',
        },
      },
    };

    const activities = createActivities({ store, classifier, logger, inlineClassifier });
    const assay = await createWorker({
      address: temporal.address,
      taskQueue: 'bench',
      store,
      classifier,
      inlineClassifier,
      logger,
      installRuntime: false,
    });
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });
    const running = assay.worker.run();
    const rows: string[] = [];
    try {
      // BENCH_SOURCES=fs or s3 runs one source only.
      const only = process.env.BENCH_SOURCES;
      for (const [name, datasource] of Object.entries(sources)) {
        if (only && !(only === 'fs' ? datasource.type === 'filesystem' : datasource.type === only)) continue;
        const input: ScanWorkflowInput = { datasource, options: OPTIONS };
        const timeDirect = async () => {
          const started = Date.now();
          await runDirect(activities, { ...input, scanId: `direct-${datasource.id}` });
          return (Date.now() - started) / 1000;
        };
        const timeTemporal = async () => {
          const started = Date.now();
          const progress = (await client.workflow.execute(SCAN_WORKFLOW_TYPE, {
            taskQueue: 'bench',
            workflowId: `temporal-${datasource.id}-${Date.now()}`,
            args: [input],
          })) as ScanProgress;
          return { seconds: (Date.now() - started) / 1000, progress };
        };
        // BENCH_TEMPORAL_FIRST=1 swaps the order, so warm caches and JIT favour neither side.
        let direct: number;
        let temporalRun: { seconds: number; progress: ScanProgress };
        if (process.env.BENCH_TEMPORAL_FIRST) {
          temporalRun = await timeTemporal();
          direct = await timeDirect();
        } else {
          direct = await timeDirect();
          temporalRun = await timeTemporal();
        }
        const viaTemporal = temporalRun.seconds;
        const result = temporalRun.progress;
        const directReport = await store.report(`direct-${datasource.id}`);
        const same =
          directReport.coverage.classified === result.classified &&
          directReport.coverage.enumerated === FILES;
        const overhead = ((viaTemporal - direct) / viaTemporal) * 100;
        rows.push(
          `${name.padEnd(11)} direct ${direct.toFixed(2).padStart(6)} s ${String(Math.round(FILES / direct)).padStart(6)} obj/s | ` +
            `Temporal ${viaTemporal.toFixed(2).padStart(6)} s ${String(Math.round(FILES / viaTemporal)).padStart(6)} obj/s | ` +
            `overhead ${overhead.toFixed(1)}% of wall time | classified ${result.classified}/${FILES}${same ? '' : ' (MISMATCH)'}`,
        );
        console.log(rows[rows.length - 1]);
      }
    } finally {
      assay.worker.shutdown();
      await running;
      await assay.close();
      await connection.close();
    }
  } finally {
    for (const stop of stops) await stop().catch((err) => console.error('stop failed:', err));
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * End-to-end benchmark: N small files (1–8 KB, default 20,000) scanned from local disk and from
 * SeaweedFS S3, (a) through a real Temporal dev server and one worker, (b) through the same activities
 * called directly in-process without Temporal. Prints objects/s, Temporal's overhead and where the CPU went
 * (per object: the worker's main thread, its other threads — classifier pool, fs thread pool, GC, Temporal
 * core —, PostgreSQL, the Temporal server, and for S3 the S3 server). Then each stage alone over the local-disk corpus (BENCH_STAGES=0
 * skips it): enumeration, read + extraction, classification, results-store writes.
 *
 *   npx ts-node --transpile-only bench/e2e.ts            # BENCH_FILES=5000 for a quicker run
 *   BENCH_SOURCES=fs|s3 (one source) · BENCH_CLASSIFIER=local (all in-thread) · BENCH_TEMPORAL_FIRST=1
 *   BENCH_BATCH_SIZE, BENCH_CONCURRENT_BATCHES (default: the scan defaults) · BENCH_ROUNDS (default 4)
 *
 * The machine is shared: CPU per object (from /proc) is steadier than objects/s when other work runs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { FLUSH_OBJECTS, createActivities } from '../activities';
import { ContentPool, defaultContentThreads } from '../activities/content-pool';
import { SCAN_DEFAULTS } from '../activities/options';
import { ErrorHandler } from '../src/core/error-handler';
import { SystemLogger } from '../src/core/logger';
import type { ContentComponent, DiscoveredObject, ObjectMetadata, WorkPacket } from '../src/core/models';
import { FilesystemConnector } from '../src/connectors/filesystem';
import type { ObjectClassification } from '../src/classification/types';
import { openResultsStore, type PostgresResultsStore } from '../src/results';
import type { ScanProgress } from '../src/scan/types';
import { startLocalPostgres } from '../src/services/postgres';
import { startLocalS3 } from '../src/services/seaweedfs';
import { startTemporalDevServer } from '../src/services/temporal';
import { createWorker } from '../src/worker';
import { SCAN_WORKFLOW_TYPE } from '../workflows/definitions';
import type { EnumerateResult, ScanActivities, ScanWorkflowInput } from '../workflows/types';

const FILES = Number(process.env.BENCH_FILES ?? 20_000);
/** Direct and Temporal runs of each source, alternated. */
// Four ABBA rounds: this VM's speed drifts by tens of percent within minutes, so two rounds' overhead swung ±10 %.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const OPTIONS = {
  batchSize: Number(process.env.BENCH_BATCH_SIZE ?? SCAN_DEFAULTS.batchSize),
  maxConcurrentBatches: Number(process.env.BENCH_CONCURRENT_BATCHES ?? SCAN_DEFAULTS.maxConcurrentBatches),
};
const TICK_MS = 1000 / 100; // USER_HZ

/**
 * CPU ms of a process and its direct children (PostgreSQL backends), from /proc: live children's own time, and the
 * time of children that exited (autovacuum workers, say), which the parent accrues once it has reaped them.
 */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(entry) === pid)
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    else if (Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * TICK_MS;
}

/** CPU ms of this process's main thread. */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Milliseconds the main thread spent paused in garbage collection so far. */
let gcPauseMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauseMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

interface CpuSample {
  main: number;
  /** Of `main`, paused in garbage collection. */
  gc: number;
  process: number;
  postgres: number;
  temporal: number;
  /** The S3 server (SeaweedFS). */
  s3: number;
}

/**
 * Measures CPU over a span: the bench process (main thread and the rest), PostgreSQL, the Temporal server, the S3
 * server.
 */
function cpuMeter(pids: { postgres?: number; temporal?: number; s3?: number }): () => CpuSample {
  const sample = (): CpuSample => {
    const usage = process.cpuUsage();
    return {
      main: mainThreadCpuMs(),
      gc: gcPauseMs,
      process: (usage.user + usage.system) / 1000,
      postgres: processCpuMs(pids.postgres),
      temporal: processCpuMs(pids.temporal),
      s3: processCpuMs(pids.s3),
    };
  };
  const start = sample();
  return () => {
    const end = sample();
    return {
      main: end.main - start.main,
      gc: end.gc - start.gc,
      process: end.process - start.process,
      postgres: end.postgres - start.postgres,
      temporal: end.temporal - start.temporal,
      s3: end.s3 - start.s3,
    };
  };
}

/** CPU of every process a run used: the S3 server's only when the source is S3. */
function cpuTotal(cpu: CpuSample, withTemporal: boolean, withS3: boolean): number {
  return cpu.process + cpu.postgres + (withTemporal ? cpu.temporal : 0) + (withS3 ? cpu.s3 : 0);
}

/** "main 120 + threads 80 + PostgreSQL 60 + Temporal 10 = 270 µs CPU/object (2 CPUs: ≤ 7400 obj/s)". */
function describeCpu(cpu: CpuSample, objects: number, withTemporal: boolean, withS3 = false): string {
  const us = (ms: number) => Math.round((ms * 1000) / objects);
  const total = cpuTotal(cpu, withTemporal, withS3);
  const parts = [
    `main thread ${us(cpu.main)} (GC pauses ${us(cpu.gc)})`,
    `other threads ${us(cpu.process - cpu.main)}`,
    `PostgreSQL ${us(cpu.postgres)}`,
    ...(withTemporal ? [`Temporal server ${us(cpu.temporal)}`] : []),
    ...(withS3 ? [`SeaweedFS ${us(cpu.s3)}`] : []),
  ];
  const bound = Math.round((os.cpus().length * objects * 1000) / total);
  return `${parts.join(' + ')} = ${us(total)} µs CPU/object (${os.cpus().length} CPUs fully used: ≤ ${bound} obj/s)`;
}

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

const STAGE_LANES = 32;

/** Each stage of the pipeline alone over the corpus: wall time and CPU per object. */
async function stages(
  datasource: ScanWorkflowInput['datasource'],
  store: PostgresResultsStore,
  classifier: Awaited<ReturnType<typeof import('../src/classification').createClassifier>>,
  logger: SystemLogger,
  pids: { postgres?: number },
): Promise<void> {
  console.log(
    `stages alone (local disk; reads in 8 lanes of 32-file packets as classifyBatch does, the rest ${STAGE_LANES} objects at once):`,
  );
  const packet = (objectIds: string[], extra: Partial<WorkPacket['payload']> = {}): WorkPacket => ({
    header: { taskId: 'stage', traceId: 'stage', scanId: 'stages', datasourceId: datasource.id },
    payload: { objectIds, options: { batchSize: OPTIONS.batchSize }, ...extra },
  });
  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const cpu = cpuMeter(pids);
    const result = await fn();
    const seconds = (performance.now() - started) / 1000;
    const used = cpu();
    console.log(
      `  ${name.padEnd(34)} ${String(Math.round(FILES / seconds)).padStart(7)} obj/s | ` +
        describeCpu(used, FILES, false).replace(/ \(\d+ CPUs .*\)$/, ''),
    );
    return result;
  };
  /** Runs `fn` over `items` with STAGE_LANES at once. */
  const lanes = async <T>(items: T[], fn: (item: T) => Promise<void>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: STAGE_LANES }, async () => {
        while (next < items.length) await fn(items[next++]);
      }),
    );
  };
  const connector = new FilesystemConnector({
    datasourceId: datasource.id,
    logger,
    errorHandler: new ErrorHandler(),
    config: datasource.config as never,
  });
  const batches: DiscoveredObject[][] = [];
  await stage('enumerate (walk + stat)', async () => {
    for await (const batch of connector.enumerateObjects(packet([]))) batches.push([...batch]);
  });
  const ids = batches.flat().map((object) => object.objectId);
  const contents = new Map<string, ContentComponent[]>();
  // As classifyBatch reads: packets of 32 files (read ahead together), 8 lanes.
  const packets: string[][] = [];
  for (let i = 0; i < ids.length; i += 32) packets.push(ids.slice(i, i + 32));
  await stage('read + extract (+ details)', async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < packets.length) {
          for await (const component of connector.getObjectContent(packet(packets[next++]))) {
            const components = contents.get(component.objectId) ?? [];
            components.push(component);
            contents.set(component.objectId, components);
          }
        }
      }),
    );
  });
  await connector.close();
  const results: ObjectClassification[] = [];
  await stage('classify (pool)', () =>
    lanes(ids, async (id) => {
      const components = contents.get(id) ?? [];
      results.push(
        await classifier.classifyComponents(
          id,
          (async function* () {
            yield* components;
          })(),
        ),
      );
    }),
  );
  const details = new Map<string, ObjectMetadata>();
  for (const [id, components] of contents) if (components[0]?.details) details.set(id, components[0].details);
  await store.upsertScan({
    scanId: 'stages',
    datasourceId: datasource.id,
    datasourceType: datasource.type,
    rulesetVersion: classifier.rulesetVersion,
    phase: 'enumerating',
    startedAt: new Date().toISOString(),
  });
  await stage('store: upsertObjects (enumerate)', async () => {
    for (let n = 0; n < batches.length; n++) await store.upsertObjects('stages', batches[n], n);
  });
  await stage('store: objectsInBatch (classify)', async () => {
    for (let n = 0; n < batches.length; n++) await store.objectsInBatch('stages', n);
  });
  // Chunks of results as classifyBatch writes them, 4 writers at once (maxConcurrentBatches).
  const chunks: ObjectClassification[][] = [];
  for (let i = 0; i < results.length; i += FLUSH_OBJECTS) chunks.push(results.slice(i, i + FLUSH_OBJECTS));
  await stage(`store: recordClassifications ×${FLUSH_OBJECTS}`, async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: OPTIONS.maxConcurrentBatches }, async () => {
        while (next < chunks.length) {
          const chunk = chunks[next++];
          await store.recordClassifications(
            'stages',
            chunk,
            classifier.rulesetVersion,
            chunk.flatMap((r) => details.get(r.objectId) ?? []),
          );
        }
      }),
    );
  });
  await store.deleteScan('stages');
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
    // Both paths read and classify local files on the same content threads (ASSAY_CONTENT_THREADS, 0 = main thread).
    const contentThreads = Number(process.env.ASSAY_CONTENT_THREADS ?? defaultContentThreads());
    const contentPool = contentThreads > 0 ? new ContentPool(contentThreads) : undefined;
    if (contentPool) stops.unshift(() => contentPool.close());
    const pids = { postgres: pg.process.pid, temporal: temporal.process.pid, s3: s3.process.pid };

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
    // The corpus's dirty pages are written back now, not by kernel threads during the first measured run.
    execFileSync('sync');
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

    const activities = createActivities({ store, classifier, logger, contentPool });
    const assay = await createWorker({
      contentPool,
      address: temporal.address,
      taskQueue: 'bench',
      store,
      classifier,
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
      // Warm-up (untimed): the whole local corpus through the direct pipeline, so JIT, caches and the store's
      // tables favour neither measured run (after a tenth of it, the first measured run was still ~25 % slower). Its
      // rows stay: deleting them would leave dead tuples for autovacuum to clean during the measured runs.
      await runDirect(activities, {
        scanId: 'warm-up',
        datasource: { id: 'bench-warm-up', type: 'filesystem', config: { roots: [dir] } },
        options: OPTIONS,
      });
      for (const [name, datasource] of Object.entries(sources)) {
        if (only && !(only === 'fs' ? datasource.type === 'filesystem' : datasource.type === only)) continue;
        const input: ScanWorkflowInput = { datasource, options: OPTIONS };
        const timeDirect = async (round: number) => {
          const scanId = `direct-${datasource.id}-${round}`;
          const started = Date.now();
          const cpu = cpuMeter(pids);
          await runDirect(activities, { ...input, scanId });
          const used = cpu();
          const report = await store.report(scanId);
          return {
            seconds: (Date.now() - started) / 1000,
            cpu: used,
            classified: report.coverage.classified,
          };
        };
        const timeTemporal = async (round: number) => {
          const started = Date.now();
          const cpu = cpuMeter(pids);
          const workflowId = `temporal-${datasource.id}-${round}-${Date.now()}`;
          const progress = (await client.workflow.execute(SCAN_WORKFLOW_TYPE, {
            taskQueue: 'bench',
            workflowId,
            args: [input],
          })) as ScanProgress;
          const seconds = (Date.now() - started) / 1000;
          const used = cpu();
          const history = await client.workflow.getHandle(workflowId).fetchHistory();
          return {
            seconds,
            cpu: used,
            classified: progress.classified,
            historyEvents: history.events?.length ?? 0,
          };
        };
        // Rounds in ABBA order (BENCH_TEMPORAL_FIRST=1 starts with Temporal): a machine that speeds up or slows
        // down during the bench, and warm caches and JIT, then favour neither side.
        type Run = Awaited<ReturnType<typeof timeDirect>>;
        const directRuns: Run[] = [];
        const temporalRuns: Array<Awaited<ReturnType<typeof timeTemporal>>> = [];
        for (let round = 0; round < ROUNDS; round++) {
          const temporalFirst = (round % 2 === 1) !== Boolean(process.env.BENCH_TEMPORAL_FIRST);
          if (temporalFirst) temporalRuns.push(await timeTemporal(round));
          directRuns.push(await timeDirect(round));
          if (!temporalFirst) temporalRuns.push(await timeTemporal(round));
          const [d, t] = [directRuns[round], temporalRuns[round]];
          console.log(
            `  round ${round + 1}: direct ${d.seconds.toFixed(2)} s, Temporal ${t.seconds.toFixed(2)} s ` +
              `(overhead ${(((t.seconds - d.seconds) / t.seconds) * 100).toFixed(1)}%)`,
          );
        }
        const sum = (runs: Run[]) => runs.reduce((total, run) => total + run.seconds, 0);
        const cpuSum = (runs: Run[]): CpuSample =>
          runs.reduce(
            (total, run) => ({
              main: total.main + run.cpu.main,
              gc: total.gc + run.cpu.gc,
              process: total.process + run.cpu.process,
              postgres: total.postgres + run.cpu.postgres,
              temporal: total.temporal + run.cpu.temporal,
              s3: total.s3 + run.cpu.s3,
            }),
            { main: 0, gc: 0, process: 0, postgres: 0, temporal: 0, s3: 0 },
          );
        const direct = sum(directRuns) / ROUNDS;
        const viaTemporal = sum(temporalRuns) / ROUNDS;
        const directCpu = cpuSum(directRuns);
        const temporalCpu = cpuSum(temporalRuns);
        const same = [...directRuns, ...temporalRuns].every((run) => run.classified === FILES);
        const overhead = ((viaTemporal - direct) / viaTemporal) * 100;
        // Each round's pair ran minutes apart at most: its median is the figure a drifting machine moves least.
        const roundOverheads = directRuns
          .map(
            (run, round) => ((temporalRuns[round].seconds - run.seconds) / temporalRuns[round].seconds) * 100,
          )
          .sort((a, b) => a - b);
        const middle = Math.floor(roundOverheads.length / 2);
        const medianOverhead =
          roundOverheads.length % 2 === 1
            ? roundOverheads[middle]
            : (roundOverheads[middle - 1] + roundOverheads[middle]) / 2;
        // The same in CPU (every process involved): steadier than wall time on a shared machine.
        const withS3 = datasource.type === 's3';
        const cpuOverhead =
          ((cpuTotal(temporalCpu, true, withS3) - cpuTotal(directCpu, false, withS3)) /
            cpuTotal(temporalCpu, true, withS3)) *
          100;
        rows.push(
          `${name.padEnd(11)} direct ${direct.toFixed(2).padStart(6)} s ${String(Math.round(FILES / direct)).padStart(6)} obj/s | ` +
            `Temporal ${viaTemporal.toFixed(2).padStart(6)} s ${String(Math.round(FILES / viaTemporal)).padStart(6)} obj/s | ` +
            `overhead ${overhead.toFixed(1)}% of wall time (median of rounds ${medianOverhead.toFixed(1)}%), ` +
            `${cpuOverhead.toFixed(1)}% of CPU | ` +
            `classified ${same ? `${FILES}/${FILES} every run` : 'MISMATCH'}${ROUNDS > 1 ? ` (mean of ${ROUNDS} rounds)` : ''}`,
        );
        console.log(rows[rows.length - 1]);
        console.log(`  direct:   ${describeCpu(directCpu, FILES * ROUNDS, false, withS3)}`);
        console.log(`  Temporal: ${describeCpu(temporalCpu, FILES * ROUNDS, true, withS3)}`);
        // Events per scan: what bounds a workflow's history (continue-as-new carries on past Temporal's limits).
        console.log(
          `  history:  ${temporalRuns.map((run) => run.historyEvents).join(', ')} events per ${FILES}-object scan`,
        );
      }
      if (process.env.BENCH_STAGES !== '0' && only !== 's3') {
        await stages(sources['local disk'], store, classifier, logger, pids);
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

/**
 * S3 enumeration throughput against a private SeaweedFS started in a temp dir (stopped and removed
 * at the end). Prints figures only:
 * - the server's ceiling: signed ListObjectsV2 requests whose XML is only counted, not parsed,
 *   1/2/4/8 prefix ranges in parallel (nothing the client does can beat this);
 * - the AWS SDK's paginator, for comparison (its XML deserializer was the old limit);
 * - the connector, one paginator and key-range partitions listed in parallel;
 * then object reads of small (1–8 KB) objects:
 * - the server's ceiling: signed GETs (HEADs) whose bodies are drained, 32 at once;
 * - the AWS SDK's GetObject, 32 at once, for comparison;
 * - the connector as the classify activity drives it: per 500-object packet, getObjectDetails then
 *   getObjectContent in 8 lanes, 4 packets at once (details reading small objects ahead, and HEAD only);
 * with the CPU the bench process and the SeaweedFS process each spent.
 *
 *   npx ts-node --transpile-only bench/connectors-s3.ts
 *   BENCH_S3_KEYS=50000 BENCH_S3_OBJECTS=5000 BENCH_S3_ROUNDS=3 npx ts-node --transpile-only bench/connectors-s3.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../src/connectors/common';
import { S3Connector, s3ConfigSchema } from '../src/connectors/s3';
import { S3HttpClient } from '../src/connectors/s3-http';
import { ErrorHandler } from '../src/core/error-handler';
import { SystemLogger } from '../src/core/logger';
import { startLocalS3 } from '../src/services/seaweedfs';
import { putEmptyObjects } from '../test/connectors/s3-fast-put';

const KEYS = Number(process.env.BENCH_S3_KEYS ?? 50_000);
const OBJECTS = Number(process.env.BENCH_S3_OBJECTS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_S3_ROUNDS ?? 3);
const BUCKET = 'bench-listing';

/**
 * Flat keys spread over 16 first characters (hex), like hashed layouts common in big buckets.
 * Flat, because SeaweedFS lists folder by folder: 4,096 one-key folders list ten times slower.
 */
function key(i: number): string {
  return `${((i * 7919) % 4096).toString(16).padStart(3, '0')}-object-${String(i).padStart(7, '0')}.bin`;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux only; NaN elsewhere). */
async function processCpuSeconds(pid: number | undefined): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Mode {
  label: string;
  /** Runs once; returns how many units (keys, objects) it handled. */
  run: () => Promise<number>;
}

/** Runs every mode ROUNDS times; prints best and median rate and the CPU of the best round. */
async function measure(
  title: string,
  unit: string,
  expected: number,
  serverPid: number | undefined,
  modes: Mode[],
) {
  if (expected === 0) return; // BENCH_S3_KEYS=0 or BENCH_S3_OBJECTS=0 skips a section
  console.log(`\n${title}, best and median of ${ROUNDS} rounds (CPU per ${unit} in the best round):`);
  for (const { label, run } of modes) {
    const rounds: Array<{ rate: number; benchCpu: number; serverCpu: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const cpuBefore = process.cpuUsage();
      const serverBefore = await processCpuSeconds(serverPid);
      const start = performance.now();
      const count = await run();
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      if (count !== expected) throw new Error(`${label}: handled ${count} ${unit}s, expected ${expected}`);
      rounds.push({
        rate: count / seconds,
        benchCpu: (cpu.user + cpu.system) / count,
        serverCpu: (((await processCpuSeconds(serverPid)) - serverBefore) * 1e6) / count,
      });
    }
    rounds.sort((a, b) => b.rate - a.rate);
    const best = rounds[0];
    const median = rounds[Math.floor(rounds.length / 2)];
    const rate = (value: number) => value.toFixed(0).padStart(7);
    const micros = (value: number) => value.toFixed(1).padStart(6);
    console.log(
      `  ${label.padEnd(56)} best ${rate(best.rate)} ${unit}s/s  median ${rate(median.rate)} ${unit}s/s  ` +
        `CPU bench ${micros(best.benchCpu)} µs, server ${micros(best.serverCpu)} µs`,
    );
  }
}

/** Deterministic 1–8 KB text bodies (like bench/e2e.ts's corpus). */
function smallObjectBody(i: number): string {
  const size = 1024 + ((i * 2654435761) % (7 * 1024));
  return `object ${i} `.padEnd(size, 'lorem ipsum dolor sit amet ');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'assay-bench-s3-'));
  const credentials = {
    accessKeyId: `bench${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(12).toString('hex'),
  };
  const s3 = await startLocalS3({
    dir,
    identities: [
      {
        name: 'admin',
        accessKey: credentials.accessKeyId,
        secretKey: credentials.secretAccessKey,
        actions: ['Admin', 'Read', 'List', 'Write'],
      },
    ],
  });
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const uploadStart = performance.now();
    const keys = Array.from({ length: KEYS }, (_, i) => key(i));
    await putEmptyObjects({ ...credentials, endpoint: s3.endpoint, region: s3.region }, BUCKET, keys);
    const uploadSeconds = (performance.now() - uploadStart) / 1000;
    console.log(
      `uploaded ${KEYS} keys in ${uploadSeconds.toFixed(1)} s (${(KEYS / uploadSeconds).toFixed(0)} puts/s)`,
    );

    process.env.ASSAY_BENCH_KEY = credentials.accessKeyId;
    process.env.ASSAY_BENCH_SECRET = credentials.secretAccessKey;
    const logger = new SystemLogger({ level: 'fatal' });
    const errorHandler = new ErrorHandler();
    const connectorRun = async (listPartitions: number): Promise<number> => {
      const config = s3ConfigSchema.parse({
        bucket: BUCKET,
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        accessKeyIdEnv: 'ASSAY_BENCH_KEY',
        secretAccessKeyEnv: 'ASSAY_BENCH_SECRET',
        listPartitions,
        maxConcurrency: Math.max(8, listPartitions),
      });
      const connector = new S3Connector({ datasourceId: 'bench', logger, errorHandler, config });
      let count = 0;
      try {
        const packet = {
          header: { taskId: 't', traceId: 't', scanId: 's', datasourceId: 'bench' },
          payload: { objectIds: [], options: { batchSize: 1000 } },
        };
        for await (const batch of connector.enumerateObjects(packet)) count += batch.length;
      } finally {
        await connector.close();
      }
      return count;
    };
    // Server ceiling: 16 one-hex-digit prefixes spread over `ranges` parallel paginators; each
    // page's keys are counted and its continuation token found, nothing else.
    const rawServer = async (ranges: number): Promise<number> => {
      const http = new S3HttpClient({
        bucket: BUCKET,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: async () => credentials,
        maxSockets: ranges,
        connectTimeoutMs: 5000,
        requestTimeoutMs: 60_000,
      });
      const prefixes = Array.from({ length: 16 }, (_, i) => i.toString(16));
      const groups = Array.from({ length: ranges }, (_, r) => prefixes.filter((_p, i) => i % ranges === r));
      try {
        const counts = await mapWithConcurrency(groups, ranges, async (group) => {
          let count = 0;
          for (const prefix of group) {
            let token: string | undefined;
            do {
              const xml = await http.listObjectsV2Xml({ prefix, continuationToken: token, maxKeys: 1000 });
              for (let at = xml.indexOf('<Contents>'); at >= 0; at = xml.indexOf('<Contents>', at + 10))
                count++;
              token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
            } while (token);
          }
          return count;
        });
        return counts.reduce((a, b) => a + b, 0);
      } finally {
        http.destroy();
      }
    };
    const sdkPaginator = async (): Promise<number> => {
      let count = 0;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token, MaxKeys: 1000 }),
        );
        count += page.Contents?.length ?? 0;
        token = page.NextContinuationToken;
      } while (token);
      return count;
    };

    const modes: Array<[string, () => Promise<number>]> = [
      ['server ceiling: raw requests, no parsing, 1 range', () => rawServer(1)],
      ['server ceiling: raw requests, no parsing, 2 ranges', () => rawServer(2)],
      ['server ceiling: raw requests, no parsing, 4 ranges', () => rawServer(4)],
      ['server ceiling: raw requests, no parsing, 8 ranges', () => rawServer(8)],
      ['AWS SDK paginator (no connector)', sdkPaginator],
      ['connector, one paginator (listPartitions 1)', () => connectorRun(1)],
      ['connector, 4 partitions', () => connectorRun(4)],
      ['connector, 8 partitions (default)', () => connectorRun(8)],
      ['connector, 16 partitions', () => connectorRun(16)],
    ];
    const serverPid = s3.process.pid;
    await measure(
      `enumeration of ${KEYS} keys`,
      'key',
      KEYS,
      serverPid,
      modes.map(([label, run]) => ({ label, run })),
    );

    // Object reads.
    const OBJECT_BUCKET = 'bench-objects';
    await client.send(new CreateBucketCommand({ Bucket: OBJECT_BUCKET }));
    const objectKeys = Array.from(
      { length: OBJECTS },
      (_, i) => `d${String(i % 100).padStart(3, '0')}/f${String(i).padStart(6, '0')}.txt`,
    );
    await mapWithConcurrency(objectKeys, 32, (objectKey, i) =>
      client.send(new PutObjectCommand({ Bucket: OBJECT_BUCKET, Key: objectKey, Body: smallObjectBody(i) })),
    );
    const rawObjects = async (method: 'GET' | 'HEAD', range?: string): Promise<number> => {
      const http = new S3HttpClient({
        bucket: OBJECT_BUCKET,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: async () => credentials,
        maxSockets: 32,
        connectTimeoutMs: 5000,
        requestTimeoutMs: 60_000,
      });
      try {
        await mapWithConcurrency(objectKeys, 32, async (objectKey) => {
          if (method === 'HEAD') return http.headObject(objectKey);
          const { body } = await http.getObject(objectKey, undefined, range);
          for await (const chunk of body) void chunk;
        });
        return objectKeys.length;
      } finally {
        http.destroy();
      }
    };
    const sdkGets = async (): Promise<number> => {
      await mapWithConcurrency(objectKeys, 32, async (objectKey) => {
        const output = await client.send(new GetObjectCommand({ Bucket: OBJECT_BUCKET, Key: objectKey }));
        await output.Body?.transformToByteArray();
      });
      return objectKeys.length;
    };
    const connectorReads = async (detailsReadAheadBytes: number): Promise<number> => {
      const packets: string[][] = [];
      for (let i = 0; i < objectKeys.length; i += 500)
        packets.push(objectKeys.slice(i, i + 500).map((objectKey) => `bench:${objectKey}`));
      let read = 0;
      await mapWithConcurrency(packets, 4, async (objectIds) => {
        const connector = new S3Connector({
          datasourceId: 'bench',
          logger,
          errorHandler,
          config: s3ConfigSchema.parse({
            bucket: OBJECT_BUCKET,
            endpoint: s3.endpoint,
            region: s3.region,
            forcePathStyle: true,
            accessKeyIdEnv: 'ASSAY_BENCH_KEY',
            secretAccessKeyEnv: 'ASSAY_BENCH_SECRET',
            detailsReadAheadBytes,
          }),
        });
        const packet = (ids: string[]) => ({
          header: { taskId: 't', traceId: 't', scanId: 's', datasourceId: 'bench' },
          payload: { objectIds: ids, options: {} },
        });
        try {
          const details = await connector.getObjectDetails(packet(objectIds));
          if (details.some((detail) => detail.error)) throw new Error('details failed');
          const lanes: string[][] = [];
          for (let i = 0; i < objectIds.length; i += 32) lanes.push(objectIds.slice(i, i + 32));
          await mapWithConcurrency(lanes, 8, async (ids) => {
            const seen = new Set<string>();
            for await (const component of connector.getObjectContent(packet(ids))) {
              if (component.kind === 'error') throw new Error(component.error?.message);
              seen.add(component.objectId);
            }
            read += seen.size;
          });
        } finally {
          await connector.close();
        }
      });
      return read;
    };
    await measure(`reads of ${OBJECTS} objects of 1–8 KB`, 'object', OBJECTS, serverPid, [
      { label: 'server ceiling: raw GETs, bodies drained, 32 at once', run: () => rawObjects('GET') },
      { label: 'server: raw HEADs, 32 at once', run: () => rawObjects('HEAD') },
      {
        label: 'server: raw ranged GETs (bytes=0-65535), 32 at once',
        run: () => rawObjects('GET', 'bytes=0-65535'),
      },
      { label: 'AWS SDK GetObject, 32 at once (no connector)', run: sdkGets },
      {
        label: 'connector: details (read ahead) + content, as activities',
        run: () => connectorReads(64 * 1024),
      },
      { label: 'connector: details by HEAD + content GET', run: () => connectorReads(0) },
    ]);
    console.log(
      `\nmachine: ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    client.destroy();
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

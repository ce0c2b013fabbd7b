/**
 * S3 enumeration throughput: one paginator vs key-range partitions listed in parallel, against a
 * private SeaweedFS started in a temp dir (stopped and removed at the end). Prints figures only.
 *
 *   npx ts-node --transpile-only bench/connectors-s3.ts
 *   BENCH_S3_KEYS=50000 BENCH_S3_ROUNDS=3 npx ts-node --transpile-only bench/connectors-s3.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3Connector, s3ConfigSchema } from '../src/connectors/s3';
import { ErrorHandler } from '../src/core/error-handler';
import { SystemLogger } from '../src/core/logger';
import { startLocalS3 } from '../src/services/seaweedfs';
import { putEmptyObjects } from '../test/connectors/s3-fast-put';

const KEYS = Number(process.env.BENCH_S3_KEYS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_S3_ROUNDS ?? 3);
const BUCKET = 'bench-listing';

/**
 * Flat keys spread over 16 first characters (hex), like hashed layouts common in big buckets.
 * Flat, because SeaweedFS lists folder by folder: 4,096 one-key folders list ten times slower.
 */
function key(i: number): string {
  return `${((i * 7919) % 4096).toString(16).padStart(3, '0')}-object-${String(i).padStart(7, '0')}.bin`;
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
    const rawPaginator = async (): Promise<number> => {
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
      ['raw SDK paginator (no connector)', rawPaginator],
      ['connector, one paginator (listPartitions 1)', () => connectorRun(1)],
      ['connector, 4 partitions', () => connectorRun(4)],
      ['connector, 8 partitions (default)', () => connectorRun(8)],
      ['connector, 16 partitions', () => connectorRun(16)],
    ];
    console.log(`\nenumeration of ${KEYS} keys, best and median of ${ROUNDS} rounds:`);
    for (const [label, fn] of modes) {
      const rates: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const start = performance.now();
        const count = await fn();
        const seconds = (performance.now() - start) / 1000;
        if (count !== KEYS) throw new Error(`${label}: listed ${count} keys, expected ${KEYS}`);
        rates.push(count / seconds);
      }
      rates.sort((a, b) => b - a);
      const best = rates[0].toFixed(0).padStart(7);
      const median = rates[Math.floor(rates.length / 2)].toFixed(0).padStart(7);
      console.log(`  ${label.padEnd(46)} best ${best} keys/s   median ${median} keys/s`);
    }
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

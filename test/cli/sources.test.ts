/**
 * `assay scan start` on every source kind the CLI parses: s3:// (the examples uploaded to the harness
 * SeaweedFS, compared with examples/files/EXPECTED.json), postgres:// and mysql:// (examples/sample-db.sql
 * loaded into the harness PostgreSQL and MariaDB). Passwords reach the worker only through
 * PGPASSWORD / MYSQL_PWD; S3 keys through the AWS environment.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import { startWorker, type RunningWorker } from '../../src/cli/integrations';
import { testServices } from '../harness/services-info';
import { createTestDatabase, REPO_ROOT, runAssay } from './helpers';

jest.setTimeout(120_000);

const EXAMPLES = path.join(REPO_ROOT, 'examples', 'files');
const SAMPLE_DB = path.join(REPO_ROOT, 'examples', 'sample-db.sql');
const services = testServices();
const suffix = Date.now().toString(36);
const taskQueue = `assay-cli-sources-${process.pid}`;
const bucket = `assay-cli-examples-${suffix}`;
const sampleDbName = `assay_cli_crm_${suffix}`;

let store: { url: string; drop(): Promise<void> };
let crm: { url: string; drop(): Promise<void> };
let worker: RunningWorker;
let global: string[];
let s3: S3Client;
const savedEnv = { ...process.env };

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])),
  );
  return files.flat();
}

beforeAll(async () => {
  process.env.ASSAY_FROM_SOURCE = '1';
  process.env.LOG_LEVEL ??= 'warn';
  // What the worker's environment carries in production; the scan inputs only name these variables.
  process.env.PGPASSWORD = services.postgres.password;
  process.env.MYSQL_PWD = services.mariadb.password;
  process.env.AWS_ACCESS_KEY_ID = services.s3.admin.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = services.s3.admin.secretAccessKey;

  store = await createTestDatabase('assay_cli_sources');
  crm = await createTestDatabase('assay_cli_crm');
  const sql = await readFile(SAMPLE_DB, 'utf8');
  const pg = new PgClient({ connectionString: crm.url });
  await pg.connect();
  await pg.query(sql);
  await pg.end();

  const my = await mysql.createConnection({ ...services.mariadb, multipleStatements: true });
  await my.query(`CREATE DATABASE \`${sampleDbName}\``);
  await my.query(`USE \`${sampleDbName}\`; ${sql}`);
  await my.end();

  s3 = new S3Client({
    endpoint: services.s3.endpoint,
    region: services.s3.region,
    forcePathStyle: true,
    credentials: services.s3.admin,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const file of await walk(EXAMPLES)) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `files/${path.relative(EXAMPLES, file)}`,
        Body: await readFile(file),
      }),
    );
  }

  global = ['--address', services.temporal.address, '--task-queue', taskQueue, '--database-url', store.url];
  worker = await startWorker({
    temporalAddress: services.temporal.address,
    taskQueue,
    databaseUrl: store.url,
  });
});

afterAll(async () => {
  await worker?.shutdown();
  if (s3) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const object of listed.Contents ?? [])
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    s3.destroy();
  }
  const my = await mysql.createConnection({ ...services.mariadb });
  await my.query(`DROP DATABASE IF EXISTS \`${sampleDbName}\``);
  await my.end();
  await crm?.drop();
  await store?.drop();
  for (const name of ['PGPASSWORD', 'MYSQL_PWD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    if (savedEnv[name] === undefined) delete process.env[name];
    else process.env[name] = savedEnv[name];
  }
});

test('s3://bucket/prefix finds what EXPECTED.json lists', async () => {
  const expected = JSON.parse(await readFile(path.join(EXAMPLES, 'EXPECTED.json'), 'utf8'));
  const result = await runAssay([
    ...global,
    'scan',
    'start',
    `s3://${bucket}/files/`,
    '--s3-endpoint',
    services.s3.endpoint,
    '--s3-region',
    services.s3.region,
    '--wait',
    '--json',
  ]);
  expect(result.stderr).toBe('');
  const json = JSON.parse(result.stdout);
  expect({
    phase: json.phase,
    datasourceId: json.datasourceId,
    objects: json.enumerated,
    failed: json.failed,
    findingsByInfoType: json.findingsByInfoType,
  }).toEqual({
    phase: 'completed',
    datasourceId: bucket,
    objects: expected.objects,
    failed: 0,
    findingsByInfoType: expected.findingsByInfoType,
  });
  expect(result.code).toBe(0);
});

let CRM_EXPECTED: { objects: number; columns: Record<string, number> };
beforeAll(async () => {
  CRM_EXPECTED = JSON.parse(
    await readFile(path.join(REPO_ROOT, 'examples', 'sample-db.EXPECTED.json'), 'utf8'),
  );
});

/** Scans a sample-database URI with full sampling and checks every column result against the fixture. */
async function expectSampleDatabaseScan(uri: string): Promise<void> {
  const result = await runAssay([...global, 'scan', 'start', uri, '--sampling', 'full', '--wait', '--json']);
  expect(result.stderr).toBe('');
  const json = JSON.parse(result.stdout);
  const report = JSON.parse((await runAssay([...global, 'scan', 'results', json.scanId, '--json'])).stdout);
  const columns = Object.fromEntries(
    report.columns.map((c: { column: string; infoType: string; matchedRows: number }) => [
      `${c.column}:${c.infoType}`,
      c.matchedRows,
    ]),
  );
  expect(result.code).toBe(0);
  expect({ phase: json.phase, objects: json.enumerated, failed: json.failed, columns }).toEqual({
    phase: 'completed',
    objects: CRM_EXPECTED.objects,
    failed: 0,
    columns: CRM_EXPECTED.columns,
  });
}

test('postgres:// scans the sample CRM database column by column', async () => {
  const pg = services.postgres;
  const crmName = new URL(crm.url).pathname.slice(1);
  await expectSampleDatabaseScan(`postgres://${pg.user}@${pg.host}:${pg.port}/${crmName}`);
});

test('mysql:// scans the same sample database in MariaDB', async () => {
  const my = services.mariadb;
  await expectSampleDatabaseScan(`mysql://${my.user}@${my.host}:${my.port}/${sampleDbName}`);
});

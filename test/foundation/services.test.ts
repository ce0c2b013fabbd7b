import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import mysql from 'mysql2/promise';
import { Client as PgClient } from 'pg';
import { testServices } from '../harness/services-info';

const services = testServices();

describe('real services started by the test harness', () => {
  test('Temporal dev server runs a workflow that calls an activity on a real worker', async () => {
    const nativeConnection = await NativeConnection.connect({ address: services.temporal.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: 'smoke',
      workflowsPath: require.resolve('../harness/smoke-workflow'),
      activities: { greet: async (name: string) => `hello, ${name}` },
    });
    const connection = await Connection.connect({ address: services.temporal.address });
    try {
      const client = new Client({ connection });
      const result = await worker.runUntil(
        client.workflow.execute('smokeWorkflow', {
          taskQueue: 'smoke',
          workflowId: `smoke-${Date.now()}`,
          args: ['assay'],
        }),
      );
      expect(result).toBe('hello, assay');
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  });

  test('PostgreSQL answers a query', async () => {
    const client = new PgClient({ ...services.postgres, database: 'postgres' });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT 40 + 2 AS answer');
      expect(rows).toEqual([{ answer: 42 }]);
    } finally {
      await client.end();
    }
  });

  test('MariaDB answers a query', async () => {
    const conn = await mysql.createConnection({ ...services.mariadb });
    try {
      const [rows] = await conn.query('SELECT 40 + 2 AS answer, VERSION() AS version');
      expect((rows as Array<{ answer: number; version: string }>)[0].answer).toBe(42);
      expect((rows as Array<{ version: string }>)[0].version).toMatch(/MariaDB/);
    } finally {
      await conn.end();
    }
  });

  test('the S3 server stores and returns an object', async () => {
    const s3 = new S3Client({
      endpoint: services.s3.endpoint,
      region: services.s3.region,
      forcePathStyle: true,
      credentials: services.s3.admin,
    });
    const bucket = `smoke-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: 'hello s3' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello s3');
    s3.destroy();
  });
});

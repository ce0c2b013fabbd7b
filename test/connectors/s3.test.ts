import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collect, packetFactory } from './helpers';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ErrorHandler } from '../../src/core/error-handler';
import { ErrorType, PlatformError } from '../../src/core/errors';
import { SystemLogger } from '../../src/core/logger';
import type { ContentComponent, DiscoveredBatch, EnumerationCursor } from '../../src/core/models';
import { compareCodePoints } from '../../src/connectors/common';
import { s3Connector, S3Connector, type S3Config } from '../../src/connectors/s3';
import { testServices } from '../harness/services-info';
import { putEmptyObjects } from './s3-fast-put';

const services = testServices();
const logger = new SystemLogger({ level: 'fatal' });
const errorHandler = new ErrorHandler();
const run = randomBytes(4).toString('hex');
const bigBucket = `assay-s3-big-${run}`;
const smallBucket = `assay-s3-small-${run}`;
const BIG_PREFIX = 'data/';
const BIG_COUNT = 10_050;

// Credentials reach the connector by environment variable name only, as in production.
const ENV = {
  adminKey: `ASSAY_TEST_S3_ADMIN_KEY_${run}`,
  adminSecret: `ASSAY_TEST_S3_ADMIN_SECRET_${run}`,
  limitedKey: `ASSAY_TEST_S3_LIMITED_KEY_${run}`,
  limitedSecret: `ASSAY_TEST_S3_LIMITED_SECRET_${run}`,
  wrongSecret: `ASSAY_TEST_S3_WRONG_SECRET_${run}`,
};

const admin = new S3Client({
  // Fewer checksums to compute: uploading 10,000 objects is the slow part of this file.
  requestChecksumCalculation: 'WHEN_REQUIRED',
  endpoint: services.s3.endpoint,
  region: services.s3.region,
  forcePathStyle: true,
  credentials: services.s3.admin,
});

function bigKey(i: number): string {
  // First character after the prefix varies (0-9a-z), so partitioned listing has ranges to split.
  return `${BIG_PREFIX}${(i % 36).toString(36)}/item-${String(i).padStart(6, '0')}.txt`;
}

function connector(
  overrides: Partial<S3Config> = {},
  identity: 'admin' | 'limited' | 'wrong' = 'admin',
): S3Connector {
  const keys = {
    admin: { accessKeyIdEnv: ENV.adminKey, secretAccessKeyEnv: ENV.adminSecret },
    limited: { accessKeyIdEnv: ENV.limitedKey, secretAccessKeyEnv: ENV.limitedSecret },
    wrong: { accessKeyIdEnv: ENV.adminKey, secretAccessKeyEnv: ENV.wrongSecret },
  }[identity];
  const config = s3Connector.configSchema.parse({
    bucket: smallBucket,
    region: services.s3.region,
    endpoint: services.s3.endpoint,
    forcePathStyle: true,
    ...keys,
    ...overrides,
  });
  return new S3Connector({ datasourceId: 'ds-s3', logger, errorHandler, config }, { tempDir });
}

const packet = packetFactory('ds-s3');

async function caught(promise: Promise<unknown>): Promise<PlatformError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(PlatformError);
    return err as PlatformError;
  }
  throw new Error('expected a rejection');
}

/**
 * `weed mini` opens the S3 port before its gateway is wired to the filer: right after start-up
 * (first test file of a run) connections can still be refused for a few seconds.
 */
async function waitUntilS3Answers(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await admin.send(new ListBucketsCommand({}));
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function emptyBucket(bucket: string): Promise<void> {
  // Keys with control characters cannot travel in DeleteObjects' XML: deleted one by one.
  if (bucket === smallBucket)
    for (const key of ODD_KEYS) await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  for (let rounds = 0; ; rounds++) {
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key as string }));
    if (keys.length === 0) break;
    if (rounds > 20) throw new Error(`cannot empty ${bucket}: ${keys.length} keys remain`);
    await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
}

const SMALL_OBJECTS: Record<string, string> = {
  'docs/a.txt': 'alpha file\nline two\n',
  'docs/b.txt': 'bravo file\n',
  'docs/c.txt': 'charlie file\n',
  'docs/ünï cödé.txt': 'unicode name\n',
};
/** Keys that need XML escaping, URL encoding or both; listed with `encoding-type=url`. */
const ODD_KEYS = [
  'odd/a&b.txt',
  'odd/<tag>&amp;.txt',
  `odd/quote"apos'.txt`,
  'odd/space and+plus.txt',
  'odd/percent%20%.txt',
  'odd/ünï cödé 😀.txt',
  'odd/ctl\u0001\u001f.txt',
  'odd/tab\t cr\r lf\n.txt',
  'odd/semi;colon=eq?q#h.txt',
];
const LARGE_KEY = 'blobs/large.txt';
const LARGE_SIZE = 8 * 1024 * 1024;

let tempDir: string;

beforeAll(async () => {
  process.env[ENV.adminKey] = services.s3.admin.accessKeyId;
  process.env[ENV.adminSecret] = services.s3.admin.secretAccessKey;
  process.env[ENV.limitedKey] = services.s3.limited.accessKeyId;
  process.env[ENV.limitedSecret] = services.s3.limited.secretAccessKey;
  process.env[ENV.wrongSecret] = `${services.s3.admin.secretAccessKey}x`;
  // A private staging dir, so leftover `assay-s3-*` files of this file are seen (and no one else's).
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'assay-s3-test-'));

  await waitUntilS3Answers();
  await admin.send(new CreateBucketCommand({ Bucket: bigBucket }));
  await admin.send(new CreateBucketCommand({ Bucket: smallBucket }));
  const bigKeys = Array.from({ length: BIG_COUNT }, (_, i) => bigKey(i));
  // Keys outside the prefix must not be listed.
  bigKeys.push('other/outside-1.txt', 'other/outside-2.txt', 'dat.txt');
  // Empty objects, hand-signed PUTs: SeaweedFS writes only a filer entry and the SDK's CPU is skipped.
  await putEmptyObjects(
    { ...services.s3.admin, endpoint: services.s3.endpoint, region: services.s3.region },
    bigBucket,
    bigKeys,
  );
  for (const [key, body] of Object.entries(SMALL_OBJECTS)) {
    await admin.send(
      new PutObjectCommand({ Bucket: smallBucket, Key: key, Body: body, ContentType: 'text/plain' }),
    );
  }
  for (const [i, key] of ODD_KEYS.entries()) {
    await admin.send(new PutObjectCommand({ Bucket: smallBucket, Key: key, Body: `odd object #${i}` }));
  }
  await admin.send(
    new PutObjectCommand({ Bucket: smallBucket, Key: LARGE_KEY, Body: Buffer.alloc(LARGE_SIZE, 'a\n') }),
  );
}, 110_000);

afterAll(async () => {
  await Promise.allSettled([emptyBucket(bigBucket), emptyBucket(smallBucket)]);
  admin.destroy();
  await rm(tempDir, { recursive: true, force: true });
  for (const name of Object.values(ENV)) delete process.env[name];
}, 60_000);

async function tempLeftovers(): Promise<string[]> {
  return (await readdir(tempDir)).filter((name) => name.startsWith('assay-'));
}

describe('S3 connector against SeaweedFS', () => {
  // Filled by the first test, reused by the resume tests: listing 10,000 keys is not free.
  const uninterrupted = new Map<number, DiscoveredBatch[]>();

  test('enumerates 10,000+ objects over many pages, partitioned and not, in the same order', async () => {
    const partitioned = connector({ bucket: bigBucket, prefix: BIG_PREFIX });
    const single = connector({ bucket: bigBucket, prefix: BIG_PREFIX, listPartitions: 1 });
    try {
      const batches = await collect(partitioned.enumerateObjects(packet([], { batchSize: 250 })));
      const keys = batches.flat().map((object) => object.objectPath);
      expect(keys).toHaveLength(BIG_COUNT);
      expect(new Set(keys).size).toBe(BIG_COUNT);
      expect(new Set(keys)).toEqual(new Set(Array.from({ length: BIG_COUNT }, (_, i) => bigKey(i))));
      const markers = (batches[0].cursor as { markers: string[] }).markers;
      expect(markers.length).toBe(7); // 8 partitions over the 36 first characters
      for (const batch of batches) {
        expect(batch.length).toBeLessThanOrEqual(250);
        expect(Buffer.byteLength(JSON.stringify(batch.cursor))).toBeLessThan(4096);
      }
      const first = batches[0][0];
      expect(first).toMatchObject({
        objectId: `ds-s3:${first.objectPath}`,
        datasourceId: 'ds-s3',
        objectType: 'file',
        size: 0,
      });
      expect(first.etag).toMatch(/^[0-9a-f]{32}$/);

      const singleBatches = await collect(single.enumerateObjects(packet([], { batchSize: 250 })));
      expect(singleBatches.flat().map((object) => object.objectPath)).toEqual(keys);
      uninterrupted.set(8, batches);
      uninterrupted.set(1, singleBatches);
    } finally {
      await partitioned.close();
      await single.close();
    }
  }, 60_000);

  test.each([
    ['partitioned', 8, [2, 30, 40]],
    ['single paginator', 1, [35]],
  ])(
    'a %s listing resumed from a mid-way cursor equals the uninterrupted one',
    async (_label, listPartitions, stops) => {
      const full = uninterrupted.get(listPartitions as number) as DiscoveredBatch[];
      expect(full.length).toBe(Math.ceil(BIG_COUNT / 250));
      const all = full.flat().map((object) => object.objectId);
      for (const stopAfter of stops as number[]) {
        // A fresh connector (as after a worker crash) continues from the JSON round-tripped cursor.
        const cursor = JSON.parse(JSON.stringify(full[stopAfter - 1].cursor)) as EnumerationCursor;
        const resumedConnector = connector({
          bucket: bigBucket,
          prefix: BIG_PREFIX,
          listPartitions: listPartitions as number,
        });
        try {
          const resumed = await collect(
            resumedConnector.enumerateObjects(packet([], { batchSize: 250 }, cursor)),
          );
          const before = full.slice(0, stopAfter).flat();
          expect([...before, ...resumed.flat()].map((object) => object.objectId)).toEqual(all);
        } finally {
          await resumedConnector.close();
        }
      }
    },
    60_000,
  );

  test('odd keys (entities, &, unicode, spaces, +, %, control characters) list, resume, describe and read', async () => {
    const sorted = [...ODD_KEYS].sort(compareCodePoints);
    for (const listPartitions of [1, 8]) {
      const s3 = connector({ prefix: 'odd/', listPartitions });
      try {
        const batches = await collect(s3.enumerateObjects(packet([], { batchSize: 4 })));
        const listed = batches.flat();
        expect(listed.map((object) => object.objectPath)).toEqual(sorted);
        for (const object of listed) {
          const body = `odd object #${ODD_KEYS.indexOf(object.objectPath)}`;
          expect(object).toEqual({
            objectId: `ds-s3:${object.objectPath}`,
            datasourceId: 'ds-s3',
            objectPath: object.objectPath,
            objectType: 'file',
            size: body.length,
            etag: createHash('md5').update(body).digest('hex'),
            lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          });
        }
        // Resumed after the first batch: the rest, nothing skipped or repeated.
        const cursor = JSON.parse(JSON.stringify(batches[0].cursor)) as EnumerationCursor;
        const resumed = await collect(s3.enumerateObjects(packet([], { batchSize: 4 }, cursor)));
        expect([...batches[0], ...resumed.flat()].map((object) => object.objectPath)).toEqual(sorted);

        // Listing and HEAD agree on size, ETag and last-modified.
        const ids = listed.map((object) => object.objectId);
        const details = await s3.getObjectDetails(packet(ids));
        expect(details.map((d) => d.error)).toEqual(ids.map(() => undefined));
        expect(
          details.map(({ objectPath, size, etag, lastModified }) => ({
            objectPath,
            size,
            etag,
            lastModified,
          })),
        ).toEqual(
          listed.map(({ objectPath, size, etag, lastModified }) => ({
            objectPath,
            size,
            etag,
            lastModified,
          })),
        );
        const components = await collect(s3.getObjectContent(packet(ids)));
        expect(components.map((c) => [c.objectId, c.kind, c.text])).toEqual(
          listed.map((object) => [
            object.objectId,
            'text',
            `odd object #${ODD_KEYS.indexOf(object.objectPath)}`,
          ]),
        );
      } finally {
        await s3.close();
      }
    }
  });

  test('SlowDown and bodiless 503 answers are THROTTLED, after retries', async () => {
    let requests = 0;
    const server = http.createServer((request, response) => {
      requests++;
      response.writeHead(503, { 'content-type': 'application/xml' });
      response.end(
        request.method === 'HEAD'
          ? undefined
          : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const s3 = connector({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    try {
      const listing = await caught(collect(s3.enumerateObjects(packet())));
      expect(listing.type).toBe(ErrorType.THROTTLED);
      expect(listing.message).toContain('Please reduce your request rate.');
      expect(requests).toBe(4); // retryWithBackoff's default attempts
      expect((await caught(s3.getObjectDetails(packet(['ds-s3:docs/a.txt'])))).type).toBe(
        ErrorType.THROTTLED,
      );
      expect((await caught(collect(s3.getObjectContent(packet(['ds-s3:docs/a.txt']))))).type).toBe(
        ErrorType.THROTTLED,
      );
    } finally {
      await s3.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a server that accepts but never answers is NETWORK_TIMEOUT after requestTimeoutMs, retried', async () => {
    let requests = 0;
    const server = http.createServer(() => {
      requests++; // never answered
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const s3 = connector({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      requestTimeoutMs: 200,
    });
    try {
      expect((await caught(collect(s3.enumerateObjects(packet())))).type).toBe(ErrorType.NETWORK_TIMEOUT);
      expect(requests).toBe(4);
    } finally {
      await s3.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('details: HEAD metadata; an object deleted after enumeration is OBJECT_NOT_FOUND for it alone', async () => {
    const key = `docs/vanishing-${run}.txt`;
    await admin.send(
      new PutObjectCommand({ Bucket: smallBucket, Key: key, Body: 'soon gone', ContentType: 'text/plain' }),
    );
    const s3 = connector();
    try {
      const ids = (await collect(s3.enumerateObjects(packet()))).flat().map((object) => object.objectId);
      expect(ids).toContain(`ds-s3:${key}`);
      await admin.send(new DeleteObjectCommand({ Bucket: smallBucket, Key: key }));

      const details = await s3.getObjectDetails(
        packet(['ds-s3:docs/a.txt', `ds-s3:${key}`, 'ds-s3:docs/ünï cödé.txt']),
      );
      expect(details[0]).toMatchObject({
        objectId: 'ds-s3:docs/a.txt',
        objectPath: 'docs/a.txt',
        size: Buffer.byteLength(SMALL_OBJECTS['docs/a.txt']),
        contentType: 'text/plain',
        attributes: { storageClass: 'STANDARD', serverSideEncryption: null },
      });
      expect(details[0].etag).toMatch(/^[0-9a-f]{32}$/);
      expect(details[0].error).toBeUndefined();
      expect(details[1].error?.type).toBe(ErrorType.OBJECT_NOT_FOUND);
      expect(details[2]).toMatchObject({ objectPath: 'docs/ünï cödé.txt', size: 13 });

      const components = await collect(
        s3.getObjectContent(packet(['ds-s3:docs/a.txt', `ds-s3:${key}`, 'ds-s3:docs/b.txt'])),
      );
      const text = (id: string) =>
        components
          .filter((c) => c.objectId === id && c.kind === 'text')
          .map((c) => c.text)
          .join('');
      expect(text('ds-s3:docs/a.txt')).toBe(SMALL_OBJECTS['docs/a.txt']);
      expect(text('ds-s3:docs/b.txt')).toBe(SMALL_OBJECTS['docs/b.txt']);
      const missing = components.filter((c) => c.objectId === `ds-s3:${key}`);
      expect(missing).toEqual([
        {
          objectId: `ds-s3:${key}`,
          componentPath: key,
          kind: 'error',
          error: { type: ErrorType.OBJECT_NOT_FOUND, message: expect.any(String) },
        },
      ]);
      expect(await tempLeftovers()).toEqual([]);
    } finally {
      await s3.close();
      await s3.close(); // idempotent
    }
  });

  test('details read small objects ahead (unless told not to): their content is the version described, even once deleted', async () => {
    const bodies: Record<string, Buffer> = {
      [`readahead-${run}/small.txt`]: Buffer.from('small body\n'),
      [`readahead-${run}/empty.txt`]: Buffer.alloc(0),
      [`readahead-${run}/large.txt`]: Buffer.alloc(100 * 1024, 'x\n'), // over the 64 KiB read-ahead
    };
    const ids = Object.keys(bodies).map((key) => `ds-s3:${key}`);
    const put = () =>
      Promise.all(
        Object.entries(bodies).map(([key, body]) =>
          admin.send(
            new PutObjectCommand({ Bucket: smallBucket, Key: key, Body: body, ContentType: 'text/plain' }),
          ),
        ),
      );
    const remove = () =>
      Promise.all(
        Object.keys(bodies).map((key) =>
          admin.send(new DeleteObjectCommand({ Bucket: smallBucket, Key: key })),
        ),
      );
    for (const [detailsReadAheadBytes, prefetchContent] of [
      [64 * 1024, true],
      [0, true],
      [64 * 1024, false], // e.g. an incremental rescan: most objects will not be read
    ] as const) {
      const readsAhead = detailsReadAheadBytes > 0 && prefetchContent;
      await put();
      const s3 = connector({ detailsReadAheadBytes });
      try {
        const details = await s3.getObjectDetails(packet(ids, { prefetchContent }));
        expect(
          details.map(({ size, etag, contentType, error }) => ({ size, etag, contentType, error })),
        ).toEqual(
          Object.values(bodies).map((body) => ({
            size: body.length,
            etag: createHash('md5').update(body).digest('hex'),
            contentType: 'text/plain',
            error: undefined,
          })),
        );
        await remove();
        const components = await collect(s3.getObjectContent(packet(ids)));
        const outcome = (id: string) =>
          components
            .filter((c) => c.objectId === id)
            .map((c) => (c.kind === 'error' ? c.error?.type : c.text))
            .join('');
        expect(ids.map(outcome)).toEqual([
          readsAhead ? 'small body\n' : ErrorType.OBJECT_NOT_FOUND,
          ErrorType.OBJECT_NOT_FOUND, // empty objects are described by a HEAD (a range of nothing is 416)
          ErrorType.OBJECT_NOT_FOUND,
        ]);
        // Taken once: a second read goes to the server.
        expect((await collect(s3.getObjectContent(packet([ids[0]]))))[0].error?.type).toBe(
          ErrorType.OBJECT_NOT_FOUND,
        );
      } finally {
        await s3.close();
      }
    }
  });

  test('temp files are removed after success, per-object errors, early stop and cancellation', async () => {
    const s3 = connector();
    try {
      // Too large for the limit: an error component, the next object still read.
      const limited = await collect(
        s3.getObjectContent(packet([`ds-s3:${LARGE_KEY}`, 'ds-s3:docs/c.txt'], { maxObjectBytes: 1024 })),
      );
      expect(limited[0]).toMatchObject({ kind: 'error', error: { type: ErrorType.CONTENT_TOO_LARGE } });
      expect(
        limited
          .slice(1)
          .map((c) => c.text)
          .join(''),
      ).toBe(SMALL_OBJECTS['docs/c.txt']);
      expect(await tempLeftovers()).toEqual([]);

      // The consumer stops after the first component.
      for await (const component of s3.getObjectContent(packet([`ds-s3:${LARGE_KEY}`]))) {
        expect(component.kind).toBe('text');
        expect(await tempLeftovers()).toHaveLength(1); // the download really went through a temp file
        break;
      }
      expect(await tempLeftovers()).toEqual([]);

      // Cancelled while the extractor reads: CANCELLED, nothing left behind.
      const controller = new AbortController();
      const seen: ContentComponent[] = [];
      const error = await caught(
        (async () => {
          for await (const component of s3.getObjectContent(
            packet([`ds-s3:${LARGE_KEY}`, 'ds-s3:docs/a.txt'], { abortSignal: controller.signal }),
          )) {
            seen.push(component);
            controller.abort();
          }
        })(),
      );
      expect(error.type).toBe(ErrorType.CANCELLED);
      expect(seen.every((c) => c.objectId === `ds-s3:${LARGE_KEY}`)).toBe(true);
      expect(await tempLeftovers()).toEqual([]);

      // Aborted before the download starts.
      const early = new AbortController();
      early.abort();
      expect(
        (
          await caught(
            collect(s3.getObjectContent(packet(['ds-s3:docs/a.txt'], { abortSignal: early.signal }))),
          )
        ).type,
      ).toBe(ErrorType.CANCELLED);
      expect(await tempLeftovers()).toEqual([]);
    } finally {
      await s3.close();
    }
  });

  test('a wrong secret key is RIGHTS_AUTHENTICATION_FAILED, for listing, details and content', async () => {
    const s3 = connector({}, 'wrong');
    try {
      const listing = await caught(collect(s3.enumerateObjects(packet())));
      expect(listing.type).toBe(ErrorType.RIGHTS_AUTHENTICATION_FAILED);
      expect(listing.message).toMatch(/signature/i);
      expect(listing.context.bucket).toBe(smallBucket);
      expect(JSON.stringify(listing.toJSON())).not.toContain(services.s3.admin.secretAccessKey);
      expect((await caught(s3.getObjectDetails(packet(['ds-s3:docs/a.txt'])))).type).toBe(
        ErrorType.RIGHTS_AUTHENTICATION_FAILED,
      );
      expect((await caught(collect(s3.getObjectContent(packet(['ds-s3:docs/a.txt']))))).type).toBe(
        ErrorType.RIGHTS_AUTHENTICATION_FAILED,
      );
      expect(await tempLeftovers()).toEqual([]);
    } finally {
      await s3.close();
    }
  });

  test('an unknown access key is RIGHTS_AUTHENTICATION_FAILED', async () => {
    process.env[`${ENV.wrongSecret}_KEY`] = 'AKIDOESNOTEXIST';
    const s3 = connector({ accessKeyIdEnv: `${ENV.wrongSecret}_KEY` });
    try {
      expect((await caught(collect(s3.enumerateObjects(packet())))).type).toBe(
        ErrorType.RIGHTS_AUTHENTICATION_FAILED,
      );
    } finally {
      delete process.env[`${ENV.wrongSecret}_KEY`];
      await s3.close();
    }
  });

  test('a missing bucket is CONFIGURATION_INVALID, for listing, details and content', async () => {
    const s3 = connector({ bucket: `assay-missing-${run}` });
    try {
      expect((await caught(collect(s3.enumerateObjects(packet())))).type).toBe(
        ErrorType.CONFIGURATION_INVALID,
      );
      expect((await caught(s3.getObjectDetails(packet(['ds-s3:docs/a.txt'])))).type).toBe(
        ErrorType.CONFIGURATION_INVALID,
      );
      expect((await caught(collect(s3.getObjectContent(packet(['ds-s3:docs/a.txt']))))).type).toBe(
        ErrorType.CONFIGURATION_INVALID,
      );
    } finally {
      await s3.close();
    }
  });

  test('the limited identity on a bucket it may not read gets RIGHTS_ACCESS_DENIED', async () => {
    const s3 = connector({}, 'limited');
    try {
      const listing = await caught(collect(s3.enumerateObjects(packet())));
      expect(listing.type).toBe(ErrorType.RIGHTS_ACCESS_DENIED);
      // Per object for details and content: the batch goes on.
      const details = await s3.getObjectDetails(packet(['ds-s3:docs/a.txt', 'ds-s3:docs/b.txt']));
      expect(details.map((d) => d.error?.type)).toEqual([
        ErrorType.RIGHTS_ACCESS_DENIED,
        ErrorType.RIGHTS_ACCESS_DENIED,
      ]);
      const components = await collect(s3.getObjectContent(packet(['ds-s3:docs/a.txt', 'ds-s3:docs/b.txt'])));
      expect(components.map((c) => [c.objectId, c.kind, c.error?.type])).toEqual([
        ['ds-s3:docs/a.txt', 'error', ErrorType.RIGHTS_ACCESS_DENIED],
        ['ds-s3:docs/b.txt', 'error', ErrorType.RIGHTS_ACCESS_DENIED],
      ]);
      expect(await tempLeftovers()).toEqual([]);
    } finally {
      await s3.close();
    }
  });

  test('an unreachable endpoint is NETWORK_CONNECTION_FAILED after retries', async () => {
    const s3 = connector({ endpoint: 'http://127.0.0.1:9' });
    try {
      expect((await caught(collect(s3.enumerateObjects(packet())))).type).toBe(
        ErrorType.NETWORK_CONNECTION_FAILED,
      );
    } finally {
      await s3.close();
    }
  });

  test('an unset credentials environment variable is CONFIGURATION_INVALID naming the field', async () => {
    const s3 = connector({ secretAccessKeyEnv: `ASSAY_TEST_UNSET_${run}` });
    try {
      const error = await caught(collect(s3.enumerateObjects(packet())));
      expect(error.type).toBe(ErrorType.CONFIGURATION_INVALID);
      expect(error.message).toContain('secretAccessKeyEnv');
    } finally {
      await s3.close();
    }
  });
});

describe('S3 config validation', () => {
  const issues = (config: unknown) => {
    const parsed = s3Connector.configSchema.safeParse(config);
    return parsed.success
      ? []
      : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  test('a valid config gets its defaults', () => {
    expect(s3Connector.type).toBe('s3');
    expect(s3Connector.configSchema.parse({ bucket: 'my-bucket' })).toEqual({
      bucket: 'my-bucket',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
      maxConcurrency: 8,
      listPartitions: 8,
      inMemoryMaxBytes: 1024 * 1024,
      detailsReadAheadBytes: 64 * 1024,
      connectTimeoutMs: 5000,
      requestTimeoutMs: 60000,
    });
  });

  test('bad fields are named', () => {
    expect(issues({ bucket: 'Bad_Bucket' })).toEqual([
      expect.stringMatching(/^bucket: must be a valid S3 bucket name/),
    ]);
    expect(issues({ bucket: 'b-1', endpoint: 'not a url' })).toEqual([
      expect.stringMatching(/^endpoint: must be a URL/),
    ]);
    expect(issues({ bucket: 'b-1', maxConcurrency: 0 })).toEqual([
      expect.stringMatching(/^maxConcurrency: /),
    ]);
    expect(issues({ bucket: 'b-1', secretAccessKey: 'literal' })).toEqual([
      expect.stringMatching(/secretAccessKey/),
    ]);
    expect(issues({ bucket: 'b-1', accessKeyIdEnv: 'K' })).toEqual([
      'secretAccessKeyEnv: accessKeyIdEnv and secretAccessKeyEnv must be given together',
    ]);
    expect(issues({})).toEqual([expect.stringMatching(/^bucket: /)]);
  });

  test('a malformed cursor is CONFIGURATION_INVALID', async () => {
    const s3 = connector();
    try {
      const error = await caught(collect(s3.enumerateObjects(packet([], {}, { partition: 'x' }))));
      expect(error.type).toBe(ErrorType.CONFIGURATION_INVALID);
    } finally {
      await s3.close();
    }
  });
});

/**
 * Helpers the PostgreSQL and MySQL connector tests share: work packets, object ids, collecting
 * async iterables, source-failure capture, config-error text, heap-bounded streaming and polling
 * the server until an abandoned read is gone.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { z } from 'zod';
import { collect, packetFactory } from './helpers';
import { ErrorType, PlatformError } from '../../src/core/errors';
import type {
  DatabaseRow,
  DiscoveredBatch,
  DiscoveredObject,
  WorkPacket,
  WorkPacketOptions,
} from '../../src/core/models';

export { collect, packetFactory } from './helpers';

/** `id(schema, table)`: the objectId of a table of one datasource. */
export function objectIdFactory(datasourceId: string): (schema: string, table: string) => string {
  return (schema, table) => `${datasourceId}:${schema}.${table}`;
}

/** Sorts by UTF-8 bytes, the order enumeration promises. */
export const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

interface Enumerating {
  readonly datasourceId: string;
  enumerateObjects(packet: WorkPacket): AsyncIterable<DiscoveredBatch>;
}

/** Every object one full enumeration yields. */
export async function enumerateAll(
  c: Enumerating,
  options: WorkPacketOptions = {},
): Promise<DiscoveredObject[]> {
  return (await collect(c.enumerateObjects(packetFactory(c.datasourceId)([], options)))).flat();
}

/**
 * Enumerates in batches of 4, then resumes from the cursor after batch 1, 3 and the next-to-last:
 * each time the batches before the cut plus the resumed ones must be the uninterrupted list.
 * Returns the uninterrupted batches.
 */
export async function expectExactResume(c: Enumerating): Promise<DiscoveredBatch[]> {
  const packet = packetFactory(c.datasourceId);
  const all = await collect(c.enumerateObjects(packet([], { batchSize: 4 })));
  const uninterrupted = all.flat().map((o) => o.objectId);
  for (const cut of [1, 3, all.length - 1]) {
    const resumed = (
      await collect(c.enumerateObjects(packet([], { batchSize: 4 }, all[cut - 1].cursor)))
    ).flat();
    expect([
      ...all
        .slice(0, cut)
        .flat()
        .map((o) => o.objectId),
      ...resumed.map((o) => o.objectId),
    ]).toEqual(uninterrupted);
  }
  return all;
}

/** Runs `fn` with environment variable `name` set to `value`, removing it afterwards. */
export async function withEnv<T>(name: string, value: string, fn: () => Promise<T>): Promise<T> {
  process.env[name] = value;
  try {
    return await fn();
  } finally {
    delete process.env[name];
  }
}

/** The PlatformError a full enumeration fails with (fails the test when it succeeds). */
export async function sourceFailure(c: Enumerating): Promise<PlatformError> {
  try {
    await enumerateAll(c);
  } catch (err) {
    expect(err).toBeInstanceOf(PlatformError);
    return err as PlatformError;
  }
  throw new Error('expected a failure');
}

/** A connector that enumerates, is closed twice, and then fails with CANCELLED. */
export async function expectCloseIdempotent(c: Enumerating & { close(): Promise<void> }): Promise<void> {
  expect(await enumerateAll(c)).not.toHaveLength(0);
  await c.close();
  await c.close();
  expect((await sourceFailure(c)).type).toBe(ErrorType.CANCELLED);
}

/** The issues of a config the schema must reject, one `path: message` a line. */
export function configErrors(schema: z.ZodType, config: unknown): string {
  const result = schema.safeParse(config);
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
}

interface Reading {
  readonly datasourceId: string;
  getObjectContent(packet: WorkPacket): AsyncIterable<DatabaseRow>;
}

/** The `id` column of every row read from one table, ascending. */
export async function readIds(
  c: Reading,
  objectId: string,
  options: WorkPacketOptions = {},
): Promise<number[]> {
  const rows = await collect(c.getObjectContent(packetFactory(c.datasourceId)([objectId], options)));
  return rows.map((r) => r.row.id as number).sort((a, b) => a - b);
}

/** Samples one table of 500 rows twice at 10 %: the same ids both times, between 16 and 99 of them. Returns them. */
export async function expectRepeatableSample(
  c: Reading,
  objectId: string,
  options: WorkPacketOptions,
): Promise<number[]> {
  const first = await readIds(c, objectId, options);
  const second = await readIds(c, objectId, options);
  expect(first).toEqual(second);
  expect(first.length).toBeGreaterThan(15);
  expect(first.length).toBeLessThan(100);
  return first;
}

/** Reads every row, summing `row.id`; `peak` is the heap growth sampled (after a GC) every 200,000 rows. */
export async function streamWithHeapPeak(
  rows: AsyncIterable<DatabaseRow>,
): Promise<{ count: number; sum: number; peak: number; seconds: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = 0;
  let count = 0;
  let sum = 0;
  const started = Date.now();
  for await (const { row } of rows) {
    count++;
    sum += row.id as number;
    if (count % 200_000 === 0) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
    }
  }
  return { count, sum, peak, seconds: (Date.now() - started) / 1000 };
}

/** Reads `rows` until `seen` of them arrived, then stops (the consumer breaks out). */
export async function readThenBreak(rows: AsyncIterable<DatabaseRow>, seen: number): Promise<void> {
  let n = 0;
  for await (const _row of rows) {
    if (++n === seen) break;
  }
}

/** Reads rows, aborting `controller` after the fifth; the read is expected to fail. */
export async function readThenAbort(
  rows: AsyncIterable<DatabaseRow>,
  controller: AbortController,
): Promise<void> {
  let seen = 0;
  for await (const _row of rows) {
    if (++seen === 5) controller.abort();
  }
}

/** `count()` once it reaches 0, or its value after up to 5 s (50 polls 100 ms apart). */
export async function countAfterSettling(count: () => Promise<number>): Promise<number> {
  for (let i = 0; ; i++) {
    const n = await count();
    if (n === 0 || i >= 50) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
}

import { NON_RETRYABLE_ERROR_TYPES } from '../../src/core/errors';
import { SCAN_NON_RETRYABLE_ERROR_TYPES } from '../../workflows/retry-policy';
import { unchangedSince, validateScanOptions } from '../../activities';
import { splitByObject } from '../../activities/content';
import type { ContentChunk } from '../../activities/content-pool';
import { MAX_THREAD_CLASSIFIERS, classifierFor } from '../../activities/content-thread';
import { BUILTIN_DETECTORS } from '../../src/classification';
import { EMPTY_CONFIG } from '../../src/classification/config';
import { ConfigurationError } from '../../src/core/errors';
import { createWorker } from '../../src/worker';

describe('scan building blocks', () => {
  test("the workflow's non-retryable list equals the core error table's", () => {
    expect([...SCAN_NON_RETRYABLE_ERROR_TYPES].sort()).toEqual([...NON_RETRYABLE_ERROR_TYPES].sort());
  });

  test('ASSAY_METRICS_ADDRESS must be host:port, or the worker does not start', async () => {
    for (const value of ['9464', 'localhost', 'localhost:99999', ':']) {
      const started = createWorker({ env: { ASSAY_METRICS_ADDRESS: value }, installRuntime: false });
      await expect(started).rejects.toThrow(ConfigurationError);
      await expect(started).rejects.toThrow(
        `ASSAY_METRICS_ADDRESS must be host:port (e.g. 0.0.0.0:9464), got "${value}"`,
      );
    }
  });

  test('scan options are bounded, naming the bad field', () => {
    expect(validateScanOptions({ batchSize: 200, maxConcurrentBatches: 8 })).toEqual({
      batchSize: 200,
      maxConcurrentBatches: 8,
    });
    expect(() => validateScanOptions({ batchSize: 0 })).toThrow(
      /options\.batchSize: batchSize must be at least 1/,
    );
    expect(() => validateScanOptions({ maxConcurrentBatches: 65 })).toThrow(/options\.maxConcurrentBatches/);
    expect(() => validateScanOptions({ batchSise: 10 })).toThrow(/batchSise/);
    expect(() => validateScanOptions({ sampling: { mode: 'limit', rows: -1 } })).toThrow(/options\.sampling/);
  });

  test('incremental comparison: ETag when both have one, else size and mtime', () => {
    const t = '2024-01-01T00:00:00.000Z';
    expect(unchangedSince(undefined, { size: 1 })).toBe(false);
    expect(unchangedSince({ objectId: 'a', etag: 'x', size: 3 }, { etag: 'x', size: 3 })).toBe(true);
    expect(unchangedSince({ objectId: 'a', etag: 'x', size: 3 }, { etag: 'y', size: 3 })).toBe(false);
    expect(
      unchangedSince(
        { objectId: 'a', size: 3, lastModified: t },
        { size: 3, lastModified: '2024-01-01T00:00:00Z' },
      ),
    ).toBe(true);
    expect(unchangedSince({ objectId: 'a', size: 3, lastModified: t }, { size: 4, lastModified: t })).toBe(
      false,
    );
    expect(unchangedSince({ objectId: 'a', size: 3 }, { size: 3 })).toBe(false);
  });

  test('a content thread keeps the classifiers of its most recent selections only', () => {
    const chunkFor = (detector: string) =>
      ({
        classifier: {
          spec: { detectors: [detector], minLikelihood: 'POSSIBLE', config: EMPTY_CONFIG },
          keyHex: '00',
          maxFindings: 10,
        },
      }) as unknown as ContentChunk;
    const detectors = BUILTIN_DETECTORS.slice(0, MAX_THREAD_CLASSIFIERS + 1).map((d) => d.id);
    const first = detectors.map((d) => classifierFor(chunkFor(d)));
    expect(new Set(first).size).toBe(detectors.length);
    // The most recent eight are reused; the first selection was dropped when the ninth came, and is built again.
    expect(classifierFor(chunkFor(detectors[8]))).toBe(first[8]);
    expect(classifierFor(chunkFor(detectors[1]))).toBe(first[1]);
    expect(classifierFor(chunkFor(detectors[0]))).not.toBe(first[0]);
    // Using the second selection kept it; the third was then the least recently used, and the rebuild dropped it.
    expect(classifierFor(chunkFor(detectors[1]))).toBe(first[1]);
    expect(classifierFor(chunkFor(detectors[2]))).not.toBe(first[2]);
  });

  test('content streams are split per object and streamed; an object reappearing is an error', async () => {
    async function* items(ids: string[]) {
      for (const [index, objectId] of ids.entries()) yield { objectId, index };
    }
    const groups: Array<[string, number[]]> = [];
    const consumed: number[] = [];
    for await (const group of splitByObject(items(['a', 'a', 'b', 'c', 'c', 'c']), (item) =>
      consumed.push(item.index),
    )) {
      const seen: number[] = [];
      for await (const item of group.items) {
        seen.push(item.index);
        if (group.objectId === 'c' && seen.length === 1) break; // abandoned early: the rest is skipped
      }
      groups.push([group.objectId, seen]);
    }
    expect(groups).toEqual([
      ['a', [0, 1]],
      ['b', [2]],
      ['c', [3]],
    ]);
    expect(consumed).toEqual([0, 1, 2, 3]); // `see` sees what the consumer took, not what was skipped
    const consume = async () => {
      for await (const group of splitByObject(items(['a', 'b', 'a'])))
        for await (const _item of group.items) void _item;
    };
    await expect(consume()).rejects.toThrow(/out of order/);
  });
});

/** Results-store throughput on an embedded PostgreSQL: npx ts-node --transpile-only bench/results-store.ts [objects=200000] */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectClassification } from '../src/classification/types';
import type { DiscoveredObject } from '../src/core/models';
import { startEmbeddedStore } from '../src/results/embedded';
import { openResultsStore } from '../src/results/postgres-store';

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 200_000);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-bench-results-'));
  await chmod(tmp, 0o711);
  const embedded = await startEmbeddedStore({ dir: path.join(tmp, 'pg') });
  const store = openResultsStore(embedded.url, { poolSize: 5 });
  try {
    await store.migrate();
    const scanId = 'bench';
    await store.upsertScan({
      scanId,
      datasourceId: 'b',
      datasourceType: 'filesystem',
      rulesetVersion: 'r1',
      phase: 'enumerating',
      startedAt: new Date().toISOString(),
    });
    const obj = (i: number): DiscoveredObject => ({
      objectId: `b:dir${i % 500}/f${i}.txt`,
      datasourceId: 'b',
      objectPath: `dir${i % 500}/f${i}.txt`,
      objectType: 'file',
      size: 1000 + i,
      etag: `e${i}`,
      lastModified: '2026-01-01T00:00:00.000Z',
    });
    let t = Date.now();
    const batches: DiscoveredObject[][] = [];
    for (let i = 0; i < total; i += 1000)
      batches.push(Array.from({ length: Math.min(1000, total - i) }, (_, k) => obj(i + k)));
    // 4 batches in flight, like several activities at once.
    let next = 0;
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (next < batches.length) {
          const n = next++;
          await store.upsertObjects(scanId, batches[n], n);
        }
      }),
    );
    const upsertMs = Date.now() - t;
    console.log(
      `upsertObjects: ${total} objects in ${upsertMs} ms = ${Math.round(total / (upsertMs / 1000))} objects/s (1000 per call, 4 concurrent)`,
    );

    const classify = (o: DiscoveredObject, i: number): ObjectClassification => {
      const findings =
        i % 4 === 0
          ? [0, 40, 80].map((start) => ({
              infoType: 'EMAIL_ADDRESS',
              category: 'PII' as const,
              likelihood: 'LIKELY' as const,
              componentPath: o.objectPath,
              start,
              end: start + 15,
              line: 1,
              masked: 'j***@x.org',
              fingerprint: `f${i}-${start}`,
              detectorVersion: 'e@1',
            }))
          : [];
      return {
        objectId: o.objectId,
        findings,
        findingCounts: findings.length ? { EMAIL_ADDRESS: 3 } : {},
        columns: [],
        failures: [],
        bytesScanned: 1000,
      };
    };
    t = Date.now();
    const work = batches.flatMap((b) => {
      const out: DiscoveredObject[][] = [];
      for (let i = 0; i < b.length; i += 100) out.push(b.slice(i, i + 100));
      return out;
    });
    next = 0;
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (next < work.length) {
          const n = next++;
          await store.recordClassifications(
            scanId,
            work[n].map((o, k) => classify(o, n * 100 + k)),
            'r1',
          );
        }
      }),
    );
    const classMs = Date.now() - t;
    console.log(
      `recordClassifications: ${total} objects (25% with 3 findings) in ${classMs} ms = ${Math.round(total / (classMs / 1000))} objects/s (100 per call, 4 concurrent)`,
    );

    t = Date.now();
    const single = batches[0].slice(0, 500);
    for (const [k, o] of single.entries()) await store.recordClassification(scanId, classify(o, k), 'r1');
    const singleMs = Date.now() - t;
    console.log(
      `recordClassification (one object per call, sequential): ${Math.round(single.length / (singleMs / 1000))} objects/s`,
    );

    await store.setScanPhase(scanId, 'completed', new Date().toISOString());
    t = Date.now();
    const versions = await store.previousVersions(
      'b',
      'r1',
      batches[7].map((o) => o.objectId),
    );
    console.log(`previousVersions: ${versions.size} of 1000 ids in ${Date.now() - t} ms`);
    t = Date.now();
    const report = await store.report(scanId);
    console.log(
      `report: ${report.coverage.enumerated} objects, ${report.findingsByInfoType[0]?.count} findings, ${report.hotSpots.length} hot spots in ${Date.now() - t} ms`,
    );
  } finally {
    await store.close();
    await embedded.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

void main();

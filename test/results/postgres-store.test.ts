import type { Client } from 'pg';
import type { Finding, ObjectClassification } from '../../src/classification/types';
import { ErrorType, PlatformError } from '../../src/core/errors';
import type { DiscoveredObject } from '../../src/core/models';
import { MIGRATIONS } from '../../src/results/migrations';
import { openResultsStore, type PostgresResultsStore } from '../../src/results/postgres-store';
import type { ScanRecord } from '../../src/results/types';
import { createTestDatabase, type TestDatabase } from './test-database';

let db: TestDatabase;
let store: PostgresResultsStore;
let sql: Client;

beforeAll(async () => {
  db = await createTestDatabase('assay_results');
  store = openResultsStore(db.url, { poolSize: 4 });
  sql = await db.admin();
  await store.migrate();
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

async function count(table: string, scanId?: string): Promise<number> {
  const { rows } = scanId
    ? await sql.query(`SELECT count(*)::int AS n FROM assay.${table} WHERE scan_id = $1`, [scanId])
    : await sql.query(`SELECT count(*)::int AS n FROM assay.${table}`);
  return rows[0].n;
}

function scan(scanId: string, overrides: Partial<ScanRecord> = {}): ScanRecord {
  return {
    scanId,
    datasourceId: 'docs',
    datasourceType: 'filesystem',
    rulesetVersion: 'r1',
    phase: 'starting',
    startedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function object(path: string, overrides: Partial<DiscoveredObject> = {}): DiscoveredObject {
  return {
    objectId: `docs:${path}`,
    datasourceId: 'docs',
    objectPath: path,
    objectType: 'file',
    size: 100,
    etag: `etag-${path}`,
    lastModified: '2025-12-01T10:00:00.000Z',
    ...overrides,
  };
}

function finding(componentPath: string, start: number, overrides: Partial<Finding> = {}): Finding {
  return {
    infoType: 'EMAIL_ADDRESS',
    category: 'PII',
    likelihood: 'LIKELY',
    componentPath,
    start,
    end: start + 10,
    line: 1,
    masked: 'a***@example.com',
    fingerprint: `fp-${componentPath}-${start}`,
    detectorVersion: 'email@1',
    ...overrides,
  };
}

function classification(
  objectId: string,
  findings: Finding[],
  extra: Partial<ObjectClassification> = {},
): ObjectClassification {
  const findingCounts: Record<string, number> = {};
  for (const f of findings) findingCounts[f.infoType] = (findingCounts[f.infoType] ?? 0) + 1;
  return { objectId, findings, findingCounts, columns: [], failures: [], bytesScanned: 100, ...extra };
}

describe('PostgresResultsStore', () => {
  test('migrate() from several processes at once applies each migration exactly once', async () => {
    const others = [1, 2, 3].map(() => openResultsStore(db.url, { poolSize: 2 }));
    try {
      await Promise.all([store.migrate(), ...others.map((s) => s.migrate()), others[0].migrate()]);
      await store.migrate();
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
    expect(await store.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    const { rows } = await sql.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'assay' ORDER BY table_name`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'column_classifications',
      'component_failures',
      'finding_counts',
      'findings',
      'objects',
      'scans',
      'schema_migrations',
    ]);
  });

  test('every write applied twice leaves exactly one row per natural key', async () => {
    const id = 'twice';
    const objects = [object('a.txt'), object('b.csv'), object('c.txt'), object('d.txt')];
    const a = classification('docs:a.txt', [
      finding('a.txt', 0),
      finding('a.txt', 20),
      finding('a.txt', 0, { infoType: 'PHONE_NUMBER' }),
    ]);
    const b = classification(
      'docs:b.csv',
      [finding('b.csv', 5, { column: 'email', row: 0 }), finding('b.csv', 5, { column: 'email', row: 1 })],
      {
        columns: [
          {
            componentPath: 'b.csv',
            column: 'email',
            infoType: 'EMAIL_ADDRESS',
            category: 'PII',
            matchedRows: 2,
            sampledRows: 2,
            ratio: 1,
            likelihood: 'VERY_LIKELY',
          },
        ],
        failures: [{ componentPath: 'b.csv!/x', type: 'CONTENT_CORRUPT', message: 'bad' }],
      },
    );
    for (let round = 0; round < 2; round++) {
      await store.upsertScan(scan(id));
      await store.setScanPhase(id, 'enumerating');
      await store.upsertObjects(id, objects, 0);
      await store.recordDetails(id, [
        { objectId: 'docs:a.txt', objectPath: 'a.txt', objectType: 'file', contentType: 'text/plain' },
      ]);
      await store.recordClassification(id, a, 'r1');
      await store.recordClassification(id, b, 'r1');
      await store.recordFailure(id, 'docs:c.txt', 'CONTENT_CORRUPT', 'truncated');
      await store.markSkipped(id, ['docs:d.txt']);
    }
    // Duplicates inside one call collapse too.
    await store.upsertObjects(id, [...objects, object('a.txt')], 0);
    await store.recordClassification(id, { ...a, findings: [...a.findings, a.findings[0]] }, 'r1');

    expect(await count('scans', id)).toBe(1);
    expect(await count('objects', id)).toBe(4);
    expect(await count('findings', id)).toBe(5);
    expect(await count('finding_counts', id)).toBe(3); // a: EMAIL, PHONE; b: EMAIL
    expect(await count('column_classifications', id)).toBe(1);
    expect(await count('component_failures', id)).toBe(1);
    const { rows } = await sql.query(
      'SELECT object_id, status, finding_count FROM assay.objects WHERE scan_id = $1 ORDER BY object_id',
      [id],
    );
    expect(rows).toEqual([
      { object_id: 'docs:a.txt', status: 'classified', finding_count: '3' },
      { object_id: 'docs:b.csv', status: 'classified', finding_count: '2' },
      { object_id: 'docs:c.txt', status: 'failed', finding_count: '0' },
      { object_id: 'docs:d.txt', status: 'skipped', finding_count: '0' },
    ]);
    expect((await store.getScan(id))?.phase).toBe('enumerating');
  });

  test('concurrent classification of one object (a retry racing the original) never duplicates', async () => {
    const id = 'race';
    await store.upsertScan(scan(id));
    await store.upsertObjects(id, [object('r.txt')], 0);
    const result = classification('docs:r.txt', [
      finding('r.txt', 0),
      finding('r.txt', 50),
      finding('r.txt', 90),
    ]);
    await Promise.all([1, 2, 3, 4].map(() => store.recordClassification(id, result, 'r1')));
    expect(await count('findings', id)).toBe(3);
    expect(await count('finding_counts', id)).toBe(1);
  });

  test.each([
    ['a discovered object', true],
    ['an object never enumerated', false],
  ])('racing classifications of %s with different results leave exactly one of them', async (_, listed) => {
    // A fresh object each round: the first writers race on a row nobody has classified yet (or no row at all).
    for (let round = 0; round < 10; round++) {
      const id = `race-different-${listed ? 'listed' : 'unlisted'}-${round}`;
      await store.upsertScan(scan(id));
      if (listed) await store.upsertObjects(id, [object('q.txt')], 0);
      const a = classification('docs:q.txt', [finding('q.txt', 0), finding('q.txt', 10)]);
      const b = classification('docs:q.txt', [finding('q.txt', 5, { infoType: 'PHONE_NUMBER' })]);
      await Promise.all([a, b, a, b].map((result) => store.recordClassification(id, result, 'r1')));
      const kept = JSON.stringify((await store.findings(id)).map((f) => [f.infoType, f.start]));
      expect(['[["EMAIL_ADDRESS",0],["EMAIL_ADDRESS",10]]', '[["PHONE_NUMBER",5]]']).toContain(kept);
      expect(await count('finding_counts', id)).toBe(1);
      expect(await count('objects', id)).toBe(1);
    }
  });

  test("a new scan's objects are looked up by primary key even when autovacuum analyzed before it had rows", async () => {
    const many = (scanId: string) =>
      Array.from({ length: 3000 }, (_, i) => object(`plan/${scanId}/f${String(i).padStart(5, '0')}.txt`));
    for (const scanId of ['plan-a', 'plan-b', 'plan-c']) {
      await store.upsertScan(scan(scanId));
      const objects = many(scanId);
      for (let batch = 0; batch < 3; batch++)
        await store.upsertObjects(scanId, objects.slice(batch * 1000, batch * 1000 + 1000), batch);
    }
    await store.upsertScan(scan('plan-new'));
    await sql.query('ANALYZE assay.objects'); // as autovacuum may, before the new scan has a row
    const objects = many('plan-new');
    for (let batch = 0; batch < 3; batch++)
      await store.upsertObjects('plan-new', objects.slice(batch * 1000, batch * 1000 + 1000), batch);
    // The statement record_classified_objects locks a batch's objects with.
    const { rows } = await sql.query(
      `EXPLAIN SELECT l.object_id FROM unnest($2::text[]) AS i(object_id)
       CROSS JOIN LATERAL (SELECT o.object_id, o.status FROM assay.objects o
                           WHERE o.scan_id = $1 AND o.object_id = i.object_id FOR UPDATE) l`,
      ['plan-new', objects.slice(0, 250).map((o) => o.objectId)],
    );
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toContain('Index Scan using objects_pkey on objects o');
    expect(plan).toContain("Index Cond: ((scan_id = 'plan-new'::text) AND (object_id = i.object_id))");
    expect(plan).not.toContain('objects_batch_idx');
  });

  test('findings keep tabs, newlines, backslashes and non-ASCII exactly; NUL is dropped', async () => {
    const id = 'escapes';
    const odd = 'dir\twith\ttabs/na\u00efve \\ file\n.txt';
    await store.upsertScan(scan(id));
    await store.upsertObjects(id, [object(odd)], 0);
    const stored = finding(odd, 3, {
      masked: 'a\tb\nc\rd\\e\u0000f 🔑 \\N',
      column: 'col\tname',
      row: 7,
      fingerprint: 'fp\\x',
    });
    await store.recordClassification(id, classification(`docs:${odd}`, [stored]), 'r1');
    expect(await store.findings(id)).toEqual([
      { ...stored, masked: 'a\tb\nc\rd\\ef 🔑 \\N', objectId: `docs:${odd}` },
    ]);
  });

  test('an object skipped with carried findings, then failed, then classified keeps only the new findings', async () => {
    const previous = 'carry-then-fail-previous';
    const id = 'carry-then-fail';
    await store.upsertScan(scan(previous, { phase: 'completed', datasourceId: 'carry-then-fail' }));
    await store.upsertObjects(previous, [object('k.txt')], 0);
    await store.recordClassification(previous, classification('docs:k.txt', [finding('k.txt', 1)]), 'r1');
    await store.upsertScan(
      scan(id, { datasourceId: 'carry-then-fail', startedAt: '2026-01-02T00:00:00.000Z' }),
    );
    await store.upsertObjects(id, [object('k.txt')], 0);
    await store.markSkipped(id, ['docs:k.txt']);
    expect(await count('findings', id)).toBe(1);
    await store.recordFailure(id, 'docs:k.txt', 'CONTENT_CORRUPT', 'truncated');
    await store.recordClassification(id, classification('docs:k.txt', [finding('k.txt', 40)]), 'r1');
    expect((await store.findings(id)).map((f) => f.start)).toEqual([40]);
    expect(await count('finding_counts', id)).toBe(1);
  });

  test('recordClassification replaces the previous findings, columns and counts of the object', async () => {
    const id = 'replace';
    await store.upsertScan(scan(id));
    await store.upsertObjects(id, [object('t.csv'), object('u.txt')], 0);
    await store.recordClassification(id, classification('docs:u.txt', [finding('u.txt', 0)]), 'r1');
    await store.recordClassification(
      id,
      classification(
        'docs:t.csv',
        [finding('t.csv', 0), finding('t.csv', 30), finding('t.csv', 60, { infoType: 'PHONE_NUMBER' })],
        {
          findingCounts: { EMAIL_ADDRESS: 40, PHONE_NUMBER: 1 },
          columns: [
            {
              componentPath: 't.csv',
              column: 'a',
              infoType: 'EMAIL_ADDRESS',
              category: 'PII',
              matchedRows: 9,
              sampledRows: 10,
              ratio: 0.9,
              likelihood: 'LIKELY',
            },
            {
              componentPath: 't.csv',
              column: 'b',
              infoType: 'PHONE_NUMBER',
              category: 'PII',
              matchedRows: 5,
              sampledRows: 10,
              ratio: 0.5,
              likelihood: 'POSSIBLE',
            },
          ],
        },
      ),
      'r1',
    );
    await store.recordClassification(
      id,
      classification(
        'docs:t.csv',
        [finding('t.csv', 99, { infoType: 'CREDIT_CARD_NUMBER', category: 'FINANCIAL' })],
        {
          findingCounts: { CREDIT_CARD_NUMBER: 7 },
          columns: [
            {
              componentPath: 't.csv',
              column: 'c',
              infoType: 'CREDIT_CARD_NUMBER',
              category: 'FINANCIAL',
              matchedRows: 7,
              sampledRows: 10,
              ratio: 0.7,
              likelihood: 'VERY_LIKELY',
            },
          ],
        },
      ),
      'r2',
    );
    const found = await store.findings(id, { objectId: 'docs:t.csv' });
    expect(found.map((f) => [f.infoType, f.start])).toEqual([['CREDIT_CARD_NUMBER', 99]]);
    const { rows: counts } = await sql.query(
      'SELECT object_id, info_type, category, count FROM assay.finding_counts WHERE scan_id = $1 ORDER BY object_id, info_type',
      [id],
    );
    expect(counts).toEqual([
      { object_id: 'docs:t.csv', info_type: 'CREDIT_CARD_NUMBER', category: 'FINANCIAL', count: '7' },
      { object_id: 'docs:u.txt', info_type: 'EMAIL_ADDRESS', category: 'PII', count: '1' },
    ]);
    const { rows: columns } = await sql.query(
      'SELECT column_name FROM assay.column_classifications WHERE scan_id = $1',
      [id],
    );
    expect(columns).toEqual([{ column_name: 'c' }]);
    const [record] = await store.objects(id, { status: 'classified', limit: 1 });
    expect(record).toMatchObject({
      objectId: 'docs:t.csv',
      findingCount: 7,
      rulesetVersion: 'r2',
      status: 'classified',
    });
    // The other object is untouched.
    expect((await store.findings(id, { objectId: 'docs:u.txt' })).length).toBe(1);
  });

  test('re-discovery never downgrades a finished object, and batches read back in enumeration order', async () => {
    const id = 'nodowngrade';
    await store.upsertScan(scan(id));
    const batch = [object('z.txt'), object('y.txt'), object('x.txt'), object('w.txt')];
    await store.upsertObjects(id, batch, 3);
    await store.recordClassification(id, classification('docs:z.txt', [finding('z.txt', 1)]), 'r1');
    await store.recordFailure(id, 'docs:y.txt', 'RIGHTS_ACCESS_DENIED', 'denied');
    await store.markSkipped(id, ['docs:x.txt']);
    // A failure reported after the object was classified (a late retry) does not undo the classification.
    await store.recordFailure(id, 'docs:z.txt', 'NETWORK_TIMEOUT', 'late');
    // Re-discovered with new versions, in another batch.
    await store.upsertObjects(
      id,
      batch.map((o) => ({ ...o, etag: 'changed', size: 999 })),
      4,
    );

    expect((await store.objectsInBatch(id, 3)).map((o) => [o.objectId, o.status, o.etag])).toEqual([
      ['docs:z.txt', 'classified', 'etag-z.txt'],
      ['docs:y.txt', 'failed', 'etag-y.txt'],
      ['docs:x.txt', 'skipped', 'etag-x.txt'],
    ]);
    expect(await store.objectsInBatch(id, 4)).toEqual([
      {
        objectId: 'docs:w.txt',
        objectPath: 'w.txt',
        objectType: 'file',
        size: 999,
        etag: 'changed',
        lastModified: '2025-12-01T10:00:00.000Z',
        status: 'discovered',
        findingCount: 0,
      },
    ]);
    const [failed] = await store.objects(id, { status: 'failed' });
    expect(failed).toMatchObject({
      objectId: 'docs:y.txt',
      errorType: 'RIGHTS_ACCESS_DENIED',
      errorMessage: 'denied',
    });
    expect(await store.objectsInBatch(id, 99)).toEqual([]);
  });

  test('recordDetails keeps the enumerated version and records describe errors as failures', async () => {
    const id = 'details';
    await store.upsertScan(scan(id));
    await store.upsertObjects(id, [object('p.txt'), object('q.txt')], 0);
    await store.recordDetails(id, [
      {
        objectId: 'docs:p.txt',
        objectPath: 'p.txt',
        objectType: 'file',
        etag: 'other',
        size: 5,
        contentType: 'text/plain',
        attributes: { mode: 420 },
      },
      {
        objectId: 'docs:q.txt',
        objectPath: 'q.txt',
        objectType: 'file',
        error: { type: 'OBJECT_NOT_FOUND', message: 'gone' },
      },
    ]);
    const { rows } = await sql.query(
      'SELECT object_id, etag, size, status, error_type, details FROM assay.objects WHERE scan_id = $1 ORDER BY object_id',
      [id],
    );
    expect(rows).toEqual([
      {
        object_id: 'docs:p.txt',
        etag: 'etag-p.txt',
        size: '100',
        status: 'discovered',
        error_type: null,
        details: { contentType: 'text/plain', attributes: { mode: 420 } },
      },
      {
        object_id: 'docs:q.txt',
        etag: 'etag-q.txt',
        size: '100',
        status: 'failed',
        error_type: 'OBJECT_NOT_FOUND',
        details: {},
      },
    ]);
  });

  test('previousVersions reads the last completed scan with the same ruleset only', async () => {
    const ids = ['docs:k1', 'docs:k2', 'docs:k3', 'docs:k4', 'docs:k5'];
    const objs = ids.map((objectId, i) => object(objectId.slice(5), { etag: `v-${i}` }));
    async function scanWith(scanId: string, record: Partial<ScanRecord>, etagSuffix: string): Promise<void> {
      await store.upsertScan(scan(scanId, record));
      await store.upsertObjects(
        scanId,
        objs.map((o) => ({ ...o, etag: `${o.etag}-${etagSuffix}` })),
        0,
      );
      await store.recordClassification(scanId, classification('docs:k1', []), record.rulesetVersion ?? 'r1');
      await store.markSkipped(scanId, ['docs:k2']);
      await store.recordFailure(scanId, 'docs:k3', 'CONTENT_CORRUPT', 'x');
      // k4 stays discovered; k5 is not in the previous scan at all in some scans.
    }
    await scanWith(
      'pv-old',
      { phase: 'completed', startedAt: '2026-02-01T00:00:00.000Z', datasourceId: 'pv' },
      'old',
    );
    await scanWith(
      'pv-good',
      { phase: 'completed', startedAt: '2026-02-02T00:00:00.000Z', datasourceId: 'pv' },
      'good',
    );
    await scanWith(
      'pv-other-ruleset',
      { phase: 'completed', startedAt: '2026-02-03T00:00:00.000Z', datasourceId: 'pv', rulesetVersion: 'r9' },
      'r9',
    );
    await scanWith(
      'pv-unfinished',
      { phase: 'classifying', startedAt: '2026-02-04T00:00:00.000Z', datasourceId: 'pv' },
      'unfinished',
    );
    await scanWith(
      'pv-failed',
      { phase: 'failed', startedAt: '2026-02-05T00:00:00.000Z', datasourceId: 'pv' },
      'failed',
    );
    await scanWith(
      'pv-other-source',
      { phase: 'completed', startedAt: '2026-02-06T00:00:00.000Z', datasourceId: 'pv2' },
      'pv2',
    );

    const versions = await store.previousVersions('pv', 'r1', ids);
    expect([...versions.entries()].sort()).toEqual([
      [
        'docs:k1',
        { objectId: 'docs:k1', etag: 'v-0-good', size: 100, lastModified: '2025-12-01T10:00:00.000Z' },
      ],
      [
        'docs:k2',
        { objectId: 'docs:k2', etag: 'v-1-good', size: 100, lastModified: '2025-12-01T10:00:00.000Z' },
      ],
    ]);
    expect([...(await store.previousVersions('pv', 'r9', ['docs:k1'])).values()]).toEqual([
      { objectId: 'docs:k1', etag: 'v-0-r9', size: 100, lastModified: '2025-12-01T10:00:00.000Z' },
    ]);
    expect((await store.previousVersions('pv', 'r2', ids)).size).toBe(0);
    expect((await store.previousVersions('nobody', 'r1', ids)).size).toBe(0);
    expect((await store.previousVersions('pv', 'r1', [])).size).toBe(0);
  });

  test('an incremental scan carries the findings of skipped objects forward from the previous scan', async () => {
    const inc = (scanId: string, phase: ScanRecord['phase'], startedAt: string): ScanRecord =>
      scan(scanId, { datasourceId: 'inc', phase, startedAt });
    const objs = [object('m.txt'), object('n.txt'), object('o.txt')];
    await store.upsertScan(inc('inc-1', 'classifying', '2026-03-01T00:00:00.000Z'));
    await store.upsertObjects('inc-1', objs, 0);
    await store.recordClassification(
      'inc-1',
      classification('docs:m.txt', [finding('m.txt', 0), finding('m.txt', 9, { infoType: 'PHONE_NUMBER' })], {
        findingCounts: { EMAIL_ADDRESS: 3, PHONE_NUMBER: 1 },
        columns: [
          {
            componentPath: 'm.txt',
            column: 'c',
            infoType: 'EMAIL_ADDRESS',
            category: 'PII',
            matchedRows: 1,
            sampledRows: 1,
            ratio: 1,
            likelihood: 'LIKELY',
          },
        ],
      }),
      'r1',
    );
    await store.recordClassification('inc-1', classification('docs:n.txt', [finding('n.txt', 0)]), 'r1');
    await store.recordFailure('inc-1', 'docs:o.txt', 'CONTENT_CORRUPT', 'bad');
    await store.setScanPhase('inc-1', 'completed', '2026-03-01T01:00:00.000Z');

    await store.upsertScan(inc('inc-2', 'classifying', '2026-03-02T00:00:00.000Z'));
    await store.upsertObjects('inc-2', objs, 0);
    const unchanged = await store.previousVersions(
      'inc',
      'r1',
      objs.map((o) => o.objectId),
    );
    expect([...unchanged.keys()].sort()).toEqual(['docs:m.txt', 'docs:n.txt']);
    await store.markSkipped('inc-2', ['docs:m.txt', 'docs:o.txt']); // o was not unchanged-and-classified: nothing to carry
    await store.markSkipped('inc-2', ['docs:m.txt']);
    await store.recordClassification('inc-2', classification('docs:n.txt', []), 'r1');
    await store.recordClassification('inc-2', classification('docs:o.txt', []), 'r1');

    const report = await store.report('inc-2');
    expect(report.coverage).toEqual({ enumerated: 3, detailed: 0, classified: 2, failed: 0, skipped: 1 });
    expect(report.objects.map((o) => [o.objectId, o.status, o.findingCount, o.infoTypes])).toEqual([
      ['docs:m.txt', 'skipped', 4, ['EMAIL_ADDRESS', 'PHONE_NUMBER']],
    ]);
    expect(report.findingsByInfoType.map((e) => [e.infoType, e.count])).toEqual([
      ['EMAIL_ADDRESS', 3],
      ['PHONE_NUMBER', 1],
    ]);
    expect(report.columns.map((c) => [c.objectId, c.column])).toEqual([['docs:m.txt', 'c']]);
    expect(await count('findings', 'inc-2')).toBe(2);
    // The next incremental scan still sees m as unchanged (skipped counts as a known version).
    await store.setScanPhase('inc-2', 'completed');
    expect([...(await store.previousVersions('inc', 'r1', ['docs:m.txt'])).keys()]).toEqual(['docs:m.txt']);
    // Without carry-forward only the status changes.
    await store.upsertScan(inc('inc-3', 'classifying', '2026-03-03T00:00:00.000Z'));
    await store.upsertObjects('inc-3', objs, 0);
    await store.markSkipped('inc-3', ['docs:m.txt'], { carryForward: false });
    expect(await count('findings', 'inc-3')).toBe(0);
    expect((await store.report('inc-3')).coverage.skipped).toBe(1);
  });

  test('report numbers are exact on a small constructed scan', async () => {
    const id = 'report';
    await store.upsertScan(scan(id, { phase: 'classifying' }));
    await store.upsertObjects(
      id,
      [
        object('hr/a.txt'),
        object('hr/b.csv'),
        object('pub/c.txt'),
        object('d.bin'),
        object('e.txt'),
        object('hr/old/f.txt'),
        object('g.txt'),
      ],
      0,
    );
    // a: 2 emails kept of 5, 1 phone.
    await store.recordClassification(
      id,
      classification(
        'docs:hr/a.txt',
        [
          finding('hr/a.txt', 0),
          finding('hr/a.txt', 40),
          finding('hr/a.txt', 80, { infoType: 'PHONE_NUMBER' }),
        ],
        {
          findingCounts: { EMAIL_ADDRESS: 5, PHONE_NUMBER: 1 },
        },
      ),
      'r1',
    );
    // b: a CSV with an email column and a credit card; one member unreadable.
    await store.recordClassification(
      id,
      classification(
        'docs:hr/b.csv',
        [
          finding('hr/b.csv', 3, { column: 'mail', row: 0 }),
          finding('hr/b.csv', 9, {
            infoType: 'CREDIT_CARD_NUMBER',
            category: 'FINANCIAL',
            column: 'card',
            row: 0,
          }),
        ],
        {
          columns: [
            {
              componentPath: 'hr/b.csv',
              column: 'mail',
              infoType: 'EMAIL_ADDRESS',
              category: 'PII',
              matchedRows: 3,
              sampledRows: 4,
              ratio: 0.75,
              likelihood: 'LIKELY',
            },
          ],
          failures: [{ componentPath: 'hr/b.csv', type: 'CONTENT_CORRUPT', message: 'bad quote at line 9' }],
        },
      ),
      'r1',
    );
    await store.recordClassification(id, classification('docs:pub/c.txt', []), 'r1');
    await store.recordFailure(id, 'docs:d.bin', 'CONTENT_UNSUPPORTED', 'binary');
    // Details recorded for two objects, one of them twice (a retried batch): counted once each.
    const described = (objectPath: string) => ({
      objectId: `docs:${objectPath}`,
      objectPath,
      objectType: 'file' as const,
      size: 10,
    });
    await store.recordDetails(id, [described('d.bin'), described('pub/c.txt')]);
    await store.recordDetails(id, [described('d.bin')]);
    await store.markSkipped(id, ['docs:e.txt']);
    // f: counts only beyond the cap (no detailed findings kept): category comes from other objects.
    await store.recordClassification(
      id,
      { ...classification('docs:hr/old/f.txt', []), findingCounts: { EMAIL_ADDRESS: 2 } },
      'r1',
    );
    await store.recordClassification(
      id,
      classification('docs:g.txt', [
        finding('g.txt', 0, { infoType: 'AWS_ACCESS_KEY', category: 'CREDENTIAL' }),
      ]),
      'r1',
    );
    await store.setScanPhase(id, 'completed', '2026-01-01T01:00:00.000Z');

    const report = await store.report(id);
    expect(report.scan).toEqual({ ...scan(id), phase: 'completed', finishedAt: '2026-01-01T01:00:00.000Z' });
    expect(report.coverage).toEqual({ enumerated: 7, detailed: 2, classified: 5, failed: 1, skipped: 1 });
    expect(report.findingsByInfoType).toEqual([
      { infoType: 'EMAIL_ADDRESS', category: 'PII', count: 8, objects: 3 },
      { infoType: 'AWS_ACCESS_KEY', category: 'CREDENTIAL', count: 1, objects: 1 },
      { infoType: 'CREDIT_CARD_NUMBER', category: 'FINANCIAL', count: 1, objects: 1 },
      { infoType: 'PHONE_NUMBER', category: 'PII', count: 1, objects: 1 },
    ]);
    expect(report.findingsByCategory).toEqual([
      { category: 'PII', count: 9 },
      { category: 'CREDENTIAL', count: 1 },
      { category: 'FINANCIAL', count: 1 },
    ]);
    expect(report.objects.map((o) => [o.objectId, o.findingCount, o.infoTypes])).toEqual([
      ['docs:hr/a.txt', 6, ['EMAIL_ADDRESS', 'PHONE_NUMBER']],
      ['docs:hr/b.csv', 2, ['CREDIT_CARD_NUMBER', 'EMAIL_ADDRESS']],
      ['docs:hr/old/f.txt', 2, ['EMAIL_ADDRESS']],
      ['docs:g.txt', 1, ['AWS_ACCESS_KEY']],
    ]);
    expect(report.columns).toEqual([
      {
        objectId: 'docs:hr/b.csv',
        componentPath: 'hr/b.csv',
        column: 'mail',
        infoType: 'EMAIL_ADDRESS',
        category: 'PII',
        matchedRows: 3,
        sampledRows: 4,
        ratio: 0.75,
        likelihood: 'LIKELY',
      },
    ]);
    expect(report.failures).toEqual([
      {
        objectId: 'docs:d.bin',
        objectPath: 'd.bin',
        errorType: 'CONTENT_UNSUPPORTED',
        errorMessage: 'binary',
      },
    ]);
    expect(report.componentFailures).toEqual([
      {
        objectId: 'docs:hr/b.csv',
        componentPath: 'hr/b.csv',
        errorType: 'CONTENT_CORRUPT',
        errorMessage: 'bad quote at line 9',
      },
    ]);
    expect(report.hotSpots).toEqual([
      { location: 'hr', findings: 8, objects: 2 },
      { location: 'hr/old', findings: 2, objects: 1 },
      { location: '.', findings: 1, objects: 1 },
    ]);
    expect(await store.findings(id, { limit: 2 })).toEqual([
      {
        objectId: 'docs:g.txt',
        ...finding('g.txt', 0, { infoType: 'AWS_ACCESS_KEY', category: 'CREDENTIAL' }),
      },
      { objectId: 'docs:hr/a.txt', ...finding('hr/a.txt', 0) },
    ]);
    expect((await store.findings(id)).length).toBe(6);
  });

  test('report hot spots of a database scan group tables by schema', async () => {
    const id = 'db-report';
    await store.upsertScan(scan(id, { datasourceId: 'crm', datasourceType: 'postgres' }));
    const table = (path: string): DiscoveredObject => ({
      objectId: `crm:${path}`,
      datasourceId: 'crm',
      objectPath: path,
      objectType: 'table',
    });
    await store.upsertObjects(
      id,
      [table('public.users'), table('public.orders'), table('sales.leads'), table('sales.empty')],
      0,
    );
    const rows = (objectId: string, n: number) =>
      classification(
        objectId,
        Array.from({ length: n }, (_, i) => finding(objectId.slice(4), 0, { column: 'email', row: i })),
      );
    await store.recordClassification(id, rows('crm:public.users', 3), 'r1');
    await store.recordClassification(id, rows('crm:public.orders', 1), 'r1');
    await store.recordClassification(id, rows('crm:sales.leads', 5), 'r1');
    await store.recordClassification(id, rows('crm:sales.empty', 0), 'r1');
    const report = await store.report(id);
    expect(report.hotSpots).toEqual([
      { location: 'sales', findings: 5, objects: 1 },
      { location: 'public', findings: 4, objects: 2 },
    ]);
    expect(report.coverage).toEqual({ enumerated: 4, detailed: 0, classified: 4, failed: 0, skipped: 0 });
  });

  test('scans list newest first; unknown scans read as undefined / OBJECT_NOT_FOUND', async () => {
    await store.upsertScan(scan('list-1', { startedAt: '2030-01-01T00:00:00.000Z' }));
    await store.upsertScan(scan('list-2', { startedAt: '2030-01-02T00:00:00.000Z' }));
    expect((await store.listScans(2)).map((s) => s.scanId)).toEqual(['list-2', 'list-1']);
    // A replayed "starting" does not rewind a finished scan.
    await store.setScanPhase('list-1', 'completed', '2030-01-01T02:00:00.000Z');
    await store.upsertScan(scan('list-1', { startedAt: '2030-01-01T00:00:00.000Z' }));
    expect(await store.getScan('list-1')).toMatchObject({
      phase: 'completed',
      finishedAt: '2030-01-01T02:00:00.000Z',
    });
    // A terminal phase without a time gets one.
    await store.setScanPhase('list-2', 'cancelled');
    expect(Date.parse((await store.getScan('list-2'))?.finishedAt ?? '')).toBeGreaterThan(
      Date.now() - 60_000,
    );
    expect(await store.getScan('nope')).toBeUndefined();
    await expect(store.report('nope')).rejects.toMatchObject({ type: ErrorType.OBJECT_NOT_FOUND });
    await expect(store.report('nope')).rejects.toBeInstanceOf(PlatformError);
  });

  test('a 1,000-object batch and its classifications land in one call each', async () => {
    const id = 'bulk';
    await store.upsertScan(scan(id));
    const objs = Array.from({ length: 1000 }, (_, i) => object(`bulk/${String(i).padStart(4, '0')}.txt`));
    await store.upsertObjects(id, objs, 0);
    await store.recordClassifications(
      id,
      objs.map((o) => classification(o.objectId, [finding(o.objectPath, 0), finding(o.objectPath, 20)])),
      'r1',
    );
    expect(await count('objects', id)).toBe(1000);
    expect(await count('findings', id)).toBe(2000);
    expect((await store.report(id)).coverage.classified).toBe(1000);
    expect(await store.deleteScan(id)).toEqual({ objects: 1000, findings: 2000 });
    expect(await count('objects', id)).toBe(0);
    expect(await count('findings', id)).toBe(0);
    expect(await store.deleteScan(id)).toEqual({ objects: 0, findings: 0 });
  });

  test('diffScans compares findings by place and fingerprint: moved rows are no change, repeats count', async () => {
    const table = object('crm.public.customers', { objectType: 'table' });
    const cell = (column: string, row: number, fingerprint: string, start = 0) =>
      finding('public.customers', start, { column, row, fingerprint, masked: `m-${fingerprint}` });
    const record = async (scanId: string, findings: Finding[]) => {
      await store.upsertScan(scan(scanId, { datasourceId: 'diff-db' }));
      await store.upsertObjects(scanId, [table], 0);
      await store.recordClassifications(scanId, [classification(table.objectId, findings)], 'r1');
    };
    await record('diff-1', [cell('email', 1, 'A'), cell('email', 2, 'B'), cell('notes', 3, 'D')]);
    // A moved to row 5, B gone, C new in notes, D now twice.
    await record('diff-2', [
      cell('email', 5, 'A'),
      cell('notes', 4, 'C'),
      cell('notes', 3, 'D'),
      cell('notes', 7, 'D', 40),
    ]);
    const diff = await store.diffScans('diff-1', 'diff-2');
    const entry = (column: string, fingerprint: string, count: number) => ({
      objectId: table.objectId,
      path: 'crm.public.customers',
      componentPath: 'public.customers',
      column,
      infoType: 'EMAIL_ADDRESS',
      category: 'PII',
      masked: `m-${fingerprint}`,
      fingerprint,
      count,
    });
    expect(diff).toEqual({
      baseScanId: 'diff-1',
      scanId: 'diff-2',
      added: [entry('notes', 'C', 1), entry('notes', 'D', 1)],
      removed: [entry('email', 'B', 1)],
      addedByInfoType: { EMAIL_ADDRESS: 2 },
      removedByInfoType: { EMAIL_ADDRESS: 1 },
    });
    expect((await store.diffScans('diff-1', 'diff-2', 1)).added).toEqual([entry('notes', 'C', 1)]);
    expect((await store.diffScans('diff-1', 'diff-2', 1)).addedByInfoType).toEqual({ EMAIL_ADDRESS: 2 });
    expect(await store.previousCompletedScan('diff-2')).toBeUndefined();
    await store.setScanPhase('diff-1', 'completed');
    expect((await store.previousCompletedScan('diff-2'))?.scanId).toBe('diff-1');
    await expect(store.diffScans('nope', 'diff-2')).rejects.toMatchObject({
      type: ErrorType.OBJECT_NOT_FOUND,
    });
  });

  test("retention picks finished scans ended before the cutoff, never a source's latest completed scan per ruleset", async () => {
    const ended = (day: number) => `2031-01-${String(day).padStart(2, '0')}T00:00:00.000Z`;
    const add = async (
      id: string,
      datasourceId: string,
      phase: ScanRecord['phase'],
      day: number,
      ruleset = 'r1',
    ) => {
      await store.upsertScan(scan(id, { datasourceId, rulesetVersion: ruleset, startedAt: ended(day) }));
      if (phase !== 'enumerating') await store.setScanPhase(id, phase, ended(day));
      else await store.setScanPhase(id, phase);
    };
    await add('ret-a1', 'retention-a', 'completed', 1);
    await add('ret-a2', 'retention-a', 'failed', 2);
    await add('ret-a3', 'retention-a', 'completed', 3); // latest completed of a/r1: kept
    await add('ret-a4', 'retention-a', 'cancelled', 4);
    await add('ret-a5', 'retention-a', 'completed', 5, 'r2'); // latest completed of a/r2: kept
    await add('ret-b1', 'retention-b', 'completed', 2); // b's only completed scan: kept
    await add('ret-b2', 'retention-b', 'enumerating', 1); // not finished: kept
    await add('ret-c1', 'retention-c', 'completed', 20); // ended after the cutoff
    await add('ret-c2', 'retention-c', 'completed', 21);
    const picked = async (day: number) =>
      (await store.scansEndedBefore(new Date(ended(day))))
        .filter((s) => s.datasourceId.startsWith('retention-'))
        .map((s) => s.scanId);
    expect(await picked(10)).toEqual(['ret-a1', 'ret-a2', 'ret-a4']);
    expect(await picked(3)).toEqual(['ret-a1', 'ret-a2']);
    expect(await picked(30)).toEqual(['ret-a1', 'ret-a2', 'ret-a4', 'ret-c1']);
  });

  test('no table can hold a raw matched value: findings keep only a masked preview and a fingerprint', async () => {
    const { rows } = await sql.query(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = 'assay' AND table_name = 'findings' ORDER BY ordinal_position`,
    );
    expect(rows.map((r) => r.column_name)).toEqual([
      'scan_id',
      'object_id',
      'component_path',
      'start_offset',
      'end_offset',
      'line',
      'column_name',
      'row_index',
      'info_type',
      'category',
      'likelihood',
      'masked',
      'fingerprint',
      'detector_version',
    ]);
    const { rows: suspicious } = await sql.query(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'assay' AND column_name ~ '(value|raw|snippet|quote|plain|secret)'`,
    );
    expect(suspicious).toEqual([]);
    // The stored finding carries exactly what the classifier handed over: no extra field appears.
    const secretLike = finding('s.txt', 0, { masked: 'j***@x.org', fingerprint: 'abc123' });
    await store.upsertScan(scan('raw'));
    await store.recordClassification(
      'raw',
      classification('docs:s.txt', [{ ...secretLike, value: 'jane@x.org' } as Finding]),
      'r1',
    );
    const { rows: stored } = await sql.query(
      `SELECT row_to_json(f)::text AS json FROM assay.findings f WHERE scan_id = 'raw'`,
    );
    expect(stored).toHaveLength(1);
    expect(stored[0].json).not.toContain('jane@x.org');
  });
});

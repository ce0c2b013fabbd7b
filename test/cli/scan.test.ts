/**
 * The scan commands against the harness Temporal server and PostgreSQL, with a worker in this process:
 * start --wait --json, status, list, results in every format (HTML in headless Chromium), pause,
 * resume, concurrency and cancel on a long scan, and the examples folder against EXPECTED.json.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startWorker, type RunningWorker } from '../../src/cli/integrations';
import { testServices } from '../harness/services-info';
import { launchBrowser, openReport } from './browser';
import { Client } from 'pg';
import { createTestDatabase, REPO_ROOT, runAssay } from './helpers';

jest.setTimeout(120_000);

const EXAMPLES = path.join(REPO_ROOT, 'examples', 'files');

let tmp: string;
let folder: string;
let bigFolder: string;
let db: { url: string; drop(): Promise<void> };
let worker: RunningWorker;
let browser: Browser;
let global: string[];
const taskQueue = `assay-cli-scan-${process.pid}`;
const suffix = Date.now().toString(36);

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function statusJson(
  scanId: string,
): Promise<Record<string, unknown> & { phase: string; findingsByInfoType: Record<string, number> }> {
  const result = await runAssay([...global, 'scan', 'status', scanId, '--json']);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

beforeAll(async () => {
  process.env.ASSAY_FROM_SOURCE = '1';
  process.env.LOG_LEVEL ??= 'warn';
  tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-cli-scan-'));
  folder = path.join(tmp, 'share');
  await mkdir(path.join(folder, 'team'), { recursive: true });
  await writeFile(
    path.join(folder, 'team', 'contacts.txt'),
    'Alice: alice.smith@example.org\nBob: bob.jones@example.org\nCarol: carol.white@example.net\n',
  );
  await writeFile(path.join(folder, 'payment.txt'), 'Card on file: 4111 1111 1111 1111\n');
  await writeFile(path.join(folder, 'readme.md'), 'Nothing to see here.\n');
  bigFolder = path.join(tmp, 'big');
  await mkdir(bigFolder);
  for (let i = 0; i < 1000; i++)
    await writeFile(path.join(bigFolder, `f${i}.txt`), `row ${i}: user${i}@example.org\n`);

  db = await createTestDatabase('assay_cli_scan');
  const { temporal } = testServices();
  global = [
    '--address',
    temporal.address,
    '--namespace',
    temporal.namespace,
    '--task-queue',
    taskQueue,
    '--database-url',
    db.url,
  ];
  worker = await startWorker({
    temporalAddress: temporal.address,
    namespace: temporal.namespace,
    taskQueue,
    databaseUrl: db.url,
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await worker?.shutdown();
  await db?.drop();
  await rm(tmp, { recursive: true, force: true });
});

test('scan start --wait --json reports exact counts; status, list and results agree', async () => {
  const scanId = `scan-share-${suffix}`;
  const started = await runAssay([...global, 'scan', 'start', folder, '--id', scanId, '--wait', '--json']);
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  const json = JSON.parse(started.stdout);
  expect(json).toMatchObject({
    scanId,
    phase: 'completed',
    datasourceId: 'share',
    enumerated: 3,
    classified: 3,
    failed: 0,
    skipped: 0,
    totalFindings: 4,
    findingsByInfoType: { EMAIL_ADDRESS: 3, CREDIT_CARD_NUMBER: 1 },
  });

  const status = await statusJson(scanId);
  expect(status).toMatchObject({
    scanId,
    phase: 'completed',
    enumerated: 3,
    classified: 3,
    totalFindings: 4,
  });
  expect(status.findingsByInfoType).toEqual({ EMAIL_ADDRESS: 3, CREDIT_CARD_NUMBER: 1 });

  const once = await runAssay([...global, 'scan', 'status', scanId, '--once']);
  expect(once.code).toBe(0);
  expect(once.stdout).toMatch(
    new RegExp(`^${scanId} completed .*enumerated 3  classified 3  failed 0  skipped 0 .*findings 4\\n$`),
  );

  // Follow mode on a terminal: the frame is redrawn in place (\r, clear line) and ends with a newline.
  const live = await runAssay([...global, 'scan', 'status', scanId], { tty: true });
  expect(live.code).toBe(0);
  expect(live.stdout.startsWith('\r\x1b[2K')).toBe(true);
  expect(live.stdout.endsWith('findings 4\n')).toBe(true);
  expect(live.stdout).toContain(`${scanId} completed`);

  const failOn = await runAssay([
    ...global,
    'scan',
    'results',
    scanId,
    '--fail-on-findings',
    '--format',
    'csv',
  ]);
  expect(failOn.code).toBe(1);

  const list = await runAssay([...global, 'scan', 'list', '--json']);
  expect(list.code).toBe(0);
  const rows = JSON.parse(list.stdout) as Array<{
    scanId: string;
    workflowStatus: string;
    phase: string;
    datasourceId: string;
  }>;
  expect(rows.find((r) => r.scanId === scanId)).toMatchObject({
    workflowStatus: 'COMPLETED',
    phase: 'completed',
    datasourceId: 'share',
  });
  const table = await runAssay([...global, 'scan', 'list']);
  expect(table.stdout).toContain(scanId);

  // results: json
  const asJson = await runAssay([...global, 'scan', 'results', scanId, '--json']);
  expect(asJson.code).toBe(0);
  const report = JSON.parse(asJson.stdout);
  expect(report.totalFindings).toBe(4);
  expect(report.coverage).toEqual({ enumerated: 3, detailed: 3, classified: 3, failed: 0, skipped: 0 });
  expect(
    Object.fromEntries(
      report.findingsByInfoType.map((r: { infoType: string; count: number }) => [r.infoType, r.count]),
    ),
  ).toEqual({
    EMAIL_ADDRESS: 3,
    CREDIT_CARD_NUMBER: 1,
  });
  expect(
    report.objects.map((o: { objectPath: string; findingCount: number }) => [o.objectPath, o.findingCount]),
  ).toEqual([
    [path.join(folder, 'team', 'contacts.txt'), 3],
    [path.join(folder, 'payment.txt'), 1],
  ]);

  // results: table
  const asTable = await runAssay([...global, 'scan', 'results', scanId]);
  expect(asTable.stdout).toContain('Total findings: 4');
  expect(asTable.stdout).toContain('Coverage: 3/3 objects classified (100%), 0 failed, 0 skipped');
  expect(asTable.stdout).toMatch(/EMAIL_ADDRESS\s+PII\s+3\s+1/);

  // results: csv
  const csvFile = path.join(tmp, 'report.csv');
  const asCsv = await runAssay([...global, 'scan', 'results', scanId, '--format', 'csv', '--out', csvFile]);
  expect(asCsv.code).toBe(0);
  expect(asCsv.stderr).toBe(`wrote csv report to ${csvFile}\n`);
  const csvLines = (await readFile(csvFile, 'utf8')).trimEnd().split('\r\n');
  expect(csvLines).toContain('infoType,,,EMAIL_ADDRESS,PII,3,1 objects');
  expect(csvLines).toContain('infoType,,,CREDIT_CARD_NUMBER,FINANCIAL,1,1 objects');
  expect(csvLines[csvLines.length - 1]).toBe('coverage,share,,,,3,classified 3 of 3; failed 0; skipped 0');

  // results: html in a real browser
  const htmlFile = path.join(tmp, 'report.html');
  const asHtml = await runAssay([
    ...global,
    'scan',
    'results',
    scanId,
    '--format',
    'html',
    '--out',
    htmlFile,
  ]);
  expect(asHtml.code).toBe(0);
  const page = await openReport(browser, htmlFile);
  expect(page.consoleErrors).toEqual([]);
  expect(page.externalRequests).toEqual([]);
  expect(await page.text('total-findings')).toBe('4');
  expect(await page.text('objects-enumerated')).toBe('3');
  expect(await page.text('objects-classified')).toBe('3');
  expect(await page.text('coverage-percent')).toBe('100%');
  expect(await page.text('scan-id')).toBe(scanId);
  await page.page.close();

  // --wait without --json: a human summary on stdout, progress lines on stderr (not a TTY here).
  const human = await runAssay([...global, 'scan', 'start', folder, '--id', `${scanId}-again`, '--wait']);
  expect(human.code).toBe(0);
  expect(human.stdout).toBe(
    [
      `scan ${scanId}-again: completed`,
      'objects: 3 enumerated, 3 classified, 0 failed, 0 skipped',
      'findings: 4',
      `  ${'EMAIL_ADDRESS'.padEnd(28)} 3`,
      `  ${'CREDIT_CARD_NUMBER'.padEnd(28)} 1`,
      '',
    ].join('\n'),
  );
  expect(human.stderr).toMatch(new RegExp(`^${scanId}-again completed .* findings 4$`, 'm'));

  // unknown scan in the store
  const missing = await runAssay([...global, 'scan', 'results', 'scan-nope']);
  expect(missing.code).toBe(4);
  expect(missing.stderr).toBe('assay: scan not found in the results store: scan-nope\n');
});

test('the examples folder finds exactly what examples/files/EXPECTED.json lists', async () => {
  const expected = JSON.parse(await readFile(path.join(EXAMPLES, 'EXPECTED.json'), 'utf8'));
  const scanId = `scan-examples-${suffix}`;
  const started = await runAssay([...global, 'scan', 'start', EXAMPLES, '--id', scanId, '--wait', '--json']);
  expect(started.code).toBe(0);
  const json = JSON.parse(started.stdout);
  // One comparison, so a mismatch shows the whole actual result.
  expect({
    phase: json.phase,
    objects: json.enumerated,
    failed: json.failed,
    totalFindings: json.totalFindings,
    findingsByInfoType: json.findingsByInfoType,
  }).toEqual({
    phase: 'completed',
    objects: expected.objects,
    failed: 0,
    totalFindings: expected.totalFindings,
    findingsByInfoType: expected.findingsByInfoType,
  });
  // Per file, too (from the results store).
  const report = JSON.parse((await runAssay([...global, 'scan', 'results', scanId, '--json'])).stdout);
  const byFile = Object.fromEntries(
    report.objects.map((o: { objectPath: string; findingCount: number }) => [
      path.relative(EXAMPLES, o.objectPath),
      o.findingCount,
    ]),
  );
  expect(byFile).toEqual(expected.findingsByFile);
});

test('pause, resume, concurrency and cancel steer a running scan', async () => {
  const scanId = `scan-big-${suffix}`;
  const started = await runAssay([
    ...global,
    'scan',
    'start',
    bigFolder,
    '--id',
    scanId,
    '--batch-size',
    '5',
    '--concurrency',
    '1',
    '--json',
  ]);
  expect(started.code).toBe(0);
  expect(JSON.parse(started.stdout)).toMatchObject({ scanId, phase: 'starting' });

  const paused = await runAssay([...global, 'scan', 'pause', scanId]);
  expect(paused).toEqual({ code: 0, stdout: `sent pause to scan ${scanId}\n`, stderr: '' });
  const pausedStatus = await waitFor('paused phase', async () => {
    const s = await statusJson(scanId);
    return s.phase === 'paused' ? s : undefined;
  });
  // While paused, the counters stand still (in-flight batches have finished).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const still = await statusJson(scanId);
  expect(still.phase).toBe('paused');
  expect(still.classified).toBe((await statusJson(scanId)).classified);
  expect(Number(pausedStatus.classified)).toBeLessThan(1000);

  // A running scan's results cannot be deleted.
  expect(await runAssay([...global, 'scan', 'delete', scanId])).toEqual({
    code: 2,
    stdout: '',
    stderr: `assay: scan ${scanId} is still running: cancel it first (assay scan cancel ${scanId})\n`,
  });

  const concurrency = await runAssay([...global, 'scan', 'concurrency', scanId, '3']);
  expect(concurrency).toEqual({ code: 0, stdout: `scan ${scanId}: concurrent batches 1 -> 3\n`, stderr: '' });

  const resumed = await runAssay([...global, 'scan', 'resume', scanId]);
  expect(resumed.code).toBe(0);
  await waitFor('classifying again', async () => {
    const s = await statusJson(scanId);
    return s.phase !== 'paused' && Number(s.classified) > 0 ? s : undefined;
  });

  // Pause again, then cancel the paused scan: it ends as cancelled with its partial results.
  await runAssay([...global, 'scan', 'pause', scanId]);
  await waitFor('paused again', async () => {
    const s = await statusJson(scanId);
    return s.phase === 'paused' ? s : undefined;
  });
  const cancelled = await runAssay([...global, 'scan', 'cancel', scanId, '--reason', 'test']);
  expect(cancelled).toEqual({ code: 0, stdout: `sent cancel to scan ${scanId}\n`, stderr: '' });
  const final = await waitFor(
    'cancelled',
    async () => {
      const s = await statusJson(scanId);
      return s.workflowStatus !== 'RUNNING' ? s : undefined;
    },
    60_000,
  );
  expect(final.phase).toBe('cancelled');
  expect(Number(final.classified)).toBeLessThan(1000);
  expect(final.findingsByInfoType.EMAIL_ADDRESS).toBe(final.classified);
  expect(Number(final.classified)).toBeGreaterThan(0);
  const report = JSON.parse((await runAssay([...global, 'scan', 'results', scanId, '--json'])).stdout);
  expect(report.scan.phase).toBe('cancelled');
  expect(report.coverage.enumerated).toBe(final.enumerated);
  expect(report.coverage.classified).toBe(final.classified);

  const again = await runAssay([...global, 'scan', 'pause', scanId]);
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/is not running/);
});

test('a wrong database password fails the scan with one line and exit 1', async () => {
  const pg = testServices().postgres;
  process.env.PGPASSWORD = 'definitely-not-the-password';
  try {
    const scanId = `scan-badpw-${suffix}`;
    const result = await runAssay([
      ...global,
      'scan',
      'start',
      `postgres://${pg.user}@${pg.host}:${pg.port}/postgres`,
      '--id',
      scanId,
      '--wait',
      '--json',
    ]);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ scanId, phase: 'failed', error: { type: 'RIGHTS_AUTHENTICATION_FAILED' } });
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^scan ${scanId} failed: RIGHTS_AUTHENTICATION_FAILED: `));
    expect(result.stderr).not.toContain('definitely-not-the-password');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  } finally {
    delete process.env.PGPASSWORD;
  }
});

test("scan delete removes a finished scan's results; prune deletes old finished scans but each source's latest", async () => {
  const ids = ['one', 'two', 'three'].map((n) => `scan-retention-${n}-${suffix}`);
  for (const id of ids) {
    const started = await runAssay([...global, 'scan', 'start', folder, '--id', id, '--wait', '--json']);
    expect(JSON.parse(started.stdout)).toMatchObject({ scanId: id, phase: 'completed' });
  }
  expect(await runAssay([...global, 'scan', 'delete', ids[0]])).toEqual({
    code: 0,
    stdout: `deleted scan ${ids[0]}: 3 objects, 4 findings\n`,
    stderr: '',
  });
  expect((await runAssay([...global, 'scan', 'results', ids[0]])).code).toBe(4);
  expect(await runAssay([...global, 'scan', 'delete', ids[0]])).toMatchObject({
    code: 4,
    stderr: `assay: scan not found in the results store: ${ids[0]}\n`,
  });

  // Both remaining scans ended 100 days ago: only the older one goes, the source's latest stays.
  const sql = new Client({ connectionString: db.url });
  await sql.connect();
  try {
    await sql.query(
      `UPDATE assay.scans SET finished_at = now() - interval '100 days' WHERE scan_id = ANY($1::text[])`,
      [ids.slice(1)],
    );
  } finally {
    await sql.end();
  }
  const dry = await runAssay([...global, 'scan', 'prune', '--older-than', '90d', '--dry-run', '--json']);
  expect(dry.code).toBe(0);
  expect((JSON.parse(dry.stdout) as Array<{ scanId: string }>).map((p) => p.scanId)).toEqual([ids[1]]);
  expect((await runAssay([...global, 'scan', 'results', ids[1], '--json'])).code).toBe(0);
  expect(await runAssay([...global, 'scan', 'prune', '--older-than', '90d'])).toEqual({
    code: 0,
    stdout: `deleted scan ${ids[1]}: 3 objects, 4 findings\n`,
    stderr: '',
  });
  expect((await runAssay([...global, 'scan', 'results', ids[1]])).code).toBe(4);
  expect((await runAssay([...global, 'scan', 'results', ids[2], '--json'])).code).toBe(0);
  expect((await runAssay([...global, 'scan', 'prune', '--older-than', '90d'])).stdout).toBe(
    'nothing to prune\n',
  );
  expect((await runAssay([...global, 'scan', 'prune', '--older-than', '30m'])).code).toBe(2);
});

test('scan diff lists findings added and removed since the previous scan of the source, by fingerprint', async () => {
  const share = path.join(tmp, 'diffshare');
  await mkdir(share);
  await writeFile(path.join(share, 'a.txt'), 'Contacts: ann@example.org and ben@example.org\n');
  await writeFile(path.join(share, 'b.txt'), 'Card: 4111 1111 1111 1111\n');
  const scan = async (id: string) => {
    const started = await runAssay([...global, 'scan', 'start', share, '--id', id, '--wait', '--json']);
    expect(JSON.parse(started.stdout)).toMatchObject({ scanId: id, phase: 'completed' });
  };
  const before = `scan-diff-before-${suffix}`;
  const after = `scan-diff-after-${suffix}`;
  await scan(before);
  // ben moves (no change), cal is new, the card is gone.
  await writeFile(
    path.join(share, 'a.txt'),
    'New list. Contacts: ben@example.org, ann@example.org, cal@example.org\n',
  );
  await writeFile(path.join(share, 'b.txt'), 'No card any more.\n');
  await scan(after);

  const diff = await runAssay([...global, 'scan', 'diff', after, '--json']);
  expect(diff).toMatchObject({ code: 0, stderr: '' });
  const json = JSON.parse(diff.stdout);
  expect(json).toMatchObject({
    baseScanId: before,
    scanId: after,
    addedByInfoType: { EMAIL_ADDRESS: 1 },
    removedByInfoType: { CREDIT_CARD_NUMBER: 1 },
  });
  expect(json.added).toEqual([
    expect.objectContaining({
      path: path.join(share, 'a.txt'),
      infoType: 'EMAIL_ADDRESS',
      masked: 'c***@example.org',
      count: 1,
    }),
  ]);
  expect(json.removed).toEqual([
    expect.objectContaining({
      path: path.join(share, 'b.txt'),
      infoType: 'CREDIT_CARD_NUMBER',
      masked: '**** **** **** 1111',
      count: 1,
    }),
  ]);
  expect(json.added[0].fingerprint).toMatch(/^[0-9a-f]{64}$/);

  const text = await runAssay([...global, 'scan', 'diff', after, '--base', before]);
  expect(text.stdout.split('\n')[0]).toBe(`scan ${after} against ${before}: 1 findings added, 1 removed`);
  expect(text.stdout).not.toContain('cal@example.org');
  expect((await runAssay([...global, 'scan', 'diff', after, '--fail-on-new'])).code).toBe(1);
  // Against itself nothing changed; the first scan of a source has nothing to compare with.
  expect((await runAssay([...global, 'scan', 'diff', after, '--base', after, '--fail-on-new'])).code).toBe(0);
  expect(await runAssay([...global, 'scan', 'diff', before])).toMatchObject({
    code: 4,
    stderr: expect.stringContaining('has no earlier completed scan of its source'),
  });
});

/**
 * The HTML report renderer in a real headless Chromium: self-contained, no console errors, exact
 * numbers, and hostile object paths shown as text (never markup). The end-to-end tests (scan.test.ts,
 * dev.test.ts) check reports of real scans the same way.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { renderCsvReport } from '../../src/report/csv';
import { renderHtmlReport } from '../../src/report/html';
import { renderTextReport } from '../../src/report/text';
import type { ScanReport } from '../../src/results/types';
import { launchBrowser, openReport } from './browser';

const HOSTILE = 'share/<script>window.__pwned=1</script>"onmouseover="x.csv';

function sampleReport(): ScanReport {
  return {
    scan: {
      scanId: 'scan-docs-1',
      datasourceId: 'docs',
      datasourceType: 'filesystem',
      rulesetVersion: 'r1',
      phase: 'completed',
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:01:00.000Z',
    },
    coverage: { enumerated: 10, detailed: 10, classified: 8, failed: 1, skipped: 1 },
    findingsByInfoType: [
      { infoType: 'EMAIL_ADDRESS', category: 'PII', count: 7, objects: 3 },
      { infoType: 'CREDIT_CARD_NUMBER', category: 'FINANCIAL', count: 2, objects: 1 },
      { infoType: 'AWS_CREDENTIALS', category: 'CREDENTIAL', count: 1, objects: 1 },
    ],
    findingsByCategory: [
      { category: 'PII', count: 7 },
      { category: 'FINANCIAL', count: 2 },
      { category: 'CREDENTIAL', count: 1 },
    ],
    objects: [
      {
        objectId: `docs:${HOSTILE}`,
        objectPath: HOSTILE,
        objectType: 'file',
        status: 'classified',
        findingCount: 6,
        infoTypes: ['EMAIL_ADDRESS', 'CREDIT_CARD_NUMBER'],
      },
      {
        objectId: 'docs:hr/a.csv',
        objectPath: 'hr/a.csv',
        objectType: 'file',
        status: 'classified',
        findingCount: 4,
        infoTypes: ['EMAIL_ADDRESS', 'AWS_CREDENTIALS'],
      },
    ],
    columns: [
      {
        objectId: 'docs:hr/a.csv',
        componentPath: 'hr/a.csv',
        column: 'email',
        infoType: 'EMAIL_ADDRESS',
        category: 'PII',
        matchedRows: 3,
        sampledRows: 3,
        ratio: 1,
        likelihood: 'VERY_LIKELY',
      },
    ],
    failures: [
      {
        objectId: 'docs:bad.zip',
        objectPath: 'bad.zip',
        errorType: 'CONTENT_CORRUPT',
        errorMessage: 'zip: bad central directory <b>x</b>',
      },
    ],
    hotSpots: [
      { location: 'share', findings: 6, objects: 1 },
      { location: 'hr', findings: 4, objects: 1 },
    ],
  };
}

let browser: Browser;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-report-'));
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('HTML report loads cleanly and shows the exact numbers', async () => {
  const file = path.join(tmp, 'report.html');
  await writeFile(file, renderHtmlReport(sampleReport()));
  const report = await openReport(browser, file);
  expect(report.consoleErrors).toEqual([]);
  expect(report.externalRequests).toEqual([]);
  expect(await report.text('total-findings')).toBe('10');
  expect(await report.text('objects-enumerated')).toBe('10');
  expect(await report.text('objects-classified')).toBe('8');
  expect(await report.text('objects-failed')).toBe('1');
  expect(await report.text('coverage-percent')).toBe('80%');
  expect(await report.text('scan-phase')).toBe('completed');
  const counts = await report.page.$$eval('[data-testid="infotype-count"]', (els) =>
    Object.fromEntries(els.map((el) => [el.getAttribute('data-infotype'), Number(el.textContent)])),
  );
  expect(counts).toEqual({ EMAIL_ADDRESS: 7, CREDIT_CARD_NUMBER: 2, AWS_CREDENTIALS: 1 });
  // Both charts are drawn, one bar per row.
  expect(await report.page.locator('[data-testid="chart-categories-bar"]').count()).toBe(3);
  expect(await report.page.locator('[data-testid="chart-infotypes-bar"]').count()).toBe(3);
  expect(await report.all('hotspot-row')).toHaveLength(2);
  expect(await report.all('failure-type')).toEqual(['CONTENT_CORRUPT']);
  // The hostile path is text, not markup: no script ran, no element injected.
  expect(await report.page.evaluate('typeof globalThis.__pwned')).toBe('undefined');
  expect(await report.page.locator('script').count()).toBe(0);
  expect(await report.page.getByText(HOSTILE).count()).toBeGreaterThan(0);
  expect(await report.page.locator('b').count()).toBe(0);
  await report.page.close();
});

test('an empty scan renders without charts or errors', async () => {
  const empty: ScanReport = {
    ...sampleReport(),
    coverage: { enumerated: 0, detailed: 0, classified: 0, failed: 0, skipped: 0 },
    findingsByInfoType: [],
    findingsByCategory: [],
    objects: [],
    columns: [],
    failures: [],
    hotSpots: [],
  };
  const file = path.join(tmp, 'empty.html');
  await writeFile(file, renderHtmlReport(empty));
  const report = await openReport(browser, file);
  expect(report.consoleErrors).toEqual([]);
  expect(await report.text('total-findings')).toBe('0');
  expect(await report.text('coverage-percent')).toBe('100%');
  expect(await report.page.getByTestId('chart-categories-empty').count()).toBe(1);
  await report.page.close();
});

test('CSV quotes fields and defuses formulas; text escapes control characters', () => {
  const report = sampleReport();
  report.objects[1] = { ...report.objects[1], objectPath: '=HYPERLINK("http://x")' };
  const csv = renderCsvReport(report);
  const lines = csv.trimEnd().split('\r\n');
  expect(lines[0]).toBe('kind,object,column,infoType,category,count,detail');
  expect(lines).toContain('infoType,,,EMAIL_ADDRESS,PII,7,3 objects');
  expect(lines).toContain(`object,"'=HYPERLINK(""http://x"")",,EMAIL_ADDRESS AWS_CREDENTIALS,,4,classified`);
  expect(lines).toContain('failure,bad.zip,,,,,CONTENT_CORRUPT: zip: bad central directory <b>x</b>');
  expect(lines[lines.length - 1]).toBe('coverage,docs,,,,8,classified 8 of 10; failed 1; skipped 1');

  report.objects[1] = { ...report.objects[1], objectPath: 'evil\x1b[2Jname' };
  const text = renderTextReport(report);
  expect(text).toContain('evil\\x1b[2Jname');
  expect(text).not.toContain('\x1b');
  expect(text).toContain('Total findings: 10');
  expect(text).toContain('Coverage: 8/10 objects classified (80%), 1 failed, 1 skipped');
});

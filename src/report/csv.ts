/**
 * CSV rendering of a ScanReport: one row per (object, infoType) with findings, then one per column
 * classification and one per failure, distinguished by the `kind` column — one file a spreadsheet opens.
 */
import type { ScanReport } from '../results/types';

const HEADER = ['kind', 'object', 'column', 'infoType', 'category', 'count', 'detail'];

/** RFC 4180 quoting, plus a leading quote on formula-like cells (CSV injection in spreadsheets). */
export function csvCell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function renderCsvReport(report: ScanReport): string {
  const categoryOf = new Map(report.findingsByInfoType.map((r) => [r.infoType, r.category]));
  const rows: Array<Array<string | number | undefined>> = [HEADER];
  for (const row of report.findingsByInfoType) {
    rows.push(['infoType', '', '', row.infoType, row.category, row.count, `${row.objects} objects`]);
  }
  for (const object of report.objects) {
    rows.push([
      'object',
      object.objectPath,
      '',
      object.infoTypes.join(' '),
      '',
      object.findingCount,
      object.status,
    ]);
  }
  for (const column of report.columns) {
    rows.push([
      'column',
      column.componentPath,
      column.column,
      column.infoType,
      column.category ?? categoryOf.get(column.infoType),
      column.matchedRows,
      `${column.matchedRows}/${column.sampledRows} rows, ${column.likelihood}`,
    ]);
  }
  for (const failure of report.failures) {
    rows.push([
      'failure',
      failure.objectPath,
      '',
      '',
      '',
      '',
      `${failure.errorType}: ${failure.errorMessage}`,
    ]);
  }
  const { coverage } = report;
  rows.push([
    'coverage',
    report.scan.datasourceId,
    '',
    '',
    '',
    coverage.classified,
    `classified ${coverage.classified} of ${coverage.enumerated}; failed ${coverage.failed}; skipped ${coverage.skipped}`,
  ]);
  return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

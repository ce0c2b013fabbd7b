/** Plain-text (terminal) rendering of a ScanReport. */
import type { ScanReport } from '../results/types';

export function totalReportFindings(report: ScanReport): number {
  return report.findingsByInfoType.reduce((sum, row) => sum + row.count, 0);
}

/** Coverage as a percentage of enumerated objects that were classified (100 when nothing was enumerated). */
export function coveragePercent(report: ScanReport): number {
  const { enumerated, classified } = report.coverage;
  return enumerated === 0 ? 100 : Math.round((classified / enumerated) * 1000) / 10;
}

/** Control characters in object paths would rewrite the terminal: shown escaped. */
function safe(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export function renderTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((row) => row.map((cell) => safe(String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function renderTextReport(report: ScanReport): string {
  const { scan, coverage } = report;
  const out: string[] = [];
  out.push(`Scan ${safe(scan.scanId)} of ${safe(scan.datasourceId)} (${scan.datasourceType}): ${scan.phase}`);
  out.push(`Started ${scan.startedAt}${scan.finishedAt ? `, finished ${scan.finishedAt}` : ''}`);
  out.push(
    `Coverage: ${coverage.classified}/${coverage.enumerated} objects classified (${coveragePercent(report)}%), ${coverage.failed} failed, ${coverage.skipped} skipped`,
  );
  out.push(`Total findings: ${totalReportFindings(report)}`);
  out.push('');
  out.push('Findings by infoType');
  out.push(
    report.findingsByInfoType.length === 0
      ? '  (none)'
      : renderTable(
          ['INFOTYPE', 'CATEGORY', 'FINDINGS', 'OBJECTS'],
          report.findingsByInfoType.map((r) => [r.infoType, r.category, r.count, r.objects]),
        ),
  );
  out.push('');
  out.push('Findings by object');
  out.push(
    report.objects.length === 0
      ? '  (none)'
      : renderTable(
          ['OBJECT', 'FINDINGS', 'INFOTYPES'],
          report.objects.map((o) => [o.objectPath, o.findingCount, o.infoTypes.join(',')]),
        ),
  );
  if (report.columns.length > 0) {
    out.push('');
    out.push('Findings by column');
    out.push(
      renderTable(
        ['TABLE', 'COLUMN', 'INFOTYPE', 'MATCHED', 'SAMPLED', 'LIKELIHOOD'],
        report.columns.map((c) => [
          c.componentPath,
          c.column,
          c.infoType,
          c.matchedRows,
          c.sampledRows,
          c.likelihood,
        ]),
      ),
    );
  }
  if (report.hotSpots.length > 0) {
    out.push('');
    out.push('Hot spots');
    out.push(
      renderTable(
        ['LOCATION', 'FINDINGS', 'OBJECTS'],
        report.hotSpots.map((h) => [h.location, h.findings, h.objects]),
      ),
    );
  }
  out.push('');
  out.push('Failures');
  out.push(
    report.failures.length === 0
      ? '  (none)'
      : renderTable(
          ['OBJECT', 'ERROR', 'REASON'],
          report.failures.map((f) => [f.objectPath, f.errorType, f.errorMessage.split('\n')[0]]),
        ),
  );
  return `${out.join('\n')}\n`;
}

/**
 * One self-contained HTML report: inline CSS, inline SVG charts, no scripts, no external assets, so it
 * can be mailed or archived as is. Every value from the scan (object paths, messages) is escaped:
 * object names are attacker-controlled. Elements carry `data-testid` for automated checks.
 */
import type { ScanReport } from '../results/types';
import { coveragePercent, totalReportFindings } from './text';

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const CATEGORY_COLOURS: Record<string, string> = {
  PII: '#3b82f6',
  FINANCIAL: '#f59e0b',
  GOVERNMENT_ID: '#ef4444',
  HEALTH: '#10b981',
  CREDENTIAL: '#8b5cf6',
  NETWORK: '#6b7280',
};
const colourOf = (category: string) => CATEGORY_COLOURS[category] ?? '#64748b';

/** A horizontal bar chart as inline SVG. */
function barChart(
  testId: string,
  title: string,
  rows: Array<{ label: string; value: number; colour: string }>,
): string {
  if (rows.length === 0) return `<p class="empty" data-testid="${testId}-empty">No findings.</p>`;
  const max = Math.max(...rows.map((r) => r.value), 1);
  const rowHeight = 26;
  // Wide enough for the longest label (about 7.5 px per character at 12 px).
  const labelWidth = Math.max(120, Math.ceil(Math.max(...rows.map((r) => r.label.length)) * 7.5) + 16);
  const barWidth = 420;
  const height = rows.length * rowHeight + 10;
  const bars = rows
    .map((row, i) => {
      const y = 5 + i * rowHeight;
      const width = Math.max(2, Math.round((row.value / max) * barWidth));
      return (
        `<g data-testid="${testId}-bar" data-label="${escapeHtml(row.label)}" data-value="${row.value}">` +
        `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${escapeHtml(row.label)}</text>` +
        `<rect x="${labelWidth}" y="${y + 3}" width="${width}" height="${rowHeight - 8}" rx="3" fill="${row.colour}"></rect>` +
        `<text x="${labelWidth + width + 6}" y="${y + 16}">${row.value}</text></g>`
      );
    })
    .join('');
  return (
    `<svg data-testid="${testId}" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${labelWidth + barWidth + 60} ${height}" ` +
    `width="100%" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(title)}</title>${bars}</svg>`
  );
}

function table(testId: string, headers: string[], rows: string[][], rowTestId: string): string {
  if (rows.length === 0) return `<p class="empty" data-testid="${testId}-empty">None.</p>`;
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((cells) => `<tr data-testid="${rowTestId}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('');
  return `<table data-testid="${testId}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#f8fafc}
body{margin:0;padding:24px;max-width:1100px;margin:auto}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.15rem;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.meta{color:#475569;font-size:.9rem}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;min-width:140px}
.card .value{font-size:1.6rem;font-weight:600}.card .label{color:#475569;font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{border:1px solid #e2e8f0;padding:6px 8px;text-align:left;vertical-align:top;word-break:break-all}
th{background:#f1f5f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
svg text{font-size:12px;fill:#0f172a}
.empty{color:#64748b;font-style:italic}
.phase-completed{color:#15803d}.phase-failed{color:#b91c1c}.phase-cancelled{color:#b45309}
.pill{display:inline-block;border-radius:999px;padding:0 8px;font-size:.75rem;color:#fff}
`;

export function renderHtmlReport(report: ScanReport, options: { generatedAt?: Date } = {}): string {
  const { scan, coverage } = report;
  const total = totalReportFindings(report);
  const generatedAt = (options.generatedAt ?? new Date()).toISOString();
  const card = (testId: string, label: string, value: string | number) =>
    `<div class="card"><div class="value" data-testid="${testId}">${escapeHtml(value)}</div><div class="label">${escapeHtml(label)}</div></div>`;
  const pill = (category: string) =>
    `<span class="pill" style="background:${colourOf(category)}">${escapeHtml(category)}</span>`;

  const infoTypeRows = report.findingsByInfoType.map((r) => [
    `<span data-testid="infotype-name">${escapeHtml(r.infoType)}</span>`,
    pill(r.category),
    `<span data-testid="infotype-count" data-infotype="${escapeHtml(r.infoType)}">${r.count}</span>`,
    String(r.objects),
  ]);
  const objectRows = report.objects.map((o) => [
    escapeHtml(o.objectPath),
    escapeHtml(o.objectType),
    `<span data-testid="object-findings">${o.findingCount}</span>`,
    escapeHtml(o.infoTypes.join(', ')),
  ]);
  const columnRows = report.columns.map((c) => [
    escapeHtml(c.componentPath),
    escapeHtml(c.column),
    escapeHtml(c.infoType),
    `${c.matchedRows} / ${c.sampledRows}`,
    escapeHtml(c.likelihood),
  ]);
  const hotSpotRows = report.hotSpots.map((h) => [
    escapeHtml(h.location),
    String(h.findings),
    String(h.objects),
  ]);
  const failureRows = report.failures.map((f) => [
    escapeHtml(f.objectPath),
    `<span data-testid="failure-type">${escapeHtml(f.errorType)}</span>`,
    escapeHtml(f.errorMessage),
  ]);

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Assay report — ${escapeHtml(scan.scanId)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Assay scan report</h1>
<div class="meta">Scan <code data-testid="scan-id">${escapeHtml(scan.scanId)}</code> of
<strong data-testid="datasource-id">${escapeHtml(scan.datasourceId)}</strong> (${escapeHtml(scan.datasourceType)}) —
<span class="phase-${escapeHtml(scan.phase)}" data-testid="scan-phase">${escapeHtml(scan.phase)}</span><br>
Started ${escapeHtml(scan.startedAt)}${scan.finishedAt ? `, finished ${escapeHtml(scan.finishedAt)}` : ''} ·
ruleset ${escapeHtml(scan.rulesetVersion)} · generated ${escapeHtml(generatedAt)}</div>
</header>
<section aria-label="Summary"><div class="cards">
${card('total-findings', 'Findings', total)}
${card('objects-with-findings', 'Objects with findings', report.objects.filter((o) => o.findingCount > 0).length)}
${card('objects-enumerated', 'Objects enumerated', coverage.enumerated)}
${card('objects-classified', 'Objects classified', coverage.classified)}
${card('objects-failed', 'Objects failed', coverage.failed)}
${card('objects-skipped', 'Objects skipped', coverage.skipped)}
${card('coverage-percent', 'Coverage', `${coveragePercent(report)}%`)}
</div></section>
<h2>Findings by category</h2>
${barChart(
  'chart-categories',
  'Findings by category',
  report.findingsByCategory.map((c) => ({ label: c.category, value: c.count, colour: colourOf(c.category) })),
)}
<h2>Findings by infoType</h2>
${barChart(
  'chart-infotypes',
  'Findings by infoType',
  report.findingsByInfoType.map((r) => ({ label: r.infoType, value: r.count, colour: colourOf(r.category) })),
)}
${table('infotype-table', ['infoType', 'Category', 'Findings', 'Objects'], infoTypeRows, 'infotype-row')}
<h2>Hot spots</h2>
${table('hotspot-table', ['Location', 'Findings', 'Objects'], hotSpotRows, 'hotspot-row')}
<h2>Objects with findings</h2>
${table('object-table', ['Object', 'Type', 'Findings', 'infoTypes'], objectRows, 'object-row')}
${
  columnRows.length > 0
    ? `<h2>Columns</h2>\n${table('column-table', ['Table', 'Column', 'infoType', 'Matched / sampled rows', 'Likelihood'], columnRows, 'column-row')}`
    : ''
}
<h2>Failures</h2>
${table('failure-table', ['Object', 'Error', 'Reason'], failureRows, 'failure-row')}
<h2>Coverage</h2>
<p data-testid="coverage-text">${coverage.classified} of ${coverage.enumerated} objects classified (${coveragePercent(report)}%);
${coverage.failed} failed; ${coverage.skipped} skipped (unchanged since the last scan).</p>
</body>
</html>
`;
}

/** `assay scan …`: start, status, list, pause, resume, cancel, concurrency, results, diff, delete, prune. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import {
  cancelSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
  SCAN_WORKFLOW_TYPE,
  setConcurrencyUpdate,
} from '../../../workflows/definitions';
import type { SamplingOptions } from '../../core/models';
import { LIKELIHOODS, type Likelihood } from '../../classification/types';
import type { ScanInput, ScanOptions, ScanProgress } from '../../scan/types';
import type { ScanDiff, ScanRecord, ScanReport } from '../../results/types';
import { renderCsvReport } from '../../report/csv';
import { renderHtmlReport } from '../../report/html';
import { renderTable, renderTextReport, totalReportFindings } from '../../report/text';
import { CliError, EXIT, notFoundError, usageError } from '../exit-codes';
import type { CliIo } from '../io';
import { openStore, validateDatasource } from '../integrations';
import { ProgressPrinter, totalFindings } from '../progress';
import { globalOptions, resolveSettings, type Settings } from '../settings';
import { datasourceFromFile, datasourceFromUri } from '../source';
import { connectTemporal, withDeadline, type TemporalSession } from '../temporal-client';

export interface CommandContext {
  io: CliIo;
  /** Set by each action: the process exit code. */
  setExitCode(code: number): void;
  /** Aborted on SIGINT/SIGTERM: long-running actions stop following and return. */
  abortSignal: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// Option parsers

export function parseIntOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}`);
    }
    return n;
  };
}

/** `full`, `limit:N` or `percent:P`. */
export function parseSampling(value: string): SamplingOptions {
  const [mode, arg] = value.split(':', 2);
  if (mode === 'full' && arg === undefined) return { mode: 'full' };
  if (mode === 'limit' && arg !== undefined && /^\d+$/.test(arg) && Number(arg) >= 1)
    return { mode: 'limit', rows: Number(arg) };
  if (mode === 'percent' && arg !== undefined && Number(arg) > 0 && Number(arg) <= 100) {
    return { mode: 'percent', percent: Number(arg) };
  }
  throw new InvalidArgumentError('expected full, limit:N (N ≥ 1) or percent:P (0 < P ≤ 100)');
}

/** Sizes like 1048576, 512k, 100M, 2G. */
export function parseBytes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a size like 1048576, 512k, 100M or 2G');
  const factor = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
    match[2].toLowerCase() as '' | 'k' | 'm' | 'g'
  ];
  const bytes = Math.floor(Number(match[1]) * factor);
  if (bytes < 1) throw new InvalidArgumentError('size must be at least 1 byte');
  return bytes;
}

/** An age like `12h`, `90d` or `8w`, in milliseconds (at least an hour). */
export function parseAge(value: string): number {
  const match = /^(\d+)\s*([hdw])$/.exec(value.trim());
  const hours = match ? Number(match[1]) * { h: 1, d: 24, w: 168 }[match[2] as 'h' | 'd' | 'w'] : 0;
  if (!match || hours < 1)
    throw new InvalidArgumentError('expected an age of at least 1h, like 12h, 90d or 8w');
  return hours * 3_600_000;
}

function parseDetectors(value: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('expected a comma-separated list of infoTypes');
  return list;
}

// ---------------------------------------------------------------------------------------------
// Helpers

export async function withTemporal<T>(
  settings: Settings,
  fn: (session: TemporalSession) => Promise<T>,
): Promise<T> {
  const session = await connectTemporal(settings);
  try {
    return await fn(session);
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** The handle of an existing scan; exit 4 when Temporal does not know it. */
async function existingScan(session: TemporalSession, scanId: string) {
  const handle = session.client.workflow.getHandle(scanId);
  try {
    const description = await handle.describe();
    return { handle, description };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFoundError(`scan not found: ${scanId}`, err);
    throw err;
  }
}

function timestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace('T', '-')
    .replace(/\.(\d{3})Z$/, '$1z')
    .toLowerCase();
}

function isProgress(value: unknown): value is ScanProgress {
  return typeof value === 'object' && value !== null && 'phase' in value && 'findingsByInfoType' in value;
}

/** Reads progress: the `progress` query, else (closed scan, no worker) the workflow result. */
async function readProgress(
  session: TemporalSession,
  handle: WorkflowHandle,
  closed: boolean,
): Promise<ScanProgress | undefined> {
  try {
    return await withDeadline(session, closed ? 15_000 : 5_000, () => handle.query(progressQuery));
  } catch {
    if (!closed) return undefined;
    try {
      const result = await withDeadline(session, 5_000, () => handle.result());
      return isProgress(result) ? result : undefined;
    } catch {
      return undefined;
    }
  }
}

function failureOf(err: unknown): { type: string; message: string } {
  let current: unknown = err instanceof WorkflowFailedError ? err.cause : err;
  let type = 'INTERNAL';
  let message = current instanceof Error ? current.message : String(current);
  for (let i = 0; i < 6 && current instanceof Error; i++) {
    const maybeType = (current as { type?: unknown }).type;
    if (typeof maybeType === 'string' && maybeType) {
      type = maybeType;
      message = current.message;
    }
    current = current.cause;
  }
  message = message.split('\n')[0];
  if (message.startsWith(`${type}: `)) message = message.slice(type.length + 2);
  return { type, message };
}

/** What `--json` prints for a scan. */
export interface ScanJson {
  scanId: string;
  workflowStatus?: string;
  phase: string;
  datasourceId?: string;
  enumerated: number;
  detailed: number;
  classified: number;
  failed: number;
  skipped: number;
  bytesScanned: number;
  totalFindings: number;
  findingsByInfoType: Record<string, number>;
  startedAt?: string;
  updatedAt?: string;
  error?: { type: string; message: string };
}

function scanJson(
  scanId: string,
  progress: ScanProgress | undefined,
  extra: Partial<ScanJson> = {},
): ScanJson {
  const findings = progress?.findingsByInfoType ?? {};
  return {
    scanId,
    phase: progress?.phase ?? 'unknown',
    datasourceId: progress?.datasourceId,
    enumerated: progress?.enumerated ?? 0,
    detailed: progress?.detailed ?? 0,
    classified: progress?.classified ?? 0,
    failed: progress?.failed ?? 0,
    skipped: progress?.skipped ?? 0,
    bytesScanned: progress?.bytesScanned ?? 0,
    totalFindings: totalFindings({ findingsByInfoType: findings }),
    findingsByInfoType: findings,
    startedAt: progress?.startedAt,
    updatedAt: progress?.updatedAt,
    ...(progress?.error ? { error: progress.error } : {}),
    ...extra,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Follows a scan until its workflow closes, drawing frames on `printer` (if any). Returns the final
 * progress and, if the workflow failed, its error.
 */
async function follow(
  session: TemporalSession,
  handle: WorkflowHandle,
  ctx: CommandContext,
  printer: ProgressPrinter | undefined,
  intervalMs: number,
): Promise<{ progress?: ScanProgress; status: string; error?: { type: string; message: string } }> {
  let last: ScanProgress | undefined;
  let warned = false;
  for (;;) {
    const description = await handle.describe();
    const status = description.status.name;
    if (status !== 'RUNNING') {
      let error: { type: string; message: string } | undefined;
      let result: unknown;
      try {
        result = await withDeadline(session, 10_000, () => handle.result());
      } catch (err) {
        error = failureOf(err);
      }
      const progress = isProgress(result) ? result : ((await readProgress(session, handle, true)) ?? last);
      if (progress) printer?.frame(progress);
      printer?.finish();
      return { progress, status, error: error ?? progress?.error };
    }
    const progress = await readProgress(session, handle, false);
    if (progress) {
      last = progress;
      printer?.frame(progress);
    } else if (!last && !warned) {
      // Queries are answered by workers: none answering usually means none is running.
      warned = true;
      if (printer) ctx.io.stderr.write(`waiting for a worker on task queue "${description.taskQueue}" …\n`);
    }
    if (ctx.abortSignal.aborted) {
      printer?.finish();
      return { progress: last, status };
    }
    await sleep(intervalMs, ctx.abortSignal);
  }
}

function phaseExitCode(
  phase: string | undefined,
  error: unknown,
  findings: number,
  failOnFindings: boolean,
): number {
  if (error || phase === 'failed') return EXIT.FINDINGS_OR_FAILED;
  if (failOnFindings && findings > 0) return EXIT.FINDINGS_OR_FAILED;
  return EXIT.OK;
}

// ---------------------------------------------------------------------------------------------
// Commands

/** What a scan reads and how: shared by `scan start` and `schedule create`. */
export interface ScanSpecOptions {
  config?: string;
  name?: string;
  batchSize?: number;
  concurrency?: number;
  sampling?: SamplingOptions;
  detectors?: string[];
  minLikelihood?: Likelihood;
  incremental?: boolean;
  maxObjectBytes?: number;
  s3Endpoint?: string;
  s3Region?: string;
}

interface StartOptions extends ScanSpecOptions {
  id?: string;
  wait?: boolean;
  json?: boolean;
  failOnFindings?: boolean;
  interval: number;
}

/** Adds the source and scan options (`ScanSpecOptions`) to a command. */
export function withScanSpecOptions(command: Command): Command {
  return command
    .argument(
      '[source]',
      'folder path | s3://bucket/prefix | postgres://user@host:port/db | mysql://user@host:port/db',
    )
    .option('--config <file>', 'datasource spec file (JSON/YAML: {id, type, config}) instead of a source URI')
    .option('--name <id>', 'datasource id (default: folder name, bucket or database)')
    .option(
      '--batch-size <n>',
      'objects per batch (default 1000)',
      parseIntOption('--batch-size', 1, 100_000),
    )
    .option(
      '--concurrency <n>',
      'batches in flight at once, 1-64 (default 4)',
      parseIntOption('--concurrency', 1, 64),
    )
    .option(
      '--sampling <mode>',
      'database row sampling: full | limit:N | percent:P (default limit:1000)',
      parseSampling,
    )
    .option('--detectors <list>', 'comma-separated infoTypes to run (default: all)', parseDetectors)
    .addOption(
      new Option('--min-likelihood <level>', 'reporting threshold (default POSSIBLE)').choices([
        ...LIKELIHOODS,
      ]),
    )
    .option('--incremental', 'skip objects unchanged since the last completed scan of this source')
    .option(
      '--max-object-bytes <size>',
      'larger objects are recorded as CONTENT_TOO_LARGE (default 100M)',
      parseBytes,
    )
    .option(
      '--s3-endpoint <url>',
      'S3-compatible endpoint, e.g. http://localhost:9000 (default AWS_ENDPOINT_URL)',
    )
    .option('--s3-region <region>', 'S3 region (default AWS_REGION)');
}

/** The datasource and scan options a source URI (or datasource file) and the scan flags describe. */
export async function scanSpecFrom(
  source: string | undefined,
  opts: ScanSpecOptions,
): Promise<Pick<ScanInput, 'datasource' | 'options'> & { options: ScanOptions }> {
  if (source && opts.config) throw usageError('give either a source or --config <datasource file>, not both');
  if (!source && !opts.config)
    throw usageError('missing source: a folder, s3://…, postgres://… or mysql://… (or --config FILE)');
  const datasource = opts.config
    ? await datasourceFromFile(opts.config)
    : await datasourceFromUri(source as string, {
        name: opts.name,
        s3Endpoint: opts.s3Endpoint,
        s3Region: opts.s3Region,
      });
  if (opts.name && opts.config) datasource.id = opts.name;
  validateDatasource(datasource.type, datasource.config);

  const options: ScanOptions = {};
  if (opts.batchSize !== undefined) options.batchSize = opts.batchSize;
  if (opts.concurrency !== undefined) options.maxConcurrentBatches = opts.concurrency;
  if (opts.sampling) options.sampling = opts.sampling;
  if (opts.detectors) options.detectors = opts.detectors;
  if (opts.minLikelihood) options.minLikelihood = opts.minLikelihood;
  if (opts.incremental) options.incremental = true;
  if (opts.maxObjectBytes !== undefined) options.maxObjectBytes = opts.maxObjectBytes;
  return { datasource, options };
}

async function startAction(
  source: string | undefined,
  opts: StartOptions,
  cmd: Command,
  ctx: CommandContext,
) {
  const settings = await resolveSettings(globalOptions(cmd));
  const { datasource, options } = await scanSpecFrom(source, opts);

  const scanId = opts.id ?? `scan-${datasource.id}-${timestamp()}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(scanId)) {
    throw usageError(`invalid scan id "${scanId}": letters, digits, '.', '_', ':' and '-' only`);
  }
  const input: ScanInput = { scanId, datasource, options };

  await withTemporal(settings, async (session) => {
    const handle = await session.client.workflow.start(SCAN_WORKFLOW_TYPE, {
      taskQueue: settings.taskQueue,
      workflowId: scanId,
      args: [input],
    });
    if (!opts.wait) {
      if (opts.json) {
        const json = { ...scanJson(scanId, undefined, { phase: 'starting' }), datasourceId: datasource.id };
        ctx.io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      } else {
        ctx.io.stdout.write(`${scanId}\n`);
        ctx.io.stderr.write(
          `started scan ${scanId} of ${datasource.type} source "${datasource.id}"; follow it with: assay scan status ${scanId}\n`,
        );
      }
      ctx.setExitCode(EXIT.OK);
      return;
    }
    // Live progress goes to stderr so stdout stays a clean result (JSON or summary).
    const printer = opts.json && !ctx.io.stderr.isTTY ? undefined : new ProgressPrinter(ctx.io.stderr);
    const outcome = await follow(session, handle, ctx, printer, opts.interval);
    if (outcome.status === 'RUNNING') {
      ctx.io.stderr.write(`stopped following; the scan goes on: assay scan status ${scanId}\n`);
    }
    const json = scanJson(scanId, outcome.progress, {
      workflowStatus: outcome.status,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    if (outcome.error && outcome.status !== 'RUNNING') json.phase = 'failed';
    if (opts.json) ctx.io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    else ctx.io.stdout.write(summaryText(json));
    if (outcome.error)
      ctx.io.stderr.write(`scan ${scanId} failed: ${outcome.error.type}: ${outcome.error.message}\n`);
    ctx.setExitCode(
      phaseExitCode(json.phase, outcome.error, json.totalFindings, Boolean(opts.failOnFindings)),
    );
  });
}

function summaryText(json: ScanJson): string {
  const lines = [
    `scan ${json.scanId}: ${json.phase}`,
    `objects: ${json.enumerated} enumerated, ${json.classified} classified, ${json.failed} failed, ${json.skipped} skipped`,
    `findings: ${json.totalFindings}`,
  ];
  const entries = Object.entries(json.findingsByInfoType).sort(
    (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
  );
  for (const [infoType, count] of entries) lines.push(`  ${infoType.padEnd(28)} ${count}`);
  return `${lines.join('\n')}\n`;
}

async function statusAction(
  scanId: string,
  opts: { once?: boolean; json?: boolean; interval: number },
  cmd: Command,
  ctx: CommandContext,
) {
  const settings = await resolveSettings(globalOptions(cmd));
  await withTemporal(settings, async (session) => {
    const { handle, description } = await existingScan(session, scanId);
    const closed = description.status.name !== 'RUNNING';
    if (opts.json || opts.once) {
      let progress = await readProgress(session, handle, closed);
      let error: { type: string; message: string } | undefined;
      if (closed && description.status.name === 'FAILED') {
        error = await handle.result().then(
          () => undefined,
          (err: unknown) => failureOf(err),
        );
        if (progress && progress.phase !== 'failed') progress = { ...progress, phase: 'failed' };
      }
      const json = scanJson(scanId, progress, {
        workflowStatus: description.status.name,
        ...(error ? { error } : {}),
      });
      if (opts.json) ctx.io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      else if (progress) new ProgressPrinter({ write: (t) => ctx.io.stdout.write(t) }).frame(progress);
      else
        ctx.io.stdout.write(
          `${scanId}: ${description.status.name} (no progress available: is a worker running?)\n`,
        );
      ctx.setExitCode(json.phase === 'failed' ? EXIT.FINDINGS_OR_FAILED : EXIT.OK);
      return;
    }
    const printer = new ProgressPrinter(ctx.io.stdout);
    const outcome = await follow(session, handle, ctx, printer, opts.interval);
    if (outcome.error)
      ctx.io.stderr.write(`scan ${scanId} failed: ${outcome.error.type}: ${outcome.error.message}\n`);
    ctx.setExitCode(
      outcome.error || outcome.progress?.phase === 'failed' ? EXIT.FINDINGS_OR_FAILED : EXIT.OK,
    );
  });
}

interface ListRow {
  scanId: string;
  workflowStatus?: string;
  phase?: string;
  datasourceId?: string;
  datasourceType?: string;
  startedAt?: string;
  finishedAt?: string;
}

async function listAction(opts: { limit: number; json?: boolean }, cmd: Command, ctx: CommandContext) {
  const settings = await resolveSettings(globalOptions(cmd));
  const rows = new Map<string, ListRow>();
  await withTemporal(settings, async (session) => {
    const iterator = session.client.workflow.list({ query: `WorkflowType = '${SCAN_WORKFLOW_TYPE}'` });
    for await (const execution of iterator) {
      if (!rows.has(execution.workflowId)) {
        rows.set(execution.workflowId, {
          scanId: execution.workflowId,
          workflowStatus: execution.status.name,
          startedAt: execution.startTime.toISOString(),
          finishedAt: execution.closeTime?.toISOString(),
        });
      }
      if (rows.size >= opts.limit) break;
    }
  });
  let storeNote: string | undefined;
  if (settings.databaseUrl) {
    let scans: ScanRecord[] = [];
    try {
      const store = await openStore(settings.databaseUrl);
      try {
        scans = await store.listScans(opts.limit);
      } finally {
        await store.close();
      }
    } catch (err) {
      storeNote = `(results store not available: ${(err as Error).message})`;
    }
    for (const scan of scans) {
      const row = rows.get(scan.scanId) ?? { scanId: scan.scanId, startedAt: scan.startedAt };
      Object.assign(row, {
        phase: scan.phase,
        datasourceId: scan.datasourceId,
        datasourceType: scan.datasourceType,
        finishedAt: row.finishedAt ?? scan.finishedAt,
      });
      rows.set(scan.scanId, row);
    }
  }
  const sorted = [...rows.values()]
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))
    .slice(0, opts.limit);
  if (opts.json) {
    ctx.io.stdout.write(`${JSON.stringify(sorted, null, 2)}\n`);
  } else if (sorted.length === 0) {
    ctx.io.stdout.write('no scans yet: start one with `assay scan start <folder>`\n');
  } else {
    ctx.io.stdout.write(
      `${renderTable(
        ['SCAN ID', 'WORKFLOW', 'PHASE', 'DATASOURCE', 'STARTED'],
        sorted.map((r) => [
          r.scanId,
          r.workflowStatus ?? '-',
          r.phase ?? '-',
          r.datasourceId ? `${r.datasourceId} (${r.datasourceType})` : '-',
          r.startedAt ?? '-',
        ]),
      )}\n`,
    );
  }
  if (storeNote) ctx.io.stderr.write(`${storeNote}\n`);
  ctx.setExitCode(EXIT.OK);
}

interface DiffOptions {
  base?: string;
  limit: number;
  json?: boolean;
  failOnNew?: boolean;
}

/** Findings added and removed since a base scan (default: the previous completed scan of the source). */
async function diffAction(scanId: string, opts: DiffOptions, cmd: Command, ctx: CommandContext) {
  const settings = await resolveSettings(globalOptions(cmd));
  const store = await openStore(settings.databaseUrl);
  let diff: ScanDiff;
  try {
    if (!(await store.getScan(scanId))) throw notFoundError(`scan not found in the results store: ${scanId}`);
    const base = opts.base ?? (await store.previousCompletedScan(scanId))?.scanId;
    if (!base) {
      throw notFoundError(
        `scan ${scanId} has no earlier completed scan of its source with the same ruleset: give one with --base`,
      );
    }
    // diffScans answers an unknown base with OBJECT_NOT_FOUND (exit 4).
    diff = await store.diffScans(base, scanId, opts.limit);
  } finally {
    await store.close();
  }
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const added = total(diff.addedByInfoType);
  const removed = total(diff.removedByInfoType);
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(diff, null, 2)}\n`);
  else {
    const lines = [`scan ${scanId} against ${diff.baseScanId}: ${added} findings added, ${removed} removed`];
    for (const [title, entries, byInfoType] of [
      ['added', diff.added, diff.addedByInfoType],
      ['removed', diff.removed, diff.removedByInfoType],
    ] as const) {
      if (entries.length === 0) continue;
      lines.push(
        '',
        `${title}: ${Object.entries(byInfoType)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}`,
      );
      lines.push(
        renderTable(
          ['WHERE', 'INFOTYPE', 'MASKED', 'COUNT'],
          entries.map((e) => {
            // A component's path names its object's (an archive member's `a.zip!/x.csv`), a table's does not.
            const where = e.componentPath.startsWith(e.path)
              ? e.componentPath
              : `${e.path} ${e.componentPath}`;
            return [e.column ? `${where} [${e.column}]` : where, e.infoType, e.masked, e.count];
          }),
        ),
      );
    }
    ctx.io.stdout.write(`${lines.join('\n')}\n`);
  }
  ctx.setExitCode(opts.failOnNew && added > 0 ? EXIT.FINDINGS_OR_FAILED : EXIT.OK);
}

function deletedLine(d: { scanId: string; objects?: number; findings?: number }): string {
  return `deleted scan ${d.scanId}: ${d.objects} objects, ${d.findings} findings\n`;
}

/** Deletes finished scans' records from the results store; a scan Temporal still runs is refused. */
async function deleteAction(scanIds: string[], opts: { json?: boolean }, cmd: Command, ctx: CommandContext) {
  const settings = await resolveSettings(globalOptions(cmd));
  await withTemporal(settings, async (session) => {
    for (const scanId of scanIds) {
      try {
        const { description } = await existingScan(session, scanId);
        if (description.status.name === 'RUNNING')
          throw usageError(`scan ${scanId} is still running: cancel it first (assay scan cancel ${scanId})`);
      } catch (err) {
        // Temporal may have dropped a finished scan's history already (namespace retention): the store decides.
        if (!(err instanceof CliError && err.exitCode === EXIT.NOT_FOUND)) throw err;
      }
    }
  });
  const store = await openStore(settings.databaseUrl);
  const deleted: Array<{ scanId: string; objects: number; findings: number }> = [];
  try {
    for (const scanId of scanIds) {
      if (!(await store.getScan(scanId)))
        throw notFoundError(`scan not found in the results store: ${scanId}`);
    }
    for (const scanId of scanIds) deleted.push({ scanId, ...(await store.deleteScan(scanId)) });
  } finally {
    await store.close();
  }
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(deleted, null, 2)}\n`);
  else for (const d of deleted) ctx.io.stdout.write(deletedLine(d));
  ctx.setExitCode(EXIT.OK);
}

/** Retention: deletes finished scans older than an age, keeping each source's latest completed scan. */
async function pruneAction(
  opts: { olderThan: number; dryRun?: boolean; json?: boolean },
  cmd: Command,
  ctx: CommandContext,
) {
  const settings = await resolveSettings(globalOptions(cmd));
  const store = await openStore(settings.databaseUrl);
  const pruned: Array<
    { scanId: string; datasourceId: string; phase: string; finishedAt?: string } & Partial<
      Record<'objects' | 'findings', number>
    >
  > = [];
  try {
    for (const scan of await store.scansEndedBefore(new Date(Date.now() - opts.olderThan))) {
      const row = {
        scanId: scan.scanId,
        datasourceId: scan.datasourceId,
        phase: scan.phase,
        finishedAt: scan.finishedAt,
      };
      pruned.push(opts.dryRun ? row : { ...row, ...(await store.deleteScan(scan.scanId)) });
    }
  } finally {
    await store.close();
  }
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(pruned, null, 2)}\n`);
  else {
    for (const p of pruned)
      ctx.io.stdout.write(
        opts.dryRun
          ? `would delete scan ${p.scanId} (${p.datasourceId}, ${p.phase}, ended ${p.finishedAt ?? '-'})\n`
          : deletedLine(p),
      );
    if (pruned.length === 0) ctx.io.stdout.write('nothing to prune\n');
  }
  ctx.setExitCode(EXIT.OK);
}

async function signalAction(
  kind: 'pause' | 'resume' | 'cancel',
  scanId: string,
  opts: { reason?: string },
  cmd: Command,
  ctx: CommandContext,
) {
  const settings = await resolveSettings(globalOptions(cmd));
  await withTemporal(settings, async (session) => {
    const { handle, description } = await existingScan(session, scanId);
    if (description.status.name !== 'RUNNING') {
      throw new CliError(
        `scan ${scanId} is not running (${description.status.name}): nothing to ${kind}`,
        EXIT.USAGE,
      );
    }
    if (kind === 'pause') await handle.signal(pauseSignal);
    else if (kind === 'resume') await handle.signal(resumeSignal);
    else await handle.signal(cancelSignal, opts.reason ?? 'cancelled from the assay CLI');
    ctx.io.stdout.write(`sent ${kind} to scan ${scanId}\n`);
    ctx.setExitCode(EXIT.OK);
  });
}

async function concurrencyAction(
  scanId: string,
  value: number,
  opts: { json?: boolean },
  cmd: Command,
  ctx: CommandContext,
) {
  const settings = await resolveSettings(globalOptions(cmd));
  await withTemporal(settings, async (session) => {
    const { handle, description } = await existingScan(session, scanId);
    if (description.status.name !== 'RUNNING') {
      throw new CliError(`scan ${scanId} is not running (${description.status.name})`, EXIT.USAGE);
    }
    const previous = await handle.executeUpdate(setConcurrencyUpdate, { args: [value] });
    if (opts.json)
      ctx.io.stdout.write(`${JSON.stringify({ scanId, previous, maxConcurrentBatches: value })}\n`);
    else ctx.io.stdout.write(`scan ${scanId}: concurrent batches ${previous} -> ${value}\n`);
    ctx.setExitCode(EXIT.OK);
  });
}

export type ReportFormat = 'table' | 'json' | 'csv' | 'html';

export function renderReport(report: ScanReport, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify({ ...report, totalFindings: totalReportFindings(report) }, null, 2)}\n`;
    case 'csv':
      return renderCsvReport(report);
    case 'html':
      return renderHtmlReport(report);
    default:
      return renderTextReport(report);
  }
}

interface ResultsOptions {
  format: ReportFormat;
  json?: boolean;
  out?: string;
  failOnFindings?: boolean;
}

async function resultsAction(scanId: string, opts: ResultsOptions, cmd: Command, ctx: CommandContext) {
  const settings = await resolveSettings(globalOptions(cmd));
  const format: ReportFormat = opts.json ? 'json' : opts.format;
  const store = await openStore(settings.databaseUrl);
  let report: ScanReport;
  try {
    if (!(await store.getScan(scanId))) throw notFoundError(`scan not found in the results store: ${scanId}`);
    report = await store.report(scanId);
  } finally {
    await store.close();
  }
  const text = renderReport(report, format);
  if (opts.out) {
    const file = path.resolve(opts.out);
    try {
      await writeFile(file, text);
    } catch (err) {
      throw usageError(
        `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        err,
      );
    }
    ctx.io.stderr.write(`wrote ${format} report to ${file}\n`);
  } else {
    ctx.io.stdout.write(text);
  }
  ctx.setExitCode(opts.failOnFindings && totalReportFindings(report) > 0 ? EXIT.FINDINGS_OR_FAILED : EXIT.OK);
}

// ---------------------------------------------------------------------------------------------
// Registration

export function registerScanCommands(program: Command, ctx: CommandContext): void {
  const scan = program.command('scan').description('start, follow, steer and report scans');
  const interval = () =>
    new Option('--interval <ms>', 'refresh interval of the live progress')
      .default(1000)
      .argParser(parseIntOption('--interval', 100, 60_000));

  withScanSpecOptions(
    scan
      .command('start')
      .description('start a scan of a folder, S3 bucket/prefix, PostgreSQL or MySQL database'),
  )
    .option('--id <scanId>', 'scan id = workflow id (default: scan-<datasource>-<timestamp>)')
    .option('--wait', 'follow the scan to its end with a live progress line (on stderr)')
    .option('--json', 'print one JSON document (scanId, phase, counters, findingsByInfoType)')
    .option('--fail-on-findings', 'with --wait: exit 1 when anything sensitive was found')
    .addOption(interval())
    .addHelpText(
      'after',
      `
Passwords never go in the URI: the worker reads PGPASSWORD (postgres) or MYSQL_PWD (mysql) from its environment.
S3 credentials come from the worker's AWS environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE).

Examples:
  assay scan start ./examples/files --wait
  assay scan start s3://hr-exports/2024/ --s3-endpoint http://localhost:9000 --wait --json
  assay scan start postgres://assay@db.internal:5432/crm --sampling limit:500
  assay scan start --config datasource.yaml --id nightly-crm`,
    )
    .action((source: string | undefined, opts: StartOptions, cmd: Command) =>
      startAction(source, opts, cmd, ctx),
    );

  scan
    .command('status')
    .description('live progress of a scan (phase, objects, MB/s, findings) until it ends')
    .argument('<scanId>')
    .option('--once', 'print one frame and exit')
    .option('--json', 'print one JSON document and exit')
    .addOption(interval())
    .action((scanId: string, opts: { once?: boolean; json?: boolean; interval: number }, cmd: Command) =>
      statusAction(scanId, opts, cmd, ctx),
    );

  scan
    .command('list')
    .description('recent scans (Temporal visibility and the results store)')
    .option('--limit <n>', 'how many', parseIntOption('--limit', 1, 10_000), 20)
    .option('--json', 'print JSON')
    .action((opts: { limit: number; json?: boolean }, cmd: Command) => listAction(opts, cmd, ctx));

  scan
    .command('pause')
    .description('stop dispatching new batches (in-flight batches finish)')
    .argument('<scanId>')
    .action((scanId: string, _opts: unknown, cmd: Command) => signalAction('pause', scanId, {}, cmd, ctx));
  scan
    .command('resume')
    .description('resume a paused scan')
    .argument('<scanId>')
    .action((scanId: string, _opts: unknown, cmd: Command) => signalAction('resume', scanId, {}, cmd, ctx));
  scan
    .command('cancel')
    .description('cancel gracefully: in-flight batches finish, partial results are kept')
    .argument('<scanId>')
    .option('--reason <text>', 'recorded with the cancellation')
    .action((scanId: string, opts: { reason?: string }, cmd: Command) =>
      signalAction('cancel', scanId, opts, cmd, ctx),
    );

  scan
    .command('concurrency')
    .description('change how many batches of a running scan run at once')
    .argument('<scanId>')
    .argument('<n>', 'batches in flight, 1-64', parseIntOption('n', 1, 64))
    .option('--json', 'print JSON')
    .action((scanId: string, n: number, opts: { json?: boolean }, cmd: Command) =>
      concurrencyAction(scanId, n, opts, cmd, ctx),
    );

  scan
    .command('results')
    .description('the report of a scan: findings by infoType, object and column, failures, coverage')
    .argument('<scanId>')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['table', 'json', 'csv', 'html'])
        .default('table'),
    )
    .option('--json', 'same as --format json')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--fail-on-findings', 'exit 1 when the scan found anything sensitive')
    .action((scanId: string, opts: ResultsOptions, cmd: Command) => resultsAction(scanId, opts, cmd, ctx));

  scan
    .command('diff')
    .description('findings added and removed since an earlier scan of the same source')
    .argument('<scanId>')
    .option('--base <scanId>', 'compare with this scan (default: the previous completed scan of the source)')
    .option('--limit <n>', 'findings listed per side', parseIntOption('--limit', 1, 100_000), 1000)
    .option('--json', 'print JSON')
    .option('--fail-on-new', 'exit 1 when the scan found anything the base scan did not')
    .addHelpText(
      'after',
      `
A finding is the same when its object, component, column, infoType and fingerprint are: a value that moved
inside a file is no change. Values are never shown, only masked previews and fingerprints.`,
    )
    .action((scanId: string, opts: DiffOptions, cmd: Command) => diffAction(scanId, opts, cmd, ctx));

  scan
    .command('delete')
    .description("delete finished scans' results (objects, findings, columns) from the results store")
    .argument('<scanId...>')
    .option('--json', 'print JSON')
    .action((scanIds: string[], opts: { json?: boolean }, cmd: Command) =>
      deleteAction(scanIds, opts, cmd, ctx),
    );

  scan
    .command('prune')
    .description(
      "retention: delete finished scans older than an age (each source's latest completed scan stays)",
    )
    .requiredOption('--older-than <age>', 'age since the scan ended: 12h, 90d, 8w', parseAge)
    .option('--dry-run', 'list what would be deleted')
    .option('--json', 'print JSON')
    .action((opts: { olderThan: number; dryRun?: boolean; json?: boolean }, cmd: Command) =>
      pruneAction(opts, cmd, ctx),
    );
}

/**
 * Classifier front end shared by the in-thread and pooled variants: turns an object's component stream
 * (text chunks, table batches, error components) or database rows into scan tasks, runs them on a
 * backend (this thread, or piscina workers) and folds the results into one ObjectClassification.
 */

import { InternalError, PlatformError } from '../core/errors';
import type { ContentComponent, DatabaseRow } from '../core/models';
import {
  MAX_MATCH_CHARS,
  HOTWORD_WINDOW,
  ScanEngine,
  cellText,
  columnResults,
  mergeTallies,
  type ColumnTally,
  type RulesetSpec,
  type TableScanResult,
  type TextScanResult,
} from './engine';
import { isOneByteString } from './native-scan';
import type { ComponentFailure, Finding, ObjectClassification } from './types';

export interface TextTask {
  kind: 'text';
  text: string;
  componentPath: string;
  baseOffset: number;
  baseLine: number;
  reportFrom: number;
  reportTo: number;
  budget: number;
  /** Count the newlines before this window position into the result. Default: none. */
  newlinesTo?: number;
}

export interface TableTask {
  kind: 'table';
  columns: string[];
  rows: unknown[][];
  componentPath: string;
  rowOffset: number;
  budget: number;
}

export type ScanTask = TextTask | TableTask;

/** Where scan tasks run. */
export interface ScanBackend {
  run(task: TextTask): Promise<TextScanResult>;
  run(task: TableTask): Promise<TableScanResult>;
  /** Tasks worth keeping in flight at once. */
  readonly parallelism: number;
  close(): Promise<void>;
}

export function runTask(engine: ScanEngine, task: ScanTask): TextScanResult | TableScanResult {
  if (task.kind === 'text') {
    return engine.scanText(task.text, {
      componentPath: task.componentPath,
      baseOffset: task.baseOffset,
      baseLine: task.baseLine,
      reportFrom: task.reportFrom,
      reportTo: task.reportTo,
      budget: task.budget,
      newlinesTo: task.newlinesTo,
    });
  }
  return engine.scanTable(task.columns, task.rows, {
    componentPath: task.componentPath,
    rowOffset: task.rowOffset,
    budget: task.budget,
  });
}

/** Runs tasks on the calling thread (CLI, small inputs, pool workers). */
export class LocalBackend implements ScanBackend {
  readonly parallelism = 1;
  constructor(readonly engine: ScanEngine) {}
  run(task: TextTask): Promise<TextScanResult>;
  run(task: TableTask): Promise<TableScanResult>;
  async run(task: ScanTask): Promise<TextScanResult | TableScanResult> {
    return runTask(this.engine, task);
  }
  async close(): Promise<void> {}
}

/**
 * Text is scanned in windows of this many characters (plus MAX_MATCH_CHARS of look-ahead). A window's string
 * stays under V8's 128 KiB large-object threshold even at two bytes a character: larger strings are each
 * mmapped and unmapped, and that page-fault churn took a fifth of the scan time with 256 K windows.
 */
export const WINDOW_CHARS = 56 * 1024;
/**
 * Windows of text held at one byte a character (every character up to U+00FF) are twice as long and still
 * under the threshold: the look-ahead every window scans again is then 3.5 % of the text instead of 7 %.
 */
export const ONE_BYTE_WINDOW_CHARS = 120 * 1024;

/** Window length for text like `text`. */
function windowCharsFor(text: string): number {
  return text.length === 0 || isOneByteString(text) ? ONE_BYTE_WINDOW_CHARS : WINDOW_CHARS;
}
/** Table rows per task. */
export const ROWS_PER_TASK = 500;

/** Folds task results into one object's classification, keeping `maxFindings` in detail. */
class ObjectAccumulator {
  readonly findings: Finding[] = [];
  readonly findingCounts: Record<string, number> = {};
  readonly failures: ComponentFailure[] = [];
  readonly tallies = new Map<string, Record<string, ColumnTally>>();
  bytesScanned = 0;
  private readonly pending: Array<Promise<void>> = [];

  constructor(
    readonly objectId: string,
    private readonly maxFindings: number,
    private readonly backend: ScanBackend,
  ) {}

  get budget(): number {
    return Math.max(0, this.maxFindings - this.findings.length);
  }

  /** Queues a task; results are merged in submission order, each first passed to `before` if given. */
  async submit(task: ScanTask, before?: (result: TextScanResult | TableScanResult) => void): Promise<void> {
    const result = this.backend.run(task as TextTask) as Promise<TextScanResult | TableScanResult>;
    const previous = this.pending[this.pending.length - 1];
    // A small object's only task needs no wait for the one before it.
    const merged = (previous ? Promise.all([result, previous]).then(([r]) => r) : result).then((r) => {
      before?.(r);
      this.merge(task, r);
    });
    // Keep rejections observed until they surface in finish().
    merged.catch(() => undefined);
    this.pending.push(merged);
    if (this.pending.length >= this.backend.parallelism * 2)
      await this.pending[this.pending.length - this.backend.parallelism * 2];
  }

  private merge(task: ScanTask, result: TextScanResult | TableScanResult): void {
    for (const finding of result.findings) {
      this.findingCounts[finding.infoType] = (this.findingCounts[finding.infoType] ?? 0) + 1;
      if (this.findings.length < this.maxFindings) this.findings.push(finding);
    }
    for (const [infoType, n] of Object.entries(result.overflow)) {
      this.findingCounts[infoType] = (this.findingCounts[infoType] ?? 0) + n;
    }
    if (task.kind === 'table') {
      const tallies = this.tallies.get(task.componentPath) ?? {};
      mergeTallies(tallies, (result as TableScanResult).tallies);
      this.tallies.set(task.componentPath, tallies);
    }
  }

  async finish(minLikelihood: RulesetSpec['minLikelihood']): Promise<ObjectClassification> {
    try {
      // Merged in order: the last one settles after all the others.
      await this.pending[this.pending.length - 1];
    } catch (error) {
      if (error instanceof PlatformError) throw error;
      throw new InternalError(
        `classification of ${this.objectId} failed: ${(error as Error)?.message ?? error}`,
        {
          objectId: this.objectId,
        },
        { cause: error },
      );
    }
    const columns = [...this.tallies].flatMap(([componentPath, tallies]) =>
      columnResults(componentPath, tallies, minLikelihood),
    );
    return {
      objectId: this.objectId,
      findings: this.findings,
      findingCounts: this.findingCounts,
      columns,
      failures: this.failures,
      bytesScanned: this.bytesScanned,
    };
  }
}

interface TextState {
  componentPath: string;
  /** Unscanned text plus the context kept from the previous window. */
  text: string;
  /** Absolute offset of text[0]. */
  offset: number;
  /**
   * Line of the first character of the next window whose results are merged. Windows are scanned ahead
   * of it; each result brings its newline count, so lines need no pass over the text here.
   */
  mergedLine: number;
  /** Window-relative position from which findings are still to be reported. */
  reportFrom: number;
  /** Window length plus look-ahead: larger while the text is all one-byte. */
  windowLimit: number;
}

export class ClassifierCore {
  constructor(
    private readonly backend: ScanBackend,
    readonly spec: RulesetSpec,
    private readonly maxFindings: number,
  ) {}

  async classifyComponents(
    objectId: string,
    components: AsyncIterable<ContentComponent>,
  ): Promise<ObjectClassification> {
    const acc = new ObjectAccumulator(objectId, this.maxFindings, this.backend);
    const texts = new Map<string, TextState>();
    const flush = async (state: TextState, final: boolean): Promise<void> => {
      const reportTo = final ? state.text.length : state.text.length - MAX_MATCH_CHARS;
      if (reportTo <= state.reportFrom) {
        if (final) texts.delete(state.componentPath);
        return;
      }
      // Keep the text after the cut plus some context before it for hotwords.
      const keepFrom = Math.max(0, reportTo - HOTWORD_WINDOW - 16);
      await acc.submit(
        {
          kind: 'text',
          text: state.text,
          componentPath: state.componentPath,
          baseOffset: state.offset,
          baseLine: 1,
          reportFrom: state.reportFrom,
          reportTo,
          budget: acc.budget,
          newlinesTo: final ? undefined : keepFrom,
        },
        (result) => {
          // Window-relative lines become absolute, in window order.
          for (const finding of result.findings) finding.line += state.mergedLine - 1;
          state.mergedLine += result.newlines ?? 0;
        },
      );
      if (final) {
        texts.delete(state.componentPath);
        return;
      }
      state.offset += keepFrom;
      state.text = state.text.slice(keepFrom);
      state.reportFrom = reportTo - keepFrom;
    };

    for await (const component of components) {
      if (component.kind === 'error') {
        acc.failures.push({
          componentPath: component.componentPath,
          type: component.error?.type ?? 'CONTENT_CORRUPT',
          message: component.error?.message ?? 'component could not be read',
        });
        acc.bytesScanned += component.bytes ?? 0;
      } else if (component.kind === 'table') {
        const rows = component.rows ?? [];
        acc.bytesScanned += component.bytes ?? rows.reduce((n: number, row) => n + rowChars(row), 0);
        for (let i = 0; i < rows.length; i += ROWS_PER_TASK) {
          await acc.submit({
            kind: 'table',
            columns: (component.columns ?? []).map(String),
            rows: rows.slice(i, i + ROWS_PER_TASK).map((row) => row.map(cellText)),
            componentPath: component.componentPath,
            rowOffset: (component.rowOffset ?? 0) + i,
            budget: acc.budget,
          });
        }
      } else if (component.text !== undefined) {
        acc.bytesScanned += component.bytes ?? component.text.length;
        let state = texts.get(component.componentPath);
        if (!state) {
          state = {
            componentPath: component.componentPath,
            text: '',
            offset: component.offset ?? 0,
            mergedLine: component.line ?? 1,
            reportFrom: 0,
            windowLimit: ONE_BYTE_WINDOW_CHARS + MAX_MATCH_CHARS,
          };
          texts.set(component.componentPath, state);
        }
        let rest = component.text;
        // Once a two-byte chunk joins, its windows would be too: short windows from then on.
        state.windowLimit = Math.min(state.windowLimit, windowCharsFor(rest) + MAX_MATCH_CHARS);
        // Whole windows are cut from the incoming text as they fill, so no window string outgrows the limit
        // (a slice of a flat chunk costs no copy; the window is flattened once, when it is scanned).
        while (state.text.length + rest.length >= state.windowLimit) {
          const take = Math.max(0, state.windowLimit - state.text.length);
          state.text += rest.slice(0, take);
          rest = rest.slice(take);
          await flush(state, false);
        }
        state.text += rest;
      }
    }
    for (const state of [...texts.values()]) await flush(state, true);
    return acc.finish(this.spec.minLikelihood);
  }

  async classifyRows(rows: AsyncIterable<DatabaseRow>): Promise<ObjectClassification[]> {
    const objects = new Map<
      string,
      { acc: ObjectAccumulator; columns: string[]; batch: unknown[][]; rowCount: number; path: string }
    >();
    const submitBatch = async (o: {
      acc: ObjectAccumulator;
      columns: string[];
      batch: unknown[][];
      rowCount: number;
      path: string;
    }): Promise<void> => {
      if (o.batch.length === 0) return;
      const batch = o.batch.map((row) => [
        ...row,
        ...new Array(Math.max(0, o.columns.length - row.length)).fill(''),
      ]);
      o.batch = [];
      await o.acc.submit({
        kind: 'table',
        columns: [...o.columns],
        rows: batch,
        componentPath: o.path,
        rowOffset: o.rowCount - batch.length,
        budget: o.acc.budget,
      });
    };
    for await (const dbRow of rows) {
      let o = objects.get(dbRow.objectId);
      if (!o) {
        const path = dbRow.objectId.slice(dbRow.objectId.indexOf(':') + 1);
        o = {
          acc: new ObjectAccumulator(dbRow.objectId, this.maxFindings, this.backend),
          columns: [],
          batch: [],
          rowCount: 0,
          path,
        };
        objects.set(dbRow.objectId, o);
      }
      const error = (dbRow as DatabaseRow & { error?: { type?: string; message?: string } }).error;
      if (error) {
        o.acc.failures.push({
          componentPath: o.path,
          type: error.type ?? 'INTERNAL',
          message: error.message ?? 'row could not be read',
        });
        continue;
      }
      const record = dbRow.row ?? {};
      const cells = new Array<string>(o.columns.length).fill('');
      for (const [column, value] of Object.entries(record)) {
        let index = o.columns.indexOf(column);
        if (index === -1) {
          index = o.columns.push(column) - 1;
          cells.push('');
        }
        const text = cellText(value);
        cells[index] = text;
        o.acc.bytesScanned += text.length;
      }
      o.batch.push(cells);
      o.rowCount++;
      if (o.batch.length >= ROWS_PER_TASK) await submitBatch(o);
    }
    const out: ObjectClassification[] = [];
    for (const o of objects.values()) {
      await submitBatch(o);
      out.push(await o.acc.finish(this.spec.minLikelihood));
    }
    return out;
  }

  async classifyText(text: string, componentPath = 'text'): Promise<Finding[]> {
    const findings: Finding[] = [];
    const windowChars = windowCharsFor(text);
    // Line of `contextFrom`, advanced by each window's count of the newlines before the next one's.
    let line = 1;
    for (let from = 0; ;) {
      const windowEnd = Math.min(text.length, from + windowChars);
      const final = windowEnd >= text.length;
      const contextFrom = Math.max(0, from - HOTWORD_WINDOW - 16);
      const nextContextFrom = Math.max(0, windowEnd - HOTWORD_WINDOW - 16);
      const sliceEnd = final ? text.length : Math.min(text.length, windowEnd + MAX_MATCH_CHARS);
      const result = await this.backend.run({
        kind: 'text',
        text: text.slice(contextFrom, sliceEnd),
        componentPath,
        baseOffset: contextFrom,
        baseLine: line,
        reportFrom: from - contextFrom,
        reportTo: windowEnd - contextFrom,
        budget: Number.MAX_SAFE_INTEGER,
        newlinesTo: final ? undefined : nextContextFrom - contextFrom,
      });
      findings.push(...result.findings);
      if (final) break;
      line += result.newlines ?? 0;
      from = windowEnd;
    }
    return findings;
  }
}

function rowChars(row: unknown[]): number {
  let n = 0;
  for (const cell of row) n += cellText(cell).length;
  return n;
}

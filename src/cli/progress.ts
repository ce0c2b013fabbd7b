/** Renders ScanProgress as a one-line live status (TTY: redrawn with \r; otherwise one line per update). */
import type { ScanProgress } from '../scan/types';
import type { OutputStream } from './io';

export function totalFindings(progress: Pick<ScanProgress, 'findingsByInfoType'>): number {
  return Object.values(progress.findingsByInfoType ?? {}).reduce((sum, n) => sum + n, 0);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** MB/s over the scan so far (updatedAt − startedAt). */
export function megabytesPerSecond(progress: ScanProgress): number {
  const seconds = (Date.parse(progress.updatedAt) - Date.parse(progress.startedAt)) / 1000;
  if (!(seconds > 0)) return 0;
  return progress.bytesScanned / (1024 * 1024) / seconds;
}

function bar(done: number, total: number, width = 20): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%`;
}

export function formatProgressLine(progress: ScanProgress): string {
  const finished = progress.classified + progress.failed + progress.skipped;
  return [
    `${progress.scanId} ${progress.phase.padEnd(11)}`,
    bar(finished, progress.enumerated),
    `enumerated ${progress.enumerated}`,
    `classified ${progress.classified}`,
    `failed ${progress.failed}`,
    `skipped ${progress.skipped}`,
    `${megabytesPerSecond(progress).toFixed(2)} MB/s`,
    `findings ${totalFindings(progress)}`,
  ].join('  ');
}

/** Draws successive frames: redraws in place on a TTY, prints a line per changed frame otherwise. */
export class ProgressPrinter {
  private last = '';
  private drawn = false;

  constructor(private readonly out: OutputStream) {}

  frame(progress: ScanProgress): void {
    const line = formatProgressLine(progress);
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (line !== this.last) {
      this.out.write(`${line}\n`);
    }
    this.last = line;
  }

  /** Ends the redrawn line so following output starts on a fresh line. */
  finish(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

/**
 * Precision/recall scoring over a labelled corpus (JSON lines of {text, labels:[{infoType,start,end}]}).
 * Shared by bench/accuracy.ts and the accuracy test so both measure the same thing. A finding is a true
 * positive when a label of the same infoType overlaps it.
 */

import { readFile } from 'node:fs/promises';
import type { Classifier } from './index';

export interface LabelledRecord {
  text: string;
  labels: Array<{ infoType: string; start: number; end: number }>;
}

export interface InfoTypeScore {
  infoType: string;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
}

export interface ScoreMismatch {
  kind: 'false-positive' | 'false-negative';
  infoType: string;
  record: number;
  start: number;
  end: number;
}

export async function loadCorpus(file: string): Promise<LabelledRecord[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as LabelledRecord);
}

export async function scoreCorpus(
  classifier: Classifier,
  records: LabelledRecord[],
): Promise<{ scores: InfoTypeScore[]; mismatches: ScoreMismatch[] }> {
  const counts = new Map<string, { tp: number; fp: number; fn: number }>();
  const get = (infoType: string) => {
    let c = counts.get(infoType);
    if (!c) counts.set(infoType, (c = { tp: 0, fp: 0, fn: 0 }));
    return c;
  };
  const mismatches: ScoreMismatch[] = [];
  for (let r = 0; r < records.length; r++) {
    const record = records[r];
    const findings = await classifier.classifyText(record.text, `record-${r}`);
    const matchedLabels = new Set<number>();
    for (const finding of findings) {
      const index = record.labels.findIndex(
        (l) => l.infoType === finding.infoType && l.start < finding.end && finding.start < l.end,
      );
      if (index === -1) {
        get(finding.infoType).fp++;
        mismatches.push({
          kind: 'false-positive',
          infoType: finding.infoType,
          record: r,
          start: finding.start,
          end: finding.end,
        });
      } else if (!matchedLabels.has(index)) {
        matchedLabels.add(index);
        get(finding.infoType).tp++;
      }
    }
    record.labels.forEach((label, i) => {
      if (matchedLabels.has(i)) return;
      get(label.infoType).fn++;
      mismatches.push({
        kind: 'false-negative',
        infoType: label.infoType,
        record: r,
        start: label.start,
        end: label.end,
      });
    });
  }
  const scores = [...counts]
    .map(([infoType, c]) => ({
      infoType,
      truePositives: c.tp,
      falsePositives: c.fp,
      falseNegatives: c.fn,
      precision: c.tp + c.fp ? c.tp / (c.tp + c.fp) : 1,
      recall: c.tp + c.fn ? c.tp / (c.tp + c.fn) : 1,
    }))
    .sort((a, b) => a.infoType.localeCompare(b.infoType));
  return { scores, mismatches };
}

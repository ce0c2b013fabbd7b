/** Per-infoType precision and recall on the labelled corpus: npx ts-node --transpile-only bench/accuracy.ts */
import path from 'node:path';
import { createLocalClassifier } from '../src/classification';
import { loadCorpus, scoreCorpus } from '../src/classification/accuracy';

async function main(): Promise<void> {
  const records = await loadCorpus(
    path.join(__dirname, '..', 'test', 'fixtures', 'accuracy', 'corpus.jsonl'),
  );
  const classifier = await createLocalClassifier({ fingerprintKey: 'accuracy-bench' });
  const { scores, mismatches } = await scoreCorpus(classifier, records);
  await classifier.close();
  console.log(`records: ${records.length}`);
  console.log(
    `${'infoType'.padEnd(46)} ${'TP'.padStart(4)} ${'FP'.padStart(4)} ${'FN'.padStart(4)} precision recall`,
  );
  for (const s of scores) {
    console.log(
      `${s.infoType.padEnd(46)} ${String(s.truePositives).padStart(4)} ${String(s.falsePositives).padStart(4)} ${String(s.falseNegatives).padStart(4)} ${s.precision.toFixed(3).padStart(9)} ${s.recall.toFixed(3).padStart(6)}`,
    );
  }
  if (process.argv.includes('--mismatches')) {
    for (const m of mismatches) {
      const text = records[m.record].text;
      console.log(m.kind, m.infoType, JSON.stringify(text.slice(Math.max(0, m.start - 30), m.end + 10)));
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

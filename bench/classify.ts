/**
 * Classification throughput (MB/s of text) on one core with the default catalogue:
 *   npx ts-node --transpile-only bench/classify.ts [--mb 32] [--pool]
 * "sparse": log/prose text with one PII item per ~4 KB; "dense": one PII item per ~100 bytes.
 * Each text is one object, so past the default 1,000 detailed findings per object the rest are counted
 * (as a scan does); "dense, 4 KB objects" classifies the dense text as 4 KB objects instead (files of the
 * end-to-end bench's size), every finding made in full.
 * In-thread by default (one core); --pool also measures createClassifier() with one worker.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createClassifier, createLocalClassifier, type Classifier } from '../src/classification';
import type { ContentComponent } from '../src/core/models';

const args = process.argv.slice(2);
const megabytes = Number(args[args.indexOf('--mb') + 1]) || 32;

let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const WORDS = (
  'the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur adipiscing elit sed do ' +
  'eiusmod tempor incididunt ut labore et dolore magna aliqua server customer order request GET /api/v1/users ' +
  'status=200 latency_ms cache miss retry queue worker shipped invoice total EUR'
).split(' ');
const PII = [
  () => `contact john.doe${Math.floor(rnd() * 1000)}@example.com`,
  () => `call (555) 123-${String(1000 + Math.floor(rnd() * 9000))}`,
  () => 'card 4111 1111 1111 1111',
  () => 'ssn 536-22-8726',
  () => `from 10.0.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}`,
  () => 'IBAN GB82 WEST 1234 5698 7654 32',
  () => 'key AKIAABCDEFGHIJKLMNOP',
  () => 'password: Tr0ub4dor&3',
];

function makeText(chars: number, every: number): string {
  const parts: string[] = [];
  let size = 0;
  let next = every;
  while (size < chars) {
    let line = `2024-05-01T10:00:${String(Math.floor(rnd() * 60)).padStart(2, '0')}Z INFO `;
    while (line.length < 90) {
      line += `${WORDS[Math.floor(rnd() * WORDS.length)]} `;
      if (rnd() < 0.05) line += `${Math.floor(rnd() * 10000)} `;
    }
    if (size >= next) {
      line += PII[Math.floor(rnd() * PII.length)]();
      next += every;
    }
    parts.push(line, '\n');
    size += line.length + 1;
  }
  return parts.join('');
}

async function* chunks(text: string, size: number): AsyncIterable<ContentComponent> {
  for (let offset = 0; offset < text.length; offset += size) {
    const piece = text.slice(offset, offset + size);
    yield {
      objectId: 'bench:x',
      componentPath: 'x',
      kind: 'text',
      text: piece,
      offset,
      line: 1,
      bytes: piece.length,
    };
  }
}

/** Classifies `text` as one object, or as objects of `objectChars` each. */
async function classifyAll(classifier: Classifier, text: string, objectChars?: number): Promise<number> {
  if (!objectChars) {
    const result = await classifier.classifyComponents('bench:x', chunks(text, 64 * 1024));
    return Object.values(result.findingCounts).reduce((a, b) => a + b, 0);
  }
  let found = 0;
  for (let offset = 0; offset < text.length; offset += objectChars) {
    const result = await classifier.classifyComponents(
      `bench:${offset}`,
      chunks(text.slice(offset, offset + objectChars), objectChars),
    );
    found += result.findings.length;
  }
  return found;
}

async function measure(
  name: string,
  classifier: Classifier,
  text: string,
  objectChars?: number,
): Promise<void> {
  // Warm-up over the whole text, so no JIT compilation (on other threads) falls in the measured runs.
  await classifyAll(classifier, text, objectChars);
  const runs: number[] = [];
  const cpuRuns: number[] = [];
  let found = 0;
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    found = await classifyAll(classifier, text, objectChars);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuStart);
    runs.push(text.length / 1e6 / seconds);
    cpuRuns.push(text.length / 1e6 / ((cpu.user + cpu.system) / 1e6));
  }
  // MB per CPU-second of this process: the figure that holds when other jobs share the machine (the
  // pool variant's work runs in a worker thread, counted too).
  console.log(
    `${name.padEnd(30)} ${Math.max(...runs)
      .toFixed(1)
      .padStart(7)} MB/s wall, ${Math.max(...cpuRuns)
      .toFixed(1)
      .padStart(7)} MB per CPU-s (best of 3; ${found} findings)`,
  );
}

async function main(): Promise<void> {
  const sparse = makeText(megabytes * 1e6, 4096);
  const dense = makeText(megabytes * 1e6, 100);
  // The generator's garbage (millions of line strings) is collected now, not by GC threads during the runs.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  console.log(`text: ${megabytes} MB each, chunks of 64 KiB`);
  const local = await createLocalClassifier({ fingerprintKey: 'bench' });
  await measure('in-thread sparse', local, sparse);
  if (!process.env.SPARSE_ONLY) {
    await measure('in-thread dense', local, dense);
    await measure('in-thread dense, 4 KB objects', local, dense, 4096);
  }
  await local.close();
  if (args.includes('--pool')) {
    const pooled = await createClassifier({ fingerprintKey: 'bench', poolSize: 1 });
    await measure('pool(1 worker) sparse', pooled, sparse);
    await measure('pool(1 worker) dense', pooled, dense);
    await pooled.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

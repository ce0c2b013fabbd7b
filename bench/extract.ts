/**
 * Extraction throughput and event-loop responsiveness: `npx ts-node --transpile-only bench/extract.ts`.
 * Prints MB/s, peak heap growth and the worst event-loop delay for a generated text stream, CSV, NDJSON and a
 * tar.gz, each ~SIZE_MB (env, default 100).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ContentExtractor } from '../src/extraction';
import { buildTar } from '../test/extraction/helpers/fixtures';

const SIZE = Number(process.env.SIZE_MB ?? 100) * 1024 * 1024;

function* generate(size: number, line: (n: number) => string, header = ''): Generator<Buffer> {
  let produced = 0;
  let n = 1;
  if (header) yield Buffer.from(header);
  while (produced < size) {
    const parts: string[] = [];
    for (let bytes = 0; bytes < 64 * 1024; n++) {
      const text = line(n);
      parts.push(text);
      bytes += text.length;
    }
    const chunk = Buffer.from(parts.join(''));
    produced += chunk.length;
    yield chunk;
  }
}

async function measure(label: string, name: string, stream: () => Readable, bytes: number): Promise<void> {
  const extractor = new ContentExtractor({ maxObjectBytes: 4 * SIZE, maxComponentBytes: 4 * SIZE });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const baseline = process.memoryUsage().heapUsed;
  let peak = 0;
  let components = 0;
  delay.enable();
  const start = performance.now();
  for await (const component of extractor.extractFromStream(stream(), 'bench:x', { componentPath: name })) {
    components++;
    if (component.kind === 'error') console.log('  error component:', component.error);
    if (components % 32 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
  }
  const seconds = (performance.now() - start) / 1000;
  delay.disable();
  console.log(
    `${label.padEnd(10)} ${(bytes / 1048576).toFixed(0).padStart(5)} MB  ${(bytes / 1048576 / seconds).toFixed(1).padStart(7)} MB/s` +
      `  components ${String(components).padStart(6)}  peak heap +${(peak / 1048576).toFixed(0)} MB` +
      `  event-loop delay max ${(delay.max / 1e6).toFixed(1)} ms p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
  );
}

async function main(): Promise<void> {
  const textLine = (n: number) => `L${n} customer ${n % 9973} email user${n}@example.com café\n`;
  await measure('text', 'big.txt', () => Readable.from(generate(SIZE, textLine)), SIZE);
  const csvLine = (n: number) => `${n},"Doe, Jane ${n}",user${n}@example.com,4111111111111111\n`;
  await measure('csv', 'big.csv', () => Readable.from(generate(SIZE, csvLine, 'id,name,email,card\n')), SIZE);
  const jsonLine = (n: number) =>
    `{"id":${n},"user":{"name":"Jane ${n}","email":"user${n}@example.com"},"tags":["a","b"]}\n`;
  await measure('ndjson', 'big.ndjson', () => Readable.from(generate(SIZE, jsonLine)), SIZE);
  const tarSize = Math.min(SIZE, 64 * 1024 * 1024);
  const files = [];
  for (let i = 0; i < 8; i++)
    files.push({ name: `part${i}.txt`, data: Buffer.concat([...generate(tarSize / 8, textLine)]) });
  const tgz = zlib.gzipSync(await buildTar(files), { level: 1 });
  await measure('tar.gz', 'big.tar.gz', () => Readable.from([tgz]), tarSize);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClassifier, type Classifier } from '../../src/classification';
import type { PoolBackend } from '../../src/classification/pool';
import type { ContentComponent } from '../../src/core/models';

async function* textComponents(
  objectId: string,
  chunks: number,
  chunkChars: number,
): AsyncIterable<ContentComponent> {
  const line = 'INFO request served for customer; latency 12 ms; status ok; region eu-west\n';
  const body = line.repeat(Math.ceil(chunkChars / line.length)).slice(0, chunkChars - 60);
  let offset = 0;
  for (let i = 0; i < chunks; i++) {
    const text = `${body}contact user${i}@example.com card 4111 1111 1111 1111\n`.padEnd(chunkChars, ' ');
    yield { objectId, componentPath: 'big.log', kind: 'text', text, offset, line: 1, bytes: text.length };
    offset += text.length;
  }
}

describe('ClassifierPool (worker threads)', () => {
  let classifier: Classifier;
  beforeAll(async () => {
    classifier = await createClassifier({ fingerprintKey: 'pool-test', poolSize: 1 });
  });
  afterAll(() => classifier.close());

  it('runs the TypeScript worker under jest and matches the in-thread results', async () => {
    const text = 'mail a@example.com, SSN 536-22-8726, key AKIAABCDEFGHIJKLMNOP';
    const found = await classifier.classifyText(text);
    expect(found.map((f) => [f.infoType, text.slice(f.start, f.end)])).toEqual([
      ['EMAIL_ADDRESS', 'a@example.com'],
      ['US_SOCIAL_SECURITY_NUMBER', '536-22-8726'],
      ['AWS_CREDENTIALS', 'AKIAABCDEFGHIJKLMNOP'],
    ]);
    const rows = await classifier.classifyRows(
      (async function* () {
        for (let i = 0; i < 1200; i++)
          yield { objectId: 'pg:public.t', row: { email: `u${i}@example.com`, n: i } };
      })(),
    );
    expect(rows[0].columns).toEqual([
      expect.objectContaining({
        column: 'email',
        infoType: 'EMAIL_ADDRESS',
        matchedRows: 1200,
        sampledRows: 1200,
      }),
    ]);
    expect(rows[0].findings).toHaveLength(1000);
    expect(rows[0].findingCounts).toEqual({ EMAIL_ADDRESS: 1200 });
  });

  it('with idleThreadTimeoutMs, lets its threads go when idle and starts them again for new work', async () => {
    const idle = await createClassifier({
      fingerprintKey: 'pool-test',
      poolSize: 1,
      idleThreadTimeoutMs: 300,
    });
    const threads = () => (idle as unknown as { backend: PoolBackend }).backend.threads;
    try {
      const text = 'mail a@example.com';
      const before = await idle.classifyText(text);
      expect(before.map((f) => f.infoType)).toEqual(['EMAIL_ADDRESS']);
      expect(threads()).toBe(1);
      const deadline = Date.now() + 15_000;
      while (threads() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(threads()).toBe(0);
      expect(await idle.classifyText(text)).toEqual(before);
      expect(threads()).toBe(1);
    } finally {
      await idle.close();
    }
  });

  it('numbers lines exactly across windows scanned ahead by two workers, one-byte text then two-byte', async () => {
    const pooled = await createClassifier({ fingerprintKey: 'pool-test', poolSize: 2 });
    try {
      const lines: string[] = [];
      for (let i = 0; i < 40000; i++) {
        const filler = i > 30000 ? 'журнал запросов' : 'request log line';
        lines.push(
          i % 997 === 5 ? `${filler} mail u${i}@example.com` : `${filler} ${i % 7 === 0 ? '' : 'x'}`,
        );
      }
      const text = lines.join('\n');
      const pieces: ContentComponent[] = [];
      for (let offset = 0, size = 1000; offset < text.length; offset += size, size = (size * 7) % 90001) {
        const piece = text.slice(offset, offset + size);
        pieces.push({ objectId: 'f:l', componentPath: 'l', kind: 'text', text: piece, offset, line: 1 });
      }
      const result = await pooled.classifyComponents(
        'f:l',
        (async function* () {
          yield* pieces;
        })(),
      );
      const expected = lines.flatMap((line, i) => (line.includes('@') ? [i + 1] : []));
      expect(result.findings.map((f) => f.line)).toEqual(expected);
      for (const f of result.findings) {
        expect(text.slice(f.start, f.end)).toBe(`u${f.line - 1}@example.com`);
        expect(text.slice(0, f.start).split('\n').length).toBe(f.line);
      }
    } finally {
      await pooled.close();
    }
  });

  it('keeps the event loop responsive while classifying ~50 MB', async () => {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const chunks = 200;
    const result = await classifier.classifyComponents(
      'f:big.log',
      textComponents('f:big.log', chunks, 256 * 1024),
    );
    histogram.disable();
    expect(result.bytesScanned).toBe(chunks * 256 * 1024);
    expect(result.findingCounts).toEqual({ EMAIL_ADDRESS: chunks, CREDIT_CARD_NUMBER: chunks });
    const maxDelayMs = histogram.max / 1e6;
    expect(maxDelayMs).toBeLessThan(200);
  });
});

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClassifier, type Classifier } from '../../src/classification';
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

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { ContentExtractor } from '../../src/extraction';
import { ErrorType, PlatformError } from '../../src/core/errors';
import { collectAll, textOf } from './helpers/fixtures';

const OBJECT = 'fs1:/data/huge.log';

/** Deterministic text: numbered lines of varying length, multi-byte characters included. */
function* generatedText(totalBytes: number): Generator<Buffer> {
  let produced = 0;
  let line = 1;
  while (produced < totalBytes) {
    const parts: string[] = [];
    let size = 0;
    while (size < 64 * 1024) {
      const text = `L${line} customer ${line % 9973} email user${line}@example.com café ${'x'.repeat(line % 50)}\n`;
      parts.push(text);
      size += Buffer.byteLength(text);
      line++;
    }
    const chunk = Buffer.from(parts.join(''));
    produced += chunk.length;
    yield chunk;
  }
}

describe('streaming', () => {
  test('a 200 MB text stream: exact consecutive offsets and lines, same text, flat memory', async () => {
    const total = 200 * 1024 * 1024;
    const producedHash = createHash('sha256');
    const source = Readable.from(
      (function* () {
        for (const chunk of generatedText(total)) {
          producedHash.update(chunk);
          yield chunk;
        }
      })(),
    );
    const extractor = new ContentExtractor({ maxObjectBytes: 300 * 1024 * 1024 });
    const receivedHash = createHash('sha256');
    const baseline = process.memoryUsage().heapUsed;
    let peakGrowth = 0;
    let offset = 0;
    let line = 1;
    let bytes = 0;
    let components = 0;
    for await (const component of extractor.extractFromStream(source, OBJECT, {
      componentPath: 'data/huge.log',
    })) {
      components++;
      expect(component.kind).toBe('text');
      const text = component.text!;
      // Consecutive and exact.
      if (component.offset !== offset || component.line !== line) {
        throw new Error(
          `chunk ${components}: offset ${component.offset}/${offset} line ${component.line}/${line}`,
        );
      }
      const firstNewline = text.indexOf('\n');
      if (firstNewline !== -1 && firstNewline + 1 < text.length) {
        const next = /^L(\d+) /.exec(text.slice(firstNewline + 1));
        if (next && Number(next[1]) !== line + 1) throw new Error(`line ${line + 1} is labelled L${next[1]}`);
      }
      receivedHash.update(text);
      offset += text.length;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++;
      bytes += component.bytes ?? 0;
      if (components % 64 === 0) peakGrowth = Math.max(peakGrowth, process.memoryUsage().heapUsed - baseline);
    }
    expect(receivedHash.digest('hex')).toBe(producedHash.digest('hex'));
    expect(bytes).toBeGreaterThanOrEqual(total);
    expect(components).toBeGreaterThan(3000);
    // 200 MB went through; the heap grew by far less (chunks are 64 Ki chars).
    expect(peakGrowth).toBeLessThan(96 * 1024 * 1024);
  }, 120_000);

  test('chunk boundaries: chunks of textChunkChars, offsets and lines exact, surrogate pairs kept whole', async () => {
    const extractor = new ContentExtractor({ textChunkChars: 10 });
    const text = 'ab\ncd😀ef\n\ngh😀😀ijklmnop\nq';
    const components = await collectAll(
      extractor.extractFromStream(Readable.from([Buffer.from(text)]), OBJECT, { componentPath: 'c.txt' }),
    );
    expect(components.map((c) => [c.text, c.offset, c.line])).toEqual([
      ['ab\ncd😀ef\n', 0, 1],
      ['\ngh😀😀ijk', 10, 3],
      ['lmnop\nq', 20, 4],
    ]);
    expect(textOf(components, 'c.txt')).toBe(text);
    // The 10th code unit is the high half of 😀: that chunk ends one early.
    const split = await collectAll(
      extractor.extractFromStream(Readable.from([Buffer.from('abcdefghi😀xyz')]), OBJECT, {
        componentPath: 's.txt',
      }),
    );
    expect(split.map((c) => [c.text, c.offset])).toEqual([
      ['abcdefghi', 0],
      ['😀xyz', 9],
    ]);
  });

  test('abortSignal stops extraction with CANCELLED', async () => {
    const controller = new AbortController();
    const extractor = new ContentExtractor({ maxObjectBytes: 300 * 1024 * 1024 });
    const seen: number[] = [];
    const run = async () => {
      for await (const component of extractor.extractFromStream(
        Readable.from(generatedText(50 * 1024 * 1024)),
        OBJECT,
        {
          abortSignal: controller.signal,
        },
      )) {
        seen.push(component.offset!);
        if (seen.length === 3) controller.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ type: ErrorType.CANCELLED });
    expect(seen.length).toBeLessThan(10);
  });

  test('a failing source stream is not a content problem: it throws, wrapped with its ErrorType', async () => {
    const failing = (inner: (chunks: AsyncIterable<Buffer>) => AsyncIterable<Buffer>) =>
      Readable.from(
        inner(
          (async function* () {
            yield Buffer.from('first part\n'.repeat(1000));
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          })(),
        ),
      );
    const extractor = new ContentExtractor();
    const plain = collectAll(
      extractor.extractFromStream(
        failing((c) => c),
        OBJECT,
        { componentPath: 'a.txt' },
      ),
    );
    await expect(plain).rejects.toBeInstanceOf(PlatformError);
    await expect(plain).rejects.toMatchObject({ type: ErrorType.NETWORK_CONNECTION_FAILED });
    // Through a gzip layer too: the source failure must not turn into CONTENT_CORRUPT.
    const gzipped = failing(async function* (chunks) {
      const gz = zlib.createGzip();
      const pump = (async () => {
        try {
          for await (const chunk of chunks) gz.write(chunk);
          gz.end();
        } catch (err) {
          gz.destroy(err as Error);
        }
      })();
      yield* gz as AsyncIterable<Buffer>;
      await pump;
    });
    await expect(
      collectAll(extractor.extractFromStream(gzipped, OBJECT, { componentPath: 'a.txt.gz' })),
    ).rejects.toMatchObject({
      type: ErrorType.NETWORK_CONNECTION_FAILED,
    });
  });

  test('extractFromFile on a missing file throws OBJECT_NOT_FOUND', async () => {
    const extractor = new ContentExtractor();
    await expect(
      collectAll(extractor.extractFromFile('/nonexistent/assay/file.txt', OBJECT)),
    ).rejects.toMatchObject({
      type: ErrorType.OBJECT_NOT_FOUND,
    });
  });
});

test('abort interrupts a read that waits on a stalled source', async () => {
  const controller = new AbortController();
  const stalled = new Readable({ read() {} });
  stalled.push('first bytes, then nothing more arrives');
  const run = collectAll(
    new ContentExtractor().extractFromStream(stalled, OBJECT, {
      componentPath: 's.txt',
      abortSignal: controller.signal,
    }),
  );
  setTimeout(() => controller.abort(), 50);
  await expect(run).rejects.toMatchObject({ type: ErrorType.CANCELLED });
  expect(stalled.destroyed).toBe(true);
});

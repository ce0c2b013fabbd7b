import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ContentExtractor } from '../../src/extraction';
import { ErrorType } from '../../src/core/errors';
import {
  buildDocx,
  buildOds,
  buildOdt,
  buildPdf,
  buildPptx,
  buildTar,
  buildXlsx,
  buildZip,
  collectAll,
  errorsOf,
  gzip,
  tableOf,
  textOf,
} from './helpers/fixtures';

const extractor = new ContentExtractor();
const OBJECT = 'ds1:bucket/key';
let dir: string;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'assay-extract-test-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function fromStream(data: Buffer, componentPath: string, ex = extractor) {
  return collectAll(ex.extractFromStream(Readable.from([data]), OBJECT, { componentPath }));
}

async function fromFile(data: Buffer, componentPath: string, ex = extractor) {
  // No extension on disk, like a connector's download temp file: detection uses componentPath and magic.
  const file = path.join(dir, `download-${Math.random().toString(36).slice(2)}`);
  await fsp.writeFile(file, data);
  try {
    return await collectAll(ex.extractFromFile(file, OBJECT, { componentPath }));
  } finally {
    await fsp.rm(file, { force: true });
  }
}

const CSV = 'name,email\nAnn,ann@example.com\n';

describe('zip, gzip, tar and nesting', () => {
  const zip = buildZip([
    { name: '2024/customers.csv', data: CSV },
    { name: '2024/', data: '' },
    { name: 'readme.txt', data: 'hello zip\n', method: 'store' },
    { name: 'notes/mail.json', data: '{"email":"x@y.z"}' },
  ]);

  test.each([
    ['file', fromFile],
    ['stream (spooled)', fromStream],
  ])('zip from a %s: entries as archive!/path, directories skipped', async (_label, run) => {
    const components = await run(zip, 'backup.zip');
    expect(components.map((c) => c.componentPath)).toEqual([
      'backup.zip!/2024/customers.csv',
      'backup.zip!/readme.txt',
      'backup.zip!/notes/mail.json',
    ]);
    expect(tableOf(components, 'backup.zip!/2024/customers.csv')).toEqual({
      columns: ['name', 'email'],
      rows: [['Ann', 'ann@example.com']],
    });
    expect(textOf(components, 'backup.zip!/readme.txt')).toBe('hello zip\n');
    expect(textOf(components, 'backup.zip!/notes/mail.json')).toBe('email: x@y.z\n');
  });

  test('gzip is transparent in paths: a.csv.gz gives the CSV table under its own path', async () => {
    const components = await fromStream(gzip(CSV), 'exports/a.csv.gz');
    expect(tableOf(components, 'exports/a.csv.gz')).toEqual({
      columns: ['name', 'email'],
      rows: [['Ann', 'ann@example.com']],
    });
  });

  test('tar.gz with a nested zip holding a docx: full nested componentPaths', async () => {
    const inner = buildZip([
      { name: 'deep/secret.txt', data: 'password=hunter2\n' },
      { name: 'letter.docx', data: buildDocx(['Dear Ann']) },
    ]);
    const tgz = gzip(
      await buildTar([
        { name: '2024/customers.csv', data: CSV },
        { name: 'archive/inner.zip', data: inner },
        { name: 'logo.png', data: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(600)]) },
        { name: 'last.txt', data: 'the end\n' },
      ]),
    );
    const components = await fromStream(tgz, 'backups/site.tar.gz');
    expect(tableOf(components, 'backups/site.tar.gz!/2024/customers.csv').rows).toEqual([
      ['Ann', 'ann@example.com'],
    ]);
    expect(textOf(components, 'backups/site.tar.gz!/archive/inner.zip!/deep/secret.txt')).toBe(
      'password=hunter2\n',
    );
    expect(textOf(components, 'backups/site.tar.gz!/archive/inner.zip!/letter.docx')).toBe('Dear Ann\n\n');
    expect(errorsOf(components)).toEqual([
      {
        componentPath: 'backups/site.tar.gz!/logo.png',
        type: ErrorType.CONTENT_UNSUPPORTED,
        message: 'PNG image: no extractable text',
      },
    ]);
    expect(textOf(components, 'backups/site.tar.gz!/last.txt')).toBe('the end\n');
  });

  test('a plain tar from a file', async () => {
    const tarball = await buildTar([
      { name: 'a.txt', data: 'A\n' },
      { name: 'b.txt', data: 'B\n' },
    ]);
    const components = await fromFile(tarball, 'x.tar');
    expect(components.map((c) => [c.componentPath, c.text])).toEqual([
      ['x.tar!/a.txt', 'A\n'],
      ['x.tar!/b.txt', 'B\n'],
    ]);
  });
});

describe('office documents', () => {
  test('DOCX: paragraphs, tabs, header part; tab stops and field codes left out', async () => {
    const docx = buildDocx(['Employee: Ann Lee', 'SSN\t123-45-6789', 'R&D <team>'], {
      header: 'CONFIDENTIAL',
    });
    const components = await fromFile(docx, 'hr/review.docx');
    expect(errorsOf(components)).toEqual([]);
    expect(textOf(components, 'hr/review.docx')).toBe(
      'Employee: Ann Lee\nSSN\t123-45-6789\nR&D <team>\n\n\nCONFIDENTIAL\n',
    );
  });

  test('XLSX: sheets as tables, first row header, shared strings, numbers, gaps as null', async () => {
    const xlsx = buildXlsx([
      {
        name: 'Customers',
        rows: [
          ['name', 'card', 'city'],
          ['Ann', 4111111111111111, null],
          ['Bob', 5500000000000004, 'Paris'],
        ],
      },
      { name: 'Empty', rows: [] },
      { name: 'Notes', rows: [['note'], ['call back']] },
    ]);
    const components = await fromStream(xlsx, 'finance/q3.xlsx');
    expect(tableOf(components, 'finance/q3.xlsx!/Customers')).toEqual({
      columns: ['name', 'card', 'city'],
      rows: [
        ['Ann', '4111111111111111'],
        ['Bob', '5500000000000004', 'Paris'],
      ],
    });
    expect(tableOf(components, 'finance/q3.xlsx!/Notes')).toEqual({
      columns: ['note'],
      rows: [['call back']],
    });
    expect(components.map((c) => c.componentPath)).toEqual([
      'finance/q3.xlsx!/Customers',
      'finance/q3.xlsx!/Notes',
    ]);
  });

  test('PPTX: one component per slide', async () => {
    const components = await fromFile(
      buildPptx([['Q3 results', 'Revenue up'], ['Contact: ann@example.com']]),
      'deck.pptx',
    );
    expect(components.map((c) => [c.componentPath, c.text])).toEqual([
      ['deck.pptx!/slide1', 'Q3 results\nRevenue up\n'],
      ['deck.pptx!/slide2', 'Contact: ann@example.com\n'],
    ]);
  });

  test('ODT: paragraphs with text:s spaces', async () => {
    const components = await fromFile(
      buildOdt(['Hello  world', 'IBAN GB82 WEST 1234 5698 7654 32']),
      'letter.odt',
    );
    expect(textOf(components, 'letter.odt')).toBe('Hello  world\nIBAN GB82 WEST 1234 5698 7654 32\n');
  });

  test('ODS: sheets as tables; repeated empty rows and cells not materialised', async () => {
    const ods = buildOds([
      {
        name: 'People',
        rows: [
          ['name', 'phone', 'age'],
          ['Ann', '+44 20 7946 0958', '41'],
          ['Bob', null, '7'],
        ],
      },
    ]);
    const components = await fromStream(ods, 'people.ods');
    expect(tableOf(components, 'people.ods!/People')).toEqual({
      columns: ['name', 'phone', 'age'],
      rows: [
        ['Ann', '+44 20 7946 0958', '41'],
        ['Bob', null, '7'],
      ],
    });
  });

  test('a PDF inside a zip', async () => {
    const components = await fromStream(
      buildZip([{ name: 'scan.pdf', data: buildPdf([['Invoice 42']]) }]),
      'docs.zip',
    );
    expect(textOf(components, 'docs.zip!/scan.pdf')).toBe('Invoice 42\n');
  });
});

describe('limits and damage: error components, extraction goes on', () => {
  test('zip bomb entry (high ratio) → CONTENT_TOO_LARGE, next entries still extracted', async () => {
    const bomb = buildZip([
      { name: 'a.txt', data: 'before\n' },
      { name: 'zeros.txt', data: Buffer.alloc(20 * 1024 * 1024, 0x30) },
      { name: 'b.txt', data: 'after\n' },
    ]);
    const components = await fromStream(bomb, 'bomb.zip');
    expect(textOf(components, 'bomb.zip!/a.txt')).toBe('before\n');
    expect(textOf(components, 'bomb.zip!/b.txt')).toBe('after\n');
    const errors = errorsOf(components);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      componentPath: 'bomb.zip!/zeros.txt',
      type: ErrorType.CONTENT_TOO_LARGE,
    });
    expect(errors[0].message).toMatch(/compression ratio \d+:1 exceeds maxCompressionRatio \(100\)/);
  });

  test('gzip bomb: decompression stops at the ratio, with CONTENT_TOO_LARGE after the text so far', async () => {
    const ex = new ContentExtractor({ maxCompressionRatio: 50 });
    const components = await fromStream(gzip(Buffer.alloc(30 * 1024 * 1024, 0x41)), 'big.txt.gz', ex);
    const text = textOf(components, 'big.txt.gz');
    expect(text.length).toBeGreaterThan(1024 * 1024);
    expect(text.length).toBeLessThan(30 * 1024 * 1024);
    expect(errorsOf(components)).toEqual([
      {
        componentPath: 'big.txt.gz',
        type: ErrorType.CONTENT_TOO_LARGE,
        message: expect.stringContaining('zip bomb guard'),
      },
    ]);
  });

  test('corrupt zip → CONTENT_CORRUPT; truncated gzip → text so far then CONTENT_CORRUPT', async () => {
    const corrupt = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 7)]);
    expect(errorsOf(await fromFile(corrupt, 'broken.zip'))).toEqual([
      expect.objectContaining({ componentPath: 'broken.zip', type: ErrorType.CONTENT_CORRUPT }),
    ]);
    const gz = gzip('line one\nline two\n'.repeat(10000));
    const components = await fromStream(gz.subarray(0, gz.length - 40), 'cut.txt.gz');
    expect(errorsOf(components)).toEqual([
      expect.objectContaining({ componentPath: 'cut.txt.gz', type: ErrorType.CONTENT_CORRUPT }),
    ]);
  });

  test('a corrupt entry inside a zip is reported and the next entry extracted', async () => {
    const components = await fromStream(
      buildZip([
        { name: 'bad.pdf', data: '%PDF-1.4 nothing here' },
        { name: 'bad.zip', data: 'PK\x03\x04 not really' },
        { name: 'ok.txt', data: 'fine\n' },
      ]),
      'mixed.zip',
    );
    expect(errorsOf(components).map((e) => [e.componentPath, e.type])).toEqual([
      ['mixed.zip!/bad.pdf', ErrorType.CONTENT_CORRUPT],
      ['mixed.zip!/bad.zip', ErrorType.CONTENT_CORRUPT],
    ]);
    expect(textOf(components, 'mixed.zip!/ok.txt')).toBe('fine\n');
  });

  test('depth limit: archives nested deeper than maxArchiveDepth are refused', async () => {
    let nested = buildZip([{ name: 'core.txt', data: 'deepest\n' }]);
    for (let level = 4; level >= 1; level--) nested = buildZip([{ name: `level${level}.zip`, data: nested }]);
    // outer.zip (depth 0) → level1..level4 zips → core.txt at depth 5.
    expect(
      textOf(
        await fromStream(nested, 'outer.zip'),
        'outer.zip!/level1.zip!/level2.zip!/level3.zip!/level4.zip!/core.txt',
      ),
    ).toBe('deepest\n');
    const shallow = new ContentExtractor({ maxArchiveDepth: 3 });
    expect(errorsOf(await fromStream(nested, 'outer.zip', shallow))).toEqual([
      {
        componentPath: 'outer.zip!/level1.zip!/level2.zip!/level3.zip',
        type: ErrorType.CONTENT_TOO_LARGE,
        message: 'archive nested deeper than maxArchiveDepth (3); not opened',
      },
    ]);
  });

  test('entry limit counts over nested archives; the rest is reported once', async () => {
    const ex = new ContentExtractor({ maxArchiveEntries: 3 });
    const zip = buildZip(Array.from({ length: 6 }, (_v, i) => ({ name: `f${i}.txt`, data: `${i}\n` })));
    const components = await fromStream(zip, 'many.zip', ex);
    expect(components.filter((c) => c.kind === 'text').map((c) => c.componentPath)).toEqual([
      'many.zip!/f0.txt',
      'many.zip!/f1.txt',
      'many.zip!/f2.txt',
    ]);
    expect(errorsOf(components)).toEqual([
      {
        componentPath: 'many.zip',
        type: ErrorType.CONTENT_TOO_LARGE,
        message: 'remaining members not extracted: more than maxArchiveEntries (3) archive members',
      },
    ]);
  });

  test('maxObjectBytes: a file is refused up front; a stream is cut with CONTENT_TOO_LARGE', async () => {
    const ex = new ContentExtractor({ maxObjectBytes: 1000 });
    expect(errorsOf(await fromFile(Buffer.alloc(2000, 0x61), 'big.txt', ex))).toEqual([
      {
        componentPath: 'big.txt',
        type: ErrorType.CONTENT_TOO_LARGE,
        message: 'object of 2000 bytes exceeds maxObjectBytes (1000)',
      },
    ]);
    const stream = Readable.from(Array.from({ length: 20 }, () => Buffer.alloc(100, 0x61)));
    const components = await collectAll(ex.extractFromStream(stream, OBJECT, { componentPath: 'big.txt' }));
    expect(textOf(components, 'big.txt')).toBe('a'.repeat(1000));
    expect(errorsOf(components)).toEqual([
      {
        componentPath: 'big.txt',
        type: ErrorType.CONTENT_TOO_LARGE,
        message: 'extraction stopped: object exceeds maxObjectBytes (1000)',
      },
    ]);
  });

  test('maxComponentBytes refuses a big zip entry by its declared size', async () => {
    const ex = new ContentExtractor({ maxComponentBytes: 100 });
    const components = await fromStream(
      buildZip([
        { name: 'big.txt', data: 'x'.repeat(101) },
        { name: 'small.txt', data: 'ok\n' },
      ]),
      'z.zip',
      ex,
    );
    expect(errorsOf(components)).toEqual([
      {
        componentPath: 'z.zip!/big.txt',
        type: ErrorType.CONTENT_TOO_LARGE,
        message: '101 bytes exceeds maxComponentBytes (100)',
      },
    ]);
    expect(textOf(components, 'z.zip!/small.txt')).toBe('ok\n');
  });

  test('temporary spool files are removed', async () => {
    const before = (await fsp.readdir(os.tmpdir())).filter(
      (n) => n.startsWith('assay-extract-') && !n.startsWith('assay-extract-test-'),
    );
    await fromStream(buildZip([{ name: 'a.txt', data: 'a' }]), 'a.zip');
    const after = (await fsp.readdir(os.tmpdir())).filter(
      (n) => n.startsWith('assay-extract-') && !n.startsWith('assay-extract-test-'),
    );
    expect(after.sort()).toEqual(before.sort());
  });
});

test('entries with traversal or absolute names are still extracted, under their own names', async () => {
  const zip = buildZip([
    { name: '../evil.txt', data: 'x\n' },
    { name: '/abs.txt', data: 'y\n' },
    { name: 'dir\\win.txt', data: 'z\n' },
  ]);
  const components = await collectAll(
    extractor.extractFromStream(Readable.from([zip]), OBJECT, { componentPath: 'a.zip' }),
  );
  expect(components.map((c) => [c.componentPath, c.text])).toEqual([
    ['a.zip!/../evil.txt', 'x\n'],
    ['a.zip!//abs.txt', 'y\n'],
    ['a.zip!/dir/win.txt', 'z\n'],
  ]);
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import { ContentExtractor } from '../../src/extraction';
import { ErrorType } from '../../src/core/errors';
import {
  buildPdf,
  collectAll,
  errorsOf,
  packObjects,
  pdfEncodings,
  tableOf,
  textOf,
  trueTypeWithCmap,
  writePdf,
  type PdfObjectSpec,
  type PdfStreamEncoding,
} from './helpers/fixtures';

const extractor = new ContentExtractor();
const OBJECT = 'ds1:share/file';

function run(data: Buffer | string, fileName: string, ex = extractor) {
  const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return collectAll(
    ex.extractFromStream(Readable.from([buffer]), OBJECT, { componentPath: fileName, fileName }),
  );
}

describe('bytes in memory', () => {
  // extractTextInMemory and extractFromFile (for a small file) make text-like content of one slice (64 KiB) in one
  // step; the stream path is the reference.
  const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  const cases: Array<[string, Buffer]> = [
    ['empty.txt', Buffer.alloc(0)],
    ['plain.txt', Buffer.from('Name: Zoë Müller\nIBAN DE89 3704 0044 0532 0130 00\n')],
    ['bom.txt', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('héllo\r\nworld')])],
    ['utf16.txt', utf16le('Straße €5 — 日本\n'.repeat(40))],
    ['latin.txt', Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x20, 0x80, 0x35, 0x0a])], // not UTF-8: Windows-1252
    ['cut.txt', Buffer.concat([Buffer.from('ends mid-sequence '), Buffer.from('€').subarray(0, 2)])],
    [
      'data.json',
      Buffer.from(JSON.stringify({ user: { email: 'a@example.com', phones: ['+1 202 555 0101'] } })),
    ],
    [
      'page.html',
      Buffer.from('<html><body><p>Card 4111 1111 1111 1111</p><script>x()</script></body></html>'),
    ],
    ['doc.xml', Buffer.from('<?xml version="1.0"?><r><ssn>078-05-1120</ssn><n a="b">text</n></r>')],
    ['long.txt', Buffer.from('line of text with a@example.com\n'.repeat(600))], // many components at 1,000 chars
    ['slice.txt', Buffer.alloc(64 * 1024, 'abc\n')], // exactly one slice
    ['over.txt', Buffer.alloc(64 * 1024 + 1, 'abc\n')], // two slices: the stream path
    ['table.csv', Buffer.from('name,email\nAda,ada@example.com\n')], // not text-like: the stream path
  ];
  test.each(cases)('%s: the components extractFromStream gives', async (name, data) => {
    const ex = new ContentExtractor({ textChunkChars: 1000 });
    const options = { componentPath: `share/${name}` };
    const fromBuffer = await collectAll(ex.extractFromBuffer(data, OBJECT, options));
    const fromStream = await collectAll(ex.extractFromStream(Readable.from([data]), OBJECT, options));
    expect(fromBuffer).toEqual(fromStream);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'assay-in-memory-'));
    try {
      writeFileSync(path.join(dir, name), data);
      const fromFile = await collectAll(ex.extractFromFile(path.join(dir, name), OBJECT, options));
      expect(fromFile).toEqual(fromStream);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (data.length > 0) expect(fromBuffer.length).toBeGreaterThan(0);
    // The one-step form connectors call first: the same components, or none for what needs the stream path.
    const inMemory = ex.extractTextInMemory(data, OBJECT, options);
    expect(inMemory).toEqual(name === 'over.txt' || name === 'table.csv' ? undefined : fromStream);
  });
});

describe('plain text and encodings', () => {
  test('UTF-8 text is one component with exact text, offset 0, line 1, bytes', async () => {
    const text = 'Name: Zoë Müller\nIBAN DE89 3704 0044 0532 0130 00\n';
    const components = await run(text, 'notes.txt');
    expect(components).toEqual([
      {
        objectId: OBJECT,
        componentPath: 'notes.txt',
        kind: 'text',
        text,
        offset: 0,
        line: 1,
        bytes: Buffer.byteLength(text),
      },
    ]);
  });

  test('UTF-16 LE and BE with BOM are decoded (BOM dropped)', async () => {
    const text = 'Straße €5 — 日本\n';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le);
    for (let i = 0; i < be.length; i += 2) [be[i], be[i + 1]] = [be[i + 1], be[i]];
    expect(textOf(await run(le, 'a.txt'), 'a.txt')).toBe(text);
    expect(textOf(await run(be, 'b.txt'), 'b.txt')).toBe(text);
  });

  test('UTF-8 with BOM drops the BOM', async () => {
    expect(
      textOf(
        await run(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('héllo')]), 'a.txt'),
        'a.txt',
      ),
    ).toBe('héllo');
  });

  test('Windows-1252 (invalid UTF-8) is detected: € and é', async () => {
    const bytes = Buffer.from([...Buffer.from('Prix: 5'), 0x80, 0x20, ...Buffer.from('caf'), 0xe9, 0x0a]);
    expect(textOf(await run(bytes, 'prices.txt'), 'prices.txt')).toBe('Prix: 5€ café\n');
  });

  test('UTF-8 that turns invalid after the sniffed head switches to Windows-1252', async () => {
    const bytes = Buffer.concat([Buffer.from('a'.repeat(20000)), Buffer.from([0xe9])]);
    expect(textOf(await run(bytes, 'late.txt'), 'late.txt')).toBe(`${'a'.repeat(20000)}é`);
  });

  test('empty input yields nothing', async () => {
    expect(await run(Buffer.alloc(0), 'empty.txt')).toEqual([]);
  });
});

describe('binary detection', () => {
  test('images and executables are CONTENT_UNSUPPORTED with a clear message', async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(100),
    ]);
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(100)]);
    expect(errorsOf(await run(png, 'logo.txt'))).toEqual([
      {
        componentPath: 'logo.txt',
        type: ErrorType.CONTENT_UNSUPPORTED,
        message: 'PNG image: no extractable text',
      },
    ]);
    expect(errorsOf(await run(elf, 'tool'))).toEqual([
      {
        componentPath: 'tool',
        type: ErrorType.CONTENT_UNSUPPORTED,
        message: 'ELF executable: no extractable text',
      },
    ]);
  });

  test('unknown binary is unsupported; unknown mostly-printable bytes are text', async () => {
    const binary = Buffer.alloc(4096);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 7) % 32;
    expect(errorsOf(await run(binary, 'blob.dat'))[0].type).toBe(ErrorType.CONTENT_UNSUPPORTED);
    const mostlyText = Buffer.from(`ssn=123-45-6789\u0001${'x'.repeat(200)}\n`);
    const components = await run(mostlyText, 'record.dat');
    expect(textOf(components, 'record.dat')).toBe(mostlyText.toString());
  });
});

describe('CSV / TSV', () => {
  test('quotes, escaped quotes, embedded newlines and delimiters, CRLF', async () => {
    const csv =
      'name,email,note\r\n"Smith, John",john@example.com,"said ""hi""\r\nthen left"\r\nJane,jane@example.com,\r\n';
    const components = await run(csv, 'people.csv');
    expect(components).toHaveLength(1);
    expect(components[0]).toMatchObject({
      kind: 'table',
      componentPath: 'people.csv',
      rowOffset: 0,
      bytes: csv.length,
    });
    expect(tableOf(components, 'people.csv')).toEqual({
      columns: ['name', 'email', 'note'],
      rows: [
        ['Smith, John', 'john@example.com', 'said "hi"\r\nthen left'],
        ['Jane', 'jane@example.com', ''],
      ],
    });
  });

  test('delimiter sniffing: semicolon and pipe; TSV by extension', async () => {
    expect(tableOf(await run('a;b\n1;"x;y"\n', 'eu.csv'), 'eu.csv')).toEqual({
      columns: ['a', 'b'],
      rows: [['1', 'x;y']],
    });
    expect(tableOf(await run('a|b|c\n1|2|3\n', 'pipes.csv'), 'pipes.csv')).toEqual({
      columns: ['a', 'b', 'c'],
      rows: [['1', '2', '3']],
    });
    expect(tableOf(await run('a,b\tc\n1,2\t3', 'x.tsv'), 'x.tsv')).toEqual({
      columns: ['a,b', 'c'],
      rows: [['1,2', '3']],
    });
  });

  test('rows come in batches of tableBatchRows with exact rowOffsets; header-only CSV still yields columns', async () => {
    const small = new ContentExtractor({ tableBatchRows: 1000 });
    const lines = ['id,card'];
    for (let i = 0; i < 2500; i++) lines.push(`${i},4111111111111111`);
    const components = await run(`${lines.join('\n')}\n`, 'cards.csv', small);
    expect(components.map((c) => [c.rowOffset, c.rows!.length])).toEqual([
      [0, 1000],
      [1000, 1000],
      [2000, 500],
    ]);
    expect(tableOf(components, 'cards.csv').rows[2499]).toEqual(['2499', '4111111111111111']);
    expect(await run('only,header\n', 'h.csv')).toEqual([
      {
        objectId: OBJECT,
        componentPath: 'h.csv',
        kind: 'table',
        columns: ['only', 'header'],
        rows: [],
        rowOffset: 0,
        bytes: 12,
      },
    ]);
  });
});

describe('JSON / NDJSON', () => {
  test('JSON values come out as key-path lines (strings and numbers, exact spelling)', async () => {
    const json = JSON.stringify(
      {
        customers: [
          {
            name: 'Ann "A" Lee',
            email: 'ann@example.com',
            card: 4111111111111111,
            active: true,
            notes: null,
          },
          { name: 'Bob', tags: ['x', 'y'], 'home address': 'Main St 1\nSpringfield' },
        ],
        total: 2.5e3,
      },
      null,
      2,
    );
    expect(textOf(await run(json, 'export.json'), 'export.json')).toBe(
      [
        'customers[0].name: Ann "A" Lee',
        'customers[0].email: ann@example.com',
        'customers[0].card: 4111111111111111',
        'customers[1].name: Bob',
        'customers[1].tags[0]: x',
        'customers[1].tags[1]: y',
        'customers[1]."home address": Main St 1\nSpringfield',
        'total: 2500',
        '',
      ].join('\n'),
    );
  });

  test('NDJSON (detected by content) flattens each record; a bad line passes through raw', async () => {
    const ndjson =
      '{"user":{"email":"a@b.io"},"n":1}\nnot json at all\n{"user":{"email":"c@d.io"},"esc":"\\u00e9\\n"}\n';
    expect(textOf(await run(ndjson, 'events'), 'events')).toBe(
      'user.email: a@b.io\nn: 1\nnot json at all\nuser.email: c@d.io\nesc: é\n\n',
    );
  });

  test('JSON split across many chunks gives the same text', async () => {
    const json = JSON.stringify({ a: 'x'.repeat(100), b: [1, 2, { c: 'déjà' }] });
    const stream = Readable.from(
      Buffer.from(json)
        .toString('utf8')
        .split('')
        .map((ch) => Buffer.from(ch)),
    );
    const components = await collectAll(
      extractor.extractFromStream(stream, OBJECT, { componentPath: 'c.json' }),
    );
    expect(textOf(components, 'c.json')).toBe(`a: ${'x'.repeat(100)}\nb[0]: 1\nb[1]: 2\nb[2].c: déjà\n`);
  });
});

describe('XML and HTML', () => {
  test('XML: text nodes one per line, entities and CDATA decoded, comments dropped', async () => {
    const xml =
      '<?xml version="1.0"?>\n<!-- secret comment -->\n<people><person id="1"><name>O&apos;Brien &amp; Co</name><email>ob@example.com</email><bio><![CDATA[<b>raw</b>]]></bio><n>&#169;&#x20AC;</n></person></people>';
    expect(textOf(await run(xml, 'people.xml'), 'people.xml')).toBe(
      "O'Brien & Co\nob@example.com\n<b>raw</b>\n©€\n",
    );
  });

  test('HTML: script/style dropped, blocks on lines, inline joined, named entities decoded', async () => {
    const html = `<!DOCTYPE html><html><head><title>Staff</title><style>p{color:red}</style><script>var x = "<p>no</p>";</script></head>
<body><h1>Contact&nbsp;list</h1><p>Call <b>Ann</b>   at
 +1&nbsp;555 0100 &eacute;t&eacute;</p><ul><li>one</li><li>two &lt;3</li></ul><!-- <p>hidden</p> --><form><input name="q" value="prefilled@example.com"></form></body></html>`;
    expect(textOf(await run(html, 'staff.html'), 'staff.html')).toBe(
      'Staff\nContact list\nCall Ann at +1 555 0100 été\none\ntwo <3\nprefilled@example.com\n',
    );
  });

  test('HTML detected by content without an extension', async () => {
    expect(textOf(await run('<html><body><p>hi &amp; bye</p></body></html>', 'page'), 'page')).toBe(
      'hi & bye\n',
    );
  });
});

describe('EML', () => {
  const mail = [
    'From: =?UTF-8?B?Sm9zw6kgR2FyY8OtYQ==?= <jose@example.com>',
    'To: ann@example.com',
    'Subject: =?ISO-8859-1?Q?Caf=E9_order?=',
    'Date: Mon, 2 Sep 2024 10:00:00 +0000',
    'Message-ID: <1@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Card: 4111 1111 1111 1111 =E2=82=AC',
    'soft=',
    'break',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Card: 4111 1111 1111 1111</p>',
    '--alt--',
    '--outer',
    'Content-Type: text/csv; name="list.csv"',
    'Content-Disposition: attachment; filename="list.csv"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('name,ssn\nAnn,123-45-6789\n').toString('base64'),
    '--outer',
    'Content-Type: image/png',
    "Content-Disposition: attachment; filename*=UTF-8''logo%C3%A9.png",
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]).toString('base64'),
    '--outer--',
    '',
  ].join('\r\n');

  test('headers (encoded words), plain body (quoted-printable), attachments recursively as mail.eml!/name', async () => {
    const components = await run(mail, 'inbox/mail.eml');
    expect(textOf(components, 'inbox/mail.eml')).toBe(
      [
        'From: José García <jose@example.com>',
        'To: ann@example.com',
        'Date: Mon, 2 Sep 2024 10:00:00 +0000',
        'Subject: Café order',
        '',
        'Card: 4111 1111 1111 1111 €\r\nsoftbreak',
        '',
      ].join('\n'),
    );
    expect(tableOf(components, 'inbox/mail.eml!/list.csv')).toEqual({
      columns: ['name', 'ssn'],
      rows: [['Ann', '123-45-6789']],
    });
    expect(errorsOf(components)).toEqual([
      {
        componentPath: 'inbox/mail.eml!/logoé.png',
        type: ErrorType.CONTENT_UNSUPPORTED,
        message: 'PNG image: no extractable text',
      },
    ]);
  });

  test('EML detected by content; HTML-only body converted', async () => {
    const htmlOnly =
      'From: a@b.c\nTo: d@e.f\nSubject: hi\nContent-Type: text/html\n\n<div>Hello <b>there</b></div>\n';
    expect(textOf(await run(htmlOnly, 'message'), 'message')).toBe(
      'From: a@b.c\nTo: d@e.f\nSubject: hi\n\nHello there\n',
    );
  });
});

describe('PDF', () => {
  test('text of FlateDecoded pages, Tj/T*/TJ, escapes and WinAnsi', async () => {
    const pdf = buildPdf([
      ['Employee record', 'SSN 123-45-6789 (confidential)', 'Caf\u00e9 \u20ac costs'],
      ['Page two'],
    ]);
    const components = await run(pdf, 'docs/hr.pdf');
    expect(errorsOf(components)).toEqual([]);
    expect(textOf(components, 'docs/hr.pdf')).toBe(
      'Employee record\nSSN 123-45-6789 (confidential)\nCafé € costs\n\nPage two\n',
    );
  });

  test('TJ kerning gaps become spaces; uncompressed streams work', async () => {
    const pdf = buildPdf([['card number 4111111111111111']], { compress: false, kerned: true });
    expect(textOf(await run(pdf, 'k.pdf'), 'k.pdf')).toBe('card number 4111111111111111\n');
  });

  test('corrupt PDF → CONTENT_CORRUPT; truncated PDF keeps its text and reports CONTENT_CORRUPT', async () => {
    expect(errorsOf(await run('%PDF-1.7\ngarbage with no objects\n', 'bad.pdf'))).toEqual([
      {
        componentPath: 'bad.pdf',
        type: ErrorType.CONTENT_CORRUPT,
        message: 'damaged PDF: no PDF objects found',
      },
    ]);
    const full = buildPdf([['First page text'], ['Second page text']], { compress: false });
    const cut = full.subarray(0, full.indexOf('Second page'));
    const components = await run(cut, 'cut.pdf');
    expect(textOf(components, 'cut.pdf')).toBe('First page text\n');
    expect(errorsOf(components)).toEqual([
      expect.objectContaining({ componentPath: 'cut.pdf', type: ErrorType.CONTENT_CORRUPT }),
    ]);
  });

  test('CID font (Type0, Identity-H) text is mapped through its ToUnicode CMap', async () => {
    // Glyph ids 0x0010.. stand for "Jane", 0x0020 for space, 0x0030..0x0039 for digits (a bfrange).
    const cmap = [
      '/CIDInit /ProcSet findresource begin 12 dict begin begincmap',
      '1 begincodespacerange <0000> <FFFF> endcodespacerange',
      '5 beginbfchar <0010> <004A> <0011> <0061> <0012> <006E> <0013> <0065> <0020> <0020> endbfchar',
      '1 beginbfrange <0030> <0039> <0030> endbfrange',
      '1 beginbfrange <0040> <0041> [<00E9> <20AC>] endbfrange',
      'endcmap CMapName currentdict /CMap defineresource pop end end',
    ].join('\n');
    const content =
      'BT /C0 11 Tf 72 700 Td <0010001100120013> Tj 0 -14 Td [<003400310031> -300 <00400041>] TJ ET';
    const objects = [
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      '<< /Type /Page /Parent 2 0 R /Resources << /Font << /C0 5 0 R >> >> /Contents 4 0 R >>',
      `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
      '<< /Type /Font /Subtype /Type0 /BaseFont /Calibri /Encoding /Identity-H /ToUnicode 6 0 R >>',
      `<< /Length ${cmap.length} >>\nstream\n${cmap}\nendstream`,
    ];
    const pdf = `%PDF-1.7\n${objects.map((body, i) => `${i + 1} 0 obj\n${body}\nendobj\n`).join('')}trailer\n<< /Root 1 0 R >>\n%%EOF\n`;
    const components = await run(pdf, 'cid.pdf');
    expect(errorsOf(components)).toEqual([]);
    expect(textOf(components, 'cid.pdf')).toBe('Jane\n411 é€\n');
  });

  test('ASCII85 + Flate content streams are decoded in filter order', async () => {
    const pdf = buildPdf([['Account holder: Jane Doe', 'IBAN DE89 3704 0044 0532 0130 00']], {
      encodings: [pdfEncodings.ascii85Flate],
    });
    expect(pdf.toString('latin1')).toContain('/Filter [/ASCII85Decode /FlateDecode]');
    const components = await run(pdf, 'a85.pdf');
    expect(errorsOf(components)).toEqual([]);
    expect(textOf(components, 'a85.pdf')).toBe(
      'Account holder: Jane Doe\nIBAN DE89 3704 0044 0532 0130 00\n',
    );
  });

  test('LZW content streams with EarlyChange 1 (default) and 0, long enough to widen the codes', async () => {
    const lines = Array.from(
      { length: 60 },
      (_v, i) => `Row ${i}: customer ${i} <c${i}@example.com> card 4111 1111 1111 ${1000 + i}`,
    );
    const pdf = buildPdf([lines, lines.slice(0, 30)], {
      encodings: [pdfEncodings.lzw(1), pdfEncodings.lzw(0)],
    });
    expect(pdf.toString('latin1')).toContain('/Filter /LZWDecode /DecodeParms << /EarlyChange 0 >>');
    const components = await run(pdf, 'lzw.pdf');
    expect(errorsOf(components)).toEqual([]);
    expect(textOf(components, 'lzw.pdf')).toBe(`${lines.join('\n')}\n\n${lines.slice(0, 30).join('\n')}\n`);
  });

  test('a Flate content stream with a PNG predictor is skipped, not decoded', async () => {
    // One 1024-byte row behind PNG filter type 0 (None): readable if the predictor were ignored, yet skipped.
    const pngPredicted: PdfStreamEncoding = {
      entries: '/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 1024 >>',
      encode: (data) => {
        const row = Buffer.alloc(1024, 0x20); // spaces pad the row
        data.copy(row);
        return deflateSync(Buffer.concat([Buffer.from([0]), row]));
      },
    };
    const pdf = buildPdf([['Visible page'], ['Predicted page']], {
      encodings: [pdfEncodings.flate, pngPredicted],
    });
    const components = await run(pdf, 'predictor.pdf');
    expect(errorsOf(components)).toEqual([]);
    expect(textOf(components, 'predictor.pdf')).toBe('Visible page\n');
  });

  test('LZW and Flate bombs stop at the decompression budget; text before them is kept', async () => {
    const small = new ContentExtractor({ maxComponentBytes: 100_000 });
    for (const [name, encoding] of [
      ['lzw', pdfEncodings.lzw(1)],
      ['flate', pdfEncodings.flate],
    ] as const) {
      // 5 MB of one letter: a few KB stored, 50 times the budget decoded.
      const pdf = buildPdf([['Before the bomb'], ['a'.repeat(5_000_000)]], {
        encodings: [pdfEncodings.flate, encoding],
      });
      expect(pdf.length).toBeLessThan(10_000);
      const components = await run(pdf, `${name}-bomb.pdf`, small);
      expect(textOf(components, `${name}-bomb.pdf`)).toBe('Before the bomb\n');
      expect(errorsOf(components)).toEqual([
        {
          componentPath: `${name}-bomb.pdf`,
          type: ErrorType.CONTENT_TOO_LARGE,
          message: 'extraction stopped: PDF streams inflate beyond maxComponentBytes (100000)',
        },
      ]);
    }
  });

  describe('object streams (PDF 1.5)', () => {
    const sentence = 'Please write to jane.doe@example.com before Friday.';
    /** Glyph codes of the CID font fixtures: code point + 0x100, so the raw bytes are not the text. */
    const cidHex = (text: string) =>
      `<${[...text].map((c) => (c.charCodeAt(0) + 0x100).toString(16).padStart(4, '0')).join('')}>`;
    /** ToUnicode CMap undoing cidHex; with `capitals`, lowercase glyphs map to capitals (a second revision). */
    const toUnicode = (capitals: boolean): PdfObjectSpec['stream'] => {
      const ranges = capitals
        ? ['<0120> <0160> <0020>', '<0161> <017A> <0041>', '<017B> <017E> <007B>']
        : ['<0120> <017E> <0020>'];
      const cmap = [
        '/CIDInit /ProcSet findresource begin 12 dict begin begincmap',
        '/CMapName /Adobe-Identity-UCS def /CMapType 2 def',
        '1 begincodespacerange <0000> <FFFF> endcodespacerange',
        `${ranges.length} beginbfrange ${ranges.join(' ')} endbfrange`,
        'endcmap CMapName currentdict /CMap defineresource pop end end',
      ].join('\n');
      return deflateSync(cmap);
    };
    const type0Font = (toUnicodeId: number) =>
      `<< /Type /Font /Subtype /Type0 /BaseFont /Calibri /Encoding /Identity-H /DescendantFonts [7 0 R] /ToUnicode ${toUnicodeId} 0 R >>`;
    const catalog = { id: 1, value: '<< /Type /Catalog /Pages 2 0 R >>' };
    const pages = { id: 2, value: '<< /Type /Pages /Kids [3 0 R] /Count 1 >>' };
    const page = {
      id: 3,
      value:
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /C0 5 0 R >> >> /Contents 4 0 R >>',
    };
    const cidFont = {
      id: 7,
      value:
        '<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Calibri /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 8 0 R /CIDToGIDMap /Identity >>',
    };
    const descriptor = {
      id: 8,
      value:
        '<< /Type /FontDescriptor /FontName /Calibri /Flags 32 /FontBBox [-503 -250 1240 750] /ItalicAngle 0 /Ascent 750 /Descent -250 /CapHeight 632 /StemV 80 >>',
    };
    const content: PdfObjectSpec = {
      id: 4,
      value: '<< /Filter /FlateDecode >>',
      stream: deflateSync(`BT /C0 11 Tf 72 700 Td ${cidHex(sentence)} Tj ET`),
    };

    test('Page and Type0 font dictionaries inside a Flate object stream: exact text through ToUnicode', async () => {
      const pdf = writePdf([
        [
          packObjects(9, [catalog, pages, page, { id: 5, value: type0Font(6) }, cidFont, descriptor]),
          content,
          { id: 6, value: '<< /Filter /FlateDecode >>', stream: toUnicode(false) },
        ],
      ]);
      const components = await run(pdf, 'packed.pdf');
      expect(errorsOf(components)).toEqual([]);
      expect(textOf(components, 'packed.pdf')).toBe(`${sentence}\n`);
    });

    /** The page with font 5: a Type0 font without ToUnicode over CID font `cid` and `fontDescriptor`. */
    const withoutToUnicode = (
      cid: { id: number; value: string },
      fontDescriptor: { id: number; value: string },
      streams: PdfObjectSpec[] = [],
    ) =>
      writePdf([
        [
          packObjects(9, [
            catalog,
            pages,
            page,
            {
              id: 5,
              value:
                '<< /Type /Font /Subtype /Type0 /BaseFont /Calibri /Encoding /Identity-H /DescendantFonts [7 0 R] >>',
            },
            cid,
            fontDescriptor,
          ]),
          content,
          ...streams,
        ],
      ]);

    test.each([
      ['format4-delta', 'Identity'],
      ['format4-array', 'Identity'],
      ['format12', 'stream'],
    ] as const)(
      'CID font without ToUnicode: glyphs read back through the embedded TrueType cmap (%s, CIDToGIDMap %s)',
      async (layout, cidToGid) => {
        // CIDs are code point + 0x100 (cidHex); glyphs are the CIDs, or CID + 7 through a CIDToGIDMap stream.
        const shift = cidToGid === 'stream' ? 7 : 0;
        const glyphs = new Map(
          [...new Set(sentence)].map((c) => [c.charCodeAt(0), c.charCodeAt(0) + 0x100 + shift]),
        );
        const gidMap = Buffer.alloc(0x200 * 2);
        for (let cid = 0; cid < 0x200; cid++) gidMap.writeUInt16BE(cid + shift, cid * 2);
        const pdf = withoutToUnicode(
          cidToGid === 'stream'
            ? { id: 7, value: cidFont.value.replace('/CIDToGIDMap /Identity', '/CIDToGIDMap 12 0 R') }
            : cidFont,
          { id: 8, value: descriptor.value.replace('>>', '/FontFile2 11 0 R >>') },
          [
            {
              id: 11,
              value: '<< /Filter /FlateDecode /Length1 1000 >>',
              stream: deflateSync(trueTypeWithCmap(glyphs, layout)),
            },
            { id: 12, value: '<< /Filter /FlateDecode >>', stream: deflateSync(gidMap) },
          ],
        );
        const components = await run(pdf, 'no-tounicode.pdf');
        expect(errorsOf(components)).toEqual([]);
        expect(textOf(components, 'no-tounicode.pdf')).toBe(`${sentence}\n`);
      },
    );

    test('CID font without ToUnicode and without an embedded program: no text is guessed, and that is said', async () => {
      const components = await run(withoutToUnicode(cidFont, descriptor), 'bare.pdf');
      expect(textOf(components, 'bare.pdf')).toBe('');
      expect(errorsOf(components)).toEqual([
        {
          componentPath: 'bare.pdf',
          type: ErrorType.CONTENT_UNSUPPORTED,
          message: 'PDF has no text layer (scanned or image-only?)',
        },
      ]);
    });

    test('the later definition wins: an object stream over an earlier top-level object, and the reverse', async () => {
      const original = [
        catalog,
        pages,
        page,
        content,
        { id: 5, value: type0Font(6) },
        { id: 6, value: '<< /Filter /FlateDecode >>', stream: toUnicode(true) },
        cidFont,
        descriptor,
      ];
      // Update 1 packs a new font 5 with its own CMap; update 2 puts font 5 back, top-level, on the first CMap.
      const packedUpdate = [
        packObjects(9, [{ id: 5, value: type0Font(10) }]),
        { id: 10, value: '<< /Filter /FlateDecode >>', stream: toUnicode(false) },
      ];
      const topLevelUpdate = [{ id: 5, value: type0Font(6) }];
      const packedWins = await run(writePdf([original, packedUpdate]), 'update1.pdf');
      expect(errorsOf(packedWins)).toEqual([]);
      expect(textOf(packedWins, 'update1.pdf')).toBe(`${sentence}\n`);
      const topLevelWins = await run(writePdf([original, packedUpdate, topLevelUpdate]), 'update2.pdf');
      expect(errorsOf(topLevelWins)).toEqual([]);
      expect(textOf(topLevelWins, 'update2.pdf')).toBe(`${sentence.toUpperCase()}\n`);
    });

    test('damaged object streams are reported, never thrown; what they still hold is used', async () => {
      const cmap = { id: 6, value: '<< /Filter /FlateDecode >>', stream: toUnicode(false) };
      const objectStream = (dictionary: string, data: string): PdfObjectSpec => ({
        id: 9,
        value: `<< /Type /ObjStm ${dictionary} /Filter /FlateDecode >>`,
        stream: deflateSync(data),
        holds: [3, 5],
      });
      const cases: [string, PdfObjectSpec, string, string][] = [
        [
          'not-zlib.pdf',
          { ...packObjects(9, [page, { id: 5, value: type0Font(6) }]), stream: Buffer.from('not zlib data') },
          // No page, no font: the 2-byte glyph codes come out as WinAnsi.
          [...sentence].map((c) => `\u0001${c}`).join(''),
          'object 9: damaged FlateDecode stream',
        ],
        [
          // /N 4 but three pairs, the third past the end: objects 3 and 5 are still read.
          'bad-header.pdf',
          objectStream(
            '/N 4 /First 20',
            `3 0 5 ${page.value.length + 1} 7 99999 `.padEnd(20) + `${page.value}\n${type0Font(6)}\n`,
          ),
          sentence,
          'object 9: damaged object stream header',
        ],
        [
          'bad-first.pdf',
          objectStream('/N 1000000000 /First 99999', `3 0 ${page.value}`),
          [...sentence].map((c) => `\u0001${c}`).join(''),
          'object 9: damaged object stream (no valid /N and /First)',
        ],
      ];
      for (const [name, packed, text, problem] of cases) {
        const components = await run(writePdf([[catalog, pages, packed, content, cmap]]), name);
        expect(textOf(components, name)).toBe(`${text}\n`);
        expect(errorsOf(components)).toEqual([
          { componentPath: name, type: ErrorType.CONTENT_CORRUPT, message: `damaged PDF: ${problem}` },
        ]);
      }
    });
  });

  test('encrypted PDF without its encryption dictionary → CONTENT_UNSUPPORTED', async () => {
    const pdf = Buffer.from(
      '%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< /Root 1 0 R /Encrypt 5 0 R >>\n%%EOF\n',
    );
    expect(errorsOf(await run(pdf, 'locked.pdf'))).toEqual([
      {
        componentPath: 'locked.pdf',
        type: ErrorType.CONTENT_UNSUPPORTED,
        message: 'encrypted PDF: text not extractable (its encryption dictionary is missing)',
      },
    ]);
  });

  describe('PDFs encrypted with an owner password only open like in any reader (fixtures made by qpdf)', () => {
    const fixture = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'pdf', name));
    const text =
      'Statement for jane.doe@example.com\nCard 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32\n';

    test.each([
      ['rc4-40.pdf', 'revision 2, RC4 40-bit'],
      ['rc4-128.pdf', 'revision 3, RC4 128-bit'],
      ['rc4-128-objstm.pdf', 'revision 4, RC4 crypt filter, metadata in clear, pages in an object stream'],
      ['aes-128-objstm.pdf', 'revision 4, AES-128, pages in an object stream'],
      ['aes-256-r5.pdf', 'revision 5, AES-256'],
      ['aes-256.pdf', 'revision 6, AES-256, pages in an object stream'],
    ])('%s (%s)', async (name) => {
      const components = await run(fixture(name), name);
      expect(errorsOf(components)).toEqual([]);
      expect(textOf(components, name)).toBe(text);
    });

    test('one that needs a password to open → CONTENT_UNSUPPORTED, saying so', async () => {
      expect(errorsOf(await run(fixture('user-password.pdf'), 'user.pdf'))).toEqual([
        {
          componentPath: 'user.pdf',
          type: ErrorType.CONTENT_UNSUPPORTED,
          message: 'encrypted PDF: text not extractable (it needs a password to open)',
        },
      ]);
    });

    test('a stream whose /Length is an indirect reference: the ciphertext runs to the EOL before endstream', async () => {
      const pdf = Buffer.from(
        fixture('aes-256.pdf')
          .toString('latin1')
          .replace('<< /Length 144 /Filter /FlateDecode >>', '<< /Length 12 0 R /Filter /FlateDecode >>'),
        'latin1',
      );
      const components = await run(pdf, 'indirect.pdf');
      expect(errorsOf(components)).toEqual([]);
      expect(textOf(components, 'indirect.pdf')).toBe(text);
    });

    test('a stream whose ciphertext is damaged → CONTENT_CORRUPT for that stream', async () => {
      const pdf = fixture('aes-256.pdf');
      // Object 6 is the page's content stream: 16 bytes of IV and 128 of ciphertext; its last byte flipped
      // breaks the padding.
      const streamStart = pdf.indexOf('stream', pdf.indexOf('6 0 obj')) + 'stream\n'.length;
      pdf[streamStart + 143] ^= 0xff;
      const components = await run(pdf, 'damaged.pdf');
      expect(textOf(components, 'damaged.pdf')).toBe('');
      expect(errorsOf(components)).toEqual([
        {
          componentPath: 'damaged.pdf',
          type: ErrorType.CONTENT_CORRUPT,
          message: 'damaged PDF: object 6: stream does not decrypt',
        },
      ]);
    });
  });
});

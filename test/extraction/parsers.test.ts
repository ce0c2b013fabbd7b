import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ContentExtractor, detectFormat } from '../../src/extraction';
import { CsvParser, sniffDelimiter } from '../../src/extraction/csv';
import { JsonFlattener } from '../../src/extraction/json';
import { HtmlToText } from '../../src/extraction/markup';
import { contentStreamText } from '../../src/extraction/pdf';
import { decodeEncodedWords, parseHeaderValue } from '../../src/extraction/mime';
import { ConfigurationError, ErrorType } from '../../src/core/errors';
import { collectAll, errorsOf, textOf } from './helpers/fixtures';

/** Feeds `text` in pieces of every size from 1 to 7 and checks the result never changes. */
function splitEverywhere<T>(text: string, run: (pieces: string[]) => T): T {
  const whole = run([text]);
  for (let size = 1; size <= 7; size++) {
    const pieces: string[] = [];
    for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
    expect(run(pieces)).toEqual(whole);
  }
  return whole;
}

describe('parsers are independent of chunk boundaries', () => {
  test('CSV', () => {
    const csv = 'a,b,c\r\n"x, ""y""",2,"multi\nline"\r\n"",,3\nlast,"q"';
    const records = splitEverywhere(csv, (pieces) => {
      const parser = new CsvParser(',');
      const out = pieces.flatMap((piece) => parser.push(piece));
      return [...out, ...parser.end()];
    });
    expect(records).toEqual([
      ['a', 'b', 'c'],
      ['x, "y"', '2', 'multi\nline'],
      ['', '', '3'],
      ['last', 'q'],
    ]);
  });

  test('JSON', () => {
    const json = '{"a":{"b":[1,-2.5e3,"s\\"q\\u00e9"]},"c d":true,"e":null,"f":"\\n"} {"g":"h"}';
    const text = splitEverywhere(json, (pieces) => {
      const flattener = new JsonFlattener();
      return pieces.map((piece) => flattener.push(piece)).join('') + flattener.end();
    });
    expect(text).toBe('a.b[0]: 1\na.b[1]: -2.5e3\na.b[2]: s"qé\nf: \n\ng: h\n');
  });

  test('HTML entities and tags cut across chunks', () => {
    const html =
      '<p>caf&eacute; &amp; <b>cr&egrave;me</b></p><script>if (a < b) {}</script><div>x&#x20AC;</div>';
    const text = splitEverywhere(html, (pieces) => {
      const converter = new HtmlToText();
      return pieces.map((piece) => converter.push(piece)).join('') + converter.end();
    });
    expect(text).toBe('café & crème\nx€\n');
  });
});

describe('detection', () => {
  test('magic bytes beat extensions; extensions are the fallback for text', () => {
    expect(detectFormat(Buffer.from('%PDF-1.7\n'), 'notes.txt').format).toBe('pdf');
    expect(detectFormat(Buffer.from('PK\x03\x04rest'), 'a.csv').format).toBe('zip');
    expect(detectFormat(Buffer.from([0x1f, 0x8b, 8, 0]), 'x').format).toBe('gzip');
    expect(detectFormat(Buffer.from('a;b\n1;2\n'), 'x.csv').format).toBe('csv');
    expect(detectFormat(Buffer.from('<?xml version="1.0"?><a/>'), 'noext').format).toBe('xml');
    expect(detectFormat(Buffer.from('  [1,2]'), 'noext').format).toBe('json');
    expect(detectFormat(Buffer.from('just words'), 'noext').format).toBe('text');
  });

  test('random bytes are binary even though half of them are >= 0x80', () => {
    expect(detectFormat(randomBytes(8192), 'blob').format).toBe('unsupported');
  });

  test('UTF-16 LE without BOM is recognised as text', async () => {
    const components = await collectAll(
      new ContentExtractor().extractFromStream(
        Readable.from([Buffer.from('hello UTF-16 world\n', 'utf16le')]),
        'x:y',
        {
          componentPath: 'u.txt',
        },
      ),
    );
    expect(textOf(components, 'u.txt')).toBe('hello UTF-16 world\n');
  });

  test('delimiter sniffing ignores delimiters inside quotes', () => {
    expect(sniffDelimiter('"a,b,c";d\n"e,f";g\n')).toBe(';');
    expect(sniffDelimiter('a\tb\tc\n1\t2\t3\n')).toBe('\t');
    expect(sniffDelimiter('single column\nvalue\n')).toBe(',');
  });
});

describe('mail and PDF details', () => {
  test('RFC 2047 words and RFC 2231 parameters', () => {
    expect(decodeEncodedWords('=?UTF-8?Q?J=C3=BCrgen?= =?UTF-8?B?IE3DvGxsZXI=?= <j@x.de>')).toBe(
      'Jürgen Müller <j@x.de>',
    );
    expect(parseHeaderValue('attachment; filename*0*=UTF-8\'\'r%C3%A9sum; filename*1="é.pdf"')).toEqual([
      'attachment',
      { filename: 'résumé.pdf' },
    ]);
  });

  test('a forwarded message (message/rfc822) is extracted as mail.eml!/message-1.eml', async () => {
    const inner =
      'From: bob@example.com\r\nSubject: inner\r\n\r\nInner body with IBAN DE89370400440532013000\r\n';
    const outer = [
      'From: ann@example.com',
      'To: c@example.com',
      'Subject: fwd',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary=b1',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'see below',
      '--b1',
      'Content-Type: message/rfc822',
      '',
      inner,
      '--b1--',
    ].join('\r\n');
    const components = await collectAll(
      new ContentExtractor().extractFromStream(Readable.from([Buffer.from(outer)]), 'x:y', {
        componentPath: 'fwd.eml',
      }),
    );
    expect(textOf(components, 'fwd.eml')).toBe(
      'From: ann@example.com\nTo: c@example.com\nSubject: fwd\n\nsee below\n',
    );
    expect(textOf(components, 'fwd.eml!/message-1.eml')).toBe(
      'From: bob@example.com\nSubject: inner\n\nInner body with IBAN DE89370400440532013000\r\n',
    );
    expect(errorsOf(components)).toEqual([]);
  });

  test('PDF content stream operators: Td line moves, quote operators, hex and UTF-16 strings', () => {
    const stream = [
      'BT /F1 12 Tf 72 700 Td (Name:) Tj 60 0 Td <416E6E> Tj 0 -14 Td (Line two) Tj',
      '(Line three) \' 10 2 (Line four) " <FEFF00E9007400E9> Tj ET',
    ].join('\n');
    expect(contentStreamText(stream)).toBe('Name: Ann\nLine two\nLine three\nLine fourété\n');
  });
});

test('invalid limits are a configuration error', () => {
  expect(() => new ContentExtractor({ maxArchiveDepth: 0 })).toThrow(ConfigurationError);
  expect(ErrorType.CONFIGURATION_INVALID).toBe('CONFIGURATION_INVALID');
});

import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ContentExtractor, detectFormat } from '../../src/extraction';
import { CsvParser, sniffDelimiter } from '../../src/extraction/csv';
import { JsonFlattener } from '../../src/extraction/json';
import { HtmlToText } from '../../src/extraction/markup';
import { looksLikeText } from '../../src/extraction/sniff';
import { Rc4 } from '../../src/extraction/pdf-crypt';
import { glyphCharacters } from '../../src/extraction/truetype';
import { contentStreamText, decodeAscii85, decodeLzw } from '../../src/extraction/pdf';
import { decodeEncodedWords, parseHeaderValue } from '../../src/extraction/mime';
import { ConfigurationError, ErrorType } from '../../src/core/errors';
import { retainedHeapMb } from '../harness/heap';
import { ascii85Encode, collectAll, errorsOf, lzwEncode, textOf } from './helpers/fixtures';

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

  test('JSON keys remembered across documents do not keep their text alive', async () => {
    // Key spellings are cached for the process's life; a key cut from a chunk (a V8 slice) held the whole chunk.
    const unexpected: number[] = [];
    const retainedMb = await retainedHeapMb(() => {
      for (let i = 0; i < 100; i++) {
        const flattener = new JsonFlattener();
        const text = flattener.push(`{"customer_reference_${i}": "x", "pad": "${'y'.repeat(1_000_000)}"}`);
        if (!text.startsWith(`customer_reference_${i}: x\npad: yyy`)) unexpected.push(i);
      }
    });
    expect(unexpected).toEqual([]);
    // 100 chunks of ~1 MB went through; holding any of them would show as ≥ 1 MB each.
    expect(retainedMb).toBeLessThan(20);
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

  test('a long head is told apart by its first 2 KB only when they decide it; otherwise by the whole head', () => {
    const filler = (text: string, size: number) =>
      text + 'x'.repeat(Math.max(0, size - Buffer.byteLength(text)));
    // Decided by the prefix: leading whitespace, then JSON; accents cut at the prefix's end.
    expect(detectFormat(Buffer.from(filler(`${' '.repeat(600)}{"a": 1}`, 5000)), 'noext').format).toBe(
      'json',
    );
    expect(detectFormat(Buffer.from(filler('é'.repeat(1100), 6000)), 'noext').format).toBe('text');
    // Not decided by it: whitespace beyond the prefix, a mail whose headers run past it.
    expect(
      detectFormat(Buffer.from(filler(`${'\n'.repeat(2100)}<!DOCTYPE html><p>`, 5000)), 'noext').format,
    ).toBe('html');
    // The prefix ends inside a header's name, which alone would not read as a header line.
    let mail = 'From: a@example.com\nTo: b@example.com\nSubject: hi\n';
    while (mail.length < 1940) mail += `X-Pad: ${'t'.repeat(92)}\n`;
    mail += `X-Last: ${'t'.repeat(2040 - mail.length - 9)}\nX-Trace-Cut: value\n\nbody\n`;
    expect(mail.indexOf('X-Trace-Cut')).toBe(2040);
    expect(detectFormat(Buffer.from(mail), 'noext').format).toBe('eml');
    // UTF-16 with a byte-order mark, the prefix ending between two halves of a pair.
    const xml = `\ufeff<?xml version="1.0"?><r>${'𝄞'.repeat(600)}</r>`;
    expect(detectFormat(Buffer.from(xml, 'utf16le'), 'noext').format).toBe('xml');
  });

  test('random bytes are binary even though half of them are >= 0x80', () => {
    expect(detectFormat(randomBytes(8192), 'blob').format).toBe('unsupported');
  });

  test('the text test counts every byte exactly, at any alignment and around each word of four', () => {
    // Reference: the rule byte by byte (NUL ≤ 1 %; ≥ 0x80 ≤ 30 % unless valid UTF-8; printable ≥ 85 %).
    const reference = (head: Buffer): boolean => {
      if (head.length === 0) return true;
      let nul = 0;
      let high = 0;
      let printable = 0;
      for (const byte of head) {
        if (byte === 0) nul++;
        if (byte >= 0x80) high++;
        if (byte >= 0x20 ? byte !== 0x7f : [0x09, 0x0a, 0x0c, 0x0d, 0x1b].includes(byte)) printable++;
      }
      if (nul > head.length * 0.01) return false;
      if (high > head.length * 0.3 && !isUtf8(head)) return false;
      return printable / head.length >= 0.85;
    };
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const edges = [0x00, 0x09, 0x0a, 0x1b, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff];
    let decided = { text: 0, binary: 0 };
    for (let i = 0; i < 20_000; i++) {
      const length = Math.floor(random() * 40);
      const offset = Math.floor(random() * 4);
      const backing = Buffer.alloc(length + 4);
      for (let j = 0; j < length; j++) {
        const r = random();
        backing[offset + j] =
          r < 0.86 ? 0x20 + Math.floor(random() * 95) : edges[Math.floor(random() * edges.length)];
      }
      const head = backing.subarray(offset, offset + length);
      const expected = reference(head);
      expect(looksLikeText(head)).toBe(expected);
      decided = expected
        ? { ...decided, text: decided.text + 1 }
        : { ...decided, binary: decided.binary + 1 };
    }
    // Both outcomes are exercised.
    expect(decided.text).toBeGreaterThan(1000);
    expect(decided.binary).toBeGreaterThan(1000);
    // At the threshold (17 of 20 printable), one more byte of each edge value, at every position and alignment.
    for (const offset of [0, 1, 2, 3])
      for (let position = 0; position < 20; position++)
        for (const edge of edges) {
          const head = Buffer.alloc(24, 'a').subarray(offset, offset + 20);
          head[(position + 7) % 20] = head[(position + 13) % 20] = head[(position + 17) % 20] = 0x01;
          if (head[position] === 0x61) head[position] = edge;
          expect(looksLikeText(head)).toBe(reference(head));
        }
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

  test('PDF ASCII85Decode: z groups, white space, a short last group, ~> end; bad digits are damage', () => {
    // "Man " is 9jqo^ and "sure." F*2M7/c (a one-byte last group), as in the usual Ascii85 examples.
    const decoded = decodeAscii85(Buffer.from('9jq o^\nz F*2M7\r\n/c~>(not data)', 'latin1'), 100);
    expect(decoded).toEqual(Buffer.from('Man \0\0\0\0sure.', 'latin1'));
    expect(decodeAscii85(Buffer.from('<~9jqo^~>'), 100)).toEqual(Buffer.from('Man '));
    expect(decodeAscii85(ascii85Encode(Buffer.from('Jane Doe, IBAN DE89\0\0\0\0!')), 100)).toEqual(
      Buffer.from('Jane Doe, IBAN DE89\0\0\0\0!'),
    );
    expect(decodeAscii85(Buffer.from('9jzqo^~>'), 100)).toBe('damaged'); // z inside a group
    expect(decodeAscii85(Buffer.from('9jqo^v~>'), 100)).toBe('damaged'); // v is past u
    expect(decodeAscii85(Buffer.from('9jqo^F~>'), 100)).toBe('damaged'); // one digit cannot make a byte
    expect(decodeAscii85(Buffer.from('s8W-"~>'), 100)).toBe('damaged'); // above 2^32 - 1
    expect(decodeAscii85(Buffer.from('zzzz~>'), 16)).toEqual(Buffer.alloc(16));
    expect(decodeAscii85(Buffer.from('zzzz~>'), 15)).toBe('over-limit');
  });

  test('PDF LZWDecode: the spec example, 9- to 12-bit codes with table resets, both EarlyChange values', () => {
    // PDF 32000-1 §7.4.4.2: codes 256 45 258 258 65 259 66 257.
    expect(decodeLzw(Buffer.from('800B6050220C0C8501', 'hex'), 1, 100)).toEqual(Buffer.from('-----A---B'));
    // 280 KB of varied words: codes widen to 12 bits and the table is cleared many times.
    const words = ['alpha', 'beta', 'gamma', 'delta', 'jane.doe@example.com', '4111 1111 1111 1111', 'IBAN'];
    let seed = 7;
    let text = '';
    for (let i = 0; i < 40_000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      text += `${words[seed % words.length]}${seed % 5 === 0 ? '\n' : ' '}${seed % 11 === 0 ? seed : ''}`;
    }
    const data = Buffer.from(text);
    for (const earlyChange of [0, 1] as const) {
      const encoded = lzwEncode(data, earlyChange);
      expect(encoded.length).toBeLessThan(data.length / 3);
      // Compared as text: a deep equality of 280 KB buffers takes seconds.
      expect(decodeLzw(encoded, earlyChange, data.length).toString()).toBe(text);
      // The other EarlyChange misreads the codes once they widen.
      expect(decodeLzw(encoded, earlyChange === 1 ? 0 : 1, data.length).toString()).not.toBe(text);
    }
    // 256 (clear), then 300: not a defined code.
    expect(decodeLzw(Buffer.from('804B2020', 'hex'), 1, 100)).toBe('damaged');
  });

  test('PDF LZWDecode output is bounded: a bomb stops at the limit', () => {
    const bomb = lzwEncode(Buffer.alloc(5_000_000, 0x61), 1);
    expect(bomb.length).toBeLessThan(5_000);
    expect(decodeLzw(bomb, 1, 100_000)).toBe('over-limit');
    const small = Buffer.from('x'.repeat(1000));
    expect(decodeLzw(lzwEncode(small, 1), 1, 1000)).toEqual(small);
    expect(decodeLzw(lzwEncode(small, 1), 1, 999)).toBe('over-limit');
  });
});

test('invalid limits are a configuration error', () => {
  expect(() => new ContentExtractor({ maxArchiveDepth: 0 })).toThrow(ConfigurationError);
  expect(ErrorType.CONFIGURATION_INVALID).toBe('CONFIGURATION_INVALID');
});

describe('RC4 (encrypted PDFs)', () => {
  const encrypt = (key: string, text: string) => {
    const input = Buffer.from(text, 'latin1');
    const output = Buffer.alloc(input.length);
    new Rc4(Buffer.from(key, 'latin1')).apply(input, output, 0, input.length);
    return output.toString('hex').toUpperCase();
  };

  test('the published test vectors', () => {
    expect(encrypt('Key', 'Plaintext')).toBe('BBF316E8D940AF0AD3');
    expect(encrypt('Wiki', 'pedia')).toBe('1021BF0420');
    expect(encrypt('Secret', 'Attack at dawn')).toBe('45A01F645FC35B383552544B9BF5');
  });

  test('resumes across slices exactly (long streams are decrypted a slice at a time)', () => {
    const input = randomBytes(3 * 1024 * 1024 + 17);
    const whole = Buffer.alloc(input.length);
    new Rc4(Buffer.from('0123456789abcdef')).apply(input, whole, 0, input.length);
    const sliced = Buffer.alloc(input.length);
    const cipher = new Rc4(Buffer.from('0123456789abcdef'));
    for (let at = 0, size = 1; at < input.length; at += size, size = size * 3 + 1)
      cipher.apply(input, sliced, at, Math.min(input.length, at + size));
    expect(sliced.equals(whole)).toBe(true);
  });
});

describe('TrueType cmap (CID fonts without ToUnicode)', () => {
  test('a hostile table (2,000,000 groups of 65,536 code points) is read only so far, and what was read is kept', () => {
    const groups = 2_000_000;
    const font = Buffer.alloc(12 + 16 + 12 + 16 + groups * 12);
    font.writeUInt32BE(0x00010000, 0);
    font.writeUInt16BE(1, 4);
    font.write('cmap', 12, 'latin1');
    font.writeUInt32BE(28, 20);
    const cmap = 28;
    font.writeUInt16BE(1, cmap + 2);
    font.writeUInt16BE(3, cmap + 4);
    font.writeUInt16BE(10, cmap + 6);
    font.writeUInt32BE(12, cmap + 8);
    const table = cmap + 12;
    font.writeUInt16BE(12, table);
    font.writeUInt32BE(groups, table + 12);
    for (let g = 0; g < groups; g++) {
      font.writeUInt32BE((g % 0x10000) * 0x10000, table + 16 + g * 12);
      font.writeUInt32BE((g % 0x10000) * 0x10000 + 0xffff, table + 20 + g * 12);
      font.writeUInt32BE(1, table + 24 + g * 12);
    }
    // Unbounded, this would visit 131 billion code points: far beyond the test's time limit.
    const glyphs = glyphCharacters(font);
    // Glyphs 1…65,536 drawn first by the code points of the first group.
    expect(glyphs.size).toBe(65_536);
    expect(glyphs.get(1)).toBe('\u0000');
    expect(glyphs.get(0x42)).toBe('A');
  });
});

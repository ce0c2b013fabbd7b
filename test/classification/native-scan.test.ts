/**
 * The native candidate scanner: offsets are string indices whatever the characters, and its candidates
 * include every start the detectors' JavaScript regexes can match (non-ASCII letters and white space
 * included), so confirming them in JavaScript loses nothing.
 */
import { BUILTIN_DETECTORS, createLocalClassifier, type Classifier } from '../../src/classification';
import { ConfigurationError } from '../../src/core/errors';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fingerprinter } from '../../src/classification/fingerprint';
import {
  compileScanner,
  hmacSha256Hex,
  isOneByteString,
  patternError,
  type NativeScan,
} from '../../src/classification/native-scan';

const pairs = ({ candidates }: NativeScan): Array<[number, number]> => {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < candidates.length; i += 2) out.push([candidates[i], candidates[i + 1]]);
  return out;
};

describe('native scanner', () => {
  it('reports every start of every pattern, overlapping ones included, as string indices', () => {
    const scanner = compileScanner(['\\d{3}', '(?i:ab)c', '\\bx\\d'], ['DIGITS', 'ABC', 'X']);
    expect(pairs(scanner.scan('1234 aBc x1 ax2'))).toEqual([
      [0, 0],
      [0, 1],
      [1, 5],
      [2, 9],
    ]);
    // Astral characters take two code units; offsets count code units, as JavaScript does.
    expect(pairs(scanner.scan('😀😀 abc 999'))).toEqual([
      [1, 5],
      [0, 9],
    ]);
    expect(scanner.scan('').candidates.length).toBe(0);
  });

  it('counts the newlines before a position in the same pass, in one-byte and two-byte text', () => {
    const scanner = compileScanner(['\\d{3}'], ['DIGITS']);
    const text = 'a\nb\r\n123\n\n\u2028x\n';
    expect(pairs(scanner.scan(text, 0))).toEqual([[0, 5]]);
    expect(scanner.scan(text, 0).newlines).toBe(0);
    expect(scanner.scan(text, 4).newlines).toBe(1);
    expect(scanner.scan(text, 5).newlines).toBe(2);
    // U+2028 is no newline here (lines count '\n' only); a position past the end counts them all.
    expect(scanner.scan(text, 1000).newlines).toBe(5);
    expect(pairs(scanner.scan(`€${text}`, 1000))).toEqual([[0, 6]]);
    expect(scanner.scan(`€${text}`, 1000).newlines).toBe(5);
    expect(scanner.scan(text).newlines).toBe(0);
  });

  it('tells one-byte strings from two-byte ones', () => {
    expect(isOneByteString('plain ascii')).toBe(true);
    expect(isOneByteString('Latin-1: é ü ÿ')).toBe(true);
    expect(isOneByteString('euro €')).toBe(false);
    // Concatenations: two-byte as soon as one part is.
    expect(isOneByteString('a'.repeat(1000) + 'é')).toBe(true);
    expect(isOneByteString('a'.repeat(1000) + 'б')).toBe(false);
    expect(isOneByteString('')).toBe(true);
  });

  it('keeps word boundaries and white space as JavaScript sees them around non-ASCII characters', () => {
    const scanner = compileScanner(['\\b\\d{4}\\b', '\\bbearer\\s+[a-z]{4}'], ['NUMBER', 'BEARER']);
    // 'б' is not a word character for a JavaScript regex without the u flag: a boundary precedes 4111.
    expect(pairs(scanner.scan('б4111 é2024é'))).toEqual([
      [0, 1],
      [0, 7],
    ]);
    // No-break space, ideographic space and vertical tab are \s in JavaScript.
    for (const space of ['\u00a0', '\u3000', '\u000b', '\ufeff'])
      expect(pairs(scanner.scan(`x bearer${space}abcd`))).toEqual([[1, 2]]);
  });

  it('finds with every built-in pattern whatever precedes it in another script', async () => {
    const classifier: Classifier = await createLocalClassifier({ fingerprintKey: 'k' });
    try {
      const text = 'Müller — карта 4111 1111 1111 1111; 📧 jörg.m@example.com; ssn 536-22-8726';
      const findings = await classifier.classifyText(text);
      expect(findings.map((f) => [f.infoType, text.slice(f.start, f.end)])).toEqual([
        ['CREDIT_CARD_NUMBER', '4111 1111 1111 1111'],
        ['EMAIL_ADDRESS', 'rg.m@example.com'],
        ['US_SOCIAL_SECURITY_NUMBER', '536-22-8726'],
      ]);
    } finally {
      await classifier.close();
    }
  });

  it('compiles the whole built-in catalogue, and names the detector of a pattern RE2 rejects', () => {
    expect(() =>
      compileScanner(
        BUILTIN_DETECTORS.map((d) => d.pattern),
        [],
      ),
    ).not.toThrow();
    expect(() => compileScanner(['a', '(?<=x)b'], ['FIRST', 'LOOKBEHIND'])).toThrow(
      new ConfigurationError('detector LOOKBEHIND: invalid pattern: invalid perl operator: (?<'),
    );
    expect(patternError('EMP-\\d{6}')).toBeUndefined();
    expect(patternError('(a')).toBe('missing ): (a');
  });
});

describe('native scanner engines', () => {
  const builtins = BUILTIN_DETECTORS.map((d) => (d.ignoreCase ? `(?i:${d.pattern})` : `(?:${d.pattern})`));
  const owners = BUILTIN_DETECTORS.map((d) => d.id);
  // Both engines answer every (pattern, start) pair where a match starts, judged in context; equal arrays.
  const agree = (patterns: string[], texts: string[]): number => {
    const dfa = compileScanner(patterns, []);
    const re2 = compileScanner(patterns, [], true);
    expect([dfa.engine, re2.engine]).toEqual(['dfa', 're2']);
    let total = 0;
    for (const text of texts) {
      const fromDfa = dfa.scan(text).candidates;
      const fromRe2 = re2.scan(text).candidates;
      // One mismatch named, not thousands of lines of diff.
      const first = fromDfa.findIndex((value, i) => value !== fromRe2[i]);
      expect({ length: fromDfa.length, first }).toEqual({ length: fromRe2.length, first: -1 });
      total += fromDfa.length / 2;
    }
    return total;
  };

  // Seeded text in which every built-in fires: the accuracy corpus's positives and look-alikes, shuffled
  // into long runs, with non-ASCII, tokens longer than the DFA's seam overlap, and line breaks.
  const corpusText = (): string => {
    const lines = readFileSync(path.join(__dirname, '../fixtures/accuracy/corpus.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { text: string }).text);
    let seed = 11;
    const random = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
    const extras = [
      'é',
      '€',
      '😀',
      '\u00a0',
      '\t',
      ' ',
      '\n',
      'A'.repeat(3000),
      'ab1-'.repeat(400),
      '@',
      '.',
    ];
    const parts: string[] = [];
    for (let i = 0; i < 6000; i++)
      parts.push(random(4) === 0 ? extras[random(extras.length)] : lines[random(lines.length)], ' ');
    return parts.join('');
  };

  it('the DFA finds exactly the pairs RE2 finds, for the built-in catalogue', () => {
    const text = corpusText();
    expect(text.length).toBeGreaterThan(200_000);
    // Whole (two streams meeting in the middle), windows of classifier size, and short texts (one stream).
    const texts = [text];
    for (let at = 0; at < text.length; at += 50_000) texts.push(text.slice(at, at + 60_000));
    for (let at = 0; at < 40_000; at += 997) texts.push(text.slice(at, at + 300));
    expect(agree(builtins, texts)).toBeGreaterThan(10_000);
  });

  it('reads the first half again when a match runs across the middle of a long text', () => {
    // The first half's stream starts 512 characters past the middle knowing nothing; this e-mail address's local
    // part starts well before the middle and its '@' lies past that point, so only a second reading of the
    // first half, from the second half's state, finds where it starts.
    const text = `${'x '.repeat(3000)}${'a'.repeat(6000)}@example.com${' y'.repeat(1000)}`;
    const email = BUILTIN_DETECTORS.findIndex((d) => d.id === 'EMAIL_ADDRESS');
    const starts = pairs(compileScanner(builtins, owners).scan(text))
      .filter(([pattern]) => pattern === email)
      .map(([, start]) => start);
    expect(starts).toEqual([6000]);
    expect(text.length / 2).toBeGreaterThan(6000);
    expect(text.indexOf('@')).toBeGreaterThan(text.length / 2 + 1024);
    agree(builtins, [text]);
  });

  it('reads anchors, boundaries in context, flags, literal braces and empty matches as RE2 defines them', () => {
    const patterns = [
      '^ab',
      'cd$',
      '\\Bx\\d',
      '\\Aq|z\\z',
      '(?i:[^a-c]x)',
      '(?i)k[a-z]{2}',
      'a{,2}b{x}',
      '(?P<name>\\d+)-(?:\\w)*',
      'y?',
      '[\\]\\-]+',
      '(?s:r.s)',
      'r.s',
      '(?U:m+n)',
    ];
    const scanner = compileScanner(patterns, []);
    expect(scanner.engine).toBe('dfa');
    // Pattern 8 matches the empty string everywhere: left out here, checked once below.
    const found = (text: string): Array<[number, number]> =>
      pairs(scanner.scan(text)).filter(([pattern]) => pattern !== 8);
    expect(found('abx1 x2 ax3')).toEqual([
      [0, 0],
      [2, 2],
      [4, 4],
      [2, 9],
    ]);
    expect(found('qAx bx Kab kZZ cd')).toEqual([
      [3, 0],
      [5, 7],
      [5, 11],
      [1, 15],
    ]);
    expect(found('a{,2}b{x} 12-a_b')).toEqual([
      [6, 0],
      [4, 6],
      [7, 10],
      [7, 11],
      [9, 12],
    ]);
    expect(found('r\ns r s mmn ]-] q z')).toEqual([
      [10, 0],
      [10, 4],
      [11, 4],
      [12, 8],
      [12, 9],
      [9, 12],
      [9, 13],
      [9, 14],
      [3, 18],
    ]);
    expect(pairs(scanner.scan('yx'))).toEqual([
      [4, 0],
      [8, 0],
      [8, 1],
      [8, 2],
    ]);
    // RE2's start-by-start search (the fallback) answers the same, assertions at a start included.
    agree(patterns, [
      'abx1 x2 ax3',
      'qAx bx Kab kZZ cd',
      'a{,2}b{x} 12-a_b',
      'r\ns r s mmn ]-] q z',
      'yx',
      'a-1 .5',
    ]);
    agree(['\\b-\\d', '\\B\\.\\d', '^x|\\bx'], ['a-1 -2 a.5 .6 x xx x']);
  });

  it('stays exact when the DFA outgrows its state cache and starts again', () => {
    // Read backwards, "[ab]{15}a" must remember the last 16 letters: 65,536 states, past the cache.
    let seed = 3;
    let text = '';
    for (let i = 0; i < 100_000; i++)
      text += (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) & 65536 ? 'a' : 'b';
    const patterns = ['[ab]{15}a', 'b{3}'];
    const dfa = compileScanner(patterns, []);
    const re2 = compileScanner(patterns, [], true);
    for (const sample of [text, text.slice(0, 5000), text]) {
      const expected = re2.scan(sample).candidates;
      expect(expected.length).toBeGreaterThan(sample.length / 2);
      expect(Buffer.from(dfa.scan(sample).candidates.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    }
  });

  it('falls back to RE2 for syntax outside the DFA parser, with the same answers', () => {
    const scanner = compileScanner(['\\pL\\d', '\\d{2}'], []);
    expect(scanner.engine).toBe('re2');
    expect(pairs(scanner.scan('a1 22'))).toEqual([
      [0, 0],
      [1, 3],
    ]);
  });
});

describe('native fingerprint HMAC', () => {
  const values = [
    '',
    'john@example.com',
    'é€ and 😀',
    'lone \ud800 surrogate',
    'x'.repeat(10_000),
    '4111111111111111',
  ];

  it('equals createHmac for keys shorter than, equal to and longer than a block, empty included', () => {
    for (const key of [
      Buffer.alloc(0),
      Buffer.from('k'),
      Buffer.alloc(32, 7),
      Buffer.alloc(64, 1),
      Buffer.alloc(65, 2),
      Buffer.alloc(200, 3),
    ]) {
      const hex = hmacSha256Hex(key)(values);
      expect(hex).toBe(values.map((v) => createHmac('sha256', key).update(v, 'utf8').digest('hex')).join(''));
    }
    expect(hmacSha256Hex(Buffer.from('k'))([])).toBe('');
  });

  it('fingerprints batches in order, cached or not', () => {
    const key = Buffer.from('fingerprint-test-key');
    const fingerprint = fingerprinter(key);
    const expected = (v: string) => createHmac('sha256', key).update(v, 'utf8').digest('hex');
    expect(fingerprint(values.slice(0, 3))).toEqual(values.slice(0, 3).map(expected));
    // Half cached, half new, one repeated within the batch.
    const mixed = [values[3], values[0], values[4], values[1], values[3], values[5]];
    expect(fingerprint(mixed)).toEqual(mixed.map(expected));
    expect(fingerprint([])).toEqual([]);
  });

  it('refuses a key that is not a Buffer', () => {
    expect(() => hmacSha256Hex('key' as unknown as Buffer)).toThrow(/key must be a Buffer/);
  });
});

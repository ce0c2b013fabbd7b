/**
 * The native candidate scanner: offsets are string indices whatever the characters, and its candidates
 * include every start the detectors' JavaScript regexes can match (non-ASCII letters and white space
 * included), so confirming them in JavaScript loses nothing.
 */
import { BUILTIN_DETECTORS, createLocalClassifier, type Classifier } from '../../src/classification';
import { ConfigurationError } from '../../src/core/errors';
import { createHmac } from 'node:crypto';
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

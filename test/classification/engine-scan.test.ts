/**
 * Scan-engine invariants the fast paths must keep: findings do not depend on where the text is cut into
 * windows, on where earlier matches end, or on how dense the findings are. (The cases come from the
 * earlier block-and-anchor-window engine and stay as regressions for the native candidate pass.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalClassifier, type Classifier, type Finding } from '../../src/classification';
import { ONE_BYTE_WINDOW_CHARS, WINDOW_CHARS } from '../../src/classification/classifier';
import { ScanEngine } from '../../src/classification/engine';
import { LIKELIHOODS } from '../../src/classification/types';

let classifier: Classifier;
beforeAll(async () => {
  classifier = await createLocalClassifier({ fingerprintKey: 'test-key' });
});
afterAll(() => classifier.close());

const spans = (text: string, findings: Finding[]) =>
  findings.map((f) => [f.infoType, text.slice(f.start, f.end)]);

const PII = [
  'contact john.doe17@example.com',
  'call (555) 123-4567',
  'card 4111 1111 1111 1111',
  'ssn 536-22-8726',
  'from 10.0.12.34',
  'IBAN GB82 WEST 1234 5698 7654 32',
  'key AKIAABCDEFGHIJKLMNOP',
  'password: Tr0ub4dor&3',
];

describe('scan engine cuts', () => {
  it('reports an e-mail whole when it crosses the end of the previous address’s anchor window', async () => {
    // The '@' window reaches 256 characters past the previous '@': shift the second address across it.
    for (let gap = 190; gap <= 250; gap++) {
      const second = 'bob.smith.long.name@mail.example.org';
      const text = `mail a@example.com${' '.repeat(gap)}${second} end`;
      const findings = await classifier.classifyText(text);
      expect(spans(text, findings)).toEqual([
        ['EMAIL_ADDRESS', 'a@example.com'],
        ['EMAIL_ADDRESS', second],
      ]);
    }
  });

  it('reports an item crossing a window or block boundary once, not again from the boundary', async () => {
    const address = 'john.doe192@example.com';
    const filler = 'lorem ipsum '.repeat(23000);
    // 4096: a block inside the window; the next scan window of the classifier, of one-byte and of two-byte text.
    for (const [boundary, head] of [
      [4096, ''],
      [ONE_BYTE_WINDOW_CHARS, ''],
      [WINDOW_CHARS, '€'],
    ] as const) {
      for (let before = 1; before <= address.length - 4; before += 2) {
        const text = `${head}${filler.slice(0, boundary - before - 1 - head.length)} ${address} end`;
        const findings = await classifier.classifyText(text);
        expect(spans(text, findings)).toEqual([['EMAIL_ADDRESS', address]]);
      }
    }
  });

  it('finds long custom matches whole wherever they start in a block', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'assay-scan-'));
    try {
      const file = path.join(dir, 'rules.yaml');
      // Bounded but long (up to 484 chars, within the set's 512-char look-ahead).
      await writeFile(
        file,
        ['detectors:', '  - infoType: LONG_CODE', "    regex: 'Q\\d{3}(?:-\\d{3}){100,120}'"].join('\n'),
      );
      const classifier = await createLocalClassifier({ fingerprintKey: 'k', configFile: file });
      try {
        const code = `Q123${'-456'.repeat(110)}`;
        for (const at of [3000, 3600, 4000, 4095, 4096, 4500]) {
          const text = `${'lorem ipsum '.repeat(800).slice(0, at - 1)} ${code} end`;
          const findings = (await classifier.classifyText(text)).filter((f) => f.infoType === 'LONG_CODE');
          expect(spans(text, findings)).toEqual([['LONG_CODE', code]]);
        }
      } finally {
        await classifier.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds the same items in dense text as in each line alone', async () => {
    // Lines long enough that hotword context never reaches into the previous line.
    const filler = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ';
    const lines = Array.from({ length: 1200 }, (_, i) => `${filler}${PII[i % PII.length]} x${i}`);
    const text = lines.join('\n');
    const whole = await classifier.classifyText(text);
    const expected: Array<[string, string, string]> = [];
    let offset = 0;
    for (const line of lines) {
      for (const f of await classifier.classifyText(line))
        expected.push([f.infoType, line.slice(f.start, f.end), f.likelihood]);
      offset += line.length + 1;
    }
    expect(offset).toBe(text.length + 1);
    expect(whole.map((f) => [f.infoType, text.slice(f.start, f.end), f.likelihood])).toEqual(expected);
    expect(new Set(whole.map((f) => f.infoType)).size).toBe(PII.length);
  });

  it('counts exactly the findings it would report when a window is only counted', () => {
    // Count-only windows (over the findings budget) skip context tests that cannot change whether a
    // finding counts: every mix of hotword, exclusion and value, at every threshold, must count the same.
    const before = [
      '',
      'card ',
      'phone ',
      'order # ',
      'ssn ',
      'version ',
      'card order no. ',
      'ip address v',
      'x ',
    ];
    const values = ['4111 1111 1111 1111', '(555) 123-4567', '536-22-8726', '10.0.12.34', '1.2.3.4',
      'password: Tr0ub4dor&3', 'password: aaaaaaaa', 'john@example.com', '4111111111111111']; // prettier-ignore
    const lines: string[] = [];
    for (const prefix of before)
      for (const value of values) lines.push(`lorem ipsum ${prefix}${value} dolor`);
    const dense = lines.join('\n');
    const sparse = lines.join(`\n${'lorem ipsum dolor sit amet '.repeat(8)}\n`);
    const totals = new Set<string>();
    for (const minLikelihood of LIKELIHOODS) {
      const engine = new ScanEngine(
        { minLikelihood, config: { detectors: [], denyList: [], allowList: [] } },
        Buffer.from('k'),
      );
      for (const text of [dense, sparse]) {
        const detailed: Record<string, number> = {};
        for (const f of engine.scanText(text, { componentPath: 'x' }).findings)
          detailed[f.infoType] = (detailed[f.infoType] ?? 0) + 1;
        expect(engine.scanText(text, { componentPath: 'x', budget: 0 }).overflow).toEqual(detailed);
        totals.add(JSON.stringify(detailed));
      }
    }
    // The thresholds do cut differently here, so the shortcut's decisions were all exercised.
    expect(totals.size).toBeGreaterThanOrEqual(4);
  });

  it('finds sparse items at any distance from each other (no item hidden by the next one)', async () => {
    const filler = 'the quick brown fox jumps over the lazy dog 2024-05-01T10:00:12Z status=200\n';
    const parts: string[] = [];
    for (let i = 0; i < 64; i++) parts.push(filler.repeat(1 + ((i * 37) % 90)), `${PII[i % PII.length]}\n`);
    const text = parts.join('');
    const found = spans(text, await classifier.classifyText(text)).map(([type]) => type);
    const counts: Record<string, number> = {};
    for (const type of found) counts[type] = (counts[type] ?? 0) + 1;
    expect(counts).toEqual({
      EMAIL_ADDRESS: 8,
      PHONE_NUMBER: 8,
      CREDIT_CARD_NUMBER: 8,
      US_SOCIAL_SECURITY_NUMBER: 8,
      IP_ADDRESS: 8,
      IBAN_CODE: 8,
      AWS_CREDENTIALS: 8,
      PASSWORD: 8,
    });
  });
});

import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BUILTIN_DETECTORS,
  LIKELIHOODS,
  createLocalClassifier,
  listDetectors,
  resolveFingerprintKey,
  type Classifier,
  type Finding,
} from '../../src/classification';
import { ONE_BYTE_WINDOW_CHARS, WINDOW_CHARS } from '../../src/classification/classifier';
import { HOTWORD_WINDOW } from '../../src/classification/engine';
import { NUMERIC_EXCLUDE, NUMERIC_EXCLUDE_PATTERN } from '../../src/classification/detectors';
import { loadCorpus, scoreCorpus } from '../../src/classification/accuracy';
import type { ContentComponent } from '../../src/core/models';
import { retainedHeapMb } from '../harness/heap';

const r = (n: number, set = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'): string =>
  Array.from({ length: n }, (_, i) => set[(i * 7 + 3) % set.length]).join('');
const pem = `-----BEGIN RSA PRIVATE KEY-----\n${r(64)}\n${r(64)}\n-----END RSA PRIVATE KEY-----`;
const jwt = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{"sub":"12345"}').toString('base64url')}.${r(43)}`;
const notJwt = `${Buffer.from('{"foo":1234}').toString('base64url')}.${Buffer.from('{"sub":"12345"}').toString('base64url')}.${r(43)}`;

/** detector id → [text with a positive, the value, look-alike negative text]. */
const EXAMPLES: Record<string, [string, string, string]> = {
  ENCRYPTION_KEY: [`key:\n${pem}\n`, pem, '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----'],
  AWS_ACCESS_KEY_ID: ['id AKIAABCDEFGHIJKLMNOP here', 'AKIAABCDEFGHIJKLMNOP', 'doc AKIAIOSFODNN7EXAMPLE'],
  AWS_SECRET_ACCESS_KEY: [`aws_secret_access_key = ${r(40)}\n`, r(40), 'aws_secret_access_key = tooShort'],
  GCP_API_KEY: [`key=AIza${r(35)} x`, `AIza${r(35)}`, `key=AIza${r(20)} x`],
  GOOGLE_OAUTH_ACCESS_TOKEN: [`t ya29.${r(40)} x`, `ya29.${r(40)}`, 't ya29.short x'],
  OAUTH_CLIENT_SECRET: [`s GOCSPX-${r(28)} x`, `GOCSPX-${r(28)}`, `s GOCSPX-${r(10)} x`],
  JSON_WEB_TOKEN: [`jwt ${jwt} x`, jwt, `jwt ${notJwt} x`],
  GITHUB_TOKEN: [`ghp_${r(36)}`, `ghp_${r(36)}`, `ghp_${r(20)}`],
  GITLAB_TOKEN: [`glpat-${r(20)}`, `glpat-${r(20)}`, `glpat-${r(5)}`],
  SLACK_TOKEN: ['xoxb-123456789012-abcdefghijkl', 'xoxb-123456789012-abcdefghijkl', 'xoxb-abc'],
  SLACK_WEBHOOK_URL: [
    'hook https://hooks.slack.com/services/T1234ABCD/B1234ABCD/abcdefghijklmnopqrstuvwx',
    'https://hooks.slack.com/services/T1234ABCD/B1234ABCD/abcdefghijklmnopqrstuvwx',
    'docs https://hooks.slack.com/services/',
  ],
  STRIPE_API_KEY: [`sk_live_${r(24)}`, `sk_live_${r(24)}`, `pk_live_${r(24)}`],
  SENDGRID_API_KEY: [`SG.${r(22)}.${r(43)}`, `SG.${r(22)}.${r(43)}`, 'SG.short.key'],
  NPM_TOKEN: [`npm_${r(36)}`, `npm_${r(36)}`, `npm_${r(10)}`],
  OPENAI_API_KEY: [`OPENAI_API_KEY=sk-proj-${r(48)}`, `sk-proj-${r(48)}`, 'sk-short'],
  TWILIO_API_KEY: [
    `twilio SK${'0123456789abcdef'.repeat(2)}`,
    `SK${'0123456789abcdef'.repeat(2)}`,
    `SK${'0123456789abcdef'.repeat(2).slice(1)}`,
  ],
  AZURE_STORAGE_ACCOUNT_KEY: [`AccountKey=${r(86)}==;`, `${r(86)}==`, 'AccountKey=short;'],
  BASIC_AUTH_HEADER: [
    `Authorization: Basic ${Buffer.from('admin:s3cret').toString('base64')}`,
    Buffer.from('admin:s3cret').toString('base64'),
    `Authorization: Basic ${Buffer.from('nocolonhere').toString('base64')}`,
  ],
  AUTH_TOKEN: [`Authorization: Bearer ${r(40)}`, r(40), 'a bearer of bad news'],
  URL_WITH_CREDENTIALS: [
    'DATABASE_URL=postgres://app:S3cretPass@db.local/x',
    'postgres://app:S3cretPass@db.local',
    'postgres://app:${PASSWORD}@db.local/x',
  ],
  PASSWORD: ['password: Tr0ub4dor&3', 'Tr0ub4dor&3', 'password: ********'],
  GENERIC_SECRET: [
    'client_secret = "aB3dE5fG7hJ9kL1mN3pQ5rS7"',
    'aB3dE5fG7hJ9kL1mN3pQ5rS7',
    'api_key = "aaaaaaaaaaaaaaaaaaaa"',
  ],
  MEDICAL_RECORD_NUMBER: ['MRN: 12345678', '12345678', 'build 12345678'],
  IBAN_CODE: [
    'IBAN GB82 WEST 1234 5698 7654 32 SENT',
    'GB82 WEST 1234 5698 7654 32',
    'IBAN GB82 WEST 1234 5698 7654 33',
  ],
  CREDIT_CARD_NUMBER: ['card 4111 1111 1111 1111.', '4111 1111 1111 1111', 'card 4111 1111 1111 1112.'],
  SWIFT_CODE: ['SWIFT: DEUTDEFF', 'DEUTDEFF', 'BUSINESS DOCUMENTS'],
  US_BANK_ROUTING_MICR: ['routing number 011000015', '011000015', 'routing number 011000016'],
  US_SOCIAL_SECURITY_NUMBER: ['SSN: 536-22-8726', '536-22-8726', 'order no. 536-22-8726'],
  US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER: ['ITIN 912-78-1234', '912-78-1234', 'ITIN 912-40-1234'],
  US_EMPLOYER_IDENTIFICATION_NUMBER: ['EIN 12-3456789', '12-3456789', 'EIN 07-3456789'],
  US_PASSPORT: ['passport number 340020013', '340020013', 'serial 340020013'],
  US_DEA_NUMBER: ['DEA AB1234563', 'AB1234563', 'DEA AB1234564'],
  US_HEALTHCARE_NPI: ['NPI 1234567893', '1234567893', 'NPI 1234567890'],
  UK_NATIONAL_INSURANCE_NUMBER: ['NI number AB 12 34 56 C', 'AB 12 34 56 C', 'NI number GB 12 34 56 C'],
  UK_NATIONAL_HEALTH_SERVICE_NUMBER: ['NHS number 943 476 5919', '943 476 5919', 'NHS number 943 476 5918'],
  CANADA_SOCIAL_INSURANCE_NUMBER: ['SIN 130 692 544', '130 692 544', 'SIN 130 692 545'],
  AUSTRALIA_TAX_FILE_NUMBER: ['TFN 123 456 782', '123 456 782', 'TFN 123 456 789'],
  INDIA_AADHAAR_INDIVIDUAL: ['Aadhaar 2345 6789 0124', '2345 6789 0124', 'Aadhaar 2345 6789 0123'],
  INDIA_PAN_INDIVIDUAL: ['PAN ABCPE1234F', 'ABCPE1234F', 'PAN ABCQE1234F'],
  SPAIN_NIF_NUMBER: ['NIF 12345678Z', '12345678Z', 'NIF 12345678A'],
  SPAIN_NIE_NUMBER: ['NIE X1234567L', 'X1234567L', 'NIE X1234567A'],
  ITALY_FISCAL_CODE: ['CF RSSMRA85T10A562S', 'RSSMRA85T10A562S', 'CF RSSMRA85T10A562T'],
  FRANCE_NIR: ['NIR 2 55 08 14 168 025 38', '2 55 08 14 168 025 38', 'NIR 2 55 08 14 168 025 39'],
  GERMANY_TAXPAYER_IDENTIFICATION_NUMBER: ['Steuer-ID 86095742719', '86095742719', 'Steuer-ID 86095742718'],
  NETHERLANDS_BSN_NUMBER: ['BSN 111222333', '111222333', 'BSN 111222334'],
  BRAZIL_CPF_NUMBER: ['CPF 529.982.247-25', '529.982.247-25', 'CPF 529.982.247-26'],
  EMAIL_ADDRESS: ['mail j.doe@example.com now', 'j.doe@example.com', 'asset icon@2x.png'],
  PHONE_NUMBER: ['call (555) 123-4567', '(555) 123-4567', 'version 10.0.19041.1'],
  DATE_OF_BIRTH: ['DOB: 1985-03-12', '1985-03-12', 'created 2024-03-12'],
  IMEI_HARDWARE_ID: ['IMEI 490154203237518', '490154203237518', 'IMEI 490154203237519'],
  IP_ADDRESS: ['client 192.168.1.20 connected', '192.168.1.20', 'oid 1.3.6.1.4.1.2021'],
  IPV6_ADDRESS: ['host 2001:db8::8a2e:370:7334', '2001:db8::8a2e:370:7334', 'C++ dead::beef'],
  MAC_ADDRESS: ['hwaddr 00:1A:2B:3C:4D:5E', '00:1A:2B:3C:4D:5E', 'hwaddr 00:00:00:00:00:00'],
};

let classifier: Classifier;
beforeAll(async () => {
  classifier = await createLocalClassifier({ fingerprintKey: 'test-key' });
});
afterAll(() => classifier.close());

const infoTypeOf = (id: string) => BUILTIN_DETECTORS.find((d) => d.id === id)!.infoType;
const spans = (text: string, findings: Finding[]) =>
  findings.map((f) => [f.infoType, text.slice(f.start, f.end)]);

describe('detector catalogue', () => {
  it('has at least 40 detectors with categories, versions and Google infoType names', () => {
    const list = listDetectors();
    expect(list.length).toBeGreaterThanOrEqual(40);
    for (const d of list) {
      expect(['PII', 'FINANCIAL', 'GOVERNMENT_ID', 'HEALTH', 'CREDENTIAL', 'NETWORK']).toContain(d.category);
      expect(d.version).toMatch(/^\d+\.\d+\.\d+$/);
    }
    const infoTypes = new Set(list.map((d) => d.infoType));
    for (const name of [
      'EMAIL_ADDRESS',
      'CREDIT_CARD_NUMBER',
      'IBAN_CODE',
      'US_SOCIAL_SECURITY_NUMBER',
      'AWS_CREDENTIALS',
      'GENERIC_SECRET',
    ])
      expect(infoTypes).toContain(name);
    expect(Object.keys(EXAMPLES).sort()).toEqual(list.map((d) => d.id).sort());
  });

  it.each(Object.entries(EXAMPLES))(
    '%s finds its positive and ignores the look-alike',
    async (id, [text, value, negative]) => {
      const infoType = infoTypeOf(id);
      const found = await classifier.classifyText(text);
      expect(spans(text, found)).toContainEqual([infoType, value]);
      const negatives = await classifier.classifyText(negative);
      expect(negatives.filter((f) => f.infoType === infoType)).toEqual([]);
    },
  );
});

describe('likelihood from context', () => {
  it('hotwords raise and exclusions lower the likelihood', async () => {
    const level = async (text: string, infoType: string) =>
      (await createLocalClassifier({ fingerprintKey: 'k', minLikelihood: 'VERY_UNLIKELY' }))
        .classifyText(text)
        .then((f) => f.find((x) => x.infoType === infoType)?.likelihood ?? 'NONE');
    expect(await level('number 111222333', 'NETHERLANDS_BSN_NUMBER')).toBe('UNLIKELY');
    expect(await level('ref 111222333', 'NETHERLANDS_BSN_NUMBER')).toBe('VERY_UNLIKELY');
    expect(await level('BSN 111222333', 'NETHERLANDS_BSN_NUMBER')).toBe('LIKELY');
    expect(await level('number 4111 1111 1111 1111', 'CREDIT_CARD_NUMBER')).toBe('LIKELY');
    expect(await level('visa card 4111 1111 1111 1111', 'CREDIT_CARD_NUMBER')).toBe('VERY_LIKELY');
    expect(await level('tracking number 4111 1111 1111 1111', 'CREDIT_CARD_NUMBER')).toBe('VERY_UNLIKELY');
    expect(await level('server 10.1.2.3', 'IP_ADDRESS')).toBe('VERY_LIKELY');
    expect(await level('version 10.1.2.3', 'IP_ADDRESS')).toBe('VERY_UNLIKELY');
  });

  it('reads reference labels before a number exactly as the exclusion pattern does', () => {
    // Seeded contexts built from the labels' and suffixes' pieces, white space of several kinds, quotes,
    // separators and word characters, compared one by one with the regex the code stands for.
    const pieces = ['order', 'ord', 'er', 'ref', 'erence', 'ver', '.', 'ver.', 'created_at', 'po', 'no', 'no.',
      'number', 'num', 'id', '#', ':', '=', '"', "'", ' ', '  ', '\t', '\n', '\u00a0', '\u3000', 'x', '_', '1',
      'é', 'sku', 'isbn', 'epoch', 'card', '-']; // prettier-ignore
    let seed = 9;
    const random = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
    let excluded = 0;
    for (let i = 0; i < 300_000; i++) {
      let context = '';
      for (let k = random(9); k > 0; k--) context += pieces[random(pieces.length)];
      const expected = NUMERIC_EXCLUDE_PATTERN.test(context);
      if (NUMERIC_EXCLUDE.test(context) !== expected) expect({ context, excluded: !expected }).toBe('equal');
      if (expected) excluded++;
    }
    expect(excluded).toBeGreaterThan(10_000);
    expect(NUMERIC_EXCLUDE.test('order #: ')).toBe(true);
    expect(NUMERIC_EXCLUDE.test('reorder ')).toBe(false);
    expect(NUMERIC_EXCLUDE.test('')).toBe(false);
  });

  it('reports character offsets in non-ASCII text', async () => {
    const text = `${'naïve café — ünïcödé 😀 '.repeat(2000)}mail j.doe@example.com and card 4111 1111 1111 1111`;
    const found = await classifier.classifyText(text);
    expect(spans(text, found)).toEqual([
      ['EMAIL_ADDRESS', 'j.doe@example.com'],
      ['CREDIT_CARD_NUMBER', '4111 1111 1111 1111'],
    ]);
  });

  it('drops numbers embedded in UUIDs, versions and longer tokens', async () => {
    const text = 'id 123e4567-e89b-12d3-a456-426614174000 v=1.2.111222333.4 x4111111111111111y';
    expect(await classifier.classifyText(text)).toEqual([]);
  });

  it('honours minLikelihood', async () => {
    const strict = await createLocalClassifier({ fingerprintKey: 'k', minLikelihood: 'VERY_LIKELY' });
    const found = await strict.classifyText('call (555) 123-4567, card 4111 1111 1111 1111');
    expect(found.map((f) => f.infoType)).toEqual(['CREDIT_CARD_NUMBER']);
  });
});

describe('masking and fingerprints', () => {
  it('masks values and fingerprints normalised values under the key', async () => {
    const [card] = await classifier.classifyText('card 4111-1111-1111-1111');
    expect(card.masked).toBe('****-****-****-1111');
    // HMAC-SHA256 of the normalised value: stored fingerprints stay comparable across versions.
    expect(card.fingerprint).toBe(createHmac('sha256', 'test-key').update('4111111111111111').digest('hex'));
    const [same] = await classifier.classifyText('visa: 4111 1111 1111 1111');
    expect(same.fingerprint).toBe(card.fingerprint);
    const [email] = await classifier.classifyText('mail John@Example.com');
    expect(email.masked).toBe('J***@Example.com');
    expect(email.fingerprint).toBe(createHmac('sha256', 'test-key').update('john@example.com').digest('hex'));
    const other = await createLocalClassifier({ fingerprintKey: 'another-key' });
    const [card2] = await other.classifyText('card 4111-1111-1111-1111');
    expect(card2.fingerprint).not.toBe(card.fingerprint);
    for (const f of [card, same, email]) expect(JSON.stringify(f)).not.toMatch(/4111.1111.1111.1111|john@/i);
  });

  it('keeps no scanned text alive through findings or the fingerprint cache', async () => {
    // A value cut from a text is a view into it (V8 slices of 13+ characters): a finding's mask or a cached
    // fingerprint key made that way held its whole text, up to 4,096 texts per classifier.
    const local = await createLocalClassifier({ fingerprintKey: 'retention-key' });
    const filler = 'lorem ipsum dolor '.repeat(58_255); // ~1 MB
    const findings: Finding[] = [];
    const retainedMb = await retainedHeapMb(async () => {
      for (let i = 0; i < 100; i++) {
        findings.push(
          ...(await local.classifyText(`${filler}${i} mail: person${i}@mail.example-company.co.uk\n`)),
        );
      }
    });
    expect(findings.map((f) => f.masked)).toEqual(
      Array.from({ length: 100 }, () => 'p***@mail.example-company.co.uk'),
    );
    // 100 texts of ~1 MB went through; holding any of them would show as ≥ 1 MB each.
    expect(retainedMb).toBeLessThan(20);
    await local.close();
  });

  it('creates the key file (32 bytes, 0600) once and reuses it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'assay-key-'));
    const saved = process.env.ASSAY_FINGERPRINT_KEY;
    delete process.env.ASSAY_FINGERPRINT_KEY;
    try {
      const file = path.join(dir, 'sub', 'fingerprint.key');
      const key = await resolveFingerprintKey({ fingerprintKeyFile: file });
      expect(key.length).toBe(32);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await resolveFingerprintKey({ fingerprintKeyFile: file })).toEqual(key);
      expect(await readFile(file)).toEqual(key);
      process.env.ASSAY_FINGERPRINT_KEY = '00112233445566778899aabbccddeeff';
      expect((await resolveFingerprintKey({ fingerprintKeyFile: file })).toString('hex')).toBe(
        '00112233445566778899aabbccddeeff',
      );
    } finally {
      if (saved === undefined) delete process.env.ASSAY_FINGERPRINT_KEY;
      else process.env.ASSAY_FINGERPRINT_KEY = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function* iterate<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

describe('chunked text', () => {
  it('finds a match spanning a chunk boundary exactly once, with offsets and lines into the component', async () => {
    const filler = 'lorem ipsum dolor\n'.repeat(20000);
    const text = `${filler}card 4111 1111 1111 1111 end\nmail a@example.com\n${filler}`;
    const boundaries = [filler.length + 10, filler.length + 30, 100000, 300001];
    const cuts = [0, ...boundaries.sort((a, b) => a - b), text.length];
    const components: ContentComponent[] = [];
    let line = 1;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const piece = text.slice(cuts[i], cuts[i + 1]);
      components.push({
        objectId: 'o:x',
        componentPath: 'x',
        kind: 'text',
        text: piece,
        offset: cuts[i],
        line,
        bytes: piece.length,
      });
      line += piece.split('\n').length - 1;
    }
    const result = await classifier.classifyComponents('o:x', iterate(components));
    expect(spans(text, result.findings)).toEqual([
      ['CREDIT_CARD_NUMBER', '4111 1111 1111 1111'],
      ['EMAIL_ADDRESS', 'a@example.com'],
    ]);
    expect(result.findings.map((f) => f.line)).toEqual([20001, 20002]);
    expect(result.bytesScanned).toBe(text.length);
    expect(result.findingCounts).toEqual({ CREDIT_CARD_NUMBER: 1, EMAIL_ADDRESS: 1 });
  });

  it.each([
    ['one-byte', '', ONE_BYTE_WINDOW_CHARS],
    ['two-byte', '€', WINDOW_CHARS],
  ])(
    'finds an item crossing any scan-window boundary of %s text exactly once, whatever the chunking',
    async (_, head, windowChars) => {
      const address = 'john.doe192@example.com';
      const filler = head + 'lorem ipsum '.repeat(25000);
      // Windows report [0, W), then W − 66 more characters each (66 kept for hotword context).
      const boundaries = [windowChars, 2 * windowChars - HOTWORD_WINDOW - 16];
      for (const boundary of boundaries) {
        for (let before = 1; before < address.length; before += 3) {
          const at = boundary - before;
          const text = `${filler.slice(0, at - 1)} ${address} ${filler.slice(0, 2000)}`;
          for (const chunk of [text.length, 1000, 65536]) {
            const components: ContentComponent[] = [];
            for (let offset = 0; offset < text.length; offset += chunk) {
              const piece = text.slice(offset, offset + chunk);
              components.push({
                objectId: 'o:w',
                componentPath: 'w',
                kind: 'text',
                text: piece,
                offset,
                line: 1,
              });
            }
            const result = await classifier.classifyComponents('o:w', iterate(components));
            expect(spans(text, result.findings)).toEqual([['EMAIL_ADDRESS', address]]);
            expect(result.findings[0].start).toBe(at);
          }
        }
      }
    },
  );

  it('caps detailed findings but keeps exact counts, and reports error components as failures', async () => {
    const capped = await createLocalClassifier({ fingerprintKey: 'k', maxFindingsPerObject: 5 });
    const text = Array.from({ length: 50 }, (_, i) => `user${i}@example.com`).join('\n');
    const result = await capped.classifyComponents(
      'o:y',
      iterate<ContentComponent>([
        { objectId: 'o:y', componentPath: 'y', kind: 'text', text, offset: 0, line: 1 },
        {
          objectId: 'o:y',
          componentPath: 'y!/bad.zip',
          kind: 'error',
          error: { type: 'CONTENT_CORRUPT', message: 'bad zip' },
        },
      ]),
    );
    expect(result.findings).toHaveLength(5);
    expect(result.findingCounts).toEqual({ EMAIL_ADDRESS: 50 });
    expect(result.failures).toEqual([
      { componentPath: 'y!/bad.zip', type: 'CONTENT_CORRUPT', message: 'bad zip' },
    ]);
  });
});

describe('tables', () => {
  it('classifies columns with the column name as context', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => [
      `user${i}@example.com`,
      i % 2 ? '111222333' : '123456789',
      `note ${i}`,
      i < 2 ? '4111 1111 1111 1111' : '',
    ]);
    const result = await classifier.classifyComponents(
      'o:t.csv',
      iterate<ContentComponent>([
        {
          objectId: 'o:t.csv',
          componentPath: 't.csv',
          kind: 'table',
          columns: ['email', 'bsn', 'notes', 'card'],
          rows,
          rowOffset: 0,
        },
      ]),
    );
    const byColumn = Object.fromEntries(result.columns.map((c) => [`${c.column}:${c.infoType}`, c]));
    expect(byColumn['email:EMAIL_ADDRESS']).toMatchObject({
      matchedRows: 20,
      sampledRows: 20,
      ratio: 1,
      likelihood: 'VERY_LIKELY',
    });
    expect(byColumn['bsn:NETHERLANDS_BSN_NUMBER']).toMatchObject({
      matchedRows: 10,
      sampledRows: 20,
      ratio: 0.5,
    });
    expect(byColumn['card:CREDIT_CARD_NUMBER']).toMatchObject({
      matchedRows: 2,
      sampledRows: 2,
      likelihood: 'VERY_LIKELY',
    });
    expect(Object.keys(byColumn).filter((k) => k.startsWith('notes:'))).toEqual([]);
    const emailFinding = result.findings.find((f) => f.column === 'email' && f.row === 3)!;
    expect(emailFinding).toMatchObject({
      infoType: 'EMAIL_ADDRESS',
      start: 0,
      end: 'user3@example.com'.length,
    });
  });

  it('classifies database rows per table and turns error rows into failures', async () => {
    const results = await classifier.classifyRows(
      iterate([
        {
          objectId: 'pg:public.users',
          row: { id: 1, email: 'a@example.com', ssn: '536-22-8726', dob: new Date('1985-03-12') },
        },
        {
          objectId: 'pg:public.users',
          row: { id: 2, email: 'b@example.com', ssn: '536-22-8727', dob: new Date('1990-01-02') },
        },
        { objectId: 'pg:public.orders', row: { id: 9, total: 12.5 } },
        { objectId: 'pg:public.orders', row: {}, error: { type: 'QUERY_TIMEOUT', message: 'timed out' } },
      ]),
    );
    expect(results.map((r) => r.objectId)).toEqual(['pg:public.users', 'pg:public.orders']);
    const cols = results[0].columns.map((c) => [c.column, c.infoType, c.matchedRows, c.likelihood]);
    expect(cols).toEqual(
      expect.arrayContaining([
        ['email', 'EMAIL_ADDRESS', 2, 'VERY_LIKELY'],
        ['ssn', 'US_SOCIAL_SECURITY_NUMBER', 2, 'VERY_LIKELY'],
        ['dob', 'DATE_OF_BIRTH', 2, 'LIKELY'],
      ]),
    );
    expect(results[1].columns).toEqual([]);
    expect(results[1].failures).toEqual([
      { componentPath: 'public.orders', type: 'QUERY_TIMEOUT', message: 'timed out' },
    ]);
  });
});

describe('custom configuration', () => {
  it('adds custom detectors and applies allow and deny lists', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'assay-cfg-'));
    try {
      const file = path.join(dir, 'rules.yaml');
      await writeFile(
        file,
        [
          'detectors:',
          '  - infoType: EMPLOYEE_ID',
          "    regex: 'EMP-(\\d{6})'",
          '    keywords: [employee]',
          '    likelihood: POSSIBLE',
          '    category: PII',
          '  - infoType: LOYALTY_CARD',
          "    regex: '\\bLC\\d{8}\\b'",
          '    validator: luhn',
          'allowList:',
          '  - test@example.com',
          "  - regex: '@example\\.org$'",
          'denyList:',
          '  - value: Project Zeus',
          '    infoType: CODENAME',
        ].join('\n'),
      );
      const custom = await createLocalClassifier({ fingerprintKey: 'k', configFile: file });
      const plain = await createLocalClassifier({ fingerprintKey: 'k' });
      expect(custom.rulesetVersion).not.toBe(plain.rulesetVersion);
      const text =
        'employee EMP-123456, LC12345674 LC12345675, test@example.com x@example.org y@example.net; project zeus';
      const found = await custom.classifyText(text);
      expect(found.map((f) => [f.infoType, text.slice(f.start, f.end), f.likelihood])).toEqual([
        ['EMPLOYEE_ID', '123456', 'LIKELY'],
        ['LOYALTY_CARD', 'LC12345674', 'POSSIBLE'],
        ['EMAIL_ADDRESS', 'y@example.net', 'LIKELY'],
        ['CODENAME', 'project zeus', 'VERY_LIKELY'],
      ]);
      await writeFile(file, "detectors:\n  - infoType: BAD\n    regex: '(?<=x)y'\n");
      await expect(createLocalClassifier({ fingerprintKey: 'k', configFile: file })).rejects.toMatchObject({
        type: 'CONFIGURATION_INVALID',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has a stable ruleset version that follows the options', async () => {
    const a = await createLocalClassifier({ fingerprintKey: 'k' });
    const b = await createLocalClassifier({ fingerprintKey: 'other' });
    const c = await createLocalClassifier({ fingerprintKey: 'k', minLikelihood: 'LIKELY' });
    const d = await createLocalClassifier({ fingerprintKey: 'k', detectors: ['EMAIL_ADDRESS'] });
    expect(a.rulesetVersion).toBe(b.rulesetVersion);
    expect(new Set([a.rulesetVersion, c.rulesetVersion, d.rulesetVersion]).size).toBe(3);
    expect(d.detectorIds).toEqual(['EMAIL_ADDRESS']);
    expect(LIKELIHOODS).toHaveLength(5);
  });
});

describe('accuracy', () => {
  it('keeps precision and recall at or above 0.95 per infoType on the labelled corpus', async () => {
    const records = await loadCorpus(path.join(__dirname, '..', 'fixtures', 'accuracy', 'corpus.jsonl'));
    const { scores } = await scoreCorpus(classifier, records);
    expect(scores.length).toBeGreaterThanOrEqual(40);
    const below = scores.filter((s) => s.precision < 0.95 || s.recall < 0.95);
    expect(below).toEqual([]);
  });
});

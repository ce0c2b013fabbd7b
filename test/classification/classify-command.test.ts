import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Command } from 'commander';
import { registerClassifyCommand } from '../../src/cli/classify-command';

async function run(args: string[], stdinText = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let code = 0;
  const program = new Command().exitOverride();
  registerClassifyCommand(program, {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    stdin: Readable.from([Buffer.from(stdinText)]),
    setExitCode: (c) => (code = c),
  });
  try {
    await program.parseAsync(['node', 'assay', 'classify', ...args]);
  } catch (error) {
    const e = error as { exitCode?: number; message: string };
    err += `${e.message}\n`;
    code = e.exitCode ?? 1;
  }
  return { code, out, err };
}

describe('assay classify', () => {
  let dir: string;
  const previousKey = process.env.ASSAY_FINGERPRINT_KEY;
  beforeAll(async () => {
    process.env.ASSAY_FINGERPRINT_KEY = 'cli-test-key';
    dir = await mkdtemp(path.join(tmpdir(), 'assay-classify-'));
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'a.txt'), 'hello\ncontact: jane@example.com\n');
    await writeFile(path.join(dir, 'sub', 'b.txt'), 'card 4111 1111 1111 1111\n');
    await writeFile(path.join(dir, 'clean.txt'), 'nothing to see\n');
  });
  afterAll(async () => {
    if (previousKey === undefined) delete process.env.ASSAY_FINGERPRINT_KEY;
    else process.env.ASSAY_FINGERPRINT_KEY = previousKey;
    await rm(dir, { recursive: true, force: true });
  });

  it('walks directories and prints JSON lines with offsets into the file', async () => {
    const { code, out, err } = await run([dir, '--format', 'jsonl']);
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      lines.map((l) => [path.relative(dir, l.path), l.infoType, l.start, l.end, l.line, l.masked]),
    ).toEqual([
      ['a.txt', 'EMAIL_ADDRESS', 15, 31, 2, 'j***@example.com'],
      ['sub/b.txt', 'CREDIT_CARD_NUMBER', 5, 24, 1, '**** **** **** 1111'],
    ]);
    for (const l of lines) {
      expect(l).toEqual(
        expect.objectContaining({
          componentPath: l.path,
          category: expect.any(String),
          likelihood: expect.any(String),
        }),
      );
      expect(l.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('reads stdin, filters detectors and fails on findings when asked', async () => {
    const res = await run(
      ['-', '--detectors', 'EMAIL_ADDRESS', '--fail-on-findings'],
      'x a@example.com 4111 1111 1111 1111',
    );
    expect(res.out).toMatch(/^-:1 {2}EMAIL_ADDRESS {2}LIKELY {2}a\*\*\*@example\.com\n$/);
    expect(res.code).toBe(1);
    const clean = await run([path.join(dir, 'clean.txt'), '--fail-on-findings']);
    expect([clean.code, clean.out]).toEqual([0, '']);
  });

  it('rejects bad paths, likelihoods and configs with one-line messages', async () => {
    const missing = await run([path.join(dir, 'nope.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^cannot read .*nope\.txt: ENOENT\n$/);
    const badLevel = await run([dir, '--min-likelihood', 'SURE']);
    expect(badLevel.code).toBe(2);
    await writeFile(path.join(dir, 'bad.yaml'), 'detectors: 3\n');
    const badConfig = await run([dir, '--config', path.join(dir, 'bad.yaml')]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.err).toMatch(/"detectors" must be a list/);
    await rm(path.join(dir, 'bad.yaml'));
  });
});

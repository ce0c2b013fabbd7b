/** Help, usage errors and connection errors: one clear line, the documented exit code, no stack trace. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { datasourceFromUri } from '../../src/cli/source';
import { getFreePort } from '../../src/services/managed-process';
import { testServices } from '../harness/services-info';
import { childEnv, expectOneCleanLine, runAssay, spawnAssay } from './helpers';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'assay-cli-basics-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('help', () => {
  const commands = [
    [],
    ['dev'],
    ['worker'],
    ['scan'],
    ['scan', 'start'],
    ['scan', 'status'],
    ['scan', 'list'],
    ['scan', 'pause'],
    ['scan', 'resume'],
    ['scan', 'cancel'],
    ['scan', 'concurrency'],
    ['scan', 'results'],
    ['classify'],
  ];
  test.each(commands.map((c) => [c.join(' ') || '(root)', c]))('assay %s --help', async (_name, args) => {
    const result = await runAssay([...(args as string[]), '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: assay/);
    expect(result.stdout).toContain('Exit codes:');
    expect(result.stdout).toContain('4  scan not found');
    expect(result.stderr).toBe('');
  });

  test('scan start help documents sources and password handling', async () => {
    const { stdout } = await runAssay(['scan', 'start', '--help']);
    for (const text of [
      's3://bucket/prefix',
      'postgres://user@host:port/db',
      '--sampling',
      '--wait',
      '--json',
      'PGPASSWORD',
      'MYSQL_PWD',
    ]) {
      expect(stdout).toContain(text);
    }
  });

  test('the binary prints help and exits 0', async () => {
    const result = await spawnAssay(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Commands:');
    expect(result.stdout).toContain('scan');
  });
});

test('assay classify is wired in: output through the CLI, exit code kept', async () => {
  const letter = path.join(__dirname, '..', '..', 'examples', 'files', 'letters', 'customer-letter.txt');
  const result = await runAssay(['classify', letter, '--fail-on-findings']);
  expect(result.code).toBe(1);
  expect(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/)[1]),
  ).toEqual(['CREDIT_CARD_NUMBER', 'IBAN_CODE', 'EMAIL_ADDRESS']);
  const clean = await runAssay(['classify', path.join(__dirname, '..', '..', 'examples', 'files', 'notes')]);
  expect(clean.code).toBe(0);
});

describe('usage errors exit 2 with one line', () => {
  test('unsupported source scheme', async () => {
    const result = await runAssay(['scan', 'start', 'ftp://files.example.com/share']);
    expect(result.code).toBe(2);
    expect(expectOneCleanLine(result.stderr)).toBe(
      'assay: unsupported source "ftp://files.example.com/share": use a folder path, s3://bucket/prefix, postgres://user@host:port/db or mysql://user@host:port/db',
    );
  });

  test('a password inside a database URI is refused, and never echoed', async () => {
    const result = await runAssay(['scan', 'start', 'postgres://alice:s3cr3t-pw@db.internal:5432/crm']);
    expect(result.code).toBe(2);
    const line = expectOneCleanLine(result.stderr);
    expect(line).toContain('set PGPASSWORD');
    expect(result.stderr + result.stdout).not.toContain('s3cr3t-pw');
    const mysql = await runAssay(['scan', 'start', 'mysql://bob:hunter2@db.internal/crm']);
    expect(mysql.code).toBe(2);
    expect(expectOneCleanLine(mysql.stderr)).toContain('set MYSQL_PWD');
    expect(mysql.stderr).not.toContain('hunter2');
  });

  test('missing folder', async () => {
    const result = await runAssay(['scan', 'start', path.join(tmp, 'does-not-exist')]);
    expect(result.code).toBe(2);
    expect(expectOneCleanLine(result.stderr)).toBe(
      `assay: no such file or folder: ${path.join(tmp, 'does-not-exist')}`,
    );
  });

  test('bad option values', async () => {
    const sampling = await runAssay(['scan', 'start', tmp, '--sampling', 'some']);
    expect(sampling.code).toBe(2);
    expect(sampling.stderr).toContain("option '--sampling <mode>' argument 'some' is invalid");
    const concurrency = await runAssay(['scan', 'concurrency', 'x', '0']);
    expect(concurrency.code).toBe(2);
    const unknown = await runAssay(['scan', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });

  test('an invalid datasource file names the bad field', async () => {
    const file = path.join(tmp, 'ds.yaml');
    await writeFile(
      file,
      'id: crm\ntype: postgres\nconfig:\n  host: db\n  user: app\n  database: crm\n  password: nope\n',
    );
    const result = await runAssay(['scan', 'start', '--config', file]);
    expect(result.code).toBe(2);
    expect(expectOneCleanLine(result.stderr)).toContain('config.password: secrets are not allowed');
  });

  test('an invalid connector config is reported before anything starts', async () => {
    const file = path.join(tmp, 'ds-bad.json');
    await writeFile(
      file,
      JSON.stringify({
        id: 'crm',
        type: 'postgres',
        config: { host: 'db', user: 'app', database: 'crm', port: 'x' },
      }),
    );
    const result = await runAssay(['scan', 'start', '--config', file]);
    expect(result.code).toBe(2);
    expect(expectOneCleanLine(result.stderr)).toContain('datasource.config.port');
  });
});

describe('connection errors', () => {
  test('unreachable Temporal exits 3 with one line (binary, no stack trace)', async () => {
    const port = await getFreePort();
    const result = await spawnAssay(['scan', 'status', 'scan-x'], {
      env: childEnv({ TEMPORAL_ADDRESS: `127.0.0.1:${port}` }),
    });
    expect(result.code).toBe(3);
    expect(expectOneCleanLine(result.stderr)).toBe(
      `assay: cannot reach Temporal at 127.0.0.1:${port} (from TEMPORAL_ADDRESS): is \`assay dev\` or your cluster running? Set TEMPORAL_ADDRESS to change it`,
    );
  });

  test('--verbose adds the details', async () => {
    const port = await getFreePort();
    const result = await runAssay([
      '--verbose',
      '--address',
      `127.0.0.1:${port}`,
      'scan',
      'status',
      'scan-x',
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr.split('\n').length).toBeGreaterThan(2);
  });

  test('unknown scan id exits 4', async () => {
    const { temporal } = testServices();
    const result = await runAssay(['--address', temporal.address, 'scan', 'status', 'scan-that-never-was']);
    expect(result.code).toBe(4);
    expect(expectOneCleanLine(result.stderr)).toBe('assay: scan not found: scan-that-never-was');
    for (const cmd of ['pause', 'resume', 'cancel']) {
      const r = await runAssay(['--address', temporal.address, 'scan', cmd, 'scan-that-never-was']);
      expect(r.code).toBe(4);
    }
  });

  test('wrong results-store password exits 3 without echoing it', async () => {
    const pg = testServices().postgres;
    const url = `postgres://${pg.user}:wrong-password-xyz@${pg.host}:${pg.port}/postgres`;
    const result = await runAssay(['--database-url', url, 'scan', 'results', 'scan-x']);
    expect(result.code).toBe(3);
    const line = expectOneCleanLine(result.stderr);
    expect(line).toContain('cannot open the results store');
    expect(line).toContain('password authentication failed');
    expect(line).not.toContain('wrong-password-xyz');
  });

  test('no results store configured is a usage error', async () => {
    const result = await runAssay(['--home', path.join(tmp, 'nohome'), 'scan', 'results', 'scan-x']);
    expect(result.code).toBe(2);
    expect(expectOneCleanLine(result.stderr)).toContain('no results store configured');
  });
});

describe('source URIs', () => {
  test('folder, S3 and databases', async () => {
    expect(await datasourceFromUri(tmp)).toEqual({
      id: expect.any(String),
      type: 'filesystem',
      config: { roots: [tmp] },
    });
    expect(
      await datasourceFromUri('s3://hr-exports/2024/q1/', { s3Endpoint: 'http://localhost:9000' }, {}),
    ).toEqual({
      id: 'hr-exports',
      type: 's3',
      config: {
        bucket: 'hr-exports',
        prefix: '2024/q1/',
        endpoint: 'http://localhost:9000',
        forcePathStyle: true,
      },
    });
    expect(await datasourceFromUri('postgres://app@db.internal/crm?schema=public')).toEqual({
      id: 'crm',
      type: 'postgres',
      config: {
        host: 'db.internal',
        port: 5432,
        database: 'crm',
        user: 'app',
        passwordEnv: 'PGPASSWORD',
        schemas: ['public'],
      },
    });
    expect(await datasourceFromUri('mysql://root@127.0.0.1:3307/shop', { name: 'shop-eu' })).toEqual({
      id: 'shop-eu',
      type: 'mysql',
      config: { host: '127.0.0.1', port: 3307, database: 'shop', user: 'root', passwordEnv: 'MYSQL_PWD' },
    });
  });
});

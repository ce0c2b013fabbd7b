import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ErrorHandler } from '../../src/core/error-handler';
import { ErrorType } from '../../src/core/errors';
import { SystemLogger } from '../../src/core/logger';
import { getFreePort } from '../../src/services/managed-process';
import { PostgresConnector, postgresConnector, type PostgresConfig } from '../../src/connectors/postgres';
import { testServices } from '../harness/services-info';
import {
  byteOrder,
  collect,
  configErrors,
  countAfterSettling,
  enumerateAll,
  expectCloseIdempotent,
  expectExactResume,
  expectRepeatableSample,
  objectIdFactory,
  packetFactory,
  readIds,
  readThenAbort,
  readThenBreak,
  sourceFailure,
  streamWithHeapPeak,
  withEnv,
} from './sql-test-helpers';

const services = testServices();
const suffix = randomBytes(4).toString('hex');
const dbName = `assay_pg_${suffix}`;
const scannerRole = `assay_scanner_${suffix}`;
const scannerPassword = randomBytes(12).toString('hex');
const passwordEnv = `ASSAY_TEST_PG_PASSWORD_${suffix}`;
const datasourceId = 'pg-test';
const HOSTILE = 'x"; DROP TABLE y; --';
const BIG_ROWS = 1_000_000;
// Multi-byte characters over several 64 KiB COPY chunks.
const LONG_TEXT = 'é€😀x'.repeat(40_000);

const logger = new SystemLogger({ level: 'fatal' });
const errorHandler = new ErrorHandler();
const open: PostgresConnector[] = [];

function connector(overrides: Partial<Record<keyof PostgresConfig, unknown>> = {}): PostgresConnector {
  const config = postgresConnector.configSchema.parse({
    host: services.postgres.host,
    port: services.postgres.port,
    database: dbName,
    user: scannerRole,
    passwordEnv,
    ...overrides,
  });
  const created = postgresConnector.create({
    datasourceId,
    logger,
    errorHandler,
    config,
  }) as PostgresConnector;
  open.push(created);
  return created;
}

const packet = packetFactory(datasourceId);
const id = objectIdFactory(datasourceId);

let admin: Client;

async function adminOn(database: string): Promise<Client> {
  const client = new Client({ ...services.postgres, database });
  await client.connect();
  return client;
}

// 3 schemas × 7 tables = 21 plain tables, plus public's special ones.
const SCHEMAS = ['alpha', 'beta', 'gamma'];
const TABLES_PER_SCHEMA = 7;

beforeAll(async () => {
  process.env[passwordEnv] = scannerPassword;
  const root = await adminOn('postgres');
  await root.query(`CREATE DATABASE ${dbName}`);
  await root.query(`CREATE ROLE ${scannerRole} LOGIN PASSWORD '${scannerPassword}'`);
  await root.end();
  admin = await adminOn(dbName);
  for (const schema of SCHEMAS) {
    await admin.query(`CREATE SCHEMA ${schema}`);
    for (let i = 1; i <= TABLES_PER_SCHEMA; i++) {
      const table = `t${String(i).padStart(2, '0')}`;
      await admin.query(`CREATE TABLE ${schema}.${table} (id int PRIMARY KEY, note text)`);
      await admin.query(
        `INSERT INTO ${schema}.${table} SELECT g, '${schema}-${table}-' || g FROM generate_series(1, ${i}) g`,
      );
    }
  }
  await admin.query(`CREATE TABLE beta."dotted.name" (v text)`);
  await admin.query(`INSERT INTO beta."dotted.name" VALUES ('dot')`);
  await admin.query(`
    CREATE TABLE public.people (id int PRIMARY KEY, email text NOT NULL, name text, born date);
    INSERT INTO public.people SELECT g, 'user' || g || '@example.com', 'Person ' || g, DATE '1980-01-01' + g
      FROM generate_series(1, 500) g;
    CREATE VIEW alpha.v_people AS SELECT id, email FROM public.people;
    CREATE TABLE public.y (v int); INSERT INTO public.y VALUES (1);
    CREATE TABLE public."${HOSTILE.replace(/"/g, '""')}" (v text); INSERT INTO public."${HOSTILE.replace(/"/g, '""')}" VALUES ('hostile-1'), ('hostile-2');
    CREATE TABLE public.secret (ssn text); INSERT INTO public.secret VALUES ('123-45-6789');
    CREATE TABLE public.types (id int8 PRIMARY KEY, amount numeric(10,2), raw bytea, bin bytea, at timestamptz, doc jsonb, flag boolean, tags text[]);
    INSERT INTO public.types VALUES (9007199254740993, 12.50, convert_to('hello bytes', 'UTF8'), '\\xff00fe',
      '2024-05-06 07:08:09+00', '{"card": "4111111111111111"}', true, ARRAY['a', 'b']);
    CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS token, 'name ' || g AS label FROM generate_series(1, ${BIG_ROWS}) g;
    CREATE TABLE public.texts (id int PRIMARY KEY, body text);
    INSERT INTO public.texts VALUES (1, E'tab\\there\\nnew line \\\\ backslash \\\\N not null \\r\\x01'), (2, NULL), (3, '${LONG_TEXT}');
    CREATE VIEW public.slow AS SELECT pg_sleep(2)::text AS s;
    ANALYZE public.people;
  `);
  for (const schema of [...SCHEMAS, 'public']) {
    await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${scannerRole}`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${scannerRole}`);
  }
  await admin.query(`REVOKE SELECT ON public.secret FROM ${scannerRole}`);
}, 90_000);

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await admin?.end();
  const root = await adminOn('postgres');
  await root.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await root.query(`DROP ROLE IF EXISTS ${scannerRole}`);
  await root.end();
  delete process.env[passwordEnv];
});

/** Backends of the scanner still reading `big`, after up to 5 s for them to notice the closed socket. */
async function lingeringBigReads(): Promise<number> {
  return countAfterSettling(async () => {
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%big%'`,
      [scannerRole],
    );
    return rows[0].n as number;
  });
}

describe('config validation', () => {
  test('messages name the bad field', () => {
    const bad = (config: unknown) => configErrors(postgresConnector.configSchema, config);
    const base = { host: 'h', database: 'd', user: 'u' };
    expect(bad({ ...base, port: 70000 })).toMatch(/^port: port must be between 1 and 65535/);
    expect(bad({ ...base, host: undefined })).toMatch(/^host: host must be a string/);
    expect(bad({ ...base, sampling: { mode: 'percent', percent: 0 } })).toMatch(
      /sampling\.percent must be greater than 0/,
    );
    expect(bad({ ...base, sampling: { mode: 'sometimes' } })).toMatch(/sampling\.mode must be/);
    expect(bad({ ...base, maxConnections: 0 })).toMatch(/maxConnections must be at least 1/);
    expect(bad({ ...base, password: 'inline' })).toMatch(/password/);
    expect(bad({ ...base, passwordEnv: 'A', passwordFile: '/f' })).toMatch(
      /^passwordFile: passwordEnv and passwordFile are exclusive/,
    );
    const ok = postgresConnector.configSchema.parse(base);
    expect(ok).toMatchObject({
      port: 5432,
      include: ['*'],
      exclude: [],
      sampling: { mode: 'full' },
      maxConnections: 4,
      ssl: false,
    });
  });
});

describe('enumeration', () => {
  test('lists every table and view of the non-system schemas in (schema, name) order, in batches', async () => {
    const c = connector();
    const batches = await collect(c.enumerateObjects(packet([], { batchSize: 5 })));
    expect(batches.slice(0, -1).every((b) => b.length === 5)).toBe(true);
    const objects = batches.flat();
    const paths = objects.map((o) => o.objectPath);
    const expected = [
      ...SCHEMAS.flatMap((s) =>
        Array.from({ length: TABLES_PER_SCHEMA }, (_, i) => `${s}.t${String(i + 1).padStart(2, '0')}`),
      ),
      'alpha.v_people',
      'beta.dotted.name',
      'public.big',
      'public.people',
      'public.secret',
      'public.slow',
      'public.texts',
      'public.types',
      `public.${HOSTILE}`,
      'public.y',
    ].sort(byteOrder);
    expect(paths).toEqual(expected);
    expect(objects.length).toBeGreaterThanOrEqual(20);
    expect(objects.find((o) => o.objectPath === 'alpha.v_people')).toMatchObject({
      objectType: 'view',
      objectId: id('alpha', 'v_people'),
    });
    const big = objects.find((o) => o.objectPath === 'public.big')!;
    expect(big).toMatchObject({ objectType: 'table', datasourceId, objectId: id('public', 'big') });
    expect(big.size).toBeGreaterThan(50_000_000);
    expect(big.etag).toMatch(/^\d+:\d+$/);
    expect(batches[batches.length - 1].cursor).toEqual({ schema: 'public', table: 'y' });
  });

  test('include/exclude patterns and the schemas list narrow the set', async () => {
    const c = connector({
      schemas: ['alpha', 'gamma'],
      include: ['alpha.*', 't0?'],
      exclude: ['*t03', 'v_*'],
    });
    const paths = (await enumerateAll(c)).map((o) => o.objectPath);
    const tables = (s: string) => [1, 2, 4, 5, 6, 7].map((i) => `${s}.t0${i}`);
    expect(paths).toEqual([...tables('alpha'), ...tables('gamma')]);
  });

  test('resuming from a mid-way cursor continues exactly after it', async () => {
    const all = await expectExactResume(connector());
    expect(JSON.stringify(all[0].cursor).length).toBeLessThan(200);
  });

  test('the etag of a table changes when rows are written', async () => {
    const c = connector({ include: ['alpha.t01'] });
    const [before] = await enumerateAll(c);
    const writer = await adminOn(dbName);
    await writer.query(`INSERT INTO alpha.t01 VALUES (100, 'new')`);
    await writer.end(); // backend exit flushes its statistics
    let after = before;
    for (let i = 0; i < 50 && after.etag === before.etag; i++) {
      await new Promise((r) => setTimeout(r, 100));
      [after] = await enumerateAll(c);
    }
    expect(after.etag).not.toEqual(before.etag);
    await admin.query(`DELETE FROM alpha.t01 WHERE id = 100`);
  });
});

describe('details', () => {
  test('columns, keys, estimates; dropped and forbidden tables are per-object errors', async () => {
    const c = connector();
    await admin.query(`CREATE TABLE gamma.doomed (v int); GRANT SELECT ON gamma.doomed TO ${scannerRole}`);
    const [doomed] = (await enumerateAll(c)).filter((o) => o.objectPath === 'gamma.doomed');
    await admin.query(`DROP TABLE gamma.doomed`);
    const details = await c.getObjectDetails(
      packet([
        id('public', 'people'),
        doomed.objectId,
        id('public', 'secret'),
        id('alpha', 'v_people'),
        id('beta', 'dotted.name'),
      ]),
    );
    expect(details[0]).toMatchObject({
      objectId: id('public', 'people'),
      objectType: 'table',
      estimatedRowCount: 500,
      columns: [
        { name: 'id', dataType: 'integer', nullable: false, primaryKey: true },
        { name: 'email', dataType: 'text', nullable: false, primaryKey: false },
        { name: 'name', dataType: 'text', nullable: true, primaryKey: false },
        { name: 'born', dataType: 'date', nullable: true, primaryKey: false },
      ],
    });
    expect(details[0].estimatedBytes).toBeGreaterThan(0);
    expect(details[1]).toMatchObject({
      objectId: doomed.objectId,
      error: { type: ErrorType.OBJECT_NOT_FOUND },
    });
    expect(details[2]).toMatchObject({
      objectId: id('public', 'secret'),
      error: { type: ErrorType.RIGHTS_ACCESS_DENIED },
    });
    expect(details[3]).toMatchObject({ objectType: 'view', columns: [{ name: 'id' }, { name: 'email' }] });
    expect(details[3].error).toBeUndefined();
    expect(details[4]).toMatchObject({
      objectPath: 'beta.dotted.name',
      columns: [{ name: 'v', dataType: 'text' }],
    });
  });
});

describe.each(['copy', 'cursor'] as const)('content (readMethod %s)', (readMethod) => {
  test('a forbidden or missing table yields one error row while the others stream; hostile names are data', async () => {
    const c = connector({ readMethod });
    const rows = await collect(
      c.getObjectContent(
        packet([
          id('public', 'secret'),
          id('public', 'people'),
          id('public', HOSTILE),
          id('public', 'gone'),
          id('beta', 'dotted.name'),
        ]),
      ),
    );
    const of = (objectId: string) => rows.filter((r) => r.objectId === objectId);
    expect(of(id('public', 'secret'))).toEqual([
      {
        objectId: id('public', 'secret'),
        row: {},
        error: { type: ErrorType.RIGHTS_ACCESS_DENIED, message: expect.stringMatching(/permission denied/) },
      },
    ]);
    expect(of(id('public', 'people'))).toHaveLength(500);
    expect(of(id('public', 'people'))[0].row).toEqual({
      id: 1,
      email: 'user1@example.com',
      name: 'Person 1',
      born: '1980-01-02',
    });
    expect(of(id('public', HOSTILE)).map((r) => r.row)).toEqual([{ v: 'hostile-1' }, { v: 'hostile-2' }]);
    expect(of(id('public', 'gone'))).toEqual([
      {
        objectId: id('public', 'gone'),
        row: {},
        error: { type: ErrorType.OBJECT_NOT_FOUND, message: expect.any(String) },
      },
    ]);
    expect(of(id('beta', 'dotted.name')).map((r) => r.row)).toEqual([{ v: 'dot' }]);
    const { rows: ys } = await admin.query('SELECT count(*)::int AS n FROM public.y');
    expect(ys[0].n).toBe(1);
  });

  test('values become text the classifier reads; numbers stay numbers', async () => {
    const c = connector({ readMethod });
    const [row] = await collect(c.getObjectContent(packet([id('public', 'types')])));
    expect(row.row).toEqual({
      id: '9007199254740993',
      amount: '12.50',
      raw: 'hello bytes',
      bin: '\\xff00fe',
      at: '2024-05-06 07:08:09+00',
      doc: '{"card": "4111111111111111"}',
      flag: true,
      tags: readMethod === 'copy' ? '{a,b}' : '["a","b"]',
    });
  });

  test('limit and percent sampling are repeatable; the packet overrides the config', async () => {
    const c = connector({ readMethod, sampling: { mode: 'limit', rows: 10 } });
    const limited = await readIds(c, id('public', 'people'));
    expect(limited).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const percent = { sampling: { mode: 'percent' as const, percent: 10, seed: 42 } };
    const first = await expectRepeatableSample(c, id('public', 'people'), percent);
    const otherSeed = await readIds(c, id('public', 'people'), {
      sampling: { mode: 'percent', percent: 10, seed: 7 },
    });
    expect(otherSeed).not.toEqual(first);

    // Views cannot TABLESAMPLE: the seeded row hash applies instead.
    await expectRepeatableSample(c, id('alpha', 'v_people'), percent);
  });

  test('streams 1,000,000 rows with bounded memory, and stopping early frees the connection', async () => {
    // Copy mode streams the whole million; cursor mode a fifth of it (same code path, many FETCHes).
    const expected = readMethod === 'copy' ? BIG_ROWS : 200_000;
    const c = connector({ readMethod, maxConnections: 1, sampling: { mode: 'limit', rows: expected } });
    const { count, sum, peak, seconds } = await streamWithHeapPeak(
      c.getObjectContent(packet([id('public', 'big')])),
    );
    expect(count).toBe(expected);
    // Every id exactly once (the table has no key, so a partial read's ids are any 200,000).
    if (readMethod === 'copy') expect(sum).toBe((BIG_ROWS * (BIG_ROWS + 1)) / 2);
    expect(peak).toBeLessThan(100 * 1024 * 1024);
    logger.info(`pg stream (${readMethod})`, { rows: count, seconds, heapGrowthMb: peak / 1e6 });

    // Break out after a few rows: the transaction ends and the single pooled client serves the next read.
    await readThenBreak(c.getObjectContent(packet([id('public', 'big')])), 10);
    const people = await collect(c.getObjectContent(packet([id('public', 'people')])));
    expect(people).toHaveLength(500);
    // …and no backend of ours is left sending `big` to an abandoned connection.
    expect(await lingeringBigReads()).toBe(0);
  }, 60_000);

  test('an aborted packet stops with CANCELLED', async () => {
    const c = connector({ readMethod });
    const controller = new AbortController();
    await expect(
      readThenAbort(
        c.getObjectContent(packet([id('public', 'big')], { abortSignal: controller.signal })),
        controller,
      ),
    ).rejects.toMatchObject({ type: ErrorType.CANCELLED });
  });
  test('the batch path hands out bounded arrays', async () => {
    const c = connector({ readMethod, fetchRows: 100 });
    const batches = await collect(c.getObjectContentBatches(packet([id('public', 'people')])));
    expect(batches.flat().map((r) => r.row.id)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    // Cursor: one array per FETCH; COPY: each network chunk's rows as soon as parsed, at most fetchRows per array.
    if (readMethod === 'cursor') expect(batches.map((b) => b.length)).toEqual([100, 100, 100, 100, 100]);
    else expect(batches.every((b) => b.length >= 1 && b.length <= 100)).toBe(true);
  });

  test('escapes, NULLs and multi-byte text spanning chunks survive', async () => {
    const c = connector({ readMethod });
    const rows = await collect(c.getObjectContent(packet([id('public', 'texts')])));
    expect(rows.map((r) => r.row)).toEqual([
      { id: 1, body: 'tab\there\nnew line \\ backslash \\N not null \r\u0001' },
      { id: 2, body: null },
      { id: 3, body: LONG_TEXT },
    ]);
  });

  test('the statement timeout ends a slow read with QUERY_TIMEOUT for that table only', async () => {
    const c = connector({ readMethod, statementTimeoutMs: 200 });
    const rows = await collect(c.getObjectContent(packet([id('public', 'slow'), id('public', 'y')])));
    expect(rows.map((r) => r.error?.type ?? r.row)).toEqual([ErrorType.QUERY_TIMEOUT, { v: 1 }]);
  });
});

describe('source-level failures', () => {
  test('wrong password → RIGHTS_AUTHENTICATION_FAILED (not retryable)', async () => {
    const env = `${passwordEnv}_WRONG`;
    const err = await withEnv(env, 'not-the-password', () => sourceFailure(connector({ passwordEnv: env })));
    expect(err.type).toBe(ErrorType.RIGHTS_AUTHENTICATION_FAILED);
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain('not-the-password');
  });

  test('missing database → CONFIGURATION_INVALID', async () => {
    const err = await sourceFailure(connector({ database: `${dbName}_missing` }));
    expect(err.type).toBe(ErrorType.CONFIGURATION_INVALID);
  });

  test('nothing listening → NETWORK_CONNECTION_FAILED (retryable) after bounded retries', async () => {
    const port = await getFreePort();
    const err = await sourceFailure(connector({ port, connectAttempts: 2 }));
    expect(err.type).toBe(ErrorType.NETWORK_CONNECTION_FAILED);
    expect(err.retryable).toBe(true);
  });

  test('unset password variable → CONFIGURATION_INVALID naming the field', async () => {
    const err = await sourceFailure(connector({ passwordEnv: `${passwordEnv}_UNSET` }));
    expect(err.type).toBe(ErrorType.CONFIGURATION_INVALID);
    expect(err.message).toMatch(/password: environment variable .*_UNSET is not set/);
  });

  test('close() is idempotent and later calls fail with CANCELLED', async () => {
    await expectCloseIdempotent(connector());
  });
});

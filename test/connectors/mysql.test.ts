import { randomBytes } from 'node:crypto';
import mysql, { type Connection } from 'mysql2/promise';
import { ErrorHandler } from '../../src/core/error-handler';
import { ErrorType } from '../../src/core/errors';
import { SystemLogger } from '../../src/core/logger';
import { getFreePort } from '../../src/services/managed-process';
import { MysqlConnector, mysqlConnector, type MysqlConfig } from '../../src/connectors/mysql';
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
const mainDb = `assay_my_${suffix}`;
const dbA = `${mainDb}_a`;
const dbB = `${mainDb}_b`;
const scanner = `assay_scanner_${suffix}`;
const scannerAccount = `'${scanner}'@'127.0.0.1'`;
const scannerPassword = randomBytes(12).toString('hex');
const passwordEnv = `ASSAY_TEST_MYSQL_PASSWORD_${suffix}`;
const datasourceId = 'my-test';
const HOSTILE = 'x`"; DROP TABLE y; --';
const BIG_ROWS = 1_000_000;

const logger = new SystemLogger({ level: 'fatal' });
const errorHandler = new ErrorHandler();
const open: MysqlConnector[] = [];

function connector(overrides: Partial<Record<keyof MysqlConfig, unknown>> = {}): MysqlConnector {
  const config = mysqlConnector.configSchema.parse({
    host: services.mariadb.host,
    port: services.mariadb.port,
    database: mainDb,
    databases: [dbA, dbB, mainDb],
    user: scanner,
    passwordEnv,
    ...overrides,
  });
  const created = mysqlConnector.create({ datasourceId, logger, errorHandler, config }) as MysqlConnector;
  open.push(created);
  return created;
}

const packet = packetFactory(datasourceId);
const id = objectIdFactory(datasourceId);
const q = (name: string) => `\`${name.replace(/`/g, '``')}\``;

let admin: Connection;

const TABLES_PER_DB = 7;
const numbered = (db: string) =>
  Array.from({ length: TABLES_PER_DB }, (_, i) => `${db}.t${String(i + 1).padStart(2, '0')}`);

beforeAll(async () => {
  process.env[passwordEnv] = scannerPassword;
  admin = await mysql.createConnection({ ...services.mariadb, multipleStatements: true });
  await admin.query(`CREATE USER ${scannerAccount} IDENTIFIED BY '${scannerPassword}'`);
  for (const db of [mainDb, dbA, dbB]) await admin.query(`CREATE DATABASE ${q(db)}`);
  await admin.query(`USE ${q(mainDb)}`); // MariaDB's seq_1_to_N virtual tables need a current database
  for (const db of [dbA, dbB]) {
    for (let i = 1; i <= TABLES_PER_DB; i++) {
      const table = `t${String(i).padStart(2, '0')}`;
      await admin.query(`CREATE TABLE ${q(db)}.${table} (id INT PRIMARY KEY, note TEXT)`);
      await admin.query(
        `INSERT INTO ${q(db)}.${table} SELECT seq, CONCAT('${table}-', seq) FROM seq_1_to_${i}`,
      );
    }
    await admin.query(`GRANT SELECT ON ${q(db)}.* TO ${scannerAccount}`);
  }
  await admin.query(
    `CREATE TABLE ${q(dbB)}.\`dotted.name\` (v TEXT); INSERT INTO ${q(dbB)}.\`dotted.name\` VALUES ('dot')`,
  );
  const m = q(mainDb);
  await admin.query(`
    CREATE TABLE ${m}.people (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(100), born DATE);
    INSERT INTO ${m}.people SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('Person ', seq), DATE '1980-01-01' + INTERVAL seq DAY
      FROM seq_1_to_500;
    CREATE VIEW ${m}.v_people AS SELECT id, email FROM ${m}.people;
    CREATE TABLE ${m}.y (v INT); INSERT INTO ${m}.y VALUES (1);
    CREATE TABLE ${m}.${q(HOSTILE)} (v TEXT); INSERT INTO ${m}.${q(HOSTILE)} VALUES ('hostile-1'), ('hostile-2');
    CREATE TABLE ${m}.secret (ssn TEXT); INSERT INTO ${m}.secret VALUES ('123-45-6789');
    CREATE TABLE ${m}.types (id BIGINT PRIMARY KEY, amount DECIMAL(10,2), raw BLOB, bin VARBINARY(8), at DATETIME,
      doc JSON, flag TINYINT(1), price DOUBLE);
    INSERT INTO ${m}.types VALUES (9007199254740993, 12.50, 'hello bytes', 0xff00fe, '2024-05-06 07:08:09',
      '{"card": "4111111111111111"}', 1, 2.5);
    CREATE TABLE ${m}.big (id INT PRIMARY KEY, token CHAR(32), label VARCHAR(40));
    INSERT INTO ${m}.big SELECT seq, MD5(seq), CONCAT('name ', seq) FROM seq_1_to_${BIG_ROWS};
    ANALYZE TABLE ${m}.people, ${m}.big; -- InnoDB statistics (sizes, row estimates) lag bulk loads otherwise
  `);
  for (const table of ['people', 'v_people', 'y', HOSTILE, 'types', 'big']) {
    await admin.query(`GRANT SELECT ON ${m}.${q(table)} TO ${scannerAccount}`);
  }
  // Visible in information_schema (some privilege) but not readable.
  await admin.query(`GRANT INSERT ON ${m}.secret TO ${scannerAccount}`);
}, 90_000);

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  for (const db of [mainDb, dbA, dbB]) await admin.query(`DROP DATABASE IF EXISTS ${q(db)}`);
  await admin.query(`DROP USER IF EXISTS ${scannerAccount}`);
  await admin.end();
  delete process.env[passwordEnv];
});

/** Server threads of the scanner still reading `big`, after up to 5 s for them to notice the closed socket. */
async function lingeringBigReads(): Promise<number> {
  return countAfterSettling(async () => {
    const [rows] = await admin.query(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE ?',
      [scanner, '%`big`%'],
    );
    return Number((rows as Array<{ n: number }>)[0].n);
  });
}

describe('config validation', () => {
  test('messages name the bad field', () => {
    const bad = (config: unknown) => configErrors(mysqlConnector.configSchema, config);
    const base = { host: 'h', database: 'd', user: 'u' };
    expect(bad({ ...base, port: 'x' })).toMatch(/^port: port must be a number/);
    expect(bad({ ...base, database: '' })).toMatch(/^database: database must not be empty/);
    expect(bad({ ...base, databases: [] })).toMatch(/^databases: databases must name at least one database/);
    expect(bad({ ...base, sampling: { mode: 'limit', rows: 1.5 } })).toMatch(
      /sampling\.rows must be an integer/,
    );
    expect(bad({ ...base, statementTimeoutMs: -1 })).toMatch(/statementTimeoutMs must be at least 1/);
    expect(bad({ ...base, include: 'a*' })).toMatch(/^include: include must be an array/);
    const ok = mysqlConnector.configSchema.parse({
      ...base,
      passwordEnv: 'MYSQL_PWD',
      sampling: { mode: 'full' },
    });
    expect(ok).toMatchObject({
      port: 3306,
      include: ['*'],
      exclude: [],
      maxConnections: 4,
      statementTimeoutMs: 60000,
    });
  });
});

describe('enumeration', () => {
  test('lists the tables and views of the configured databases in (database, name) order, in batches', async () => {
    const c = connector();
    const batches = await collect(c.enumerateObjects(packet([], { batchSize: 6 })));
    expect(batches.slice(0, -1).every((b) => b.length === 6)).toBe(true);
    const objects = batches.flat();
    const expected = [
      ...numbered(dbA),
      ...numbered(dbB),
      `${dbB}.dotted.name`,
      ...['big', 'people', 'secret', 'types', 'v_people', HOSTILE, 'y'].map((t) => `${mainDb}.${t}`),
    ].sort(byteOrder);
    expect(objects.map((o) => o.objectPath)).toEqual(expected);
    expect(objects.length).toBeGreaterThanOrEqual(20);
    expect(objects.find((o) => o.objectPath === `${mainDb}.v_people`)).toMatchObject({ objectType: 'view' });
    const big = objects.find((o) => o.objectPath === `${mainDb}.big`)!;
    expect(big).toMatchObject({ objectType: 'table', objectId: id(mainDb, 'big'), datasourceId });
    expect(big.size).toBeGreaterThan(10_000_000);
    expect(big.etag).toBeDefined();
  });

  test('the default database list is the connected database; patterns narrow the set', async () => {
    const only = await enumerateAll(connector({ databases: undefined }));
    expect(only.every((o) => o.objectPath.startsWith(`${mainDb}.`))).toBe(true);
    expect(only).toHaveLength(7);
    const paths = (await enumerateAll(connector({ include: [`${dbA}.*`, 't0?'], exclude: ['*t03'] }))).map(
      (o) => o.objectPath,
    );
    const tables = (db: string) => [1, 2, 4, 5, 6, 7].map((i) => `${db}.t0${i}`);
    expect(paths).toEqual([...tables(dbA), ...tables(dbB)]);
  });

  test('resuming from a mid-way cursor continues exactly after it', async () => {
    await expectExactResume(connector());
  });

  test('the etag of a table changes when rows are written', async () => {
    const c = connector({ include: [`${dbA}.t01`] });
    const [before] = await enumerateAll(c);
    await new Promise((r) => setTimeout(r, 1100)); // UPDATE_TIME has one-second resolution
    await admin.query(`INSERT INTO ${q(dbA)}.t01 VALUES (100, 'new')`);
    const [after] = await enumerateAll(c);
    expect(after.etag).not.toEqual(before.etag);
    expect(after.lastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await admin.query(`DELETE FROM ${q(dbA)}.t01 WHERE id = 100`);
  });
});

describe('details', () => {
  test('columns, keys, estimates; dropped and forbidden tables are per-object errors', async () => {
    const c = connector();
    await admin.query(`CREATE TABLE ${q(dbA)}.doomed (v INT)`);
    const [doomed] = (await enumerateAll(c)).filter((o) => o.objectPath === `${dbA}.doomed`);
    await admin.query(`DROP TABLE ${q(dbA)}.doomed`);
    const details = await c.getObjectDetails(
      packet([
        id(mainDb, 'people'),
        doomed.objectId,
        id(mainDb, 'secret'),
        id(mainDb, 'v_people'),
        id(dbB, 'dotted.name'),
      ]),
    );
    expect(details[0]).toMatchObject({
      objectId: id(mainDb, 'people'),
      objectType: 'table',
      estimatedRowCount: 500,
      columns: [
        { name: 'id', dataType: 'int(11)', nullable: false, primaryKey: true },
        { name: 'email', dataType: 'varchar(100)', nullable: false, primaryKey: false },
        { name: 'name', dataType: 'varchar(100)', nullable: true, primaryKey: false },
        { name: 'born', dataType: 'date', nullable: true, primaryKey: false },
      ],
    });
    expect(details[0].estimatedBytes).toBeGreaterThan(0);
    expect(details[1]).toMatchObject({
      objectId: doomed.objectId,
      error: { type: ErrorType.OBJECT_NOT_FOUND },
    });
    expect(details[2]).toMatchObject({
      objectId: id(mainDb, 'secret'),
      error: { type: ErrorType.RIGHTS_ACCESS_DENIED },
    });
    expect(details[3]).toMatchObject({ objectType: 'view', columns: [{ name: 'id' }, { name: 'email' }] });
    expect(details[3].error).toBeUndefined();
    expect(details[4]).toMatchObject({
      objectPath: `${dbB}.dotted.name`,
      columns: [{ name: 'v', dataType: 'text' }],
    });
  });
});

describe('content', () => {
  test('a forbidden or missing table yields one error row while the others stream; hostile names are data', async () => {
    const c = connector();
    const rows = await collect(
      c.getObjectContent(
        packet([
          id(mainDb, 'secret'),
          id(mainDb, 'people'),
          id(mainDb, HOSTILE),
          id(mainDb, 'gone'),
          id(dbB, 'dotted.name'),
        ]),
      ),
    );
    const of = (objectId: string) => rows.filter((r) => r.objectId === objectId);
    expect(of(id(mainDb, 'secret'))).toEqual([
      {
        objectId: id(mainDb, 'secret'),
        row: {},
        error: {
          type: ErrorType.RIGHTS_ACCESS_DENIED,
          message: expect.stringMatching(/SELECT command denied/),
        },
      },
    ]);
    expect(of(id(mainDb, 'people'))).toHaveLength(500);
    expect(of(id(mainDb, 'people'))[0].row).toEqual({
      id: 1,
      email: 'user1@example.com',
      name: 'Person 1',
      born: '1980-01-02',
    });
    expect(of(id(mainDb, HOSTILE)).map((r) => r.row)).toEqual([{ v: 'hostile-1' }, { v: 'hostile-2' }]);
    expect(of(id(mainDb, 'gone'))).toEqual([
      {
        objectId: id(mainDb, 'gone'),
        row: {},
        error: { type: ErrorType.OBJECT_NOT_FOUND, message: expect.any(String) },
      },
    ]);
    expect(of(id(dbB, 'dotted.name')).map((r) => r.row)).toEqual([{ v: 'dot' }]);
    const [ys] = await admin.query(`SELECT COUNT(*) AS n FROM ${q(mainDb)}.y`);
    expect(Number((ys as Array<{ n: number }>)[0].n)).toBe(1);
  });

  test('values become text the classifier reads; numbers stay numbers', async () => {
    const c = connector();
    const [row] = await collect(c.getObjectContent(packet([id(mainDb, 'types')])));
    expect(row.row).toEqual({
      id: '9007199254740993',
      amount: '12.50',
      raw: 'hello bytes',
      bin: '\\xff00fe',
      at: '2024-05-06 07:08:09',
      doc: '{"card": "4111111111111111"}',
      flag: 1,
      price: 2.5,
    });
  });

  test('the batch path hands out arrays of at most fetchRows, in order, also to a slow consumer', async () => {
    const c = connector({ fetchRows: 100 });
    const batches = await collect(c.getObjectContentBatches(packet([id(mainDb, 'people')])));
    expect(batches.every((b) => b.length >= 1 && b.length <= 100)).toBe(true);
    expect(batches.flat().map((r) => r.row.id)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    // A consumer that falls behind: the socket is paused, arrays stay within fetchRows, nothing is lost.
    const slow: number[] = [];
    for await (const batch of c.getObjectContentBatches(packet([id(mainDb, 'people')]))) {
      expect(batch.length).toBeLessThanOrEqual(100);
      slow.push(...batch.map((r) => r.row.id as number));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(slow).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  test('NULL, empty text, the literal \\N, tabs, newlines, backslashes and unicode come out exact', async () => {
    const values = [
      '',
      null,
      '\\N',
      'tab\there',
      'line1\nline2\r\n',
      'trailing\\',
      '\\\\',
      'é€😀 ü',
      '\u0000x',
    ];
    await admin.query(
      `CREATE TABLE ${q(mainDb)}.texts (id INT PRIMARY KEY, body TEXT CHARACTER SET utf8mb4, raw BLOB)`,
    );
    try {
      await admin.query(`GRANT SELECT ON ${q(mainDb)}.texts TO ${scannerAccount}`);
      await admin.query(`INSERT INTO ${q(mainDb)}.texts VALUES ?`, [
        values.map((v, i) => [i, v, v === null ? null : Buffer.from(v)]),
      ]);
      const rows = await collect(connector().getObjectContent(packet([id(mainDb, 'texts')])));
      expect(rows.map((r) => r.row)).toEqual(values.map((v, i) => ({ id: i, body: v, raw: v })));
    } finally {
      await admin.query(`DROP TABLE ${q(mainDb)}.texts`);
    }
  });

  test('limit and percent sampling are repeatable; the packet overrides the config', async () => {
    const c = connector({ sampling: { mode: 'limit', rows: 10 } });
    expect(await readIds(c, id(mainDb, 'people'))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const percent = { sampling: { mode: 'percent' as const, percent: 10, seed: 42 } };
    const first = await expectRepeatableSample(c, id(mainDb, 'people'), percent);
    const otherSeed = await readIds(c, id(mainDb, 'people'), {
      sampling: { mode: 'percent', percent: 10, seed: 7 },
    });
    expect(otherSeed).not.toEqual(first);
    // No primary key on a view: every column is hashed.
    await expectRepeatableSample(c, id(mainDb, 'v_people'), percent);
  });

  test('streams 1,000,000 rows with bounded memory, and stopping early frees the connection', async () => {
    const c = connector({ maxConnections: 1 });
    const { count, sum, peak } = await streamWithHeapPeak(c.getObjectContent(packet([id(mainDb, 'big')])));
    expect(count).toBe(BIG_ROWS);
    expect(sum).toBe((BIG_ROWS * (BIG_ROWS + 1)) / 2);
    expect(peak).toBeLessThan(100 * 1024 * 1024);

    // Break out mid-stream: the connection is dropped and the one-connection pool serves the next read.
    await readThenBreak(c.getObjectContent(packet([id(mainDb, 'big')])), 10);
    expect(await collect(c.getObjectContent(packet([id(mainDb, 'people')])))).toHaveLength(500);
    // …and the server stopped sending: no query of ours lingers on the abandoned connection.
    expect(await lingeringBigReads()).toBe(0);
  }, 60_000);

  test('an aborted packet stops with CANCELLED and the pool stays usable', async () => {
    const c = connector({ maxConnections: 1 });
    const controller = new AbortController();
    await expect(
      readThenAbort(
        c.getObjectContent(packet([id(mainDb, 'big')], { abortSignal: controller.signal })),
        controller,
      ),
    ).rejects.toMatchObject({ type: ErrorType.CANCELLED });
    expect(await collect(c.getObjectContent(packet([id(mainDb, 'y')])))).toHaveLength(1);
    expect(await lingeringBigReads()).toBe(0);
  });

  test('the statement timeout ends a slow read with QUERY_TIMEOUT for that table only', async () => {
    const c = connector({ statementTimeoutMs: 200 });
    await admin.query(`CREATE VIEW ${q(mainDb)}.slow AS SELECT SLEEP(2) AS s`);
    await admin.query(`GRANT SELECT ON ${q(mainDb)}.slow TO ${scannerAccount}`);
    const rows = await collect(c.getObjectContent(packet([id(mainDb, 'slow'), id(mainDb, 'y')])));
    await admin.query(`DROP VIEW ${q(mainDb)}.slow`);
    expect(rows.map((r) => r.error?.type ?? r.row)).toEqual([ErrorType.QUERY_TIMEOUT, { v: 1 }]);
  });
});

describe('source-level failures', () => {
  test('wrong password → RIGHTS_AUTHENTICATION_FAILED (not retryable)', async () => {
    const env = `${passwordEnv}_WRONG`;
    const err = await withEnv(env, 'not-the-password', () => sourceFailure(connector({ passwordEnv: env })));
    expect(err.type).toBe(ErrorType.RIGHTS_AUTHENTICATION_FAILED);
    expect(err.retryable).toBe(false);
  });

  test('missing database → CONFIGURATION_INVALID', async () => {
    const err = await sourceFailure(connector({ database: `${mainDb}_missing` }));
    expect(err.type).toBe(ErrorType.CONFIGURATION_INVALID);
    expect(err.context.field).toBe('database');
  });

  test('nothing listening → NETWORK_CONNECTION_FAILED (retryable) after bounded retries', async () => {
    const err = await sourceFailure(connector({ port: await getFreePort(), connectAttempts: 2 }));
    expect(err.type).toBe(ErrorType.NETWORK_CONNECTION_FAILED);
    expect(err.retryable).toBe(true);
  });

  test('close() is idempotent and later calls fail with CANCELLED', async () => {
    await expectCloseIdempotent(connector());
  });
});

/**
 * The COPY text parser against real `COPY … TO STDOUT` output of hostile values, in every chunking;
 * and the connector's COPY path against its cursor path over many column types.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorHandler } from '../../src/core/error-handler';
import { SystemLogger } from '../../src/core/logger';
import { CopyTextParser, CopyTextWriter, type CopyField } from '../../src/connectors/pg-copy-text';
import { PostgresConnector, postgresConnector } from '../../src/connectors/postgres';
import { testServices } from '../harness/services-info';
import { collect, objectIdFactory, packetFactory } from './sql-test-helpers';

const services = testServices();
const suffix = randomBytes(4).toString('hex');
const dbName = `assay_pgcopy_${suffix}`;
const table = 'types';
const datasourceId = 'pg-copy';
let admin: Client;

async function clientOn(database: string): Promise<Client> {
  const client = new Client({ ...services.postgres, database });
  await client.connect();
  return client;
}

beforeAll(async () => {
  const root = await clientOn('postgres');
  await root.query(`CREATE DATABASE ${dbName}`);
  await root.end();
  admin = await clientOn(dbName);
});

afterAll(async () => {
  await admin?.end();
  const root = await clientOn('postgres');
  await root.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await root.end();
});

/** The raw bytes of `COPY (query) TO STDOUT`. */
async function copyBytes(query: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of admin.query(copyTo(`COPY (${query}) TO STDOUT`)) as AsyncIterable<Buffer>)
    chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Parses `chunks` in order; rows as copies of the reused field array. */
function parse(columns: number, chunks: Buffer[]): CopyField[][] {
  const parser = new CopyTextParser(columns, (fields) => [...fields]);
  const rows: CopyField[][] = [];
  for (const chunk of chunks) parser.push(chunk, rows);
  parser.finish();
  return rows;
}

// Each row: [a, b, c]; SQL text is built from JSON-escaped literals with E'' strings.
const HOSTILE_ROWS: CopyField[][] = [
  ['', null, '\\N'],
  ['\\', '\\\\N', 'tab\there'],
  ['line1\nline2', 'cr\r\nlf', 'trailing\\'],
  ['é€😀 ü', '\t', '\b\f\v\u0001'],
  [null, null, null],
  ['\\.', 'N', 'x\\Ny'],
  ['\t\t', '\n', '\\\t\\n'],
  ['a'.repeat(70_000) + '😀', '', 'end'],
];

function sqlLiteral(value: CopyField): string {
  if (value === null) return 'NULL::text';
  const escaped = [...value]
    .map((ch) => {
      const code = ch.codePointAt(0)!;
      if (ch === '\\') return '\\\\';
      if (ch === "'") return "\\'";
      if (code < 0x20) return `\\x${code.toString(16).padStart(2, '0')}`;
      return ch;
    })
    .join('');
  return `E'${escaped}'::text`;
}

const hostileQuery = `SELECT * FROM (VALUES ${HOSTILE_ROWS.map(
  (row, i) => `(${i}, ${row.map(sqlLiteral).join(', ')})`,
).join(', ')}) AS v(n, a, b, c) ORDER BY n`;

describe('CopyTextParser', () => {
  test('NULL, empty text, the literal \\N, escapes, newlines, tabs and unicode come out exact', async () => {
    const bytes = await copyBytes(hostileQuery);
    const expected = HOSTILE_ROWS.map((row, i) => [String(i), ...row]);
    expect(parse(4, [bytes])).toEqual(expected);
  });

  test('every split into two chunks, and byte-by-byte chunks, give the same rows', async () => {
    const bytes = await copyBytes(hostileQuery);
    const expected = HOSTILE_ROWS.map((row, i) => [String(i), ...row]);
    // The long row dominates the size: split everywhere in the short rows, every 997 bytes in the long one.
    const splits: number[] = [];
    for (let at = 0; at <= bytes.length; at += at < 400 || at > bytes.length - 400 ? 1 : 997) splits.push(at);
    for (const at of splits) {
      expect(parse(4, [bytes.subarray(0, at), bytes.subarray(at)])).toEqual(expected);
    }
    const small = await copyBytes(`${hostileQuery} LIMIT 7`);
    const single = Array.from({ length: small.length }, (_, i) => small.subarray(i, i + 1));
    expect(parse(4, single)).toEqual(expected.slice(0, 7));
  });

  test('a table without columns gives one empty row per line', async () => {
    expect(parse(0, [await copyBytes('SELECT FROM generate_series(1, 3)')])).toEqual([[], [], []]);
  });

  test('a short row and a stream ending inside a row are errors', () => {
    expect(() => parse(3, [Buffer.from('a\tb\n')])).toThrow('COPY row has 2 fields, expected 3');
    expect(() => parse(2, [Buffer.from('a\tb\nc\t')])).toThrow(
      'COPY data ended inside a row (2 bytes without a newline)',
    );
  });
});

/** Rows as COPY text, written field by field as the results store writes them. */
function copyText(rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  const writer = new CopyTextWriter();
  for (const row of rows) {
    for (const value of row) writer.field(value);
    writer.endRow();
  }
  return writer.toString();
}

describe('CopyTextWriter', () => {
  test('COPY FROM reads back every hostile value exactly (NUL aside, which text cannot hold)', async () => {
    await admin.query('CREATE TABLE copy_in (n int, a text, b text, c text)');
    const rows = HOSTILE_ROWS.map((row, i) => [i, ...row]);
    await pipeline(
      Readable.from([copyText([...rows, [99, 'nul\u0000gone', null, '']])]),
      admin.query(copyFrom('COPY copy_in FROM STDIN')),
    );
    const { rows: back } = await admin.query('SELECT n, a, b, c FROM copy_in ORDER BY n');
    expect(back.map((r) => [r.n, r.a, r.b, r.c])).toEqual([...rows, [99, 'nulgone', null, '']]);
  });
});

describe('COPY path values', () => {
  test('equal the cursor path for every column type (arrays aside) and exact for the hostile ones', async () => {
    await admin.query(`CREATE TABLE public.${table} (
      id int8 PRIMARY KEY, i2 int2, i4 int4, f4 float4, f8 float8, num numeric, flag boolean, day date,
      at timestamp, atz timestamptz, t time, span interval, raw bytea, bin bytea, doc json, docb jsonb,
      u uuid, ip inet, txt text, vc varchar(20), ch char(3))`);
    await admin.query(
      `INSERT INTO public.${table} VALUES
       (9223372036854775807, -32768, 2147483647, 1.5, -0.000123, 12345678901234567890.0123456789, true,
        '2024-02-29', '2024-02-29 23:59:59.123456', '1999-12-31 23:00:00-05', '13:14:15', '1 day 02:03:04',
        convert_to('héllo', 'UTF8'), '\\x00ff5c0a', '{"a": "b\\\\tc"}', '{"card": "4111 1111"}',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10.1.2.3/32', E'a\\tb\\nc\\\\d \\\\N', 'x', 'ab'),
       (-1, 0, -1, 'NaN', 'Infinity', 'NaN', false, '0001-01-01', 'infinity', '-infinity', '00:00:00', '-1 mons',
        '', '\\x5c4e', 'null', '[]', '00000000-0000-0000-0000-000000000000', '::1', '', '', ''),
       (0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL)`,
    );
    const logger = new SystemLogger({ level: 'fatal' });
    const errorHandler = new ErrorHandler();
    process.env.ASSAY_TEST_PG_COPY_PASSWORD = services.postgres.password;
    const read = async (readMethod: 'copy' | 'cursor') => {
      const config = postgresConnector.configSchema.parse({
        host: services.postgres.host,
        port: services.postgres.port,
        database: dbName,
        user: services.postgres.user,
        passwordEnv: 'ASSAY_TEST_PG_COPY_PASSWORD',
        readMethod,
      });
      const c = postgresConnector.create({ datasourceId, logger, errorHandler, config }) as PostgresConnector;
      try {
        const id = objectIdFactory(datasourceId)('public', table);
        const rows = await collect(c.getObjectContent(packetFactory(datasourceId)([id])));
        return rows.map((r) => r.row).sort((x, y) => Number(x.id) - Number(y.id));
      } finally {
        await c.close();
      }
    };
    try {
      const copied = await read('copy');
      expect(copied).toEqual(await read('cursor'));
      expect(copied[0]).toEqual({
        id: '-1',
        i2: 0,
        i4: -1,
        f4: NaN,
        f8: Infinity,
        num: 'NaN',
        flag: false,
        day: '0001-01-01',
        at: 'infinity',
        atz: '-infinity',
        t: '00:00:00',
        span: '-1 mons',
        raw: '',
        bin: '\\N',
        doc: 'null',
        docb: '[]',
        u: '00000000-0000-0000-0000-000000000000',
        ip: '::1',
        txt: '',
        vc: '',
        ch: '   ',
      });
      expect(copied[1]).toEqual(
        Object.fromEntries(Object.keys(copied[0]).map((k) => [k, k === 'id' ? '0' : null])),
      );
      expect(copied[2]).toEqual({
        id: '9223372036854775807',
        i2: -32768,
        i4: 2147483647,
        f4: 1.5,
        f8: -0.000123,
        num: '12345678901234567890.0123456789',
        flag: true,
        day: '2024-02-29',
        at: '2024-02-29 23:59:59.123456',
        atz: '2000-01-01 04:00:00+00',
        t: '13:14:15',
        span: '1 day 02:03:04',
        raw: 'héllo',
        bin: '\\x00ff5c0a',
        doc: '{"a": "b\\\\tc"}',
        docb: '{"card": "4111 1111"}',
        u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        ip: '10.1.2.3',
        txt: 'a\tb\nc\\d \\N',
        vc: 'x',
        ch: 'ab ',
      });
    } finally {
      delete process.env.ASSAY_TEST_PG_COPY_PASSWORD;
    }
  });
});

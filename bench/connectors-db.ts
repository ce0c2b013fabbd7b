/**
 * Full-scan throughput of the PostgreSQL and MySQL/MariaDB connectors, one connection each.
 *
 *   npx ts-node --transpile-only bench/connectors-db.ts
 *
 * Starts private PostgreSQL and MariaDB servers in a temp dir, fills a table of BENCH_ROWS rows
 * (default 1,500,000: an int key and four text columns), then measures rows/s for
 *   - driver:  the bare driver loop (pg COPY split into fields, pg FETCH in rowMode array, mysql2
 *              row events), the floor;
 *   - batches: connector.getObjectContentBatches (rows converted to DatabaseRow, one array per fetch);
 *   - rows:    connector.getObjectContent (the per-row async iterator the interface defines).
 * Targets from the issue: PostgreSQL ≥ 500,000 rows/s, MySQL ≥ 750,000 rows/s per connection.
 * Prints figures; asserts nothing. Servers and the temp dir are removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { ErrorHandler } from '../src/core/error-handler';
import { SystemLogger } from '../src/core/logger';
import type { DatabaseRow, WorkPacket } from '../src/core/models';
import { mysqlConnector, type MysqlConnector } from '../src/connectors/mysql';
import { postgresConnector, type PostgresConnector } from '../src/connectors/postgres';
import { startLocalMariadb, type LocalMariadb } from '../src/services/mariadb';
import { startLocalPostgres, type LocalPostgres } from '../src/services/postgres';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_500_000);
const FETCH_ROWS = Number(process.env.BENCH_FETCH_ROWS ?? 5000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const datasourceId = 'bench';
const logger = new SystemLogger({ level: 'warn' });
const errorHandler = new ErrorHandler();

interface Figure {
  target: string;
  path: string;
  rows: number;
  seconds: number;
  cpuSeconds: number;
}
const figures: Figure[] = [];

function packet(objectId: string): WorkPacket {
  return {
    header: { taskId: 'b', traceId: 'b', scanId: 'b', datasourceId },
    payload: { objectIds: [objectId] },
  };
}

const rate = (rows: number, seconds: number) => Math.round(rows / seconds).toLocaleString('en-US');

/**
 * Wall-clock rows/s, plus rows per second of this process's CPU (user + system): the client-side
 * ceiling, which a machine shared with other work (or the database server on the same cores) hides.
 */
async function timed(target: string, pathName: string, run: () => Promise<number>): Promise<void> {
  for (let i = 0; i < REPEAT; i++) {
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const rows = await run();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (rows !== ROWS) throw new Error(`${target} ${pathName}: read ${rows} rows, expected ${ROWS}`);
    figures.push({ target, path: pathName, rows, seconds, cpuSeconds });
    console.log(
      `${target.padEnd(9)} ${pathName.padEnd(15)} ${rows} rows in ${seconds.toFixed(2)} s = ${rate(rows, seconds).padStart(9)} rows/s` +
        ` (client CPU ${cpuSeconds.toFixed(2)} s = ${rate(rows, cpuSeconds).padStart(9)} rows per CPU-s)`,
    );
  }
}

async function countRows(iterable: AsyncIterable<DatabaseRow>): Promise<number> {
  let n = 0;
  for await (const row of iterable) if (row.row) n++;
  return n;
}

async function countBatches(iterable: AsyncIterable<DatabaseRow[]>): Promise<number> {
  let n = 0;
  for await (const batch of iterable) n += batch.length;
  return n;
}

async function benchPostgres(pg: LocalPostgres): Promise<void> {
  const admin = new Client({
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    database: 'postgres',
  });
  await admin.connect();
  const started = Date.now();
  await admin.query(`CREATE TABLE bench AS
    SELECT g AS id, 'Person ' || g AS name, 'user' || g || '@example.com' AS email,
           md5(g::text) AS token, 'note number ' || g || ' about nothing in particular' AS note
    FROM generate_series(1, ${ROWS}) g`);
  await admin.query('ALTER TABLE bench ADD PRIMARY KEY (id)');
  await admin.query('VACUUM ANALYZE bench');
  console.log(`postgres: filled ${ROWS} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await timed('postgres', 'driver copy', async () => {
    // Floor for readMethod 'copy': COPY text split into rows and fields, no row objects.
    let n = 0;
    let rest = '';
    for await (const chunk of admin.query(
      copyTo('COPY (SELECT * FROM public.bench) TO STDOUT'),
    ) as AsyncIterable<Buffer>) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) n += line.split('\t').length > 0 ? 1 : 0;
    }
    return n;
  });

  await timed('postgres', 'driver fetch', async () => {
    await admin.query('BEGIN READ ONLY');
    await admin.query('DECLARE c NO SCROLL CURSOR FOR SELECT * FROM public.bench');
    let n = 0;
    for (;;) {
      const { rows } = await admin.query({ text: `FETCH ${FETCH_ROWS} FROM c`, rowMode: 'array' });
      n += rows.length;
      if (rows.length < FETCH_ROWS) break;
    }
    await admin.query('COMMIT');
    return n;
  });

  process.env.BENCH_PG_PASSWORD = pg.password;
  const config = postgresConnector.configSchema.parse({
    host: pg.host,
    port: pg.port,
    database: 'postgres',
    user: pg.user,
    passwordEnv: 'BENCH_PG_PASSWORD',
    maxConnections: 1,
    fetchRows: FETCH_ROWS,
  });
  const connector = postgresConnector.create({
    datasourceId,
    logger,
    errorHandler,
    config,
  }) as PostgresConnector;
  const objectId = `${datasourceId}:public.bench`;
  await timed('postgres', 'copy batches', () =>
    countBatches(connector.getObjectContentBatches(packet(objectId))),
  );
  await timed('postgres', 'copy rows', () => countRows(connector.getObjectContent(packet(objectId))));
  await connector.close();
  const cursorConfig = { ...config, readMethod: 'cursor' as const };
  const cursorConnector = postgresConnector.create({
    datasourceId,
    logger,
    errorHandler,
    config: cursorConfig,
  }) as PostgresConnector;
  await timed('postgres', 'cursor batches', () =>
    countBatches(cursorConnector.getObjectContentBatches(packet(objectId))),
  );
  await timed('postgres', 'cursor rows', () => countRows(cursorConnector.getObjectContent(packet(objectId))));
  await cursorConnector.close();
  await admin.end();
}

async function benchMariadb(db: LocalMariadb): Promise<void> {
  const admin = await mysql.createConnection({
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
  });
  await admin.query('CREATE DATABASE bench');
  await admin.query('USE bench');
  const started = Date.now();
  await admin.query(
    `CREATE TABLE bench (id INT PRIMARY KEY, name VARCHAR(40), email VARCHAR(60), token CHAR(32), note VARCHAR(80))`,
  );
  await admin.query(`INSERT INTO bench
    SELECT seq, CONCAT('Person ', seq), CONCAT('user', seq, '@example.com'), MD5(seq),
           CONCAT('note number ', seq, ' about nothing in particular')
    FROM seq_1_to_${ROWS}`);
  console.log(`mariadb:  filled ${ROWS} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await timed('mariadb', 'driver', () => {
    return new Promise<number>((resolve, reject) => {
      let n = 0;
      const core = (admin as unknown as { connection: import('mysql2').Connection }).connection;
      const query = core.query({ sql: 'SELECT * FROM bench.bench', rowsAsArray: true });
      query.on('result', () => n++);
      query.on('error', reject);
      query.on('end', () => resolve(n));
    });
  });

  process.env.BENCH_MYSQL_PASSWORD = db.password;
  const config = mysqlConnector.configSchema.parse({
    host: db.host,
    port: db.port,
    database: 'bench',
    user: db.user,
    passwordEnv: 'BENCH_MYSQL_PASSWORD',
    maxConnections: 1,
    fetchRows: FETCH_ROWS,
  });
  const connector = mysqlConnector.create({ datasourceId, logger, errorHandler, config }) as MysqlConnector;
  const objectId = `${datasourceId}:bench.bench`;
  await timed('mariadb', 'batches', () => countBatches(connector.getObjectContentBatches(packet(objectId))));
  await timed('mariadb', 'rows', () => countRows(connector.getObjectContent(packet(objectId))));
  await connector.close();
  await admin.end();
}

async function main(): Promise<void> {
  const tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'assay-bench-db-'));
  await chmod(tmpRoot, 0o711);
  const stops: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    await Promise.allSettled(stops.map((stop) => stop()));
    await rm(tmpRoot, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const [pg, maria] = await Promise.all([
      startLocalPostgres({
        dataDir: path.join(tmpRoot, 'postgres', 'data'),
        superuserPassword: randomBytes(12).toString('hex'),
      }).then((s) => {
        stops.push(() => s.stop());
        return s;
      }),
      startLocalMariadb({
        dataDir: path.join(tmpRoot, 'mariadb'),
        rootPassword: randomBytes(12).toString('hex'),
      }).then((s) => {
        stops.push(() => s.stop());
        return s;
      }),
    ]);
    console.log(
      `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${ROWS} rows, fetchRows ${FETCH_ROWS}`,
    );
    if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'postgres') await benchPostgres(pg);
    if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'mariadb') await benchMariadb(maria);
    console.log('\nbest of runs, rows/s per connection (wall clock | per client CPU-second):');
    const best = new Map<string, { wall: number; cpu: number }>();
    for (const f of figures) {
      const key = `${f.target} ${f.path}`;
      const prev = best.get(key) ?? { wall: 0, cpu: 0 };
      best.set(key, {
        wall: Math.max(prev.wall, f.rows / f.seconds),
        cpu: Math.max(prev.cpu, f.rows / f.cpuSeconds),
      });
    }
    for (const [key, b] of best)
      console.log(`  ${key.padEnd(24)} ${rate(b.wall, 1).padStart(9)} | ${rate(b.cpu, 1).padStart(9)}`);
    console.log('  targets: postgres ≥ 500,000; mysql ≥ 750,000');
    console.log(
      `  load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${os.cpus().length} CPUs`,
    );
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

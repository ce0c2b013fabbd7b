/**
 * Full-scan throughput of the PostgreSQL and MySQL/MariaDB connectors, one connection each.
 *
 *   npx ts-node --transpile-only bench/connectors-db.ts
 *
 * Starts private PostgreSQL and MariaDB servers in a temp dir, fills a table of BENCH_ROWS rows
 * (default 1,500,000; see TABLE_SHAPE: an int key, four text columns, a timestamp, a decimal), then
 * measures rows/s for
 *   - server only / psql copy / cli --quick (run last): the servers' own ceiling on this machine
 *              (PostgreSQL COPY to the server's /dev/null, MariaDB SELECT … INTO OUTFILE; psql and
 *              the mariadb CLI writing to /dev/null);
 *   - driver:  the bare driver loop (pg COPY bytes, pg FETCH in rowMode array, mysql2 row events);
 *   - batches: connector.getObjectContentBatches (rows converted to DatabaseRow, one array per fetch);
 *   - rows:    connector.getObjectContent (the per-row async iterator the interface defines).
 * Targets from the issue: PostgreSQL ≥ 500,000 rows/s, MySQL ≥ 750,000 rows/s per connection.
 * Prints figures; asserts nothing. Servers and the temp dir are removed at the end.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
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
const execFileAsync = promisify(execFile);
const TABLE_SHAPE =
  'columns id int PK, name, email, phone (text), created_at (timestamp), amount (decimal 12,2), ' +
  'notes (text: 20% NULL, 2% with newline, tab and backslash)';
const logger = new SystemLogger({ level: 'warn' });
const errorHandler = new ErrorHandler();

interface Figure {
  target: string;
  path: string;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  serverCpuSeconds: number;
}
const figures: Figure[] = [];

function packet(objectId: string): WorkPacket {
  return {
    header: { taskId: 'b', traceId: 'b', scanId: 'b', datasourceId },
    payload: { objectIds: [objectId] },
  };
}

const rate = (rows: number, seconds: number) => Math.round(rows / seconds).toLocaleString('en-US');

/** The server being measured: the postmaster (its backends are its children) or mariadbd. */
let serverPid: number | undefined;
let clockTicks = 100;

/**
 * CPU seconds (user + system, plus reaped children's) of the server process and its children, from
 * /proc: the server's own cost per row, which other load on the machine does not change.
 */
async function serverCpuSeconds(): Promise<number> {
  if (serverPid === undefined) return 0;
  let ticks = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // After "pid (comm) ": state ppid pgrp … utime(14) stime(15) cutime(16) cstime(17).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(entry) !== serverPid && Number(fields[1]) !== serverPid) continue;
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / clockTicks;
}

/**
 * Wall-clock rows/s, plus rows per second of this process's CPU (user + system) and of the server's
 * CPU: the client and server costs per row, which a machine shared with other work hides in the
 * wall-clock figure.
 */
async function timed(target: string, pathName: string, run: () => Promise<number>): Promise<void> {
  for (let i = 0; i < REPEAT; i++) {
    const serverBefore = await serverCpuSeconds();
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const rows = await run();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const serverSeconds = (await serverCpuSeconds()) - serverBefore;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (rows !== ROWS) throw new Error(`${target} ${pathName}: read ${rows} rows, expected ${ROWS}`);
    figures.push({ target, path: pathName, rows, seconds, cpuSeconds, serverCpuSeconds: serverSeconds });
    console.log(
      `${target.padEnd(9)} ${pathName.padEnd(15)} ${rows} rows in ${seconds.toFixed(2)} s = ${rate(rows, seconds).padStart(9)} rows/s` +
        ` (client CPU ${cpuSeconds.toFixed(2)} s = ${rate(rows, cpuSeconds).padStart(9)} rows/CPU-s;` +
        ` server CPU ${serverSeconds.toFixed(2)} s = ${rate(rows, serverSeconds).padStart(9)} rows/CPU-s)`,
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
  await admin.query(`CREATE TABLE bench (
    id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, phone text, created_at timestamptz NOT NULL,
    amount numeric(12, 2), notes text)`);
  await admin.query(`INSERT INTO bench
    SELECT g, 'Person ' || g || ' Lastname', 'user' || g || '@example.com', '+1-555-' || lpad((g % 10000000)::text, 7, '0'),
           timestamptz '2020-01-01 00:00:00+00' + g * interval '37 seconds', (g % 100000) / 100.0,
           CASE WHEN g % 5 = 0 THEN NULL
                WHEN g % 50 = 1 THEN E'multi-line note\\nwith a\\ttab and a \\\\ backslash ' || g
                ELSE 'note number ' || g || ' about nothing in particular' END
    FROM generate_series(1, ${ROWS}) g`);
  await admin.query('VACUUM ANALYZE bench');
  // Write the fill's dirty pages now, not during the measurements.
  await admin.query('CHECKPOINT');
  console.log(
    `postgres: filled ${ROWS} rows in ${((Date.now() - started) / 1000).toFixed(1)} s; ${TABLE_SHAPE}`,
  );

  await timed('postgres', 'driver copy', async () => {
    // Floor for readMethod 'copy': the COPY bytes off the wire, rows counted by newline.
    let n = 0;
    for await (const chunk of admin.query(
      copyTo('COPY (SELECT * FROM public.bench) TO STDOUT'),
    ) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
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

  // Server ceilings: the server alone (COPY to its own /dev/null), then with the C client psql.
  await timed('postgres', 'server only', async () => {
    const { rowCount } = await admin.query(`COPY (SELECT * FROM public.bench) TO '/dev/null'`);
    return rowCount ?? 0;
  });
  await timed('postgres', 'psql copy', async () => {
    await execFileAsync(
      'sh',
      [
        '-c',
        `psql -h ${pg.host} -p ${pg.port} -U ${pg.user} -d postgres -c 'COPY public.bench TO STDOUT' > /dev/null`,
      ],
      { env: { ...process.env, PGPASSWORD: pg.password } },
    );
    return ROWS;
  });
  await admin.end();
}

async function benchMariadb(db: LocalMariadb, tmpRoot: string): Promise<void> {
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
    `CREATE TABLE bench (id INT PRIMARY KEY, name VARCHAR(80) NOT NULL, email VARCHAR(120) NOT NULL, phone VARCHAR(32),
       created_at DATETIME NOT NULL, amount DECIMAL(12, 2), notes TEXT)`,
  );
  await admin.query(`INSERT INTO bench
    SELECT seq, CONCAT('Person ', seq, ' Lastname'), CONCAT('user', seq, '@example.com'),
           CONCAT('+1-555-', LPAD(seq % 10000000, 7, '0')),
           TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq * 37 SECOND, (seq % 100000) / 100,
           CASE WHEN seq % 5 = 0 THEN NULL
                WHEN seq % 50 = 1 THEN CONCAT('multi-line note\\nwith a\\ttab and a \\\\ backslash ', seq)
                ELSE CONCAT('note number ', seq, ' about nothing in particular') END
    FROM seq_1_to_${ROWS}`);
  await admin.query('ANALYZE TABLE bench');
  console.log(
    `mariadb:  filled ${ROWS} rows in ${((Date.now() - started) / 1000).toFixed(1)} s; ${TABLE_SHAPE}`,
  );

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

  // Server ceilings: the server alone (SELECT … INTO OUTFILE, a fresh file each run), then the C
  // client streaming (--quick) to /dev/null (its --batch output escaping costs client CPU too).
  let outfiles = 0;
  await timed('mariadb', 'server only', async () => {
    const outfile = path.join(tmpRoot, `outfile-${++outfiles}.txt`);
    const [result] = await admin.query(`SELECT * FROM bench.bench INTO OUTFILE ${admin.escape(outfile)}`);
    await rm(outfile, { force: true });
    return Number((result as { affectedRows?: number }).affectedRows ?? 0);
  });
  await timed('mariadb', 'cli --quick', async () => {
    await execFileAsync(
      'sh',
      [
        '-c',
        `mariadb -h ${db.host} -P ${db.port} -u ${db.user} --quick --batch -e 'SELECT * FROM bench.bench' > /dev/null`,
      ],
      { env: { ...process.env, MYSQL_PWD: db.password } },
    );
    return ROWS;
  });
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
    clockTicks = Number((await execFileAsync('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'postgres') {
      serverPid = pg.process.pid;
      await benchPostgres(pg);
    }
    if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'mariadb') {
      serverPid = maria.process.pid;
      await benchMariadb(maria, tmpRoot);
    }
    console.log(
      '\nbest of runs, rows/s per connection: wall clock | per client CPU-s | per server CPU-s | 2-core bound',
    );
    console.log('  (2-core bound: both cores to this read alone, 2 / (client + server CPU per row))');
    const best = new Map<string, { wall: number; cpu: number; server: number; bound: number }>();
    for (const f of figures) {
      const key = `${f.target} ${f.path}`;
      const prev = best.get(key) ?? { wall: 0, cpu: 0, server: 0, bound: 0 };
      best.set(key, {
        wall: Math.max(prev.wall, f.rows / f.seconds),
        cpu: Math.max(prev.cpu, f.rows / f.cpuSeconds),
        server: Math.max(prev.server, f.serverCpuSeconds > 0 ? f.rows / f.serverCpuSeconds : 0),
        bound: Math.max(prev.bound, (2 * f.rows) / (f.cpuSeconds + f.serverCpuSeconds)),
      });
    }
    for (const [key, b] of best) {
      console.log(
        `  ${key.padEnd(24)} ${rate(b.wall, 1).padStart(9)} | ${rate(b.cpu, 1).padStart(10)} | ${rate(b.server, 1).padStart(9)} | ${rate(b.bound, 1).padStart(9)}`,
      );
    }
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

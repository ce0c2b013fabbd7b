import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { getFreePort, ManagedProcess, waitForPort } from './managed-process';
import { mariadbBinaries } from './tools';

const execFileAsync = promisify(execFile);

export interface LocalMariadbOptions {
  dataDir: string;
  port?: number;
  rootPassword: string;
}

export interface LocalMariadb {
  host: string;
  port: number;
  user: string;
  password: string;
  socket: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** A private MariaDB server (mariadb-install-db + mariadbd) on 127.0.0.1. */
export async function startLocalMariadb(options: LocalMariadbOptions): Promise<LocalMariadb> {
  const { mariadbd, installDb } = mariadbBinaries();
  const dataDir = path.resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  const userArgs = asRoot ? ['--user=root'] : [];
  const fresh = !existsSync(path.join(dataDir, 'mysql'));
  if (fresh) {
    await execFileAsync(installDb, [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...userArgs,
    ]);
  }
  const port = options.port ?? (await getFreePort());
  const socket = path.join(dataDir, 'mysqld.sock');
  const proc = new ManagedProcess(
    'mariadb',
    mariadbd,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${path.join(dataDir, 'mariadbd.pid')}`,
      '--skip-log-bin',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-buffer-pool-size=256M',
      '--max-connections=200',
      ...userArgs,
    ],
    path.join(dataDir, 'mariadbd.log'),
  );
  try {
    await waitForPort(port, '127.0.0.1', 60_000, () => proc.alive);
  } catch (err) {
    await proc.kill();
    throw new Error(`MariaDB did not start: ${(err as Error).message}\n${await proc.tail()}`);
  }
  if (fresh) {
    // Root gets a password over TCP; the socket stays for the initial grant only.
    const mysql = await import('mysql2/promise');
    const conn = await mysql.createConnection({ socketPath: socket, user: 'root' });
    await conn.query(`ALTER USER 'root'@'localhost' IDENTIFIED BY ?`, [options.rootPassword]);
    await conn.query(`CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ?`, [options.rootPassword]);
    await conn.query(`GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION`);
    await conn.end();
  }
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    password: options.rootPassword,
    socket,
    process: proc,
    stop: () => proc.stop(15_000),
  };
}

import { chown, mkdir, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { getFreePort, ManagedProcess, sleep } from './managed-process';
import { postgresBinDir } from './tools';

const execFileAsync = promisify(execFile);

export interface LocalPostgresOptions {
  /** Data directory; created with initdb when empty. */
  dataDir: string;
  /** Default: a free port. */
  port?: number;
  /** Superuser `postgres` password (scram over TCP). */
  superuserPassword: string;
}

export interface LocalPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  /** postgres://postgres:…@127.0.0.1:port/postgres */
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** PostgreSQL refuses to run as root; then it runs as the `postgres` account that set-up ensures. */
async function runAsIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await execFileAsync('id', ['-u', 'postgres']);
  const { stdout: gid } = await execFileAsync('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** A private PostgreSQL server (initdb + postgres) listening on 127.0.0.1 only. */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const bin = postgresBinDir();
  const ids = await runAsIds();
  const dataDir = path.resolve(options.dataDir);
  const parent = path.dirname(dataDir);
  await mkdir(parent, { recursive: true });
  if (ids) await chown(parent, ids.uid, ids.gid);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const pwFile = path.join(parent, `.pgpass-init-${process.pid}`);
    await writeFile(pwFile, options.superuserPassword, { mode: 0o600 });
    if (ids) await chown(pwFile, ids.uid, ids.gid);
    await execFileAsync(
      path.join(bin, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        'postgres',
        '--pwfile',
        pwFile,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
      ],
      { ...(ids ?? {}) },
    ).finally(() => import('node:fs/promises').then((fs) => fs.rm(pwFile, { force: true })));
  }
  const port = options.port ?? (await getFreePort());
  const proc = new ManagedProcess(
    'postgres',
    path.join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-k',
      dataDir,
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=256MB',
    ],
    path.join(parent, `postgres-${port}.log`),
    // Fast shutdown: SIGTERM's smart shutdown would wait for other processes' sessions to end.
    { ...(ids ?? {}), deathSignal: 'SIGINT' },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await execFileAsync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
      break;
    } catch {
      if (!proc.alive || Date.now() > deadline) {
        await proc.kill();
        throw new Error(`PostgreSQL did not start:\n${await proc.tail()}`);
      }
      await sleep(100);
    }
  }
  const password = options.superuserPassword;
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    process: proc,
    // Fast shutdown: SIGINT.
    stop: async () => {
      if (proc.pid) {
        try {
          process.kill(proc.pid, 'SIGINT');
        } catch {
          // gone
        }
      }
      await proc.stop(10_000);
    },
  };
}

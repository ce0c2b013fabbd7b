/**
 * The embedded results store: a private PostgreSQL run from the set-up's binaries with its data in a
 * project directory (e.g. `.assay/pg`). `assay dev` starts it; workers and CLI commands in other
 * processes find it through `store.json` in the same directory.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { ConfigurationError, ErrorType, platformError } from '../core/errors';
import { sleep } from '../services/managed-process';
import { startLocalPostgres, type LocalPostgres } from '../services/postgres';

/** Environment variable naming an external results database; it wins over the embedded store. */
export const DATABASE_URL_ENV = 'ASSAY_DATABASE_URL';

/** Database created inside the embedded server for the results schema. */
export const EMBEDDED_DATABASE = 'assay';

const CREDENTIALS_FILE = 'credentials.json';
const STORE_FILE = 'store.json';

export interface EmbeddedStoreOptions {
  /** Directory holding the data (`data/`), `credentials.json` and, while running, `store.json`. */
  dir: string;
  /** Default: a free port. */
  port?: number;
  /**
   * When a store is already running from `dir` (e.g. left behind by a killed `assay dev`): 'fail'
   * (CONFIGURATION_INVALID) or 'reuse' it — the returned `stop()` then stops that server. Default 'fail'.
   */
  ifRunning?: 'fail' | 'reuse';
}

export interface EmbeddedStore {
  /** postgres://postgres:…@127.0.0.1:port/assay — carries the password: never log it (see redactDatabaseUrl). */
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** What a running embedded store records for other processes; no secret (that stays in credentials.json). */
interface StoreFile {
  port: number;
  database: string;
  pid: number;
  startedAt: string;
}

interface CredentialsFile {
  user: string;
  password: string;
}

/** The URL with its password replaced by `***`, for log lines and messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw platformError(
      ErrorType.CONFIGURATION_INVALID,
      `cannot read ${file}: ${(error as Error).message}`,
      {},
      error,
    );
  }
}

/** Writes a 0600 file atomically (temp file + rename), so readers never see half a file. */
async function writePrivateJson(file: string, value: unknown, exclusive = false): Promise<void> {
  if (exclusive) {
    await writeFile(file, JSON.stringify(value, null, 2), { mode: 0o600, flag: 'wx' });
    return;
  }
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(value, null, 2), { mode: 0o600 });
  await rename(temp, file);
}

/** The superuser password, generated on first start and kept in `dir/credentials.json` (mode 0600). */
async function loadOrCreateCredentials(dir: string): Promise<CredentialsFile> {
  const file = path.join(dir, CREDENTIALS_FILE);
  const existing = await readJson<CredentialsFile>(file);
  if (existing) return existing;
  const created: CredentialsFile = { user: 'postgres', password: randomBytes(24).toString('hex') };
  try {
    await writePrivateJson(file, created, true);
    return created;
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return (await readJson<CredentialsFile>(file)) as CredentialsFile;
    throw error;
  }
}

function urlFor(credentials: CredentialsFile, port: number, database: string): string {
  return `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}`;
}

async function canConnect(url: string, timeoutMs = 3000): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts the embedded PostgreSQL with its data in `dir/data` (created on first start; kept across
 * restarts), creates the `assay` database and records `dir/store.json` for other processes.
 * Fails with CONFIGURATION_INVALID when an embedded store is already running from `dir`.
 */
export async function startEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const running = await runningEmbeddedUrl(dir);
  if (running && options.ifRunning === 'reuse') return adopt(dir, running);
  if (running) {
    throw new ConfigurationError(`an embedded results store is already running from ${dir}`, {
      url: redactDatabaseUrl(running),
    });
  }
  const credentials = await loadOrCreateCredentials(dir);
  // PostgreSQL (run as its own account when we are root) must traverse into dir.
  await chmod(dir, 0o711);
  let server: LocalPostgres;
  try {
    server = await startLocalPostgres({
      dataDir: path.join(dir, 'data'),
      port: options.port,
      superuserPassword: credentials.password,
    });
  } catch (error) {
    throw platformError(
      ErrorType.SOURCE_UNAVAILABLE,
      `embedded results store did not start: ${(error as Error).message}`,
      { dir },
      error,
    );
  }
  try {
    await ensureDatabase(urlFor(credentials, server.port, 'postgres'), EMBEDDED_DATABASE);
    const record: StoreFile = {
      port: server.port,
      database: EMBEDDED_DATABASE,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
    await writePrivateJson(path.join(dir, STORE_FILE), record);
  } catch (error) {
    await server.stop();
    throw error;
  }
  let stopped = false;
  return {
    url: urlFor(credentials, server.port, EMBEDDED_DATABASE),
    port: server.port,
    dir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const current = await readJson<StoreFile>(path.join(dir, STORE_FILE)).catch(() => undefined);
      if (current?.port === server.port) await rm(path.join(dir, STORE_FILE), { force: true });
      await server.stop();
    },
  };
}

/** A handle on a server another process started: stop() signals the postmaster named in postmaster.pid. */
function adopt(dir: string, url: string): EmbeddedStore {
  let stopped = false;
  return {
    url,
    port: Number(new URL(url).port),
    dir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const pidText = await readFile(path.join(dir, 'data', 'postmaster.pid'), 'utf8').catch(() => '');
      const pid = Number(pidText.split('\n')[0]);
      await rm(path.join(dir, STORE_FILE), { force: true });
      if (!Number.isInteger(pid) || pid <= 0) return;
      const alive = (): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      // Fast shutdown (SIGINT), then SIGKILL after 10 s.
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        return;
      }
      const deadline = Date.now() + 10_000;
      while (alive() && Date.now() < deadline) await sleep(100);
      if (alive()) process.kill(pid, 'SIGKILL');
    },
  };
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) {
      try {
        await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
      } catch (error) {
        if ((error as { code?: string }).code !== '42P04') throw error; // created concurrently
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL of the embedded store running from `dir` (per `store.json`), when it answers. */
async function runningEmbeddedUrl(dir: string): Promise<string | undefined> {
  const record = await readJson<StoreFile>(path.join(dir, STORE_FILE));
  if (!record || typeof record.port !== 'number') return undefined;
  const credentials = await readJson<CredentialsFile>(path.join(dir, CREDENTIALS_FILE));
  if (!credentials) return undefined;
  const url = urlFor(credentials, record.port, record.database ?? EMBEDDED_DATABASE);
  return (await canConnect(url)) ? url : undefined;
}

export interface ResolveStoreUrlOptions {
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The embedded store's directory (e.g. `.assay/pg`). */
  dir: string;
}

/**
 * Where the results store is: `ASSAY_DATABASE_URL` when set, else the embedded store running from
 * `dir` (when its server answers), else undefined.
 */
export async function resolveResultsStoreUrl(options: ResolveStoreUrlOptions): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const fromEnv = env[DATABASE_URL_ENV]?.trim();
  if (fromEnv) return fromEnv;
  return runningEmbeddedUrl(path.resolve(options.dir));
}

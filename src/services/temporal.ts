import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { getFreePort, ManagedProcess, sleep, waitForPort } from './managed-process';
import { temporalCliPath } from './tools';

/** Search attributes Assay sets on scans so the Temporal UI can filter and show where each stands. */
const execFileAsync = promisify(execFile);

export const ASSAY_SEARCH_ATTRIBUTES: Record<string, string> = {
  AssayPhase: 'Keyword',
  AssayDatasource: 'Keyword',
  AssayDatasourceType: 'Keyword',
};

async function waitForNamespace(
  address: string,
  namespace: string,
  timeoutMs: number,
  isAlive: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await execFileAsync(
        temporalCliPath(),
        ['operator', 'namespace', 'describe', '--address', address, '--namespace', namespace],
        {
          timeout: 10_000,
        },
      );
      return;
    } catch (err) {
      if (!isAlive()) throw new Error('Temporal dev server exited during start-up');
      if (Date.now() > deadline)
        throw new Error(`namespace ${namespace} not ready: ${(err as Error).message}`);
      await sleep(200);
    }
  }
}

export interface TemporalDevServerOptions {
  /** SQLite file that keeps state across restarts. Required: tests use a temp dir. */
  dbFile: string;
  /** Frontend gRPC port. Default: a free port. */
  port?: number;
  /** Web UI port; `false` runs headless. Default: a free port. */
  uiPort?: number | false;
  /** Where the server log goes. Default: next to dbFile. */
  logFile?: string;
  namespace?: string;
}

export interface TemporalDevServer {
  address: string;
  port: number;
  uiUrl?: string;
  namespace: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts the Temporal CLI's dev server (real Temporal server, SQLite persistence, Web UI). */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  await mkdir(path.dirname(options.dbFile), { recursive: true });
  const port = options.port ?? (await getFreePort());
  const namespace = options.namespace ?? 'default';
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--db-filename',
    options.dbFile,
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    // SQLite's default rollback journal syncs the file several times per transaction: with write-ahead
    // logging and NORMAL sync, a transaction costs one append, and a killed server process still loses nothing
    // committed (only an OS crash or power loss can drop the last transactions).
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
  ];
  let uiPort: number | undefined;
  if (options.uiPort === false) {
    args.push('--headless');
  } else {
    uiPort = options.uiPort ?? (await getFreePort());
    args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  }
  args.push('--http-port', String(await getFreePort()), '--metrics-port', String(await getFreePort()));
  for (const [name, type] of Object.entries(ASSAY_SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);

  const logFile = options.logFile ?? `${options.dbFile}.log`;
  const proc = new ManagedProcess('temporal', temporalCliPath(), args, logFile);
  try {
    await waitForPort(port, '127.0.0.1', 60_000, () => proc.alive);
    // The frontend accepts connections slightly before the namespace is ready.
    await waitForNamespace(`127.0.0.1:${port}`, namespace, 60_000, () => proc.alive);
  } catch (err) {
    await proc.kill();
    throw new Error(`Temporal dev server did not start: ${(err as Error).message}\n${await proc.tail()}`);
  }
  return {
    address: `127.0.0.1:${port}`,
    port,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    namespace,
    process: proc,
    stop: () => proc.stop(),
  };
}
